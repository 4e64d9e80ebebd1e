"""``hwgen asic``: the command-line side of the flow, for ``hwgen/cli.py`` to register.

    hwgen asic CONFIG --pdk osu018 --clock-ns 10 -o DIR [--json]
    hwgen asic CONFIG --liberty cells.lib --clock-ns 10
    hwgen asic CONFIG --pdk osu018 --clock-ns 10 --workload gemm:8x8x8 [--seed 1]
        [--activity-method net|block] [--activity-window FIRST:COUNT]
    hwgen asic CONFIG --pdk osu018 --clock-ns 10 --memories macro
    hwgen asic CONFIG --pdk osu018 --clock-ns 10 --orfs-platform sky130hd
    hwgen asic CONFIG --pdk osu018 --clock-ns 10 --pnr [array|design] [--pnr-timeout 900]

Table (or JSON) to stdout, progress to stderr (none with --quiet); exit 0 when the clock
is met, 1 when it is not (the report still says what period is achievable), 2 for bad
input (an option out of range, unknown PDK, unreadable Liberty, bad or too large
workload, unknown ORFS platform, an output that is a file or holds files hwgen did not
write, missing tool) and 1 when a tool fails. A failed ORFS run does not change the exit
code: it is recorded in the report.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hwgen.config import config_hash, load_config, preset_names
from hwgen.lib import cliargs
from hwgen.lib.errors import WorkloadError
from hwgen.lib.outdir import OutputError
from hwgen.lib.progress import current

from .errors import (
    AsicFlowError,
    BadLiberty,
    BadWorkload,
    ToolFailed,
    ToolMissing,
    UnknownPdk,
)
from .flow import run
from .options import AsicOptions
from .orfs import PLATFORMS, UnknownPlatform
from .pdks import KNOWN_PDKS
from .report import format_table

EXIT_OK, EXIT_FAIL, EXIT_BAD = 0, 1, 2


def add_arguments(p) -> None:
    p.add_argument("config", metavar="CONFIG", type=cliargs.config_file,
                   help=f"YAML file or preset name ({', '.join(preset_names())})")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--pdk", metavar="PDK", help=f"standard cells: {', '.join(sorted(KNOWN_PDKS))}")
    g.add_argument("--liberty", metavar="FILE", type=Path, help="any Liberty file instead")
    p.add_argument("--clock-ns", type=cliargs.float_range(0, 1e6, "a clock period (ns)"),
                   required=True, metavar="T", help="clock period in ns")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="output directory (default build/NAME-HASH-asic-PDK-Tns); refused "
                        "when it is a file or holds files hwgen did not write")
    p.add_argument("--force", action="store_true",
                   help="write into an output directory that holds files hwgen did not "
                        "write (only the files of the names hwgen writes are replaced)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (errors are still printed)")
    p.add_argument("--workload", metavar="gemm:MxKxN", type=cliargs.gemm,
                   help="also report power from the switching activity of this GEMM, "
                        "simulated in Icarus (result checked against the golden model)")
    p.add_argument("--seed", type=cliargs.seed32, default=1, metavar="S",
                   help="operand seed for --workload, 0 to 2^32-1 (default 1)")
    p.add_argument("--activity-method", choices=("net", "block"), default="net",
                   help="net (default): simulate the mapped netlist with the cells' models "
                        "and annotate every pin with its net's activity; block: simulate "
                        "the RTL and give each block its flip-flops' mean activity (faster)")
    p.add_argument("--activity-window", metavar="FIRST:COUNT", type=cliargs.window,
                   default=(0, None),
                   help="per-net method: count activity from clock cycle FIRST for COUNT "
                        "cycles (default: the whole run)")
    p.add_argument("--orfs-platform", metavar="PLATFORM",
                   help="also write an OpenROAD-flow-scripts design directory to DIR/orfs "
                        f"({', '.join(sorted(PLATFORMS))}) and run it if ORFS is installed")
    p.add_argument("--memories", choices=("flops", "macro"), default="flops",
                   help="flops (default): build every memory from flip-flops; macro: the "
                        "buffers become black-box SRAM macros with a modelled area, timing "
                        "and power (see docs/asic_flow.md), reported apart from the logic")
    p.add_argument("--pnr", nargs="?", const="array", choices=("array", "design"),
                   help="also place and route with qflow: the PE array alone (default, "
                        "minutes) or the whole design (slow: tens of minutes or more; "
                        "capped by --pnr-timeout)")
    p.add_argument("--pnr-timeout", type=cliargs.seconds, default=900, metavar="S",
                   help="give up place and route after S seconds (default 900)")
    p.add_argument("--synth-timeout", type=cliargs.seconds, default=3600, metavar="S",
                   help="give up synthesis after S seconds (default 3600; a 16x16 int16 "
                        "array takes longer on a laptop)")


def _log(msg: str) -> None:
    current().stage(msg)


def _error(msg: str) -> None:
    """A one-line error on stderr (also with --quiet)."""
    current().done()
    print(f"hwgen: {msg}", file=sys.stderr, flush=True)


def command(args) -> int:
    """Run the flow for parsed ``args``; ConfigError is left to the caller (exit 2)."""
    cfg = load_config(args.config)
    scaleout = cfg.pods is not None or cfg.subaccelerators is not None
    for opt, given in (("--workload", args.workload is not None), ("--pnr", args.pnr)):
        if scaleout and given:
            _error(f"{opt} is not supported on a "
                   f"{'multi-pod' if cfg.pods is not None else 'heterogeneous'} design yet; "
                   "leave it out for area, timing and power at the default activity")
            return EXIT_BAD
    if not args.clock_ns > 0:
        _error(f"--clock-ns must be positive, got {args.clock_ns}")
        return EXIT_BAD
    for opt in ("synth_timeout", "pnr_timeout"):
        if not getattr(args, opt) > 0:
            _error(f"--{opt.replace('_', '-')} must be positive seconds, "
                   f"got {getattr(args, opt)}")
            return EXIT_BAD
    lib_name = args.pdk if args.pdk is not None else Path(args.liberty).stem
    out = (Path(args.output) if args.output else
           Path("build") / f"{cfg.name}-{config_hash(cfg)}-asic-{lib_name}-{args.clock_ns:g}ns")
    try:
        if args.workload is not None:  # too large to simulate: refused before any work
            from sim_tb.runner import check_workload
            check_workload(cfg, *args.workload)
        rep = run(cfg, options(args), out, log=_log, force=getattr(args, "force", False))
    except (UnknownPdk, BadLiberty, BadWorkload, UnknownPlatform, ToolMissing, OutputError,
            WorkloadError) as e:
        _error(str(e))
        return EXIT_BAD
    except ToolFailed as e:
        _error(str(e))
        return EXIT_FAIL
    except AsicFlowError as e:  # pragma: no cover - every subclass is handled above
        _error(str(e))
        return EXIT_FAIL
    current().done()
    print(rep.to_json() if args.json else format_table(rep.as_dict()))
    current().log(f"wrote {out}")
    if not rep.timing_met:
        _error(rep.failed_constraint)
        return EXIT_FAIL
    return EXIT_OK


def options(args) -> AsicOptions:
    """The flow's options from ``args`` parsed with :func:`add_arguments`; raises
    BadWorkload or UnknownPlatform (bad input) for a workload or platform it rejects."""
    return AsicOptions(
        clock_ns=args.clock_ns, pdk=args.pdk, liberty=args.liberty,
        workload=None if args.workload is None else str(args.workload), seed=args.seed,
        activity_method=args.activity_method,
        activity_window=args.activity_window, orfs_platform=args.orfs_platform,
        memories=args.memories, pnr=args.pnr or "none", pnr_timeout=args.pnr_timeout,
        synth_timeout=args.synth_timeout)
