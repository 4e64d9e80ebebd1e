"""Analytical cycle model.

The controller's schedule depends only on the shapes, so the cycle count of a program is
computed here exactly, command by command, from the same rules the RTL follows
(docs/gemm_accelerator.md); ``hwgen estimate`` uses it and the test suite checks it against
simulation cycle for cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import AcceleratorConfig, Dataflow, MappingConfig
from ..lib.arith import ceil_div
from ..lib.protocol import OP_COMPUTE, OP_LOAD_IN, OP_LOAD_W, OP_READ, decode
from ..lib.schedule import READ_LATENCY, os_engine_cycles, ws_engine_cycles

#: Cycles from reset release to the first command accepted (the testbench's offset).
START_OFFSET = 0


def engine_cycles(cfg: AcceleratorConfig, M: int, K: int, N: int) -> int:
    """Cycles the compute engine is busy for one COMPUTE."""
    if cfg.array.dataflow is Dataflow.OS:
        return os_engine_cycles(cfg.R, cfg.C, M, K, N)
    return ws_engine_cycles(cfg.R, cfg.C, M, K, N)


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
        elif op in (OP_LOAD_IN, OP_LOAD_W):
            bank, count = c.bank, c.count
            e = wait(e, "w" if op == OP_LOAD_W else "in", bank)
            beats = count * (bpw_w if op == OP_LOAD_W else bpw_in)
            t = e + 1 + max(beats, 1)
        elif op == OP_READ:
            bank, count = c.bank, c.count
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
