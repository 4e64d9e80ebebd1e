"""The flow's report: typed (:class:`AsicReport` and its parts), as JSON, as a Markdown
table, and its numbers checked against recorded rules.

:meth:`AsicReport.as_dict` is the JSON object written to ``report.json``. Its keys are
what scripts read, so each part spells out the keys it writes in its own ``as_dict``: a
renamed field must not rename a key (``tests/flows/test_asic.py`` compares the keys of a
real run against a recorded list). :func:`format_table` and :func:`check_rules` work on
that JSON object, so they also take a ``report.json`` read back.

Rules live in ``asic_flow/rules.json``, keyed ``<design>@<pdk>``, the way ORFS gates its
designs with ``rules-*.json``: each metric has a ``min`` and/or ``max`` set from a
measured run with a margin, so a change that costs area or speed fails a test.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Optional

from .options import PnrScope

RULES_FILE = Path(__file__).resolve().with_name("rules.json")


# ---- the report, typed --------------------------------------------------------------
@dataclass(frozen=True)
class Area:
    """Cell area and counts (top-level keys ``area_um2``, ``cells``, ``cells_by_type``,
    ``area_by_block``, ``blocks``)."""
    area_um2: float
    cells: int
    cells_by_type: dict[str, int]
    #: part of the accelerator (pe_array, buffers, ...) -> area, cells, modules, share
    by_role: dict[str, dict]
    #: top-level block instance -> what Yosys counted in it
    blocks: dict[str, dict]
    #: multi-pod or heterogeneous design: pod or engine, "interconnect", "rest" -> area,
    #: cells, macros, share (key ``area_by_unit``); None for one array
    by_unit: Optional[dict[str, dict]] = None

    def as_dict(self) -> dict:
        out = {"area_um2": self.area_um2, "cells": self.cells,
               "cells_by_type": self.cells_by_type, "area_by_block": self.by_role,
               "blocks": self.blocks}
        if self.by_unit is not None:
            out["area_by_unit"] = self.by_unit
        return out


@dataclass(frozen=True)
class MemoryReport:
    """The memories and what they cost (key ``memories``). Flip-flop memories have
    ``storage_flop_area_um2``; macro memories have the ``macro_*`` fields instead."""
    implementation: str  #: "flip-flops" or "macros"
    note: str
    arrays: list[dict]
    bits: int
    buffer_area_um2: float
    buffer_area_share: float
    storage_flop_area_um2: Optional[float] = None
    macro_area_um2: Optional[float] = None
    logic_area_um2: Optional[float] = None
    macros: Optional[int] = None
    macro_models: Optional[list[dict]] = None
    model_source: Optional[str] = None

    def as_dict(self) -> dict:
        out = {"implementation": self.implementation, "note": self.note,
               "arrays": self.arrays, "bits": self.bits,
               "buffer_area_um2": self.buffer_area_um2,
               "buffer_area_share": self.buffer_area_share}
        if self.implementation == "flip-flops":
            out["storage_flop_area_um2"] = self.storage_flop_area_um2
        else:
            out.update({"macro_area_um2": self.macro_area_um2,
                        "logic_area_um2": self.logic_area_um2, "macros": self.macros,
                        "macro_models": self.macro_models, "model_source": self.model_source})
        return out


@dataclass(frozen=True)
class Timing:
    """OpenSTA's timing at the target clock (top-level keys ``timing_met``,
    ``worst_slack_ns``, ``wns_ns``, ``tns_ns``, ``critical_path``,
    ``achievable_period_ns``, ``fmax_mhz``)."""
    met: bool
    worst_slack_ns: Optional[float]  #: None: no timing path
    wns_ns: float
    tns_ns: float
    #: startpoint, endpoint, stages, delay_ns and the registers at its two ends
    critical_path: Optional[dict]
    achievable_period_ns: Optional[float]
    fmax_mhz: Optional[float]

    def as_dict(self) -> dict:
        return {"timing_met": self.met, "worst_slack_ns": self.worst_slack_ns,
                "wns_ns": self.wns_ns, "tns_ns": self.tns_ns,
                "critical_path": self.critical_path,
                "achievable_period_ns": self.achievable_period_ns,
                "fmax_mhz": self.fmax_mhz}


@dataclass(frozen=True)
class MacroPower:
    """The modelled SRAM macros' dynamic power, which their Liberty does not carry (see
    :mod:`asic_flow.macros`), added to a power figure's total."""
    dynamic_mw: float
    method: str
    #: the figure's total before the macros were added (None when OpenSTA gave none)
    opensta_total_mw: Optional[float]

    def as_dict(self) -> dict:
        out = {"macro_dynamic_mw": self.dynamic_mw, "macro_dynamic_method": self.method}
        if self.opensta_total_mw is not None:
            out["opensta_total_mw"] = self.opensta_total_mw
        return out


