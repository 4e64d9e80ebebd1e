"""The block-circulant LSTM cell (``hwgen_lstm``), as ``hwgen generate`` writes it, on
the Amaranth simulator and on Icarus or Verilator through cocotb
(``sim_tb/test_circulant_lstm.py``)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.models.circulant_lstm import pack_words, step_codes
from hwgen.units import LSTM_TOP_NAME
from hwgen.units.circulant_lstm import CirculantLstm, lstm_top

from .amaranth_sim import simulate
from .runner import run_unit


def lstm_verilog(cfg, name: str = LSTM_TOP_NAME) -> str:
    """The cell's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(lstm_top(cfg), name)


def _steps(cfg, seqs) -> list[list[int]]:
    return [step for x in seqs for step in step_codes(cfg, x)]


def run_lstm_amaranth(cfg, wx, wh, bias, seqs, *, p_valid: float = 1.0,
                      p_ready: float = 1.0, seed: int = 0, max_cycles: int = 2_000_000):
    """Load the weights, then send the sequences ``seqs`` (N, T, D) of input codes
    through :class:`CirculantLstm` on the Amaranth simulator with random gaps on both
    input streams and back-pressure on the results. Returns the hidden states (N, T, H)
    and, per step, the cycles from its last input code to its last result."""
    dut = CirculantLstm(cfg)
    rng = random.Random(seed)
    words = pack_words(cfg, wx, wh, bias)
    H = cfg.hidden_size
    got, spans = [], []

    async def send(ctx, port, values, cycle):
        for v in values:
            while rng.random() >= p_valid:
                ctx.set(port.valid, 0)
                await ctx.tick()
                cycle += 1
            ctx.set(port.valid, 1)
            ctx.set(port.payload.as_value() if hasattr(port.payload, "as_value")
                    else port.payload, int(v))
            while True:
                taken = ctx.get(port.ready)
                await ctx.tick()
                cycle += 1
                if taken:
                    break
        ctx.set(port.valid, 0)
        return cycle

    async def bench(ctx):
        cycle = await send(ctx, dut.w_in, words, 0)
        for step in _steps(cfg, seqs):
            cycle = await send(ctx, dut.x_in, step, cycle)
            last_in = cycle - 1
            out = []
            while len(out) < H:
                assert cycle < max_cycles, f"{len(got)} steps after {cycle} cycles (seed {seed})"
                rdy = rng.random() < p_ready
                ctx.set(dut.y_out.ready, rdy)
                if rdy and ctx.get(dut.y_out.valid):
                    out.append(ctx.get(dut.y_out.payload))
                    if len(out) == H:
                        spans.append(cycle - last_in)
                await ctx.tick()
                cycle += 1
            ctx.set(dut.y_out.ready, 0)
            got.append(out)
            while ctx.get(dut.busy):
                await ctx.tick()
                cycle += 1

    simulate(dut, bench)
    n, t = len(seqs), (len(seqs[0]) if len(seqs) else 0)
    return np.array(got, dtype=np.int64).reshape(n, t, H), spans


def run_lstm_rtl(cfg, wx, wh, bias, seqs, sim: str, work: Path, seed: int,
                 stall: float = 0.25):
    """The same on the generated Verilog; returns the hidden states (N, T, H) and each
    step's cycles from its last input code to its last result."""
    work = Path(work)
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({
        "words": pack_words(cfg, wx, wh, bias), "stall": stall,
        "results": cfg.hidden_size, "vectors": _steps(cfg, seqs)}))
    result = work / "result.json"
    run_unit(lstm_verilog(cfg), LSTM_TOP_NAME, "sim_tb.test_circulant_lstm", work, sim=sim,
             seed=seed, plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                                  f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    n, t = len(seqs), (len(seqs[0]) if len(seqs) else 0)
    return (np.array([r["y"] for r in got], dtype=np.int64).reshape(n, t, cfg.hidden_size),
            [r["cycles"] for r in got])
