"""cocotb test for an interconnect (`hwgen.scaleout.interconnect`, module
hwgen_interconnect): drives the traffic of the JSON file named by `+traffic_file=` with
the driver of `sim_tb.interconnect` (the one the Amaranth simulator runs, so a seed gives
the same cycles) and writes what every sink took to `+result_file=`."""
import json

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from sim_tb.interconnect import Traffic

CLOCK_PERIOD_NS = 10


@cocotb.test()
async def traffic(dut):
    with open(cocotb.plusargs["traffic_file"]) as f:
        spec = json.load(f)
    queues = {int(k): [tuple(w) for w in v] for k, v in spec["queues"].items()}
    tr = Traffic(spec["ports"], spec["width"], queues, spec["p_valid"], spec["p_ready"],
                 spec["seed"], spec["max_cycles"])
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    while not tr.done():
        valid, data, dest, ready = tr.inputs()
        dut.i__valid.value = valid
        dut.i__data.value = data
        dut.i__dest.value = dest
        dut.o__ready.value = ready
        await ReadOnly()
        tr.step(int(dut.i__ready.value), int(dut.o__valid.value), int(dut.o__data.value))
        await FallingEdge(dut.clk)
    with open(cocotb.plusargs["result_file"], "w") as f:
        json.dump(tr.res.as_json(), f)
