"""cocotb test that streams samples through a generated streaming (single-path delay
feedback) FFT, `CirculantFftSdf`.

The JSON file named by `HWGEN_CIRC_VECTORS` holds ``re`` and ``im`` (unsigned sample words
in the order they enter, already bit-reversed within each frame) and ``gaps`` (one 0/1 per
cycle: 1 leaves ``i_valid`` low that cycle). Every ``(o_re, o_im)`` seen with ``o_valid``
goes to the JSON file named by `HWGEN_CIRC_RESULT`.
"""
import json
import os

import cocotb
from cocotb.triggers import FallingEdge

from sim_tb.fft_tb import load_and_reset


@cocotb.test()
async def run_samples(dut):
    vec = await load_and_reset(dut)
    has_im = "im" in vec
    out = []
    sent = cycle = 0
    while sent < len(vec["re"]):
        # o_valid and the outputs are registered: stable for the whole low phase
        if int(dut.o_valid.value):
            out.append([dut.o_re.value.to_unsigned(), dut.o_im.value.to_unsigned()])
        gap = vec["gaps"][cycle % len(vec["gaps"])]
        dut.i_valid.value = 0 if gap else 1
        if not gap:
            dut.i_re.value = vec["re"][sent]
            if has_im:
                dut.i_im.value = vec["im"][sent]
            sent += 1
        await FallingEdge(dut.clk)
        cycle += 1
    if int(dut.o_valid.value):
        out.append([dut.o_re.value.to_unsigned(), dut.o_im.value.to_unsigned()])
    path = os.environ["HWGEN_CIRC_RESULT"]
    with open(f"{path}.tmp", "w") as f:
        json.dump(out, f)
    os.replace(f"{path}.tmp", path)
