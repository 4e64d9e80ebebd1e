"""cocotb test for the stand-alone SC layer (`hwgen.units.stochastic.ScLayerHost`, the
module `hwgen generate` writes as hwgen_sc_layer).

Reads the stimulus from the JSON file named by the `+vectors_file=` plusarg: `weights`
(the neurons x fan_in codes, neuron-major), `cases` (each a list of fan_in input codes)
and `stall` (probability of a gap on each stream). It loads the weights on `w_in`, then
for each case sends the inputs on `x_in` and collects `neurons` results from `y_out`,
holding `valid` low or `ready` low at random (seeded by `+stall_seed=`). Results and the
cycles from the last input beat to the first result go into the `+result_file=` JSON
file; the comparison with the golden model is the pytest side's business.
"""
import json
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

CLOCK_PERIOD_NS = 10


async def send(dut, port, codes, rng, stall):
    """Drive codes on `<port>__valid/payload`, one beat per accepted cycle; signals change
    on the falling edge and are sampled at the rising one."""
    valid, payload, ready = (getattr(dut, f"{port}__{s}") for s in ("valid", "payload", "ready"))
    for c in codes:
        while rng.random() < stall:
            valid.value = 0
            await FallingEdge(dut.clk)
        valid.value = 1
        payload.value = int(c)
        while True:
            await ReadOnly()
            taken = int(ready.value)
            await FallingEdge(dut.clk)
            if taken:
                break
    valid.value = 0


@cocotb.test()
async def run_cases(dut):
    spec = json.loads(open(cocotb.plusargs["vectors_file"]).read())
    rng = random.Random(int(cocotb.plusargs.get("stall_seed", "1")))
    stall = float(spec.get("stall", 0.0))
    neurons = int(spec["neurons"])
    dut.rst.value = 1
    for port in ("w_in", "x_in"):
        getattr(dut, f"{port}__valid").value = 0
    dut.y_out__ready.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await send(dut, "w_in", spec["weights"], rng, stall)
    out = []
    for case in spec["cases"]:
        await send(dut, "x_in", case, rng, stall)
        ys, cycles, first = [], 0, None
        while len(ys) < neurons:
            rdy = int(rng.random() >= stall)
            dut.y_out__ready.value = rdy
            await ReadOnly()
            if int(dut.y_out__valid.value):
                first = cycles if first is None else first
                if rdy:
                    ys.append(int(dut.y_out__payload.value))
            await FallingEdge(dut.clk)
            cycles += 1
        dut.y_out__ready.value = 0
        out.append({"y": ys, "latency": first})
    with open(cocotb.plusargs["result_file"], "w") as f:
        json.dump(out, f)
