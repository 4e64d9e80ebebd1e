"""Drive a blocked stream layer (the block-circulant or the dense one) on the Amaranth
simulator: load its weight words through the write port, stream input blocks with random
gaps, take output blocks under random back-pressure, and record every transfer's cycle."""
import numpy as np
from amaranth.sim import Simulator


def run_stream_layer(dut, words, blocks, n_out: int, *, p_valid: float = 1.0,
                     p_ready: float = 1.0, seed: int = 0, max_cycles: int):
    """``words`` (weight words, word length), ``blocks`` (input blocks, k); returns the
    ``n_out`` output blocks (n_out, k), the input transfer cycles and the output transfer
    cycles. Cycle 0 is the first cycle after the weights are loaded."""
    words = np.asarray(words, dtype=np.int64)
    blocks = np.asarray(blocks, dtype=np.int64)
    k = blocks.shape[1]
    rng = np.random.default_rng(seed)
    got, t_in, t_out = [], [], []

    async def bench(ctx):
        for a, word in enumerate(words):
            ctx.set(dut.w_we, 1)
            ctx.set(dut.w_addr, a)
            for t, v in enumerate(word):
                ctx.set(dut.w_data[t], int(v))
            await ctx.tick()
        ctx.set(dut.w_we, 0)
        b = cycle = 0
        while len(got) < n_out:
            assert cycle < max_cycles, \
                f"{len(got)} of {n_out} output blocks after {cycle} cycles (seed {seed})"
            val = b < len(blocks) and rng.random() < p_valid
            ctx.set(dut.x.valid, val)
            if val:
                for t in range(k):
                    ctx.set(dut.x.payload[t], int(blocks[b, t]))
            rdy = rng.random() < p_ready
            ctx.set(dut.y.ready, rdy)
            if val and ctx.get(dut.x.ready):
                t_in.append(cycle)
                b += 1
            if rdy and ctx.get(dut.y.valid):
                got.append([ctx.get(dut.y.payload[t]) for t in range(k)])
                t_out.append(cycle)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.int64).reshape(n_out, k), t_in, t_out
