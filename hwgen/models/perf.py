"""Analytical cycle model.

The controller's schedule depends only on the shapes, so the cycle count of a program is
computed here exactly, command by command, from the same rules the RTL follows
(docs/architecture.md); ``hwgen estimate`` uses it and the test suite checks it against
simulation cycle for cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config.schema import OS, AcceleratorConfig, MappingConfig, ceil_div
from ..ctrl.engine import os_tile_period, ws_tile_period
from ..ctrl.host_if import (OP_COMPUTE, OP_LOAD_IN, OP_LOAD_W, OP_READ)

#: Cycles from a READ word's issue to its first beat on ``dout``: the buffer read and two
#: requantizer registers before the FIFO write, two through the buffered FIFO.
READ_LATENCY = 3 + 2
#: Cycles from reset release to the first command accepted (the testbench's offset).
START_OFFSET = 0


def engine_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """Cycles the compute engine is busy for one COMPUTE."""
    R, C = cfg.R, cfg.C
    if cfg.array.dataflow == OS:
        tiles = ceil_div(M, R) * ceil_div(N, C)
        return tiles * os_tile_period(R, K) + 1 + (2 * R + C + 1)
    tiles = ceil_div(K, R) * ceil_div(N, C)
    return R + tiles * ws_tile_period(R, C, M) + (R + C - 1 + 2)


@dataclass
class Timing:
    cycles: int           # first command accepted .. last result beat accepted, all idle
    compute_cycles: int   # cycles the compute engine was busy
    macs: int


def program_timing(cfg: AcceleratorConfig, cmds: list[int]) -> Timing:
    """Replay the host interface's command FSM on ``cmds`` with an ideal host (command
    and data always valid, results always accepted)."""
    bpw_in = ceil_div(cfg.R, cfg.host.beat_elems)
    bpw_w = ceil_div(cfg.C, cfg.host.beat_elems)
    bpw_out = ceil_div(cfg.C, cfg.host.beat_elems)
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

    for c in cmds:
        op = c & 0xF
        e = t + 1                       # EXEC
        if op == OP_COMPUTE:
            e = max(e, eng_free)
            M, K, N = (c >> 8) & 0x3FFFF, (c >> 26) & 0x3FFFF, (c >> 44) & 0x3FFFF
            d = engine_cycles(cfg, M, K, N)
            eng_free = e + d + 1
            eng_banks = {"in": (c >> 5) & 1, "w": (c >> 6) & 1, "acc": (c >> 7) & 1}
            compute += d
            macs += M * K * N
            t = e + 1
        elif op in (OP_LOAD_IN, OP_LOAD_W):
            bank, count = (c >> 4) & 1, (c >> 28) & 0xFFFFF
            e = wait(e, "w" if op == OP_LOAD_W else "in", bank)
            beats = count * (bpw_w if op == OP_LOAD_W else bpw_in)
            t = e + 1 + max(beats, 1)
        elif op == OP_READ:
            bank, count = (c >> 4) & 1, (c >> 28) & 0xFFFFF
            e = wait(e, "acc", bank)
            if count == 0:
                t = e + 2
            else:
                first = e + 1 + READ_LATENCY
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
    bpw_in = ceil_div(cfg.R, cfg.host.beat_elems)
    bpw_w = ceil_div(cfg.C, cfg.host.beat_elems)
    a_beats = a_reps * bpw_in * sum(cm * ck * cfg.chunk_words(m, k, 1)["input"]
                                    for m, cm in ms for k, ck in ks)
    b_beats = b_reps * bpw_w * sum(ck * cn * cfg.chunk_words(1, k, n)["weight"]
                                   for k, ck in ks for n, cn in ns)
    out_beats = M * ceil_div(N, cfg.C) * bpw_w
    # The first chunk's operands arrive before anything computes and the last output
    # chunk leaves after everything has: neither overlaps.
    tm, tk, tn = min(mp.tile_m, M), min(mp.tile_k, K), min(mp.tile_n, N)
    words = cfg.chunk_words(tm, tk, tn)
    exposed = (words["input"] * bpw_in + words["weight"] * bpw_w
               + tm * ceil_div(tn, cfg.C) * bpw_w)
    return max(compute, a_beats + b_beats + out_beats) + exposed


def default_mapping(cfg: AcceleratorConfig, M: int, K: int, N: int,
                    exact: int = 6) -> MappingConfig:
    """A fast mapping for this GEMM. Chunk sizes are the full dimension or the array's
    tile times a power of two; only maximal chunks that fit the buffers are considered,
    for both k-innermost loop orders. They are ranked by :func:`approx_cycles` and the
    best ``exact`` are compared with the exact cycle model."""
    from ..host.program import build_gemm_program

    R, C = cfg.R, cfg.C

    def candidates(full, unit):
        out = {full}
        v = unit
        while v < full:
            out.add(v)
            v *= 2
        return sorted(out, reverse=True)

    cm, ck, cn = candidates(M, R), candidates(K, R), candidates(N, C)
    fits = lambda m, k, n: cfg.chunk_fits(m, k, n) is None
    shapes = set()
    for tk in ck:
        for tm in cm:
            tn = next((n for n in cn if fits(tm, tk, n)), None)
            if tn:
                shapes.add((tm, tk, tn))
        for tn in cn:
            tm = next((m for m in cm if fits(m, tk, tn)), None)
            if tm:
                shapes.add((tm, tk, tn))
    if not shapes:
        raise ValueError("no chunk fits the buffers")  # config validation prevents this
    volume = lambda mp: mp.tile_m * mp.tile_k * mp.tile_n
    ranked = sorted((MappingConfig(tm, tk, tn, order) for tm, tk, tn in shapes
                     for order in (("m", "n", "k"), ("n", "m", "k"))),
                    key=lambda mp: (approx_cycles(cfg, M, K, N, mp), -volume(mp), mp.order,
                                    mp.tile_m, mp.tile_k))
    best = None
    for mp in ranked[:exact]:
        cyc = program_timing(cfg, build_gemm_program(cfg, M, K, N, mapping=mp).cmds).cycles
        key = (cyc, -volume(mp), mp.order)
        if best is None or key < best[0]:
            best = (key, mp)
    return best[1]
