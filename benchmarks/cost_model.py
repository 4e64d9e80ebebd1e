"""The cost model against the flows it was fitted to: accuracy on held-out designs, and
speed.

Accuracy: for every calibrated target (the shipped data files in hwgen/models/cost_data),
the model's figures for each measured design against what ``hwgen asic`` / ``hwgen fpga``
measured, split into the designs the fit used and the held-out ones it never saw; mean
and worst absolute relative error per quantity, exact-match counts for DSPs, BRAMs and
fits. Plot: docs/img/cost_model.png (predicted against measured, held-out points marked).

Speed: (1) full estimates per second in-process for a GEMM workload: the exact cycle
model (hwgen.models.perf_batch), ASIC area/clock/power/energy (osu018) and FPGA
resources/clock/fit (iCEBreaker) for a population of distinct random designs, on one core (CPU time, which the loaded
shared machine cannot inflate, and wall time); (2) a ResNet-18 estimate on ws16 once its
layers are planned (cycles, activity, area, power, energy; its 4096-word buffers as SRAM
macros, far outside the flip-flop buffers' calibrated depths); (3) side by side, the time
one real flow run of a calibration design took.

    python benchmarks/cost_model.py [--candidates 100000] [--skip-resnet]
"""
import argparse
import json
import time

import numpy as np

from common import save, save_figure

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hwgen import calibration  # noqa: E402
from hwgen.config import load_config  # noqa: E402
from hwgen.models import cost  # noqa: E402

TARGETS = [("osu018", dict(pdk="osu018")), ("ecp5-6", dict(board="ulx3s-85f")),
           ("ice40-up5k", dict(board="icebreaker"))]
#: The issue's accuracy goals; the energy split's parts (power by block) are held to the
#: total power's.
GOALS = {"area_um2": 0.10, "area_pe_array_um2": 0.10, "fmax_mhz": 0.15, "power_mw": 0.20,
         "power_pe_array_mw": 0.20, "power_buffers_mw": 0.20, "power_host_mw": 0.20,
         "luts": 0.10, "ffs": 0.10}


def accuracy() -> tuple[list, dict]:
    """Rows of the accuracy table (per target, buffer kind, set and quantity) and the
    (predicted, measured) pairs for the plot."""
    rows, pairs = [], {}
    for name, how in TARGETS:
        try:
            coef = cost.load(**how)
        except cost.CostModelError as e:
            print(f"{name}: {e}")
            continue
        recs = [calibration.add_activity(r) for r in coef.data["points"]]
        val = cost.validate(coef, recs)
        groups = {}
        for role in ("holdout", "fit"):
            for pt in val[role]["points"]:
                label = name + (" (SRAM macros)" if pt.get("memories") == "macro" else "")
                for q, pm in pt.items():
                    if q in ("name", "memories"):
                        continue
                    groups.setdefault((label, role, q), []).append(pm)
                    if q != "fits":
                        pairs.setdefault((label, q), []).append((pm[0], pm[1], role,
                                                                 pt["name"]))
        for (label, role, q), pms in groups.items():
            row = {"target": label, "set": role, "quantity": q, "n": len(pms)}
            if q in ("fits", "dsps", "brams"):
                row.update(mean="-", worst="-",
                           exact=f"{sum(1 for a, b in pms if a == b)}/{len(pms)}",
                           goal="no wrong answer" if q == "fits" else "exact")
            else:
                e = [abs(a - b) / abs(b) for a, b in pms if b]
                row.update(mean=f"{100 * np.mean(e):.1f}%", worst=f"{100 * np.max(e):.1f}%",
                           exact="-", goal=f"±{100 * GOALS.get(q, 0):.0f}%")
            rows.append(row)
    order = {"holdout": 0, "fit": 1}
    rows.sort(key=lambda r: (r["target"], order[r["set"]]))
    return rows, pairs


