"""cocotb test that streams blocks through a generated block FFT unit with a fixed
latency and one block per cycle (`RealFftParallel`, `RealIfftParallel`).

The JSON file named by `HWGEN_CIRC_VECTORS` holds ``in_port`` and ``out_port`` (the
unit's input and output block ports), ``blocks`` (one packed unsigned word per block,
element 0 in the low bits) and ``gaps`` (one 0/1 per cycle, repeated: 1 leaves
``i_valid`` low that cycle). The JSON file named by `HWGEN_CIRC_RESULT` receives
``outputs`` (every output word seen with ``o_valid``) and the cycles at which each block
entered and each result was seen.
"""
import cocotb
from cocotb.triggers import FallingEdge

from sim_tb.fft_tb import load_and_reset, write_results

DRAIN_CYCLES = 16  # more than the deepest pipeline (log2 64 stages)


@cocotb.test()
async def run_blocks(dut):
    vec = await load_and_reset(dut)
    blocks, gaps = vec["blocks"], vec["gaps"]
    port_in, port_out = getattr(dut, vec["in_port"]), getattr(dut, vec["out_port"])
    out, in_cycles, out_cycles = [], [], []
    sent = cycle = idle = 0
    while idle < DRAIN_CYCLES:
        # o_valid and the outputs are registers or follow them: stable in the low phase
        if int(dut.o_valid.value):
            out.append(port_out.value.to_unsigned())
            out_cycles.append(cycle)
        feed = sent < len(blocks) and not gaps[cycle % len(gaps)]
        dut.i_valid.value = int(feed)
        if feed:
            port_in.value = blocks[sent]
            in_cycles.append(cycle)
            sent += 1
        elif sent == len(blocks):
            idle += 1
        await FallingEdge(dut.clk)
        cycle += 1
    write_results("HWGEN_CIRC_RESULT", out, in_cycles, out_cycles)
