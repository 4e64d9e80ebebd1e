"""``run``: config -> Verilog -> Yosys/ABC netlist -> OpenSTA timing and power -> report.

Everything is written to a staging directory next to ``out_dir`` and moved into place at
the end (:mod:`hwgen.lib.outdir`), so an interrupted run never leaves a directory that
looks complete (``report.json`` comes last) nor any temporary files, and an output that
is a file or holds files hwgen did not write is refused before any work (``force``
writes into the latter, replacing only hwgen's names). A failed run's files are kept in
``<out_dir>.failed`` for its logs. Yosys's log feeds the progress line
(:mod:`hwgen.lib.progress`) while it runs.

:func:`run` checks what it can before any work (:func:`_prepare`), then runs the stages
in order, each a function below that returns its part of the report: :func:`_generate`
(Verilog), :func:`_rtl_activity` (block activity method: the workload on the RTL),
:func:`_synthesize`, :func:`_time` (OpenSTA timing) and :func:`_power` (power at the
default activity), :func:`_net_power` or :func:`_block_power` (power at the workload's
activity), :func:`_orfs`, :func:`_pnr`; :func:`_write_report` writes ``report.md`` and
``report.json`` and :func:`_publish` renames the directory into place.
"""
from __future__ import annotations

import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

from hwgen.emit import generate_verilog
from hwgen.lib import outdir, progress

from . import activity as activity_mod
from . import macros as macros_mod
from . import netact
from . import orfs as orfs_mod
from . import pdks, sta, synth, tools
from . import pnr as pnr_mod
from . import workload as workload_mod
from .errors import AsicFlowError, BadWorkload, ToolFailed, UnknownPdk
from .options import ActivityMethod, AsicOptions, PnrScope
from .report import (
    Area,
    AsicReport,
    BlockPower,
    MacroPower,
    MemoryReport,
    NetPower,
    OrfsRun,
    PnrRun,
    Power,
    Timing,
    format_table,
)

TOP = "hwgen_top"

#: Top-level block instance -> part of the accelerator it belongs to.
ROLES = {
    "array": "pe_array",
    "input_buf": "buffers",
    "weight_buf": "buffers",
    "acc_buf": "buffers",
    "engine": "controller",
    "host": "host_interface",
    "top": "top_glue",
    "in_net": "interconnect",
    "out_net": "interconnect",
}


def role_of(block: str) -> str:
    """The part of the accelerator a block belongs to (:data:`ROLES`): a pod's or an
    engine's blocks (``pod0.array``) by their own name, a pod's or engine's glue
    (``pod0``) with the top's."""
    if "." not in block and block not in ROLES:
        return "top_glue"
    return ROLES.get(block.rsplit(".", 1)[-1], "other")


def units_of(blocks) -> list[str]:
    """The pods or engines among the blocks of a scale-out design (the blocks with
    blocks of their own); empty for one array."""
    return sorted({b.split(".", 1)[0] for b in blocks if "." in b},
                  key=lambda u: (len(u), u))

MEMORY_NOTE = ("built from flip-flops and multiplexers by logic synthesis (no SRAM macros; "
               "--memories macro models the buffers as macros), so their area and power "
               "are far above those of a real SRAM of the same size")
MACRO_NOTE = ("the buffers' memories are black-box SRAM macros whose area, timing, leakage "
              "and clock energy are a " + macros_mod.SOURCE_NOTE + "; other memories (the "
              "host FIFO) are flip-flops")


@dataclass
class _Run:
    """What the stages share: the inputs, the library and tools, the working directory,
    the progress callback and the seconds each stage took (in the order they ran)."""
    cfg: object
    opt: AsicOptions
    lib: pdks.Library
    yosys: tools.Tool
    sta: tools.Tool
    work: Path
    say: Callable[[str], None]
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, msg: str) -> None:
        """A warning: a permanent line now, and in the report."""
        self.warnings.append(msg)
        progress.current().log(f"warning: {msg}")

    @contextmanager
    def timed(self, step: str):
        """Record the seconds the body takes as ``seconds[step]`` (not when it raises:
        a failed run has no report)."""
        t0 = time.monotonic()
        yield
        self.seconds[step] = round(time.monotonic() - t0, 2)

    def netlist(self) -> str:
        return (self.work / synth.NETLIST).read_text()

    @property
    def extra_liberties(self) -> list[str]:
        return [synth.MACRO_LIB] if self.opt.macro_memories else []


