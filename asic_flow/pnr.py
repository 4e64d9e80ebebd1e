"""Opt-in place and route with qflow (graywolf, qrouter, magic): the PE array block
alone (``scope="array"``) or the whole design (``scope="design"``).

qflow synthesizes the Verilog with its own Yosys (Debian's 0.23, not the 0.70 used for
the report's numbers), places it with graywolf, routes it with qrouter and writes GDS
with magic. It is slow: the PE array of asic2 takes minutes; the whole asic2 design
(30k cells, mostly flip-flop buffers) did not get past two of graywolf's annealing
iterations in 33 minutes on a busy 2-core machine. So the run is capped (``timeout``,
checked every second; the whole process group is stopped), each qflow step is reported
as it starts, a note every minute says how long the current step has run (for graywolf
with its iteration count), and a capped run raises :class:`QflowTimeout` saying how far
it got. A finished run returns the routed wirelength (summed from the routed DEF), the
die size, the seconds per step and a PNG of the layout drawn from the DEF.

    from asic_flow.pnr import place_and_route
    place_and_route(load_config("asic2"), "osu018", Path("build/pnr"), timeout=900)
    place_and_route(load_config("asic2"), "osu018", Path("build/pnr"), scope="design",
                    timeout=4 * 3600)
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from amaranth.back import verilog

from hwgen.array import SystolicArray
from hwgen.emit import generate_verilog
from hwgen.tools import ToolSpec, end_group, find, finished, spawn

from .errors import ToolFailed, ToolMissing
from .pdks import KNOWN_PDKS

MODULE = "pe_array"
DESIGN_TOP = "hwgen_top"
SCOPES = ("array", "design")
STEPS = ("synthesize", "place", "route", "migrate", "gdsii")
_TECH_DIR = Path("/usr/share/qflow/tech")
#: qflow's own progress lines (not the tools' chatter that also starts with "Running").
_STEP = re.compile(r"Running (yosys|GrayWolf|qrouter|magic|vesta|OpenSTA)\b")


def block_verilog(cfg) -> str:
    """The PE array of ``cfg`` alone, as module ``pe_array``."""
    arr = SystolicArray(cfg.array, cfg.precision.in_bits, cfg.acc_bits)
    return verilog.convert(arr, name=MODULE, emit_src=False)


def find_qflow() -> str:
    """qflow's path; ToolMissing without it, or without matplotlib for the layout plot."""
    exe = str(find(ToolSpec("qflow", "place and route", "apt-get install -y qflow",
                            env="QFLOW"), error=ToolMissing))
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
#: TimberWolfSC (graywolf's placer) prints one line per annealing iteration to
#: ``layout/<top>.out`` under a header ``Iter T fds Wire Penal ...``: the iteration
#: number and a colon, the temperature, then statistics (``-1:`` is the start).
_GW_ITER = re.compile(r"^[ \t]*(-?\d+):[ \t]+\d+\.\d+[eE][-+]\d+[ \t]", re.M)


def graywolf_progress(out_file: Path) -> dict | None:
    """Annealing iterations graywolf has written so far (its output is buffered, so
    this lags by up to 4 kB of lines), or None before it starts."""
    try:
        text = Path(out_file).read_text(errors="replace")
    except OSError:
        return None
    iters = [int(m.group(1)) for m in _GW_ITER.finditer(text)]
    # Iterations count from 0 (-1 is the initial placement).
    return {"iterations": max([-1, *iters]) + 1, "out_bytes": len(text)}


class QflowTimeout(ToolFailed):
    """qflow hit its time cap; ``progress`` says how far it got."""

    def __init__(self, msg: str, progress: dict):
        super().__init__(msg)
        self.progress = progress


