"""The board core on the Amaranth simulator, driven over its serial pins.

* :class:`SimBoardTransport` is a :class:`hwgen.host.driver.BoardLink` transport backed by
  the board core: ``write`` queues bytes that a testbench shifts into the core's ``rx``
  pin (8N1); another testbench samples ``tx`` and queues what it decodes for ``read``.
  The simulator only advances inside ``read``. Time is simulated: the clock is taken to
  run at ``divisor x baud``, so a driver timeout of t seconds is ``t x divisor x baud``
  cycles (about 0.46 million cycles per second at divisor 4 and 115 200 baud).
* :func:`send_serial`, :func:`recv_serial`, :func:`recv_frame` drive and sample a serial
  line bit by bit from a testbench; the framing is :mod:`sim_tb.uart_model`'s, shared
  with the cocotb testbench.
"""
from __future__ import annotations

import math
from collections import deque

from hwgen.board import BoardCore
from hwgen.emit import design_top

from .amaranth_sim import simulate
from .uart_model import decode_frame, frame_bits, sample_delays

DIV = 5


async def wait(ctx, n):
    if n > 0:
        await ctx.tick().repeat(n)


line_bits = frame_bits


async def send_serial(ctx, line, data, div=DIV, gap=0, bad_stop=()):
    for n, byte in enumerate(data):
        for bit in frame_bits(byte, n not in bad_stop):
            ctx.set(line, bit)
            await ctx.tick().repeat(div)
        ctx.set(line, 1)
        await wait(ctx, gap + (div if n in bad_stop else 0))


async def recv_frame(ctx, line, div):
    """Sample one frame whose start bit has just begun; returns its byte."""
    bits = []
    for delay in sample_delays(div):
        await ctx.tick().repeat(delay)
        bits.append(ctx.get(line))
    return decode_frame(bits)


async def recv_serial(ctx, line, n, div=DIV, timeout=100_000):
    """Sample a serial line in the middle of each bit; returns n bytes."""
    out = []
    waited = 0
    while len(out) < n:
        while ctx.get(line) == 1:
            await ctx.tick()
            waited += 1
            assert waited < timeout, f"timed out after {len(out)} of {n} bytes"
        out.append(await recv_frame(ctx, line, div))
    return out


PERIOD = 1e-8  # the simulator's clock period; only the cycle count matters
IDLE_WAKE = 100  # bit times between checks for close() on an idle line


class SimBoardTransport:
    def __init__(self, cfg, *, divisor=4, baud=115_200, fifo_bytes=512, connected=True):
        # a multi-pod or heterogeneous design: its pods (engines) behind the bridge's ports
        top = design_top(cfg) if cfg.subaccelerators or (cfg.pods is not None
                                                         and cfg.pods.count > 1) else None
        self.dut = BoardCore(cfg, divisor, heartbeat_bit=4, fifo_bytes=fifo_bytes, top=top)
        self.divisor, self.cycles_per_s = divisor, divisor * baud
        self.connected = connected  # False: written bytes are lost (a dead link)
        self.to_board, self.from_board = deque(), deque()
        self.cycles = 0
        self._stop = False
        self.bytes_in = self.bytes_out = 0
        self.sim = simulate(self.dut, self._drive_rx, self._sample_tx, period=PERIOD,
                            run=False)

    async def _drive_rx(self, ctx):
        div, rx = self.divisor, self.dut.rx
        while not self._stop:
            if not self.to_board:
                await ctx.tick().repeat(div)
                continue
            byte = self.to_board.popleft()
            for bit in frame_bits(byte):
                ctx.set(rx, bit)
                await ctx.tick().repeat(div)

    async def _sample_tx(self, ctx):
        div, tx = self.divisor, self.dut.tx
        while not self._stop:
            if ctx.get(tx):
                # Wake now and then so that close() can end this testbench.
                await ctx.negedge(tx).delay(IDLE_WAKE * div * PERIOD)
                continue
            byte = await recv_frame(ctx, tx, div)
            self.from_board.append(byte)

    def _advance(self, cycles):
        self.cycles += cycles
        self.sim.run_until(self.cycles * PERIOD)

    def close(self) -> None:
        """Let both testbenches finish (an unfinished one warns when collected)."""
        if not self._stop:
            self._stop = True
            self._advance((IDLE_WAKE + 20) * self.divisor)

    # ---- the transport interface ----------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.connected:
            self.to_board.extend(data)

    def read(self, n: int, timeout: float) -> bytes:
        deadline = self.cycles + math.ceil(timeout * self.cycles_per_s)
        step = 10 * self.divisor  # one byte time
        while not self.from_board and self.cycles < deadline:
            self._advance(min(step, deadline - self.cycles))
        out = bytes(self.from_board.popleft() for _ in range(min(n, len(self.from_board))))
        self.bytes_out += len(out)
        return out
