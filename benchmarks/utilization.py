"""Utilization of a 256x256x256 GEMM on the 16x16 presets, both dataflows.

* compute phase: one COMPUTE over operands already resident in the buffers;
* end to end: loading A and B over the host interface at R elements per beat,
  computing and reading C back, with the default (double-buffered) mapping and with one
  chunk (load everything, compute, read).

The figures come from the cycle model; ``--sim verilator`` also runs each program on the
generated RTL, checks the result bit for bit and reports the measured cycles.

    python benchmarks/utilization.py [--sim verilator] [--size 256]
"""
import argparse

import numpy as np

from common import save, table

from hwgen.config import MappingConfig, load_config
from hwgen.compiler import build_gemm_program
from hwgen.models.gemm import gemm, random_operands
from hwgen.models.perf import engine_cycles, program_timing, report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", choices=("verilator", "icarus"))
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    S = args.size
    rows = []
    for preset in ("ws16", "os16"):
        cfg = load_config(preset)
        pes = cfg.array.pes
        d = engine_cycles(cfg, S, S, S)
        rows.append({"preset": preset, "what": "compute phase (resident)", "cycles": d,
                     "utilization": S ** 3 / (pes * d), "measured": "-"})
        for label, mp in (("end to end, default mapping", None),
                          ("end to end, one chunk", MappingConfig(S, S, S))):
            a, b = random_operands(np.random.default_rng(1), S, S, S, cfg.precision.in_bits)
            prog = build_gemm_program(cfg, S, S, S, a, b, mapping=mp)
            t = program_timing(cfg, prog.cmds)
            rep = report(cfg, t)
            row = {"preset": preset, "what": f"{label} {prog.chunks}", "cycles": t.cycles,
                   "utilization": rep["utilization"], "measured": "-"}
            if args.sim:
                from hwgen.emit import generate_verilog
                from sim_tb.runner import run_program
                res = run_program(generate_verilog(cfg), cfg.params(), prog.cmds, prog.din,
                                  prog.n_dout, sim=args.sim)
                ok = (prog.decode(cfg, res.dout) == gemm(a, b)).all()
                row["measured"] = f"{res.cycles} cycles, compute {res.compute_cycles}, " \
                                  f"{'bit-exact' if ok else 'WRONG'}"
                if mp is not None and not ok:
                    raise SystemExit("simulation result is wrong")
            rows.append(row)
    print(table(rows))
    save("utilization", rows)


if __name__ == "__main__":
    main()
