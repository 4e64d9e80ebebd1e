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
from ..lib.protocol import (BIAS_BITS_MAX, cmd_compute, cmd_load, cmd_read, cmd_set_bias,
                            cmd_set_quant)


# ---- operand layouts ----------------------------------------------------------------
def _pad(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.int64)
    out[:x.shape[0], :x.shape[1]] = x
    return out


def input_words(cfg: AcceleratorConfig, a: np.ndarray) -> np.ndarray:
    """Input-buffer words (rows of R elements) for an M x K chunk of A."""
    R = cfg.R
    M, K = a.shape
    if cfg.array.dataflow is Dataflow.OS:
        ap = _pad(a, ceil_div(M, R) * R, K)                  # word mt*K + k = A[mt*R + r, k]
        return ap.reshape(-1, R, K).transpose(0, 2, 1).reshape(-1, R)
    ap = _pad(a, M, ceil_div(K, R) * R)                      # word kt*M + m = A[m, kt*R + r]
    return ap.reshape(M, -1, R).transpose(1, 0, 2).reshape(-1, R)


def weight_words(cfg: AcceleratorConfig, b: np.ndarray) -> np.ndarray:
    """Weight-buffer words (rows of C elements) for a K x N chunk of B."""
    R, C = cfg.R, cfg.C
    K, N = b.shape
    NT = ceil_div(N, C)
    if cfg.array.dataflow is Dataflow.OS:
        bp = _pad(b, K, NT * C)                              # word nt*K + k = B[k, nt*C + c]
        return bp.reshape(K, NT, C).transpose(1, 0, 2).reshape(-1, C)
    bp = _pad(b, ceil_div(K, R) * R, NT * C)                 # word (nt*KT + kt)*R + r
    return bp.reshape(-1, NT, C).transpose(1, 0, 2).reshape(-1, C)


def acc_rows_per_ntile(cfg: AcceleratorConfig, m: int) -> int:
    """Accumulator words between consecutive column tiles of a chunk with m rows."""
    return ceil_div(m, cfg.R) * cfg.R if cfg.array.dataflow is Dataflow.OS else m


# ---- the program ---------------------------------------------------------------------
@dataclass(frozen=True)
class Quant:
    """READ post-processing. ``raw`` returns the accumulators unchanged."""
    raw: bool = True
    mult: int = 1
    shift: int = 0
    relu: bool = False
    bias: Optional[tuple] = None  # per output column; None = zeros


@dataclass
class Program:
    cmds: list[int] = field(default_factory=list)
    din: list[int] = field(default_factory=list)
    reads: list[tuple] = field(default_factory=list)  # (row0, col0, rows, cols) per READ
    n_dout: int = 0
    shape: tuple = (0, 0, 0)
    chunks: tuple = (0, 0, 0)
    order: tuple = ("m", "n", "k")

    def decode(self, cfg: AcceleratorConfig, dout: list[int]) -> np.ndarray:
        """Reassemble the M x N result from the captured ``dout`` beats."""
        M, _, N = self.shape
        C = cfg.C
        bpw = ceil_div(C, cfg.host.beat_elems)
        if len(dout) != self.n_dout:
            raise ValueError(f"expected {self.n_dout} result beats, got {len(dout)}")
        out = np.zeros((M, N), dtype=object)
        pos = 0
        for row0, col0, rows, cols in self.reads:
            words = unpack_beats(dout[pos:pos + rows * bpw], C, cfg.host.beat_elems, cfg.acc_bits)
            out[row0:row0 + rows, col0:col0 + cols] = words[:, :cols]
            pos += rows * bpw
        return out


def check_gemm(cfg: AcceleratorConfig, M: int, K: int, N: int) -> None:
    for name, v in (("M", M), ("K", K), ("N", N)):
        if v < 1:
            raise WorkloadError(f"gemm {name} must be >= 1, got {v}")
    if K > cfg.precision.max_k:
        raise WorkloadError(
            f"gemm K={K} exceeds precision.max_k={cfg.precision.max_k}: the accumulator "
            f"could overflow; raise max_k in the config")


