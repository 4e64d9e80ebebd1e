"""``run``: config -> Verilog -> Yosys/ABC netlist -> OpenSTA timing and power -> report.

Everything is written to a temporary directory next to ``out_dir`` and renamed into
place at the end, so an interrupted run never leaves a directory that looks complete
(``report.json`` is the last file written). A failed run's files are kept in
``<out_dir>.failed`` for its logs.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

from hwgen.emit import generate_verilog

from . import activity as activity_mod
from . import macros as macros_mod
from . import netact
from . import orfs as orfs_mod
from . import pdks, sta, synth, tools
from . import pnr as pnr_mod
from . import workload as workload_mod
from .errors import AsicFlowError, BadWorkload, ToolFailed, UnknownPdk
from .report import format_table

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
}

MEMORY_NOTE = ("built from flip-flops and multiplexers by logic synthesis (no SRAM macros; "
               "--memories macro models the buffers as macros), so their area and power "
               "are far above those of a real SRAM of the same size")
MACRO_NOTE = ("the buffers' memories are black-box SRAM macros whose area, timing, leakage "
              "and clock energy are a " + macros_mod.SOURCE_NOTE + "; other memories (the "
              "host FIFO) are flip-flops")
MEMORY_MODES = ("flops", "macro")


def _versions(yosys: tools.Tool, sta_tool: tools.Tool) -> dict:
    out = {"yosys": yosys.version, "sta": sta_tool.version, "python": platform.python_version()}
    for pkg in ("amaranth", "pyosys"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _area_by_block(blocks: dict) -> dict:
    out: dict[str, dict] = {}
    total = sum(b["area_um2"] for b in blocks.values()) or 1.0
    for name, b in sorted(blocks.items()):
        role = ROLES.get(name, "other")
        r = out.setdefault(role, {"area_um2": 0.0, "sequential_area_um2": 0.0, "cells": 0,
                                  "modules": []})
        r["area_um2"] = round(r["area_um2"] + b["area_um2"], 2)
        r["sequential_area_um2"] = round(r["sequential_area_um2"] + b["sequential_area_um2"], 2)
        r["cells"] += b["cells"]
        r["modules"].append(name)
    for r in out.values():
        r["share"] = round(r["area_um2"] / total, 4)
    return out


def _memories(verilog: str, blocks: dict, lib_info: dict, shapes=None) -> dict:
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
    buf_area = sum(b["area_um2"] for n, b in blocks.items() if ROLES.get(n) == "buffers")
    total = sum(b["area_um2"] for b in blocks.values()) or 1.0
    out = {
        "implementation": "flip-flops" if shapes is None else "macros",
        "note": MEMORY_NOTE if shapes is None else MACRO_NOTE,
        "arrays": arrays,
        "bits": bits,
        "buffer_area_um2": round(buf_area, 2),
        "buffer_area_share": round(buf_area / total, 4),
    }
    if shapes is None:
        out["storage_flop_area_um2"] = round(bits * lib_info["min_ff_area"], 2)
        return out
    macro_area = sum(b.get("macro_area_um2", 0.0) for b in blocks.values())
    out.update({
        "macro_area_um2": round(macro_area, 2),
        "logic_area_um2": round(sum(b["area_um2"] for b in blocks.values()) - macro_area, 2),
        "macros": sum(b.get("macros", 0) for b in blocks.values()),
        "macro_models": [macros_mod.model(s) for s in shapes],
        "model_source": macros_mod.SOURCE_NOTE,
    })
    return out


def _simulated_power(sta_tool, lib, design: str, work: Path, act, info: dict,
                     blocks: list[str], extra_liberties=(), shapes=None,
                     clock_ns: float = 10.0) -> dict:
    """Power per block at the block's measured mean flip-flop activity."""
    regs = sta.register_names((work / synth.NETLIST).read_text(), TOP)
    acts = activity_mod.block_activities(act, regs)
    overall = acts["all"]
    if not overall["flops_measured"]:
        raise ToolFailed("no flip-flop of the netlist matched a register in the simulation "
                         f"dump ({work / workload_mod.VCD})")
    source = (f"simulation: {info['workload']} on {info['simulator']}, "
              f"{info['dump_cycles']} cycles")
    groups, used = [], {}
    for name in sorted(blocks):
        a = acts.get(name) or {}
        measured = bool(a.get("flops_measured"))
        pick = a if measured else overall
        used[name] = {"activity": pick["activity"], "duty": pick["duty"],
                      "flops": a.get("flops", 0), "flops_measured": a.get("flops_measured", 0),
                      "from": "block" if measured else "design mean"}
        pattern = sta.TOP_GLUE_CELLS if name == "top" else f"{name}/*"
        groups.append((name, pattern, pick["activity"], pick["duty"]))
    by_block = sta.analyze_power_by_block(sta_tool, lib, synth.NETLIST, TOP, design, work,
                                          groups, source, extra_liberties=extra_liberties)
    for name, p in by_block.items():
        used[name].update(p)
    total = {k: round(sum(b[k] for b in by_block.values()), 6 if k == "leakage_mw" else 4)
             for k in ("internal_mw", "switching_mw", "leakage_mw", "total_mw")}
    if shapes:
        _add_macro_power(
            total, _macro_instances((work / synth.NETLIST).read_text(), shapes), clock_ns,
            lambda path: macros_mod.access_share(used[path.split("/")[0]]["duty"],
                                                 used[path.split("/")[0]]["duty"]),
            "access share of each macro from its block's mean flip-flop duty (read and "
            "write enables at that duty)", used)
    return {
        **total,
        "activity_source": source,
        "activity_method": "block",
        "method": ("each block's cells at the mean toggle rate and duty of the block's "
                   "flip-flops measured in the simulation (design mean where none matched); "
                   "buffer words are not in the dump, so buffer power is overstated"),
        "mean_activity": overall["activity"],
        "mean_duty": overall["duty"],
        "flops_measured": overall["flops_measured"],
        "flops": overall["flops"],
        "blocks": used,
        "simulation": info,
    }


