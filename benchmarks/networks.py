"""Whole networks on the 16x16 presets, side by side with SCALE-Sim.

For ResNet-18 and MobileNetV2 (224x224, batch 1) on ws16 and os16:

* hwgen's plan (``hwgen estimate --model``): total cycles, end-to-end utilization,
  utilization of the 3x3 convolutions (MAC-weighted, and the worst one), of the
  depthwise ones, host beats of every 3x3 convolution against
  ``(input + weight + output [+ residual]) / elements per beat``, and the time the
  estimate takes in CPU time, the least of three runs (cold: the mapping search of
  every layer; warm: cached);
* SCALE-Sim 3.0.0 on the same layers, array and dataflow, installed into its own virtual
  environment by this script (``pip install scalesim==3.0.0 'numpy<2' 'pandas<3'``;
  3.0.0 fails with NumPy 2): stall-free cycles (``InterfaceBandwidth: CALC``) and compute
  utilization per layer, and the wall time it takes. Each distinct layer shape is run
  once and cached in benchmarks/results/scalesim_layers.json (a run takes minutes);
* ``--verilator``: one network (ResNet-18 at 3x32x32 on ws16) on Verilator, bit-exact
  layer by layer, for the simulation speed in cycles per second.

    python benchmarks/networks.py [--no-scalesim] [--verilator] [--models resnet18,...]
                                  [--scalesim-runs resnet18/ws16,...]

SCALE-Sim takes the input of a layer already padded (its topology has no padding field),
so the padded height and width are given and its output sizes match the network's. It
has no grouped convolutions; a depthwise layer is given as SCALE-Sim's own MobileNet
topology does (C channels, one filter), the same MACs, and so is an average pooling that
hwgen runs on the array (a depthwise convolution of constant weights).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, save, save_figure, table

from hwgen.compiler.network import clear_caches, plan_network
from hwgen.config import load_config
from hwgen.frontend import load_model

SCALESIM = "scalesim==3.0.0"
VENV = Path(os.environ.get("HWGEN_BENCH_VENVS", Path.home() / ".cache" / "hwgen" / "bench")) \
    / "scalesim-3.0.0"
CACHE = RESULTS / "scalesim_layers.json"


# ---- hwgen -------------------------------------------------------------------------------
def conv_rows(cfg, qnet, plan):
    """Per conv/linear layer: shape facts and hwgen's figures."""
    bpe = cfg.host.beat_elems
    rows = []
    for lp in plan.layers:
        layer = lp.layer
        if lp.where != "array":
            continue
        t = lp.timing
        cin, h, w = qnet.tensor(layer.inputs[0]).shape if layer.op != "linear" else \
            (layer.weight.shape[1], 1, 1)
        cout = qnet.tensor(layer.output).shape[0]
        out_elems = 1
        for d in qnet.tensor(layer.output).shape:
            out_elems *= d
        elems = cin * h * w + (layer.weight.size if layer.weight is not None else 0) + out_elems
        if layer.residual is not None:
            elems += out_elems
        kind = layer.op
        if "average pool" in lp.how:
            kind = "avgpool"
        elif layer.op == "conv":
            kh, kw = layer.weight.shape[2:]
            kind = ("depthwise" if layer.groups > 1 and layer.weight.shape[1] == 1
                    else f"{kh}x{kw}")
        rows.append({"name": layer.name, "kind": kind, "cin": cin, "h": h, "w": w,
                     "cout": cout, "layer": layer, "cycles": t.cycles, "macs": lp.macs,
                     "utilization": lp.macs / (cfg.array.pes * t.cycles),
                     "host_beats": t.host_beats, "beat_bound": elems / bpe})
    return rows


