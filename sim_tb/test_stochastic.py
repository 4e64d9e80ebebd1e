"""cocotb test for a stochastic-computing layer (`hwgen.units.stochastic.ScLayer`).

Reads the stimulus from the JSON file named by the `+vectors_file=` plusarg: the code
widths and a list of cases, each with the packed `x` and `w` port values. For each case it
pulses `start`, waits for `done` and records `count`, `y` and the cycles from start to
done into the `+result_file=` JSON file. The comparison with the golden model is the
pytest side's business.
"""
import json

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

CLOCK_PERIOD_NS = 10


@cocotb.test()
async def run_cases(dut):
    spec = json.loads(open(cocotb.plusargs["vectors_file"]).read())
    dut.rst.value = 1
    dut.start.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    out = []
    for case in spec["cases"]:
        await FallingEdge(dut.clk)
        dut.x.value = int(case["x"])
        dut.w.value = int(case["w"])
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        cycles = 1
        while True:
            await ReadOnly()
            if int(dut.done.value):
                break
            await FallingEdge(dut.clk)
            cycles += 1
        out.append({"count": int(dut.count.value), "y": int(dut.y.value), "cycles": cycles})
        await RisingEdge(dut.clk)
    with open(cocotb.plusargs["result_file"], "w") as f:
        json.dump(out, f)
