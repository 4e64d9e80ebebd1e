"""Static timing and power of the synthesized netlist with OpenSTA.

The clock is ideal (no clock tree: there is no placement yet), ports are constrained to
the same clock with zero input/output delay, inputs are driven by the library's buffer
and outputs carry a fixed load. The achievable period is the clock period minus the
worst setup slack; with zero port delays every constraint scales with the period, so
that is the period at which the worst path would just meet timing.

The main report's power has no simulation behind it: every pin gets a stated activity
(``activity`` toggles per clock). :func:`analyze_power_by_net` reports power with the
activity of each pin set from a gate-level simulation (:mod:`asic_flow.netact`);
:func:`analyze_power_by_block` is the coarser per-block method (:mod:`asic_flow.activity`).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Sequence

from hwgen.tools import run_capped

from .errors import ToolFailed
from .pdks import DEFAULT_LOAD_FF, Library
from .templates import render
from .tools import Tool

SDC = "constraint.sdc"
SCRIPT = "sta.tcl"
LOG = "sta.log"
CLOCK_PORT = "clk"
#: Toggle rate (transitions per clock cycle) assumed on every net for report_power.
DEFAULT_ACTIVITY = 0.1


def render_sdc(*, design: str, lib: Library, clock_ns: float, clock_port: str = CLOCK_PORT,
               input_delay_ns: float = 0.0, output_delay_ns: float = 0.0,
               load_ff: float = DEFAULT_LOAD_FF) -> str:
    t = lib.time_unit_ns

    def tv(ns: float) -> str:
        return f"{ns / t:.6g}"

    unit_t = f"{t:g} ns"
    unit_c = f"{lib.cap_unit_ff:g} fF"
    return render("constraint.sdc.tmpl", design=design, clock_ns=f"{clock_ns:g}",
                  clock_port=clock_port, time_unit=unit_t, cap_unit=unit_c,
                  period=tv(clock_ns), input_delay=tv(input_delay_ns),
                  output_delay=tv(output_delay_ns), drive_cell=lib.drive_cell,
                  drive_pin=lib.drive_pin, load=f"{load_ff / lib.cap_unit_ff:.6g}")


def read_liberty_lines(liberty: str, extra: Sequence[str] = ()) -> str:
    """``read_liberty`` commands: the cell library, then e.g. the macros' Liberty."""
    return "\n".join(f"read_liberty {lib}" for lib in (liberty, *extra))


def render_tcl(*, design: str, top: str, liberty: str, netlist: str,
               activity: float = DEFAULT_ACTIVITY, extra_liberties: Sequence[str] = ()) -> str:
    return render("sta.tcl.tmpl", design=design, top=top, liberty=liberty, netlist=netlist,
                  read_liberty=read_liberty_lines(liberty, extra_liberties),
                  sdc=SDC, activity=f"{activity:g}")


