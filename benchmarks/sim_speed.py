"""Simulation speed of the generated RTL for a 16x16 array (ws16 / os16): Verilator build
time, and simulated cycles per second on Verilator and Icarus with the RTL running free
(stimulus and results through files, no Python per cycle).

    python benchmarks/sim_speed.py [--presets ws16 os16] [--size 64] [--icarus-size 32]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import save, table

from hwgen.config import load_config
from hwgen.emit import generate_verilog
from hwgen.host.program import build_gemm_program
from hwgen.models.gemm import gemm, random_operands
from sim_tb.runner import run_program


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="+", default=["ws16", "os16"])
    ap.add_argument("--size", type=int, default=128, help="GEMM size on Verilator")
    ap.add_argument("--icarus-size", type=int, default=32, help="GEMM size on Icarus")
    args = ap.parse_args()
    rows = []
    for preset in args.presets:
        cfg = load_config(preset)
        t0 = time.perf_counter()
        v = generate_verilog(cfg)
        gen_s = time.perf_counter() - t0
        for sim, S in (("verilator", args.size), ("icarus", args.icarus_size)):
            a, b = random_operands(np.random.default_rng(1), S, S, S, cfg.precision.in_bits)
            prog = build_gemm_program(cfg, S, S, S, a, b)
            with tempfile.TemporaryDirectory() as cache:  # cold build, measured
                res = run_program(v, cfg.params(), prog.cmds, prog.din, prog.n_dout, sim=sim,
                                  build_root=Path(cache))
            ok = (prog.decode(cfg, res.dout) == gemm(a, b)).all()
            rows.append({"preset": preset, "sim": sim, "gemm": f"{S}^3", "cycles": res.cycles,
                         "bit_exact": bool(ok), "generate_s": round(gen_s, 1),
                         "build_s": round(res.build_seconds, 1),
                         "run_s": round(res.run_seconds, 2),
                         "cycles_per_s": int(res.cycles / res.run_seconds)})
            print(rows[-1], flush=True)
    print(table(rows))
    save("sim_speed", rows)


if __name__ == "__main__":
    main()