# ---- before any work -------------------------------------------------------------------
def _prepare(opt: AsicOptions) -> tuple[pdks.Library, dict, tools.Tool, tools.Tool]:
    """The library, its cell data and the tools; raises (UnknownPdk, BadLiberty,
    ToolMissing, BadWorkload) for what the options alone could not show."""
    lib = pdks.resolve(opt.pdk, opt.liberty)
    lib_info = pdks.read_liberty(lib.liberty, lib.name)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    if opt.pnr is not PnrScope.NONE:
        if lib.name not in pdks.KNOWN_PDKS:
            raise UnknownPdk(f"place and route needs one of the qflow PDKs "
                             f"({', '.join(sorted(pdks.KNOWN_PDKS))}), not {lib.name!r}")
        pnr_mod.find_qflow()
    if opt.workload is not None:
        if opt.activity_method is ActivityMethod.NET and lib.models is None:
            raise BadWorkload(f"per-net activity needs the cells' Verilog models "
                              f"({lib.liberty.with_suffix('.v')} not found); give them "
                              "there or use the block method (--activity-method block)")
        workload_mod.check_simulator()
    return lib, lib_info, yosys, sta_tool


def _versions(yosys: tools.Tool, sta_tool: tools.Tool) -> dict:
    out = {"yosys": yosys.version, "sta": sta_tool.version, "python": platform.python_version()}
    for pkg in ("amaranth", "pyosys"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


# ---- stages --------------------------------------------------------------------------
def _generate(r: _Run) -> str:
    r.say(f"generating Verilog for {r.cfg.name}")
    with r.timed("generate"):
        return generate_verilog(r.cfg)


def _rtl_activity(r: _Run, verilog: str):
    """Block method: the workload on the RTL in Icarus; (activity, simulation info)."""
    r.say(f"simulating {r.opt.workload} on {workload_mod.SIM} (seed {r.opt.seed}) for "
          "switching activity")
    with r.timed("simulate"):
        return workload_mod.simulate(r.cfg, verilog, r.opt.workload, r.opt.seed, r.work)


def _synthesize(r: _Run, verilog: str, shapes) -> dict:
    """Yosys and ABC to the library: ``synth.NETLIST`` in the working directory, and its
    cells and area (in total and per top-level block)."""
    r.say(f"synthesizing to {r.lib.name} with {r.yosys.version} (" + (
        "memories become flip-flops)" if shapes is None else
        f"buffer memories become {len(shapes)} modelled SRAM macro type(s))"))
    with r.timed("synth"), progress.current().watch(r.work / synth.LOG, progress.yosys_log()):
        return synth.synthesize(r.yosys, r.lib, verilog, TOP, r.cfg.name, r.opt.clock_ns,
                                r.work, macro_shapes=shapes, timeout=r.opt.synth_timeout,
                                warn=r.warn)


def _time(r: _Run, st: dict) -> tuple[Timing, Optional[dict]]:
    """OpenSTA on the netlist: the timing, and OpenSTA's power at the default activity
    (None when it printed none). The critical path's ends are named by register."""
    r.say(f"{st['cells']} cells, {st['area_um2']:.0f} um^2 in {r.seconds['synth']:.1f} s; "
          f"timing and power with {r.sta.version}")
    with r.timed("sta"):
        t = sta.analyze(r.sta, r.lib, synth.NETLIST, TOP, r.cfg.name, r.opt.clock_ns, r.work,
                        activity=r.opt.activity, extra_liberties=r.extra_liberties)
    cp = t["critical_path"]
    if cp:
        regs = sta.register_names(r.netlist(), TOP)
        cp["start_register"] = regs.get(cp["startpoint"], cp["startpoint"])
        cp["end_register"] = (regs.get(cp["endpoint"])
                              or regs.get(cp["endpoint"].rsplit("/", 1)[0]) or cp["endpoint"])
    timing = Timing(met=t["timing_met"], worst_slack_ns=t["worst_slack_ns"],
                    wns_ns=t["wns_ns"], tns_ns=t["tns_ns"], critical_path=cp,
                    achievable_period_ns=t["achievable_period_ns"], fmax_mhz=t["fmax_mhz"])
    return timing, t["power"]


def _power(r: _Run, opensta: Optional[dict], shapes) -> Power:
    """Power at the default activity: OpenSTA's, plus the macros' modelled dynamic power
    with every cycle counted as an access."""
    opensta = opensta or {}
    total, macro = opensta.get("total_mw"), None
    if shapes:
        macro, total = _macro_power(
            _macro_instances(r.netlist(), shapes), r.opt.clock_ns,
            lambda path: macros_mod.access_share(0.5, 0.5),
            "read and write enables at the default duty 0.5: every cycle counted as an "
            "access", total)
    a, clock_ns = r.opt.activity, r.opt.clock_ns
    return Power(total_mw=total, internal_mw=opensta.get("internal_mw"),
                 switching_mw=opensta.get("switching_mw"),
                 leakage_mw=opensta.get("leakage_mw"), macro=macro, activity=a,
                 activity_source=f"default {a:g}",
                 assumption=(f"no simulation: every input and register output toggles "
                             f"{a:g} times per clock (duty 0.5) at {1000.0 / clock_ns:g} "
                             "MHz; ideal clock, no clock tree, no wires"))


def _macro_instances(netlist: str, shapes) -> list:
    """(instance path, Shape) of every macro in the netlist."""
    by_name = {s.name: s for s in shapes}
    cells, _ = netact.netlist_cells(netlist, TOP, set(by_name))
    return [(c.path, by_name[c.cell_type]) for c in cells]


def _macro_power(instances, clock_ns: float, share_of, how: str,
                 opensta_total_mw: Optional[float],
                 blocks: Optional[dict] = None) -> tuple[MacroPower, Optional[float]]:
    """The macros' modelled dynamic power (not in the Liberty, see asic_flow.macros),
    also added to each block's entry in ``blocks``; returns it and the total with it
    (None when OpenSTA gave no total)."""
    total = 0.0
    for path, shape in instances:
        mw = macros_mod.dynamic_power_mw(shape, clock_ns, share_of(path))
        total += mw
        if blocks is not None:
            b = blocks.setdefault(path.split("/", 1)[0] if "/" in path else "top", {})
            b["macro_dynamic_mw"] = round(b.get("macro_dynamic_mw", 0.0) + mw, 4)
            if "total_mw" in b:
                b["total_mw"] = round(b["total_mw"] + mw, 4)
    with_macros = round(opensta_total_mw + total, 4) if opensta_total_mw is not None else None
    return MacroPower(round(total, 4), how, opensta_total_mw), with_macros


def _block_power(r: _Run, act, info: dict, blocks: list[str], shapes) -> BlockPower:
    """Power per block at the block's measured mean flip-flop activity."""
    with r.timed("power_sim"):
        regs = sta.register_names(r.netlist(), TOP)
        acts = activity_mod.block_activities(act, regs)
        overall = acts["all"]
        if not overall["flops_measured"]:
            raise ToolFailed("no flip-flop of the netlist matched a register in the "
                             f"simulation dump ({r.work / workload_mod.VCD})")
        source = (f"simulation: {info['workload']} on {info['simulator']}, "
                  f"{info['dump_cycles']} cycles")
        groups, used = [], {}
        for name in sorted(blocks):
            a = acts.get(name) or {}
            measured = bool(a.get("flops_measured"))
            pick = a if measured else overall
            used[name] = {"activity": pick["activity"], "duty": pick["duty"],
                          "flops": a.get("flops", 0),
                          "flops_measured": a.get("flops_measured", 0),
                          "from": "block" if measured else "design mean"}
            pattern = sta.TOP_GLUE_CELLS if name == "top" else f"{name}/*"
            groups.append((name, pattern, pick["activity"], pick["duty"]))
        by_block = sta.analyze_power_by_block(r.sta, r.lib, synth.NETLIST, TOP, r.cfg.name,
                                              r.work, groups, source,
                                              extra_liberties=r.extra_liberties)
        for name, p in by_block.items():
            used[name].update(p)
        total = {k: round(sum(b[k] for b in by_block.values()), 6 if k == "leakage_mw" else 4)
                 for k in ("internal_mw", "switching_mw", "leakage_mw", "total_mw")}
        macro = None
        if shapes:
            macro, total["total_mw"] = _macro_power(
                _macro_instances(r.netlist(), shapes), r.opt.clock_ns,
                lambda path: macros_mod.access_share(used[path.split("/")[0]]["duty"],
                                                     used[path.split("/")[0]]["duty"]),
                "access share of each macro from its block's mean flip-flop duty (read and "
                "write enables at that duty)", total["total_mw"], used)
    out = BlockPower(
        **total, macro=macro,
        method=("each block's cells at the mean toggle rate and duty of the block's "
                "flip-flops measured in the simulation (design mean where none matched); "
                "buffer words are not in the dump, so buffer power is overstated"),
        activity_source=source, mean_activity=overall["activity"],
        mean_duty=overall["duty"], blocks=used, simulation=info,
        flops_measured=overall["flops_measured"], flops=overall["flops"])
    r.say(f"{out.total_mw:.1f} mW with the activity of {out.activity_source}")
    return out


def _net_power(r: _Run, shapes) -> NetPower:
    """Power with per-pin activity from a gate-level simulation of the workload
    (see :mod:`asic_flow.netact`)."""
    cfg, workload = r.cfg, r.opt.workload
    netlist = r.netlist()
    r.say(f"simulating {workload} on the gate-level netlist ({r.lib.models.name}, "
          f"{workload_mod.SIM}) for per-net activity")
    with r.timed("simulate_gates"):
        vcd, info = workload_mod.simulate_netlist(
            cfg, netlist, r.lib.models, workload, r.opt.seed, r.work,
            extra_models=macros_mod.verilog_models(shapes) if shapes else "")
    t0 = time.monotonic()
    cell_types = set(pdks.read_liberty(r.lib.liberty, r.lib.name)["cells"])
    cell_types |= {s.name for s in shapes or ()}
    cells, blocks = netact.netlist_cells(netlist, TOP, cell_types)
    first, count = r.opt.activity_window
    dump = netact.read_net_vcd(vcd, blocks.values(), first_cycle=first, max_cycles=count)
    pins = netact.pin_activities(cells, dump)
    if not pins.pins:
        raise ToolFailed(f"no cell pin of the netlist matched a net in {vcd}")
    files = netact.write_tcl(pins.pins, r.work)
    info.update({"window_cycles": round(dump.cycles, 2), "window_first_cycle": first,
                 "vcd_read_seconds": round(time.monotonic() - t0, 2)})
    r.seconds["activity"] = info["vcd_read_seconds"]
    source = (f"gate-level simulation: {workload} on {workload_mod.SIM}, "
              f"{dump.cycles:.0f} cycles")
    with r.timed("power_sim"):
        groups = [(b, sta.TOP_GLUE_CELLS if b == "top" else f"{b}/*")
                  for b in sorted([*blocks.values(), "top"])]
        res = sta.analyze_power_by_net(r.sta, r.lib, synth.NETLIST, TOP, cfg.name, r.work,
                                       files, groups, source,
                                       extra_liberties=r.extra_liberties)
    used = {}
    for b, a in pins.by_block.items():
        used[b] = {**a, **res["blocks"].get(b, {})}
    n_pins = len(pins.pins) + pins.clock_pins + len(pins.missing) + len(pins.unnamed)
    total = {k: res[k] for k in ("internal_mw", "switching_mw", "leakage_mw", "total_mw")}
    macro = None
    if shapes:
        duty = {path: d for path, _, d in pins.pins}
        macro, total["total_mw"] = _macro_power(
            _macro_instances(netlist, shapes), r.opt.clock_ns, lambda path:
            macros_mod.access_share(duty.get(f"{path}/RE", 1.0), duty.get(f"{path}/WE", 1.0)),
            "access share of each macro from its measured read and write enable duties",
            total["total_mw"], used)
    out = NetPower(
        **total, macro=macro,
        method=("per net: every cell pin gets the toggle rate and duty of its net in a "
                "zero-delay gate-level simulation of the mapped netlist (no glitches); "
                "clock pins keep the clock's activity"),
        activity_source=source,
        mean_activity=round(sum(a for _, a, _ in pins.pins) / len(pins.pins), 6),
        mean_duty=round(sum(d for _, _, d in pins.pins) / len(pins.pins), 6),
        blocks=used, simulation=info, unannotated_mw=res["unannotated_total_mw"],
        pins=n_pins, pins_annotated=len(pins.pins), pins_constant=pins.constant_pins,
        pins_clock=pins.clock_pins, pins_not_in_dump=len(pins.missing),
        pins_unnameable=len(pins.unnamed), activity_files=files,
        gate_level_check=info["gate_level_check"])
    r.say(f"{out.total_mw:.1f} mW with per-net activity ({out.pins_annotated} pins "
          f"annotated; gate-level result {out.gate_level_check})")
    return out


def _orfs(r: _Run, verilog: str) -> OrfsRun:
    """Write ``work/orfs`` and run ORFS on it when it is installed. A failure is
    recorded, not raised: the open-flow numbers do not depend on it."""
    cfg, name = r.cfg, r.opt.orfs_platform
    mems = synth.memories_in(verilog)
    files = orfs_mod.write_design(
        r.work / "orfs", design=cfg.name, array=cfg.organisation,
        verilog=verilog, platform_name=name, top=TOP, clock_ns=r.opt.clock_ns,
        memory_bits=max([m["bits"] for m in mems] or [0]))
    found = orfs_mod.find_orfs()
    if not found.usable:
        out = OrfsRun(name, "orfs", files, f"not run: {found.why_not()}; the open-flow "
                                           "numbers above are still complete")
        r.say(f"wrote the ORFS design directory for {name}; {out.status}")
        return out
    try:
        out = OrfsRun(name, "orfs", files, "ran", orfs_mod.run_orfs(
            found, r.work / "orfs", timeout=r.opt.orfs_timeout, log=r.say))
    except ToolFailed as e:
        out = OrfsRun(name, "orfs", files, f"failed: {e}")
        r.say(out.status)
    if out.seconds is not None:
        r.seconds["orfs"] = out.seconds
    return out


def _pnr(r: _Run, out_dir: Path) -> PnrRun:
    """qflow into ``work/pnr``. A failure (or the time cap) is recorded, not raised;
    paths in its message name ``out_dir``, where the files end up."""
    scope = r.opt.pnr
    try:
        res = pnr_mod.place_and_route(r.cfg, r.lib.name, r.work / "pnr",
                                      timeout=r.opt.pnr_timeout, log=r.say, scope=scope.value)
    except ToolFailed as e:
        out = PnrRun(scope, f"failed: {e}".replace(str(r.work), str(out_dir)),
                     progress=e.progress if isinstance(e, pnr_mod.QflowTimeout) else None)
        r.say(out.status)
        return out
    r.seconds["pnr"] = res["seconds"]
    r.say(f"routed {res['block']}: {res['cells']} cells, "
          f"{res['wirelength_um'] / 1000:.1f} mm of wire")
    return PnrRun(scope, "ran", result=res)


def _area(st: dict) -> Area:
    """The synthesized area, also summed per part of the accelerator (:data:`ROLES`)
    and, for a multi-pod or heterogeneous design, per pod or engine (with the
    interconnect and the rest)."""
    blocks = st["blocks"]
    by_role: dict[str, dict] = {}
    total = sum(b["area_um2"] for b in blocks.values()) or 1.0
    for name, b in sorted(blocks.items()):
        role = role_of(name)
        g = by_role.setdefault(role, {"area_um2": 0.0, "sequential_area_um2": 0.0,
                                      "cells": 0, "modules": []})
        g["area_um2"] = round(g["area_um2"] + b["area_um2"], 2)
        g["sequential_area_um2"] = round(g["sequential_area_um2"] + b["sequential_area_um2"], 2)
        g["cells"] += b["cells"]
        g["modules"].append(name)
    for g in by_role.values():
        g["share"] = round(g["area_um2"] / total, 4)
    return Area(area_um2=st["area_um2"], cells=st["cells"], cells_by_type=st["cells_by_type"],
                by_role=by_role, blocks=blocks, by_unit=_area_by_unit(blocks, total))


def _area_by_unit(blocks: dict, total: float) -> Optional[dict]:
    """Pod or engine -> its area (all its blocks), then ``interconnect`` and ``rest``
    (the top's own cells); None for one array."""
    units = units_of(blocks)
    if not units:
        return None
    out: dict[str, dict] = {}
    for u in [*units, "interconnect", "rest"]:
        if u == "interconnect":
            names = [n for n in blocks if role_of(n) == "interconnect" and "." not in n]
        elif u == "rest":
            names = [n for n in blocks if n.split(".", 1)[0] not in units
                     and role_of(n) != "interconnect"]
        else:
            names = [n for n in blocks if n.split(".", 1)[0] == u]
        if not names:
            continue
        g = {"area_um2": round(sum(blocks[n]["area_um2"] for n in names), 2),
             "cells": sum(blocks[n]["cells"] for n in names)}
        if any("macros" in blocks[n] for n in names):
            g["macros"] = sum(blocks[n].get("macros", 0) for n in names)
            g["macro_area_um2"] = round(sum(blocks[n].get("macro_area_um2", 0.0)
                                            for n in names), 2)
        g["share"] = round(g["area_um2"] / total, 4)
        out[u] = g
    return out


def _memories(verilog: str, blocks: dict, lib_info: dict, shapes=None) -> MemoryReport:
    arrays = synth.memories_in(verilog)
    for a in arrays:
        a["implementation"] = ("macro" if shapes is not None
                               and macros_mod.is_buffer_memory(a["module"], a["name"])
                               else "flip-flops")
        if shapes is not None and a["implementation"] == "macro":
            a["cell"] = macros_mod.shape_of(a["width"], a["depth"]).name
        if a["module"].startswith(TOP + "."):
            a["module"] = a["module"][len(TOP) + 1:]
    bits = sum(a["bits"] for a in arrays)
    buf_area = sum(b["area_um2"] for n, b in blocks.items() if role_of(n) == "buffers")
    total = sum(b["area_um2"] for b in blocks.values()) or 1.0
    common = {"arrays": arrays, "bits": bits, "buffer_area_um2": round(buf_area, 2),
              "buffer_area_share": round(buf_area / total, 4)}
    if shapes is None:
        return MemoryReport(implementation="flip-flops", note=MEMORY_NOTE, **common,
                            storage_flop_area_um2=round(bits * lib_info["min_ff_area"], 2))
    macro_area = sum(b.get("macro_area_um2", 0.0) for b in blocks.values())
    return MemoryReport(
        implementation="macros", note=MACRO_NOTE, **common,
        macro_area_um2=round(macro_area, 2),
        logic_area_um2=round(sum(b["area_um2"] for b in blocks.values()) - macro_area, 2),
        macros=sum(b.get("macros", 0) for b in blocks.values()),
        macro_models=[macros_mod.model(s) for s in shapes],
        model_source=macros_mod.SOURCE_NOTE)


# ---- the run ---------------------------------------------------------------------------
def run(cfg, options: AsicOptions, out_dir: Path,
        log: Optional[Callable[[str], None]] = None, force: bool = False) -> AsicReport:
    """Synthesize ``cfg`` to a standard-cell library and analyse timing and power.

    Parameters
    ----------
    cfg : AcceleratorConfig
    options : AsicOptions
        The library, clock, memories, workload, ORFS and place-and-route settings (see
        :class:`asic_flow.options.AsicOptions`; it checked itself when made).
    out_dir : Path
        Where the netlist, scripts, logs, ``report.json`` and ``report.md`` end up;
        ``orfs/`` and ``pnr/`` below it when asked for.
    log : callable, optional
        Receives one line per step (the CLI prints them to stderr).
    force : bool
        Write into an ``out_dir`` that holds files hwgen did not write (only the names
        hwgen writes are replaced); without it such a directory, or a file at
        ``out_dir``, raises OutputError (bad input) before any work.

    Returns the report; ``report.json`` is its :meth:`~AsicReport.as_dict`. A missed
    clock is not an exception: the report has ``timing_met: False`` and the achievable
    period. With a workload, ``power_simulated`` is a second power figure at its
    measured activity. An ORFS or place-and-route failure is recorded under ``orfs`` or
    ``pnr``, not raised. Raises UnknownPdk, BadLiberty, BadWorkload, ToolMissing,
    OutputError (all before any work) or ToolFailed.
    """
    t_start = time.monotonic()
    opt = options
    lib, lib_info, yosys, sta_tool = _prepare(opt)

    output = outdir.target(out_dir, force=force, command="asic", last=("report.json",))
    out_dir = Path(out_dir)
    work = None
    try:
        with output.staged() as work:
            report = _run_stages(cfg, opt, lib, lib_info, yosys, sta_tool, work, out_dir,
                                 log, t_start)
            _write_report(work, report)
            output.publish(work)
    except AsicFlowError as e:  # its message names the kept directory, not the staging one
        if output.failed is None or work is None:
            raise
        raise type(e)(str(e).replace(str(work), str(output.failed))) from None
    return report


def _run_stages(cfg, opt: AsicOptions, lib, lib_info, yosys, sta_tool, work: Path,
                out_dir: Path, log, t_start: float) -> AsicReport:
    """The stages of :func:`run` in ``work``; the report."""
    r = _Run(cfg, opt, lib, yosys, sta_tool, work, log or (lambda msg: None))
    verilog = _generate(r)
    rtl_act = _rtl_activity(r, verilog) if opt.block_activity else None
    shapes = (macros_mod.shapes_for(synth.memories_in(verilog))
              if opt.macro_memories else None)
    st = _synthesize(r, verilog, shapes)
    timing, opensta_power = _time(r, st)
    power_sim = None
    if opt.net_activity:
        power_sim = _net_power(r, shapes)
    if rtl_act is not None:
        power_sim = _block_power(r, *rtl_act, list(st["blocks"]), shapes)
    orfs_run = _orfs(r, verilog) if opt.orfs_platform is not None else None
    pnr_run = _pnr(r, out_dir) if opt.pnr is not PnrScope.NONE else None
    power = _power(r, opensta_power, shapes)
    r.seconds["total"] = round(time.monotonic() - t_start, 2)
    return AsicReport(
        design=cfg.name,
        array=cfg.organisation,
        pdk=lib.name,
        liberty=str(lib.liberty),
        clock_ns=opt.clock_ns,
        area=_area(st),
        memories=_memories(verilog, st["blocks"], lib_info, shapes),
        timing=timing,
        power=power,
        power_simulated=power_sim,
        timing_model=("ideal clock, no wire load, inputs driven by "
                      f"{lib.drive_cell}, outputs loaded with {pdks.DEFAULT_LOAD_FF:g} fF, "
                      "zero input/output delay"),
        orfs=orfs_run,
        pnr=pnr_run,
        tools=_versions(yosys, sta_tool),
        seconds=r.seconds,
        cone=st.get("cone"),
        warnings=r.warnings,
    )


def _write_report(work: Path, report: AsicReport) -> None:
    """``report.md`` and ``report.json``, the latter last: its presence marks a
    complete run."""
    (work / "report.md").write_text(format_table(report.as_dict()) + "\n")
    (work / "report.json").write_text(report.to_json() + "\n")
