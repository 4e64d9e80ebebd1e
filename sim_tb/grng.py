"""The Gaussian random number generator (``hwgen_grng``) and the Bayesian layer
(``hwgen_bayesian_layer``), as ``hwgen generate`` writes them, on Icarus or Verilator
through cocotb (``sim_tb/test_grng.py``, ``sim_tb/test_bayesian.py``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.emit import component_verilog
from hwgen.units import BAYESIAN_TOP_NAME, GRNG_TOP_NAME
from hwgen.units.grng import grng_top

from .runner import run_unit


def grng_verilog(cfg, name: str = GRNG_TOP_NAME) -> str:
    """The generator's Verilog, the same text ``hwgen generate`` writes."""
    return component_verilog(grng_top(cfg), name)


def split_codes(words, lanes: int, bits: int) -> np.ndarray:
    """Flat payloads (lane j in bits [j bits, (j+1) bits)) -> (beats, lanes) signed codes."""
    out = np.empty((len(words), lanes), dtype=np.int64)
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    for i, w in enumerate(words):
        for j in range(lanes):
            v = (int(w) >> (j * bits)) & mask
            out[i, j] = v - (1 << bits) if v & sign else v
    return out


def run_grng_rtl(cfg, beats: int, sim: str, work: Path, seed: int, stall: float = 0.3,
                 reset_after: int | None = None):
    """Take ``beats`` beats from the generated generator with ``out__ready`` low at random
    (and a reset after ``reset_after`` beats); returns the codes (beats, lanes) and the
    cycle each beat was taken."""
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({"beats": beats, "stall": stall, "reset_after": reset_after}))
    result = work / "result.json"
    run_unit(grng_verilog(cfg), GRNG_TOP_NAME, "sim_tb.test_grng", work, sim=sim, seed=seed,
             plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                       f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    return split_codes(got["beats"], cfg.lanes, cfg.bits), got["cycles"]


# ---------------------------------------------------------------------- the Bayesian layer


def weight_words(cfg, mu, sigma) -> list[int]:
    """The layer's weight words for (outputs, inputs) codes ``mu`` and ``sigma``: word
    g * inputs + i holds, for lane l, mu then sigma of output g * lanes + l (weight_bits
    each, lane l at bit 2 l weight_bits); lanes past the outputs are zero."""
    wb, L, n = cfg.weight_bits, cfg.lanes, cfg.inputs
    mu, sigma = np.asarray(mu), np.asarray(sigma)
    mask = (1 << wb) - 1
    words = []
    for g in range(cfg.groups):
        for i in range(n):
            w = 0
            for lane in range(L):
                j = g * L + lane
                if j < cfg.outputs:
                    pair = (int(mu[j, i]) & mask) | ((int(sigma[j, i]) & mask) << wb)
                    w |= pair << (2 * wb * lane)
            words.append(w)
    return words


def run_bayesian_amaranth(cfg, mu, sigma, xs, *, p_valid: float = 1.0, p_ready: float = 1.0,
                          seed: int = 0, max_cycles: int = 1_000_000):
    """Load the weights, then send the vectors ``xs`` through :class:`BayesianLayer` on
    the Amaranth simulator with random gaps on the inputs and back-pressure on the
    results. Returns the results (vectors, results_per_vector), per vector the cycles
    from its last input beat to its last result, and the cycles between the first input
    beats of consecutive vectors."""
    import random

    from hwgen.units.bayesian import BayesianLayer

    from .amaranth_sim import simulate
    dut = BayesianLayer(cfg)
    rng = random.Random(seed)
    words = weight_words(cfg, mu, sigma)
    per = cfg.results_per_vector
    got, spans, firsts = [], [], []

    async def bench(ctx):
        cycle = 0
        for w in words:
            ctx.set(dut.w_in.valid, 1)
            ctx.set(dut.w_in.payload.as_value(), w)
            await ctx.tick()
            cycle += 1
        ctx.set(dut.w_in.valid, 0)
        for x in xs:
            k, out, last_in = 0, [], None
            while len(out) < per:
                assert cycle < max_cycles, f"{len(got)} vectors after {cycle} cycles (seed {seed})"
                val = k < len(x) and rng.random() < p_valid
                ctx.set(dut.x_in.valid, val)
                if val:
                    ctx.set(dut.x_in.payload, int(x[k]))
                rdy = rng.random() < p_ready
                ctx.set(dut.y_out.ready, rdy)
                if val and ctx.get(dut.x_in.ready):
                    if k == 0:
                        firsts.append(cycle)
                    k += 1
                    last_in = cycle if k == len(x) else last_in
                if rdy and ctx.get(dut.y_out.valid):
                    out.append(ctx.get(dut.y_out.payload))
                    if len(out) == per:
                        spans.append(cycle - last_in)
                await ctx.tick()
                cycle += 1
            ctx.set(dut.y_out.ready, 0)
            got.append(out)
            while ctx.get(dut.busy):
                await ctx.tick()
                cycle += 1

    simulate(dut, bench)
    return np.array(got, dtype=np.int64), spans, list(np.diff(firsts))


def bayesian_verilog(cfg, name: str = BAYESIAN_TOP_NAME) -> str:
    """The layer's Verilog, the same text ``hwgen generate`` writes."""
    from hwgen.units.bayesian import bayesian_top
    return component_verilog(bayesian_top(cfg), name)


def run_bayesian_rtl(cfg, mu, sigma, xs, sim: str, work: Path, seed: int, stall: float = 0.25):
    """Run the vectors ``xs`` through the generated layer after loading (mu, sigma);
    returns the results (vectors, results_per_vector) and each vector's cycles from its
    last input beat to its last result."""
    vectors = work / "vectors.json"
    vectors.write_text(json.dumps({
        "words": weight_words(cfg, mu, sigma), "stall": stall,
        "results": cfg.results_per_vector,
        "vectors": [[int(v) for v in x] for x in np.asarray(xs)]}))
    result = work / "result.json"
    run_unit(bayesian_verilog(cfg), BAYESIAN_TOP_NAME, "sim_tb.test_bayesian", work, sim=sim,
             seed=seed, plusargs=[f"+vectors_file={vectors}", f"+result_file={result}",
                                  f"+stall_seed={seed}"])
    got = json.loads(result.read_text())
    return np.array([r["y"] for r in got], dtype=np.int64), [r["cycles"] for r in got]


def run_bnn_rtl(qb, x, sim: str, work: Path, seed: int, layers=(1, 2), stall: float = 0.0):
    """A :class:`hwgen.nn.bayesian.QuantBnn` on the generated layers for images ``x``:
    the hidden layer's RTL on the input codes, the host's requantisation of its results,
    the output layer's RTL on every draw's hidden vector. Each generator starts from
    reset, as the model's streams do. Returns what ran: ``y1`` (the hidden layer's
    results, its output order) and ``logits`` (images, draws, outputs); a layer left out
    of ``layers`` takes the model's values instead. The output layer must draw once per
    vector (``samples: 1``), so its results are the logits in order."""
    ref = qb.run(x)
    out = {"model": ref}
    y1 = ref["y1"]
    if 1 in layers:
        (work / "l1").mkdir(parents=True, exist_ok=True)
        y1, _ = run_bayesian_rtl(qb.cfg1, qb.mu1, qb.sigma1, ref["x_codes"], sim, work / "l1",
                                 seed, stall)
    out["y1"] = y1
    # the hidden layer's order (group, draw, lane) back to (image, draw, output)
    cfg1, N = qb.cfg1, qb.cfg1.samples
    V, L, m = len(y1), cfg1.lanes, cfg1.outputs
    draws = np.empty((V, N, m), dtype=np.int64)
    pos = 0
    for g in range(cfg1.groups):
        lo, hi = g * L, min((g + 1) * L, m)
        draws[:, :, lo:hi] = y1[:, pos:pos + N * (hi - lo)].reshape(V, N, hi - lo)
        pos += N * (hi - lo)
    h = qb.hidden_codes(draws).reshape(V * N, m)
    logits = ref["logits"]
    if 2 in layers:
        (work / "l2").mkdir(parents=True, exist_ok=True)
        got, _ = run_bayesian_rtl(qb.cfg2, qb.mu2, qb.sigma2, h, sim, work / "l2", seed, stall)
        logits = got.reshape(V, N, -1)   # one draw per vector: outputs in order
    out["h_codes"] = h.reshape(V, N, m)
    out["logits"] = logits
    return out