@dataclass(frozen=True)
class Power:
    """Power at one assumed toggle rate on every net (key ``power``). The four figures
    are None when OpenSTA printed no power report."""
    total_mw: Optional[float]
    internal_mw: Optional[float]
    switching_mw: Optional[float]
    leakage_mw: Optional[float]
    macro: Optional[MacroPower]
    activity: float
    activity_source: str
    assumption: str

    def as_dict(self) -> dict:
        out = {}
        if self.total_mw is not None:
            out.update({"total_mw": self.total_mw, "internal_mw": self.internal_mw,
                        "switching_mw": self.switching_mw, "leakage_mw": self.leakage_mw})
        if self.macro is not None:
            out.update(self.macro.as_dict())
        out.update({"activity": self.activity, "activity_source": self.activity_source,
                    "assumption": self.assumption})
        return out


@dataclass(frozen=True)
class SimulatedPower:
    """Power at the switching activity of a simulated workload (key
    ``power_simulated``): :class:`NetPower` or :class:`BlockPower`."""
    activity_method: ClassVar[str]
    internal_mw: float
    switching_mw: float
    leakage_mw: float
    total_mw: float
    macro: Optional[MacroPower]
    method: str  #: how the activity was applied, in words
    activity_source: str
    mean_activity: float
    mean_duty: float
    #: block -> its activity and power
    blocks: dict[str, dict]
    #: the workload's simulation: what ran, where, how long, the dump
    simulation: dict

    def _figures(self) -> dict:
        out = {"internal_mw": self.internal_mw, "switching_mw": self.switching_mw,
               "leakage_mw": self.leakage_mw, "total_mw": self.total_mw}
        return {**out, **(self.macro.as_dict() if self.macro is not None else {})}


@dataclass(frozen=True)
class NetPower(SimulatedPower):
    """Every cell pin at its net's activity in a gate-level simulation."""
    activity_method: ClassVar[str] = "net"
    unannotated_mw: Optional[float]
    pins: int
    pins_annotated: int
    pins_constant: int
    pins_clock: int
    pins_not_in_dump: int
    pins_unnameable: int
    activity_files: list[str]
    gate_level_check: str

    def as_dict(self) -> dict:
        return {**self._figures(), "method": self.method,
                "activity_method": self.activity_method,
                "activity_source": self.activity_source,
                "unannotated_mw": self.unannotated_mw, "pins": self.pins,
                "pins_annotated": self.pins_annotated, "pins_constant": self.pins_constant,
                "pins_clock": self.pins_clock, "pins_not_in_dump": self.pins_not_in_dump,
                "pins_unnameable": self.pins_unnameable,
                "mean_activity": self.mean_activity, "mean_duty": self.mean_duty,
                "activity_files": self.activity_files, "blocks": self.blocks,
                "simulation": self.simulation, "gate_level_check": self.gate_level_check}


@dataclass(frozen=True)
class BlockPower(SimulatedPower):
    """Every block's cells at the mean activity of its flip-flops in an RTL simulation."""
    activity_method: ClassVar[str] = "block"
    flops_measured: int
    flops: int

    def as_dict(self) -> dict:
        return {**self._figures(), "activity_source": self.activity_source,
                "activity_method": self.activity_method, "method": self.method,
                "mean_activity": self.mean_activity, "mean_duty": self.mean_duty,
                "flops_measured": self.flops_measured, "flops": self.flops,
                "blocks": self.blocks, "simulation": self.simulation}


