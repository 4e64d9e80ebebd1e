"""cocotb test for the generated block-circulant stream layer (`CirculantStreamLayer`).

The JSON file named by `HWGEN_CIRC_LAYER_IN` holds ``weights`` (packed spectrum words,
one per weight address), ``blocks`` (packed input blocks, the blocks of each vector in
order), ``outputs`` (how many output beats to collect), and ``p_valid`` / ``p_ready`` /
``seed`` for the random gaps in the input stream and the random back-pressure on the
output stream. The weights go in through the write port, then the blocks stream in.
Every output beat, and the cycle of every input and output transfer, goes to the JSON
file named by `HWGEN_CIRC_LAYER_OUT`; the Python side compares them with the model.
"""

import cocotb

from sim_tb.fft_tb import load_weights, start_layer, stream_through, write_results

TIMEOUT_CYCLES = 200_000


@cocotb.test()
async def run_layer(dut):
    job, rng = await start_layer(dut, "HWGEN_CIRC_LAYER_IN")
    await load_weights(dut, job["weights"])

    transfers = await stream_through(dut, job["blocks"], job["outputs"], rng, job["p_valid"],
                                     job["p_ready"], TIMEOUT_CYCLES)
    write_results("HWGEN_CIRC_LAYER_OUT", *transfers)
