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

import cocotb
from cocotb.triggers import FallingEdge

from sim_tb.fft_tb import load_weights, start_layer, stream_through, write_results

TIMEOUT_CYCLES = 400_000


@cocotb.test()
async def run_layer(dut):
    job, rng = await start_layer(dut, "HWGEN_CIRC_SDF_IN")
    await load_weights(dut, job["weights"], handshake=True)

    outs, in_cycles, out_cycles = await stream_through(
        dut, job["samples"], job["outputs"], rng, job["p_valid"], job["p_ready"],
        TIMEOUT_CYCLES)
    # nothing more leaves after the last expected output
    dut.x__valid.value = 0
    dut.y__ready.value = 1
    for _ in range(int(job["quiet_cycles"])):
        assert not int(dut.y__valid.value), "an output beat beyond the expected ones"
        await FallingEdge(dut.clk)
    write_results("HWGEN_CIRC_SDF_OUT", outs, in_cycles, out_cycles)
