"""``hwgen`` command line: check, generate, estimate, sim, run, compile, fpga, asic.

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
import os
import signal
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
    print(f"{args.config}: ok: {cfg.name}, {cfg.organisation}, "
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
    workload_arg(p, required=False, help="the GEMM: an M x K matrix times a K x N one "
                 "(or --model)")
    model_args(p, required=False, many=True)
    cost_args(p)
    json_arg(p)
    quiet_arg(p)


def cmd_estimate(args) -> int:
    if (args.workload is None) == (args.model is None):
        raise BadInput("estimate takes a workload: either --workload gemm:MxKxN or "
                       "--model MODEL")
    if args.model is None and (args.input_shape or args.calib):
        raise BadInput("--input-shape and --calib go with --model")
    cfg = load_config(args.config)
    coef = _cost_target(args)
    if args.model is not None and (cfg.pods is not None or cfg.subaccelerators is not None):
        return _estimate_scaleout(cfg, args, coef)
    if args.model is not None and len(args.model) > 1:
        raise BadInput("several --model go with a design of subaccelerators: (one schedule "
                       "for all)")
    if args.model is not None:
        args.model = args.model[0]
        return _estimate_network(cfg, args, coef)
    if cfg.pods is not None and cfg.pods.count > 1:
        plan = _pods_gemm_plan(cfg, args.workload)
        rep = _pods_gemm_report(cfg, args.workload, plan)
        if coef is not None:
            _add_scaleout_cost(rep, cfg, args, coef,
                               lambda: _pods_gemm_activity(cfg, args.workload, plan))
        _print_report(rep, args.json)
        return EXIT_OK
    if cfg.subaccelerators:
        rep = _engines_gemm_report(cfg, args.workload)
        if coef is not None:
            _add_scaleout_cost(rep, cfg, args, coef,
                               lambda: _engines_gemm_activity(cfg, args.workload))
        _print_report(rep, args.json)
        return EXIT_OK
    cfg.single_array("estimate --workload" + (" with a cost target" if coef else ""))
    g = args.workload
    mp, t = _timing(cfg, g)
    rep = _workload_report(cfg, g, t.timing())
    rep["host_beats"] = t.host_beats
    rep["mapping"] = _mapping(g, mp)
    if coef is not None:
        from .models.cost import timing_activity
        _add_cost(rep, cfg, args, coef, lambda: timing_activity(
            cfg, t, [(*g, mp.tile_m, mp.tile_k, mp.tile_n, 1)]))
    _print_report(rep, args.json)
    return EXIT_OK


# ---- cost model (area, clock, power, energy; FPGA resources) -------------------------------
def cost_args(p) -> None:
    from .models.cost import PDKS
    p.add_argument("--pdk", choices=PDKS, help="also the standard-cell cost from the cost "
                   "model: area (by block), fmax, power and energy of the workload")
    p.add_argument("--clock-ns", type=cliargs.float_range(0, 1e6, "a clock period (ns)"),
                   metavar="T", help="with --pdk: the clock the power is given at")
    p.add_argument("--board", metavar="BOARD", help="also the FPGA cost from the cost model: "
                   "LUTs, FFs, DSPs, BRAMs, fmax, whether it fits")
    p.add_argument("--memories", choices=("flops", "macro"), default="flops",
                   help="with --pdk: buffers as flip-flops (default, as hwgen asic builds "
                   "them) or modelled SRAM macros")
    p.add_argument("--strict", action="store_true", help="refuse a design outside the "
                   "range the cost model was calibrated on (default: a warning)")
    p.add_argument("--coefficients", type=cliargs.existing_file("a cost-model data file"),
                   metavar="FILE", help="cost-model data file (default: the one shipped for "
                   "the PDK or board; see hwgen calibrate)")


def _cost_target(args):
    """The cost model's coefficients for --pdk / --board, or None; BadInput (one line)
    for a combination that makes no sense or a target without coefficients."""
    from .models import cost
    if args.pdk is None and args.board is None:
        for opt, given in (("--clock-ns", args.clock_ns is not None),
                           ("--memories", args.memories != "flops"), ("--strict", args.strict),
                           ("--coefficients", args.coefficients is not None)):
            if given:
                raise BadInput(f"{opt} goes with --pdk or --board (the cost model)")
        return None
    if args.pdk is not None and args.board is not None:
        raise BadInput("--pdk and --board: one cost-model target at a time (run estimate "
                       "once for each)")
    if args.pdk is not None and args.clock_ns is None:
        raise BadInput(f"--pdk {args.pdk} needs --clock-ns T, the clock the power is given at")
    if args.board is not None and (args.clock_ns is not None or args.memories != "flops"):
        raise BadInput("--clock-ns and --memories go with --pdk; a board runs from its "
                       "oscillator")
    try:
        return cost.load(pdk=args.pdk, board=args.board, path=args.coefficients)
    except cost.CostModelError as e:
        raise BadInput(str(e)) from None


def _add_cost(rep: dict, cfg, args, coef, activity) -> None:
    """The cost model's figures into ``rep`` for the workload counts ``activity()``
    returns; out-of-range parameters warn on stderr (or, with --strict, are bad input).
    ``cost_seconds`` is the time both took."""
    from .models import cost
    t0 = time.perf_counter()
    try:
        est = cost.estimate(cfg, coef, activity(), clock_ns=args.clock_ns,
                            memories=args.memories, strict=args.strict)
    except cost.CostModelError as e:
        raise BadInput(str(e)) from None
    if est.warnings:
        print(f"hwgen: warning: {'; '.join(est.warnings)}: the estimate extrapolates "
              "(--strict refuses it)", file=sys.stderr, flush=True)
    units = cost.units_not_modelled(cfg)
    if units:
        rep["cost_not_modelled"] = units
    seconds = time.perf_counter() - t0
    rep.update(est.figures)
    if args.pdk is not None:
        rep["timing_met"] = bool(est.figures["fmax_mhz"] >= 1000.0 / args.clock_ns)
    rep["cost_model"] = coef.describe()
    rep["cost_seconds"] = round(seconds, 6)


def _add_scaleout_cost(rep: dict, cfg, args, coef, activities) -> None:
    """:func:`_add_cost` for a multi-pod or heterogeneous design
    (:mod:`hwgen.models.cost_scaleout`): ``activities()`` each pod's or engine's counts
    (all the pods together)."""
    from .models import cost, cost_scaleout
    t0 = time.perf_counter()
    try:
        est = cost_scaleout.estimate(cfg, coef, activities(), clock_ns=args.clock_ns,
                                     memories=args.memories, strict=args.strict,
                                     macs=rep["macs"])
    except cost.CostModelError as e:
        raise BadInput(str(e)) from None
    if est.warnings:
        print(f"hwgen: warning: {'; '.join(est.warnings)}: the estimate extrapolates "
              "(--strict refuses it)", file=sys.stderr, flush=True)
    units = [u for u in cost.units_not_modelled(cfg) if u not in ("pods", "subaccelerators")]
    units += est.figures.pop("cost_not_modelled", [])
    if units:
        rep["cost_not_modelled"] = units
    rep.update(est.figures)
    if args.pdk is not None:
        rep["timing_met"] = bool(est.figures["fmax_mhz"] >= 1000.0 / args.clock_ns)
    rep["cost_model"] = coef.describe()
    rep["cost_seconds"] = round(time.perf_counter() - t0, 6)


def _pods_gemm_activity(cfg, g: cliargs.Gemm, plan) -> dict:
    """Counts of a GEMM cut across the pods: every slice's exact counts on its pod,
    added up; the cycles the design's."""
    from .compiler import default_mapping
    from .models.cost import timing_activity
    from .models.perf import gemm_timing
    pod, tot = cfg.pod, {}
    for sl in plan.slices:
        if sl is None:
            continue
        m, n = sl[1], sl[3]
        mp = default_mapping(pod, m, g.K, n)
        t = gemm_timing(pod, m, g.K, n, mp)
        act = timing_activity(pod, t, [(m, g.K, n, mp.tile_m, mp.tile_k, mp.tile_n, 1)])
        for k, v in act.items():
            tot[k] = tot.get(k, 0.0) + v
    tot["cycles"] = float(plan.cycles)
    return {"pod": tot}


