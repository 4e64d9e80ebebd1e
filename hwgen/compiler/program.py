"""Turns a GEMM chunking into the command and data streams of docs/host_protocol.md.

Operand layouts, double-buffered bank assignment, beat packing and result decoding live
here; :mod:`hwgen.compiler.gemm` chooses the mapping and calls :func:`emit_gemm_program`.
The same programs drive the simulator testbenches, the cycle model and the board driver.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..config import AcceleratorConfig, Dataflow, MappingConfig
from ..lib.arith import ceil_div
from ..lib.beats import pack_beats, unpack_beats
from ..lib.errors import WorkloadError
from ..lib.protocol import (BIAS_BITS_MAX, cmd_compute, cmd_load, cmd_load_acc, cmd_read,
                            cmd_set_bias, cmd_set_clamp, cmd_set_preload, cmd_set_quant)
from ..models.perf import LoopNest, gemm_nest


# ---- operand layouts ----------------------------------------------------------------
def _pad(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.int64)
    out[:x.shape[0], :x.shape[1]] = x
    return out


def _ws_stream_words(R: int, a: np.ndarray) -> np.ndarray:
    """Words of the operand a weight-stationary array streams, from its M x K matrix:
    word kt*M + m = a[m, kt*R + r]."""
    M, K = a.shape
    ap = _pad(a, M, ceil_div(K, R) * R)
    return ap.reshape(M, -1, R).transpose(1, 0, 2).reshape(-1, R)


def _ws_stationary_words(R: int, C: int, b: np.ndarray) -> np.ndarray:
    """Words of the operand a weight-stationary array holds, from its K x N matrix:
    word (nt*KT + kt)*R + r = b[kt*R + r, nt*C + c]."""
    K, N = b.shape
    NT = ceil_div(N, C)
    bp = _pad(b, ceil_div(K, R) * R, NT * C)
    return bp.reshape(-1, NT, C).transpose(1, 0, 2).reshape(-1, C)


def input_words(cfg: AcceleratorConfig, a: np.ndarray) -> np.ndarray:
    """Input-buffer words for an M x K chunk of A: rows of R elements, or
    (input-stationary) the stationary tiles of A^T, rows of C elements along M, word
    (mt*KT + kt)*R + r = A[mt*C + c, kt*R + r]."""
    R = cfg.R
    M, K = a.shape
    if cfg.array.dataflow is Dataflow.IS:
        return _ws_stationary_words(R, cfg.C, a.T)
    if cfg.array.dataflow is Dataflow.OS:
        ap = _pad(a, ceil_div(M, R) * R, K)                  # word mt*K + k = A[mt*R + r, k]
        return ap.reshape(-1, R, K).transpose(0, 2, 1).reshape(-1, R)
    return _ws_stream_words(R, a)                           # word kt*M + m = A[m, kt*R + r]


def weight_words(cfg: AcceleratorConfig, b: np.ndarray) -> np.ndarray:
    """Weight-buffer words for a K x N chunk of B: rows of C elements, or
    (input-stationary) the streamed columns of B, R elements along K, word kt*N + n =
    B[kt*R + r, n]."""
    R, C = cfg.R, cfg.C
    K, N = b.shape
    NT = ceil_div(N, C)
    if cfg.array.dataflow is Dataflow.IS:
        return _ws_stream_words(R, b.T)
    if cfg.array.dataflow is Dataflow.OS:
        bp = _pad(b, K, NT * C)                              # word nt*K + k = B[k, nt*C + c]
        return bp.reshape(K, NT, C).transpose(1, 0, 2).reshape(-1, C)
    return _ws_stationary_words(R, C, b)                    # word (nt*KT + kt)*R + r


def acc_rows_per_ntile(cfg: AcceleratorConfig, m: int) -> int:
    """Accumulator words between consecutive column tiles of a chunk with m rows (not
    for an input-stationary design, whose accumulators hold C^T: word mt*n + j of a
    chunk with n columns holds rows mt*C .. mt*C + C - 1 of column j)."""
    return ceil_div(m, cfg.R) * cfg.R if cfg.array.dataflow is Dataflow.OS else m


# ---- the program ---------------------------------------------------------------------
def _is_seq(v) -> bool:
    """A per-column value (tuple, list or array), not one for every column."""
    return isinstance(v, (tuple, list)) or isinstance(v, np.ndarray) and v.ndim > 0


@dataclass(frozen=True)
class Quant:
    """READ post-processing. ``raw`` returns the accumulators unchanged. ``mult`` and
    ``shift`` are one value for every column or a sequence with one per output column
    (per-channel requantization); ``lo``/``hi`` clamp the result (activations such as
    ReLU6), None leaving the output range; ``relu`` clamps at zero."""
    raw: bool = True
    mult: object = 1
    shift: object = 0
    relu: bool = False
    bias: Optional[tuple] = None  # per output column; None = zeros
    lo: Optional[int] = None
    hi: Optional[int] = None

    @property
    def per_lane(self) -> bool:
        return not self.raw and (_is_seq(self.mult) or _is_seq(self.shift))

    @property
    def clamp(self) -> bool:
        return not self.raw and (self.lo is not None or self.hi is not None)


@dataclass
class Program:
    cmds: list[int] = field(default_factory=list)
    din: list[int] = field(default_factory=list)
    reads: list[tuple] = field(default_factory=list)  # (row0, col0, rows, cols) per READ
    n_dout: int = 0
    shape: tuple = (0, 0, 0)
    chunks: tuple = (0, 0, 0)
    order: tuple = ("m", "n", "k")
    #: The READs return C^T (an input-stationary design): a read of block (row0, col0,
    #: rows, cols) returns ``cols`` words of which the first ``rows`` lanes count.
    transposed: bool = False

    def decode(self, cfg: AcceleratorConfig, dout: list[int]) -> np.ndarray:
        """Reassemble the M x N result from the captured ``dout`` beats (transposed back
        on an input-stationary design)."""
        M, _, N = self.shape
        C = cfg.C
        bpw = ceil_div(C, cfg.host.beat_elems)
        if len(dout) != self.n_dout:
            raise ValueError(f"expected {self.n_dout} result beats, got {len(dout)}")
        out = np.zeros((M, N), dtype=object)
        pos = 0
        for row0, col0, rows, cols in self.reads:
            n_words = cols if self.transposed else rows
            words = unpack_beats(dout[pos:pos + n_words * bpw], C, cfg.host.beat_elems,
                                 cfg.acc_bits)
            if self.transposed:
                out[row0:row0 + rows, col0:col0 + cols] = words[:, :rows].T
            else:
                out[row0:row0 + rows, col0:col0 + cols] = words[:, :cols]
            pos += n_words * bpw
        return out


def check_gemm(cfg: AcceleratorConfig, M: int, K: int, N: int) -> None:
    for name, v in (("M", M), ("K", K), ("N", N)):
        if v < 1:
            raise WorkloadError(f"gemm {name} must be >= 1, got {v}")
    peak = K << (2 * cfg.precision.in_bits - 2)   # K products of two most negative operands
    if peak > (1 << (cfg.acc_bits - 1)) - 1:
        raise WorkloadError(
            f"gemm K={K} can overflow the {cfg.acc_bits}-bit accumulator (it holds "
            f"{((1 << (cfg.acc_bits - 1)) - 1) >> (2 * cfg.precision.in_bits - 2)} products "
            f"of {cfg.precision.in_bits}-bit operands); raise precision.max_k")


class NestSource:
    """What a program computes, chunk by chunk, for :func:`emit_nest`: the operand words
    of each chunk (None when the program is built without data) and what goes with each
    COMPUTE. The GEMM's is :class:`GemmSource`; a convolution's lives in
    :mod:`hwgen.compiler.conv`."""

    conv = False  # COMPUTEs read the input through the address generator

    def a_words(self, i: int, l: int) -> Optional[np.ndarray]:  # noqa: E741
        return None

    def w_words(self, l: int, j: int) -> Optional[np.ndarray]:  # noqa: E741
        return None

    def setup(self, i: int, l: int, j: int) -> list[int]:  # noqa: E741
        """Commands before the COMPUTE of chunk (i, l, j) (``nest.setup`` of them)."""
        return []

    def preload(self, i: int, j: int, nt: int) -> tuple[list[int], Optional[np.ndarray]]:
        """Column tile nt of output chunk (i, j): the COLS preload factors and the LOAD_ACC
        words (elements of in_bits, COLS per word; None without data)."""
        raise NotImplementedError

    def rows(self, i: int) -> int:
        """Where output chunk i's first row lands in the result (its row offset)."""
        raise NotImplementedError

    def preload_word(self, i: int, j: int, mt: int, col: int) -> tuple[int, Optional[list]]:
        """Input-stationary: the preload factor of column ``col`` of output chunk (i, j)
        and the LOAD_ACC word of its rows ``mt*C ..`` (COLS elements; None without
        data)."""
        raise NotImplementedError


