"""``hwgen`` command line: check, generate, estimate, sim, fpga, asic.

Results go to stdout (a table, or JSON with --json), progress and messages to stderr.
Exit codes: 0 done, 1 failed (e.g. a simulation that is not bit-exact, a missed clock),
2 bad input (config, workload, option, output directory, missing tool) with one line
that says what is wrong, 130 interrupted (143 terminated).

Adding a command: a function that adds its arguments to a parser (with the shared
options below: :func:`config_arg`, :func:`output_args`, :func:`workload_arg`, ...; their
types in :mod:`hwgen.lib.cliargs` check ranges) and a function ``cmd_NAME(args) -> int``
that raises :class:`BadInput` (or ConfigError, WorkloadError, ToolMissing) for bad
input; then a line in :data:`COMMANDS`. :func:`main` is the one error path.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import tools
from .config import ConfigError, config_hash, load_config, preset_names
from .lib import cliargs
from .lib.errors import BadInput
from .lib.progress import QUIET, Progress, current

EXIT_OK, EXIT_FAIL, EXIT_BAD = 0, 1, 2
#: Longest message line printed for bad input.
MAX_LINE = 1000

__all__ = ["BadInput", "COMMANDS", "build_parser", "main"]


class UsageError(BadInput):
    """An option or argument argparse refused."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line through :func:`main` (no usage text)."""

    def error(self, message):
        raise UsageError(message)

    def _get_values(self, action, arg_strings):
        # argparse drops a value of "--" (``--seed=--``) and skips the option's type
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            raise UsageError(f"argument {'/'.join(action.option_strings)}: expected a value, "
                             "got '--'")
        return super()._get_values(action, arg_strings)


def log(msg: str) -> None:
    """A line on stderr (through the open progress, so --quiet silences it)."""
    current().log(msg)


def error(msg: str) -> None:
    """A one-line error on stderr (also with --quiet)."""
    current().done()
    print(f"hwgen: {msg}", file=sys.stderr, flush=True)


def version() -> str:
    from importlib import metadata
    try:
        return metadata.version("hwgen")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "unknown"


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


# ---- shared options ---------------------------------------------------------------------
def config_arg(p) -> None:
    p.add_argument("config", metavar="CONFIG", type=cliargs.config_file,
                   help=f"YAML file or preset name ({', '.join(preset_names())})")


def output_args(p, default: str) -> None:
    p.add_argument("-o", "--output", metavar="DIR", help=f"output directory (default {default}); "
                   "refused when it is a file or holds files hwgen did not write")
    p.add_argument("--force", action="store_true",
                   help="write into an output directory that holds files hwgen did not "
                        "write (only the files of the names hwgen writes are replaced)")