def _engines_gemm_activity(cfg, g: cliargs.Gemm) -> dict:
    """Counts of a GEMM run on every engine (as hwgen sim runs it); the cycles the
    slowest engine's."""
    from .models.cost import timing_activity
    out = {}
    for name, eng in cfg.engines:
        mp, t = _timing(eng, g)
        out[name] = timing_activity(eng, t, [(*g, mp.tile_m, mp.tile_k, mp.tile_n, 1)])
    cycles = max(a["cycles"] for a in out.values())
    return {name: {**a, "cycles": cycles} for name, a in out.items()}


def _add_counts(tot: dict, act: dict) -> None:
    for k, v in act.items():
        if k != "cycles":
            tot[k] = tot.get(k, 0.0) + v


def _pods_slices_activity(cfg, qnet, n: int) -> dict:
    """Counts of one network cut across the pods: every slice's exact counts on the pod
    that runs it (:func:`hwgen.compiler.scaleout.pod_layer_slices`), added up."""
    from .compiler.scaleout import layer_gemms, pod_layer_slices, slice_nest
    from .models import maxplus as mx
    from .models.cost import timing_activity
    from .models.perf import block_timing, nest_block
    pod, tot, start, seen = cfg.pod, {}, 0, {}
    for layer in qnet.layers:
        lp, pods = pod_layer_slices(cfg, qnet, layer, n, start=start)
        start += lp.cycles
        if lp.where == "host":
            continue
        g = layer_gemms(qnet, layer, n, pod.R)
        for sl in (s for ps in pods for s in ps):
            key = (sl.rows[1], g.parts[sl.part][1], sl.cols[1], g.per_lane, g.clamp,
                   g.preload, g.raw)
            if key not in seen:
                nest = slice_nest(pod, *key)
                t = block_timing(mx.seq(nest_block(pod, nest), mx.sync()))
                seen[key] = timing_activity(pod, t, [(nest.M, nest.K, nest.N, nest.tile_m,
                                                      nest.tile_k, nest.tile_n, 1)])
            _add_counts(tot, seen[key])
    return tot


def _pods_network_activity(cfg, models: list, n: int, cycles: int) -> dict:
    """Counts of networks on the pods: one network's are every slice's on its pod;
    several networks' (each on pods of its own) each network's counts on one pod
    (:func:`hwgen.compiler.network.plan_network` on the pod's design), where the
    operand beats a grid cut adds are not counted."""
    from .compiler.network import plan_network
    tot: dict = {}
    if len(models) == 1:
        tot = _pods_slices_activity(cfg, models[0], n)
    else:
        for qnet in models:
            _add_counts(tot, _network_activity(cfg.pod,
                                               plan_network(cfg.pod, qnet, n_images=n)))
    tot["cycles"] = float(cycles)
    return {"pod": tot}


def _engines_network_activity(cfg, models: list, names: list, n: int, sched: dict) -> dict:
    """Counts of networks scheduled on the engines: every layer's exact counts on the
    engine the schedule ran it on; the cycles the schedule's."""
    from .compiler.network import plan_network
    from .models.cost import timing_activity
    where = {(d["model"], d["name"]): d["engine"] for d in sched["layers"]}
    out: dict = {name: {} for name, _ in cfg.engines}
    for name, eng in cfg.engines:
        for mname, qnet in zip(names, models):
            plan = plan_network(eng, qnet, n_images=n)
            for lp in plan.layers:
                if lp.where != "array" or where.get((mname, lp.layer.name)) != name:
                    continue
                chunks = [(p.nest.M, p.nest.K, p.nest.N, p.nest.tile_m, p.nest.tile_k,
                           p.nest.tile_n, 1) for p in lp.parts]
                _add_counts(out[name], timing_activity(eng, lp.timing, chunks))
    for name in out:
        if not out[name]:
            out[name] = {k: 0.0 for k in ("compute_cycles", "macs", "in_beats", "w_beats",
                                          "out_beats", "in_writes", "w_writes", "in_reads",
                                          "w_reads", "acc_reads", "acc_writes")}
        out[name]["cycles"] = float(sched["cycles"])
    return out


def _network_activity(cfg, plan) -> dict:
    """Counts of a planned network: the whole program's beats and cycles, the engine's
    reads from every array layer's chunk loops."""
    from .models.cost import timing_activity
    from .models.perf import block_timing
    chunks = [(p.nest.M, p.nest.K, p.nest.N, p.nest.tile_m, p.nest.tile_k, p.nest.tile_n, 1)
              for lp in plan.layers if lp.where == "array" for p in lp.parts]
    return timing_activity(cfg, block_timing(plan.block), chunks)


def args_calibrate(p) -> None:
    from .models.cost import PDKS
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--pdk", choices=PDKS, help="calibrate against hwgen asic on this PDK")
    g.add_argument("--board", metavar="BOARD", help="calibrate against hwgen fpga on this "
                   "board's device family")
    p.add_argument("--points", type=cliargs.int_range(2, 1000, "a number of points"),
                   metavar="N", help="use the first N fit points of the designed set "
                   "(default all); the held-out points always run")
    p.add_argument("--jobs", type=cliargs.int_range(1, 64, "a number of jobs"), default=1,
                   metavar="J", help="flow runs at a time (default 1; each runs under nice)")
    p.add_argument("-o", "--output", metavar="FILE", help="data file to write (default: the "
                   "one shipped with hwgen for the target, which estimate reads); measured "
                   "points already in it are reused")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--rerun", action="store_true", help="run every point again, even those "
                   "the file already holds")
    g.add_argument("--refit", action="store_true", help="run no flow: fit again on the points "
                   "the file holds that were measured on the current sources")
    json_arg(p)
    quiet_arg(p)