def plot(pairs: dict) -> None:
    qs = [k for k in pairs if k[1] not in ("dsps", "brams")]
    n = len(qs)
    cols = 4
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.4 * cols,
                                                                    3.1 * ((n + cols - 1) // cols)))
    for ax, key in zip(np.ravel(axes), qs):
        pts = pairs[key]
        for role, style in (("fit", dict(marker="o", color="0.6", label="fitted")),
                            ("holdout", dict(marker="s", color="C3", label="held out"))):
            xs = [m for p, m, r, _ in pts if r == role]
            ys = [p for p, m, r, _ in pts if r == role]
            ax.scatter(xs, ys, s=18, **style)
        allv = [v for p, m, _, _ in pts for v in (p, m)]
        lo, hi = min(allv), max(allv)
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.7)
        g = GOALS.get(key[1])
        if g:
            ax.plot([lo, hi], [lo * (1 + g), hi * (1 + g)], "k:", lw=0.6)
            ax.plot([lo, hi], [lo * (1 - g), hi * (1 - g)], "k:", lw=0.6)
        if lo > 0 and hi / lo > 20:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_title(f"{key[0]}: {key[1]}", fontsize=9)
        ax.set_xlabel("measured (flow)", fontsize=8)
        ax.set_ylabel("predicted (model)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[n:]:
        ax.axis("off")
    np.ravel(axes)[0].legend(fontsize=7)
    fig.suptitle("hwgen cost model against hwgen's flows (dotted: the accuracy goal)",
                 fontsize=10)
    save_figure(fig, "cost_model")


def population(n: int, seed: int = 0) -> dict:
    """Distinct random designs inside the calibrated ranges."""
    rng = np.random.default_rng(seed)
    bits = rng.choice([4, 6, 8, 12, 16], n)
    return {"rows": rng.integers(1, 9, n), "cols": rng.integers(1, 9, n),
            "dataflow": rng.integers(0, 2, n), "in_bits": bits,
            "acc_bits": 2 * bits + rng.integers(6, 13, n), "mult_bits": rng.choice([8, 16], n),
            "out_bits": 8, "depth_in": rng.choice([16, 32, 64], n),
            "depth_w": rng.choice([16, 32, 64], n), "depth_acc": rng.choice([16, 32, 64], n),
            "banks_in": rng.integers(1, 3, n), "banks_w": rng.integers(1, 3, n),
            "banks_acc": rng.integers(1, 3, n), "beat": rng.integers(1, 9, n),
            "im2col": rng.integers(0, 2, n), "preload": rng.integers(0, 2, n),
            "lane_quant": rng.integers(0, 2, n)}


def full_estimates(p: dict, asic, board, gemm=(256, 256, 256)) -> dict:
    act = cost.gemm_activity(p, *gemm)
    a = cost.cost_batch(p, asic, act, clock_ns=10.0)
    f = cost.cost_batch(p, board)
    return {"cycles": act["cycles"], **a, **{"fpga_" + k: v for k, v in f.items()}}


def speed(n: int, chunk: int = 4096) -> dict:
    asic = cost.load(pdk="osu018")
    board = cost.load(board="icebreaker")
    p = population(n)
    full_estimates({k: (v[:64] if isinstance(v, np.ndarray) else v) for k, v in p.items()},
                   asic, board)   # warm up
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, n, chunk):
        part = {k: (v[i:i + chunk] if isinstance(v, np.ndarray) else v) for k, v in p.items()}
        out = full_estimates(part, asic, board)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert np.all(np.isfinite(out["area_um2"])) and np.all(out["cycles"] > 0)
    # per-config wrapper, one at a time, for comparison
    cfg = load_config("asic2")
    m = 200
    c1 = time.process_time()
    for _ in range(m):
        one = {k: np.asarray(v) for k, v in cost.params_of(cfg).items()}
        full_estimates(one, asic, board)
    one_cpu = (time.process_time() - c1) / m
    return {"candidates": n, "chunk": chunk, "workload": "gemm:256x256x256",
            "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "per_second_cpu": round(n / cpu), "per_second_wall": round(n / wall),
            "one_at_a_time_us_cpu": round(one_cpu * 1e6, 1)}


def resnet(config: str = "ws16") -> dict:
    from hwgen.compiler.network import plan_network
    from hwgen.frontend import load_model_graph
    from hwgen.models.perf import block_timing
    cfg = load_config(config)
    asic = cost.load(pdk="osu018")
    t0 = time.perf_counter()
    qnet, _ = load_model_graph("resnet18", None, None, cfg)
    t1 = time.perf_counter()
    plan = plan_network(cfg, qnet)
    t2 = time.perf_counter()
    reps = 20
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        chunks = [(q.nest.M, q.nest.K, q.nest.N, q.nest.tile_m, q.nest.tile_k, q.nest.tile_n, 1)
                  for lp in plan.layers if lp.where == "array" for q in lp.parts]
        act = cost.timing_activity(cfg, block_timing(plan.block), chunks)
        est = cost.estimate(cfg, asic, act, clock_ns=10.0, memories="macro")
    cpu = (time.process_time() - c0) / reps
    wall = (time.perf_counter() - w0) / reps
    return {"design": config, "memories": "macro", "load_s": round(t1 - t0, 2),
            "plan_s": round(t2 - t1, 2),
            "estimate_ms_cpu": round(cpu * 1e3, 3), "estimate_ms_wall": round(wall * 1e3, 3),
            "cycles": act["cycles"], "macs": act["macs"], "energy_uj": est.figures["energy_uj"],
            "power_mw": est.figures["power_mw"], "layers": len(plan.layers),
            "parts": sum(len(lp.parts) for lp in plan.layers)}


def flow_times() -> dict:
    """Seconds of real flow runs of calibration designs (from the data files)."""
    out = {}
    for name, how in TARGETS:
        try:
            coef = cost.load(**how)
        except cost.CostModelError:
            continue
        pts = [p for p in coef.data["points"] if p.get("measured")]
        secs = sorted((p["wall_seconds"], p["name"]) for p in pts)
        out[name] = {"min_s": secs[0], "median_s": secs[len(secs) // 2], "max_s": secs[-1],
                     "total_h": round(sum(s for s, _ in secs) / 3600, 2)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--skip-resnet", action="store_true")
    args = ap.parse_args()
    rows, pairs = accuracy()
    plot(pairs)
    res = {"accuracy": rows, "speed": speed(args.candidates), "flow_times": flow_times()}
    if not args.skip_resnet:
        res["resnet18"] = resnet()
    print(json.dumps(res["speed"], indent=1))
    print(json.dumps(res.get("resnet18"), indent=1))
    print(json.dumps(res["flow_times"], indent=1))
    keys = ["target", "set", "quantity", "n", "mean", "worst", "exact", "goal"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    path = save("cost_model", res)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
