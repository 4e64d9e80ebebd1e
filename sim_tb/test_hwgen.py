"""cocotb test that runs one host program through the `hwgen_tb` wrapper.

The wrapper feeds the streams and captures the results itself; this test only drives the
clock and reset, waits for `done` and records the counters. The result file is named by the
`+result_file=` plusarg or, failing that, the `HWGEN_SIM_RESULT` environment variable.
With `+progress_file=PATH`, the cycles simulated so far are written there every
`+progress_every=` cycles (at most twice a second), for the progress line.
"""
import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

CLOCK_PERIOD_NS = 10
RESET_CYCLES = 4


def _result_path() -> str:
    path = cocotb.plusargs.get("result_file") or os.environ.get("HWGEN_SIM_RESULT")
    if not path or path is True:
        raise RuntimeError("no result file: pass +result_file=PATH or set HWGEN_SIM_RESULT")
    return str(path)


async def _report_progress(dut, path: str, every: int) -> None:
    """Write the wrapper's cycle counter to ``path`` every ``every`` cycles (one timer,
    no per-cycle callback), at most twice a second."""
    last = 0.0
    while True:
        await Timer(every * CLOCK_PERIOD_NS, unit="ns")
        now = time.monotonic()
        if now - last >= 0.5:
            last = now
            tmp = f"{path}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{int(dut.cycles.value)}\n")
            os.replace(tmp, path)


@cocotb.test()
async def run_program(dut):
    path = _result_path()
    progress = cocotb.plusargs.get("progress_file")
    if progress and progress is not True:
        every = int(cocotb.plusargs.get("progress_every") or 1 << 15)
        cocotb.start_soon(_report_progress(dut, str(progress), max(every, 1)))
    dut.rst.value = 1
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, RESET_CYCLES)
    # Release reset between edges so every simulator sees the same first active edge.
    await FallingEdge(dut.clk)
    dut.rst.value = 0

    await RisingEdge(dut.done)
    # Let the rest of that edge's updates settle before sampling the counters.
    await ReadOnly()

    result = {
        "cycles": int(dut.cycles.value),
        "compute_cycles": int(dut.compute_cycles.value),
        "compute_busy_cycles": int(dut.compute_busy_cycles.value),
        "timeout": bool(int(dut.timeout.value)),
        "cmd_taken": int(dut.cmd_taken.value),
        "din_taken": int(dut.din_taken.value),
        "dout_taken": int(dut.dout_taken.value),
        "error_seen": bool(int(dut.error_seen.value)),
    }
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, path)