class GemmSource(NestSource):
    """C = A.B (+ ``preload * factors``): chunk (i, l) of A and chunk (l, j) of B in the
    buffers' layouts; ``preload`` (M x N) times the per-column ``factors`` is loaded into
    the accumulators before the first COMPUTE of each output chunk."""

    def __init__(self, cfg, nest, a=None, b=None, preload=None, factors=None):
        self.cfg, self.nest, self.a, self.b = cfg, nest, a, b
        self.residual, self.factors = preload, factors

    def preload(self, i, j, nt):
        n, C = self.nest, self.cfg.C
        c0 = j * n.tile_n + nt * C
        cols = max(0, min(C, n.N - c0, n.n(j) - nt * C))
        factors = [int(self.factors[c0 + c]) if c < cols else 0 for c in range(C)]
        if self.residual is None:
            return factors, None
        m0, mc = i * n.tile_m, n.m(i)
        words = np.zeros((n.acc_rows(self.cfg, i), C), dtype=np.int64)
        words[:mc, :cols] = self.residual[m0:m0 + mc, c0:c0 + cols]
        return factors, words

    def preload_word(self, i, j, mt, col):
        n, C = self.nest, self.cfg.C
        c = j * n.tile_n + col
        r0 = i * n.tile_m + mt * C
        rows = min(C, n.m(i) - mt * C)
        if self.residual is None:
            return int(self.factors[c]), None
        word = [int(x) for x in self.residual[r0:r0 + rows, c]] + [0] * (C - rows)
        return int(self.factors[c]), word

    def a_words(self, i, l):  # noqa: E741
        if self.a is None:
            return None
        n = self.nest
        return input_words(self.cfg, self.a[i * n.tile_m:i * n.tile_m + n.m(i),
                                            l * n.tile_k:l * n.tile_k + n.k(l)])

    def w_words(self, l, j):  # noqa: E741
        if self.b is None:
            return None
        n = self.nest
        return weight_words(self.cfg, self.b[l * n.tile_k:l * n.tile_k + n.k(l),
                                             j * n.tile_n:j * n.tile_n + n.n(j)])

    def rows(self, i):
        return i * self.nest.tile_m


