"""The Amaranth simulator harness: one place for the clock, the testbench loop and the
stream drivers that the unit tests, the CLI (``hwgen sim --sim amaranth``) and the
benchmarks use.

* :func:`simulate` runs testbenches on a component with a clock (and a VCD on request).
* :func:`run_program_amaranth` runs a host program on the accelerator: cycle 0 is the
  cycle the first command is offered; ``cycles`` is the first cycle at which every result
  beat has been accepted and the accelerator is idle, the same definition as the Verilog
  testbench (``sim_tb/hdl/hwgen_tb.sv``). Random back-pressure on every stream.
* :func:`run_block_unit` drives a block unit (one block per cycle in, a fixed latency).
* :func:`stream_beats` / :func:`run_stream_layer` drive a blocked stream layer through
  its weight port and its ``x`` / ``y`` streams with random gaps and back-pressure.
* :func:`run_weights_then_items` drives a unit with a weight stream, an input stream and
  a result stream (pattern convolution, LSTM cell) one item at a time.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from hwgen.config import AcceleratorConfig
from hwgen.lib import progress
from hwgen.top import Accelerator

#: The simulator's clock period; only cycle counts matter.
PERIOD = 1e-8


def simulate(dut, *benches, processes=(), vcd: str | None = None,
             period: float | None = PERIOD, run: bool = True) -> Simulator:
    """A simulator for ``dut`` with a clock on ``sync`` (none when ``period`` is None,
    for purely combinational designs) and ``benches`` (async testbench functions) and
    ``processes`` added; run to completion unless ``run`` is False (then the caller
    drives it with ``run_until``). ``vcd`` names a waveform file."""
    sim = Simulator(dut)
    if period is not None:
        sim.add_clock(period)
    for bench in benches:
        sim.add_testbench(bench)
    for process in processes:
        sim.add_process(process)
    if run:
        if vcd:
            with sim.write_vcd(vcd):
                sim.run()
        else:
            sim.run()
    return sim


# ---------------------------------------------------------------------- the accelerator


@dataclass
class AmaranthResult:
    dout: list
    cycles: int
    compute_cycles: int
    timed_out: bool
    cmd_cycles: list = None   # cycle each command was accepted
    beat_cycles: list = None  # cycle each result beat was accepted


def run_program_amaranth(cfg: AcceleratorConfig, cmds: list[int], din: list[int],
                         n_dout: int, *, seed: int = 1, stall_pct: int = 0,
                         max_cycles: int = 200_000, vcd: str | None = None) -> AmaranthResult:
    """Run a host program (command words, ``din`` beats, ``n_dout`` result beats
    expected) on the accelerator of ``cfg``."""
    dut = Accelerator(cfg)
    rng = random.Random(seed)
    res = AmaranthResult([], 0, 0, False, [], [])
    shown = progress.current()  # the cycles so far, on the command's status line

    async def bench(ctx):
        ci = di = 0
        cyc = 0
        cmd_v = din_v = False
        while True:
            # Sources hold valid and payload until the transfer (stream rules).
            if not cmd_v and ci < len(cmds):
                cmd_v = rng.randrange(100) >= stall_pct
            if not din_v and di < len(din):
                din_v = rng.randrange(100) >= stall_pct
            ready = rng.randrange(100) >= stall_pct
            ctx.set(dut.cmd.valid, cmd_v)
            ctx.set(dut.cmd.payload, cmds[ci] if ci < len(cmds) else 0)
            ctx.set(dut.din.valid, din_v)
            ctx.set(dut.din.payload.as_value(), din[di] if di < len(din) else 0)
            ctx.set(dut.dout.ready, ready)
            if (ci == len(cmds) and len(res.dout) == n_dout and not ctx.get(dut.busy)):
                break
            if cmd_v and ctx.get(dut.cmd.ready):
                ci += 1
                cmd_v = False
                res.cmd_cycles.append(cyc)
            if din_v and ctx.get(dut.din.ready):
                di += 1
                din_v = False
            if ready and ctx.get(dut.dout.valid):
                res.dout.append(ctx.get(dut.dout.payload.as_value()))
                res.beat_cycles.append(cyc)
            await ctx.tick()
            cyc += 1
            if not cyc & 1023:
                shown.detail(f"simulated {cyc:,} cycles, {len(res.dout)} of {n_dout} result "
                             "beats")
            if cyc >= max_cycles:
                res.timed_out = True
                break
        res.cycles = cyc
        res.compute_cycles = ctx.get(dut.compute_cycles)

    simulate(dut, bench, vcd=vcd)
    return res


# ---------------------------------------------------------------------- block units


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

    simulate(dut, bench)
    return np.array(got), np.array(t_out) - np.array(t_in)


# ---------------------------------------------------------------------- stream layers


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

    simulate(dut, bench)
    return np.array(got, dtype=np.int64).reshape(n_out, k), t_in, t_out


# ------------------------------------------------------ units with a weight stream


def run_weights_then_items(dut, words, items, per_item: int, *, p_valid: float = 1.0,
                           p_ready: float = 1.0, seed: int = 0, max_cycles: int = 2_000_000,
                           what: str = "items"):
    """A unit with stream ports ``w_in`` (weight words), ``x_in`` (an item's input
    codes), ``y_out`` (its results) and a ``busy`` flag: send ``words``, then each item
    of ``items`` (a sequence of input codes) in turn, taking its ``per_item`` results
    under random back-pressure and waiting for ``busy`` to fall before the next one;
    random gaps on both input streams. Returns the results (one list per item) and, per
    item, the cycles from its last input transfer to its last result."""
    rng = random.Random(seed)
    got, spans = [], []

    async def send(ctx, port, values, cycle, name):
        for v in values:
            while rng.random() >= p_valid:
                ctx.set(port.valid, 0)
                await ctx.tick()
                cycle += 1
            ctx.set(port.valid, 1)
            ctx.set(port.payload.as_value() if hasattr(port.payload, "as_value")
                    else port.payload, int(v))
            while True:
                assert cycle < max_cycles, f"{name} not taken after {cycle} cycles (seed {seed})"
                taken = ctx.get(port.ready)
                await ctx.tick()
                cycle += 1
                if taken:
                    break
        ctx.set(port.valid, 0)
        return cycle

    async def bench(ctx):
        cycle = await send(ctx, dut.w_in, words, 0, "a weight word")
        for item in items:
            cycle = await send(ctx, dut.x_in, item, cycle, f"input of item {len(got)}")
            last_in = cycle - 1
            out = []
            while len(out) < per_item:
                assert cycle < max_cycles, f"{len(got)} {what} after {cycle} cycles (seed {seed})"
                rdy = rng.random() < p_ready
                ctx.set(dut.y_out.ready, rdy)
                if rdy and ctx.get(dut.y_out.valid):
                    out.append(ctx.get(dut.y_out.payload))
                    if len(out) == per_item:
                        spans.append(cycle - last_in)
                await ctx.tick()
                cycle += 1
            ctx.set(dut.y_out.ready, 0)
            got.append(out)
            while ctx.get(dut.busy):
                assert cycle < max_cycles, f"still busy after {cycle} cycles (seed {seed})"
                await ctx.tick()
                cycle += 1

    simulate(dut, bench)
    return got, spans


# ---------------------------------------------------------------------- sources


def take_beats(dut, port: str, n: int, *, p_ready: float = 1.0, seed: int = 0,
               max_cycles: int | None = None, vcd: str | None = None):
    """Take ``n`` beats from the output stream ``dut.<port>`` of a free-running source,
    holding ready low at random (probability 1 - ``p_ready`` per cycle). Returns the
    payloads (as the simulator gives them: an int, or a list for an array layout) and
    the cycle of every transfer, counted from reset."""
    out = getattr(dut, port)
    rng = random.Random(seed)
    got, cycles = [], []
    limit = max_cycles if max_cycles is not None else 64 + int(4 * n / max(p_ready, 0.05))

    async def bench(ctx):
        cycle = 0
        while len(got) < n:
            assert cycle < limit, f"{len(got)} of {n} beats after {cycle} cycles (seed {seed})"
            rdy = rng.random() < p_ready
            ctx.set(out.ready, rdy)
            if rdy and ctx.get(out.valid):
                got.append(ctx.get(out.payload))
                cycles.append(cycle)
            await ctx.tick()
            cycle += 1

    simulate(dut, bench, vcd=vcd)
    return got, cycles