def cmd_calibrate(args) -> int:
    from . import calibration
    from .models import cost
    target = calibration.target_for(pdk=args.pdk, board=args.board)
    out = Path(args.output) if args.output else cost.data_path(target.name)
    if out.is_dir() or not out.parent.is_dir():
        raise BadInput(f"-o {out}: expected a file in an existing directory")
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise BadInput(f"{out}: not writable; give -o FILE for the calibrated data "
                       "(estimate reads it with --coefficients FILE)")
    if out.exists():
        try:
            cost.read_data(out)
        except (ValueError, OSError) as e:
            raise BadInput(f"-o {out}: not a cost-model data file hwgen can read "
                           f"({_one_line(e)[:120]}); give a new file") from None
    with progress_of(args) as prog:
        try:
            data = calibration.calibrate(target, out, n_points=args.points, jobs=args.jobs,
                                         rerun=args.rerun, run=not args.refit,
                                         log=prog.stage)
        except cost.CostModelError as e:
            prog.done()
            error(f"calibration of {target.name} failed: {e}")
            return EXIT_FAIL
        prog.done()
        prog.log(f"wrote {out} (version {data['version']})")
    if args.json:
        print(json.dumps({k: data[k] for k in ("target", "version", "calibrated", "ranges",
                                                 "validation")}, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"target       {data['target']} (version {data['version']}, {out})")
    for role in ("fit", "holdout"):
        for q, v in data["validation"][role]["summary"].items():
            figs = (f"{v['exact']}/{v['of']} exact" if "exact" in v else
                    f"mean {100 * v['mean_abs_rel']:.1f}%, worst {100 * v['worst_abs_rel']:.1f}%"
                    f" over {v['n']}")
            print(f"{role:<8}     {q:<18} {figs}")
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


def _pods_gemm_plan(cfg, g: cliargs.Gemm):
    """The GEMM cut across the pods of ``cfg``
    (:func:`hwgen.compiler.scaleout.plan_pod_gemm`), bad input for a slice a pod cannot
    hold."""
    from .compiler.scaleout import plan_pod_gemm
    from .lib.errors import WorkloadError
    try:
        return plan_pod_gemm(cfg, *g)
    except ValueError as e:
        raise WorkloadError(f"{g} on the pods of {cfg.name}: {e}") from None


def _pods_gemm_report(cfg, g: cliargs.Gemm, plan) -> dict:
    """The report of ``plan``, a GEMM cut across the pods of ``cfg`` (grid, slices,
    cycles)."""
    from .compiler.scaleout import interconnect_of
    lat, share = interconnect_of(cfg)
    P, pes = cfg.pods.count, cfg.array.pes
    macs = g.M * g.K * g.N
    return {"config": cfg.name, "workload": str(g), "pods": P,
            "pod": f"{cfg.R}x{cfg.C} {cfg.dataflow.value}",
            "interconnect": cfg.pods.interconnect.value, "interconnect_latency": lat,
            "cycles_per_beat": share, "tiling": cfg.pods.tiling.value,
            "grid": f"{plan.grid[0]}x{plan.grid[1]}", "pods_used": plan.pods_used,
            "slices": [None if sl is None else {"rows": [sl[0], sl[0] + sl[1]],
                                                 "cols": [sl[2], sl[2] + sl[3]]}
                       for sl in plan.slices],
            "cycles": plan.cycles, "macs": macs,
            "utilization": round(macs / (P * pes * plan.cycles), 6),
            "exact": True}   # the cycle model is exact for every interconnect


def _engines_gemm_report(cfg, g: cliargs.Gemm) -> dict:
    """The report of one GEMM on every engine of a heterogeneous design, side by side
    (each engine's mapping and exact cycles, its program followed by a SYNC)."""
    from .lib.errors import WorkloadError
    engines = []
    for name, eng in cfg.engines:
        try:
            mp, t = _timing(eng, g)
        except WorkloadError as e:
            raise WorkloadError(f"engine {name}: {e}") from None
        engines.append({"engine": name, "array": f"{eng.R}x{eng.C}",
                        "dataflow": eng.array.dataflow.value, "mapping": _mapping(g, mp),
                        "cycles": t.cycles,
                        "utilization": round(t.macs / (eng.array.pes * t.cycles), 6)})
    return {"config": cfg.name, "workload": str(g), "engines": engines,
            "fastest": min(engines, key=lambda e: (e["cycles"], e["engine"]))["engine"],
            "macs": g.M * g.K * g.N}


def _scaleout_sim_start(cfg, args, what: str):
    """The checks every scale-out ``hwgen sim`` makes before any work, and its seeded
    operands."""
    import numpy as np

    from sim_tb.runner import check_tools

    from .models.gemm import random_operands
    if args.stall:
        raise BadInput(f"--stall is not supported on a {what} design yet (its streams "
                       "are driven at full rate)")
    if args.sim != "amaranth":
        check_tools(args.sim)
    return random_operands(np.random.default_rng(args.seed), *args.workload,
                           cfg.precision.in_bits)


def _check_max_cycles(cfg, args, expect: int, where: str = "") -> None:
    if expect > args.max_cycles:
        raise BadInput(f"{args.workload} takes {expect} cycles on {cfg.name}{where} (the "
                       f"cycle model), more than --max-cycles {args.max_cycles}")


def _run_ports(cfg, args, run: list, expect: int, what: str):
    """Run the per-port programs ``run`` on ``cfg``'s scale-out top (every pod or engine
    its own streams) on the simulator of ``args``; (result, seconds)."""
    from sim_tb.pods import run_pods_amaranth, run_pods_rtl
    with progress_of(args) as prog:
        t0 = time.monotonic()
        if args.sim == "amaranth":
            prog.stage(f"simulating {len(run)} {what} on the Amaranth simulator ({expect} "
                       "cycles expected)")
            res = run_pods_amaranth(cfg, run, max_cycles=args.max_cycles)
        else:
            import tempfile

            from .emit import TOP_NAME, cached_verilog
            prog.stage(f"generating Verilog for {cfg.name} (kept for later runs)")
            verilog = cached_verilog(cfg)
            prog.stage(f"simulating {len(run)} {what} on {args.sim} ({expect} cycles "
                       "expected)")
            p = (cfg.engines[0][1] if cfg.subaccelerators else cfg.pod).params()
            with tempfile.TemporaryDirectory(prefix="hwgen-scaleout-") as work:
                res = run_pods_rtl(verilog, len(run), p["DIN_BITS"], p["DOUT_BITS"], run,
                                   Path(work), sim=args.sim, max_cycles=args.max_cycles,
                                   top=TOP_NAME)
        seconds = time.monotonic() - t0
        prog.done()
    return res, seconds


def _scaleout_sim_end(rep: dict, args, res, expect: int, correct: bool) -> int:
    """Report a scale-out simulation and give its exit code."""
    rep.update({"cycles": res.cycles, "estimate_cycles": expect, "correct": correct,
                "sim": args.sim, "seed": args.seed})
    if res.timed_out:
        rep["error"] = f"timed out after {args.max_cycles} cycles"
    _print_report(rep, args.json)
    if res.timed_out:
        error(f"the simulation stopped at --max-cycles {args.max_cycles} before the "
              f"programs finished (the cycle model expects {expect} cycles)")
        return EXIT_FAIL
    if not correct:
        error(f"result is NOT bit-exact against the golden model (seed {args.seed})")
        return EXIT_FAIL
    return EXIT_OK


def _sim_engines(cfg, args) -> int:
    """``hwgen sim`` on a heterogeneous design: the same GEMM on every engine at once
    (:class:`hwgen.scaleout.hetero.Heterogeneous`), each engine's result against the
    golden GEMM; the design is done when the slowest engine's program and SYNC are."""
    from .compiler import build_gemm_program
    from .lib.protocol import cmd_sync
    from .models.gemm import gemm
    from .models.perf import program_timing

    g = args.workload
    a, b = _scaleout_sim_start(cfg, args, "heterogeneous")
    rep = _engines_gemm_report(cfg, g)
    progs = [build_gemm_program(eng, *g, a, b) for _, eng in cfg.engines]
    run = [(p.cmds + [cmd_sync()], p.din, p.n_dout) for p in progs]
    expect = max(program_timing(eng, r[0]).cycles for (_, eng), r in zip(cfg.engines, run))
    _check_max_cycles(cfg, args, expect, "'s slowest engine")
    res, seconds = _run_ports(cfg, args, run, expect, "engines")
    want = gemm(a, b).tolist()
    correct = not res.timed_out
    for e, (_, eng), p, dout in zip(rep["engines"], cfg.engines, progs, res.dout):
        e["correct"] = (not res.timed_out and len(dout) == p.n_dout
                        and p.decode(eng, dout).tolist() == want)
        correct = correct and e["correct"]
    rep["run_seconds"] = round(seconds, 2)
    return _scaleout_sim_end(rep, args, res, expect, correct)


def _sim_pods(cfg, args) -> int:
    """``hwgen sim`` on a multi-pod design: the GEMM cut across the pods
    (:func:`hwgen.compiler.scaleout.plan_pod_gemm`), every pod's slice program on the
    data path (:class:`hwgen.scaleout.pods.MultiPod`), the result assembled from the
    result ports and compared with the golden GEMM."""
    import numpy as np

    from .compiler import build_gemm_program
    from .lib.protocol import cmd_sync
    from .models.gemm import gemm

    g = args.workload
    a, b = _scaleout_sim_start(cfg, args, "multi-pod")
    plan = _pods_gemm_plan(cfg, g)
    rep = _pods_gemm_report(cfg, g, plan)
    _check_max_cycles(cfg, args, plan.cycles)
    pod = cfg.pod
    progs = [None if sl is None else
             build_gemm_program(pod, sl[1], g.K, sl[3], a[sl[0]:sl[0] + sl[1]],
                                b[:, sl[2]:sl[2] + sl[3]]) for sl in plan.slices]
    run = [([], [], 0) if p is None else (p.cmds + [cmd_sync()], p.din, p.n_dout)
           for p in progs]
    res, seconds = _run_ports(cfg, args, run, plan.cycles, "pods")
    out = np.zeros((g.M, g.N), dtype=object)
    correct = not res.timed_out
    for sl, p, dout in zip(plan.slices, progs, res.dout):
        if sl is None:
            continue
        r0, m, c0, n = sl
        correct = correct and len(dout) == p.n_dout
        if correct:
            out[r0:r0 + m, c0:c0 + n] = p.decode(pod, dout)
    correct = correct and out.tolist() == gemm(a, b).tolist()
    rep["utilization"] = round(rep["macs"] / (cfg.pods.count * cfg.array.pes
                                              * max(res.cycles, 1)), 6)
    rep["run_seconds"] = round(seconds, 2)
    return _scaleout_sim_end(rep, args, res, plan.cycles, correct)


def cmd_sim(args) -> int:
    import numpy as np

    from sim_tb.runner import check_tools, check_workload

    from .compiler import build_gemm_program
    from .models.gemm import gemm, random_operands
    from .models.perf import Timing

    cfg = load_config(args.config)
    if cfg.pods is not None and cfg.pods.count > 1:
        return _sim_pods(cfg, args)
    if cfg.subaccelerators:
        return _sim_engines(cfg, args)
    cfg.single_array("sim")
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

            from .emit import cached_verilog
            prog.stage(f"generating Verilog for {cfg.name} (kept for later runs)")
            verilog = cached_verilog(cfg)
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


# ---- networks ------------------------------------------------------------------------
MODEL_HELP = (".onnx file (float, or quantized in QDQ form), .pt2 (torch.export) archive, "
              "or a built-in model: resnet18, mobilenet_v2 (seeded random weights), "
              "digits_cnn (trained on scikit-learn's digits)")
#: Most images one run or estimate takes.
MAX_IMAGES = 4096


def model_args(p, required: bool = True, many: bool = False) -> None:
    p.add_argument("--model", required=required, metavar="MODEL", help=MODEL_HELP + (
        "; repeated: several models side by side on pods: or scheduled together on "
        "subaccelerators:" if many else ""),
        action="append" if many else "store")
    p.add_argument("--input-shape", type=cliargs.input_shape, metavar="NxCxHxW",
                   help="the model's input (N images of C x H x W); default the model's own")
    p.add_argument("--calib", type=cliargs.existing_file("a .npy file of images"),
                   metavar="FILE.npy", help="float images (N, C, H, W) to calibrate the "
                   "quantization on (default: the digits training split for digits_cnn, "
                   "else seeded random images)")


def _npy(path: str, what: str):
    """A numeric, finite array from a .npy file, or one line saying why not."""
    import numpy as np
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise BadInput(f"{path}: not a .npy array of {what} ({_one_line(e)[:120]})")
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise BadInput(f"{path}: {what} must be a numeric array, got {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise BadInput(f"{path}: {what} hold NaN or infinite values")
    return a


def _load_network(args, cfg):
    """(QNet, float graph, images) of --model with --input-shape and --calib."""
    from .frontend import load_model_graph
    shape, n = args.input_shape, 1
    if shape is not None and len(shape) == 4:
        n, shape = shape[0], shape[1:]
    if n > MAX_IMAGES:
        raise BadInput(f"--input-shape: {n} images; at most {MAX_IMAGES}")
    calib = None
    if args.calib:
        calib = _npy(args.calib, "calibration images")
        if calib.ndim != 4:
            raise BadInput(f"{args.calib}: calibration images must be (N, C, H, W), got "
                           f"shape {calib.shape}")
    current().stage(f"loading {args.model}")
    qnet, graph = load_model_graph(args.model, shape, calib, cfg)
    return qnet, graph, n


def _network_table(rep: dict) -> str:
    rows = [("layer", "op", "where", "gemm MxKxN", "mapping", "cycles", "util", "host beats")]
    for d in rep["layers"]:
        g = d.get("gemm")
        mp = d.get("mapping")
        rows.append((d["name"], d["op"], d["where"],
                     f"{g['M']}x{g['K']}x{g['N']}" + (f" x{d['groups']}" if d.get("groups")
                                                      else "") if g else "-",
                     f"{mp['tile_m']}x{mp['tile_k']}x{mp['tile_n']} {mp['order']}" if mp else "-",
                     str(d["cycles"]), f"{d['utilization']:.3f}" if g else "-",
                     str(d["host_beats"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths))).rstrip() for r in rows]
    return "\n".join(lines)


def _print_network(rep: dict, as_json: bool, keys) -> None:
    if as_json:
        print(json.dumps(rep, indent=2, sort_keys=True))
        return
    print(_network_table(rep))
    print()
    _print_report({k: rep[k] for k in keys if k in rep}, False)


def _estimate_network(cfg, args, coef=None) -> int:
    from .compiler.network import plan_network
    with progress_of(args) as prog:
        qnet, _, n = _load_network(args, cfg)
        prog.stage(f"planning {qnet.name} on {cfg.name}")
        t0 = time.perf_counter()
        plan = plan_network(cfg, qnet, n_images=n)
        seconds = time.perf_counter() - t0
        prog.done()
    rep = plan.report()
    rep["estimate_seconds"] = round(seconds, 4)
    keys = ("config", "model", "input_shape", "cycles", "macs", "utilization", "host_beats",
            "host_ops", "estimate_seconds", "weights")
    if coef is not None:
        before = set(rep)
        _add_cost(rep, cfg, args, coef, lambda: _network_activity(cfg, plan))
        keys += tuple(k for k in rep if k not in before)
    _print_network(rep, args.json, keys)
    return EXIT_OK


def _estimate_scaleout(cfg, args, coef) -> int:
    """estimate --model on a multi-pod design (every layer cut across the pods) or on
    sub-accelerators (the layers of every --model scheduled onto them)."""
    from .compiler.scaleout import plan_pods, plan_tenants, schedule_layers
    if cfg.pods is not None and len(args.model) > cfg.pods.count:
        raise BadInput(f"pods: {len(args.model)} models on {cfg.pods.count} pods; every "
                       "model needs a pod of its own")
    models = []
    with progress_of(args) as prog:
        for spec in args.model:
            args.model = spec
            qnet, _, n = _load_network(args, cfg)
            models.append(qnet)
        t0 = time.perf_counter()
        names = [q.name if [m.name for m in models].count(q.name) == 1 else
                 f"{q.name}#{i}" for i, q in enumerate(models)]
        if cfg.pods is not None and len(models) == 1:
            prog.stage(f"cutting {models[0].name} across {cfg.pods.count} pods")
            rep = plan_pods(cfg, models[0], n_images=n).report()
        elif cfg.pods is not None:
            prog.stage(f"sharing {cfg.pods.count} pods among {len(models)} models")
            rep = plan_tenants(cfg, list(zip(names, models)), n_images=n)
        else:
            prog.stage(f"scheduling {len(models)} model(s) on {len(cfg.subaccelerators)} "
                       "sub-accelerators")
            rep = schedule_layers(cfg, list(zip(names, models)), n_images=n).report()
        rep["estimate_seconds"] = round(time.perf_counter() - t0, 4)
        if coef is not None:
            prog.stage("pricing with the cost model")
            if cfg.pods is not None:
                acts = lambda: _pods_network_activity(cfg, models, n, rep["cycles"])  # noqa: E731
            else:
                acts = lambda: _engines_network_activity(cfg, models, names, n, rep)  # noqa: E731
            before = set(rep)
            _add_scaleout_cost(rep, cfg, args, coef, acts)
            cost_keys = tuple(k for k in rep if k not in before and k != "units")
        prog.done()
    if args.json:
        print(json.dumps(rep, indent=2, sort_keys=True))
        return EXIT_OK
    if "tenants" in rep:
        rows = [("model", "pods", "cycles", "MACs/cycle", "util")]
        rows += [(t["model"], str(t["pods"]), str(t["cycles"]), f"{t['macs_per_cycle']:.1f}",
                  f"{t['utilization']:.3f}") for t in rep["tenants"]]
        keys = ("config", "models", "pods", "interconnect", "tiling", "cycles", "macs",
                "utilization", "estimate_seconds")
    elif cfg.pods is not None:
        rows = [("layer", "op", "gemm MxKxN", "parts", "grid", "pods", "cycles", "util")]
        for d in rep["layers"]:
            g = d.get("gemm")
            rows.append((d["name"], d["op"], f"{g['M']}x{g['K']}x{g['N']}" if g else "host",
                         str(d.get("parts", "-")), d.get("grid", "-"),
                         str(d.get("pods_used", 0)), str(d["cycles"]),
                         f"{d['utilization']:.3f}" if g else "-"))
        keys = ("config", "model", "pods", "pod", "interconnect", "interconnect_latency",
                "cycles_per_beat", "tiling", "cycles", "macs", "macs_per_cycle",
                "utilization", "estimate_seconds")
    else:
        rows = [("model", "layer", "op", "engine", "start", "end", "cycles")]
        rows += [(d["model"], d["name"], d["op"], d["engine"], str(d["start"]), str(d["end"]),
                  str(d["cycles"])) for d in rep["layers"]]
        keys = ("config", "models", "cycles", "macs", "pes", "utilization", "cost_seconds",
                "schedule_seconds", "estimate_seconds")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    if coef is not None:
        keys += cost_keys
    _print_report({k: rep[k] for k in keys}, False)
    if coef is not None:
        for name, u in rep["units"].items():
            print(f"{name} (x{u['count']}): " + ", ".join(
                f"{k} {v}" for k, v in u.items() if k != "count"))
    if cfg.subaccelerators is not None:
        for name, e in rep["engines"].items():
            print(f"engine {name}: {e['array']}, {e['layers']} layers, busy {e['busy']:.3f}")
    return EXIT_OK


def args_run(p) -> None:
    config_arg(p)
    model_args(p, many=True)
    p.add_argument("--sim", choices=("verilator", "icarus", "amaranth"), default="verilator")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", type=cliargs.int_range(1, MAX_IMAGES, "an image count"),
                     metavar="N", help="N images: the first N test images (with labels) for "
                     "digits_cnn, else N seeded random images")
    src.add_argument("--input", type=cliargs.existing_file("a .npy file of images"),
                     metavar="FILE.npy", help="float images (N, C, H, W) or one (C, H, W)")
    p.add_argument("--labels", type=cliargs.existing_file("a .npy file of labels"),
                   metavar="FILE.npy", help="with --input: the images' class labels (N,), for "
                   "accuracy")
    p.add_argument("--seed", type=cliargs.seed32, default=1, metavar="S",
                   help="seed of the random images and of nothing else, 0 to 2^32-1 "
                   "(default 1)")
    p.add_argument("--max-cycles", type=cliargs.int_range(1, (1 << 32) - 1, "a cycle count"),
                   default=1_000_000_000, metavar="N",
                   help="give up on a layer (on pods or sub-accelerators: on the whole "
                   "run) after N cycles (default 1000000000)")
    json_arg(p)
    quiet_arg(p)


def _run_images(args, qnet):
    """(float images (N, C, H, W), labels or None, what they are)."""
    import numpy as np

    from .frontend import digits_data, random_images
    shape = tuple(qnet.input.shape)
    if args.labels and not args.input:
        raise BadInput("--labels goes with --input")
    if args.input:
        x = _npy(args.input, "images").astype(np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != shape:
            raise BadInput(f"{args.input}: images have shape {x.shape}, {qnet.name} takes "
                           f"(N, {', '.join(map(str, shape))})")
        if len(x) > MAX_IMAGES:
            raise BadInput(f"{args.input}: {len(x)} images; at most {MAX_IMAGES} a run")
        labels = None
        if args.labels:
            labels = _npy(args.labels, "labels")
            if labels.dtype.kind not in "iu" or labels.shape != (len(x),):
                raise BadInput(f"{args.labels}: labels must be {len(x)} integers (one per "
                               f"image), got {labels.dtype} of shape {labels.shape}")
        return x, labels, f"{len(x)} images from {args.input}"
    n = args.images or 1
    if qnet.name == "digits_cnn" and args.images:
        d = digits_data()
        if n > len(d["x_test"]):
            raise BadInput(f"--images {n}: the digits test split has {len(d['x_test'])}")
        return d["x_test"][:n], d["y_test"][:n], f"the first {n} digits test images"
    return (random_images(shape, n, seed=args.seed), None,
            f"{n} seeded random N(0,1) image{'s' if n > 1 else ''} (seed {args.seed})")


def _scaleout(cfg) -> str:
    """"pods", "engines" or "" (one array) for ``cfg``."""
    if cfg.pods is not None and cfg.pods.count > 1:
        return "pods"
    return "engines" if cfg.subaccelerators else ""


def _run_scaleout(cfg, kind: str, nets: list, n: int, args, prog):
    """``hwgen run`` on a multi-pod or heterogeneous design of the networks ``nets``
    ([(name, QNet, float images)], ``n`` images each): the plan (or schedule) first, so
    a layer the design cannot run is refused before the simulation; then (the run, every
    network's reference tensors, the report's keys that the organisation adds, the
    layers on the host)."""
    from sim_tb.scaleout_network import run_engines_networks, run_pods_networks

    from .compiler.scaleout import interconnect_of, plan_pods, plan_tenants, schedule_layers
    models = [(name, q) for name, q, _ in nets]
    what = ", ".join(name for name, _ in models)
    if kind == "pods":
        prog.stage(f"cutting {what} across {cfg.pods.count} pods for {n} image(s)")
        lat, share = interconnect_of(cfg)
        extra = {"pods": cfg.pods.count, "pod": f"{cfg.R}x{cfg.C} {cfg.dataflow.value}",
                 "interconnect": cfg.pods.interconnect.value,
                 "interconnect_latency": lat, "cycles_per_beat": share,
                 "tiling": cfg.pods.tiling.value,
                 # every interconnect's cycles modelled exactly, the bus's slots too
                 "exact": True}
        if len(nets) == 1:
            plan = plan_pods(cfg, models[0][1], n_images=n)
            host = [(models[0][0], lp.name) for lp in plan.layers if lp.where == "host"]
        else:
            split = plan_tenants(cfg, models, n_images=n)
            extra["split"] = split["split"]
            host = [(t["model"], d["name"]) for t in split["tenants"] for d in t["layers"]
                    if d["where"] == "host"]
        runner = run_pods_networks
    else:
        prog.stage(f"scheduling {what} on {len(cfg.engines)} sub-accelerators for "
                   f"{n} image(s)")
        sched = schedule_layers(cfg, models, n_images=n)
        extra = {"engines": {name: f"{e.R}x{e.C} {e.dataflow.value}"
                             for name, e in cfg.engines}}
        host = [(sl.model, sl.name) for sl in sched.layers if sl.engine == "host"]
        runner = run_engines_networks
    qs = dict(models)
    host = [(m, h) for m, h in host if qs[m].layer(h).op not in ("flatten", "reshape")]
    host = [h if len(nets) == 1 else f"{m}/{h}" for m, h in host]
    prog.stage("running the integer reference")
    envs = {name: q.run(q.quantize_input(x)) for name, q, x in nets}
    run = runner(cfg, [(name, q, envs[name]) for name, q, _ in nets], n, sim=args.sim,
                 max_cycles=args.max_cycles, progress=prog.stage)
    if run.timed_out:
        extra["error"] = f"timed out after {args.max_cycles} cycles"
    return run, envs, extra, host


def _top1(graph, x, ref, rtl, labels) -> dict:
    """Top-1 agreement of the float model, the quantized one and the RTL (class scores
    ``ref`` and ``rtl``), and accuracy against ``labels`` when there are some."""
    import numpy as np

    from .frontend import float_outputs
    fl = float_outputs(graph, x)
    top = {"float": fl.argmax(1), "quantized": ref.argmax(1), "rtl": rtl.argmax(1)}
    d = {"top1_agreement": {"quantized_vs_float": float((top["quantized"] ==
                                                         top["float"]).mean()),
                            "rtl_vs_quantized": float((top["rtl"] ==
                                                       top["quantized"]).mean())}}
    if labels is not None:
        labels = np.asarray(labels)
        d["accuracy"] = {k: round(float((v == labels).mean()), 6) for k, v in top.items()}
        d["accuracy"]["labels"] = len(labels)
    return d


def cmd_run(args) -> int:
    from sim_tb.network import run_network
    from sim_tb.runner import check_tools

    from .compiler.network import plan_network
    cfg = load_config(args.config)
    kind = _scaleout(cfg)
    specs = list(args.model)
    if len(specs) > 1:
        if not kind:
            raise BadInput("run: several --model go with a design of pods: or "
                           "subaccelerators:")
        if args.input or args.labels:
            raise BadInput("run: --input and --labels go with one --model; several "
                           "models take --images")
        if kind == "pods" and len(specs) > cfg.pods.count:
            raise BadInput(f"pods: {len(specs)} models on {cfg.pods.count} pods; every "
                           "model needs a pod of its own")
    elif not kind:
        cfg.single_array("run")
    if args.input_shape is not None and len(args.input_shape) == 4 and args.input_shape[0] != 1:
        raise BadInput("run: give the images with --images or --input; --input-shape "
                       "sets one image's C x H x W")
    if args.sim != "amaranth":
        check_tools(args.sim)
    extra = {}
    with progress_of(args) as prog:
        loaded = []   # (name, QNet, float graph, images, labels, source)
        for spec in specs:
            args.model = spec
            qnet, graph, _ = _load_network(args, cfg)
            loaded.append((qnet, graph, *_run_images(args, qnet)))
        names = [q.name if [m[0].name for m in loaded].count(q.name) == 1 else
                 f"{q.name}#{i}" for i, (q, *_) in enumerate(loaded)]
        n = len(loaded[0][2])
        if kind:
            run, envs, extra, host = _run_scaleout(
                cfg, kind, [(name, q, x) for name, (q, _, x, _, _) in zip(names, loaded)],
                n, args, prog)
        else:
            qnet, _, x, _, _ = loaded[0]
            prog.stage(f"planning {qnet.name} on {cfg.name} for {n} image(s)")
            plan = plan_network(cfg, qnet, n_images=n)
            prog.stage("running the integer reference")
            envs = {names[0]: qnet.run(qnet.quantize_input(x))}
            run = run_network(plan, envs[names[0]], sim=args.sim,
                              max_cycles=args.max_cycles, progress=prog.stage)
            host = plan.totals()["host_ops"]
        prog.done()
    if len(loaded) == 1:
        rep = {"config": cfg.name, "model": loaded[0][0].name, "images": n,
               "input": loaded[0][4]}
    else:
        rep = {"config": cfg.name, "models": names, "images": n,
               "input": {name: m[4] for name, m in zip(names, loaded)}}
    rep.update(run.report())
    rep.update(extra)
    rep["host_ops"] = host
    scores = {}
    outputs = run.outputs_of if kind else {names[0]: run.outputs}
    for name, (qnet, graph, x, labels, _) in zip(names, loaded):
        out_name = qnet.outputs[0]
        ref = envs[name][out_name]
        if ref.ndim == 2:   # class scores: top-1 against the labels, and the float model's
            scores[name] = _top1(graph, x, ref, outputs[name][out_name], labels)
    if len(loaded) == 1:
        rep.update(scores.get(names[0], {}))
    else:
        for key in ("top1_agreement", "accuracy"):
            if any(key in d for d in scores.values()):
                rep[key] = {name: d[key] for name, d in scores.items() if key in d}
    _print_network_run(rep, args.json)
    if not run.correct:
        bad = run.first_wrong()
        where = f"{bad.extra['model']}/" if "model" in bad.extra else ""
        error(f"NOT bit-exact: layer {where}{bad.name} differs from the integer reference in "
              f"{bad.mismatches} of {bad.elements} outputs" +
              (" (timed out)" if bad.timed_out else ""))
        return EXIT_FAIL
    if not all(r.cycles_match for r in run.layers):
        bad = next(r for r in run.layers if not r.cycles_match)
        error(f"layer {bad.name} took {bad.cycles} cycles, the cycle model says "
              f"{bad.estimate_cycles}")
        return EXIT_FAIL
    if not run.cycles_match:
        error(f"the run took {run.cycles} cycles, hwgen estimate says {run.estimate_cycles}")
        return EXIT_FAIL
    return EXIT_OK


def _print_network_run(rep: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rep, indent=2, sort_keys=True))
        return
    rows = [("layer", "op", "where", "cycles", "estimate", "bit-exact")]
    for d in rep["layers"]:
        where = d["where"] + (f" {d['grid']}" if "grid" in d else "") + (
            f" {d['engine']}" if d["where"] == "engine" else "")
        rows.append(((f"{d['model']}/" if "model" in d else "") + d["name"], d["op"], where,
                     str(d["cycles"]),
                     str(d["estimate_cycles"]),
                     ("yes" if d["bit_exact"] else f"NO ({d['mismatches']})")
                     if "bit_exact" in d else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    _print_report({k: v for k, v in rep.items() if k != "layers"}, False)


def args_compile(p) -> None:
    config_arg(p)
    model_args(p)
    output_args(p, "build/NAME-HASH-MODEL")
    p.add_argument("--input", type=cliargs.existing_file("a .npy file of images"),
                   metavar="FILE.npy", help="the image (C, H, W) or (1, C, H, W) of the test "
                   "vectors written beside the programs (default: one seeded random image, "
                   "or the first digits test image)")
    p.add_argument("--seed", type=cliargs.seed32, default=1, metavar="S",
                   help="seed of the random test image (default 1)")
    quiet_arg(p)


def cmd_compile(args) -> int:
    from .compiler.network import plan_network
    from .compiler.package import write_package, write_scaleout_package
    cfg = load_config(args.config)
    kind = _scaleout(cfg)
    if not kind:
        cfg.single_array("compile")
    if args.input_shape is not None and len(args.input_shape) == 4 and args.input_shape[0] != 1:
        raise BadInput("compile: a compiled network runs one image at a time; give "
                       "--input-shape as 1xCxHxW or CxHxW")
    with progress_of(args) as prog:
        qnet, _, _ = _load_network(args, cfg)
        args.images, args.labels = None, None
        x, _, source = _run_images(args, qnet)
        if len(x) != 1:
            raise BadInput(f"{args.input}: compile takes one test image, got {len(x)}")
        name = Path(str(args.model)).stem if "/" in str(args.model) or "." in str(args.model) \
            else str(args.model)
        out = Path(args.output) if args.output else \
            Path("build") / f"{cfg.name}-{config_hash(cfg)}-{name}"
        prog.stage(f"planning {qnet.name} on {cfg.name}")
        if kind:   # refuses a layer the design cannot run before writing anything
            if kind == "pods":
                from .compiler.scaleout import plan_pods
                plan_pods(cfg, qnet, n_images=1)
            files = write_scaleout_package(cfg, qnet, qnet.quantize_input(x), out,
                                           force=args.force, source=source, log=prog.stage)
        else:
            plan = plan_network(cfg, qnet, n_images=1)
            files = write_package(plan, qnet.quantize_input(x), out, force=args.force,
                                  source=source, log=prog.stage)
        prog.done()
        prog.log(f"wrote {len(files)} files to {out}")
    for f in files:
        print(f)
    return EXIT_OK


# ---- search ------------------------------------------------------------------------------
def _target(text: str):
    from .search import Target
    kind, sep, rest = text.partition(":")
    if kind == "pdk" and sep:
        name, at, clock = rest.partition("@")
        if not at:
            raise BadInput(f"--target {text}: a library target needs its clock period: "
                           "pdk:NAME@CLOCK_NS (e.g. pdk:osu018@10)")
        period = cliargs.float_range(0, 1e6, "a clock period (ns)")
        try:
            ns = period(clock)
        except argparse.ArgumentTypeError as e:
            raise BadInput(f"--target {text}: {e}") from None
        from asic_flow.pdks import KNOWN_PDKS
        if name not in KNOWN_PDKS:
            raise BadInput(f"--target {text}: unknown library {name!r} (one of "
                           f"{', '.join(KNOWN_PDKS)})")
        return Target("pdk", name, ns)
    if kind == "board" and sep:
        from fpga.boards import BOARDS
        if rest not in BOARDS:
            raise BadInput(f"--target {text}: unknown board {rest!r} (one of "
                           f"{', '.join(BOARDS)})")
        return Target("board", rest, None)
    raise BadInput(f"--target {text}: expected pdk:NAME@CLOCK_NS or board:BOARD")


def args_search(p) -> None:
    from .search import ALGORITHMS, OBJECTIVES
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="MODEL", help=MODEL_HELP)
    src.add_argument("--workload", metavar="gemm:MxKxN[,gemm:...]",
                     help="one or more GEMMs, comma-separated")
    p.add_argument("--input-shape", type=cliargs.input_shape, metavar="NxCxHxW",
                   help="with --model: its input (N images)")
    p.add_argument("--target", required=True, metavar="pdk:NAME@CLOCK_NS|board:BOARD",
                   help="where the designs go: a standard-cell library at a clock period "
                   "(pdk:osu018@10) or an FPGA board (board:ulx3s-85f)")
    p.add_argument("--objective", choices=OBJECTIVES, default="latency")
    p.add_argument("--max-area-um2", type=cliargs.float_range(0, 1e15, "an area (um2)"),
                   metavar="A")
    p.add_argument("--max-power-mw", type=cliargs.float_range(0, 1e9, "a power (mW)"),
                   metavar="P")
    p.add_argument("--min-fps", type=cliargs.float_range(0, 1e12, "frames per second"),
                   metavar="F")
    p.add_argument("--budget", type=cliargs.int_range(1, 10_000_000, "a number of designs"),
                   default=200, metavar="N", help="designs timed exactly (default 200)")
    p.add_argument("--seed", type=cliargs.seed32, default=1, metavar="S")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="evolution")
    p.add_argument("--space", type=cliargs.existing_file("a search-space YAML file"),
                   metavar="FILE", help="which config keys vary and over what values "
                   "(default: hwgen.search.space.DEFAULT)")
    p.add_argument("--verify", type=cliargs.int_range(0, 64, "a number of designs"), default=0,
                   metavar="K", help="generate the K best designs, run the workload on "
                   "Verilator bit-exact with cycles equal to the model, and run the target "
                   "flow on the best one")
    p.add_argument("--resume", action="store_true",
                   help="continue the search whose directory -o names (its search.log)")
    output_args(p, "build/search-WORKLOAD-TARGET")
    json_arg(p)
    quiet_arg(p)


def _search_workload(args, in_bits: int):
    from .frontend import load_model
    from .search import Workload, gemm_workload
    if args.workload is not None:
        if args.input_shape:
            raise BadInput("--input-shape goes with --model")
        gemms = [cliargs.gemm(t.strip()) for t in args.workload.split(",") if t.strip()] \
            if all(_is_gemm(t) for t in args.workload.split(",")) else None
        if not gemms:
            raise BadInput(f"--workload {cliargs.shown(args.workload)}: expected "
                           f"{cliargs.GEMM_SYNTAX}, several separated by commas")
        return gemm_workload(gemms)
    shape, n = args.input_shape, 1
    if shape is not None and len(shape) == 4:
        n, shape = shape[0], shape[1:]
    from .config import PrecisionConfig

    def load(bits: int):
        current().stage(f"loading {args.model} at {bits} bits")
        return load_model(args.model, shape, None, PrecisionConfig(in_bits=bits))
    wl = Workload(label=str(args.model), load=load, images=n)
    wl.qnet(in_bits)      # bad models are refused here, before the search starts
    return wl


def _is_gemm(text: str) -> bool:
    try:
        cliargs.gemm(text.strip())
        return True
    except argparse.ArgumentTypeError:
        return False


def cmd_search(args) -> int:
    from .search import Constraints, Evaluator, load_space, make_space, search
    from .search.cost import cost_for
    target = _target(args.target)
    c = Constraints(args.max_area_um2, args.max_power_mw, args.min_fps)
    if args.resume and not args.output:
        raise BadInput("--resume needs -o DIR (the search to continue)")
    space = load_space(args.space) if args.space else make_space(None)
    bits = space.dims[space.index["precision.in_bits"]].values
    wl = _search_workload(args, bits[0])
    max_k = max(wl.max_k(b) for b in bits)
    space.max_k = max(max_k, 1)
    cost = cost_for(target, args.objective, c)
    ev = Evaluator(space, wl, target, args.objective, c, cost)
    label = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in wl.label)[:40]
    out = Path(args.output) if args.output else \
        Path("build") / f"search-{label}-{target.kind}-{target.name}"
    verify = None
    if args.verify:
        from .search.verify import verifier
        verify = verifier(ev, args.verify, args.seed, model=args.model)
    with progress_of(args) as prog:
        prog.stage(f"searching {space.count} designs for {wl.label} on {target} "
                   f"({args.algorithm}, budget {args.budget}, objective {args.objective})")
        summary = search(ev, algorithm=args.algorithm, budget=args.budget, seed=args.seed,
                         out=out, force=args.force, resume=args.resume, progress=prog.stage,
                         verify=verify)
        prog.done()
        prog.log(f"wrote {out}")
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        best = summary["best"]
        print(f"best            {best['name'] if best else '-'}")
        if best:
            for k in ("cycles", "latency_s", "utilization", "area_um2", "energy_uj",
                      "power_mw", "fmax_mhz"):
                if k in best["metrics"]:
                    v = best["metrics"][k]
                    print(f"{k:<15} {v:.6g}" if isinstance(v, float) else f"{k:<15} {v}")
        print(f"pareto          {len(summary['pareto'])} designs")
        print(f"evaluations     {summary['evaluations']} exact, {summary['screened']} screened")
        print(f"output          {out}")
    if not summary["best"]:
        error("no design in the space runs the workload within the constraints")
        return EXIT_FAIL
    ver = summary.get("verify") or {}
    if ver and not ver.get("ok", True):
        error("verification failed: " + ver.get("why", "see the report"))
        return EXIT_FAIL
    return EXIT_OK


