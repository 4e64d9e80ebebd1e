"""cocotb test that streams transforms through a generated `circulant_fft` module.

Inputs come from the JSON file named by `HWGEN_CIRC_VECTORS` (``{"re": [...], "im":
[...]}``, packed unsigned words, one per transform); every output word seen with
``o_valid`` high goes to the JSON file named by `HWGEN_CIRC_RESULT`. One transform enters
per cycle; the Python side compares the words with the golden model.
"""
import json
import os

import cocotb
from cocotb.triggers import FallingEdge

from sim_tb.fft_tb import load_and_reset

DRAIN_CYCLES = 16  # more than the deepest pipeline (log2 64 stages)


@cocotb.test()
async def run_transforms(dut):
    vec = await load_and_reset(dut)
    has_im = "im" in vec
    out = []
    for cycle in range(len(vec["re"]) + DRAIN_CYCLES):
        if int(dut.o_valid.value):
            out.append([dut.o_re.value.to_unsigned(), dut.o_im.value.to_unsigned()])
        if cycle < len(vec["re"]):
            dut.i_valid.value = 1
            dut.i_re.value = vec["re"][cycle]
            if has_im:
                dut.i_im.value = vec["im"][cycle]
        else:
            dut.i_valid.value = 0
        await FallingEdge(dut.clk)
    path = os.environ["HWGEN_CIRC_RESULT"]
    with open(f"{path}.tmp", "w") as f:
        json.dump(out, f)
    os.replace(f"{path}.tmp", path)
