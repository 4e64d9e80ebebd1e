"""Start-up and stream driving shared by the cocotb FFT and block-circulant layer
testbenches."""
import json
import os
import random

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

CLOCK_PERIOD_NS = 10


def read_job(env: str) -> dict:
    """The JSON file named by environment variable ``env``."""
    with open(os.environ[env]) as f:
        return json.load(f)


async def start(dut, idle: dict[str, int]) -> None:
    """Clock started; reset held for three cycles with the inputs named in ``idle`` at
    their idle values, then released on a falling edge."""
    dut.rst.value = 1
    for name, value in idle.items():
        getattr(dut, name).value = value
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def load_and_reset(dut) -> dict:
    """The vectors named by `HWGEN_CIRC_VECTORS`, after :func:`start` with ``i_valid``
    low."""
    vec = read_job("HWGEN_CIRC_VECTORS")
    await start(dut, {"i_valid": 0})
    return vec


async def start_layer(dut, env: str) -> tuple[dict, random.Random]:
    """The job named by ``env`` and a random generator seeded with its ``seed``, after
    :func:`start` with the stream and weight-port inputs idle."""
    job = read_job(env)
    await start(dut, {"x__valid": 0, "y__ready": 0, "w_we": 0})
    return job, random.Random(job["seed"])


async def load_weights(dut, words: list, handshake: bool = False) -> None:
    """Write ``words`` to weight addresses 0, 1, ... through ``w_we``/``w_addr``/``w_data``,
    one per falling edge; with ``handshake`` a word is taken only in a cycle where the
    registered ``w_ready`` is high, and the loader is left idle (``w_ready`` high)."""
    for addr, word in enumerate(words):
        dut.w_we.value = 1
        dut.w_addr.value = addr
        dut.w_data.value = word
        while True:
            # w_ready is a register: stable for the whole low phase
            taken = not handshake or int(dut.w_ready.value)
            await FallingEdge(dut.clk)
            if taken:
                break
    dut.w_we.value = 0
    while handshake and not int(dut.w_ready.value):
        await FallingEdge(dut.clk)


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
