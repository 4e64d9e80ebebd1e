"""Start-up and stream driving shared by the cocotb FFT and block-circulant layer
testbenches."""
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


async def start_layer(dut):
    """Clock started, stream and weight-port inputs idle, reset released on a falling edge."""
    dut.rst.value = 1
    dut.x__valid.value = 0
    dut.y__ready.value = 0
    dut.w_we.value = 0
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def stream_through(dut, beats: list, want: int, rng, p_valid: float, p_ready: float,
                         timeout_cycles: int):
    """Offer ``beats`` on ``x`` with random gaps and take ``want`` beats from ``y`` under
    random back-pressure, one decision per cycle on the falling edge (``x.ready`` and
    ``y.valid`` are registers, stable for the whole low phase). Returns the output words
    and the cycle of every input and output transfer."""
    outs, in_cycles, out_cycles = [], [], []
    sent = 0
    cycle = 0
    while len(outs) < want:
        assert cycle < timeout_cycles, f"{len(outs)} of {want} output beats after {cycle} cycles"
        if sent < len(beats) and rng.random() < p_valid:
            dut.x__valid.value = 1
            dut.x__payload.value = beats[sent]
            if int(dut.x__ready.value):
                in_cycles.append(cycle)
                sent += 1
        else:
            dut.x__valid.value = 0
        ready = rng.random() < p_ready
        dut.y__ready.value = int(ready)
        if ready and int(dut.y__valid.value):
            outs.append(dut.y__payload.value.to_unsigned())
            out_cycles.append(cycle)
        await FallingEdge(dut.clk)
        cycle += 1
    return outs, in_cycles, out_cycles


def write_results(env: str, outs, in_cycles, out_cycles) -> None:
    """The transfers as JSON into the file named by environment variable ``env`` (written
    whole, then renamed, so a half-written file is never read)."""
    path = os.environ[env]
    with open(f"{path}.tmp", "w") as f:
        json.dump({"outputs": outs, "in_cycles": in_cycles, "out_cycles": out_cycles}, f)
    os.replace(f"{path}.tmp", path)
