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

from . import pdks, sta, synth, tools
from .errors import AsicFlowError
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

MEMORY_NOTE = ("built from flip-flops and multiplexers by logic synthesis: no SRAM macros "
               "in this flow, so their area and power are far above those of a real SRAM "
               "of the same size")


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


def _memories(verilog: str, blocks: dict, lib_info: dict) -> dict:
    arrays = synth.memories_in(verilog)
    for a in arrays:
        if a["module"].startswith(TOP + "."):
            a["module"] = a["module"][len(TOP) + 1:]
    bits = sum(a["bits"] for a in arrays)
    buf_area = sum(b["area_um2"] for n, b in blocks.items() if ROLES.get(n) == "buffers")
    total = sum(b["area_um2"] for b in blocks.values()) or 1.0
    return {
        "implementation": "flip-flops",
        "note": MEMORY_NOTE,
        "arrays": arrays,
        "bits": bits,
        "buffer_area_um2": round(buf_area, 2),
        "buffer_area_share": round(buf_area / total, 4),
        "storage_flop_area_um2": round(bits * lib_info["min_ff_area"], 2),
    }


def run(cfg, pdk: Optional[str], clock_ns: float, out_dir: Path, *,
        liberty: Optional[Path] = None, activity: float = sta.DEFAULT_ACTIVITY,
        log: Optional[Callable[[str], None]] = None) -> dict:
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

    Returns the report (also written to ``out_dir/report.json``). A missed clock is
    not an exception: the report has ``timing_met: False`` and the achievable period.
    Raises UnknownPdk, BadLiberty, ToolMissing (all before any work) or ToolFailed.
    """
    if not clock_ns > 0:
        raise ValueError(f"clock period must be positive, got {clock_ns} ns")
    t_start = time.monotonic()
    lib = pdks.resolve(pdk, Path(liberty) if liberty is not None else None)
    lib_info = pdks.read_liberty(lib.liberty, lib.name)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    seconds = {}
    say = log or (lambda msg: None)
    try:
        from hwgen.emit import generate_verilog

        t0 = time.monotonic()
        say(f"generating Verilog for {cfg.name}")
        verilog = generate_verilog(cfg)
        seconds["generate"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        say(f"synthesizing to {lib.name} with {yosys.version} (memories become flip-flops)")
        st = synth.synthesize(yosys, lib, verilog, TOP, cfg.name, clock_ns, work)
        seconds["synth"] = round(time.monotonic() - t0, 2)

        t0 = time.monotonic()
        say(f"{st['cells']} cells, {st['area_um2']:.0f} um^2 in {seconds['synth']:.1f} s; "
            f"timing and power with {sta_tool.version}")
        timing = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, cfg.name, clock_ns, work,
                             activity=activity)
        seconds["sta"] = round(time.monotonic() - t0, 2)
        cp = timing["critical_path"]
        if cp:
            regs = sta.register_names((work / synth.NETLIST).read_text(), TOP)
            cp["start_register"] = regs.get(cp["startpoint"], cp["startpoint"])
            cp["end_register"] = (regs.get(cp["endpoint"])
                                  or regs.get(cp["endpoint"].rsplit("/", 1)[0]) or cp["endpoint"])
    except BaseException as e:
        failed = out_dir.with_name(out_dir.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(work, failed)
        if isinstance(e, AsicFlowError):
            raise type(e)(str(e).replace(str(work), str(failed))) from None
        raise
    seconds["total"] = round(time.monotonic() - t_start, 2)

    power = timing["power"] or {}
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
        "memories": _memories(verilog, st["blocks"], lib_info),
        "timing_met": timing["timing_met"],
        "worst_slack_ns": timing["worst_slack_ns"],
        "wns_ns": timing["wns_ns"],
        "tns_ns": timing["tns_ns"],
        "critical_path": timing["critical_path"],
        "achievable_period_ns": timing["achievable_period_ns"],
        "fmax_mhz": timing["fmax_mhz"],
        "power_mw": power.get("total_mw"),
        "power": {**power, "activity": activity,
                  "assumption": (f"no simulation: every input and register output toggles "
                                 f"{activity:g} times per clock (duty 0.5) at "
                                 f"{1000.0 / clock_ns:g} MHz; ideal clock, no clock tree, "
                                 "no wires")},
        "timing_model": ("ideal clock, no wire load, inputs driven by "
                         f"{lib.drive_cell}, outputs loaded with {pdks.DEFAULT_LOAD_FF:g} fF, "
                         "zero input/output delay"),
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