def emit_gemm_program(cfg: AcceleratorConfig, M: int, K: int, N: int, mp: MappingConfig,
                      a: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None,
                      quant: Quant = Quant()) -> Program:
    """Commands (and, when A and B are given, the operand beats) that compute A.B in
    chunks of the mapping ``mp`` (see :func:`emit_nest`)."""
    check_gemm(cfg, M, K, N)
    nest = gemm_nest(M, K, N, mp, raw=quant.raw, per_lane=per_word_quant(cfg, quant),
                     clamp=quant.clamp)
    tm, tk, tn = nest.tile_m, nest.tile_k, nest.tile_n
    why = cfg.chunk_fits(tm, tk, tn)
    if why is not None:
        raise WorkloadError(f"mapping tile {tm}x{tk}x{tn} does not fit: {why}")
    return emit_nest(cfg, nest, GemmSource(cfg, nest, a, b), quant)


def per_word_quant(cfg: AcceleratorConfig, quant: Quant) -> bool:
    """The program sets the requantizer per output column (the nest's ``per_lane``):
    per-channel multipliers and shifts, or, on an input-stationary design, whose
    accumulator words run along M (one word per output column), any per-column bias or
    multiplier: its READs then go one word at a time, each after the SET_BIAS of every
    lane and one SET_QUANT with that column's values."""
    if cfg.dataflow is Dataflow.IS:
        return not quant.raw and (quant.per_lane or quant.bias is not None)
    return quant.per_lane