@dataclass(frozen=True)
class OrfsRun:
    """The OpenROAD-flow-scripts design directory and, when ORFS ran, its metrics (key
    ``orfs``)."""
    platform: str
    dir: str
    files: dict[str, str]
    status: str  #: "ran", "failed: ..." or "not run: ..."
    #: what :func:`asic_flow.orfs.run_orfs` returned (source, metrics, summary, seconds)
    result: Optional[dict] = None

    @property
    def seconds(self) -> Optional[float]:
        return (self.result or {}).get("seconds")

    def as_dict(self) -> dict:
        return {"platform": self.platform, "dir": self.dir, "files": self.files,
                **(self.result or {}), "status": self.status}


@dataclass(frozen=True)
class PnrRun:
    """qflow's place and route (key ``pnr``): its result when it ran, else the failure
    and, when the time cap stopped it, how far it got."""
    scope: PnrScope
    status: str  #: "ran" or "failed: ..."
    dir: str = "pnr"
    #: what :func:`asic_flow.pnr.place_and_route` returned (cells, die, wire, files...)
    result: Optional[dict] = None
    progress: Optional[dict] = None

    def as_dict(self) -> dict:
        if self.result is not None:
            return {**self.result, "dir": self.dir, "status": self.status,
                    "scope": self.scope.value}
        out = {"dir": self.dir, "scope": self.scope.value, "status": self.status}
        if self.progress is not None:
            out["progress"] = self.progress
        return out