# ---- cosearch ----------------------------------------------------------------------------
COSEARCH_OBJECTIVES = ("accuracy-latency", "accuracy-energy")


def args_cosearch(p) -> None:
    from .cosearch.netspace import TASKS
    from .cosearch.search import METHODS
    p.add_argument("--task", required=True, choices=sorted(TASKS),
                   help="the data the networks learn (digits: scikit-learn's 8x8 digits)")
    p.add_argument("--target", default="pdk:osu018@10", metavar="pdk:NAME@CLOCK_NS|board:BOARD",
                   help="where the accelerator goes and the winner's flow runs "
                   "(default pdk:osu018@10)")
    p.add_argument("--objective", choices=COSEARCH_OBJECTIVES, default="accuracy-latency")
    p.add_argument("--budget", type=cliargs.int_range(1, 100_000, "a number of networks"),
                   default=300, metavar="N",
                   help="networks each search method scores (default 300)")
    p.add_argument("--methods", default=",".join(METHODS), metavar="M[,M...]",
                   help=f"of {', '.join(METHODS)} (default: all three; the fronts compare "
                   "the co-search methods with the sequential baseline)")
    p.add_argument("--space", type=cliargs.existing_file("a co-search space YAML file"),
                   metavar="FILE", help="network: {max_depth, widths: {min, max}, kernels, "
                   "bits} and accelerator: (a hwgen search space)")
    p.add_argument("--max-pes", type=cliargs.int_range(1, 1 << 16, "a number of PEs"),
                   default=64, metavar="P", help="largest array (rows x cols, default 64)")
    p.add_argument("--max-area-um2", type=cliargs.float_range(0, 1e15, "an area (um2)"),
                   metavar="A", help="largest accelerator area by the cost model (pdk target)")
    p.add_argument("--epochs", type=cliargs.int_range(1, 1000, "a number of epochs"),
                   default=30, metavar="E", help="super-network training epochs (default 30)")
    p.add_argument("--finetune-epochs", type=cliargs.int_range(0, 1000, "a number of epochs"),
                   default=15, metavar="E", help="epochs each front network is fine-tuned")
    p.add_argument("--front-size", type=cliargs.int_range(1, 64, "a number of designs"),
                   default=8, metavar="K", help="designs of each front made real (default 8)")
    p.add_argument("--accuracy-drop", type=cliargs.float_range(0, 1, "an accuracy drop"),
                   default=0.01, metavar="D", help="the winner: the fastest co-searched "
                   "design within D of the best quantized accuracy (default 0.01)")
    p.add_argument("--images", type=cliargs.int_range(0, 100_000, "a number of images"),
                   default=20, metavar="N",
                   help="test images the winner runs on the RTL (0: none; default 20)")
    p.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--no-flow", action="store_true",
                   help="do not run the target's flow on the winner")
    p.add_argument("--seed", type=cliargs.seed32, default=0, metavar="S")
    output_args(p, "build/cosearch-TASK-TARGET")
    json_arg(p)
    quiet_arg(p)