def quiet_arg(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (errors are still printed)")


def json_arg(p) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def workload_arg(p, required: bool = True, help: str = "the GEMM: an M x K matrix times "
                 "a K x N one") -> None:
    p.add_argument("--workload", required=required, metavar="gemm:MxKxN", type=cliargs.gemm,
                   help=help)


def progress_of(args) -> Progress:
    return Progress(QUIET if getattr(args, "quiet", False) else None)


# ---- commands ------------------------------------------------------------------------
def args_check(p) -> None:
    config_arg(p)


def cmd_check(args) -> int:
    cfg = load_config(args.config)
    print(f"{args.config}: ok: {cfg.name}, {cfg.R}x{cfg.C} {cfg.array.dataflow}, "
          f"int{cfg.precision.in_bits} operands, {cfg.acc_bits}-bit accumulators, "
          f"config hash {config_hash(cfg)}")
    return EXIT_OK


def args_generate(p) -> None:
    config_arg(p)
    output_args(p, "build/NAME-HASH")
    quiet_arg(p)


def cmd_generate(args) -> int:
    from .outputs import write_outputs
    cfg = load_config(args.config)
    out = Path(args.output) if args.output else Path("build") / f"{cfg.name}-{config_hash(cfg)}"
    t0 = time.monotonic()
    with progress_of(args) as prog:
        files = write_outputs(cfg, out, force=args.force, log=prog.stage)
        prog.done()
        prog.log(f"wrote {len(files)} files to {out} in {time.monotonic() - t0:.1f} s")
    for f in files:
        print(f)
    return EXIT_OK


def _workload_report(cfg, g: cliargs.Gemm, timing) -> dict:
    from .models.perf import report
    rep = {"config": cfg.name, "dataflow": cfg.array.dataflow, "array": f"{cfg.R}x{cfg.C}",
           "workload": str(g)}
    rep.update(report(cfg, timing))
    return rep


def _mapping(g: cliargs.Gemm, mp) -> dict:
    """The mapping as the report gives it: the chunk sizes used (at most the GEMM's)."""
    return {"tile": {"m": min(mp.tile_m, g.M), "k": min(mp.tile_k, g.K),
                     "n": min(mp.tile_n, g.N)}, "order": list(mp.order)}


def _timing(cfg, g: cliargs.Gemm):
    """The mapping and the cycle model's exact figures, from the program's loop
    structure (milliseconds for any size; nothing is built)."""
    from .compiler import check_gemm, default_mapping
    from .models.perf import gemm_timing
    check_gemm(cfg, *g)
    mp = cfg.mapping or default_mapping(cfg, *g)
    t = gemm_timing(cfg, *g, mp)
    if t.cycles > cliargs.INT64_MAX:
        raise BadInput(f"{g}: {t.cycles} cycles on {cfg.name}; at most 2^63-1, what a 64-bit "
                       "count holds")
    return mp, t


def args_estimate(p) -> None:
    config_arg(p)
    workload_arg(p)
    json_arg(p)


def cmd_estimate(args) -> int:
    cfg = load_config(args.config)
    g = args.workload
    mp, t = _timing(cfg, g)
    rep = _workload_report(cfg, g, t.timing())
    rep["host_beats"] = t.host_beats
    rep["mapping"] = _mapping(g, mp)
    _print_report(rep, args.json)
    return EXIT_OK


def args_sim(p) -> None:
    config_arg(p)
    workload_arg(p, help="the GEMM: an M x K matrix times a K x N one (each matrix at most "
                         "2^22 elements, each stream at most 2^22 words)")
    json_arg(p)
    p.add_argument("--sim", choices=("icarus", "verilator", "amaranth"), default="verilator")
    p.add_argument("--seed", type=cliargs.seed32, default=1, metavar="S",
                   help="operand and back-pressure seed, 0 to 2^32-1 (default 1)")
    p.add_argument("--stall", type=cliargs.int_range(0, 95, "a percentage"), default=0,
                   metavar="PCT", help="random back-pressure on every stream, percent of "
                                       "cycles (0 to 95)")
    p.add_argument("--max-cycles", type=cliargs.int_range(1, (1 << 32) - 1, "a cycle count"),
                   default=50_000_000, metavar="N",
                   help="give up after N cycles, 1 to 2^32-1 (default 50000000)")
    quiet_arg(p)


def cmd_sim(args) -> int:
    import numpy as np

    from sim_tb.runner import check_tools, check_workload

    from .compiler import build_gemm_program
    from .models.gemm import gemm, random_operands
    from .models.perf import Timing

    cfg = load_config(args.config)
    g, seed = args.workload, args.seed
    mp, timing = _timing(cfg, g)
    check_workload(cfg, *g, timing)
    if args.sim != "amaranth":
        check_tools(args.sim)
    if timing.cycles > args.max_cycles:
        raise BadInput(f"{g} takes {timing.cycles} cycles on {cfg.name} (the cycle model, "
                       f"without back-pressure), more than --max-cycles {args.max_cycles}")
    with progress_of(args) as prog:
        prog.stage(f"building the program for {g} (seed {seed})")
        rng = np.random.default_rng(seed)
        a, b = random_operands(rng, *g, cfg.precision.in_bits)
        prog_ = build_gemm_program(cfg, *g, a, b, mapping=mp)
        t0 = time.monotonic()
        if args.sim == "amaranth":
            from sim_tb.amaranth_sim import run_program_amaranth
            prog.stage(f"simulating {g} on the Amaranth simulator ({timing.cycles} cycles "
                       "expected)")
            res = run_program_amaranth(cfg, prog_.cmds, prog_.din, prog_.n_dout, seed=seed,
                                       stall_pct=args.stall, max_cycles=args.max_cycles)
            build_s, run_s = 0.0, time.monotonic() - t0
        else:
            from sim_tb.runner import run_program

            from .emit import generate_verilog
            prog.stage(f"generating Verilog for {cfg.name}")
            verilog = generate_verilog(cfg)
            res = run_program(verilog, cfg.params(), prog_.cmds, prog_.din, prog_.n_dout,
                              sim=args.sim, seed=seed, stall_pct=args.stall,
                              max_cycles=args.max_cycles, expected_cycles=timing.cycles)
            build_s, run_s = res.build_seconds, res.run_seconds
        prog.done()
    correct = (not res.timed_out and len(res.dout) == prog_.n_dout
               and bool((prog_.decode(cfg, res.dout) == gemm(a, b)).all()))
    # The same report as estimate, from the measured cycles.
    rep = _workload_report(cfg, g, Timing(res.cycles, res.compute_cycles, timing.macs))
    rep["mapping"] = _mapping(g, mp)
    rep.update({
        "correct": correct,
        "estimate_cycles": timing.cycles,
        "sim": args.sim, "seed": seed, "stall_pct": args.stall,
        "build_seconds": round(build_s, 2), "run_seconds": round(run_s, 2),
    })
    if res.timed_out:
        rep["error"] = f"timed out after {args.max_cycles} cycles"
    _print_report(rep, args.json)
    if res.timed_out:
        error(f"the simulation stopped at --max-cycles {args.max_cycles} before the program "
              f"finished (the cycle model expects {timing.cycles} cycles without "
              "back-pressure)")
        return EXIT_FAIL
    if not correct:
        error(f"result is NOT bit-exact against the golden model (seed {seed})")
        return EXIT_FAIL
    return EXIT_OK


def args_fpga(p) -> None:
    config_arg(p)
    p.add_argument("--board", required=True, metavar="BOARD",
                   help="icebreaker, ulx3s-25f, ulx3s-85f, orangecrab-25f, tangnano9k")
    output_args(p, "build/NAME-HASH-BOARD")
    p.add_argument("--clock-mhz", type=cliargs.float_range(0, 10_000, "a frequency (MHz)"),
                   metavar="F",
                   help="run the design at F MHz from the board's PLL (the nearest frequency "
                        "it makes; also the timing target; default: the board oscillator)")
    p.add_argument("--seed", type=cliargs.seed31, default=1, metavar="S",
                   help="nextpnr placement seed, 0 to 2^31-1 (default 1)")
    json_arg(p)
    p.add_argument("--program", action="store_true",
                   help="load the bitstream onto the board after building (iceprog / "
                        "openFPGALoader)")
    p.add_argument("--flash", action="store_true",
                   help="with --program: write the configuration flash instead of the FPGA's SRAM")
    quiet_arg(p)


def cmd_fpga(args) -> int:
    import fpga
    cfg = load_config(args.config)
    out = (Path(args.output) if args.output
           else Path("build") / f"{cfg.name}-{config_hash(cfg)}-{args.board}")
    with progress_of(args) as prog:
        try:
            options = fpga.FpgaOptions(board=args.board, clock_mhz=args.clock_mhz,
                                       seed=args.seed, pll=args.clock_mhz is not None)
            rep = fpga.build(cfg, options, out, progress=prog.stage, force=args.force)
        except (fpga.UnknownBoard, fpga.ToolMissing, fpga.ClockOutOfRange) as e:
            raise BadInput(str(e))
        except fpga.DoesNotFit as e:
            error(f"does not fit: {e}")
            return EXIT_FAIL
        except fpga.FlowError as e:
            error(str(e))
            return EXIT_FAIL
        prog.done()
        if args.json:
            print(json.dumps(rep.as_dict(), indent=2, sort_keys=True))
        else:
            print(fpga.format_table(rep.as_dict()))
        clock = rep.clock
        if clock.source == "pll":
            log(f"clock: {clock.requested_mhz:g} MHz requested, {clock.achieved_mhz:g} MHz "
                f"from the {clock.pll['primitive']}")
        if not rep.timing_met:
            error(f"timing constraint of {rep.constraint_mhz} MHz NOT met: achieved "
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
                error(str(e))
                return EXIT_FAIL
            log(f"programmed {args.board} with {res['tool']} in {res['seconds']} s")
    return EXIT_OK


def args_asic(p) -> None:
    from asic_flow.command import add_arguments
    add_arguments(p)


def cmd_asic(args) -> int:
    from asic_flow.command import command
    with progress_of(args):
        return command(args)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: Every command, in the order --help lists them.
COMMANDS = [
    Command("check", "validate a config", args_check, cmd_check),
    Command("generate", "write Verilog, manifest.json, params.json, C header",
            args_generate, cmd_generate),
    Command("estimate", "cycle count of a workload from the cycle model", args_estimate,
            cmd_estimate),
    Command("sim", "run a workload on the generated RTL", args_sim, cmd_sim),
    Command("fpga", "bitstream for an FPGA board (Yosys, nextpnr, pack)", args_fpga, cmd_fpga),
    Command("asic", "standard-cell synthesis, static timing and power", args_asic, cmd_asic),
]


# ---- entry point -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hwgen", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"hwgen {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for c in COMMANDS:
        s = sub.add_parser(c.name, help=c.help, description=c.help)
        c.arguments(s)
        s.set_defaults(func=c.run)
    return p


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def _bad(msg: str) -> int:
    print(f"hwgen: {_one_line(msg)}", file=sys.stderr)
    return EXIT_BAD


def main(argv=None) -> int:
    """Run one command; its exit code. Every error ends here."""
    from .lib.errors import WorkloadError
    try:
        with tools.ending_tools_on_signals():
            args = build_parser().parse_args(argv)
            return args.func(args)
    except ConfigError as e:
        for line in e.problems:
            print(_one_line(line), file=sys.stderr)
        return EXIT_BAD
    except (BadInput, WorkloadError, tools.ToolMissing) as e:
        return _bad(str(e))
    except tools.Terminated as e:
        print(f"hwgen: terminated (signal {e.signum})", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_BAD)
    except Exception as e:
        try:
            from sim_tb.runner import SimError
        except ImportError:  # pragma: no cover
            SimError = ()
        if isinstance(e, SimError):
            print(f"hwgen: simulation failed: {e}", file=sys.stderr)
            return EXIT_FAIL
        raise


if __name__ == "__main__":
    sys.exit(main())
