"""Opt-in place and route of the PE array with qflow (graywolf, qrouter, magic).

Only the PE array block goes through: the whole design with its flip-flop buffers is far
too big for graywolf (over 15 minutes on one 4x4 array already). qflow synthesizes the
block with its own Yosys (Debian's 0.23, not the 0.70 used for the report's numbers),
places it with graywolf, routes it with qrouter and writes GDS with magic. The run is
capped (``timeout``), prints each qflow step as it starts, and returns the routed
wirelength (summed from the routed DEF), the die size, and a PNG of the layout drawn
from the DEF (cells and wires).

    from asic_flow.pnr import place_and_route
    place_and_route(load_config("asic2"), "osu018", Path("build/pnr"), timeout=900)
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from .errors import ToolFailed, ToolMissing
from .pdks import KNOWN_PDKS

MODULE = "pe_array"
STEPS = ("synthesize", "place", "route", "migrate", "gdsii")
_TECH_DIR = Path("/usr/share/qflow/tech")
#: qflow's own progress lines (not the tools' chatter that also starts with "Running").
_STEP = re.compile(r"Running (yosys|GrayWolf|qrouter|magic|vesta|OpenSTA)\b")


def block_verilog(cfg) -> str:
    """The PE array of ``cfg`` alone, as module ``pe_array``."""
    from amaranth.back import verilog

    from hwgen.array import SystolicArray

    arr = SystolicArray(cfg.array, cfg.precision.in_bits, cfg.acc_bits)
    return verilog.convert(arr, name=MODULE, emit_src=False)


def find_qflow() -> str:
    """qflow's path; ToolMissing without it, or without matplotlib for the layout plot."""
    exe = shutil.which(os.environ.get("QFLOW", "qflow"))
    if exe is None:
        raise ToolMissing("qflow not found (needed for place and route); "
                          "apt-get install -y qflow (or set QFLOW)")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ToolMissing("matplotlib not installed (needed to draw the layout); "
                          "pip install matplotlib") from None
    return exe


# ---------------------------------------------------------------------------- DEF / LEF
def lef_sizes(lef_text: str) -> dict[str, tuple[float, float]]:
    """Macro name -> (width, height) in microns."""
    out = {}
    for name, body in re.findall(r"^MACRO\s+(\S+)(.*?)^END\s+\1\b", lef_text, re.S | re.M):
        m = re.search(r"^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", body, re.M)
        if m:
            out[name] = (float(m.group(1)), float(m.group(2)))
    return out


def read_def(text: str) -> dict:
    """Die area, placed components and routed wire segments of a DEF, in microns."""
    m = re.search(r"^UNITS\s+DISTANCE\s+MICRONS\s+(\d+)", text, re.M)
    unit = float(m.group(1)) if m else 1.0
    m = re.search(r"^DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)", text, re.M)
    die = tuple(float(v) / unit for v in m.groups()) if m else None
    comps = []
    sec = re.search(r"^COMPONENTS\b.*?^END COMPONENTS", text, re.S | re.M)
    for name, macro, x, y in re.findall(
            r"-\s+(\S+)\s+(\S+)\s+\+\s+(?:PLACED|FIXED)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)",
            sec.group(0) if sec else ""):
        comps.append((name, macro, float(x) / unit, float(y) / unit))
    segments = []
    sec = re.search(r"^NETS\b.*?^END NETS", text, re.S | re.M)
    for path in re.findall(r"(?:ROUTED|NEW)\s+(\S+)((?:\s*\(\s*[-\d*]+\s+[-\d*]+(?:\s+-?\d+)?\s*\)"
                           r"(?:\s+[A-Za-z_]\w*)?)+)", sec.group(0) if sec else ""):
        layer, pts_text = path
        x = y = None
        prev = None
        for px, py in re.findall(r"\(\s*([-\d*]+)\s+([-\d*]+)", pts_text):
            x = x if px == "*" else float(px) / unit
            y = y if py == "*" else float(py) / unit
            if prev is not None and (x, y) != prev:
                segments.append((layer, prev[0], prev[1], x, y))
            prev = (x, y)
    return {"die": die, "components": comps, "segments": segments}


