"""Scale-out: pods against one monolithic array, SOSA tiling against uniform, the
interconnects' cost, heterogeneous sub-accelerators against the best fixed dataflow.

* ``pods``: 1 pod of 32x32, 4 of 16x16, 16 of 8x8 (and 64 of 4x4), 1024 PEs each,
  output-stationary and weight-stationary pods, SOSA and uniform tiling, butterfly,
  crossbar and bus, on ResNet-18 and MobileNetV2 (224x224, one image; the built-in
  models ``hwgen estimate --model`` takes) and the GEMMs of one BERT-base encoder layer
  at sequence 128 (Q, K, V and output projections, 12 heads of scores and context as
  grouped 1x1 convolutions, the two feed-forward GEMMs), all from the exact per-slice
  cycle model of hwgen.compiler.scaleout (what ``hwgen estimate CONFIG --model M``
  reports). A pod's port carries one word of its array's edge per cycle (beat_elems =
  the pod's edge), so 16 pods of 8x8 stream 128 elements per cycle where one 32x32
  array streams 32: the banked shared buffers are part of what is compared.
* ``hetero``: sub-accelerators of 256 PEs in all (the PEs of os16) as a weight-
  stationary and an output-stationary engine of every split, against the homogeneous
  designs of the same PEs (one 16x16 array of either dataflow, or two engines of one
  dataflow), on ResNet-18 + MobileNetV2 scheduled together; the scheduler's time.
* ``hetero_tenants``: the same designs on ResNet-18 and six MobileNetV2s (about equal
  MACs), seven independent chains of layers for the scheduler to overlap.
* ``asic``: area and Fmax of each interconnect alone (hwgen_interconnect, 32-bit
  words) from 4 to 32 ports (64 with --ports), OSU 0.18 um synthesis (Yosys + ABC,
  10 ns target) and OpenSTA, as asic_flow synthesizes the accelerator.

    python benchmarks/scaleout.py [--part pods,hetero,hetero_tenants,asic]
                                  [--ports 4,8,16,32] [--interconnects bus]
        updates benchmarks/results/scaleout.json (parts not run are kept)
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, save, table

from hwgen.compiler.scaleout import plan_pods, schedule_layers
from hwgen.config import (AcceleratorConfig, ArrayConfig, BufferConfig, BuffersConfig,
                          HostConfig, PrecisionConfig)
from hwgen.config.scaleout import PodsConfig
from hwgen.config.schema import SubAcceleratorConfig
from hwgen.frontend import load_model
from hwgen.lib.scaleout import INTERCONNECTS
from hwgen.models.network import QLayer, QNet, QTensor

PREC = PrecisionConfig(in_bits=8, out_bits=8, max_k=4096)
BUFS = BuffersConfig(BufferConfig(4096), BufferConfig(4096), BufferConfig(4096))
CLOCK_NS = 10.0


def bert_layer() -> QNet:
    """The GEMMs of one BERT-base encoder layer, sequence 128, as 1x1 convolutions over
    a 128 x 1 "image" (M = 128 tokens)."""
    S, D, H, F = 128, 768, 12, 3072
    rng = np.random.default_rng(0)
    specs = [("q", D, D, 1), ("k", D, D, 1), ("v", D, D, 1),
             ("scores", D, H * S, H), ("context", H * S, D, H), ("out", D, D, 1),
             ("ffn1", D, F, 1), ("ffn2", F, D, 1)]
    tensors = [QTensor("x", (D, S, 1), 0.1)]
    layers = []
    prev = "x"
    for name, cin, cout, g in specs:
        tensors.append(QTensor(name, (cout, S, 1), 0.1))
        layers.append(QLayer(name, "conv", (prev,), name,
                             weight=rng.integers(-9, 9, (cout, cin // g, 1, 1)), groups=g,
                             bias=np.zeros(cout, np.int64), mult=np.full(cout, 1 << 14),
                             shift=np.full(cout, 20), lo=-128, hi=127))
        prev = name
    return QNet("bert_base_layer", tensors[0], tuple(tensors), tuple(layers), (prev,))


def pods_cfg(P, edge, df, kind, tiling):
    return AcceleratorConfig(name=f"p{P}x{edge}", array=ArrayConfig(edge, edge, df),
                             precision=PREC, buffers=BUFS, host=HostConfig(edge),
                             pods=PodsConfig(P, kind if P > 1 else "crossbar", tiling))


def part_pods(models, kinds=INTERCONNECTS) -> list:
    """The rows of ``models``; the interconnects of multi-pod SOSA rows only of ``kinds``
    (the single-array and uniform rows always: every ratio needs them)."""
    rows = []
    for mname, q in models:
        for df in ("os", "ws"):
            for P, edge in ((1, 32), (4, 16), (16, 8), (64, 4)):
                for tiling in (("sosa",) if P == 1 else ("sosa", "uniform")):
                    for kind in (("butterfly",) if P == 1 or tiling == "uniform"
                                 else [k for k in INTERCONNECTS if k in kinds]):
                        t = time.perf_counter()
                        rep = plan_pods(pods_cfg(P, edge, df, kind, tiling), q).report()
                        rows.append({"model": mname, "dataflow": df, "pods": P,
                                     "pod": f"{edge}x{edge}", "tiling": tiling,
                                     "interconnect": kind if P > 1 else "-",
                                     "cycles": rep["cycles"],
                                     "macs_per_cycle": rep["macs_per_cycle"],
                                     "utilization": rep["utilization"],
                                     "seconds": round(time.perf_counter() - t, 2)})
                        print(rows[-1], flush=True)
    base = {(r["model"], r["dataflow"]): r["cycles"] for r in rows if r["pods"] == 1}
    for r in rows:
        r["vs_monolithic"] = round(base[(r["model"], r["dataflow"])] / r["cycles"], 3)
    return rows


def het_cfg(engines):
    return AcceleratorConfig(name="h", precision=PREC, buffers=BUFS, host=HostConfig(16),
                             subaccelerators=tuple(SubAcceleratorConfig(n, ArrayConfig(r, c, d))
                                                   for n, r, c, d in engines))


#: MobileNetV2s beside one ResNet-18 in the many-tenant heterogeneous workload (six have
#: about ResNet-18's MACs: 1.8 G against 6 x 0.3 G).
MOBILENETS = 6


def part_hetero(models) -> list:
    designs = {"os16": [("os", 16, 16, "os")], "ws16": [("ws", 16, 16, "ws")]}
    for cw in (4, 8, 12):
        designs[f"ws16x{cw}+os16x{16 - cw}"] = [("ws", 16, cw, "ws"), ("os", 16, 16 - cw, "os")]
        designs[f"ws16x{cw}+ws16x{16 - cw}"] = [("a", 16, cw, "ws"), ("b", 16, 16 - cw, "ws")]
        designs[f"os16x{cw}+os16x{16 - cw}"] = [("a", 16, cw, "os"), ("b", 16, 16 - cw, "os")]
    rows = []
    for label, engines in designs.items():
        s = schedule_layers(het_cfg(engines), models)
        rep = s.report()
        kinds = {e[3] for e in engines}
        rows.append({"design": label, "dataflows": "+".join(sorted(kinds)),
                     "engines": len(engines), "cycles": rep["cycles"],
                     "utilization": rep["utilization"],
                     "busy": " ".join(f"{k}:{v['busy']:.2f}" for k, v in rep["engines"].items()),
                     "cost_seconds": rep["cost_seconds"],
                     "schedule_ms": round(1000 * rep["schedule_seconds"], 2)})
        print(rows[-1], flush=True)
    return rows


def part_asic(ports_list) -> list:
    from asic_flow import pdks, sta, synth, tools
    from hwgen.emit import component_verilog
    from hwgen.scaleout import interconnect
    lib = pdks.resolve("osu018", None)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    rows = []
    for P in ports_list:
        for kind in ("butterfly", "crossbar", "bus"):
            top = "hwgen_interconnect"
            v = component_verilog(interconnect(kind, P, 32), top)
            t = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="ic-asic-") as tmp:
                work = Path(tmp)
                st = synth.synthesize(yosys, lib, v, top, top, CLOCK_NS, work, timeout=3600)
                tm = sta.analyze(sta_tool, lib, synth.NETLIST, top, top, CLOCK_NS, work)
            rows.append({"ports": P, "interconnect": kind,
                         "area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
                         "fmax_mhz": tm["fmax_mhz"],
                         "words_per_cycle": P if kind != "bus" else 1,
                         "seconds": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
    return rows


def plot_asic(rows) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from common import save_figure
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for kind, mark in (("butterfly", "o-"), ("crossbar", "s-"), ("bus", "^-")):
        rs = sorted((r for r in rows if r["interconnect"] == kind), key=lambda r: r["ports"])
        ports = [r["ports"] for r in rs]
        axes[0].plot(ports, [r["area_mm2"] for r in rs], mark, label=kind)
        axes[1].plot(ports, [r["fmax_mhz"] for r in rs], mark, label=kind)
    for ax, what in zip(axes, ("area (mm^2)", "Fmax (MHz)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ports (pods)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend()
    fig.suptitle("Interconnects alone, 32-bit words, OSU 0.18 um (Yosys + ABC, OpenSTA)")
    save_figure(fig, "scaleout_interconnect")


def plot_gantt(models, engines, name) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from common import save_figure
    s = schedule_layers(het_cfg(engines), models)
    names = [e[0] for e in engines]
    colours = {m: c for (m, _), c in zip(models, ("tab:blue", "tab:orange", "tab:green"))}
    fig, ax = plt.subplots(figsize=(9, 2.4))
    for sl in s.layers:
        if sl.engine == "host":
            continue
        ax.barh(names.index(sl.engine), sl.end - sl.start, left=sl.start, height=0.6,
                color=colours[sl.model], edgecolor="white", linewidth=0.3)
    ax.set_yticks(range(len(names)),
                  [f"{n} ({r}x{c} {d})" for n, r, c, d in engines])
    ax.set_xlabel("cycles")
    for m, c in colours.items():
        ax.barh([0], [0], color=c, label=m)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Schedule of {' + '.join(m for m, _ in models)} "
                 f"({s.makespan} cycles)")
    save_figure(fig, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="pods,hetero,hetero_tenants,asic")
    ap.add_argument("--ports", default="4,8,16,32")
    ap.add_argument("--interconnects", default=",".join(INTERCONNECTS),
                    help="the SOSA multi-pod rows of --part pods to re-plan (the others "
                         "are kept)")
    ap.add_argument("--plot", action="store_true", help="also draw docs/img/scaleout_*.png")
    args = ap.parse_args()
    path = RESULTS / "scaleout.json"
    parts = args.part.split(",")
    new = {}
    if {"pods", "hetero", "hetero_tenants"} & set(parts):
        t = time.perf_counter()
        rn, mb = load_model("resnet18", None, None, PREC), load_model("mobilenet_v2", None,
                                                                      None, PREC)
        print(f"models loaded in {time.perf_counter() - t:.1f} s", flush=True)
    if "pods" in parts:
        new["pods"] = part_pods([("resnet18", rn), ("mobilenet_v2", mb),
                                 ("bert_base_layer", bert_layer())],
                                args.interconnects.split(","))
    if "hetero" in parts:
        new["hetero"] = part_hetero([("resnet18", rn), ("mobilenet_v2", mb)])
    if "hetero_tenants" in parts:   # ResNet-18 and six MobileNetV2s: about equal MACs
        new["hetero_tenants"] = part_hetero([("resnet18", rn)] + [
            (f"mobilenet_v2#{i}", mb) for i in range(MOBILENETS)])
    if "asic" in parts:
        new["asic"] = part_asic([int(p) for p in args.ports.split(",")])
    # the parts not run are kept (read only now: parts may run side by side)
    out = json.loads(path.read_text())["results"] if path.exists() else {}
    if "asic" in new and "asic" in out:   # rows of other port counts are kept
        done = {(r["ports"], r["interconnect"]) for r in new["asic"]}
        new["asic"] = sorted([r for r in out["asic"] if (r["ports"], r["interconnect"])
                              not in done] + new["asic"],
                             key=lambda r: (r["ports"], INTERCONNECTS.index(r["interconnect"])))
    kinds = args.interconnects.split(",")
    if "pods" in new and "pods" in out and set(kinds) != set(INTERCONNECTS):
        # only the SOSA rows of --interconnects are replaced, their ratios against the
        # single array's kept row
        key = lambda r: (r["model"], r["dataflow"], r["pods"], r["tiling"],  # noqa: E731
                         r["interconnect"])
        fresh = {key(r): r for r in new["pods"] if r["interconnect"] in kinds}
        base = {(r["model"], r["dataflow"]): r["cycles"] for r in out["pods"]
                if r["pods"] == 1}
        for r in fresh.values():
            r["vs_monolithic"] = round(base[(r["model"], r["dataflow"])] / r["cycles"], 3)
        new["pods"] = [fresh.pop(key(r), r) for r in out["pods"]] + list(fresh.values())
    out.update(new)
    save("scaleout", out)
    if args.plot and "asic" in out:
        plot_asic(out["asic"])
    if args.plot and "hetero" in parts:
        best = min((r for r in out["hetero"] if r["engines"] == 2 and r["dataflows"] ==
                    "os+ws"), key=lambda r: r["cycles"])
        ws_cols = int(best["design"].split("+")[0].split("x")[1])
        plot_gantt([("resnet18", rn), ("mobilenet_v2", mb)],
                   [("ws", 16, ws_cols, "ws"), ("os", 16, 16 - ws_cols, "os")],
                   "scaleout_gantt")
    for key in ("pods", "hetero", "hetero_tenants", "asic"):
        if key in out:
            print(f"\n## {key}\n")
            print(table(out[key]))


if __name__ == "__main__":
    main()
