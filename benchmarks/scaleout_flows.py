"""Scale-out designs through the flows, with the CLI as a user runs it:

* ``asic``: ``hwgen asic CONFIG --pdk osu018 --clock-ns 10 --memories macro`` on
  examples/pods4_2x2.yaml (four 2x2 WS pods behind a butterfly) and
  examples/het_ws_os.yaml (a WS 2x4 and an OS 4x2 engine): area, macros, area per pod
  or engine, Fmax and the critical path;
* ``fpga``: ``hwgen fpga examples/pods4_2x2.yaml --board ulx3s-85f``: resources and
  Fmax;
* ``run``: ``hwgen run CONFIG --model digits_cnn --sim SIM --images N`` on both designs
  (every layer on the generated RTL, bit-exact against the integer reference) beside
  ``hwgen estimate CONFIG --model digits_cnn --input-shape Nx1x8x8``: cycles against the
  estimate, per layer and in all, and the wall time; ``SIM:N:2`` runs two copies of the
  network side by side (``--model digits_cnn --model digits_cnn``).

    nice python benchmarks/scaleout_flows.py [--part asic,fpga,run] [--designs A.yaml,...]
        [--runs verilator:20,icarus:1,amaranth:1,verilator:20:2]
        updates benchmarks/results/scaleout_flows.json (rows not run are kept)

One run at a time (each is a synthesis); the output directories go to a temporary
directory.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, ROOT, save, table

DESIGNS = ["examples/pods4_2x2.yaml", "examples/het_ws_os.yaml"]
FPGA = [("examples/pods4_2x2.yaml", "ulx3s-85f")]


def hwgen(*argv) -> tuple[int, dict, float]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from hwgen.cli import entry; entry()",
                           *argv, "--json", "-q"], cwd=ROOT, capture_output=True, text=True)
    seconds = round(time.perf_counter() - t, 1)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(f"hwgen {' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.returncode, json.loads(proc.stdout), seconds


def part_asic(tmp: Path, designs) -> list:
    rows = []
    for cfg in designs:
        argv = ["asic", cfg, "--pdk", "osu018", "--clock-ns", "10", "--memories", "macro"]
        code, rep, seconds = hwgen(*argv, "-o", str(tmp / Path(cfg).stem))
        cp, mem = rep["critical_path"], rep["memories"]
        rows.append({
            "command": "hwgen " + " ".join(argv), "design": rep["array"],
            "area_mm2": round(rep["area_um2"] / 1e6, 3),
            "logic_mm2": round(mem["logic_area_um2"] / 1e6, 3),
            "macros": mem["macros"], "macro_mm2": round(mem["macro_area_um2"] / 1e6, 3),
            "units_mm2": {k: round(u["area_um2"] / 1e6, 3)
                          for k, u in sorted(rep["area_by_unit"].items())},
            "roles_mm2": {k: round(r["area_um2"] / 1e6, 3)
                          for k, r in sorted(rep["area_by_block"].items())},
            "cells": rep["cells"], "fmax_mhz": rep["fmax_mhz"],
            "critical_path": f"{cp['start_register']} -> {cp['end_register']}, "
                             f"{cp['stages']} stages, {cp['delay_ns']} ns",
            "power_mw": rep["power_mw"], "synth_s": rep["seconds"]["synth"],
            "seconds": seconds, "exit": code})
        print(rows[-1], flush=True)
    return rows


def part_fpga(tmp: Path, designs) -> list:
    rows = []
    for cfg, board in [(c, b) for c, b in FPGA if c in designs]:
        argv = ["fpga", cfg, "--board", board]
        code, rep, seconds = hwgen(*argv, "-o", str(tmp / f"{Path(cfg).stem}-{board}"))
        res = rep["resources"]
        rows.append({"command": "hwgen " + " ".join(argv), "board": board,
                     **{f"{k}_used": r["used"] for k, r in sorted(res.items())},
                     **{f"{k}_of": r["available"] for k, r in sorted(res.items())},
                     "fmax_mhz": rep["fmax_mhz"].get("sync"),
                     "constraint_mhz": rep["constraint_mhz"], "timing_met": rep["timing_met"],
                     "seconds": seconds, "exit": code})
        print(rows[-1], flush=True)
    return rows


def part_run(designs, runs) -> list:
    rows = []
    for cfg in designs:
        for sim, n, models in runs:
            many = ["--model", "digits_cnn"] * models
            argv = ["run", cfg, *many, "--sim", sim, "--images", str(n)]
            code, rep, seconds = hwgen(*argv)
            _, est, est_s = hwgen("estimate", cfg, *many, "--input-shape", f"{n}x1x8x8")
            on = [d for d in rep["layers"] if d["where"] != "host"]
            if "tenants" in est:   # two networks on pods of their own
                est_layers = {(t["model"], d["name"]): d["cycles"] for t in est["tenants"]
                              for d in t["layers"]}
            else:
                est_layers = {(d.get("model") if models > 1 else None, d["name"]): d["cycles"]
                              for d in est["layers"]}
            rows.append({
                "command": "hwgen " + " ".join(argv), "sim": sim, "images": n,
                "correct": rep["correct"], "cycles": rep["cycles"],
                "estimate_cycles": est["cycles"],
                "layers_equal": {(d.get("model"), d["name"]): d["cycles"]
                                 for d in rep["layers"]} == est_layers,
                "layers": " ".join(f"{d['model'] + '/' if 'model' in d else ''}"
                                   f"{d['name']}:{d['cycles']}" for d in on),
                "where": " ".join(f"{d['name']}:{d.get('grid') or d.get('engine')}"
                                  for d in on) + (f" split {rep['split']}" if "split" in rep
                                                  else ""),
                "rtl_accuracy": rep.get("accuracy", {}).get("rtl") if models == 1 else
                {m: a["rtl"] for m, a in rep.get("accuracy", {}).items()},
                "sim_seconds": rep["sim_seconds"], "seconds": seconds,
                "estimate_seconds": est_s, "exit": code})
            print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="asic,fpga")
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--runs", default="verilator:20,icarus:1,amaranth:1,verilator:20:2",
                    help="simulators, image counts and (optionally) how many copies of "
                    "the model run side by side, of --part run")
    args = ap.parse_args()
    parts, designs = args.part.split(","), args.designs.split(",")
    new = {}
    with tempfile.TemporaryDirectory(prefix="scaleout-flows-") as tmp:
        if "asic" in parts:
            new["asic"] = part_asic(Path(tmp), designs)
        if "fpga" in parts:
            new["fpga"] = part_fpga(Path(tmp), designs)
        if "run" in parts:
            runs = [(r.split(":")[0], int(r.split(":")[1]), int((r.split(":") + ["1"])[2]))
                    for r in args.runs.split(",")]
            new["run"] = part_run(designs, runs)
    path = RESULTS / "scaleout_flows.json"
    out = json.loads(path.read_text())["results"] if path.exists() else {}
    for key, rows in new.items():   # a row replaces the one of its command
        done = {r["command"] for r in rows}
        out[key] = [r for r in out.get(key, []) if r["command"] not in done] + rows
    save("scaleout_flows", out)
    for key in ("asic", "fpga", "run"):
        if key in out:
            print(f"\n## {key}\n")
            print(table(out[key]))


if __name__ == "__main__":
    main()
