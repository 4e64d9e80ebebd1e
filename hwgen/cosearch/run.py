"""``hwgen cosearch``: the co-search from data to a directory of results.

1. The task's data (scikit-learn digits: the training split cut into training and
   validation images, the test split kept for the end).
2. The super-network trained once (sandwich rule), the methods run on one budget of
   network evaluations.
3. The fronts' networks fine-tuned from their inherited weights, exported to ONNX,
   quantized by hwgen (:func:`hwgen.frontend.load_model`) for their accelerator, scored
   on the test split with hwgen's integer reference, and timed with the exact cycle
   model (:func:`hwgen.compiler.network.plan_network`).
4. The winner — the fastest co-searched design whose quantized test accuracy is within
   ``accuracy_drop`` of the best one found — written as ``winner/model.onnx`` and
   ``winner/config.yaml``; :mod:`hwgen.cosearch.verify` then runs it on the RTL and
   through the target's flow.

The directory: ``cosearch.json`` (everything), ``search.log`` (a JSON line per scored
network), ``report.md`` with ``front.png`` (both fronts on one plot).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import yaml

from ..compiler.network import plan_network
from ..config import config_dict
from ..lib import outdir
from ..lib.errors import BadInput, WorkloadError
from .netspace import Arch, NetSpace
from .search import MEMORIES, METHODS, CoSearch, HardwareSearch, Point, pareto_points
from .supernet import SuperNet, finetune, module_accuracy, train_supernet

__all__ = ["cosearch", "hardware_search", "DIGITS_HARDWARE", "split_data"]

#: The accelerators a digits co-search chooses among (a ``hwgen search`` space).
DIGITS_HARDWARE = {
    "array": {"rows": [2, 4, 8, 16], "cols": [2, 4, 8, 16], "dataflow": ["ws", "os"]},
    "buffers": {"input": {"depth": [256, 1024]}, "weight": {"depth": [256, 1024]},
                "acc": {"depth": [256, 1024]}},
    "host": {"beat_elems": [2, 4, 8]},
}




def hardware_search(ns: NetSpace, hw_spec: Optional[dict] = None, *,
                    max_pes: Optional[int] = 64, cost=None,
                    max_area_um2: Optional[float] = None,
                    energy: bool = False) -> HardwareSearch:
    """The accelerator space (``hw_spec``, a ``hwgen search`` space; default
    :data:`DIGITS_HARDWARE`) at the network family's bit-widths, with the accumulators
    its longest reduction needs, and the constraints."""
    from ..search.space import make_space
    spec = json.loads(json.dumps(hw_spec if hw_spec is not None else DIGITS_HARDWARE))
    if not isinstance(spec, dict):
        raise BadInput("accelerator: must be a mapping of config keys (a search space)")
    spec.setdefault("precision", {})
    if not isinstance(spec["precision"], dict):
        raise BadInput("accelerator.precision must be a mapping")
    spec["precision"]["in_bits"] = list(ns.bits)
    max_k = max(ns.max_width * max(ns.kernels) ** 2, ns.max_width * 4)
    space = make_space(spec, max_k=max_k, source="accelerator space")
    return HardwareSearch(space, max_pes=max_pes, cost=cost, max_area_um2=max_area_um2,
                          energy=energy)


def split_data(seed: int) -> dict:
    """Digits: training images cut 85/15 into training and validation, test kept."""
    import torch
    from sklearn.model_selection import train_test_split

    from ..frontend import digits_data
    d = digits_data()
    xtr, xva, ytr, yva = train_test_split(d["x_train"], d["y_train"], test_size=0.15,
                                          random_state=seed, stratify=d["y_train"])
    t = {"x_train": xtr, "y_train": ytr, "x_val": xva, "y_val": yva,
         "x_test": d["x_test"], "y_test": d["y_test"]}
    return {k: torch.as_tensor(v) if k.startswith("x") else torch.as_tensor(v).long()
            for k, v in t.items()}


def _export_onnx(module, arch: Arch, path: Path) -> None:
    """``module`` as ONNX (batch dimension free), by torch's TorchScript exporter (the
    torch.export-based one needs onnxscript, which hwgen does not depend on)."""
    import warnings

    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (torch.zeros((1,) + tuple(arch.input)),), str(path),
                          input_names=["image"], output_names=["logits"], opset_version=17,
                          dynamo=False, dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})


def finalize(cs: CoSearch, p: Point, work: Path, *, epochs: int, seed: int,
             cost=None) -> dict:
    """A front point made real: fine-tuned, exported, quantized for its accelerator,
    scored on the test split, timed exactly."""
    from ..frontend import load_model
    d = cs.data
    cs.sn.recalibrate(d["x_train"], p.arch)
    module = cs.sn.extract(p.arch)
    module = finetune(module, d["x_train"], d["y_train"], epochs=epochs, seed=seed)
    name = f"{p.arch.name()}__{p.hw_name}"
    path = work / "networks" / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    _export_onnx(module, p.arch, path)
    cfg = cs.hw.space.config(p.hw)
    out = {"name": name, "onnx": str(path.relative_to(work)),
           "float_test_accuracy": round(module_accuracy(module, d["x_test"], d["y_test"]), 4)}
    if cfg is None:
        return {**out, "error": "accelerator config not valid"}
    qnet = load_model(str(path), calib=d["x_train"].numpy(), precision=cfg)
    xq = qnet.quantize_input(d["x_test"].numpy())
    env = qnet.run(xq)
    pred = env[qnet.outputs[0]].argmax(1)
    out["quant_test_accuracy"] = round(float((pred == d["y_test"].numpy()).mean()), 4)
    try:
        plan = plan_network(cfg, qnet)
    except WorkloadError as e:
        return {**out, "error": f"does not run: {e}"}
    t = plan.totals()
    out.update(cycles=int(t["cycles"]), macs=int(t["macs"]),
               utilization=round(t["macs"] / (cfg.array.pes * t["cycles"]), 4),
               pes=cfg.array.pes, config=config_dict(cfg), module=module, qnet=qnet)
    if cost is not None:
        from ..search import Workload, exact
        fig = exact(cfg, Workload(label=name, load=lambda bits: qnet))
        m = cost.price(cfg, fig, cost.target, MEMORIES)
        for k in ("area_um2", "power_mw", "energy_uj", "fmax_mhz"):
            if k in m:
                out[k] = round(float(m[k]), 6)
    return out


def _plot(work: Path, fronts: dict, clock_ns: float, metric: str = "cycles") -> Optional[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    marks = {"co-search": ("o", "C0"), "sequential": ("s", "C3")}
    for label, pts in fronts.items():
        pts = sorted((p for p in pts if metric in p), key=lambda p: p[metric])
        if not pts:
            continue
        m, c = marks.get(label, ("^", "C2"))
        scale = clock_ns * 1e-3 if metric == "cycles" else 1.0
        ax.plot([p[metric] * scale for p in pts],
                [100 * p["quant_test_accuracy"] for p in pts], marker=m, color=c,
                label=label, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_xlabel(f"latency per image (us at {clock_ns:g} ns), exact cycle model"
                  if metric == "cycles" else "energy per image (uJ), exact counts priced by "
                  "the cost model")
    ax.set_ylabel("quantized test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(work / "front.png", dpi=120)
    plt.close(fig)
    return "front.png"


def _dominance(co: list, seq: list, metric: str = "cycles") -> dict:
    """How many sequential points some co-searched point matches or beats in both
    accuracy and cost (and strictly in one)."""
    ok = [p for p in co if metric in p]
    beaten = 0
    for s in (p for p in seq if metric in p):
        if any(c["quant_test_accuracy"] >= s["quant_test_accuracy"] and c[metric] <= s[metric]
               and (c["quant_test_accuracy"] > s["quant_test_accuracy"]
                    or c[metric] < s[metric]) for c in ok):
            beaten += 1
    n = sum(1 for p in seq if metric in p)
    return {"sequential_points": n, "dominated_by_cosearch": beaten}


def cosearch(*, task: str = "digits", netspace: Optional[NetSpace] = None,
             hw_spec: Optional[dict] = None, clock_ns: float = 10.0,
             max_pes: Optional[int] = 64, max_area_um2: Optional[float] = None, cost=None,
             target=None, objective: str = "accuracy-latency", budget: int = 300, seed: int = 0,
             methods: tuple = METHODS, epochs: int = 30, finetune_epochs: int = 15,
             front_size: int = 6, accuracy_drop: float = 0.01, out, force: bool = False,
             progress: Optional[Callable[[str], None]] = None,
             verify: Optional[Callable] = None, hw: Optional[HardwareSearch] = None) -> dict:
    """Run the co-search and write its directory; returns the summary. ``hw`` (from
    :func:`hardware_search`) when the caller made it already."""
    import torch
    say = progress or (lambda msg: None)
    if budget < 1:
        raise BadInput("--budget must be at least 1 network")
    ns = netspace or NetSpace(task=task)
    energy = objective == "accuracy-energy"
    if hw is None:
        hw = hardware_search(ns, hw_spec, max_pes=max_pes, cost=cost,
                             max_area_um2=max_area_um2, energy=energy)
    space = hw.space
    metric = "energy_uj" if energy else "cycles"
    out = Path(out)
    target = outdir.target(out, force=force, command="cosearch", last=("cosearch.json",))
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with _one_thread(), target.staged(keep_failed=True) as work:
        data = split_data(seed)
        sn = SuperNet(ns, seed)
        say(f"training the super-network ({epochs} epochs)")
        tl = train_supernet(sn, data["x_train"], data["y_train"], epochs=epochs, seed=seed,
                            progress=say, xval=data["x_val"], yval=data["y_val"])
        cs = CoSearch(ns, hw, sn, data, seed=seed, progress=say)
        timings, points = {}, {}
        for m in methods:
            t1 = time.perf_counter()
            if m == "evolution":
                points[m] = cs.evolution(budget)
            elif m == "sequential":
                points[m] = cs.sequential(budget)
            else:
                points[m] = cs.differentiable()
            timings[m] = round(time.perf_counter() - t1, 2)
        with open(work / "search.log", "w") as log:
            for m, pts in points.items():
                for p in pts:
                    log.write(json.dumps(p.as_json()) + "\n")
        co_pts = [p for m in ("evolution", "differentiable") for p in points.get(m, [])]
        fronts_pts = {"co-search": pareto_points(co_pts),
                      "sequential": pareto_points(points.get("sequential", []))}
        finals: dict = {}
        for label, front in fronts_pts.items():
            # the front thinned to front_size points spread over its latency range
            if len(front) > front_size:
                idx = np.unique(np.linspace(0, len(front) - 1, front_size).round().astype(int))
                front = [front[i] for i in idx]
            finals[label] = []
            for i, p in enumerate(front):
                say(f"finishing the {label} front: {i + 1}/{len(front)} {p.arch.name()} on "
                    f"{p.hw_name}")
                finals[label].append({**p.as_json(), **finalize(cs, p, work,
                                                               epochs=finetune_epochs,
                                                               seed=seed, cost=cost)})
        co = [f for f in finals["co-search"] if metric in f]
        winner = None
        if co:
            best_acc = max(f["quant_test_accuracy"] for f in co)
            ok = [f for f in co if f["quant_test_accuracy"] >= best_acc - accuracy_drop]
            winner = min(ok, key=lambda f: (f[metric], -f["quant_test_accuracy"]))
            wdir = work / "winner"
            wdir.mkdir()
            shutil.copyfile(work / winner["onnx"], wdir / "model.onnx")  # as its front wrote it
            (wdir / "config.yaml").write_text(yaml.safe_dump(winner["config"], sort_keys=False))
        clean = {label: [{k: v for k, v in f.items() if k not in ("module", "qnet")}
                         for f in fs] for label, fs in finals.items()}
        summary = {
            "task": task, "seed": seed, "budget": budget, "methods": list(methods),
            "objective": objective, "target": str(target) if target else None,
            "clock_ns": clock_ns, "max_pes": max_pes, "max_area_um2": max_area_um2,
            "network_space": ns.describe(), "accelerator_space": space.describe(),
            "accelerators": int(hw.ok.sum()),
            "supernet": {"epochs": tl.epochs, "seconds": round(tl.seconds, 1),
                         "largest_val_accuracy": round(tl.largest_acc, 4),
                         "smallest_val_accuracy": round(tl.smallest_acc, 4)},
            "networks_scored": cs.evaluations, "designs_screened": hw.screened,
            "screen_per_second": round(hw.screened / hw.seconds) if hw.seconds else 0,
            "method_seconds": timings,
            "fronts": clean,
            "dominance": _dominance(clean["co-search"], clean["sequential"], metric),
            "winner": None,
        }
        if winner is not None:
            summary["winner"] = {k: v for k, v in winner.items() if k not in ("module", "qnet")}
            summary["winner"]["latency_us"] = round(winner["cycles"] * clock_ns * 1e-3, 3)
            if verify is not None:
                say("verifying the winner")
                summary["verify"] = verify(winner, work / "winner", data)
        plot = _plot(work, clean, clock_ns, metric)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        (work / "report.md").write_text(_report(summary, plot))
        (work / "cosearch.json").write_text(json.dumps(summary, indent=1) + "\n")
        target.publish(work)
    return summary


class _one_thread:
    """One torch thread while the co-search runs (results do not depend on the machine's
    thread count)."""

    def __enter__(self):
        import torch
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch
        torch.set_num_threads(self.n)


def _report(s: dict, plot: Optional[str]) -> str:
    lines = [f"# Co-search: {s['task']}", "",
             f"Seed {s['seed']}, budget {s['budget']} networks per method, methods "
             f"{', '.join(s['methods'])}; {s['accelerators']} accelerators within "
             f"{s['max_pes']} PEs; clock {s['clock_ns']:g} ns; {s['seconds']} s in all.", "",
             f"Super-network: {s['supernet']['epochs']} epochs in "
             f"{s['supernet']['seconds']} s, largest network "
             f"{s['supernet']['largest_val_accuracy']:.3f} and smallest "
             f"{s['supernet']['smallest_val_accuracy']:.3f} validation accuracy.", ""]
    if plot:
        lines += [f"![fronts]({plot})", ""]
    for label, fs in s["fronts"].items():
        lines += [f"## {label} front", "",
                  "| network | accelerator | float | quantized | cycles | utilization |",
                  "|---|---|---|---|---|---|"]
        for f in fs:
            lines.append(f"| {f['network']['name']} | {f['accelerator']} | "
                         f"{f.get('float_test_accuracy', '-')} | "
                         f"{f.get('quant_test_accuracy', '-')} | {f.get('cycles', '-')} | "
                         f"{f.get('utilization', '-')} |")
        lines.append("")
    d = s["dominance"]
    lines += [f"{d['dominated_by_cosearch']} of {d['sequential_points']} sequential designs "
              "are matched or beaten in both accuracy and latency by a co-searched one.", ""]
    w = s.get("winner")
    if w:
        lines += ["## Winner", "", f"{w['network']['name']} on {w['accelerator']}: quantized "
                  f"test accuracy {w['quant_test_accuracy']}, {w['cycles']} cycles "
                  f"({w['latency_us']} us), utilization {w['utilization']}.", ""]
        v = s.get("verify")
        if v:
            lines += ["```", json.dumps(v, indent=1), "```", ""]
    return "\n".join(lines)
