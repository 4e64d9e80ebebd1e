"""Time of Verilog generation against array size (both dataflows), buffers as in the
16x16 presets (4096 words per bank).

    python benchmarks/generate_time.py [--sizes 4 8 16 32 64]
"""
import argparse
import time
from dataclasses import replace

from common import save, table

from hwgen.config import load_config
from hwgen.emit import generate_verilog


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        for preset in ("ws16", "os16"):
            cfg = load_config(preset)
            cfg = cfg.replace(array=replace(cfg.array, rows=n, cols=n))
            t0 = time.perf_counter()
            v = generate_verilog(cfg)
            dt = time.perf_counter() - t0
            rows.append({"array": f"{n}x{n}", "dataflow": cfg.array.dataflow,
                         "seconds": round(dt, 2), "verilog_lines": len(v.splitlines())})
            print(rows[-1], flush=True)
    print(table(rows))
    save("generate_time", rows)


if __name__ == "__main__":
    main()
