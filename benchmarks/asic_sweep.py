"""ASIC cost of the PE array against array size and operand precision (OSU 0.18 um).

Each point is a full ``asic_flow.run``: Yosys/ABC synthesis to the OSU 0.18 um cells,
OpenSTA timing, power at the default activity and at the activity of a GEMM simulated
on the RTL. Buffers are kept tiny (16 words per bank) so that the design stays small;
the per-MAC figures use the PE array block alone (its area and, for energy, its share of
the simulated power), which is the number that does not depend on the buffers. fmax is
the whole design's (its critical path is often in the host interface, see ``crit``).

``pj_per_mac`` is the array block's power while running the workload, divided by the
array's peak MAC rate at 100 MHz (every PE busy). The workload is small and mostly
loading and reading back, so the array's real utilization, and its measured activity,
falls with array size: compare precisions and dataflows at one size, not sizes.
``mw_per_gops`` is the whole design's simulated power over its peak GOPS (a MAC is two
operations). Flip-flop clock power, paid every cycle, dominates all power figures.

    python benchmarks/asic_sweep.py [--sizes 2,4,8] [--bits 4,8,16] [--workload gemm:8x8x8]
        [--activity-method block|net]
    python benchmarks/asic_sweep.py --sizes 16 --bits 4 --merge [--synth-timeout 7200]
    python benchmarks/asic_sweep.py --plot-only

The simulated power uses the per-block activity method by default (an RTL simulation;
``--activity-method net`` simulates every point's gate-level netlist instead, which is
slow for the 8x8 int16 points' 300k cells).

Writes benchmarks/results/asic_sweep.json after every point, prints a Markdown table, and
plots docs/img/asic_sweep.png. Takes minutes to hours (one synthesis per point; 8x8 int16
takes about 12 minutes, and synthesis time grows with the cell count). ``--merge`` keeps
the saved points that this run does not repeat, so big points can be added one at a time.
A point whose synthesis overruns ``--synth-timeout`` is recorded under ``failed``.
"""
import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import RESULTS, ROOT, save, table  # noqa: E402

from asic_flow import AsicOptions, ToolFailed, run  # noqa: E402
from hwgen.config.loader import config_from_dict  # noqa: E402

CLOCK_NS = 10.0
PDK = "osu018"
DATAFLOWS = ("output_stationary", "weight_stationary")


def config(n: int, bits: int, dataflow: str, pe=None):
    """The sweep's design at one point; ``pe``: ``pipeline.pe`` (None: the default)."""
    tag = "os" if dataflow == "output_stationary" else "ws"
    return config_from_dict({
        "name": f"sweep{n}x{n}_{tag}_int{bits}",
        "array": {"rows": n, "cols": n, "dataflow": dataflow},
        "precision": {"in_bits": bits, "out_bits": bits, "max_k": 64, "mult_bits": 8},
        "buffers": {b: {"depth": 16, "banks": 2} for b in ("input", "weight", "acc")},
        "host": {"beat_elems": 2},
        **({"pipeline": {"pe": pe}} if pe is not None else {}),
    }, source="asic_sweep")


def point(cfg, workload: str, seed: int, work: Path, method: str = "block",
          synth_timeout: float = 3600) -> dict:
    t0 = time.monotonic()
    rep = run(cfg, AsicOptions(clock_ns=CLOCK_NS, pdk=PDK, workload=workload, seed=seed,
                               activity_method=method, synth_timeout=synth_timeout),
              work / cfg.name)
    wall = time.monotonic() - t0
    pes = cfg.array.pes
    arr = rep.area.by_role["pe_array"]
    ps = rep.power_simulated
    arr_p = ps.blocks["array"]
    macs_per_s = pes * 1e3 / CLOCK_NS * 1e6  # every PE busy at the clock
    gops = 2 * macs_per_s / 1e9
    cp = rep.timing.critical_path or {}
    secs = rep.seconds
    array, dataflow, bits = _key(cfg)
    return {
        "array": array,
        "dataflow": dataflow,
        "bits": bits,
        "pe_stages": cfg.pe_stages,
        "cells": rep.area.cells,
        "area_mm2": round(rep.area.area_um2 / 1e6, 4),
        "array_share": round(arr["share"], 3),
        "um2_per_mac": round(arr["area_um2"] / pes, 1),
        "fmax_mhz": rep.timing.fmax_mhz,
        "crit": (cp.get("start_register") or "-").split("/")[0],
        "crit_path": f"{cp.get('start_register', '-')} -> {cp.get('end_register', '-')}",
        "crit_stages": cp.get("stages"),
        "power_mw": round(rep.power.total_mw, 2),
        "power_sim_mw": round(ps.total_mw, 2),
        "array_act": arr_p["activity"],
        "array_mw": round(arr_p["total_mw"], 3),
        "pj_per_mac": round(arr_p["total_mw"] * 1e-3 / macs_per_s * 1e12, 3),
        "mw_per_gops": round(ps.total_mw / gops, 2),
        "synth_s": secs["synth"],
        "sta_s": round(secs["sta"] + secs.get("power_sim", 0), 2),
        "sim_s": secs.get("simulate", secs.get("simulate_gates")),
        "wall_s": round(wall, 1),
    }