def _run_qflow(exe: str, pdk: str, project: Path, module: str, timeout: float,
               say: Callable[[str], None], report_every: float = 60.0) -> dict:
    """Run the qflow steps; returns seconds per step. Every ``report_every`` seconds
    without a new step it says how long the current step has run (and graywolf's
    iteration count). At the cap the process group is stopped: QflowTimeout."""
    import queue
    import threading

    cmd = [exe, *STEPS, "-T", pdk, module]
    log = project / "qflow.log"
    lines: queue.Queue = queue.Queue()
    t0 = time.monotonic()
    deadline = t0 + timeout
    steps: list[list] = []  # [name, start]
    gw_out = project / "layout" / f"{module}.out"
    with open(log, "w") as f:
        # In a process group of its own under a guard: graywolf, qrouter and magic end
        # with qflow, also when hwgen is interrupted or killed.
        proc = spawn(cmd, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     text=True)
        reader = threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout],
                                  daemon=True)
        reader.start()
        try:
            last_note = time.monotonic()
            while True:
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    line = None
                now = time.monotonic()
                if line is not None:
                    f.write(line)
                    m = _STEP.match(line)
                    if m:
                        steps.append([m.group(1), now])
                        say(f"qflow: {line.strip()} ({now - t0:.0f} s)")
                        last_note = now
                elif proc.poll() is not None and not reader.is_alive():
                    break
                if now - last_note >= report_every and steps:
                    name, since = steps[-1]
                    gw = graywolf_progress(gw_out) if name == "GrayWolf" else None
                    say(f"qflow: {name} running for {now - since:.0f} s"
                        + (f", {gw['iterations']} annealing iterations written" if gw else ""))
                    last_note = now
                if now > deadline:
                    end_group(proc)
                    name, since = steps[-1] if steps else ("start", t0)
                    progress = {"step": name, "step_seconds": round(now - since, 1),
                                "seconds": round(now - t0, 1),
                                "steps_done": [s[0] for s in steps[:-1]]}
                    if name == "GrayWolf":
                        progress["graywolf"] = graywolf_progress(gw_out)
                    raise QflowTimeout(
                        f"qflow did not finish within {timeout:.0f} s: stopped in {name} after "
                        f"{now - since:.0f} s of it" + (
                            f" ({progress['graywolf']['iterations']} annealing iterations "
                            "written)" if progress.get("graywolf") else "") + f"; see {log}",
                        progress)
        finally:
            if proc.poll() is None:  # an exception of our own: stop qflow too
                end_group(proc)
            finished(proc)
            reader.join(timeout=10)
            proc.stdout.close()
        f.flush()
    if proc.returncode != 0:
        raise ToolFailed(f"qflow failed (exit {proc.returncode}); see {log}")
    end = time.monotonic()
    return {name: round((steps[k + 1][1] if k + 1 < len(steps) else end) - start, 1)
            for k, (name, start) in enumerate(steps)}


def place_and_route(cfg, pdk: str, out: Path, *, timeout: float = 900,
                    log: Optional[Callable[[str], None]] = None,
                    scope: str = "array") -> dict:
    """Place and route ``cfg`` on an OSU library with qflow: the PE array alone
    (``scope="array"``) or the whole design (``"design"``, module ``hwgen_top``)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if pdk not in KNOWN_PDKS:
        raise ToolMissing(f"qflow place and route supports {', '.join(sorted(KNOWN_PDKS))}, "
                          f"not {pdk!r}")
    exe = find_qflow()
    say = log or (lambda msg: None)
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    for d in ("source", "synthesis", "layout", "log"):
        (out / d).mkdir(parents=True)
    if scope == "array":
        module, what, text = MODULE, f"the {cfg.R}x{cfg.C} PE array", block_verilog(cfg)
    else:
        module, what, text = DESIGN_TOP, f"the whole {cfg.name} design", generate_verilog(cfg)
    (out / "source" / f"{module}.v").write_text(text)
    t0 = time.monotonic()
    say(f"place and route of {what} with qflow on {pdk} (cap {timeout:.0f} s; slow: "
        "graywolf alone can take tens of minutes)")
    step_seconds = _run_qflow(exe, pdk, out, module, timeout, say)
    seconds = round(time.monotonic() - t0, 1)
    layout_dir = out / "layout"
    routed = layout_dir / f"{module}.def"
    if not routed.is_file():
        raise ToolFailed(f"qflow wrote no {routed.name}; see {out / 'qflow.log'}")
    lay = read_def(routed.read_text())
    lef = _TECH_DIR / pdk / f"{pdk}_stdcells.lef"
    sizes = lef_sizes(lef.read_text()) if lef.is_file() else {}
    png = out / "layout.png"
    fill = sum(1 for _, macro, _, _ in lay["components"] if macro.startswith("FILL"))
    wl = wirelength(lay["segments"])
    x0, y0, x1, y1 = lay["die"] or (0, 0, 0, 0)
    plot_layout(lay, sizes, png, f"{cfg.name}: {what[4:]} on {pdk}, "
                                 f"{len(lay['components']) - fill} cells, wire {wl / 1000:.1f} mm")
    gds = layout_dir / f"{module}.gds"
    return {
        "block": "pe_array" if scope == "array" else "design",
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
        "step_seconds": step_seconds,
        "synthesis": "qflow's own Yosys (Debian), not the flow's Yosys 0.70",
    }
