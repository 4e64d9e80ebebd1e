"""Logic synthesis to a Liberty library with Yosys and ABC.

Each top-level block (PE array, each buffer, compute engine, host interface) stays a
module of its own so its area is known. The memories become flip-flops, or, with
``macros`` given, the buffer memories become black-box SRAM macros with a modelled
Liberty (:mod:`asic_flow.macros`); ``memories_in`` lists them from the RTL so their
share is reported.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Optional

from hwgen.tools import run_capped

from . import cones
from . import macros as macros_mod
from .errors import ToolFailed
from .pdks import DEFAULT_LOAD_FF, Library
from .templates import render
from .tools import Tool, yosys_command

VERILOG = "design.v"
NETLIST = "netlist.v"
SCRIPT = "synth.ys"
ABC_CONSTR = "abc.constr"
STAT_JSON = "synth_stat.json"
STAT_TXT = "synth_stat.txt"
LOG = "synth.log"
MACRO_LIB = "sram_macros.lib"
"""Liberty of the modelled macros (an output: OpenSTA reads it too)."""
MACRO_FILES = {"memlib": "sram.memlib", "techmap": "sram_map.v", "blackbox": "sram_blackbox.v"}


def top_blocks(verilog: str, top: str) -> list[str]:
    """Module names of the top's blocks: its direct sub-blocks (``top.X``, one level
    down) and, when a sub-block is a whole accelerator (a pod of a multi-pod design or
    an engine of a heterogeneous one: it has an ``array``), that accelerator's own
    sub-blocks (``top.X.Y``), so each pod's array, buffers, engine and host keep their
    module, their area is known and their memories can be selected by module."""
    names = re.findall(r"^module\s+\\?(\S+)\s*\(", verilog, re.M)

    def below(parent: str) -> list[str]:
        return [n for n in names
                if n.startswith(parent + ".") and "." not in n[len(parent) + 1:]]

    out = below(top)
    out += [n for unit in out if f"{unit}.array" in names for n in below(unit)]
    return sorted(out)


def memories_in(verilog: str) -> list[dict]:
    """Memory arrays of the RTL (``reg [W-1:0] name [D-1:0];``) with the module holding them."""
    out, module = [], None
    for line in verilog.splitlines():
        m = re.match(r"module\s+\\?(\S+)\s*\(", line)
        if m:
            module = m.group(1)
            continue
        m = re.match(r"\s*reg\s+(?:\[(\d+):(\d+)\]\s+)?(\\?\S+)\s*\[(\d+):(\d+)\]\s*;", line)
        if m and module:
            width = abs(int(m.group(1) or 0) - int(m.group(2) or 0)) + 1
            depth = abs(int(m.group(4)) - int(m.group(5))) + 1
            out.append({"module": module, "name": m.group(3).lstrip("\\"),
                        "width": width, "depth": depth, "bits": width * depth})
    return out


def buffer_modules(verilog: str) -> list[str]:
    """The modules holding buffer memories (those that become macros), for
    ``memory_libmap`` to select: each must be one of :func:`top_blocks` (kept, not
    flattened into its parent), or the selection finds nothing there."""
    return sorted({m["module"] for m in memories_in(verilog)
                   if macros_mod.is_buffer_memory(m["module"], m["name"])})


def render_script(*, design: str, top: str, blocks: list[str], liberty_name: str,
                  delay_ps: float, macro_blocks: Optional[list[str]] = None) -> str:
    """``macro_blocks``: modules whose memories become macros (None: flip-flops)."""
    if macro_blocks is None:
        read_macros = ""
        memories = ("# Memories become flip-flops: synth's memory_map builds every word "
                    "from registers.\nsynth -top " + top + " -flatten -noabc")
        stat_libs = f"-liberty {liberty_name}"
    else:
        read_macros = f"read_verilog -lib {MACRO_FILES['blackbox']}\n"
        memories = "\n".join([
            "# Buffer memories become SRAM macros (black boxes with a modelled Liberty,",
            "# asic_flow/macros.py): stop synth before it maps memories to flip-flops,",
            "# map the buffers' memories onto RAM types of their own shape, turn those",
            "# into the black-box cells, then let synth finish the rest.",
            f"synth -top {top} -flatten -noabc -run :fine",
            f"memory_libmap -logic-cost-ram 1000 -lib {MACRO_FILES['memlib']} "
            + " ".join(macro_blocks),
            f"techmap -map {MACRO_FILES['techmap']}",
            f"synth -top {top} -flatten -noabc -run fine:"])
        stat_libs = f"-liberty {liberty_name} -liberty {MACRO_LIB}"
    return render("synth.ys.tmpl", design=design, top=top, verilog=VERILOG,
                  blocks=" ".join(blocks) if blocks else top, liberty_name=liberty_name,
                  liberty=liberty_name, delay_ps=f"{delay_ps:.0f}", abc_constr=ABC_CONSTR,
                  stat_json=STAT_JSON, stat_txt=STAT_TXT, netlist=NETLIST,
                  read_macros=read_macros, memories=memories, stat_libs=stat_libs)


def render_abc_constr(lib: Library, load_ff: float = DEFAULT_LOAD_FF) -> str:
    # ABC works in ps and fF internally whatever the Liberty's units.
    return render("abc.constr.tmpl", drive_cell=lib.drive_cell, load_ff=f"{load_ff:g}")


def write_macro_files(shapes: list, work: Path) -> None:
    """The macros' memory_libmap library, techmap, black boxes and Liberty."""
    (work / MACRO_FILES["memlib"]).write_text(macros_mod.memlib_text(shapes))
    (work / MACRO_FILES["techmap"]).write_text(macros_mod.techmap_text(shapes))
    (work / MACRO_FILES["blackbox"]).write_text(macros_mod.blackbox_text(shapes))
    (work / MACRO_LIB).write_text(macros_mod.liberty_text(shapes))