ACTIVITY_METHODS = ("net", "block")


def _macro_instances(netlist: str, shapes) -> list:
    """(instance path, Shape) of every macro in the netlist."""
    by_name = {s.name: s for s in shapes}
    cells, _ = netact.netlist_cells(netlist, TOP, set(by_name))
    return [(c.path, by_name[c.cell_type]) for c in cells]


def _add_macro_power(power: dict, instances, clock_ns: float, share_of, how: str,
                     blocks: Optional[dict] = None) -> None:
    """Add the macros' modelled dynamic power (not in the Liberty, see
    asic_flow.macros) to ``power`` (and to each block's entry in ``blocks``)."""
    total = 0.0
    for path, shape in instances:
        mw = macros_mod.dynamic_power_mw(shape, clock_ns, share_of(path))
        total += mw
        if blocks is not None:
            b = blocks.setdefault(path.split("/", 1)[0] if "/" in path else "top", {})
            b["macro_dynamic_mw"] = round(b.get("macro_dynamic_mw", 0.0) + mw, 4)
            if "total_mw" in b:
                b["total_mw"] = round(b["total_mw"] + mw, 4)
    power["macro_dynamic_mw"] = round(total, 4)
    power["macro_dynamic_method"] = how
    if power.get("total_mw") is not None:
        power["opensta_total_mw"] = power["total_mw"]
        power["total_mw"] = round(power["total_mw"] + total, 4)


