"""Programs on a multi-pod design's data path (:class:`hwgen.scaleout.pods.MultiPod`) on
the Amaranth simulator: each pod's command words straight to the pod, its operand beats
from the bank its ``phase`` places on it, its results from the result port they reach.
Every source offers its next beat whenever it has one, every result port is always
ready (the rate the cycle model assumes)."""
from __future__ import annotations

from dataclasses import dataclass, field

from hwgen.scaleout.pods import MultiPod

from .amaranth_sim import simulate


@dataclass
class PodsResult:
    dout: list = field(default_factory=list)    # per pod: its result beats
    cycles: int = 0                             # first cycle .. all beats out, pods idle
    timed_out: bool = False


def run_pods_amaranth(cfg, programs: list, phase: int = 0,
                      max_cycles: int = 200_000) -> PodsResult:
    """Run ``programs`` ([(cmd words, din beats, result beats expected)] per pod)."""
    dut = MultiPod(cfg)
    P = dut.P
    if len(programs) != P:
        raise ValueError(f"{len(programs)} programs for {P} pods")
    banks = [programs[b ^ phase][1] for b in range(P)]   # bank b feeds pod b ^ phase
    res = PodsResult([[] for _ in range(P)])
    want = sum(n for _, _, n in programs)

    async def bench(ctx):
        ci, di = [0] * P, [0] * P
        got = 0
        cyc = 0
        ctx.set(dut.phase, phase)
        ctx.set(dut.dout.ready, (1 << P) - 1)
        while True:
            cv = cd = dv = dd = 0
            for p in range(P):
                cmds, q = programs[p][0], banks[p]
                if ci[p] < len(cmds):
                    cv |= 1 << p
                    cd |= cmds[ci[p]] << (64 * p)
                if di[p] < len(q):
                    dv |= 1 << p
                    dd |= q[di[p]] << (dut.din_bits * p)
            ctx.set(dut.cmd.valid, cv)
            ctx.set(dut.cmd.data.as_value(), cd)
            ctx.set(dut.din.valid, dv)
            ctx.set(dut.din.data.as_value(), dd)
            if (got == want and all(ci[p] == len(programs[p][0]) for p in range(P))
                    and not ctx.get(dut.busy)):
                break
            cr, dr = ctx.get(dut.cmd.ready), ctx.get(dut.din.ready)
            ov, od = ctx.get(dut.dout.valid), ctx.get(dut.dout.data.as_value())
            for p in range(P):
                ci[p] += cv >> p & cr >> p & 1
                di[p] += dv >> p & dr >> p & 1
                if ov >> p & 1:   # result port p carries pod p ^ phase's beats
                    res.dout[p ^ phase].append(od >> (dut.dout_bits * p)
                                               & ((1 << dut.dout_bits) - 1))
                    got += 1
            await ctx.tick()
            cyc += 1
            if cyc >= max_cycles:
                res.timed_out = True
                break
        res.cycles = cyc

    simulate(dut, bench)
    return res