def wirelength(segments: list) -> float:
    return sum(abs(x1 - x0) + abs(y1 - y0) for _, x0, y0, x1, y1 in segments)


def plot_layout(layout: dict, sizes: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(8, 8))
    rects = [Rectangle((x, y), *sizes.get(macro, (1.0, 1.0)))
             for _, macro, x, y in layout["components"]]
    ax.add_collection(PatchCollection(rects, facecolor="#d8d8d8", edgecolor="#909090",
                                      linewidth=0.2))
    layers = sorted({s[0] for s in layout["segments"]})
    colors = plt.cm.tab10.colors
    for i, layer in enumerate(layers):
        lines = [((x0, y0), (x1, y1)) for lay, x0, y0, x1, y1 in layout["segments"]
                 if lay == layer]
        ax.add_collection(LineCollection(lines, colors=[colors[i % 10]], linewidths=0.4,
                                         label=layer))
    if layout["die"]:
        x0, y0, x1, y1 = layout["die"]
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black"))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("um")
    ax.set_title(title, fontsize=10)
    if layers:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------- run
def _run_qflow(exe: str, pdk: str, project: Path, timeout: float,
               say: Callable[[str], None]) -> None:
    cmd = [exe, *STEPS, "-T", pdk, MODULE]
    log = project / "qflow.log"
    deadline = time.monotonic() + timeout
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=project, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            for line in proc.stdout:
                f.write(line)
                if _STEP.match(line):
                    say(f"qflow: {line.strip()}")
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise ToolFailed(f"qflow did not finish within {timeout:.0f} s; see {log}") from None
    if proc.returncode != 0:
        raise ToolFailed(f"qflow failed (exit {proc.returncode}); see {log}")


def place_and_route(cfg, pdk: str, out: Path, *, timeout: float = 900,
                    log: Optional[Callable[[str], None]] = None) -> dict:
    """Place and route the PE array of ``cfg`` on an OSU library with qflow."""
    if pdk not in KNOWN_PDKS:
        raise ToolMissing(f"qflow place and route supports {', '.join(sorted(KNOWN_PDKS))}, "
                          f"not {pdk!r}")
    exe = find_qflow()
    say = log or (lambda msg: None)
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    for d in ("source", "synthesis", "layout", "log"):
        (out / d).mkdir(parents=True)
    (out / "source" / f"{MODULE}.v").write_text(block_verilog(cfg))
    t0 = time.monotonic()
    say(f"place and route of the {cfg.R}x{cfg.C} PE array with qflow on {pdk} "
        f"(cap {timeout:.0f} s)")
    _run_qflow(exe, pdk, out, timeout, say)
    seconds = round(time.monotonic() - t0, 1)
    layout_dir = out / "layout"
    routed = layout_dir / f"{MODULE}.def"
    if not routed.is_file():
        raise ToolFailed(f"qflow wrote no {routed.name}; see {out / 'qflow.log'}")
    lay = read_def(routed.read_text())
    lef = _TECH_DIR / pdk / f"{pdk}_stdcells.lef"
    sizes = lef_sizes(lef.read_text()) if lef.is_file() else {}
    png = out / "layout.png"
    fill = sum(1 for _, macro, _, _ in lay["components"] if macro.startswith("FILL"))
    wl = wirelength(lay["segments"])
    x0, y0, x1, y1 = lay["die"] or (0, 0, 0, 0)
    plot_layout(lay, sizes, png, f"{cfg.name}: {cfg.R}x{cfg.C} PE array on {pdk}, "
                                 f"{len(lay['components']) - fill} cells, wire {wl / 1000:.1f} mm")
    gds = layout_dir / f"{MODULE}.gds"
    return {
        "block": "pe_array",
        "pdk": pdk,
        "cells": len(lay["components"]) - fill,
        "fill_cells": fill,
        "die_um": [round(x1 - x0, 2), round(y1 - y0, 2)],
        "die_area_um2": round((x1 - x0) * (y1 - y0), 1),
        "wirelength_um": round(wl, 1),
        "def": str(routed.relative_to(out)),
        "gds": str(gds.relative_to(out)) if gds.is_file() else None,
        "png": png.name,
        "seconds": seconds,
        "synthesis": "qflow's own Yosys (Debian), not the flow's Yosys 0.70",
    }
