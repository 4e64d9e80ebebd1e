"""The flow report as a Markdown table, and its numbers checked against recorded rules.

Rules live in ``asic_flow/rules.json``, keyed ``<design>@<pdk>``, the way ORFS gates its
designs with ``rules-*.json``: each metric has a ``min`` and/or ``max`` set from a
measured run with a margin, so a change that costs area or speed fails a test.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

RULES_FILE = Path(__file__).resolve().with_name("rules.json")


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
