"""Weight-, output- and input-stationary side by side: the cycles and utilization of GEMM
layer shapes on the three 16x16 presets (ws16, os16, is16).

The shapes are ResNet-18's convolutions at 224x224 lowered with im2col (M output pixels,
K = input channels x kernel, N output channels: M large and N small early, M small and N
large late), its classifier at batch 1 and 16, and two GEMMs with one small and one
large outer dimension each way round. Each row is the exact cycle model of the program
the compiler emits with its default (searched) mapping, from the first command to the
last result beat (host link included); *compute* is the engine's busy cycles alone. An
input-stationary array streams N (its tile period is max(N, 2R + C - 2)), a
weight-stationary one M, an output-stationary one K.

``--sim verilator`` (or ``icarus``) also runs the shapes with at most ``--sim-macs``
MACs on the generated RTL of each preset, checks the result bit for bit against the
golden model and reports the measured cycles.

    python benchmarks/is_dataflow.py [--sim verilator] [--sim-macs 9000000]
"""
import argparse
import time

import numpy as np

from common import save, table

from hwgen.compiler import build_gemm_program, default_mapping
from hwgen.config import load_config
from hwgen.models.gemm import gemm, random_operands
from hwgen.models.perf import gemm_timing, program_timing

PRESETS = ("ws16", "os16", "is16")
#: (label, M, K, N)
SHAPES = [
    ("resnet18 conv1 7x7/2", 112 * 112, 3 * 49, 64),
    ("resnet18 layer1 3x3", 56 * 56, 64 * 9, 64),
    ("resnet18 layer2 3x3", 28 * 28, 128 * 9, 128),
    ("resnet18 layer3 3x3", 14 * 14, 256 * 9, 256),
    ("resnet18 layer4 3x3", 7 * 7, 512 * 9, 512),
    ("resnet18 layer4 1x1/2 downsample", 7 * 7, 256, 512),
    ("resnet18 fc, batch 1", 1, 512, 1000),
    ("resnet18 fc, batch 16", 16, 512, 1000),
    ("M large, N small", 4096, 256, 8),
    ("M small, N large", 8, 256, 4096),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", choices=("verilator", "icarus"))
    ap.add_argument("--sim-macs", type=int, default=9_000_000,
                    help="simulate the shapes with at most this many MACs")
    args = ap.parse_args()
    cfgs = {p: load_config(p) for p in PRESETS}
    rows, raw = [], []
    for label, M, K, N in SHAPES:
        row = {"layer": label, "M x K x N": f"{M}x{K}x{N}"}
        best = None
        for p, cfg in cfgs.items():
            mp = default_mapping(cfg, M, K, N)
            t = gemm_timing(cfg, M, K, N, mp)
            util = M * K * N / (cfg.array.pes * t.cycles)
            comp = M * K * N / (cfg.array.pes * t.compute_cycles)
            rec = {"layer": label, "M": M, "K": K, "N": N, "preset": p,
                   "dataflow": cfg.dataflow.short, "cycles": t.cycles,
                   "compute_cycles": t.compute_cycles, "utilization": round(util, 4),
                   "compute_utilization": round(comp, 4), "host_beats": t.host_beats,
                   "mapping": [mp.tile_m, mp.tile_k, mp.tile_n, "".join(mp.order)]}
            if args.sim and M * K * N <= args.sim_macs:
                rec.update(simulate(cfg, M, K, N, mp, args.sim))
            raw.append(rec)
            row[f"{cfg.dataflow.short} cycles (util.)"] = f"{t.cycles:,} ({util:.3f})"
            if best is None or t.cycles < best[1]:
                best = (cfg.dataflow.short, t.cycles)
        row["fastest"] = best[0]
        rows.append(row)
    print(table(rows))
    if args.sim:
        sims = [r for r in raw if "measured_cycles" in r]
        print()
        print(table([{"layer": r["layer"], "preset": r["preset"], "model": r["cycles"],
                      "measured": r["measured_cycles"], "bit-exact": r["bit_exact"],
                      "sim seconds": r["sim_seconds"]} for r in sims]))
        if not all(r["bit_exact"] and r["measured_cycles"] == r["cycles"] for r in sims):
            raise SystemExit("a simulation differs from the golden model or the cycle model")
    save("is_dataflow", raw)


def simulate(cfg, M, K, N, mp, sim: str) -> dict:
    from hwgen.emit import generate_verilog
    from sim_tb.runner import run_program
    a, b = random_operands(np.random.default_rng(M + K + N), M, K, N, cfg.precision.in_bits)
    prog = build_gemm_program(cfg, M, K, N, a, b, mapping=mp)
    assert program_timing(cfg, prog.cmds).cycles == gemm_timing(cfg, M, K, N, mp).cycles
    t0 = time.perf_counter()
    res = run_program(generate_verilog(cfg), cfg.params(), prog.cmds, prog.din, prog.n_dout,
                      sim=sim)
    ok = bool((prog.decode(cfg, res.dout) == gemm(a, b)).all())
    return {"measured_cycles": res.cycles, "bit_exact": ok,
            "sim_seconds": round(time.perf_counter() - t0, 1)}


if __name__ == "__main__":
    main()
