"""Run a host program on the Amaranth simulator (no Verilog involved).

Used by the fast unit tests; the same programs run on Icarus and Verilator through
``sim_tb``. Cycle 0 is the cycle the first command is offered; ``cycles`` is the first
cycle at which every result beat has been accepted and the accelerator is idle, the
same definition as the Verilog testbench.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from amaranth.sim import Simulator

from .config.schema import AcceleratorConfig
from .top import Accelerator


@dataclass
class AmaranthResult:
    dout: list
    cycles: int
    compute_cycles: int
    timed_out: bool
    cmd_cycles: list = None   # cycle each command was accepted
    beat_cycles: list = None  # cycle each result beat was accepted


def run_program_amaranth(cfg: AcceleratorConfig, cmds: list[int], din: list[int],
                         n_dout: int, *, seed: int = 1, stall_pct: int = 0,
                         max_cycles: int = 200_000, vcd: str | None = None) -> AmaranthResult:
    dut = Accelerator(cfg)
    rng = random.Random(seed)
    res = AmaranthResult([], 0, 0, False, [], [])

    async def bench(ctx):
        ci = di = 0
        cyc = 0
        cmd_v = din_v = False
        while True:
            # Sources hold valid and payload until the transfer (stream rules).
            if not cmd_v and ci < len(cmds):
                cmd_v = rng.randrange(100) >= stall_pct
            if not din_v and di < len(din):
                din_v = rng.randrange(100) >= stall_pct
            ready = rng.randrange(100) >= stall_pct
            ctx.set(dut.cmd.valid, cmd_v)
            ctx.set(dut.cmd.payload, cmds[ci] if ci < len(cmds) else 0)
            ctx.set(dut.din.valid, din_v)
            ctx.set(dut.din.payload.as_value(), din[di] if di < len(din) else 0)
            ctx.set(dut.dout.ready, ready)
            if (ci == len(cmds) and len(res.dout) == n_dout and not ctx.get(dut.busy)):
                break
            if cmd_v and ctx.get(dut.cmd.ready):
                ci += 1
                cmd_v = False
                res.cmd_cycles.append(cyc)
            if din_v and ctx.get(dut.din.ready):
                di += 1
                din_v = False
            if ready and ctx.get(dut.dout.valid):
                res.dout.append(ctx.get(dut.dout.payload.as_value()))
                res.beat_cycles.append(cyc)
            await ctx.tick()
            cyc += 1
            if cyc >= max_cycles:
                res.timed_out = True
                break
        res.cycles = cyc
        res.compute_cycles = ctx.get(dut.compute_cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return res
