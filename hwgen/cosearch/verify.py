"""The co-search's winner on the generated hardware: its quantized network run on the
RTL (Verilator or Icarus) for a sample of test images, every layer bit-exact against
hwgen's integer reference and the cycles equal to the model's, top-1 of the float, the
quantized and the RTL network on those images; then the target's flow (``hwgen asic`` at
the library and clock, or ``hwgen fpga`` on the board).

Flows layer: it runs the simulators and the flows, so only the command line calls it.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..search.verify import target_flow
from .run import MEMORIES


def verifier(*, images: int = 20, sim: str = "verilator", target=None, seed: int = 0):
    """The ``verify(winner, work, data)`` callable :func:`hwgen.cosearch.cosearch` takes;
    ``target`` a :class:`hwgen.search.Target` (None: no flow)."""
    def verify(winner: dict, work: Path, data: dict) -> dict:
        import torch

        from sim_tb.network import run_network

        from ..compiler.network import plan_network
        from ..config import config_from_dict
        qnet, module = winner["qnet"], winner["module"]
        cfg = config_from_dict(winner["config"], "winner/config.yaml")
        n = min(images, len(data["x_test"]))
        x = data["x_test"][:n].numpy()
        y = data["y_test"][:n].numpy()
        env = qnet.run(qnet.quantize_input(x))
        plan = plan_network(cfg, qnet, n_images=n)
        t0 = time.monotonic()
        run = run_network(plan, env, sim=sim, max_cycles=200_000_000)
        out_name = qnet.outputs[0]
        with torch.no_grad():
            fl = module(torch.as_tensor(x)).argmax(1).numpy()
        top = {"float": fl, "quantized": env[out_name].argmax(1),
               "rtl": run.outputs[out_name].argmax(1)}
        rep = {"sim": sim, "images": n, "bit_exact": bool(run.correct),
               "cycles": int(run.cycles), "model_cycles": int(run.estimate_cycles),
               "cycles_match": bool(run.cycles_match),
               "accuracy": {k: round(float((v == y).mean()), 4) for k, v in top.items()},
               "sim_seconds": round(time.monotonic() - t0, 1)}
        rep["ok"] = rep["bit_exact"] and rep["cycles_match"]
        if target is not None:
            rep["flow"] = _flow(cfg, target, work / "flow")
        return rep
    return verify


def _flow(cfg, target, out: Path) -> dict:
    t0 = time.monotonic()
    try:
        got, rep = target_flow(cfg, target, out, MEMORIES)
    except Exception as e:       # a flow that fails is reported, not fatal
        return {"flow": str(target), "error": " ".join(str(e).split())[:300]}
    if target.kind == "pdk":
        got = {"memories": MEMORIES, **got, "timing_met": rep.get("timing_met")}
    return {"flow": str(target), **got, "seconds": round(time.monotonic() - t0, 1)}


__all__ = ["verifier"]
