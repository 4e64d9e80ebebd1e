"""cocotb test for the generated block-circulant layer on streaming FFTs
(`CirculantSdfLayer`).

The JSON file named by `HWGEN_CIRC_SDF_IN` holds ``weights`` (packed spectrum words, one
per weight address), ``samples`` (input samples as unsigned words, the vectors one after
the other), ``outputs`` (how many output samples to collect), and ``p_valid`` /
``p_ready`` / ``seed`` for the random gaps in the input stream and the random back-pressure
on the output stream. The weights go in through the loader (a word is taken in a cycle
where ``w_ready`` is high), then the samples stream in. Every output sample, and the cycle
of every input and output transfer, goes to the JSON file named by `HWGEN_CIRC_SDF_OUT`.
"""
import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

CLOCK_PERIOD_NS = 10
TIMEOUT_CYCLES = 400_000


@cocotb.test()
async def run_layer(dut):
    with open(os.environ["HWGEN_CIRC_SDF_IN"]) as f:
        job = json.load(f)
    rng = random.Random(job["seed"])
    dut.rst.value = 1
    dut.x__valid.value = 0
    dut.y__ready.value = 0
    dut.w_we.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for addr, word in enumerate(job["weights"]):
        dut.w_we.value = 1
        dut.w_addr.value = addr
        dut.w_data.value = word
        while True:
            # w_ready is a register: stable for the whole low phase
            taken = int(dut.w_ready.value)
            await FallingEdge(dut.clk)
            if taken:
                break
    dut.w_we.value = 0
    while not int(dut.w_ready.value):
        await FallingEdge(dut.clk)

    samples, want = job["samples"], job["outputs"]
    outs, in_cycles, out_cycles = [], [], []
    sent = 0
    cycle = 0
    while len(outs) < want:
        assert cycle < TIMEOUT_CYCLES, f"{len(outs)} of {want} outputs after {cycle} cycles"
        # x.ready and y.valid depend on registers only: stable for the whole low phase
        if sent < len(samples) and rng.random() < job["p_valid"]:
            dut.x__valid.value = 1
            dut.x__payload.value = samples[sent]
            if int(dut.x__ready.value):
                in_cycles.append(cycle)
                sent += 1
        else:
            dut.x__valid.value = 0
        ready = rng.random() < job["p_ready"]
        dut.y__ready.value = int(ready)
        if ready and int(dut.y__valid.value):
            outs.append(dut.y__payload.value.to_unsigned())
            out_cycles.append(cycle)
        await FallingEdge(dut.clk)
        cycle += 1
    # nothing more leaves after the last expected output
    dut.x__valid.value = 0
    dut.y__ready.value = 1
    for _ in range(int(job["quiet_cycles"])):
        assert not int(dut.y__valid.value), "an output beat beyond the expected ones"
        await FallingEdge(dut.clk)
    path = os.environ["HWGEN_CIRC_SDF_OUT"]
    with open(f"{path}.tmp", "w") as f:
        json.dump({"outputs": outs, "in_cycles": in_cycles, "out_cycles": out_cycles}, f)
    os.replace(f"{path}.tmp", path)