def emit_gemm_program(cfg: AcceleratorConfig, M: int, K: int, N: int, mp: MappingConfig,
                      a: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None,
                      quant: Quant = Quant()) -> Program:
    """Commands (and, when A and B are given, the operand beats) that compute A.B in
    chunks of the mapping ``mp``. Each step loads the chunks it needs into the bank the
    previous COMPUTE is not reading, so loads overlap computation; a finished output
    chunk is read back while the next one computes.
    """
    check_gemm(cfg, M, K, N)
    tm, tk, tn = min(mp.tile_m, M), min(mp.tile_k, K), min(mp.tile_n, N)
    why = cfg.chunk_fits(tm, tk, tn)
    if why is not None:
        raise WorkloadError(f"mapping tile {tm}x{tk}x{tn} does not fit: {why}")
    if not quant.raw:
        if not 0 <= quant.shift <= cfg.max_shift:
            raise WorkloadError(f"shift must be in 0..{cfg.max_shift}, got {quant.shift}")
        if not 0 <= quant.mult < (1 << cfg.precision.mult_bits):
            raise WorkloadError(f"mult must fit precision.mult_bits={cfg.precision.mult_bits}")
    with_data = a is not None
    prog = Program(shape=(M, K, N), chunks=(tm, tk, tn), order=tuple(mp.order))
    beat, ib = cfg.host.beat_elems, cfg.precision.in_bits
    two = lambda buf: getattr(cfg.buffers, buf).banks > 1
    bias_lim = min(cfg.acc_bits, BIAS_BITS_MAX)
    C = cfg.C

    if not quant.raw:
        prog.cmds.append(cmd_set_quant(quant.mult, quant.shift))

    ranges = {"m": range(0, M, tm), "k": range(0, K, tk), "n": range(0, N, tn)}
    o0, o1, _ = mp.order
    steps = []  # (m0, n0, k0) in loop order, k innermost
    for x in ranges[o0]:
        for y in ranges[o1]:
            pos = {o0: x, o1: y}
            steps.extend((pos["m"], pos["n"], k0) for k0 in ranges["k"])

    banks = {"in": [None, None], "w": [None, None]}  # chunk key held in each bank
    last_bank = {"in": 1, "w": 1}                     # bank the previous COMPUTE read
    acc_bank = 1
    prev_out = None

    def load(kind, key, dims, block):
        buf = "input" if kind == "in" else "weight"
        held = banks[kind]
        if key in held and (two(buf) or held.index(key) == 0):
            return held.index(key)
        bank = 1 - last_bank[kind] if two(buf) else 0
        held[bank] = key
        count = cfg.chunk_words(*dims)[buf]
        if count:
            prog.cmds.append(cmd_load(kind == "w", bank, 0, count))
            if with_data:
                words = input_words(cfg, block()) if kind == "in" else weight_words(cfg, block())
                assert len(words) == count
                prog.din.extend(pack_beats(words, beat, ib))
        return bank

    def read_out(m0, n0, mc, nc, bank):
        rows_nt = acc_rows_per_ntile(cfg, mc)
        for nt in range(ceil_div(nc, C)):
            col0 = n0 + nt * C
            cols = min(C, N - col0, nc - nt * C)
            if not quant.raw:
                for lane in range(C):
                    bv = 0
                    if quant.bias is not None and lane < cols:
                        bv = int(quant.bias[col0 + lane])
                        if not -(1 << (bias_lim - 1)) <= bv < (1 << (bias_lim - 1)):
                            raise WorkloadError(f"bias {bv} does not fit {bias_lim} bits")
                    prog.cmds.append(cmd_set_bias(lane, bv))
            prog.cmds.append(cmd_read(bank, nt * rows_nt, mc, quant.raw, quant.relu))
            prog.reads.append((m0, col0, mc, cols))
            prog.n_dout += mc * ceil_div(C, beat)

    for i, (m0, n0, k0) in enumerate(steps):
        mc, kc, nc = min(tm, M - m0), min(tk, K - k0), min(tn, N - n0)
        dims = (mc, kc, nc)
        ib_ = load("in", (m0, k0), dims, lambda: a[m0:m0 + mc, k0:k0 + kc])
        wb_ = load("w", (k0, n0), dims, lambda: b[k0:k0 + kc, n0:n0 + nc])
        if k0 == 0:
            acc_bank = 1 - acc_bank if two("acc") else 0
            if prev_out is not None and prev_out[4] == acc_bank:
                # One accumulator bank: drain it before the next chunk overwrites it.
                read_out(*prev_out)
                prev_out = None
        prog.cmds.append(cmd_compute(mc, kc, nc, k0 != 0, ib_, wb_, acc_bank))
        last_bank["in"], last_bank["w"] = ib_, wb_
        if prev_out is not None and prev_out[:2] != (m0, n0):
            read_out(*prev_out)  # overlaps the COMPUTE just issued (other bank)
        prev_out = (m0, n0, mc, nc, acc_bank)
    read_out(*prev_out)
    return prog
