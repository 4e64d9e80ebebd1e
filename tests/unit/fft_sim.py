"""Amaranth-simulator driver shared by the tests of the block FFT units (one block per
cycle in, one per cycle out, a fixed latency)."""
import numpy as np
from amaranth.sim import Simulator


def run_block_unit(dut, in_port: str, out_port: str, blocks, seed: int):
    """Feed ``blocks`` (n, k) on ``dut.<in_port>`` with ``i_valid``, leaving random
    one-cycle gaps; collect every ``dut.<out_port>`` seen with ``o_valid``. Returns the
    outputs (n, width) and each block's cycles from input to output."""
    blocks = np.asarray(blocks)
    n, k = blocks.shape
    port_in, port_out = getattr(dut, in_port), getattr(dut, out_port)
    width = port_out.shape().length
    got, t_in, t_out = [], [], []
    rng = np.random.default_rng(seed)

    async def bench(ctx):
        sent = cycle = 0
        while len(got) < n:
            feed = sent < n and rng.random() < 0.75
            ctx.set(dut.i_valid, feed)
            if feed:
                for t in range(k):
                    ctx.set(port_in[t], int(blocks[sent, t]))
                t_in.append(cycle)
                sent += 1
            await ctx.tick()
            cycle += 1
            assert cycle < 3 * n + dut.latency + 8, "outputs missing"
            if ctx.get(dut.o_valid):
                got.append([ctx.get(port_out[w]) for w in range(width)])
                t_out.append(cycle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got), np.array(t_out) - np.array(t_in)
