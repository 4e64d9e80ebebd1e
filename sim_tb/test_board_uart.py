"""cocotb test: the host driver (``hwgen.host.driver.BoardLink``, unmodified) runs GEMMs on
the generated Verilog of the board core (``hwgen.board.BoardCore``: UART bridge and
accelerator, ``rx`` / ``tx`` as ports) through a model of the serial line.

The driver is blocking code: it runs in a thread started with ``cocotb.task.bridge``, and
its transport's ``read`` waits for the simulator through ``cocotb.task.resume``. Two
cocotb tasks are the far ends of the serial cable: one shifts the bytes the driver wrote
into ``rx``, one bit time (``divisor`` clock cycles) per bit; the other samples ``tx`` in
the middle of each bit and queues the bytes it decodes for ``read``.

Reads the job from the JSON file named by ``+spec_file=``: the config (as
``hwgen.config.loader.config_dict`` gives it), the UART divisor, the driver's window and
timeout, and the GEMM cases (``a``, ``b``, ``quant``). Writes each case's result matrix,
then the final STATUS and the bytes moved, to ``+result_file=``; the comparison with the
golden model is the pytest side's business.
"""
from __future__ import annotations

import json
import math
from collections import deque
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

import numpy as np

from hwgen.compiler import Quant
from hwgen.config import config_from_dict
from hwgen.host.driver import BoardLink
from sim_tb.uart_model import decode_frame, frame_bits, sample_delays

CLOCK_PERIOD_NS = 10
NOMINAL_BAUD = 115_200  # maps the driver's timeouts (seconds) to clock cycles


class CocotbUartTransport:
    """A driver transport (``write`` / ``read(n, timeout)``, like the pyserial one) whose
    far end is the ``rx`` / ``tx`` pins of the simulated design.

    Time is simulated: the clock is taken to run at ``divisor x NOMINAL_BAUD``, so a
    ``read`` timeout of t seconds waits ``t x divisor x NOMINAL_BAUD`` cycles.
    """

    def __init__(self, dut, divisor: int):
        self.dut, self.divisor = dut, divisor
        self.cycles_per_s = divisor * NOMINAL_BAUD
        self.to_board: deque[int] = deque()
        self.from_board: deque[int] = deque()
        self.bytes_in = self.bytes_out = 0
        self._wait_for_bytes = resume(self._wait_for_bytes_async)

    def start(self) -> None:
        cocotb.start_soon(self._drive_rx())
        cocotb.start_soon(self._sample_tx())

    async def _drive_rx(self):
        clk, rx, div = self.dut.clk, self.dut.rx, self.divisor
        rx.value = 1
        while True:
            if not self.to_board:
                await ClockCycles(clk, div)
                continue
            for bit in frame_bits(self.to_board.popleft()):
                rx.value = bit
                await ClockCycles(clk, div)
            rx.value = 1

    async def _sample_tx(self):
        clk, tx = self.dut.clk, self.dut.tx
        while True:
            await FallingEdge(tx)
            bits = []
            for delay in sample_delays(self.divisor):
                await ClockCycles(clk, delay)
                await ReadOnly()
                bits.append(int(tx.value))
            self.from_board.append(decode_frame(bits))

    async def _wait_for_bytes_async(self, cycles: int) -> None:
        step = 10 * self.divisor  # one byte time
        while not self.from_board and cycles > 0:
            await ClockCycles(self.dut.clk, min(step, cycles))
            cycles -= step

    # ---- the transport interface (called from the driver's thread) ---------------------
    def write(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.to_board.extend(data)

    def read(self, n: int, timeout: float) -> bytes:
        if not self.from_board and timeout > 0:
            self._wait_for_bytes(math.ceil(timeout * self.cycles_per_s))
        out = bytes(self.from_board.popleft() for _ in range(min(n, len(self.from_board))))
        self.bytes_out += len(out)
        return out


def run_cases(spec: dict, transport: CocotbUartTransport) -> dict:
    """The host program: blocking driver code, as it would run against a board."""
    cfg = config_from_dict(spec["config"], "spec")
    link = BoardLink(cfg, transport, timeout=spec["timeout_s"], window=spec["window"])
    results = []
    for case in spec["cases"]:
        q = case.get("quant") or {}
        quant = Quant(**{k: tuple(v) if k == "bias" else v for k, v in q.items()})
        got = link.run_gemm(np.array(case["a"]), np.array(case["b"]), quant=quant)
        results.append(got.tolist())
    st = link.status()
    return {"results": results, "status_flags": st.flags, "compute_cycles": st.compute_cycles,
            "bytes_to_board": transport.bytes_in, "bytes_from_board": transport.bytes_out}


@cocotb.test()
async def gemm_over_uart(dut):
    spec = json.loads(Path(cocotb.plusargs["spec_file"]).read_text())
    dut.rst.value = 1
    dut.rx.value = 1
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 4)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)

    transport = CocotbUartTransport(dut, int(spec["divisor"]))
    transport.start()
    out = await bridge(run_cases)(spec, transport)
    out["sim_time_ns"] = cocotb.simtime.get_sim_time("ns")
    Path(cocotb.plusargs["result_file"]).write_text(json.dumps(out))
