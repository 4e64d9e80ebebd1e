"""Analytical cycle model.

The controller's schedule depends only on the shapes, so the cycle count of a program is
computed here exactly, command by command, from the same rules the RTL follows
(docs/gemm_accelerator.md); ``hwgen estimate`` uses it and the test suite checks it against
simulation cycle for cycle.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

from ..config import AcceleratorConfig, Dataflow, MappingConfig
from ..lib.arith import ceil_div
from ..lib.protocol import (OP_COMPUTE, OP_LOAD_ACC, OP_LOAD_IN, OP_LOAD_W, OP_POOL, OP_READ,
                            OP_SYNC, decode)
from ..lib.schedule import (is_engine_cycles, os_engine_cycles, pool_cycles, read_latency,
                            ws_engine_cycles)
from . import maxplus as mx

#: Cycles from reset release to the first command accepted (the testbench's offset).
START_OFFSET = 0


def engine_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """Cycles the compute engine is busy for one COMPUTE."""
    if cfg.array.dataflow is Dataflow.OS:
        return os_engine_cycles(cfg.R, cfg.C, M, K, N, cfg.pe_stages)
    if cfg.array.dataflow is Dataflow.IS:
        return is_engine_cycles(cfg.R, cfg.C, M, K, N, cfg.pe_stages)
    return ws_engine_cycles(cfg.R, cfg.C, M, K, N, cfg.pe_stages)


@dataclass
class Timing:
    cycles: int           # first command accepted .. last result beat accepted, all idle
    compute_cycles: int   # cycles the compute engine was busy
    macs: int


def program_timing(cfg: AcceleratorConfig, cmds: list[int]) -> Timing:
    """Replay the host interface's command FSM on ``cmds`` with an ideal host (command
    and data always valid, results always accepted)."""
    bpw_in, bpw_w = cfg.link.in_word_beats, cfg.link.w_word_beats
    bpw_out = bpw_acc = cfg.acc_word_beats
    two = {"in": cfg.buffers.input.banks > 1, "w": cfg.buffers.weight.banks > 1,
           "acc": cfg.buffers.acc.banks > 1}
    t = START_OFFSET           # cycle at which the host FSM sits in IDLE
    eng_free = 0               # first cycle the engine is idle again
    eng_banks = {"in": None, "w": None, "acc": None}
    last_beat = -1
    compute = 0
    macs = 0

    def wait(e, kind, bank):
        busy_clash = e < eng_free and (not two[kind] or eng_banks[kind] == bank)
        return eng_free if busy_clash else e

    for word in cmds:
        c = decode(word)
        op = c.op
        e = t + 1                       # EXEC
        if op == OP_COMPUTE:
            e = max(e, eng_free)
            M, K, N = c.m, c.k, c.n
            d = engine_cycles(cfg, M, K, N)
            eng_free = e + d + 1
            eng_banks = {"in": c.in_bank, "w": c.w_bank, "acc": c.acc_bank}
            compute += d
            macs += M * K * N
            t = e + 1
        elif op == OP_POOL:             # the pooling unit: like a COMPUTE without MACs
            e = max(e, eng_free)
            d = pool_cycles(c.m, c.n, c.k)
            eng_free = e + d + 1
            eng_banks = {"in": c.in_bank, "w": eng_banks["w"], "acc": c.acc_bank}
            compute += d
            t = e + 1
        elif op == OP_SYNC:
            t = max(e, eng_free) + 1
        elif op in (OP_LOAD_IN, OP_LOAD_W, OP_LOAD_ACC):
            bank, count = c.bank, c.count
            e = wait(e, {OP_LOAD_IN: "in", OP_LOAD_W: "w", OP_LOAD_ACC: "acc"}[op], bank)
            beats = count * {OP_LOAD_IN: bpw_in, OP_LOAD_W: bpw_w, OP_LOAD_ACC: bpw_acc}[op]
            t = e + 1 + max(beats, 1)
        elif op == OP_READ:
            bank, count = c.bank, c.count
            e = wait(e, "acc", bank)
            if count == 0:
                t = e + 2
            else:
                first = e + 1 + read_latency(cfg.requant_stages)
                last_beat = first + count * bpw_out - 1
                t = last_beat + 2
        else:
            t = e + 1
    end = max(t, eng_free, last_beat + 1)
    return Timing(cycles=end - START_OFFSET, compute_cycles=compute, macs=macs)


def report(cfg: AcceleratorConfig, timing: Timing) -> dict:
    pes = cfg.array.pes
    ideal = ceil_div(timing.macs, pes)
    return {
        "cycles": timing.cycles,
        "compute_cycles": timing.compute_cycles,
        "ideal_cycles": ideal,
        "utilization": round(timing.macs / (pes * timing.cycles), 6) if timing.cycles else 0.0,
        "compute_utilization": (round(timing.macs / (pes * timing.compute_cycles), 6)
                                if timing.compute_cycles else 0.0),
        "macs": timing.macs,
    }


def _out_words(cfg: AcceleratorConfig, m: int, n: int) -> int:
    """Accumulator words an m x n output chunk is read back in: m per tile of C
    columns, or (input-stationary, C^T) n per tile of C rows."""
    if cfg.dataflow is Dataflow.IS:
        return ceil_div(m, cfg.C) * n
    return m * ceil_div(n, cfg.C)


def _splits(total: int, tile: int) -> list[tuple[int, int]]:
    """(chunk size, how many) for one dimension split into chunks of ``tile``."""
    full, rem = divmod(total, tile)
    return [(tile, full)] * bool(full) + [(rem, 1)] * bool(rem)


def approx_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int,
                  mp: MappingConfig) -> int:
    """A quick cost for ranking mappings: compute and host transfer, assumed to overlap.
    Exact figures come from :func:`program_timing`."""
    ms, ks, ns = _splits(M, mp.tile_m), _splits(K, mp.tile_k), _splits(N, mp.tile_n)
    kt = sum(c for _, c in ks)
    compute = sum(cm * ck * cn * engine_cycles(cfg, m, k, n)
                  for m, cm in ms for k, ck in ks for n, cn in ns)
    mt, nt = sum(c for _, c in ms), sum(c for _, c in ns)
    # A is reloaded for every n chunk unless it stays put over an inner n loop.
    a_reps = 1 if kt == 1 and mp.order[1] == "n" else nt
    b_reps = 1 if kt == 1 and mp.order[1] == "m" else mt
    bpw_in, bpw_w = cfg.link.in_word_beats, cfg.link.w_word_beats
    a_beats = a_reps * bpw_in * sum(cm * ck * cfg.chunk_words(m, k, 1)["input"]
                                    for m, cm in ms for k, ck in ks)
    b_beats = b_reps * bpw_w * sum(ck * cn * cfg.chunk_words(1, k, n)["weight"]
                                   for k, ck in ks for n, cn in ns)
    bpw_acc = cfg.acc_word_beats
    out_beats = _out_words(cfg, M, N) * bpw_acc
    # The first chunk's operands arrive before anything computes and the last output
    # chunk leaves after everything has: neither overlaps.
    tm, tk, tn = min(mp.tile_m, M), min(mp.tile_k, K), min(mp.tile_n, N)
    words = cfg.chunk_words(tm, tk, tn)
    exposed = (words["input"] * bpw_in + words["weight"] * bpw_w
               + _out_words(cfg, tm, tn) * bpw_acc)
    return max(compute, a_beats + b_beats + out_beats) + exposed


# ---- the GEMM program's timing from its loop structure ---------------------------------------
@dataclass(frozen=True)
class GemmTiming:
    """Exact figures of a GEMM program (the compiler's, for this mapping), computed from
    the program's loop structure without listing its commands."""
    cycles: int
    compute_cycles: int
    macs: int
    in_beats: int
    w_beats: int
    out_beats: int
    commands: int

    @property
    def host_beats(self) -> int:
        """Beats on the two data streams (operands in, results out)."""
        return self.in_beats + self.w_beats + self.out_beats

    def timing(self) -> Timing:
        return Timing(self.cycles, self.compute_cycles, self.macs)


def _segments(n: int) -> list[tuple[int, int, int]]:
    """Indices 0 .. n-1 as (first, last, count) runs whose members behave alike: the
    first, the middle ones, the last (the loop's first and last chunks differ)."""
    if n <= 2:
        return [(i, i, 1) for i in range(n)]
    return [(0, 0, 1), (1, n - 2, n - 2), (n - 1, n - 1, 1)]


@dataclass(frozen=True)
class LoopNest:
    """The chunk loops of a program as the cycle model sees them: an M x K x N product
    cut into chunks of ``tile_m x tile_k x tile_n`` (the last chunk of a dimension may be
    smaller), visited in ``order`` (k innermost), and what the program does around each
    COMPUTE. Subclasses describe other operand layouts (a convolution's input band,
    :mod:`hwgen.compiler.conv`) by overriding the word counts.

    Attributes
    ----------
    raw : bool
        Results are read raw (no SET_BIAS / SET_QUANT commands).
    per_lane : bool
        Every column has its own multiplier and shift (C SET_QUANT per column tile read),
        else one SET_QUANT at the start.
    clamp : bool
        Two SET_CLAMP commands at the start.
    setup : int
        Commands before every COMPUTE (CONV_SET of the address generator).
    preload : bool
        Each output chunk's accumulators are preloaded before its first COMPUTE, which
        then accumulates: per column tile, C SET_PRELOAD and a LOAD_ACC of its words.
    """
    M: int
    K: int
    N: int
    tile_m: int
    tile_k: int
    tile_n: int
    order: tuple = ("m", "n", "k")
    raw: bool = True
    per_lane: bool = False
    clamp: bool = False
    setup: int = 0
    preload: bool = False

    @property
    def counts(self) -> tuple[int, int, int]:
        return (ceil_div(self.M, self.tile_m), ceil_div(self.K, self.tile_k),
                ceil_div(self.N, self.tile_n))

    def m(self, i: int) -> int:
        return min(self.tile_m, self.M - i * self.tile_m)

    def k(self, l: int) -> int:  # noqa: E741
        return min(self.tile_k, self.K - l * self.tile_k)

    def n(self, j: int) -> int:
        return min(self.tile_n, self.N - j * self.tile_n)

    def a_words(self, cfg: AcceleratorConfig, i: int, l: int) -> int:  # noqa: E741
        """Input-buffer words of operand chunk (i, l)."""
        return cfg.chunk_words(self.m(i), self.k(l), 1)["input"]

    def w_words(self, cfg: AcceleratorConfig, l: int, j: int) -> int:  # noqa: E741
        return cfg.chunk_words(1, self.k(l), self.n(j))["weight"]

    def segments(self, dim: str) -> list[tuple[int, int, int]]:
        """The chunks of dimension ``dim`` ("m", "k" or "n") as (first, last, count)
        runs of chunks the program treats alike (:func:`_segments`)."""
        n_m, n_k, n_n = self.counts
        return _segments({"m": n_m, "k": n_k, "n": n_n}[dim])

    def a_words_total(self, cfg: AcceleratorConfig) -> int:
        """Input-buffer words of all operand chunks (i, l), each counted once."""
        return sum(cm * ck * cfg.chunk_words(m, k, 1)["input"]
                   for m, cm in _splits(self.M, self.tile_m)
                   for k, ck in _splits(self.K, self.tile_k))

    def w_words_total(self, cfg: AcceleratorConfig) -> int:
        """Weight-buffer words of all operand chunks (l, j), each counted once."""
        return sum(ck * cn * cfg.chunk_words(1, k, n)["weight"]
                   for k, ck in _splits(self.K, self.tile_k)
                   for n, cn in _splits(self.N, self.tile_n))

    def acc_rows(self, cfg: AcceleratorConfig, i: int) -> int:
        """Accumulator words per column tile of output chunk i (a LOAD_ACC's count)."""
        return ceil_div(self.m(i), cfg.R) * cfg.R if cfg.dataflow is Dataflow.OS else self.m(i)

def compute_bound(cfg: AcceleratorConfig, nest: LoopNest) -> int:
    """The engine's busy cycles for every chunk of ``nest``: a lower bound on its
    cycles, without the commands around the COMPUTEs (for pruning mapping searches)."""
    busy = {Dataflow.OS: os_engine_cycles, Dataflow.WS: ws_engine_cycles,
            Dataflow.IS: is_engine_cycles}[cfg.array.dataflow]
    R, C, pe = cfg.R, cfg.C, cfg.pe_stages
    return sum(cm * ck * cn * busy(R, C, m, k, n, pe)
               for m, cm in _splits(nest.M, nest.tile_m)
               for k, ck in _splits(nest.K, nest.tile_k)
               for n, cn in _splits(nest.N, nest.tile_n))


def _keeps(chunks: int, two_banks: bool) -> bool:
    """An operand stream that cycles through ``chunks`` chunks keeps them all resident
    (two banks hold two, one bank one), so that every pass after the first hits."""
    return chunks <= 2 if two_banks else chunks == 1


def _resident(cfg: AcceleratorConfig, nest: LoopNest) -> tuple[bool, bool]:
    """(A's stream stays resident, W's does), the rule of :func:`nest_block`: the stream
    of the operand keyed by the outer loop's dimension cycles through the k chunks, the
    other through inner x k chunks."""
    n_m, n_k, n_n = nest.counts
    two_in, two_w = cfg.buffers.input.banks > 1, cfg.buffers.weight.banks > 1
    if nest.order[0] == "m":
        return _keeps(n_k, two_in), _keeps(n_n * n_k, two_w)
    return _keeps(n_m * n_k, two_in), _keeps(n_k, two_w)


def nest_beats(cfg: AcceleratorConfig, nest: LoopNest,
               totals: Optional[tuple] = None) -> tuple[int, int, int]:
    """The (in, weight, out) beats of :func:`nest_timing` for ``nest``, counted without
    timing it: operand chunks are loaded once, or once per pass when their stream does
    not stay resident (the rule of :func:`nest_block`); each output chunk is read once
    per column tile. ``totals``: :func:`beat_totals` of a nest that differs from this one
    at most in its loop order, when known."""
    n_m, n_k, n_n = nest.counts
    a_keeps, w_keeps = _resident(cfg, nest)
    a_total, w_total, out_beats, preload = beat_totals(cfg, nest) if totals is None else totals
    in_beats = (1 if a_keeps else n_n) * a_total
    w_beats = (1 if w_keeps else n_m) * w_total + preload
    return in_beats, w_beats, out_beats


def beat_totals(cfg: AcceleratorConfig, nest: LoopNest) -> tuple[int, int, int, int]:
    """What :func:`nest_beats` counts independently of the loop order: the beats of every
    input chunk once, of every weight chunk once, of the results, and of the preloads."""
    C = cfg.C
    link = cfg.link
    n_m = nest.counts[0]
    a_total = nest.a_words_total(cfg) * link.in_word_beats
    w_total = nest.w_words_total(cfg) * link.w_word_beats
    tiles = sum(cn * ceil_div(n, C) for n, cn in _splits(nest.N, nest.tile_n))
    out_beats = sum(cm * cn * _out_words(cfg, m, n) for m, cm in _splits(nest.M, nest.tile_m)
                    for n, cn in _splits(nest.N, nest.tile_n)) * cfg.acc_word_beats
    preload = 0
    if nest.preload and cfg.dataflow is Dataflow.IS:   # (one LOAD_ACC word per C^T word)
        preload = out_beats
    elif nest.preload:
        preload = sum(nest.acc_rows(cfg, i) for i in range(n_m)) * tiles * link.w_word_beats
    return a_total, w_total, out_beats, preload


def nest_lower_bound(cfg: AcceleratorConfig, nest: LoopNest,
                     beats: Optional[int] = None, busy: Optional[int] = None) -> int:
    """A lower bound on :func:`nest_timing`'s cycles, in time independent of the nest's
    size: the command FSM's time (two cycles per COMPUTE, one per beat of every transfer)
    or the engine's, whichever is more. The engine cannot start before the first chunk's
    operands have arrived, is busy for every COMPUTE (:func:`compute_bound`) and one cycle
    more between two, and the last output chunk is read after it stops. ``beats``: the
    sum of :func:`nest_beats`, and ``busy`` its :func:`compute_bound`, when known."""
    n_m, n_k, n_n = nest.counts
    fsm = (sum(nest_beats(cfg, nest)) if beats is None else beats) + 2 * n_m * n_k * n_n
    first = (nest.a_words(cfg, 0, 0) * cfg.link.in_word_beats
             + nest.w_words(cfg, 0, 0) * cfg.link.w_word_beats)
    mc, nc = nest.m(n_m - 1), nest.n(n_n - 1)
    if cfg.dataflow is Dataflow.IS:
        last = ceil_div(mc, cfg.C) * (read_latency(cfg.requant_stages)
                                      + nc * cfg.acc_word_beats)
    else:
        last = ceil_div(nc, cfg.C) * (read_latency(cfg.requant_stages)
                                      + mc * cfg.link.w_word_beats)
    busy = compute_bound(cfg, nest) if busy is None else busy
    engine = first + busy + n_m * n_k * n_n + last
    return max(engine, fsm)


def gemm_lower_bound(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """A lower bound on the cycles of an M x K x N GEMM under any mapping: the engine's
    tile periods (every chunk's at least its rows, weight-stationary, or its depth,
    output-stationary, per array tile) or the beats of every operand and result sent
    once, whichever is more; chunking only rounds more tiles and words up."""
    R, C = cfg.R, cfg.C
    if cfg.dataflow is Dataflow.OS:
        engine = ceil_div(M, R) * ceil_div(N, C) * K
    elif cfg.dataflow is Dataflow.IS:
        engine = ceil_div(K, R) * ceil_div(M, C) * N
    else:
        engine = ceil_div(K, R) * ceil_div(N, C) * M
    link = cfg.link
    beats = (cfg.chunk_words(M, K, 1)["input"] * link.in_word_beats
             + cfg.chunk_words(1, K, N)["weight"] * link.w_word_beats
             + _out_words(cfg, M, N) * cfg.acc_word_beats)
    return max(engine, beats + 2)


def gemm_nest(M: int, K: int, N: int, mp: MappingConfig, **kw) -> LoopNest:
    """The loop nest of an M x K x N GEMM in chunks of mapping ``mp`` (each at most the
    GEMM's dimension); ``kw``: the :class:`LoopNest` flags."""
    return LoopNest(M, K, N, min(mp.tile_m, M), min(mp.tile_k, K), min(mp.tile_n, N),
                    tuple(mp.order), **kw)


def gemm_timing(cfg: AcceleratorConfig, M: int, K: int, N: int, mp: MappingConfig,
                raw: bool = True, per_lane: bool = False, clamp: bool = False,
                bias: bool = False) -> GemmTiming:
    """The exact cycles of the program :func:`hwgen.compiler.emit_gemm_program` emits for
    an M x K x N GEMM with mapping ``mp`` (see :func:`nest_timing`). ``bias``: the
    requantization adds a per-column bias (which, input-stationary, sets the
    requantizer per output column as ``per_lane`` does)."""
    if cfg.dataflow is Dataflow.IS and bias and not raw:
        per_lane = True
    return nest_timing(cfg, gemm_nest(M, K, N, mp, raw=raw, per_lane=per_lane, clamp=clamp))


def nest_timing(cfg: AcceleratorConfig, nest: LoopNest) -> GemmTiming:
    """The exact cycles (and beats and commands) of the program the compiler emits for
    ``nest`` (:func:`nest_block`), from reset."""
    return block_timing(nest_block(cfg, nest))


def block_timing(block: mx.Block) -> GemmTiming:
    """The figures of a block of commands run from reset."""
    return GemmTiming(cycles=mx.finish(block, START_OFFSET), compute_cycles=block.compute,
                      macs=block.macs, in_beats=block.in_beats, w_beats=block.w_beats,
                      out_beats=block.out_beats, commands=block.commands)


_STEP_CACHES: dict = {}


@functools.lru_cache(maxsize=4096)
def cached_nest_block(cfg: AcceleratorConfig, nest: LoopNest) -> mx.Block:
    """:func:`nest_block`, once per design and nest (a mapping search times the nest it
    picks, and the plan of the layer times it again)."""
    return nest_block(cfg, nest)


def _step_cache(cfg: AcceleratorConfig, *key) -> dict:
    if len(_STEP_CACHES) > 64 or sum(map(len, _STEP_CACHES.values())) > 200_000:
        _STEP_CACHES.clear()
    return _STEP_CACHES.setdefault((cfg, *key), {})


def nest_block(cfg: AcceleratorConfig, nest: LoopNest, alg=mx) -> mx.Block:
    """The max-plus block of the program the compiler emits for ``nest``, in time that
    grows with the logarithm of its size (:mod:`hwgen.models.maxplus`).

    The program's rules, as the model sees them (docs/gemm_accelerator.md): chunks are
    visited in ``nest.order`` with k innermost; an operand chunk is loaded unless one of
    the buffer's banks still holds it; loads go to the bank the running COMPUTE is not
    reading, so they wait for the engine only when the buffer has one bank; a finished
    output chunk is read (per column tile: its SET_BIAS and SET_QUANT commands unless
    raw, then a READ) after the first COMPUTE of the next chunk, or before it when the
    accumulator has one bank; the last chunk is read at the end, after the engine stops.

    With two banks (one), an operand stream that cycles through P chunks keeps them all
    when P <= 2 (P == 1), so every pass after the first hits; otherwise every reference
    loads. A's chunks depend on m, W's on n: the stream of the operand whose key holds
    the outer loop's dimension cycles through the k chunks once per inner index; the
    other cycles through inner x k chunks once per outer index.

    ``alg`` builds the blocks: :mod:`hwgen.models.maxplus` (a free port), or
    :mod:`hwgen.models.slots` (a port of a time-multiplexed bus).
    """
    C = cfg.C
    link = cfg.link
    bpw_in, bpw_w, bpw_out = link.in_word_beats, link.w_word_beats, link.w_word_beats
    two_in, two_w = cfg.buffers.input.banks > 1, cfg.buffers.weight.banks > 1
    two_acc = cfg.buffers.acc.banks > 1
    n_m, n_k, n_n = nest.counts
    m_outer = nest.order[0] == "m"
    n_outer, n_inner = (n_m, n_n) if m_outer else (n_n, n_m)
    a_keeps, w_keeps = _resident(cfg, nest)

    def hits(a: int, b: int) -> tuple[bool, bool]:
        """(A resident, W resident) in row (outer a, inner b)."""
        if m_outer:
            return b >= 1 and a_keeps, a >= 1 and w_keeps
        return a >= 1 and a_keeps, b >= 1 and w_keeps

    def ij(a: int, b: int) -> tuple[int, int]:
        return (a, b) if m_outer else (b, a)

    quant = alg.Block()
    is_ = cfg.dataflow is Dataflow.IS
    if is_:
        bpw_out = cfg.acc_word_beats
        if not nest.raw:   # SET_BIAS (+ per word one SET_QUANT)
            quant = alg.other().times(C + (1 if nest.per_lane else 0))
    elif not nest.raw:
        quant = alg.other().times(C * (2 if nest.per_lane else 1))  # SET_BIAS (+ SET_QUANT)

    def read_out(mc: int, nc: int, waits: bool) -> mx.Block:
        lat = read_latency(cfg.requant_stages)
        if is_:   # C^T: per tile of C rows, nc words (one at a time when per column)
            if nest.per_lane:
                return quant.then(alg.read(lat, 1, bpw_out, waits)).times(nc * ceil_div(mc, C))
            return quant.then(alg.read(lat, nc, bpw_out, waits)).times(ceil_div(mc, C))
        one = quant.then(alg.read(lat, mc, bpw_out, waits))
        return one.times(ceil_div(nc, C))

    def step(a: int, b: int, l: int) -> tuple:  # noqa: E741
        """The commands of step (row a, b; k chunk l) as a hashable signature."""
        i, j = ij(a, b)
        mc, kc, nc = nest.m(i), nest.k(l), nest.n(j)
        hit_a, hit_w = hits(a, b)
        prev = None
        if l == 0 and (a, b) != (0, 0):
            pa, pb = (a, b - 1) if b >= 1 else (a - 1, n_inner - 1)
            pi, pj = ij(pa, pb)
            prev = (nest.m(pi), nest.n(pj))
        preload = None
        if nest.preload and l == 0 and is_:   # per C^T word: C SET_PRELOAD, a LOAD_ACC
            preload = (nc * ceil_div(mc, C), bpw_out)
        elif nest.preload and l == 0:
            preload = (ceil_div(nc, C), nest.acc_rows(cfg, i) * bpw_w)
        return (None if hit_a else nest.a_words(cfg, i, l) * bpw_in,
                None if hit_w else nest.w_words(cfg, l, j) * bpw_w,
                prev, preload, (mc, kc, nc))

    # Steps alike across nests (a mapping search times many nests of one layer) are
    # built once per design and output treatment.
    cache = _step_cache(cfg, nest.raw, nest.per_lane, nest.setup, alg.__name__)

    def step_block(sig: tuple) -> mx.Block:
        if sig not in cache:
            a_beats, w_beats, prev, preload, (mc, kc, nc) = sig
            parts = []
            if a_beats:   # a chunk of no words (a band in the padding) is not loaded
                parts.append(alg.load(a_beats, not two_in, weights=False))
            if w_beats:
                parts.append(alg.load(w_beats, not two_w, weights=True))
            if prev is not None and not two_acc:
                parts.append(read_out(*prev, waits=True))
            if preload is not None:
                tiles, beats = preload
                per_tile = alg.other().times(C).then(
                    alg.load(beats, not two_acc, weights=False, acc=True))
                parts.append(per_tile.times(tiles))
            parts.append(alg.other().times(nest.setup))
            parts.append(alg.compute(engine_cycles(cfg, mc, kc, nc), mc * kc * nc))
            if prev is not None and two_acc:
                parts.append(read_out(*prev, waits=False))
            cache[sig] = alg.seq(*parts)
        return cache[sig]

    def run(first: int, last: int, count: int, sig_of, block_of) -> mx.Block:
        """``count`` alike members from ``first`` to ``last``: their block, checked to be
        the same at both ends of the run."""
        sig = sig_of(first)
        if last != first and sig_of(last) != sig:
            raise AssertionError(f"members {first} and {last} of a run differ")
        return block_of(sig).times(count)

    inner_dim, outer_dim = ("n", "m") if m_outer else ("m", "n")
    segments = {dim: nest.segments(dim) for dim in ("m", "k", "n")}   # asked for often

    def row_sig(a: int, b: int) -> tuple:
        return tuple((step(a, b, f), step(a, b, la), c) for f, la, c in segments["k"])

    def row_block(sig: tuple) -> mx.Block:
        return alg.seq(*(step_block(s).times(c) for s, _, c in sig))

    def outer_sig(a: int) -> tuple:
        return tuple((row_sig(a, f), row_sig(a, la), c)
                     for f, la, c in segments[inner_dim])

    def outer_block(sig: tuple) -> mx.Block:
        return alg.seq(*(row_block(s).times(c) for s, _, c in sig))

    prologue = alg.other().times((0 if nest.raw or nest.per_lane else 1)
                                + (2 if nest.clamp else 0))
    body = alg.seq(*(run(f, la, c, outer_sig, outer_block)
                     for f, la, c in segments[outer_dim]))
    li, lj = ij(n_outer - 1, n_inner - 1)
    return alg.seq(prologue, body, read_out(nest.m(li), nest.n(lj), waits=True))


def program_block(cfg: AcceleratorConfig, cmds: list[int]) -> mx.Block:
    """The max-plus block of a command list, command by command (for short programs
    such as a max pooling layer's; :func:`program_timing` replays the same rules)."""
    two = {"in": cfg.buffers.input.banks > 1, "w": cfg.buffers.weight.banks > 1,
           "acc": cfg.buffers.acc.banks > 1}
    eng = {"in": None, "w": None, "acc": None}
    lat = read_latency(cfg.requant_stages)
    out = mx.Block()

    def waits(kind: str, bank: int) -> bool:
        return not two[kind] or eng[kind] == bank

    for word in cmds:
        c = decode(word)
        if c.op == OP_COMPUTE:
            blk = mx.compute(engine_cycles(cfg, c.m, c.k, c.n), c.m * c.k * c.n)
            eng = {"in": c.in_bank, "w": c.w_bank, "acc": c.acc_bank}
        elif c.op == OP_POOL:
            blk = mx.compute(pool_cycles(c.m, c.n, c.k), 0)
            eng = {"in": c.in_bank, "w": eng["w"], "acc": c.acc_bank}
        elif c.op == OP_SYNC:
            blk = mx.sync()
        elif c.op == OP_LOAD_IN:
            blk = mx.load(c.count * cfg.link.in_word_beats, waits("in", c.bank), False)
        elif c.op == OP_LOAD_W:
            blk = mx.load(c.count * cfg.link.w_word_beats, waits("w", c.bank), True)
        elif c.op == OP_LOAD_ACC:
            blk = mx.load(c.count * cfg.acc_word_beats, waits("acc", c.bank), False, acc=True)
        elif c.op == OP_READ:
            blk = mx.read(lat, c.count, cfg.acc_word_beats, waits("acc", c.bank))
        else:
            blk = mx.other()
        out = out.then(blk)
    return out
