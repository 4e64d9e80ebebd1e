"""cocotb test for the Bayesian layer (`hwgen.units.bayesian.BayesianLayer`, the module
`hwgen generate` writes as hwgen_bayesian_layer).

Reads the JSON file named by the `+vectors_file=` plusarg: `words` (the weight words,
unsigned integers), `vectors` (each a list of input codes), `results` (results per
vector) and `stall` (probability of a gap on each stream, drawn from a generator seeded
by `+stall_seed=`). It loads the weights on `w_in`, then for each vector sends the codes
on `x_in` and takes `results` results from `y_out`, and writes them (as signed integers)
and the cycles from the last input beat to the last result to the `+result_file=` JSON
file; the comparison with the golden model is the pytest side's business.
"""
import json
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

CLOCK_PERIOD_NS = 10


async def send(dut, port, values, rng, stall):
    """Drive values on `<port>__valid/payload`, one beat per accepted cycle; signals
    change on the falling edge and are sampled at the rising one."""
    valid, payload, ready = (getattr(dut, f"{port}__{s}") for s in ("valid", "payload", "ready"))
    for v in values:
        while rng.random() < stall:
            valid.value = 0
            await FallingEdge(dut.clk)
        valid.value = 1
        payload.value = int(v)
        while True:
            await ReadOnly()
            taken = int(ready.value)
            await FallingEdge(dut.clk)
            if taken:
                break
    valid.value = 0


@cocotb.test()
async def run_vectors(dut):
    spec = json.loads(open(cocotb.plusargs["vectors_file"]).read())
    rng = random.Random(int(cocotb.plusargs.get("stall_seed", "1")))
    stall, per = float(spec.get("stall", 0.0)), int(spec["results"])
    width = len(dut.y_out__payload)
    dut.rst.value = 1
    for port in ("w_in", "x_in"):
        getattr(dut, f"{port}__valid").value = 0
    dut.y_out__ready.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await send(dut, "w_in", spec["words"], rng, stall)
    out = []
    for x in spec["vectors"]:
        await send(dut, "x_in", [v & ((1 << len(dut.x_in__payload)) - 1) for v in x], rng, stall)
        ys, cycles = [], 0
        while len(ys) < per:
            rdy = int(rng.random() >= stall)
            dut.y_out__ready.value = rdy
            await ReadOnly()
            if rdy and int(dut.y_out__valid.value):
                v = int(dut.y_out__payload.value)
                ys.append(v - (1 << width) if v >> (width - 1) else v)
            await FallingEdge(dut.clk)
            cycles += 1
        dut.y_out__ready.value = 0
        out.append({"y": ys, "cycles": cycles})
        while int(dut.busy.value):
            await FallingEdge(dut.clk)
    with open(cocotb.plusargs["result_file"], "w") as f:
        json.dump(out, f)