def synthesize(tool: Tool, lib: Library, verilog: str, top: str, design: str,
               clock_ns: float, work: Path, timeout: float = 3600,
               macro_shapes: Optional[list] = None,
               warn: Optional[Callable[[str], None]] = None) -> dict:
    """Write the inputs into ``work``, run Yosys there, return parsed statistics.
    ``macro_shapes`` (:func:`asic_flow.macros.shapes_for`): build the buffer memories
    as black-box macros of these shapes instead of flip-flops. First the design's
    largest single-cycle multiply-add cone is found (:mod:`asic_flow.cones`, in the
    statistics as ``cone``); ``warn`` gets one line before the long run when it is deep
    enough that ABC may not finish."""
    liberty_name = lib.liberty.name
    shutil.copyfile(lib.liberty, work / liberty_name)  # the WASI Yosys sees only `work`
    (work / VERILOG).write_text(verilog)
    blocks = top_blocks(verilog, top)
    (work / ABC_CONSTR).write_text(render_abc_constr(lib))
    macro_blocks = None
    if macro_shapes is not None:
        write_macro_files(macro_shapes, work)
        macro_blocks = buffer_modules(verilog)
        lost = sorted(set(macro_blocks) - set(blocks))
        if lost:  # flattened into a parent, memory_libmap would not see them
            raise ToolFailed(f"buffer modules {', '.join(lost)} are not kept as blocks: "
                             "their memories would not become macros")
    (work / SCRIPT).write_text(render_script(design=design, top=top, blocks=blocks,
                                             liberty_name=liberty_name,
                                             delay_ps=clock_ns * 1000.0,
                                             macro_blocks=macro_blocks))
    cone = cones.check(tool, verilog, top, work, timeout=timeout, source=VERILOG)
    message = cones.warning(cone)
    if message is not None and warn is not None:
        warn(message)
    try:
        proc = run_capped(yosys_command(tool, SCRIPT, LOG), cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"yosys did not finish within {timeout:.0f} s; see {work / LOG}") from None
    if proc.returncode != 0 or not (work / NETLIST).is_file():
        log = (work / LOG).read_text(errors="replace") if (work / LOG).is_file() else ""
        errors = [ln.strip() for ln in (log + proc.stderr).splitlines() if "ERROR" in ln]
        last = errors[-1] if errors else (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolFailed(f"yosys failed ({last}); see {work / LOG}")
    (work / liberty_name).unlink()  # a copy of an installed file: not an output
    areas = ({s.name: macros_mod.model(s)["area_um2"] for s in macro_shapes}
             if macro_shapes is not None else None)
    stat = parse_stat(json.loads((work / STAT_JSON).read_text()), top, blocks, areas)
    stat["cone"] = None if cone is None else cone.as_dict()
    return stat


def parse_stat(stat: dict, top: str, blocks: list[str],
               macro_areas: Optional[dict[str, float]] = None) -> dict:
    """Area and cells, in total and per block, from ``stat -json -liberty``.
    ``macro_areas`` (macro cell -> area): each block also gets ``macro_area_um2`` and
    ``macros`` (count), and the result ``macro_area_um2``."""
    macro_areas = macro_areas or {}
    mods = {k.lstrip("\\"): v for k, v in stat["modules"].items()}

    def own(m: dict) -> tuple[float, float, int, dict]:
        # A module's "area" and "sequential_area" include its submodules: take them off.
        by_type = {k.lstrip("\\"): int(v) for k, v in m.get("num_cells_by_type", {}).items()}
        subs = {k: v for k, v in by_type.items() if k in mods}
        cells = {k: v for k, v in by_type.items() if k not in mods}
        area = (float(m.get("area", 0.0))
                - sum(n * float(mods[k].get("area", 0.0)) for k, n in subs.items()))
        seq = (float(m.get("sequential_area", 0.0))
               - sum(n * float(mods[k].get("sequential_area", 0.0)) for k, n in subs.items()))
        return area, seq, sum(cells.values()), cells

    per_block, cells_by_type = {}, {}
    for name in [n for n in (top, *blocks) if n in mods]:
        area, seq, n, by_type = own(mods[name])
        entry = {"area_um2": round(area, 2), "sequential_area_um2": round(seq, 2), "cells": n}
        if macro_areas:
            entry["macros"] = sum(v for k, v in by_type.items() if k in macro_areas)
            entry["macro_area_um2"] = round(sum(v * macro_areas[k] for k, v in by_type.items()
                                                if k in macro_areas), 2)
        per_block["top" if name == top else name[len(top) + 1:]] = entry
        for k, v in by_type.items():
            cells_by_type[k] = cells_by_type.get(k, 0) + v
    out = {
        "area_um2": round(sum(b["area_um2"] for b in per_block.values()), 2),
        "cells": sum(cells_by_type.values()),
        "cells_by_type": dict(sorted(cells_by_type.items())),
        "blocks": per_block,
    }
    if macro_areas:
        out["macro_area_um2"] = round(sum(b["macro_area_um2"] for b in per_block.values()), 2)
    return out