def analyze(tool: Tool, lib: Library, netlist: str, top: str, design: str, clock_ns: float,
            work: Path, activity: float = DEFAULT_ACTIVITY, timeout: float = 1800,
            extra_liberties: Sequence[str] = ()) -> dict:
    (work / SDC).write_text(render_sdc(design=design, lib=lib, clock_ns=clock_ns))
    (work / SCRIPT).write_text(render_tcl(design=design, top=top, liberty=str(lib.liberty),
                                          netlist=netlist, activity=activity,
                                          extra_liberties=extra_liberties))
    out = _run_sta(tool, work, SCRIPT, LOG, timeout, "sta")
    return parse_report(out, clock_ns, lib.time_unit_ns, activity)


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^@@ (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def parse_path(text: str, time_unit_ns: float = 1.0) -> dict | None:
    """Startpoint, endpoint, stages and data arrival of the first path in a
    ``report_checks -format full`` report; None if there is no constrained path."""
    sp = re.search(r"^Startpoint:\s*(\S+)", text, re.M)
    ep = re.search(r"^Endpoint:\s*(\S+)", text, re.M)
    arr = re.search(r"^\s*(-?[\d.]+)\s+data arrival time", text, re.M)
    if not (sp and ep and arr):
        return None
    body = text[sp.end(): arr.start()]
    insts, last_pin = [], None
    for m in re.finditer(r"^\s*-?[\d.]+\s+-?[\d.]+\s+[v^]\s+(\S+)\s+\((\w+)\)", body, re.M):
        last_pin = m.group(1)
        if "/" not in last_pin:  # a port (its "cell" is shown as in / out)
            continue
        inst = last_pin.rsplit("/", 1)[0]
        if inst not in insts:
            insts.append(inst)
    # The last line is the endpoint's data pin: its register is not a stage of the path.
    if last_pin and "/" in last_pin and insts and insts[-1] == last_pin.rsplit("/", 1)[0]:
        insts.pop()
    return {"startpoint": sp.group(1), "endpoint": ep.group(1), "stages": len(insts),
            "delay_ns": round(float(arr.group(1)) * time_unit_ns, 4)}


def register_names(netlist: str, top: str) -> dict[str, str]:
    """Instance path -> the register it holds (its Q net), for flip-flops of a netlist
    written by Yosys: synthesized cell names (``_1234_``) say nothing to a reader."""
    chunks = {}
    for chunk in re.split(r"^module\s+", netlist, flags=re.M)[1:]:
        chunks[chunk.split("(", 1)[0].strip().lstrip("\\")] = chunk
    parent = {}  # block module -> (module instantiating it, instance name); each used once
    for mod, chunk in chunks.items():
        for sub, name in re.findall(r"^\s*\\?(\S+)\s+(\S+)\s*\($", chunk, re.M):
            if sub.startswith(top + "."):
                parent[sub] = (mod, name)

    def path(mod: str) -> str:  # the instance path of a block module ("pod0/array")
        if mod not in parent or parent[mod][0] == mod:
            return mod
        up, name = parent[mod]
        return name if up == top else f"{path(up)}/{name}"

    out = {}
    for mod, chunk in chunks.items():
        prefix = "" if mod == top else (path(mod) + "/")
        for inst, q in re.findall(r"^\s*\w+\s+(\S+)\s*\((?:(?!\);).)*?\.Q\(([^)]*)\)", chunk,
                                  re.M | re.S):
            out[prefix + inst] = (prefix + q.strip()).replace(" ", "").replace("\\", "")
    return out


def parse_report(text: str, clock_ns: float, time_unit_ns: float = 1.0,
                 activity: float = DEFAULT_ACTIVITY) -> dict:
    s = _sections(text)
    path = parse_path(s.get("checks", ""), time_unit_ns)
    m = re.search(r"worst slack\s+(-?[\d.eE+-]+)", s.get("worst_slack", ""))
    slack = float(m.group(1)) * time_unit_ns if m and path else None
    m = re.search(r"tns\s+(-?[\d.eE+-]+)", s.get("tns", ""))
    tns = float(m.group(1)) * time_unit_ns if m else 0.0
    p = re.search(r"^Total\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)",
                  s.get("power", ""), re.M)
    power = None
    if p:
        internal, switching, leakage, total = (float(x) * 1e3 for x in p.groups())  # W -> mW
        power = {"total_mw": round(total, 4), "internal_mw": round(internal, 4),
                 "switching_mw": round(switching, 4), "leakage_mw": round(leakage, 6)}
    achievable = clock_ns - slack if slack is not None else None
    return {
        "worst_slack_ns": round(slack, 4) if slack is not None else None,
        "wns_ns": round(min(0.0, slack), 4) if slack is not None else 0.0,
        "tns_ns": round(min(0.0, tns), 4),
        "critical_path": path,
        "achievable_period_ns": round(achievable, 4) if achievable is not None else None,
        "fmax_mhz": round(1000.0 / achievable, 2) if achievable and achievable > 0 else None,
        "timing_met": slack is None or slack >= 0.0,
        "power": power,
        "activity": activity,
    }


POWER_SIM_SCRIPT = "power_sim.tcl"
POWER_SIM_LOG = "power_sim.log"
TOP_GLUE_CELLS = "_*"
"""Cells of the top module itself: Yosys names every synthesized cell ``_<n>_``."""


def render_power_tcl(*, design: str, top: str, liberty: str, netlist: str, source: str,
                     groups: list[tuple[str, str, float, float]],
                     extra_liberties: Sequence[str] = ()) -> str:
    """``groups``: (name, cell pattern, activity, duty) per block."""
    lines = []
    for name, pattern, act, duty in groups:
        lines += [f"set_power_activity -global -activity {act:.6g} -duty {duty:.6g}",
                  f'puts "@@ block {name}"',
                  f"report_power -instances [get_cells {{{pattern}}}] -digits 6"]
    return render("power_sim.tcl.tmpl", design=design, top=top, liberty=liberty,
                  read_liberty=read_liberty_lines(liberty, extra_liberties),
                  netlist=netlist, sdc=SDC, source=source, blocks="\n".join(lines))


def parse_power_by_block(text: str) -> dict[str, dict]:
    """Per-instance rows of each ``@@ block NAME`` section summed, in mW."""
    out = {}
    for name, body in re.findall(r"^@@ block (\S+)\s*$(.*?)(?=^@@ )", text, re.S | re.M):
        sums, cells = [0.0] * 4, 0
        for m in re.finditer(r"^\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)"
                             r"\s+\S+\s*$", body, re.M):
            cells += 1
            for i in range(4):
                sums[i] += float(m.group(i + 1)) * 1e3
        out[name] = {"cells": cells, "internal_mw": round(sums[0], 4),
                     "switching_mw": round(sums[1], 4), "leakage_mw": round(sums[2], 6),
                     "total_mw": round(sums[3], 4)}
    return out


def analyze_power_by_block(tool: Tool, lib: Library, netlist: str, top: str, design: str,
                           work: Path, groups: list[tuple[str, str, float, float]],
                           source: str, timeout: float = 1800,
                           extra_liberties: Sequence[str] = ()) -> dict[str, dict]:
    """Power of each group of cells at its own activity (see asic_flow.activity).
    Reuses ``constraint.sdc`` written by :func:`analyze`."""
    (work / POWER_SIM_SCRIPT).write_text(render_power_tcl(
        design=design, top=top, liberty=str(lib.liberty), netlist=netlist, source=source,
        groups=groups, extra_liberties=extra_liberties))
    out = _run_sta(tool, work, POWER_SIM_SCRIPT, POWER_SIM_LOG, timeout, "sta (power)")
    return parse_power_by_block(out)


POWER_NET_SCRIPT = "power_net.tcl"
POWER_NET_LOG = "power_net.log"


def render_power_net_tcl(*, design: str, top: str, liberty: str, netlist: str, source: str,
                         activity_files: list[str], blocks: list[tuple[str, str]],
                         extra_liberties: Sequence[str] = ()) -> str:
    """``blocks``: (name, cell pattern) whose cells' power is reported one by one."""
    lines = []
    for name, pattern in blocks:
        lines += [f'puts "@@ block {name}"',
                  f"report_power -instances [get_cells {{{pattern}}}] -digits 6"]
    return render("power_net.tcl.tmpl", design=design, top=top, liberty=liberty,
                  read_liberty=read_liberty_lines(liberty, extra_liberties),
                  netlist=netlist, sdc=SDC, source=source,
                  sources="\n".join(f"source {f}" for f in activity_files),
                  blocks="\n".join(lines))


def analyze_power_by_net(tool: Tool, lib: Library, netlist: str, top: str, design: str,
                         work: Path, activity_files: list[str], blocks: list[tuple[str, str]],
                         source: str, timeout: float = 3600,
                         extra_liberties: Sequence[str] = ()) -> dict:
    """Total power and power per block with per-pin activity from ``activity_files``
    (written by :func:`asic_flow.netact.write_tcl`). Reuses ``constraint.sdc``."""
    (work / POWER_NET_SCRIPT).write_text(render_power_net_tcl(
        design=design, top=top, liberty=str(lib.liberty), netlist=netlist, source=source,
        activity_files=activity_files, blocks=blocks, extra_liberties=extra_liberties))
    out = _run_sta(tool, work, POWER_NET_SCRIPT, POWER_NET_LOG, timeout, "sta (power)")
    total = parse_report(out, 1.0)["power"]
    if total is None:
        raise ToolFailed(f"sta printed no power report; see {work / POWER_NET_LOG}")
    secs = _sections(out)
    default = parse_report(f"@@ power\n{secs.get('default_power', '')}@@ end\n", 1.0)["power"]
    return {**total, "blocks": parse_power_by_block(out),
            "unannotated_total_mw": default["total_mw"] if default else None}


def _run_sta(tool, work: Path, script: str, log: str, timeout: float, what: str) -> str:
    """Run OpenSTA on ``script`` in ``work``; its output, also saved as ``log``. The
    scripts print ``@@ end`` last, so a run that stopped early is caught too."""
    try:
        proc = run_capped([*tool.argv, "-no_splash", "-exit", script], cwd=work,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"{what} did not finish within {timeout:.0f} s") from None
    out = proc.stdout + proc.stderr
    (work / log).write_text(out)
    if proc.returncode != 0 or "@@ end" not in out:
        errs = [ln for ln in out.splitlines() if ln.startswith("Error")] or ["no message"]
        raise ToolFailed(f"sta failed ({errs[0]}); see {work / log}")
    bad = read_problems(out)
    if bad:
        raise ToolFailed(f"sta misread the netlist ({bad[0]}); its numbers would describe "
                         f"another circuit; see {work / log}")
    return out


#: OpenSTA messages after which the design it analyses is not the netlist written:
#: its Verilog reader recovers from a syntax error by reading on into the next module.
_READ_PROBLEMS = re.compile(
    r"^(Error: .*|Warning: .*(?:Creating black box|previously declared|duplicated - renamed"
    r"|is not in the port list).*)$", re.M)


def read_problems(out: str) -> list[str]:
    """Lines of an OpenSTA log saying the netlist was not read as written: any error,
    or the warnings its parser's error recovery leaves (black boxes for modules that
    are in the file, signals declared twice, duplicated instance names)."""
    return [m.group(1).strip() for m in _READ_PROBLEMS.finditer(out)]