def _check_quant(cfg: AcceleratorConfig, quant: Quant, N: int) -> None:
    if quant.raw:
        return
    if quant.per_lane and not cfg.features.lane_quant:
        raise WorkloadError(f"per-channel requantization needs features.lane_quant, which "
                            f"{cfg.name} leaves out")
    for name, v in (("mult", quant.mult), ("shift", quant.shift)):
        if np.ndim(v) and len(v) != N:
            raise WorkloadError(f"{name} has {len(v)} values for {N} output columns")
    for sh in np.ravel(quant.shift):
        if not 0 <= int(sh) <= cfg.max_shift:
            raise WorkloadError(f"shift must be in 0..{cfg.max_shift}, got {int(sh)}")
    for mu in np.ravel(quant.mult):
        if not 0 <= int(mu) < (1 << cfg.precision.mult_bits):
            raise WorkloadError(f"mult must fit precision.mult_bits={cfg.precision.mult_bits}")
    ob = cfg.precision.out_bits
    for name, v in (("lo", quant.lo), ("hi", quant.hi)):
        if v is not None and not -(1 << (ob - 1)) <= v < (1 << (ob - 1)):
            raise WorkloadError(f"clamp {name}={v} is outside the {ob}-bit output range")


def emit_nest(cfg: AcceleratorConfig, nest: LoopNest, src: NestSource,
              quant: Quant = Quant()) -> Program:
    """The program of a loop nest (:class:`hwgen.models.perf.LoopNest`, whose cycles the
    cycle model computes without this list): each step loads the chunks it needs into
    the bank the previous COMPUTE is not reading, so loads overlap computation; a
    finished output chunk is read back while the next one computes."""
    _check_quant(cfg, quant, nest.N)
    if nest.preload and not cfg.features.preload:
        raise WorkloadError(f"a residual preload needs features.preload, which {cfg.name} "
                            "leaves out")
    is_ = cfg.dataflow is Dataflow.IS
    M, K, N = nest.M, nest.K, nest.N
    n_m, n_k, n_n = nest.counts
    prog = Program(shape=(M, K, N), chunks=(nest.tile_m, nest.tile_k, nest.tile_n),
                   order=tuple(nest.order), transposed=is_)
    beat, ib = cfg.host.beat_elems, cfg.precision.in_bits
    two = lambda buf: getattr(cfg.buffers, buf).banks > 1  # noqa: E731
    bias_lim = min(cfg.acc_bits, BIAS_BITS_MAX)
    C = cfg.C
    lane_of = lambda v, col: int(v[col]) if np.ndim(v) else int(v)  # noqa: E731

    per_word = is_ and nest.per_lane
    if not quant.raw and not nest.per_lane:
        prog.cmds.append(cmd_set_quant(int(quant.mult), int(quant.shift)))
    if quant.clamp:
        ob = cfg.precision.out_bits
        prog.cmds.append(cmd_set_clamp(False, -(1 << (ob - 1)) if quant.lo is None else quant.lo))
        prog.cmds.append(cmd_set_clamp(True, (1 << (ob - 1)) - 1 if quant.hi is None else quant.hi))

    outer = {"m": range(n_m), "n": range(n_n)}
    o0, o1, _ = nest.order
    steps = []  # (i, j, l) in loop order, l (k) innermost
    for x in outer[o0]:
        for y in outer[o1]:
            pos = {o0: x, o1: y}
            steps.extend((pos["m"], pos["n"], l) for l in range(n_k))

    banks = {"in": [None, None], "w": [None, None]}  # chunk key held in each bank
    last_bank = {"in": 1, "w": 1}                     # bank the previous COMPUTE read
    acc_bank = 1
    prev_out = None

    def load(kind, key, count, words):
        buf = "input" if kind == "in" else "weight"
        held = banks[kind]
        if key in held and (two(buf) or held.index(key) == 0):
            return held.index(key)
        bank = 1 - last_bank[kind] if two(buf) else 0
        held[bank] = key
        if count:
            prog.cmds.append(cmd_load(kind == "w", bank, 0, count))
            if words is not None:
                assert len(words) == count, (kind, key, len(words), count)
                prog.din.extend(pack_beats(words, beat, ib))
        return bank

    def bias_of(col):
        if quant.bias is None:
            return 0
        bv = int(quant.bias[col])
        if not -(1 << (bias_lim - 1)) <= bv < (1 << (bias_lim - 1)):
            raise WorkloadError(f"bias {bv} does not fit {bias_lim} bits")
        return bv

    def read_out_is(i, j, bank):
        """Input-stationary: per tile of C output rows, the chunk's nc words (one per
        output column); the host transposes them back (:meth:`Program.decode`)."""
        mc, nc = nest.m(i), nest.n(j)
        row0, n0 = src.rows(i), j * nest.tile_n
        for mt in range(ceil_div(mc, C)):
            rows = min(C, mc - mt * C)
            if per_word:
                for col in range(nc):
                    bv = bias_of(n0 + col)
                    prog.cmds.extend(cmd_set_bias(lane, bv) for lane in range(C))
                    prog.cmds.append(cmd_set_quant(lane_of(quant.mult, n0 + col),
                                                   lane_of(quant.shift, n0 + col)))
                    prog.cmds.append(cmd_read(bank, mt * nc + col, 1, quant.raw, quant.relu))
            else:
                if not quant.raw:
                    prog.cmds.extend(cmd_set_bias(lane, 0) for lane in range(C))
                prog.cmds.append(cmd_read(bank, mt * nc, nc, quant.raw, quant.relu))
            prog.reads.append((row0 + mt * C, n0, rows, nc))
            prog.n_dout += nc * ceil_div(C, beat)

    def read_out(i, j, bank):
        if is_:
            return read_out_is(i, j, bank)
        mc, nc = nest.m(i), nest.n(j)
        row0, n0 = src.rows(i), j * nest.tile_n
        rows_nt = acc_rows_per_ntile(cfg, mc)
        for nt in range(ceil_div(nc, C)):
            col0 = n0 + nt * C
            cols = min(C, N - col0, nc - nt * C)
            if not quant.raw:
                for lane in range(C):
                    prog.cmds.append(cmd_set_bias(lane, bias_of(col0 + lane) if lane < cols else 0))
                    if quant.per_lane:
                        col = min(col0 + lane, N - 1)
                        prog.cmds.append(cmd_set_quant(lane_of(quant.mult, col),
                                                       lane_of(quant.shift, col), lane=lane))
            prog.cmds.append(cmd_read(bank, nt * rows_nt, mc, quant.raw, quant.relu))
            prog.reads.append((row0, col0, mc, cols))
            prog.n_dout += mc * ceil_div(C, beat)

    for i, j, l in steps:
        ib_ = load("in", (i, l), nest.a_words(cfg, i, l), src.a_words(i, l))
        wb_ = load("w", (l, j), nest.w_words(cfg, l, j), src.w_words(l, j))
        if l == 0:
            acc_bank = 1 - acc_bank if two("acc") else 0
            if prev_out is not None and prev_out[2] == acc_bank:
                # One accumulator bank: drain it before the next chunk overwrites it.
                read_out(*prev_out)
                prev_out = None
            if nest.preload and is_:
                # C^T: one LOAD_ACC word per output column (each its own factor) and
                # tile of C rows, after the factor of every lane
                nc = nest.n(j)
                for mt in range(ceil_div(nest.m(i), C)):
                    for col in range(nc):
                        f, word = src.preload_word(i, j, mt, col)
                        prog.cmds.extend(cmd_set_preload(lane, f) for lane in range(C))
                        prog.cmds.append(cmd_load_acc(acc_bank, mt * nc + col, 1))
                        if word is not None:
                            prog.din.extend(pack_beats(np.array([word]), beat, ib))
            elif nest.preload:
                rows = nest.acc_rows(cfg, i)
                for nt in range(ceil_div(nest.n(j), C)):
                    factors, words = src.preload(i, j, nt)
                    prog.cmds.extend(cmd_set_preload(lane, int(f)) for lane, f in enumerate(factors))
                    prog.cmds.append(cmd_load_acc(acc_bank, nt * rows, rows))
                    if words is not None:
                        assert len(words) == rows
                        prog.din.extend(pack_beats(words, beat, ib))
        prog.cmds.extend(src.setup(i, l, j))
        prog.cmds.append(cmd_compute(nest.m(i), nest.k(l), nest.n(j),
                                     l != 0 or nest.preload, ib_, wb_, acc_bank, conv=src.conv))
        last_bank["in"], last_bank["w"] = ib_, wb_
        if prev_out is not None and prev_out[:2] != (i, j):
            read_out(*prev_out)  # overlaps the COMPUTE just issued (other bank)
        prev_out = (i, j, acc_bank)
    read_out(*prev_out)
    return prog