@dataclass(frozen=True)
class AsicReport:
    """What :func:`asic_flow.run` returns; :meth:`as_dict` is ``report.json``."""
    design: str
    array: str  #: "RxC dataflow", or the pods or engines of a scale-out design
    pdk: str
    liberty: str
    clock_ns: float
    area: Area
    memories: MemoryReport
    timing: Timing
    power: Power
    power_simulated: Optional[SimulatedPower]
    timing_model: str
    orfs: Optional[OrfsRun]
    pnr: Optional[PnrRun]
    tools: dict[str, str]  #: tool or package -> version
    seconds: dict[str, float]  #: step -> wall-clock seconds, in the order they ran
    #: the largest single-cycle multiply-add cone (:class:`asic_flow.cones.Cone`)
    cone: Optional[dict] = None
    #: what the flow warned about (a cone ABC may not finish, ...)
    warnings: list[str] = field(default_factory=list)

    @property
    def timing_met(self) -> bool:
        return self.timing.met

    @property
    def failed_constraint(self) -> Optional[str]:
        """The missed clock in one line; None when it is met."""
        if self.timing.met:
            return None
        return (f"clock {self.clock_ns:g} ns not met: worst slack "
                f"{self.timing.worst_slack_ns:g} ns; achievable period "
                f"{self.timing.achievable_period_ns:g} ns")

    def as_dict(self) -> dict:
        """The JSON object of ``report.json`` (a fresh one: changing it changes nothing
        here)."""
        out = {
            "design": self.design,
            "array": self.array,
            "pdk": self.pdk,
            "liberty": self.liberty,
            "clock_ns": self.clock_ns,
            **self.area.as_dict(),
            "memories": self.memories.as_dict(),
            **self.timing.as_dict(),
            "power_mw": self.power.total_mw,
            "power": self.power.as_dict(),
            "power_sim_mw": self.power_simulated.total_mw if self.power_simulated else None,
            "power_simulated": (self.power_simulated.as_dict()
                                if self.power_simulated else None),
            "timing_model": self.timing_model,
            "cone": self.cone,
            "warnings": list(self.warnings),
            **({"orfs": self.orfs.as_dict()} if self.orfs is not None else {}),
            **({"pnr": self.pnr.as_dict()} if self.pnr is not None else {}),
            "tools": self.tools,
            "seconds": self.seconds,
        }
        if self.failed_constraint is not None:
            out["failed_constraint"] = self.failed_constraint
        return json.loads(json.dumps(out))

    def to_json(self) -> str:
        """The text of ``report.json`` (without its final newline)."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)


def _fmt(v, nd=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _sim_power_row(ps: dict) -> tuple[str, str]:
    if ps.get("activity_method") == "net":
        return ("power (simulated activity, per net)",
                f"{_fmt(ps.get('total_mw'), 3)} mW ({ps.get('activity_source')}; "
                f"{_fmt(ps.get('pins_annotated'))} of {_fmt(ps.get('pins'))} pins annotated, "
                f"mean activity {_fmt(ps.get('mean_activity'), 3)}; gate-level result "
                f"{ps.get('gate_level_check')})")
    return ("power (simulated activity, per block)",
            f"{_fmt(ps.get('total_mw'), 3)} mW ({ps.get('activity_source')}; mean flip-flop "
            f"activity {_fmt(ps.get('mean_activity'), 3)}, {_fmt(ps.get('flops_measured'))} of "
            f"{_fmt(ps.get('flops'))} flip-flops measured)")


def format_table(rep: dict) -> str:
    """Markdown: a summary table, area per block, and the memories' note."""
    cp = rep.get("critical_path") or {}
    status = "met" if rep.get("timing_met") else "NOT MET"
    rows = [
        ("design", f"{rep.get('design')} ({rep.get('array')})"),
        ("PDK / Liberty", f"{rep.get('pdk')} / {Path(str(rep.get('liberty'))).name}"),
        ("clock", f"{_fmt(rep.get('clock_ns'), 3)} ns: {status}"),
        ("worst slack (WNS / TNS)",
         f"{_fmt(rep.get('worst_slack_ns'), 3)} ns "
         f"({_fmt(rep.get('wns_ns'), 3)} / {_fmt(rep.get('tns_ns'), 3)} ns)"),
        ("achievable period / fmax", f"{_fmt(rep.get('achievable_period_ns'), 3)} ns / "
                                     f"{_fmt(rep.get('fmax_mhz'), 1)} MHz"),
        ("critical path", f"{cp.get('start_register', cp.get('startpoint', '-'))} -> "
                          f"{cp.get('end_register', cp.get('endpoint', '-'))}, "
                          f"{cp.get('stages', '-')} stages, {_fmt(cp.get('delay_ns'), 3)} ns"),
        ("area", f"{_fmt(rep.get('area_um2'), 0)} um^2" + (
            f" (logic {_fmt(m['logic_area_um2'], 0)} + {m['macros']} modelled SRAM macros "
            f"{_fmt(m['macro_area_um2'], 0)})"
            if (m := rep.get("memories") or {}).get("implementation") == "macros" else "")),
        ("cells", _fmt(rep.get("cells"))),
        *([("largest multiply-add cone", f"{c['products']} products ({c['rows']} partial-product rows, "
            f"{c['widest']} the widest) into {c['sink']}")]
          if (c := rep.get("cone")) else []),
        *[("warning", w) for w in rep.get("warnings") or []],
        ("power", f"{_fmt(rep.get('power_mw'), 3)} mW "
                  f"(activity {_fmt((rep.get('power') or {}).get('activity'), 2)}, no simulation)"),
        *([_sim_power_row(ps)] if (ps := rep.get("power_simulated")) else []),
        ("seconds", ", ".join(f"{k} {v:g}" for k, v in (rep.get("seconds") or {}).items())),
    ]
    if rep.get("orfs"):
        o = rep["orfs"]
        summary = ", ".join(f"{k} {v}" for k, v in (o.get("summary") or {}).items())
        rows.append((f"OpenROAD ({o['platform']})",
                     f"{o['dir']}/: {o['status']}" + (f"; {summary}" if summary else "")))
    if rep.get("pnr"):
        p = rep["pnr"]
        rows.append(("place and route (qflow, " + (
            "whole design)" if p.get("scope") == "design" else "PE array only)"),
                     f"{p['dir']}/: {p['status']}" + (
                         f"; {_fmt(p['cells'])} cells, die {p['die_um'][0]:g} x "
                         f"{p['die_um'][1]:g} um, wire {_fmt(p['wirelength_um'] / 1000, 2)} mm, "
                         f"{p['seconds']:g} s" if p["status"] == "ran" else "")))
    if rep.get("failed_constraint"):
        rows.insert(3, ("failed constraint", rep["failed_constraint"]))
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    blocks = rep.get("area_by_block") or {}
    if blocks:
        lines += ["", "| block | modules | cells | area (um^2) | share |",
                  "|---|---|---:|---:|---:|"]
        for role, b in sorted(blocks.items(), key=lambda kv: -kv[1]["area_um2"]):
            lines.append(f"| {role} | {', '.join(b['modules'])} | {_fmt(b['cells'])} | "
                         f"{_fmt(b['area_um2'], 0)} | {100 * b['share']:.1f}% |")
    units = rep.get("area_by_unit") or {}
    if units:
        macros = any("macros" in u for u in units.values())
        lines += ["", "| pod / engine | cells | area (um^2) | share |"
                  + (" macros | macro area (um^2) |" if macros else ""),
                  "|---|---:|---:|---:|" + ("---:|---:|" if macros else "")]
        for name, u in units.items():
            lines.append(f"| {name} | {_fmt(u['cells'])} | {_fmt(u['area_um2'], 0)} | "
                         f"{100 * u['share']:.1f}% |" + (
                             f" {u.get('macros', 0)} | {_fmt(u.get('macro_area_um2', 0.0), 0)} |"
                             if macros else ""))
    ps = rep.get("power_simulated")
    if ps and ps.get("activity_method") == "net":
        lines += ["", "| block | mean pin activity | mean duty | pins annotated | power (mW) |",
                  "|---|---:|---:|---:|---:|"]
        for name, b in sorted(ps["blocks"].items(), key=lambda kv: -kv[1].get("total_mw", 0)):
            lines.append(f"| {name} | {_fmt(b['activity'], 3)} | {_fmt(b['duty'], 2)} | "
                         f"{b['pins_measured']}/{b['pins']} | {_fmt(b.get('total_mw'), 3)} |")
    elif ps:
        lines += ["", "| block | activity | duty | flip-flops measured | power (mW) |",
                  "|---|---:|---:|---:|---:|"]
        for name, b in sorted(ps["blocks"].items(), key=lambda kv: -kv[1].get("total_mw", 0)):
            lines.append(f"| {name} | {_fmt(b['activity'], 3)} | {_fmt(b['duty'], 2)} | "
                         f"{b['flops_measured']}/{b['flops']}"
                         f"{'' if b['from'] == 'block' else ' (design mean used)'} | "
                         f"{_fmt(b.get('total_mw'), 3)} |")
    mem = rep.get("memories")
    if mem and mem.get("implementation") == "macros":
        lines += ["", "| macro | words x bits | count | area (um^2) | clock to Q (ns) | "
                      "setup (ns) | access energy (pJ) | leakage (uW) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        counts: dict[str, int] = {}
        for a in mem["arrays"]:
            if a.get("cell"):
                counts[a["cell"]] = counts.get(a["cell"], 0) + 1
        for m in mem["macro_models"]:
            lines.append(f"| {m['cell']} | {m['words']} x {m['width']} | "
                         f"{counts.get(m['cell'], 0)} | {_fmt(m['area_um2'], 0)} | "
                         f"{m['clk_to_q_ns']:g} | {m['setup_ns']:g} | {m['access_pj']:g} | "
                         f"{m['leakage_uw']:g} |")
        lines += ["", f"Memories ({_fmt(mem['bits'])} bits): {mem['note']}. Buffers: "
                      f"{_fmt(mem['buffer_area_um2'], 0)} um^2 "
                      f"({100 * mem['buffer_area_share']:.1f}% of the area), of which macros "
                      f"{_fmt(mem['macro_area_um2'], 0)} um^2."]
    elif mem:
        lines += ["", f"Memories ({_fmt(mem['bits'])} bits) are {mem['note']}. Buffers: "
                      f"{_fmt(mem['buffer_area_um2'], 0)} um^2, "
                      f"{100 * mem['buffer_area_share']:.1f}% of the area."]
    return "\n".join(lines)


def load_rules(path: Path = RULES_FILE) -> dict:
    return json.loads(Path(path).read_text())["designs"]


def check_rules(rep: dict, rules: Optional[dict] = None, key: Optional[str] = None) -> list[str]:
    """Rule violations of ``rep`` (empty when all hold). ``key`` defaults to
    ``<design>@<pdk>``; a report without rules gives one violation saying so."""
    rules = load_rules() if rules is None else rules
    key = key or f"{rep['design']}@{rep['pdk']}"
    if key not in rules:
        return [f"no rules recorded for {key}"]
    bad = []
    for metric, lim in rules[key].items():
        if metric.startswith("_") or not isinstance(lim, dict):
            continue
        v = rep.get(metric)
        if v is None and lim.get("optional"):
            continue
        if v is None:
            bad.append(f"{metric}: missing from the report")
            continue
        if "min" in lim and v < lim["min"]:
            bad.append(f"{metric}: {v} below the minimum {lim['min']}")
        if "max" in lim and v > lim["max"]:
            bad.append(f"{metric}: {v} above the maximum {lim['max']}")
    return bad
