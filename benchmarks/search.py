"""Search quality and speed (hwgen search's algorithms, programmatically):

* quality: on ResNet-18 and MobileNetV2 (224x224) on osu018 at 10 ns, under an area
  budget equal to os16's area by the cost model, the best EDP of the evolutionary search
  against the better of ws16 and os16 and against random search at the same budget
  (median over seeds);
* exhaustive: on a space small enough to enumerate (ResNet-18), how often evolution with
  a fraction of the space as budget finds the true optimum;
* fidelity: on a random sample of the space, the rank correlation (Spearman) of the
  screen with the exact evaluation -- cycles, energy and EDP -- and whether it agrees on
  which designs are feasible (area limit, layers that cannot run);
* speed: designs screened per second on a whole network (the population-vectorised
  model, priced by the cost model), and one exact evaluation, beside the time SCALE-Sim
  took for one design on the same network (from benchmarks/results/networks.json, when
  benchmarks/networks.py has run).

    python benchmarks/search.py [--models resnet18,mobilenet_v2] [--seeds 3] [--budget 100]
        [--fidelity-sample 40]
"""
import argparse
import json
import statistics
import time

import numpy as np
from common import RESULTS, save

from hwgen.config import PrecisionConfig, load_config
from hwgen.frontend import load_model
from hwgen.search import Constraints, Evaluator, Target, Workload, exact, make_space
from hwgen.search.algorithms import run_search
from hwgen.search.cost import cost_for

TARGET = Target("pdk", "osu018", 10.0)
#: The searched space: the default space's array shapes, the three dataflows, buffers and beat.
SPACE = {"array": {"rows": [4, 8, 16, 32], "cols": [4, 8, 16, 32], "dataflow": ["ws", "os", "is"]},
         "buffers": {"input": {"depth": [1024, 2048, 4096, 8192]},
                     "weight": {"depth": [1024, 2048, 4096, 8192]},
                     "acc": {"depth": [1024, 2048, 4096]}},
         "host": {"beat_elems": [8, 16, 32]}, "memories": ["macro"]}
SMALL = {"array": {"rows": [8, 16], "cols": [8, 16, 32], "dataflow": ["ws", "os"]},
         "buffers": {"input": {"depth": [2048, 8192]}, "weight": {"depth": [2048, 8192]},
                     "acc": {"depth": 2048}},
         "host": {"beat_elems": [16, 32]}, "memories": ["macro"]}


def workload(model: str) -> Workload:
    return Workload(label=model, load=lambda bits: load_model(
        model, None, None, PrecisionConfig(in_bits=bits)))


def evaluator(spec, wl, max_area=None, objective="edp"):
    space = make_space(spec)
    space.max_k = max(wl.max_k(8), 1)
    c = Constraints(max_area_um2=max_area)
    return Evaluator(space, wl, TARGET, objective, c, cost_for(TARGET, objective, c))


def preset_metrics(name: str, wl: Workload, ev: Evaluator) -> dict:
    cfg = load_config(name)
    fig = exact(cfg, wl)
    m = ev.cost.price(cfg, fig, TARGET, "macro")
    period = max(TARGET.clock_ns, 1000.0 / m["fmax_mhz"])
    lat = fig["cycles"] * period * 1e-9
    return {"cycles": fig["cycles"], "area_um2": m["area_um2"], "latency_s": lat,
            "energy_uj": m["energy_uj"], "edp": m["energy_uj"] * lat}


def best_edp(records) -> float:
    feas = [r for r in records if r.feasible]
    return min(r.objective for r in feas) if feas else float("inf")


def quality(model: str, seeds: int, budget: int) -> dict:
    wl = workload(model)
    probe = evaluator(SPACE, wl)
    base = {p: preset_metrics(p, wl, probe) for p in ("ws16", "os16")}
    area = base["os16"]["area_um2"]
    out = {"model": model, "area_budget_um2": area, "presets": base, "runs": []}
    for alg in ("evolution", "random"):
        for seed in range(seeds):
            ev = evaluator(SPACE, wl, max_area=area)
            t0 = time.perf_counter()
            recs = run_search(ev, alg, budget, seed)
            out["runs"].append({"algorithm": alg, "seed": seed, "best_edp": best_edp(recs),
                                "seconds": round(time.perf_counter() - t0, 1),
                                "best": min((r for r in recs if r.feasible),
                                            key=lambda r: r.objective).name})
            print(f"{model} {alg} seed {seed}: EDP {out['runs'][-1]['best_edp']:.4g} "
                  f"({out['runs'][-1]['best']}, {out['runs'][-1]['seconds']} s)", flush=True)
    med = {a: statistics.median(r["best_edp"] for r in out["runs"] if r["algorithm"] == a)
           for a in ("evolution", "random")}
    preset_best = min(base[p]["edp"] for p in base)
    out["median_best_edp"] = med
    out["gain_over_best_preset"] = preset_best / med["evolution"]
    out["gain_over_random"] = med["random"] / med["evolution"]
    return out


