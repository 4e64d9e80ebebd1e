"""cocotb test for a Gaussian random number generator (`hwgen.units.grng`, the module
`hwgen generate` writes as hwgen_grng).

Reads the JSON file named by the `+vectors_file=` plusarg: `beats` (how many to take),
`stall` (probability that `out__ready` is low in a cycle, drawn from a generator seeded
by `+stall_seed=`) and optionally `reset_after` (after that many beats, reset is held
for two cycles). After reset it takes the beats and writes each payload (an unsigned
integer, lanes x bits wide) and the cycle it was taken, counted from the release of
reset, to the `+result_file=` JSON file; the comparison with the golden model is the
pytest side's business.
"""
import json
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

CLOCK_PERIOD_NS = 10


@cocotb.test()
async def take_beats(dut):
    spec = json.loads(open(cocotb.plusargs["vectors_file"]).read())
    rng = random.Random(int(cocotb.plusargs.get("stall_seed", "1")))
    stall, n = float(spec.get("stall", 0.0)), int(spec["beats"])
    reset_after = spec.get("reset_after")
    dut.rst.value = 1
    dut.out__ready.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    beats, cycles, cycle = [], [], 0
    while len(beats) < n:
        rdy = int(rng.random() >= stall)
        dut.out__ready.value = rdy
        await ReadOnly()
        if rdy and int(dut.out__valid.value):
            beats.append(int(dut.out__payload.value))
            cycles.append(cycle)
        await FallingEdge(dut.clk)
        cycle += 1
        if reset_after is not None and len(beats) == reset_after:
            reset_after = None
            dut.out__ready.value = 0
            dut.rst.value = 1
            await ClockCycles(dut.clk, 2)
            await FallingEdge(dut.clk)
            dut.rst.value = 0
            cycle += 2
    with open(cocotb.plusargs["result_file"], "w") as f:
        json.dump({"beats": beats, "cycles": cycles}, f)
