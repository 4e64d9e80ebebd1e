"""Plot utilization against GEMM size on the 16x16 presets (from the cycle model, which
the test suite checks cycle for cycle against simulation), and Verilog generation time
against array size (from benchmarks/results/generate_time.json).

    python benchmarks/plot_utilization.py   # writes docs/img/utilization.png, generate_time.png
"""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import RESULTS, ROOT, save  # noqa: E402

from hwgen.config import load_config  # noqa: E402
from hwgen.compiler import build_gemm_program  # noqa: E402
from hwgen.models.perf import engine_cycles, program_timing  # noqa: E402


def main():
    sizes = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = []
    for preset, style in (("ws16", "-"), ("os16", "--")):
        cfg = load_config(preset)
        comp, e2e = [], []
        for s in sizes:
            # one COMPUTE over operands resident on chip, where they fit the buffers
            d = engine_cycles(cfg, s, s, s) if cfg.chunk_fits(s, s, s) is None else None
            t = program_timing(cfg, build_gemm_program(cfg, s, s, s).cmds)
            comp.append(t.macs / (256 * t.compute_cycles))
            e2e.append(t.macs / (256 * t.cycles))
            rows.append({"preset": preset, "size": s, "compute": round(comp[-1], 4),
                         "end_to_end": round(e2e[-1], 4), "resident_one_compute":
                         round(s ** 3 / (256 * d), 4) if d else None})
        ax.plot(sizes, comp, style, marker="o", label=f"{preset}: compute phase")
        res = [(r["size"], r["resident_one_compute"]) for r in rows
               if r["preset"] == preset and r["resident_one_compute"]]
        ax.plot([p[0] for p in res], [p[1] for p in res], style, marker="^",
                label=f"{preset}: one COMPUTE, operands resident")
        ax.plot(sizes, e2e, style, marker="s", label=f"{preset}: end to end (loads over host link)")
    ax.axhline(0.9, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("square GEMM size M = K = N")
    ax.set_ylabel("utilization (MACs / (PEs x cycles))")
    ax.set_ylim(0, 1.02)
    ax.set_title("16x16 int8 array, default mappings, 16 elements per beat")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "img" / "utilization.png", dpi=110)
    save("utilization_curve", rows)

    gen = json.loads((RESULTS / "generate_time.json").read_text())["results"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for df, style in (("weight_stationary", "-o"), ("output_stationary", "--s")):
        pts = [(int(r["array"].split("x")[0]), r["seconds"]) for r in gen if r["dataflow"] == df]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=df)
    ax.axhline(30, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("array size N (N x N PEs)")
    ax.set_ylabel("hwgen generate, seconds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "img" / "generate_time.png", dpi=110)


if __name__ == "__main__":
    main()