def fidelity(model: str, n: int, area: float) -> dict:
    """The screen against the exact evaluation on ``n`` random designs (seeded)."""
    from scipy.stats import spearmanr

    from hwgen.search.fast import population_columns, screen
    wl = workload(model)
    ev = evaluator(SPACE, wl, max_area=area)
    pop = ev.space.random(np.random.default_rng(11), n)
    cyc = screen(ev.space, pop, wl.layers(8)).astype(np.float64)
    priced = ev.cost.price_batch(population_columns(ev.space, pop), cyc, wl, TARGET)
    score = ev.screen(pop)
    recs = [ev.evaluate(c) for c in pop]
    priced_ok = [i for i, r in enumerate(recs) if "energy_uj" in r.metrics]
    feas = [i for i in priced_ok if recs[i].feasible]

    def rho(a, b):
        return round(float(spearmanr(a, b).statistic), 3)
    return {"model": model, "designs": n, "run": len(priced_ok), "feasible": len(feas),
            "feasibility_agrees": sum(bool(np.isfinite(score[i])) == r.feasible
                                      for i, r in enumerate(recs)),
            "rho_cycles": rho(cyc[priced_ok], [recs[i].metrics["cycles"] for i in priced_ok]),
            "rho_energy": rho(priced["energy_uj"][priced_ok],
                              [recs[i].metrics["energy_uj"] for i in priced_ok]),
            "rho_edp_feasible": rho(score[feas], [recs[i].objective for i in feas]),
            "cycles_ratio_median": round(float(np.median(
                cyc[priced_ok] / [recs[i].metrics["cycles"] for i in priced_ok])), 3)}


def exhaustive(seeds: int, budget: int) -> dict:
    wl = workload("resnet18")
    ev = evaluator(SMALL, wl)
    t0 = time.perf_counter()
    allrecs = run_search(ev, "exhaustive", ev.space.count, 0)
    optimum = best_edp(allrecs)
    hits = []
    for seed in range(seeds):
        ev2 = evaluator(SMALL, wl)
        recs = run_search(ev2, "evolution", budget, seed)
        hits.append(best_edp(recs) == optimum)
    return {"space": ev.space.count, "budget": budget, "optimum_edp": optimum,
            "found": sum(hits), "seeds": seeds,
            "exhaustive_seconds": round(time.perf_counter() - t0, 1)}


def speed() -> dict:
    wl = workload("resnet18")
    ev = evaluator(SPACE, wl)
    pop = ev.space.random(np.random.default_rng(0), 20000)
    ev.screen(pop[:100])
    t0 = time.perf_counter()
    ev.screen(pop)
    screen_rate = len(pop) / (time.perf_counter() - t0)
    cfg = load_config("ws16")
    t0 = time.perf_counter()
    exact(cfg, wl)
    exact_s = time.perf_counter() - t0
    out = {"screen_designs_per_s": round(screen_rate), "exact_cold_s": round(exact_s, 3)}
    nets = RESULTS / "networks.json"
    if nets.exists():
        for s in json.loads(nets.read_text())["results"].get("summary", []):
            if s.get("model") == "resnet18" and "scalesim_seconds" in s:
                out[f"scalesim_one_design_s_{s['config']}"] = round(s["scalesim_seconds"], 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--exhaustive-budget", type=int, default=24)
    ap.add_argument("--fidelity-sample", type=int, default=40)
    args = ap.parse_args()
    res = {"target": str(TARGET), "budget": args.budget, "seeds": args.seeds,
           "speed": speed()}
    print(res["speed"], flush=True)
    res["quality"] = [quality(m, args.seeds, args.budget) for m in args.models.split(",")]
    res["fidelity"] = [fidelity(q["model"], args.fidelity_sample, q["area_budget_um2"])
                       for q in res["quality"]]
    for f in res["fidelity"]:
        print(f, flush=True)
    for q in res["quality"]:
        print(f"{q['model']}: evolution {q['gain_over_best_preset']:.2f}x better EDP than the "
              f"better preset, {q['gain_over_random']:.2f}x than random")
    res["exhaustive"] = exhaustive(args.seeds, args.exhaustive_budget)
    print(res["exhaustive"])
    save("search", res)


if __name__ == "__main__":
    main()