def _cosearch_space(path):
    from .config.loader import parse_yaml
    if path is None:
        return None, None
    from .lib.errors import read_text
    data = parse_yaml(read_text(path), str(path)) or {}
    if not isinstance(data, dict) or set(data) - {"network", "accelerator"}:
        raise BadInput(f"{path}: a co-search space has network: and accelerator: sections")
    return data.get("network"), data.get("accelerator")


def cmd_cosearch(args) -> int:
    from .cosearch.netspace import parse_netspace
    from .cosearch.run import cosearch
    from .cosearch.search import METHODS
    from .search import Constraints
    from .search.cost import cost_for
    target = _target(args.target)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise BadInput(f"--methods {cliargs.shown(args.methods)}: expected some of "
                       f"{', '.join(METHODS)}, separated by commas")
    if args.objective == "accuracy-energy" or args.max_area_um2 is not None:
        if target.kind != "pdk":
            raise BadInput("--objective accuracy-energy and --max-area-um2 need a "
                           "pdk:NAME@CLOCK_NS target (standard-cell area and power)")
    cost = cost_for(target, "energy" if args.objective == "accuracy-energy" else "latency",
                    Constraints(max_area_um2=args.max_area_um2))
    net_spec, hw_spec = _cosearch_space(args.space)
    ns = parse_netspace(net_spec, args.task)
    from .cosearch.run import hardware_search
    hw = hardware_search(ns, hw_spec, max_pes=args.max_pes, cost=cost,
                         max_area_um2=args.max_area_um2,
                         energy=args.objective == "accuracy-energy")
    out = Path(args.output) if args.output else \
        Path("build") / f"cosearch-{args.task}-{target.kind}-{target.name}"
    verify = None
    if args.images or not args.no_flow:
        from .cosearch.verify import verifier
        verify = verifier(images=args.images, sim=args.sim,
                          target=None if args.no_flow else target, seed=args.seed)
        if args.images:
            from sim_tb.runner import check_tools
            check_tools(args.sim)
    with progress_of(args) as prog:
        prog.stage(f"co-search of {args.task} networks and accelerators for {target} "
                   f"({', '.join(methods)}, budget {args.budget})")
        summary = cosearch(task=args.task, netspace=ns, hw_spec=hw_spec,
                           clock_ns=target.clock_ns or 10.0, max_pes=args.max_pes,
                           max_area_um2=args.max_area_um2, cost=cost, target=target,
                           objective=args.objective, budget=args.budget, seed=args.seed,
                           methods=methods, epochs=args.epochs,
                           finetune_epochs=args.finetune_epochs, front_size=args.front_size,
                           accuracy_drop=args.accuracy_drop, out=out, force=args.force,
                           progress=prog.stage, verify=verify, hw=hw)
        prog.done()
        prog.log(f"wrote {out}")
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        w = summary.get("winner")
        print(f"winner          {w['network']['name'] + ' on ' + w['accelerator'] if w else '-'}")
        if w:
            print(f"accuracy        float {w['float_test_accuracy']}, quantized "
                  f"{w['quant_test_accuracy']} (test split)")
            print(f"latency         {w['cycles']} cycles ({w['latency_us']} us)")
            print(f"utilization     {w['utilization']}")
            if "energy_uj" in w:
                print(f"energy          {w['energy_uj']:.4g} uJ per image")
        d = summary["dominance"]
        print(f"fronts          co-search {len(summary['fronts']['co-search'])}, sequential "
              f"{len(summary['fronts']['sequential'])}; {d['dominated_by_cosearch']} of "
              f"{d['sequential_points']} sequential designs matched or beaten")
        v = summary.get("verify")
        if v and "bit_exact" in v:
            print(f"rtl             {v['images']} images on {v['sim']}: "
                  f"{'bit-exact' if v['bit_exact'] else 'NOT bit-exact'}, cycles "
                  f"{'equal to' if v['cycles_match'] else 'DIFFERENT from'} the model, "
                  f"accuracy {v['accuracy']}")
        if v and "flow" in v:
            print(f"flow            {json.dumps(v['flow'])}")
        print(f"output          {out}")
    if summary.get("winner") is None:
        error("no co-searched design could be made real (see cosearch.json)")
        return EXIT_FAIL
    v = summary.get("verify") or {}
    if v.get("images") and not v.get("ok", True):
        error("the winner is NOT bit-exact on the RTL or its cycles differ from the model")
        return EXIT_FAIL
    return EXIT_OK


