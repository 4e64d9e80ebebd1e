"""``hwgen search --verify K``: the best designs a search found, built and checked.

For each of the K best designs: its Verilog (``verify/NAME/hwgen_top.v``), the workload
run on Verilator bit-exact against the golden model with the simulated cycles equal to
the model's (every GEMM with seeded random operands; a network layer by layer on a seeded
image — the built-in ResNet-18 and MobileNetV2 at 3x32x32, whose mappings differ from
224x224 but run on the same hardware), and on the best one the target's flow (``hwgen
asic`` at the target's library and clock, or ``hwgen fpga`` on its board) with the
model's area, clock and power (or resources) beside the measured ones.

Flows layer: it runs the simulators and the flows, so only the command line calls it.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from ..compiler import build_gemm_program
from ..compiler.network import plan_network
from ..emit import cached_verilog
from ..frontend import ZOO, load_model
from ..models.gemm import gemm, random_operands
from ..models.perf import program_timing
from .evaluate import Evaluator, Record


def _sim_gemms(cfg, verilog, gemms, seed) -> dict:
    from sim_tb.runner import run_program
    out = {"bit_exact": True, "cycles_match": True, "runs": []}
    rng = np.random.default_rng(seed)
    for M, K, N in gemms:
        a, b = random_operands(rng, M, K, N, cfg.precision.in_bits)
        prog = build_gemm_program(cfg, M, K, N, a, b)
        want = program_timing(cfg, prog.cmds).cycles
        res = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout,
                          sim="verilator", seed=seed, max_cycles=max(4 * want, 1000))
        ok = not res.timed_out and bool((prog.decode(cfg, res.dout) == gemm(a, b)).all())
        out["runs"].append({"gemm": f"{M}x{K}x{N}", "bit_exact": ok, "cycles": res.cycles,
                            "model_cycles": want})
        out["bit_exact"] &= ok
        out["cycles_match"] &= res.cycles == want
    return out


def _sim_network(cfg, model: str, seed: int) -> dict:
    from sim_tb.network import run_network
    shape = (3, 32, 32) if model in ZOO and model != "digits_cnn" else None
    qnet = load_model(model, shape, precision=cfg)
    x = qnet.quantize_input(np.random.default_rng(seed).normal(size=(1, *qnet.input.shape)))
    env = qnet.run(x)
    plan = plan_network(cfg, qnet)
    res = run_network(plan, env, sim="verilator", max_cycles=200_000_000)
    bad = res.first_wrong()
    return {"input": f"1x{'x'.join(map(str, qnet.input.shape))}", "bit_exact": res.correct,
            "cycles_match": res.cycles_match, "cycles": res.cycles,
            "model_cycles": res.estimate_cycles,
            **({"first_wrong_layer": bad.name} if bad else {})}


def target_flow(cfg, target, out: Path, memories: str = "flops") -> tuple[dict, dict]:
    """``hwgen asic`` at a pdk target's library and clock, or ``hwgen fpga`` on a board
    target, of ``cfg`` into ``out``: the measured figures the cost model predicts, and
    the flow's whole report."""
    if target.kind == "pdk":
        from asic_flow import AsicOptions, run
        rep = run(cfg, AsicOptions(clock_ns=target.clock_ns, pdk=target.name,
                                   memories=memories), out).as_dict()
        return {"area_um2": rep.get("area_um2"), "fmax_mhz": rep.get("fmax_mhz"),
                "power_mw": rep.get("power_mw")}, rep
    import fpga
    rep = fpga.build(cfg, fpga.FpgaOptions(board=target.name), out).as_dict()
    res = rep["resources"]
    return {"luts": res.get("LUT", {}).get("used"), "ffs": res.get("FF", {}).get("used"),
            "dsps": res.get("DSP", {}).get("used"), "brams": res.get("BRAM", {}).get("used"),
            "fmax_mhz": min(rep["fmax_mhz"].values()) if rep["fmax_mhz"] else None}, rep


def _flow(ev: Evaluator, rec: Record, out: Path) -> dict:
    t0 = time.monotonic()
    measured, _ = target_flow(ev.space.config(rec.cand), ev.target, out,
                              rec.metrics.get("memories", "flops"))
    model = {k: rec.metrics.get(k) for k in measured}
    err = {k: round(model[k] / measured[k] - 1, 4) for k in measured
           if isinstance(model.get(k), (int, float)) and measured.get(k)}
    return {"design": rec.name, "flow": str(ev.target), "measured": measured, "model": model,
            "relative_error": err, "seconds": round(time.monotonic() - t0, 1)}


def verifier(ev: Evaluator, k: int, seed: int, model: Optional[str] = None):
    """The ``verify(front, work)`` callable :func:`hwgen.search.search` takes."""
    def verify(front: list, work: Path) -> dict:
        best = sorted(front, key=Record.rank_key)[:k]
        out = {"ok": True, "designs": []}
        for rec in best:
            cfg = ev.space.config(rec.cand)
            d = work / "verify" / rec.name
            d.mkdir(parents=True, exist_ok=True)
            verilog = cached_verilog(cfg)
            (d / "hwgen_top.v").write_text(verilog)
            if ev.workload.is_network:
                sim = _sim_network(cfg, model, seed)
            else:
                sim = _sim_gemms(cfg, verilog, ev.workload.gemms, seed)
            sim["design"] = rec.name
            out["designs"].append(sim)
            if not (sim["bit_exact"] and sim["cycles_match"]):
                out["ok"] = False
                out["why"] = (f"{rec.name}: " + ("not bit-exact" if not sim["bit_exact"]
                                                 else "simulated cycles differ from the model"))
        if best:
            try:
                out["flow"] = _flow(ev, best[0], work / "verify" / best[0].name / "flow")
            except Exception as e:      # a flow that fails is reported, not fatal
                out["flow"] = {"design": best[0].name, "error": " ".join(str(e).split())[:300]}
        return out
    return verify