def _net_power(sta_tool, lib, cfg, work: Path, workload: str, seed: int,
               window: tuple[int, Optional[int]], say, shapes=None,
               clock_ns: float = 10.0) -> tuple[dict, dict]:
    """Power with per-pin activity from a gate-level simulation of the workload
    (see :mod:`asic_flow.netact`). Returns (power_simulated, seconds)."""
    seconds = {}
    netlist = (work / synth.NETLIST).read_text()
    t0 = time.monotonic()
    say(f"simulating {workload} on the gate-level netlist ({lib.models.name}, "
        f"{workload_mod.SIM}) for per-net activity")
    vcd, info = workload_mod.simulate_netlist(
        cfg, netlist, lib.models, workload, seed, work,
        extra_models=macros_mod.verilog_models(shapes) if shapes else "")
    seconds["simulate_gates"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    cell_types = set(pdks.read_liberty(lib.liberty, lib.name)["cells"])
    cell_types |= {s.name for s in shapes or ()}
    cells, blocks = netact.netlist_cells(netlist, TOP, cell_types)
    first, count = window
    dump = netact.read_net_vcd(vcd, blocks.values(), first_cycle=first, max_cycles=count)
    pins = netact.pin_activities(cells, dump)
    if not pins.pins:
        raise ToolFailed(f"no cell pin of the netlist matched a net in {vcd}")
    files = netact.write_tcl(pins.pins, work)
    info.update({"window_cycles": round(dump.cycles, 2), "window_first_cycle": first,
                 "vcd_read_seconds": round(time.monotonic() - t0, 2)})
    seconds["activity"] = info["vcd_read_seconds"]
    source = (f"gate-level simulation: {workload} on {workload_mod.SIM}, "
              f"{dump.cycles:.0f} cycles")
    t0 = time.monotonic()
    groups = [(b, sta.TOP_GLUE_CELLS if b == "top" else f"{b}/*")
              for b in sorted([*blocks.values(), "top"])]
    res = sta.analyze_power_by_net(sta_tool, lib, synth.NETLIST, TOP, cfg.name, work, files,
                                   groups, source,
                                   extra_liberties=[synth.MACRO_LIB] if shapes else [])
    seconds["power_sim"] = round(time.monotonic() - t0, 2)
    used = {}
    for b, a in pins.by_block.items():
        used[b] = {**a, **res["blocks"].get(b, {})}
    n_pins = len(pins.pins) + pins.clock_pins + len(pins.missing) + len(pins.unnamed)
    out = {k: res[k] for k in ("internal_mw", "switching_mw", "leakage_mw", "total_mw")}
    if shapes:
        duty = {path: d for path, _, d in pins.pins}
        _add_macro_power(
            out, _macro_instances(netlist, shapes), clock_ns, lambda path:
            macros_mod.access_share(duty.get(f"{path}/RE", 1.0), duty.get(f"{path}/WE", 1.0)),
            "access share of each macro from its measured read and write enable duties",
            used)
    return {
        **out,
        "method": ("per net: every cell pin gets the toggle rate and duty of its net in a "
                   "zero-delay gate-level simulation of the mapped netlist (no glitches); "
                   "clock pins keep the clock's activity"),
        "activity_method": "net",
        "activity_source": source,
        "unannotated_mw": res["unannotated_total_mw"],
        "pins": n_pins,
        "pins_annotated": len(pins.pins),
        "pins_constant": pins.constant_pins,
        "pins_clock": pins.clock_pins,
        "pins_not_in_dump": len(pins.missing),
        "pins_unnameable": len(pins.unnamed),
        "mean_activity": round(sum(a for _, a, _ in pins.pins) / len(pins.pins), 6),
        "mean_duty": round(sum(d for _, _, d in pins.pins) / len(pins.pins), 6),
        "activity_files": files,
        "blocks": used,
        "simulation": info,
        "gate_level_check": info["gate_level_check"],
    }, seconds


def _orfs(cfg, verilog: str, platform_name: str, clock_ns: float, work: Path, say,
          timeout: float) -> dict:
    """Write ``work/orfs`` and run ORFS on it when it is installed."""
    mems = synth.memories_in(verilog)
    files = orfs_mod.write_design(
        work / "orfs", design=cfg.name, array=f"{cfg.R}x{cfg.C} {cfg.array.dataflow}",
        verilog=verilog, platform_name=platform_name, top=TOP, clock_ns=clock_ns,
        memory_bits=max([m["bits"] for m in mems] or [0]))
    rep = {"platform": platform_name, "dir": "orfs", "files": files}
    found = orfs_mod.find_orfs()
    if not found.usable:
        rep["status"] = (f"not run: {found.why_not()}; the open-flow numbers above are "
                         "still complete")
        say(f"wrote the ORFS design directory for {platform_name}; {rep['status']}")
        return rep
    try:
        rep.update(orfs_mod.run_orfs(found, work / "orfs", timeout=timeout, log=say))
        rep["status"] = "ran"
    except ToolFailed as e:
        rep["status"] = f"failed: {e}"
        say(rep["status"])
    return rep


def run(cfg, pdk: Optional[str], clock_ns: float, out_dir: Path, *,
        liberty: Optional[Path] = None, activity: float = sta.DEFAULT_ACTIVITY,
        log: Optional[Callable[[str], None]] = None, workload: Optional[str] = None,
        seed: int = 1, activity_method: str = "net",
        activity_window: tuple[int, Optional[int]] = (0, None),
        orfs_platform: Optional[str] = None,
        orfs_timeout: float = 4 * 3600, pnr: bool | str = False,
        pnr_timeout: float = 900, memories: str = "flops",
        synth_timeout: float = 3600) -> dict:
    """Synthesize ``cfg`` to a standard-cell library and analyse timing and power.

    Parameters
    ----------
    cfg : AcceleratorConfig
    pdk : str or None
        One of :data:`asic_flow.pdks.KNOWN_PDKS`; may be None when ``liberty`` is given.
    clock_ns : float
        Target clock period; also the delay target given to ABC.
    out_dir : Path
        Where the netlist, scripts, logs, ``report.json`` and ``report.md`` end up.
    liberty : Path, optional
        Any Liberty file instead of a known PDK.
    activity : float
        Toggle rate assumed on every net for the power estimate.
    log : callable, optional
        Receives one line per step (the CLI prints them to stderr).
    workload : str, optional
        ``gemm:MxKxN`` with operands from ``seed``: report a second power figure
        (``power_simulated``) from the switching activity of that GEMM. With
        ``activity_method="net"`` (default) the mapped netlist runs it in Icarus with the
        cells' Verilog models, the result is checked bit for bit against the golden
        GEMM (a gate-level equivalence check) and every cell pin gets its net's measured
        activity (:mod:`asic_flow.netact`). ``"block"``: the RTL runs it and each block
        gets the mean activity of its flip-flops (:mod:`asic_flow.activity`).
    seed : int
        Operand seed for ``workload``.
    activity_method : str
        ``"net"`` or ``"block"``, see ``workload``.
    activity_window : (int, int or None)
        Per-net method: count activity from this rising clock edge (0: the start of the
        dump) for at most this many cycles (None: to the end of the run).
    orfs_platform : str, optional
        Also write an OpenROAD-flow-scripts design directory for this platform
        (:data:`asic_flow.orfs.PLATFORMS`) to ``out_dir/orfs`` and, when ORFS and
        OpenROAD are found, run it (up to ``orfs_timeout`` seconds) and add its metrics
        under ``orfs``. An ORFS failure is recorded there, not raised.
    memories : str
        ``"flops"``: every memory is built from flip-flops. ``"macro"``: the buffers'
        memories become black-box SRAM macros with a modelled area, timing and power
        (:mod:`asic_flow.macros`), reported apart from the logic under ``memories``.
    pnr : bool or str
        Also place and route with qflow (OSU PDKs only) into ``out_dir/pnr``: the PE
        array block alone (True or ``"array"``) or the whole design (``"design"``),
        capped at ``pnr_timeout`` seconds; the result (wirelength, die, DEF/GDS,
        ``layout.png``) or the failure (with how far it got when the cap hit) is
        recorded under ``pnr``.
    synth_timeout : float
        Give up synthesis (Yosys and ABC, killed with their children) after this many
        seconds.

    Returns the report (also written to ``out_dir/report.json``). A missed clock is
    not an exception: the report has ``timing_met: False`` and the achievable period.
    Raises UnknownPdk, BadLiberty, BadWorkload, UnknownPlatform, ToolMissing (all before
    any work) or ToolFailed.
    """
    if not clock_ns > 0:
        raise ValueError(f"clock period must be positive, got {clock_ns} ns")
    if not synth_timeout > 0:
        raise ValueError(f"synthesis time limit must be positive, got {synth_timeout} s")
    if memories not in MEMORY_MODES:
        raise ValueError(f"memories must be one of {', '.join(MEMORY_MODES)}, not {memories!r}")
    t_start = time.monotonic()
    lib = pdks.resolve(pdk, Path(liberty) if liberty is not None else None)
    lib_info = pdks.read_liberty(lib.liberty, lib.name)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    if orfs_platform is not None:
        orfs_mod.platform(orfs_platform)
    pnr_scope = "array" if pnr is True else (pnr or None)
    if pnr_scope is not None and pnr_scope not in pnr_mod.SCOPES:
        raise ValueError(f"pnr must be True or one of {', '.join(pnr_mod.SCOPES)}, not {pnr!r}")
    if pnr_scope is not None:
        if lib.name not in pdks.KNOWN_PDKS:
            raise UnknownPdk(f"place and route needs one of the qflow PDKs "
                             f"({', '.join(sorted(pdks.KNOWN_PDKS))}), not {lib.name!r}")
        pnr_mod.find_qflow()
    if workload is not None:
        workload_mod.parse_workload(workload)
        if activity_method not in ACTIVITY_METHODS:
            raise BadWorkload(f"unknown activity method {activity_method!r} "
                              f"(known: {', '.join(ACTIVITY_METHODS)})")
        if activity_method == "net" and lib.models is None:
            raise BadWorkload(f"per-net activity needs the cells' Verilog models "
                              f"({lib.liberty.with_suffix('.v')} not found); give them "
                              "there or use the block method (--activity-method block)")
        first, count = activity_window
        if first < 0 or (count is not None and count < 1):
            raise BadWorkload(f"bad activity window {first}:{count}: expected a first "
                              "cycle >= 0 and a count >= 1")
        workload_mod.check_simulator()

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    seconds = {}
    say = log or (lambda msg: None)
    try:
        t0 = time.monotonic()
        say(f"generating Verilog for {cfg.name}")
        verilog = generate_verilog(cfg)
        seconds["generate"] = round(time.monotonic() - t0, 2)

        sim_act = sim_info = None
        if workload is not None and activity_method == "block":
            t0 = time.monotonic()
            say(f"simulating {workload} on {workload_mod.SIM} (seed {seed}) for switching "
                "activity")
            sim_act, sim_info = workload_mod.simulate(cfg, verilog, workload, seed, work)
            seconds["simulate"] = round(time.monotonic() - t0, 2)

        shapes = None
        if memories == "macro":
            shapes = macros_mod.shapes_for(synth.memories_in(verilog))
        extra_libs = [synth.MACRO_LIB] if shapes is not None else []
        t0 = time.monotonic()
        say(f"synthesizing to {lib.name} with {yosys.version} (" + (
            "memories become flip-flops)" if shapes is None else
            f"buffer memories become {len(shapes)} modelled SRAM macro type(s))"))
        st = synth.synthesize(yosys, lib, verilog, TOP, cfg.name, clock_ns, work,
                              macro_shapes=shapes, timeout=synth_timeout)
        seconds["synth"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        say(f"{st['cells']} cells, {st['area_um2']:.0f} um^2 in {seconds['synth']:.1f} s; "
            f"timing and power with {sta_tool.version}")
        timing = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, cfg.name, clock_ns, work,
                             activity=activity, extra_liberties=extra_libs)
        seconds["sta"] = round(time.monotonic() - t0, 2)
        cp = timing["critical_path"]
        if cp:
            regs = sta.register_names((work / synth.NETLIST).read_text(), TOP)
            cp["start_register"] = regs.get(cp["startpoint"], cp["startpoint"])
            cp["end_register"] = (regs.get(cp["endpoint"])
                                  or regs.get(cp["endpoint"].rsplit("/", 1)[0]) or cp["endpoint"])
        power_sim = None
        if workload is not None and activity_method == "net":
            power_sim, secs = _net_power(sta_tool, lib, cfg, work, workload, seed,
                                         activity_window, say, shapes, clock_ns)
            seconds.update(secs)
            say(f"{power_sim['total_mw']:.1f} mW with per-net activity "
                f"({power_sim['pins_annotated']} pins annotated; gate-level result "
                f"{power_sim['gate_level_check']})")
        if sim_act is not None:
            t0 = time.monotonic()
            power_sim = _simulated_power(sta_tool, lib, cfg.name, work, sim_act, sim_info,
                                         list(st["blocks"]), extra_libs, shapes, clock_ns)
            seconds["power_sim"] = round(time.monotonic() - t0, 2)
            say(f"{power_sim['total_mw']:.1f} mW with the activity of "
                f"{power_sim['activity_source']}")
        orfs_rep = None
        if orfs_platform is not None:
            orfs_rep = _orfs(cfg, verilog, orfs_platform, clock_ns, work, say, orfs_timeout)
            if "seconds" in orfs_rep:
                seconds["orfs"] = orfs_rep["seconds"]
        pnr_rep = None
        if pnr_scope is not None:
            try:
                pnr_rep = {**pnr_mod.place_and_route(cfg, lib.name, work / "pnr",
                                                     timeout=pnr_timeout, log=say,
                                                     scope=pnr_scope),
                           "dir": "pnr", "status": "ran", "scope": pnr_scope}
                seconds["pnr"] = pnr_rep["seconds"]
                say(f"routed {pnr_rep['block']}: {pnr_rep['cells']} cells, "
                    f"{pnr_rep['wirelength_um'] / 1000:.1f} mm of wire")
            except ToolFailed as e:
                pnr_rep = {"dir": "pnr", "scope": pnr_scope,
                           "status": f"failed: {e}".replace(str(work), str(out_dir))}
                if isinstance(e, pnr_mod.QflowTimeout):
                    pnr_rep["progress"] = e.progress
                say(pnr_rep["status"])
    except BaseException as e:
        failed = out_dir.with_name(out_dir.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(work, failed)
        if isinstance(e, AsicFlowError):
            raise type(e)(str(e).replace(str(work), str(failed))) from None
        raise
    seconds["total"] = round(time.monotonic() - t_start, 2)

    power = dict(timing["power"] or {})
    if shapes:
        _add_macro_power(power, _macro_instances((work / synth.NETLIST).read_text(), shapes),
                         clock_ns, lambda path: macros_mod.access_share(0.5, 0.5),
                         "read and write enables at the default duty 0.5: every cycle "
                         "counted as an access")
    report = {
        "design": cfg.name,
        "array": f"{cfg.R}x{cfg.C} {cfg.array.dataflow}",
        "pdk": lib.name,
        "liberty": str(lib.liberty),
        "clock_ns": clock_ns,
        "area_um2": st["area_um2"],
        "cells": st["cells"],
        "cells_by_type": st["cells_by_type"],
        "area_by_block": _area_by_block(st["blocks"]),
        "blocks": st["blocks"],
        "memories": _memories(verilog, st["blocks"], lib_info, shapes),
        "timing_met": timing["timing_met"],
        "worst_slack_ns": timing["worst_slack_ns"],
        "wns_ns": timing["wns_ns"],
        "tns_ns": timing["tns_ns"],
        "critical_path": timing["critical_path"],
        "achievable_period_ns": timing["achievable_period_ns"],
        "fmax_mhz": timing["fmax_mhz"],
        "power_mw": power.get("total_mw"),
        "power": {**power, "activity": activity,
                  "activity_source": f"default {activity:g}",
                  "assumption": (f"no simulation: every input and register output toggles "
                                 f"{activity:g} times per clock (duty 0.5) at "
                                 f"{1000.0 / clock_ns:g} MHz; ideal clock, no clock tree, "
                                 "no wires")},
        "power_sim_mw": power_sim["total_mw"] if power_sim else None,
        "power_simulated": power_sim,
        "timing_model": ("ideal clock, no wire load, inputs driven by "
                         f"{lib.drive_cell}, outputs loaded with {pdks.DEFAULT_LOAD_FF:g} fF, "
                         "zero input/output delay"),
        **({"orfs": orfs_rep} if orfs_rep is not None else {}),
        **({"pnr": pnr_rep} if pnr_rep is not None else {}),
        "tools": _versions(yosys, sta_tool),
        "seconds": seconds,
    }
    if not report["timing_met"]:
        report["failed_constraint"] = (
            f"clock {clock_ns:g} ns not met: worst slack {timing['worst_slack_ns']:g} ns; "
            f"achievable period {timing['achievable_period_ns']:g} ns")
    (work / "report.md").write_text(format_table(report) + "\n")
    (work / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")

    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(work, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return report
