"""Simulation speed of the generated RTL for a 16x16 array (ws16 / os16): Verilator build
time, and simulated cycles per second on Verilator and Icarus with the RTL running free
(stimulus and results through files, no Python per cycle). Each simulator runs two GEMM
sizes; the speed is the difference in cycles over the difference in run time, so process
start-up and file loading cancel out.

    python benchmarks/sim_speed.py [--presets ws16 os16]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import save, table

from hwgen.config import load_config
from hwgen.emit import generate_verilog
from hwgen.compiler import build_gemm_program
from hwgen.models.gemm import gemm, random_operands
from sim_tb.runner import run_program


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="+", default=["ws16", "os16"])
    args = ap.parse_args()
    sizes = {"verilator": (64, 256), "icarus": (16, 40)}
    rows = []
    for preset in args.presets:
        cfg = load_config(preset)
        t0 = time.perf_counter()
        v = generate_verilog(cfg)
        gen_s = time.perf_counter() - t0
        for sim, pair in sizes.items():
            runs = []
            with tempfile.TemporaryDirectory() as cache:  # the first build is cold, measured
                for S in pair:
                    a, b = random_operands(np.random.default_rng(1), S, S, S, cfg.precision.in_bits)
                    prog = build_gemm_program(cfg, S, S, S, a, b)
                    res = run_program(v, cfg.params(), prog.cmds, prog.din, prog.n_dout,
                                      sim=sim, build_root=Path(cache))
                    if not (prog.decode(cfg, res.dout) == gemm(a, b)).all():
                        raise SystemExit(f"{preset} on {sim}: result is wrong")
                    runs.append(res)
            (r1, r2) = runs
            rows.append({"preset": preset, "sim": sim,
                         "gemms": f"{pair[0]}^3, {pair[1]}^3 (bit-exact)",
                         "cycles": f"{r1.cycles}, {r2.cycles}",
                         "run_s": f"{r1.run_seconds:.2f}, {r2.run_seconds:.2f}",
                         "build_s": round(r1.build_seconds, 1), "generate_s": round(gen_s, 1),
                         "cycles_per_s": int((r2.cycles - r1.cycles)
                                             / max(r2.run_seconds - r1.run_seconds, 1e-3))})
            print(rows[-1], flush=True)
    print(table(rows))
    save("sim_speed", rows)


if __name__ == "__main__":
    main()