_frequency = cliargs.float_range(0, 10_000, "a frequency (MHz)")


def _clock_mhz(text: str):
    """``--clock-mhz``: a frequency, or ``auto``."""
    if text == "auto":
        return text
    try:
        return _frequency(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(str(e).replace(", got", " or auto, got", 1)) from None


def args_fpga(p) -> None:
    config_arg(p)
    p.add_argument("--board", required=True, metavar="BOARD",
                   help="icebreaker, ulx3s-25f, ulx3s-85f, orangecrab-25f, tangnano9k")
    output_args(p, "build/NAME-HASH-BOARD")
    p.add_argument("--clock-mhz", type=_clock_mhz, metavar="F",
                   help="run the design at F MHz from the board's PLL (the nearest frequency "
                        "it makes; also the timing target; default: the board oscillator); "
                        "'auto': build at the oscillator, then from the PLL at the highest "
                        "frequency it makes at or below the Fmax reached, and keep the "
                        "fastest build that meets timing")
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
            auto = args.clock_mhz == "auto"
            mhz = None if auto else args.clock_mhz
            options = fpga.FpgaOptions(board=args.board, clock_mhz=mhz, seed=args.seed,
                                       pll=mhz is not None, auto_clock=auto)
            rep = fpga.build(cfg, options, out, progress=prog.stage, force=args.force)
        except (fpga.UnknownBoard, fpga.ToolMissing, fpga.ClockOutOfRange) as e:
            raise BadInput(str(e))
        except fpga.BuffersTooLarge as e:  # known before any tool ran: bad input
            raise BadInput(f"does not fit: {e}")
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
    Command("estimate", "cycle count of a GEMM or a network from the cycle model (and with "
            "--pdk or --board its cost from the cost model)", args_estimate, cmd_estimate),
    Command("calibrate", "run the flows on a designed set of configs and refit the cost "
            "model's coefficients", args_calibrate, cmd_calibrate),
    Command("sim", "run a workload on the generated RTL", args_sim, cmd_sim),
    Command("run", "run a network on the generated RTL, layer by layer, bit-exact against "
            "its integer reference", args_run, cmd_run),
    Command("compile", "a network's programs, quantized weights and test vectors for a "
            "board driver", args_compile, cmd_compile),
    Command("search", "search accelerator designs (and their mappings) for a workload or "
            "network", args_search, cmd_search),
    Command("cosearch", "search networks and accelerators together (and the sequential "
            "baseline), the winner verified on the RTL and through the flow", args_cosearch,
            cmd_cosearch),
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
        if isinstance(e, OSError):  # the machine's trouble (a full disk), not hwgen's
            where = f" ({e.filename})" if e.filename else ""
            print(f"hwgen: {_one_line(e.strerror or e)}{where}", file=sys.stderr)
            return EXIT_FAIL
        raise


def entry() -> None:
    """The ``hwgen`` command: :func:`main`, then exit with its code. A SIGINT, SIGTERM or
    SIGHUP that arrives after the command has finished (while the interpreter shuts down,
    which would otherwise die of it with -2 or -15 after the work was complete and
    reported) is ignored; one that arrives between the two gives 130 or 128 + signal."""
    def terminated(signum, frame):
        raise tools.Terminated(signum)

    late = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here: KeyboardInterrupt
    for s in late[1:]:  # what main restores on its way out
        signal.signal(s, terminated)
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    except tools.Terminated as e:
        code = 128 + e.signum
    for s in late:
        signal.signal(s, signal.SIG_IGN)
    if code >= 128:
        # Interrupted, and unwound (temporaries removed, tools ended): exit with the code
        # itself. Through the interpreter's shut-down a run that had caught Ctrl-C was
        # seen to die of SIGINT instead (exit -2 after printing "interrupted", 1 in
        # some hundreds of runs), which a calling script reads as a different outcome.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
