"""The digits co-search end to end, as a user runs it, timed:

    python benchmarks/cosearch.py [--objective accuracy-latency|accuracy-energy] [--seed S]
                                  [--budget N] [--epochs E]

runs ``hwgen cosearch --task digits`` (evolution, differentiable and the sequential
baseline on one budget; the winner on Verilator for 20 test images and through the
osu018 flow at 10 ns), keeps its summary in benchmarks/results/cosearch[-energy].json and
the fronts' plot in docs/img/cosearch_front[-energy].png, and prints both fronts, the
dominance count and the wall time (goal: the whole co-search within 30 minutes on 2
cores).
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, save

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objective", default="accuracy-latency")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    tag = "" if args.objective == "accuracy-latency" else "-energy"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cs"
        cmd = [sys.executable, "-m", "hwgen.cli", "cosearch", "--task", "digits",
               "--objective", args.objective, "--seed", str(args.seed), "--budget",
               str(args.budget), "--epochs", str(args.epochs), "-o", str(out), "--json"]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode not in (0, 1):
            sys.exit(r.stderr)
        s = json.loads(r.stdout)
        s["wall_seconds"] = round(wall, 1)
        s["command"] = " ".join(["hwgen"] + cmd[3:-3])
        img = ROOT / "docs" / "img" / f"cosearch_front{tag}.png"
        shutil.copy(out / "front.png", img)
    save(f"cosearch{tag}", s)
    metric = "energy_uj" if tag else "cycles"
    for label, pts in s["fronts"].items():
        print(f"{label}:")
        for p in pts:
            print(f"  {p['network']['name']:<24} {p['accelerator']:<34} "
                  f"quantized {p.get('quant_test_accuracy')} {metric} {p.get(metric)} "
                  f"util {p.get('utilization')}")
    d = s["dominance"]
    print(f"{d['dominated_by_cosearch']} of {d['sequential_points']} sequential designs "
          f"matched or beaten; winner {s['winner']['name'] if s['winner'] else '-'}; "
          f"verify {json.dumps(s.get('verify'))}; {wall:.0f} s")


if __name__ == "__main__":
    main()