def hwgen_network(model, preset):
    cfg = load_config(preset)
    qnet = load_model(model, precision=cfg)
    # The process's CPU time, the least of three runs: on a loaded machine the wall time
    # measures the other processes as much as the estimate.
    cold = warm = float("inf")
    for _ in range(3):
        clear_caches()
        t0 = time.process_time()
        plan = plan_network(cfg, qnet)
        cold = min(cold, time.process_time() - t0)
        t0 = time.process_time()
        plan_network(cfg, qnet)
        warm = min(warm, time.process_time() - t0)
    tot = plan.totals()
    rows = conv_rows(cfg, qnet, plan)

    def util(sel):
        macs = sum(r["macs"] for r in sel)
        cyc = sum(r["cycles"] for r in sel)
        return macs / (cfg.array.pes * cyc) if cyc else float("nan")

    c3 = [r for r in rows if r["kind"] == "3x3"]
    dw = [r for r in rows if r["kind"] == "depthwise"]
    return cfg, qnet, plan, rows, {
        "model": model, "config": preset, "cycles": tot["cycles"],
        "utilization": tot["utilization"],
        "util_3x3": util(c3), "util_3x3_worst": min((r["utilization"] for r in c3),
                                                    default=float("nan")),
        "util_depthwise": util(dw),
        "beats_over_bound_3x3_worst": max((r["host_beats"] / r["beat_bound"] for r in c3),
                                          default=float("nan")),
        "host_ops": ",".join(o for o in tot["host_ops"]) or "-",
        **maxpool_figures(plan),
        "estimate_cold_s": cold, "estimate_warm_s": warm}


def maxpool_figures(plan):
    """The max pooling layers' cycles and host beats (on the pooling unit) and the
    elements the host would otherwise pool (on the host: no cycles, no beats)."""
    pools = [lp for lp in plan.layers if lp.layer.op == "maxpool"]
    if not pools:
        return {}
    on_chip = [lp for lp in pools if lp.where != "host"]
    t = [lp.timing for lp in on_chip]
    return {"maxpool_where": ",".join(lp.where for lp in pools),
            "maxpool_cycles": sum(x.cycles for x in t),
            "maxpool_host_beats": sum(x.host_beats for x in t),
            "maxpool_share": round(sum(x.cycles for x in t) / plan.totals()["cycles"], 4)}


# ---- SCALE-Sim ---------------------------------------------------------------------------
def scalesim_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"installing {SCALESIM} into {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", SCALESIM, "numpy<2", "pandas<3"],
                       check=True)
    return py


CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {sram_kb}
FilterSramSzkB: {sram_kb}
OfmapSramSzkB: {sram_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: {bw}
Dataflow: {df}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""
TOPO_HEAD = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,\n")
LAYOUT_HEAD = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, "
               "Filter Height Intraline Factor, Filter Width Intraline Factor, Channel "
               "Intraline Factor, Num Filter Intraline Factor, IFMAP Height Intraline Order, "
               "IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height Interline "
               "Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter "
               "Intraline Order, Channel Intraline Order, Filter Height Intraline Order, "
               "Filter Width Intraline Order, Num Filter Interline Order, Channel Interline "
               "Order, Filter Height Interline Order, Filter Width Interline Order,\n")


def scalesim_shape(r) -> tuple:
    """(padded H, padded W, kh, kw, channels, filters, stride) as SCALE-Sim takes it."""
    layer = r["layer"]
    if layer.op == "linear":
        return (1, 1, 1, 1, r["cin"], r["cout"], 1)
    t, left, b, right = layer.padding
    kh, kw = layer.weight.shape[2:]
    (dy, dx) = layer.dilation
    kh, kw = (kh - 1) * dy + 1, (kw - 1) * dx + 1       # dilation as a sparse kernel
    filters = 1 if r["kind"] in ("depthwise", "avgpool") else r["cout"]
    return (r["h"] + t + b, r["w"] + left + right, kh, kw, r["cin"], filters,
            layer.stride[0])