def _key(cfg) -> tuple:
    return f"{cfg.R}x{cfg.C}", cfg.array.dataflow.split("_")[0], cfg.precision.in_bits


def _row_key(r: dict) -> tuple:
    return r["array"], r["dataflow"], r["bits"]


def _order(r: dict) -> tuple:
    return int(r["array"].split("x")[0]), r["bits"], r["dataflow"]


def markdown(rows: list[dict]) -> str:
    return table(rows, float_format="g")


def plot(rows: list[dict], path: Path, workload: str) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for df, style in (("output", "-o"), ("weight", "--s")):
        for bits in sorted({r["bits"] for r in rows}):
            pts = sorted((r for r in rows if r["dataflow"] == df and r["bits"] == bits),
                         key=lambda r: int(r["array"].split("x")[0]))
            if not pts:
                continue
            x = [int(r["array"].split("x")[0]) ** 2 for r in pts]
            label = f"{df[0].upper()}S int{bits}"
            axes[0].plot(x, [r["um2_per_mac"] for r in pts], style, label=label)
            axes[1].plot(x, [r["fmax_mhz"] for r in pts], style, label=label)
            axes[2].plot(x, [r["pj_per_mac"] for r in pts], style, label=label)
    titles = ("PE array area per MAC (um^2)", "fmax of the design (MHz)",
              f"PE array power in {workload} / peak MAC rate (pJ)")
    for ax, t in zip(axes, titles):
        ax.set_title(t, fontsize=10)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("MACs (PEs)")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"hwgen on OSU 0.18 um (Yosys/ABC + OpenSTA, {CLOCK_NS:g} ns clock, "
                 "simulated activity)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2,4", help="array sizes N (NxN), comma-separated")
    ap.add_argument("--bits", default="4,8,16", help="operand widths, comma-separated")
    ap.add_argument("--dataflows", default="os,ws")
    ap.add_argument("--workload", default="gemm:8x8x8")
    ap.add_argument("--pe", type=int, default=None,
                    help="pipeline.pe of every point (default: the design's default for "
                         "its operand width); a point's row records it as pe_stages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--activity-method", choices=("block", "net"), default="block")
    ap.add_argument("--synth-timeout", type=float, default=3600,
                    help="give up a point's synthesis after this many seconds")
    ap.add_argument("--merge", action="store_true",
                    help="keep the saved points (and failures) that this run does not repeat")
    ap.add_argument("--work", type=Path, default=None,
                    help="keep each point's flow files (netlist, timing report) under this "
                         "directory (default: a temporary one, removed at the end)")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw the plot from benchmarks/results/asic_sweep.json")
    args = ap.parse_args()
    img = ROOT / "docs" / "img" / "asic_sweep.png"
    if args.plot_only:
        saved = json.loads((RESULTS / "asic_sweep.json").read_text())["results"]
        plot(saved["rows"], img, saved["workload"])
        print(markdown(saved["rows"]))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    bits = [int(x) for x in args.bits.split(",")]
    dfs = [d for d in DATAFLOWS if d[0] + "s" in args.dataflows.split(",")]
    todo = [config(n, b, df, args.pe) for n in sizes for b in bits for df in dfs]
    mine, failed_here = [], []
    saved_path = RESULTS / "asic_sweep.json"

    def write():
        # Re-read the saved sweep on every write, so two merging runs on other points
        # (one per core) do not drop each other's results.
        rows = list(mine)
        failed = list(failed_here)
        if args.merge and saved_path.is_file():
            saved = json.loads(saved_path.read_text())["results"]
            if (saved["workload"], saved["activity_method"]) != (args.workload,
                                                                 args.activity_method):
                raise SystemExit(f"--merge: the saved sweep used {saved['workload']} with the "
                                 f"{saved['activity_method']} method; run with the same "
                                 "settings")
            done = {_row_key(r) for r in rows + failed}
            rows += [r for r in saved["rows"] if _row_key(r) not in done]
            failed += [f for f in saved.get("failed", []) if _row_key(f) not in done]
        rows.sort(key=_order)
        failed.sort(key=_order)
        save("asic_sweep", {"pdk": PDK, "clock_ns": CLOCK_NS, "workload": args.workload,
                            "activity_method": args.activity_method, "rows": rows,
                            "failed": failed})
        return rows, failed

    if args.merge:
        write()  # checks the saved settings before the first synthesis
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(args.work)) if args.work is not None
          else tempfile.TemporaryDirectory(prefix="asic-sweep-")) as tmp:
        for cfg in todo:
            try:
                r = point(cfg, args.workload, args.seed, Path(tmp), args.activity_method,
                          args.synth_timeout)
                mine.append(r)
            except ToolFailed as e:
                array, df, bits_ = _key(cfg)
                r = {"array": array, "dataflow": df, "bits": bits_, "error": str(e)}
                failed_here.append(r)
            print(json.dumps(r), flush=True)
            write()
    rows, failed = write()
    plot(rows, img, args.workload)
    print(markdown(rows))
    print(f"wrote {saved_path} and {img}")
    for f in failed:
        print(f"not measured: {f['array']} {f['dataflow']} int{f['bits']}: {f['error']}")


if __name__ == "__main__":
    main()
