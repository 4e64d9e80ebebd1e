"""A search from start to output directory: the loop, its log, the Pareto front, the
configs, the report and its plots.

``DIR`` gets

* ``search.log``: one JSON line per exact evaluation (candidate, design name, feasible,
  why not, objective, every metric, the best so far) -- the checkpoint: ``--resume DIR``
  replays the same seeded search, taking each record it reaches from the log;
* ``pareto.json``: every Pareto-optimal feasible design (over latency, energy and area
  where the cost model gives them, else over cycles and PEs) with its objectives, and the
  best design by the objective;
* ``configs/NAME.yaml``: each Pareto design as a hwgen config (``hwgen check`` accepts
  it), with ``configs/NAME.mappings.json`` holding the mapping of every layer;
* ``report.md`` with ``pareto.png`` and ``convergence.png``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable, Optional

import yaml

from ..compiler.network import plan_network
from ..config import config_dict
from ..lib import outdir
from .algorithms import run_search
from .evaluate import Evaluator, Record, pareto


def _read_log(path: Path, ev: Evaluator) -> int:
    """Fill the evaluator's cache from a previous run's log; records read."""
    n = 0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        try:
            d = json.loads(line)
            rec = Record.from_json(d)
        except (ValueError, KeyError, TypeError):
            continue        # a line cut short by a kill
        ev.cache[rec.cand] = rec
        n += 1
    return n


def _mappings(ev: Evaluator, rec: Record) -> dict:
    cfg = ev.space.config(rec.cand)
    if not ev.workload.is_network:
        from ..compiler import default_mapping
        out = {}
        for i, (m, k, n) in enumerate(ev.workload.gemms):
            mp = default_mapping(cfg, m, k, n)
            out[f"gemm{i}"] = {"tile_m": min(mp.tile_m, m), "tile_k": min(mp.tile_k, k),
                               "tile_n": min(mp.tile_n, n), "order": "".join(mp.order)}
        return out
    plan = plan_network(cfg, ev.workload.qnet(cfg.precision.in_bits),
                        n_images=ev.workload.images)
    return {d["name"]: d["mapping"] for d in plan.report()["layers"] if "mapping" in d}


def _plots(work: Path, records: list, front: list, ev: Evaluator) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = []
    feas = [r for r in records if r.feasible]
    if feas:
        fig, ax = plt.subplots(figsize=(6, 4))
        best, xs, ys = math.inf, [], []
        for i, r in enumerate(records):
            if r.feasible and r.objective < best:
                best = r.objective
            if math.isfinite(best):
                xs.append(i + 1)
                ys.append(best)
        ax.plot(xs, ys)
        ax.set_xlabel("exact evaluations")
        ax.set_ylabel(f"best {ev.objective}")
        ax.set_title("convergence")
        fig.tight_layout()
        fig.savefig(work / "convergence.png", dpi=100)
        plt.close(fig)
        names.append("convergence.png")
        xk = "area_um2" if "area_um2" in feas[0].metrics else "pes"
        yk = "latency_s"
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter([r.metrics[xk] for r in feas], [r.metrics[yk] for r in feas], s=8,
                   alpha=0.4, label="evaluated")
        ax.scatter([r.metrics[xk] for r in front], [r.metrics[yk] for r in front], s=20,
                   color="red", label="Pareto")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xk)
        ax.set_ylabel(yk)
        ax.legend()
        fig.tight_layout()
        fig.savefig(work / "pareto.png", dpi=100)
        plt.close(fig)
        names.append("pareto.png")
    return names


def _report(summary: dict, front: list, plots: list, ev: Evaluator) -> str:
    lines = [f"# Search: {summary['workload']} on {summary['target']}", "",
             f"Algorithm {summary['algorithm']}, seed {summary['seed']}, "
             f"{summary['evaluations']} exact evaluations, {summary['screened']} screened, "
             f"objective {summary['objective']}.", ""]
    if summary.get("interrupted"):
        lines += ["The search was interrupted; these are the designs found so far.", ""]
    best = summary.get("best")
    if best:
        lines += [f"Best: `{best['name']}`: " + ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in best["metrics"].items() if k in ("cycles", "latency_s", "area_um2",
                                                        "energy_uj", "power_mw",
                                                        "utilization", "fmax_mhz")), ""]
    keys = ["cycles", "latency_s", "utilization", "area_um2", "energy_uj", "power_mw"]
    keys = [k for k in keys if front and k in front[0].metrics]
    lines += ["| design | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for r in front:
        lines.append(f"| {r.name} | " + " | ".join(
            f"{r.metrics[k]:.4g}" if isinstance(r.metrics[k], float) else str(r.metrics[k])
            for k in keys) + " |")
    lines.append("")
    lines += [f"![{p}]({p})" for p in plots]
    if summary.get("verify"):
        lines += ["", "## Verification", "", "```",
                  json.dumps(summary["verify"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def search(ev: Evaluator, *, algorithm: str, budget: int, seed: int, out, force: bool = False,
           resume: bool = False, progress: Optional[Callable[[str], None]] = None,
           verify: Optional[Callable[[list, Path], dict]] = None) -> dict:
    """Run the search and write its directory; the summary (``pareto.json``'s content).
    ``verify(front, work_dir)`` checks the best designs (the command line's ``--verify``)
    and its result joins the report."""
    say = progress or (lambda msg: None)
    out = Path(out)
    resumed = 0
    if resume:
        resumed = _read_log(out / "search.log", ev)
        say(f"resuming from {resumed} logged evaluations")
    target = outdir.target(out, force=force, command="search",
                           last=("pareto.json",))
    t0 = time.perf_counter()
    interrupted = False
    with target.staged(keep_failed=True) as work:
        log = open(work / "search.log", "w")

        def on_record(rec: Record, best: Record) -> None:
            d = rec.as_json()
            d["best"] = best.name
            log.write(json.dumps(d) + "\n")
            log.flush()
            n = on_record.count = getattr(on_record, "count", 0) + 1
            if n % 10 == 0 or n == budget:
                b = best.metrics.get("latency_s")
                say(f"{n}/{budget} evaluated, best {best.name} "
                    f"({ev.objective} {best.objective:.4g}" + (
                        f", {best.metrics['cycles']} cycles" if b else "") + ")")

        try:
            records = run_search(ev, algorithm, budget, seed, on_record)
        except KeyboardInterrupt:
            interrupted = True
            records = [ev.cache[c] for c in list(ev.cache)]
            say("interrupted: writing what was found")
        log.close()
        keys = ("latency_s", "energy_uj", "area_um2") if any(
            "area_um2" in r.metrics for r in records) else ("cycles", "pes")
        front = pareto(records, keys)
        feas = sorted([r for r in records if r.feasible], key=Record.rank_key)
        best = feas[0] if feas else None
        (work / "configs").mkdir()
        for r in front:
            cfg = ev.space.config(r.cand)
            (work / "configs" / f"{r.name}.yaml").write_text(
                yaml.safe_dump(config_dict(cfg), sort_keys=False))
            if not interrupted:
                (work / "configs" / f"{r.name}.mappings.json").write_text(
                    json.dumps(_mappings(ev, r), indent=1) + "\n")
        summary = {
            "workload": ev.workload.label, "target": str(ev.target), "objective": ev.objective,
            "algorithm": algorithm, "seed": seed, "budget": budget,
            "evaluations": len(records), "resumed": resumed, "screened": ev.screened,
            "feasible": len(feas), "interrupted": interrupted,
            "seconds": round(time.perf_counter() - t0, 3),
            "exact_seconds": round(ev.exact_seconds, 3),
            "screen_seconds": round(ev.screen_seconds, 3),
            "screen_per_second": round(ev.screened / ev.screen_seconds) if ev.screen_seconds else 0,
            "space": ev.space.describe(),
            "best": best.as_json() if best else None,
            "pareto": [r.as_json() for r in front],
        }
        if verify is not None and front and not interrupted:
            try:
                summary["verify"] = verify(front if best in front else [best] + front, work)
            except KeyboardInterrupt:
                interrupted = summary["interrupted"] = True
                summary["verify"] = {"ok": False, "why": "interrupted"}
                say("interrupted while verifying: writing what was found")
        plots = _plots(work, records, front, ev)
        (work / "report.md").write_text(_report(summary, front, plots, ev))
        (work / "pareto.json").write_text(json.dumps(summary, indent=1) + "\n")
        target.publish(work)
    if interrupted:
        raise KeyboardInterrupt
    return summary