def scalesim_layer(py, cfg, df, shape, cache) -> dict:
    key = json.dumps([cfg.R, cfg.C, df, cfg.host.beat_elems, shape])
    if key in cache:
        return cache[key]
    work = RESULTS / "scalesim_work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "cfg.cfg").write_text(CFG.format(name="layer", rows=cfg.R, cols=cfg.C, sram_kb=64,
                                             bw=cfg.host.beat_elems, df=df))
    (work / "topo.csv").write_text(TOPO_HEAD + "L," + ",".join(map(str, shape)) + ",\n")
    (work / "layout.csv").write_text(LAYOUT_HEAD + "L, 1, 1, 1, 1, 1, 1, 0, 1, 2, 4, 5, 3, "
                                                   "3, 2, 1, 0, 4, 5, 6, 7,\n")
    out = work / "out"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    t0 = time.perf_counter()
    subprocess.run([str(py), "-m", "scalesim.scale", "-c", "cfg.cfg", "-t", "topo.csv",
                    "-l", "layout.csv", "-p", "out", "-s", "N"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    report = next(out.rglob("COMPUTE_REPORT.csv")).read_text().splitlines()[1]
    f = [x.strip() for x in report.split(",")]
    res = {"cycles": int(f[2]), "compute_util": float(f[6]) / 100,
           "mapping_eff": float(f[5]) / 100, "seconds": seconds}
    cache[key] = res
    CACHE.write_text(json.dumps(cache, indent=1) + "\n")
    return res


def scalesim_network(py, cfg, rows, cache):
    df = "ws" if cfg.dataflow == "weight_stationary" else "os"
    per = []
    for r in rows:
        s = scalesim_layer(py, cfg, df, scalesim_shape(r), cache)
        per.append({"name": r["name"], "kind": r["kind"], "hwgen_cycles": r["cycles"],
                    "scalesim_cycles": s["cycles"], "hwgen_util": r["utilization"],
                    "scalesim_compute_util": s["compute_util"], "scalesim_s": s["seconds"]})
    return per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--configs", default="ws16,os16")
    ap.add_argument("--no-scalesim", action="store_true")
    ap.add_argument("--scalesim-runs", default="resnet18/ws16,resnet18/os16",
                    help="MODEL/PRESET pairs given to SCALE-Sim too (it simulates about "
                         "1500 cycles per second: a whole network takes an hour or more)")
    ap.add_argument("--verilator", action="store_true")
    args = ap.parse_args()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    py = None if args.no_scalesim else scalesim_python()
    summary, layers = [], {}
    for model in args.models.split(","):
        for preset in args.configs.split(","):
            cfg, qnet, plan, rows, s = hwgen_network(model, preset)
            print(f"{model} on {preset}: {s['cycles']} cycles, utilization "
                  f"{s['utilization']:.3f}, 3x3 {s['util_3x3']:.3f}, estimate "
                  f"{s['estimate_cold_s']:.3f} s cold / {s['estimate_warm_s'] * 1e3:.1f} ms warm",
                  flush=True)
            if py is not None and f"{model}/{preset}" in args.scalesim_runs.split(","):
                per = scalesim_network(py, cfg, rows, cache)
                layers[f"{model}/{preset}"] = per
                s["scalesim_cycles"] = sum(p["scalesim_cycles"] for p in per)
                s["hwgen_conv_fc_cycles"] = sum(p["hwgen_cycles"] for p in per)
                s["scalesim_seconds"] = sum(p["scalesim_s"] for p in per)
                macs = sum(r["macs"] for r in rows)
                s["scalesim_util"] = macs / (cfg.array.pes * s["scalesim_cycles"])
            summary.append(s)
    out = {"summary": summary, "layers": layers}
    if args.verilator:
        out["verilator"] = verilator_speed()
    save("networks", out)
    keys = list(dict.fromkeys(k for s in summary for k in s))
    print(table([{k: s.get(k, "") for k in keys} for s in summary]))
    if layers:
        plot(layers)


def verilator_speed():
    import numpy as np

    from sim_tb.network import run_network
    cfg = load_config("ws16")
    qnet = load_model("resnet18", input_shape=(3, 32, 32), precision=cfg)
    x = qnet.quantize_input(np.random.default_rng(5).normal(size=(1, 3, 32, 32)))
    env = qnet.run(x)
    plan = plan_network(cfg, qnet)
    res = run_network(plan, env, sim="verilator", max_cycles=100_000_000)
    rep = res.report()
    print(f"verilator: resnet18 3x32x32 on ws16: correct {res.correct}, {res.cycles} cycles in "
          f"{rep['sim_seconds']} s ({rep['cycles_per_second']} cycles/s), build "
          f"{rep['build_seconds']} s")
    return {k: rep[k] for k in ("correct", "cycles", "estimate_cycles", "sim_seconds",
                                "build_seconds", "cycles_per_second")}


def plot(layers):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in layers if k.startswith("resnet18/")] or list(layers)[:2]
    fig, axes = plt.subplots(len(keys), 1, figsize=(10, 3.2 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        per = layers[key]
        xs = range(len(per))
        ax.bar([x - 0.2 for x in xs], [p["hwgen_cycles"] for p in per], 0.4, label="hwgen (exact)")
        ax.bar([x + 0.2 for x in xs], [p["scalesim_cycles"] for p in per], 0.4,
               label="SCALE-Sim 3.0.0 (stall-free)")
        ax.set_xticks(list(xs), [p["name"] for p in per], rotation=70, fontsize=7)
        ax.set_ylabel("cycles")
        ax.set_title(key)
        ax.legend(fontsize=8)
    save_figure(fig, "networks_scalesim")


if __name__ == "__main__":
    main()
