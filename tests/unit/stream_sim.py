"""Drive a blocked stream layer (the block-circulant or the dense one) on the Amaranth
simulator: load its weight words through the write port, stream input blocks with random
gaps, take output blocks under random back-pressure, and record every transfer's cycle."""
import numpy as np
from amaranth.sim import Simulator


async def stream_beats(ctx, dut, beats, n_out: int, rng, *, p_valid: float, p_ready: float,
                       max_cycles: int, put, take, what: str, seed):
    """Offer ``beats`` on ``x`` (``put(ctx, beat)`` sets the payload) with random gaps and
    take ``n_out`` beats from ``y`` (``take(ctx)`` reads one) under random back-pressure,
    one draw each per cycle from ``rng``. Returns the beats taken and the cycles of every
    input and output transfer, counted from the call."""
    got, t_in, t_out = [], [], []
    b = cycle = 0
    while len(got) < n_out:
        assert cycle < max_cycles, \
            f"{len(got)} of {n_out} {what} after {cycle} cycles (seed {seed})"
        val = b < len(beats) and rng.random() < p_valid
        ctx.set(dut.x.valid, val)
        if val:
            put(ctx, beats[b])
        rdy = rng.random() < p_ready
        ctx.set(dut.y.ready, rdy)
        if val and ctx.get(dut.x.ready):
            t_in.append(cycle)
            b += 1
        if rdy and ctx.get(dut.y.valid):
            got.append(take(ctx))
            t_out.append(cycle)
        await ctx.tick()
        cycle += 1
    return got, t_in, t_out


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
        def put(ctx, beat):
            for t in range(k):
                ctx.set(dut.x.payload[t], int(beat[t]))

        def take(ctx):
            return [ctx.get(dut.y.payload[t]) for t in range(k)]

        out = await stream_beats(ctx, dut, blocks, n_out, rng, p_valid=p_valid,
                                 p_ready=p_ready, max_cycles=max_cycles, put=put, take=take,
                                 what="output blocks", seed=seed)
        for mine, theirs in zip((got, t_in, t_out), out):
            mine.extend(theirs)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.int64).reshape(n_out, k), t_in, t_out
