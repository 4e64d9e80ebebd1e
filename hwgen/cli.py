"""``hwgen`` command line: check, generate, estimate, sim, fpga, asic.

Results go to stdout (a table, or JSON with --json), logs to stderr. Exit codes: 0 done,
1 failed (e.g. a simulation that is not bit-exact), 2 bad input (config, workload,
missing tool).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from .config import ConfigError, config_hash, load_config

EXIT_OK, EXIT_FAIL, EXIT_BAD = 0, 1, 2


class BadInput(Exception):
    """One line for the user; exit 2."""


def log(msg: str) -> None:
    print(f"hwgen: {msg}", file=sys.stderr, flush=True)


def parse_workload(spec: str) -> tuple[int, int, int]:
    m = re.fullmatch(r"gemm:(\d+)x(\d+)x(\d+)", spec or "")
    if not m or min(int(g) for g in m.groups()) < 1:
        raise BadInput(f"bad --workload {spec!r}: expected gemm:MxKxN with positive integers, "
                       "e.g. gemm:64x64x64")
    return tuple(int(g) for g in m.groups())


def _print_report(rep: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rep, indent=2, sort_keys=True))
        return
    width = max(len(k) for k in rep)
    for k, v in rep.items():
        if isinstance(v, float):
            v = f"{v:.4f}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v)
        print(f"{k:<{width}}  {v}")


# ---- commands ------------------------------------------------------------------------
def cmd_check(args) -> int:
    cfg = load_config(args.config)
    print(f"{args.config}: ok: {cfg.name}, {cfg.R}x{cfg.C} {cfg.array.dataflow}, "
          f"int{cfg.precision.in_bits} operands, {cfg.acc_bits}-bit accumulators, "
          f"config hash {config_hash(cfg)}")
    return EXIT_OK


def cmd_generate(args) -> int:
    from .outputs import write_outputs
    cfg = load_config(args.config)
    out = Path(args.output) if args.output else Path("build") / f"{cfg.name}-{config_hash(cfg)}"
    t0 = time.monotonic()
    log(f"elaborating {cfg.name} ({cfg.R}x{cfg.C} {cfg.array.dataflow})")
    files = write_outputs(cfg, out)
    log(f"wrote {len(files)} files to {out} in {time.monotonic() - t0:.1f} s")
    for f in files:
        print(f)
    return EXIT_OK


def _workload_report(cfg, M, K, N, timing) -> dict:
    from .models.perf import report
    rep = {"config": cfg.name, "dataflow": cfg.array.dataflow, "array": f"{cfg.R}x{cfg.C}",
           "workload": f"gemm:{M}x{K}x{N}"}
    rep.update(report(cfg, timing))
    return rep


def cmd_estimate(args) -> int:
    from .compiler import build_gemm_program
    from .models.perf import program_timing
    cfg = load_config(args.config)
    M, K, N = parse_workload(args.workload)
    prog = build_gemm_program(cfg, M, K, N)
    rep = _workload_report(cfg, M, K, N, program_timing(cfg, prog.cmds))
    rep["mapping"] = {"tile": dict(zip("mkn", prog.chunks)), "order": list(prog.order)}
    _print_report(rep, args.json)
    return EXIT_OK


def cmd_sim(args) -> int:
    import numpy as np

    from .compiler import build_gemm_program
    from .emit import generate_verilog
    from .models.gemm import gemm, random_operands
    from .models.perf import Timing, program_timing

    cfg = load_config(args.config)
    M, K, N = parse_workload(args.workload)
    seed = args.seed
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, M, K, N, cfg.precision.in_bits)
    prog = build_gemm_program(cfg, M, K, N, a, b)
    timing = program_timing(cfg, prog.cmds)
    t0 = time.monotonic()
    if args.sim == "amaranth":
        from sim_tb.amaranth_sim import run_program_amaranth
        log(f"simulating {M}x{K}x{N} on the Amaranth simulator (seed {seed})")
        res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed,
                                   stall_pct=args.stall, max_cycles=args.max_cycles)
        build_s, run_s = 0.0, time.monotonic() - t0
    else:
        from sim_tb.runner import run_program
        log(f"generating Verilog for {cfg.name}")
        verilog = generate_verilog(cfg)
        log(f"simulating {M}x{K}x{N} on {args.sim} (seed {seed}; the first build of a design "
            "takes a while, later runs reuse it)")
        res = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout,
                          sim=args.sim, seed=seed, stall_pct=args.stall,
                          max_cycles=args.max_cycles)
        build_s, run_s = res.build_seconds, res.run_seconds
    correct = (not res.timed_out and len(res.dout) == prog.n_dout
               and bool((prog.decode(cfg, res.dout) == gemm(a, b)).all()))
    # The same report as estimate, from the measured cycles.
    rep = _workload_report(cfg, M, K, N, Timing(res.cycles, res.compute_cycles, timing.macs))
    rep["mapping"] = {"tile": dict(zip("mkn", prog.chunks)), "order": list(prog.order)}
    rep.update({
        "correct": correct,
        "estimate_cycles": timing.cycles,
        "sim": args.sim, "seed": seed, "stall_pct": args.stall,
        "build_seconds": round(build_s, 2), "run_seconds": round(run_s, 2),
    })
    if res.timed_out:
        rep["error"] = f"timed out after {args.max_cycles} cycles"
    _print_report(rep, args.json)
    if not correct:
        log(f"result is NOT bit-exact against the golden model (seed {seed})")
        return EXIT_FAIL
    return EXIT_OK


def cmd_fpga(args) -> int:
    import fpga
    cfg = load_config(args.config)
    if args.clock_mhz is not None and not args.clock_mhz > 0:
        raise BadInput(f"--clock-mhz must be positive, got {args.clock_mhz}")
    out = (Path(args.output) if args.output
           else Path("build") / f"{cfg.name}-{config_hash(cfg)}-{args.board}")
    try:
        options = fpga.FpgaOptions(board=args.board, clock_mhz=args.clock_mhz, seed=args.seed,
                                   pll=args.clock_mhz is not None)
        rep = fpga.build(cfg, options, out, progress=log)
    except (fpga.UnknownBoard, fpga.ToolMissing, fpga.ClockOutOfRange) as e:
        raise BadInput(str(e))
    except fpga.DoesNotFit as e:
        log(f"does not fit: {e}")
        return EXIT_FAIL
    except fpga.FlowError as e:
        log(str(e))
        return EXIT_FAIL
    if args.json:
        print(json.dumps(rep.as_dict(), indent=2, sort_keys=True))
    else:
        print(fpga.format_table(rep.as_dict()))
    clock = rep.clock
    if clock.source == "pll":
        log(f"clock: {clock.requested_mhz:g} MHz requested, {clock.achieved_mhz:g} MHz "
            f"from the {clock.pll['primitive']}")
    if not rep.timing_met:
        log(f"timing constraint of {rep.constraint_mhz} MHz NOT met: achieved "
            + ", ".join(f"{k} {v:.2f} MHz" for k, v in rep.fmax_mhz.items()))
        return EXIT_FAIL
    log(f"wrote {out}")
    if args.program:
        from fpga.program import program
        try:
            res = program(rep, args.board, flash=args.flash)
        except fpga.ToolMissing as e:
            raise BadInput(str(e))
        except fpga.FlowError as e:
            log(str(e))
            return EXIT_FAIL
        log(f"programmed {args.board} with {res['tool']} in {res['seconds']} s")
    return EXIT_OK


# ---- entry point -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hwgen", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("check", help="validate a config")
    s.add_argument("config", metavar="CONFIG", help="YAML file or preset name (tiny, ws16, os16)")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("generate", help="write Verilog, manifest.json, params.json, C header")
    s.add_argument("config", metavar="CONFIG")
    s.add_argument("-o", "--output", metavar="DIR",
                   help="output directory (default build/NAME-HASH)")
    s.set_defaults(func=cmd_generate)

    for name, fn, hlp in (("estimate", cmd_estimate, "analytical cycle count of a workload"),
                          ("sim", cmd_sim, "run a workload on the generated RTL")):
        s = sub.add_parser(name, help=hlp)
        s.add_argument("config", metavar="CONFIG")
        s.add_argument("--workload", required=True, metavar="gemm:MxKxN")
        s.add_argument("--json", action="store_true", help="print the report as JSON")
        if name == "sim":
            s.add_argument("--sim", choices=("icarus", "verilator", "amaranth"), default="verilator")
            s.add_argument("--seed", type=int, default=1)
            s.add_argument("--stall", type=int, default=0, metavar="PCT",
                           help="random back-pressure on every stream, percent of cycles")
            s.add_argument("--max-cycles", type=int, default=50_000_000)
        s.set_defaults(func=fn)

    s = sub.add_parser("fpga", help="bitstream for an FPGA board (Yosys, nextpnr, pack)")
    s.add_argument("config", metavar="CONFIG")
    s.add_argument("--board", required=True, metavar="BOARD",
                   help="icebreaker, ulx3s-25f, ulx3s-85f, orangecrab-25f, tangnano9k")
    s.add_argument("-o", "--output", metavar="DIR",
                   help="output directory (default build/NAME-HASH-BOARD)")
    s.add_argument("--clock-mhz", type=float, metavar="F",
                   help="run the design at F MHz from the board's PLL (the nearest frequency "
                        "it makes; also the timing target; default: the board oscillator)")
    s.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--program", action="store_true",
                   help="load the bitstream onto the board after building (iceprog / openFPGALoader)")
    s.add_argument("--flash", action="store_true",
                   help="with --program: write the configuration flash instead of the FPGA's SRAM")
    s.set_defaults(func=cmd_fpga)

    from asic_flow.command import add_arguments as asic_arguments, command as asic_command
    s = sub.add_parser("asic", help="standard-cell synthesis, static timing and power")
    asic_arguments(s)
    s.set_defaults(func=asic_command)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "stall", 0) and not 0 <= args.stall <= 95:
            raise BadInput(f"--stall must be between 0 and 95, got {args.stall}")
        return args.func(args)
    except ConfigError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD
    except BadInput as e:
        print(f"hwgen: {e}", file=sys.stderr)
        return EXIT_BAD
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # tool problems and workload errors are bad input
        from .lib.errors import WorkloadError
        try:
            from sim_tb.runner import SimError, ToolMissing
        except ImportError:  # pragma: no cover
            SimError = ToolMissing = ()
        if isinstance(e, (WorkloadError, ToolMissing)):
            print(f"hwgen: {e}", file=sys.stderr)
            return EXIT_BAD
        if isinstance(e, SimError):
            print(f"hwgen: simulation failed: {e}", file=sys.stderr)
            return EXIT_FAIL
        raise


if __name__ == "__main__":
    sys.exit(main())
