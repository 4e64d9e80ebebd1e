"""FPGA resources and Fmax against array size: iCE40 UP5K (icebreaker) and ECP5-85F
(ulx3s-85f), both dataflows, int8, through the full flow (``fpga.build``: Yosys, nextpnr,
bitstream packing) of the UART board top.

Every point is the ``ice40`` preset with only the array changed: int8 operands, 24-bit
accumulators, 8-bit requantizer scale, three scratchpads of 2 banks x 256 words (one
block RAM per bank and lane group, so buffer logic stays small and the PE array
dominates), 2 elements per host beat. A series grows the N x N array until the first size
that does not fit (recorded with the overflowing resource) or whose build exceeds the
per-point time limit (recorded as timed out); nothing larger is tried.

Multipliers go to the DSP blocks (``FpgaOptions(..., dsp_fallback=False)``): a size whose
multipliers need more DSP blocks than the device has ends the series, rather than
falling back to multipliers in logic cells as ``hwgen fpga`` does, so every point of a
series has the same architecture and the per-MAC figures compare.

LUT is logic cells on iCE40 (LUT4 + carry + FF sites), LUT4s on ECP5. The per-MAC
figures are totals (bridge, buffers and control included) divided by the PEs, and the
marginal cost between two consecutive fitting sizes. Fmax is nextpnr's estimate for the
single clock with the board oscillator as the timing target (12 MHz / 25 MHz), seed 1.

    python benchmarks/fpga_sweep.py [--quick] [--jobs 2] [--timeout 900] [--plot-only]

The committed results came from ``--jobs 2 --timeout 2100`` (the 8x8 ECP5 builds took
19-21 minutes on a loaded 2-core machine, over the default limit).

Points are built in a child process each (killed with its tools at the time limit) and
cached under build/fpga_sweep/ so an interrupted sweep resumes; ``--fresh`` rebuilds.
Writes benchmarks/results/fpga_sweep.json and docs/img/fpga_sweep.png; a run limited by
``--quick`` / ``--board`` / ``--dataflow`` / ``--sizes`` writes fpga_sweep_quick.json or
fpga_sweep_subset.json instead, and no plot. A point that timed out is built again when
``--timeout`` is larger than the limit it had.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import RESULTS, ROOT, save, table

BASE_PRESET = "ice40"
DATAFLOWS = ("weight_stationary", "output_stationary")
SERIES = {  # board -> array sizes N (N x N PEs), tried in order
    "icebreaker": (2, 3, 4),
    "ulx3s-85f": (2, 4, 6, 8, 10, 11, 12, 16),
}
QUICK = {"icebreaker": (2, 3)}
RESOURCES = ("LUT", "FF", "BRAM", "DSP")
WORK = ROOT / "build" / "fpga_sweep"
CACHE_VERSION = 1


def point_config(n: int, dataflow: str):
    from hwgen.config.loader import config_dict, config_from_dict, load_config

    d = config_dict(load_config(BASE_PRESET))
    d["name"] = f"sweep-{'ws' if dataflow == 'weight_stationary' else 'os'}-{n}x{n}"
    d["array"] = {"rows": n, "cols": n, "dataflow": dataflow}
    return config_from_dict(d, f"fpga_sweep {d['name']}")


def point_key(board: str, n: int, dataflow: str, target: float | None) -> str:
    from hwgen.config.loader import config_hash

    ident = json.dumps([CACHE_VERSION, board, config_hash(point_config(n, dataflow)), target])
    return f"{board}-{dataflow}-{n}x{n}-{hashlib.sha256(ident.encode()).hexdigest()[:10]}"


# ---- one point (runs in a child process) --------------------------------------------
def build_point(spec: dict) -> dict:
    """Build one point; returns its record (fits or the overflowing resource)."""
    import fpga
    from fpga import flow

    cfg = point_config(spec["n"], spec["dataflow"])
    rec = {"board": spec["board"], "dataflow": spec["dataflow"], "array": f"{spec['n']}x{spec['n']}",
           "pes": spec["n"] ** 2}
    out = Path(spec["out"])
    t0 = time.monotonic()
    try:
        r = fpga.build(cfg, fpga.FpgaOptions(spec["board"], clock_mhz=spec["target"],
                                             dsp_fallback=False), out,
                       progress=lambda step: print(f"[{time.monotonic() - t0:6.0f} s] {step}",
                                                   flush=True))
    except flow.DoesNotFit as e:
        rec.update(fits=False, status="does not fit", overflow={
            "resource": e.resource, "needed": e.needed, "available": e.available},
            message=str(e))
    else:
        rec.update(fits=True, status="fits", device=r.device,
                   constraint_mhz=r.constraint_mhz, timing_met=r.timing_met,
                   fmax_mhz=round(min(r.fmax_mhz.values()), 2) if r.fmax_mhz else None,
                   seconds_by_step=r.seconds, tools=r.tools)
        if r.critical_path is not None:
            rec["critical_path"] = r.critical_path.as_dict()
        for k in RESOURCES:
            rec[k] = r.resources[k].used
            rec[f"{k}_available"] = r.resources[k].available
        shutil.rmtree(out, ignore_errors=True)  # the bitstream is not needed; the record has the numbers
    rec["build_seconds"] = round(time.monotonic() - t0, 1)
    return rec


def run_point(board: str, n: int, dataflow: str, target: float | None, timeout: float,
              fresh: bool, log) -> dict:
    """The cached record of a point, or build it in a child process (own process group,
    so the Yosys/nextpnr processes it starts are killed with it at the time limit)."""
    key = point_key(board, n, dataflow, target)
    rec_file = WORK / "points" / f"{key}.json"
    if rec_file.exists() and not fresh:
        rec = json.loads(rec_file.read_text())
        # A build that timed out is tried again when given more time.
        if rec["status"] != "timed out" or rec.get("limit_seconds", rec["build_seconds"]) >= timeout:
            log(f"{board} {dataflow} {n}x{n}: cached ({rec['status']})")
            return rec
    rec_file.parent.mkdir(parents=True, exist_ok=True)
    spec = {"board": board, "n": n, "dataflow": dataflow, "target": target,
            "out": str(WORK / "builds" / key), "record": str(rec_file)}
    log(f"{board} {dataflow} {n}x{n}: building (limit {timeout:g} s)")
    t0 = time.monotonic()
    child_log = WORK / "logs" / f"{key}.log"
    child_log.parent.mkdir(parents=True, exist_ok=True)
    with open(child_log, "w") as lf:
        proc = subprocess.Popen([sys.executable, __file__, "--point", json.dumps(spec)],
                                stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            shutil.rmtree(spec["out"] + ".failed", ignore_errors=True)
            for p in Path(spec["out"]).parent.glob(f".{Path(spec['out']).name}.*"):
                shutil.rmtree(p, ignore_errors=True)
            rec = {"board": board, "dataflow": dataflow, "array": f"{n}x{n}", "pes": n * n,
                   "fits": False, "status": "timed out", "limit_seconds": timeout,
                   "message": f"build not finished after {timeout:g} s; larger sizes not tried",
                   "build_seconds": round(time.monotonic() - t0, 1)}
            rec_file.write_text(json.dumps(rec, indent=1) + "\n")
            log(f"{board} {dataflow} {n}x{n}: timed out")
            return rec
    if code != 0 or not rec_file.exists():
        tail = child_log.read_text().strip().splitlines()[-5:]
        raise SystemExit(f"{board} {dataflow} {n}x{n} failed (exit {code}); see {child_log}:\n"
                         + "\n".join(tail))
    rec = json.loads(rec_file.read_text())
    log(f"{board} {dataflow} {n}x{n}: {rec['status']} in {rec['build_seconds']:g} s"
        + (f", {rec['LUT']} LUT, {rec['FF']} FF, {rec['DSP']} DSP, {rec['fmax_mhz']} MHz"
           if rec["fits"] else f" ({rec['message']})"))
    return rec


def run_series(board: str, dataflow: str, sizes, target, timeout, fresh, log) -> list[dict]:
    out = []
    for n in sizes:
        rec = run_point(board, n, dataflow, target, timeout, fresh, log)
        out.append(rec)
        if not rec["fits"]:
            break
    return out


def add_per_mac(series: list[dict]) -> None:
    prev = None
    for r in series:
        if not r["fits"]:
            continue
        for k in ("LUT", "FF", "DSP"):
            r[f"{k}_per_mac"] = round(r[k] / r["pes"], 2)
            if prev is not None:
                r[f"{k}_per_added_mac"] = round((r[k] - prev[k]) / (r["pes"] - prev["pes"]), 2)
        prev = r


# ---- plot ----------------------------------------------------------------------------
def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    styles = {"weight_stationary": "-", "output_stationary": "--"}
    markers = {"icebreaker": "o", "ulx3s-85f": "s"}
    names = {"icebreaker": "iCE40 UP5K", "ulx3s-85f": "ECP5-85F"}
    for (board, df) in sorted({(r["board"], r["dataflow"]) for r in rows}):
        pts = [r for r in rows if r["board"] == board and r["dataflow"] == df and r["fits"]]
        if not pts:
            continue
        pes = [r["pes"] for r in pts]
        label = f"{names.get(board, board)}, {df.replace('_', ' ')}"
        kw = {"ls": styles[df], "marker": markers.get(board, "x"), "label": label}
        axes[0].plot(pes, [r["LUT_per_mac"] for r in pts], **kw)
        axes[1].plot(pes, [r["FF_per_mac"] for r in pts], **kw)
        axes[2].plot(pes, [r["fmax_mhz"] for r in pts], **kw)
    ticks = sorted({r["pes"] for r in rows if r["fits"]})
    for ax, what in zip(axes, ("LUTs per MAC (total / PEs)", "FFs per MAC (total / PEs)",
                               "Fmax, MHz (nextpnr estimate)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks], rotation=45)
        ax.minorticks_off()
        ax.set_xlabel("PEs (int8 MACs)")
        ax.set_ylabel(what)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("UART board top, ice40 preset buffers, int8; iCE40 LUT = logic cells")
    stops = [f"{names.get(r['board'], r['board'])} {r['dataflow'].split('_')[0]} {r['array']}: "
             + (f"does not fit ({r['overflow']['resource']} {r['overflow']['needed']}"
                f"/{r['overflow']['available']})" if r["status"] == "does not fit"
                else f"{r['status']} ({r['build_seconds']:.0f} s)")
             for r in rows if not r["fits"]]
    fig.text(0.01, 0.01, "not plotted: " + "; ".join(stops), fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def summary_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        fit = r["fits"]
        out.append({
            "board": r["board"], "dataflow": r["dataflow"][:6], "array": r["array"],
            **{k: r[k] if fit else "-" for k in RESOURCES},
            "LUT/MAC": r.get("LUT_per_mac", "-"), "FF/MAC": r.get("FF_per_mac", "-"),
            "fmax_mhz": r.get("fmax_mhz", "-"), "build_s": r["build_seconds"],
            "status": r["status"] if fit or r["status"] == "timed out"
            else f"does not fit: {r['overflow']['resource']} {r['overflow']['needed']}"
                 f"/{r['overflow']['available']}",
        })
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="iCE40, one dataflow, 2x2 and 3x3")
    ap.add_argument("--jobs", type=int, default=1, help="series built at once (default 1)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per build (default 900)")
    ap.add_argument("--target-mhz", type=float, default=None,
                    help="timing target (default: the board oscillator)")
    ap.add_argument("--board", action="append", choices=sorted(SERIES),
                    help="only this board (repeatable)")
    ap.add_argument("--dataflow", action="append", choices=DATAFLOWS)
    ap.add_argument("--sizes", help="comma-separated array sizes N instead of the defaults")
    ap.add_argument("--fresh", action="store_true", help="ignore cached points")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw docs/img/fpga_sweep.png from the results file")
    ap.add_argument("--point", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.point:
        spec = json.loads(args.point)
        rec = build_point(spec)
        Path(spec["record"]).write_text(json.dumps(rec, indent=1) + "\n")
        return
    img = ROOT / "docs" / "img" / "fpga_sweep.png"
    if args.plot_only:
        plot(json.loads((RESULTS / "fpga_sweep.json").read_text())["results"]["points"], img)
        return

    series = SERIES if not args.quick else QUICK
    dataflows = args.dataflow or (DATAFLOWS if not args.quick else ("output_stationary",))
    if args.sizes:
        sizes = tuple(int(x) for x in args.sizes.split(","))
        series = {b: sizes for b in series}
    jobs = [(b, df, sizes) for b, sizes in series.items() if not args.board or b in args.board
            for df in dataflows]
    start = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - start:7.0f} s] {msg}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda j: run_series(*j, args.target_mhz, args.timeout,
                                                     args.fresh, log), jobs))
    rows = []
    for s in results:
        add_per_mac(s)
        rows += s
    print(table(summary_rows(rows), ".2f"))
    data = {
        "about": {
            "base_preset": BASE_PRESET,
            "config": "int8, acc 24 bits, requant scale 8 bits, buffers 2 banks x 256 words "
                      "each, host beat 2 elements; only rows = cols and the dataflow vary",
            "timing_target_mhz": args.target_mhz or "board oscillator",
            "timeout_seconds": args.timeout,
            "LUT": "logic cells (ICESTORM_LC) on iCE40, TRELLIS_COMB (LUT4) on ECP5",
            "multipliers": "DSP blocks only: a DSP overflow ends a series (dsp_fallback=False)",
            "per_mac": "total / PEs; per_added_mac: difference to the previous fitting size",
        },
        "points": rows,
    }
    # A run restricted to some series or sizes leaves the full results alone.
    subset = args.quick or args.sizes or args.board or args.dataflow
    path = save("fpga_sweep_quick" if args.quick else "fpga_sweep_subset" if subset
                else "fpga_sweep", data)
    print(f"wrote {path}")
    if not subset:
        plot(rows, img)
        print(f"wrote {img}")


if __name__ == "__main__":
    main()
