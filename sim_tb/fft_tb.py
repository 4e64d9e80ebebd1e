"""Start-up shared by the cocotb FFT testbenches (parallel and streaming)."""
import json
import os

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

CLOCK_PERIOD_NS = 10


async def load_and_reset(dut) -> dict:
    """The vectors named by `HWGEN_CIRC_VECTORS`; the clock started and reset released on
    a falling edge, with ``i_valid`` low."""
    with open(os.environ["HWGEN_CIRC_VECTORS"]) as f:
        vec = json.load(f)
    dut.rst.value = 1
    dut.i_valid.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    return vec
