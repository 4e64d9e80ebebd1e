"""An OpenROAD-flow-scripts (ORFS) design directory, and an ORFS run where one exists.

``write_design`` puts ``config.mk``, ``constraint.sdc`` and the design's Verilog in a
directory that ORFS takes as ``make DESIGN_CONFIG=<dir>/config.mk`` for one of its public
platforms. ``find_orfs`` looks for the flow (``ORFS_FLOW_HOME``: the ORFS ``flow``
directory, with its ``Makefile``) and for OpenROAD (``OPENROAD`` or ``openroad`` on
PATH); ``run_orfs`` runs ``make`` there with the flow's outputs kept under the design
directory (``WORK_HOME``) and returns the metrics ORFS wrote. Neither tool is packaged
for these machines: without them the directory is still written and the report says so.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from hwgen.tools import ToolSpec, data_dirs, find_optional, run_capped

from .errors import AsicFlowError, ToolFailed
from .templates import render

CONFIG = "config.mk"
SDC = "constraint.sdc"
VERILOG = "design.v"
WORK = "work"
LOG = "orfs.log"
CLOCK_PORT = "clk"
IO_FRACTION = 0.2


class UnknownPlatform(AsicFlowError, ValueError):
    """An ORFS platform this flow does not write for."""


@dataclass(frozen=True)
class Platform:
    name: str
    time_unit_ns: float
    """Time unit of the platform's Liberty files, which its SDC values are read in."""
    core_utilization: int
    place_density: float


#: The public ORFS platforms written for. Utilization and density are conservative
#: starting points for a register-heavy design, not tuned values.
PLATFORMS = {
    "sky130hd": Platform("sky130hd", 1.0, 30, 0.60),
    "nangate45": Platform("nangate45", 1.0, 30, 0.60),
    "asap7": Platform("asap7", 0.001, 30, 0.60),
    "gf180": Platform("gf180", 1.0, 30, 0.60),
}

#: Keys of ORFS's metadata picked out for the report when present.
SUMMARY_KEYS = (
    "finish__design__instance__area",
    "finish__design__instance__utilization",
    "finish__timing__setup__ws",
    "finish__timing__setup__tns",
    "finish__power__total",
    "detailedroute__route__wirelength",
    "detailedroute__route__drc_errors",
)


def platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise UnknownPlatform(f"unknown ORFS platform {name!r} "
                              f"(known: {', '.join(sorted(PLATFORMS))})") from None


def render_config(*, design: str, array: str, plat: Platform, top: str, clock_ns: float,
                  memory_bits: int, core_utilization: Optional[int] = None,
                  place_density: Optional[float] = None) -> str:
    # ORFS rejects memories above SYNTH_MEMORY_MAX_BITS; leave room above the largest.
    limit = max(4096, 1 << max(1, memory_bits - 1).bit_length())
    return render("orfs_config.mk.tmpl", design=design, array=array, platform=plat.name,
                  top=top, nickname=design, verilog=VERILOG, sdc=SDC, memory_bits=limit,
                  clock_ps=f"{clock_ns * 1000:g}",
                  core_utilization=core_utilization or plat.core_utilization,
                  place_density=f"{place_density or plat.place_density:g}")


def render_sdc(*, design: str, plat: Platform, top: str, clock_ns: float) -> str:
    return render("orfs_constraint.sdc.tmpl", design=design, platform=plat.name, top=top,
                  clock_ns=f"{clock_ns:g}", clock_port=CLOCK_PORT,
                  time_unit="ps" if plat.time_unit_ns == 0.001 else f"{plat.time_unit_ns:g} ns",
                  period=f"{clock_ns / plat.time_unit_ns:.6g}",
                  io_pct=f"{IO_FRACTION * 100:g}", io_frac=f"{IO_FRACTION:g}")


def write_design(out: Path, *, design: str, array: str, verilog: str, platform_name: str,
                 top: str, clock_ns: float, memory_bits: int,
                 core_utilization: Optional[int] = None,
                 place_density: Optional[float] = None) -> dict:
    """Write the design directory; returns its file names."""
    plat = platform(platform_name)
    out.mkdir(parents=True, exist_ok=True)
    (out / VERILOG).write_text(verilog)
    (out / SDC).write_text(render_sdc(design=design, plat=plat, top=top, clock_ns=clock_ns))
    (out / CONFIG).write_text(render_config(
        design=design, array=array, plat=plat, top=top, clock_ns=clock_ns,
        memory_bits=memory_bits, core_utilization=core_utilization,
        place_density=place_density))
    return {"config": CONFIG, "sdc": SDC, "verilog": VERILOG}


@dataclass(frozen=True)
class Orfs:
    flow_home: Optional[Path]
    openroad: Optional[Path]

    @property
    def usable(self) -> bool:
        return self.flow_home is not None and self.openroad is not None

    def why_not(self) -> str:
        missing = []
        if self.openroad is None:
            missing.append("OpenROAD not found (set OPENROAD or put openroad on PATH)")
        if self.flow_home is None:
            missing.append("OpenROAD-flow-scripts not found (set ORFS_FLOW_HOME to its "
                           "flow directory)")
        return "; ".join(missing)


def find_orfs() -> Orfs:
    homes = [d for d in data_dirs("ORFS_FLOW_HOME", []) if (d / "Makefile").is_file()]
    flow_home = homes[0] if homes else None
    found = find_optional(ToolSpec("openroad", "place and route with OpenROAD",
                                   "install OpenROAD (not packaged for Debian 12)",
                                   env="OPENROAD"))
    if found is None and flow_home is not None:
        # An ORFS checkout with its own build of the tools.
        local = flow_home.parent / "tools" / "install" / "OpenROAD" / "bin" / "openroad"
        found = str(local) if local.is_file() else None
    return Orfs(flow_home, Path(found) if found else None)


def collect_metrics(work: Path) -> dict:
    """ORFS's metrics below ``work``: ``metadata.json`` from the reports when the flow
    wrote it, else the per-stage JSON logs merged in stage order."""
    meta = sorted(work.glob("reports/**/metadata.json"))
    if meta:
        data = json.loads(meta[-1].read_text())
        return {"source": str(meta[-1].relative_to(work)), "metrics": data}
    merged: dict = {}
    stages = sorted(work.glob("logs/**/*.json"))
    for f in stages:
        try:
            d = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(d, dict):
            merged.update(d)
    return {"source": f"{len(stages)} stage logs" if stages else "none", "metrics": merged}


def summarize(metrics: dict) -> dict:
    return {k: metrics[k] for k in SUMMARY_KEYS if k in metrics}


def run_orfs(orfs: Orfs, design_dir: Path, *, timeout: float = 4 * 3600,
             log: Optional[Callable[[str], None]] = None) -> dict:
    """``make`` in the ORFS flow directory for ``design_dir/config.mk``."""
    assert orfs.usable, orfs.why_not()
    work = design_dir / WORK
    work.mkdir(exist_ok=True)
    cmd = ["make", "-C", str(orfs.flow_home), f"DESIGN_CONFIG={(design_dir / CONFIG).absolute()}",
           f"WORK_HOME={work.absolute()}", f"OPENROAD_EXE={orfs.openroad}"]
    if log:
        log(f"running OpenROAD-flow-scripts (log in {design_dir / LOG}); this takes minutes")
    t0 = time.monotonic()
    with open(design_dir / LOG, "w") as f:
        try:
            proc = run_capped(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"OpenROAD-flow-scripts did not finish within {timeout:.0f} s; "
                             f"see {design_dir / LOG}") from None
    if proc.returncode != 0:
        raise ToolFailed(f"OpenROAD-flow-scripts failed (exit {proc.returncode}); "
                         f"see {design_dir / LOG}")
    got = collect_metrics(work)
    return {**got, "summary": summarize(got["metrics"]),
            "seconds": round(time.monotonic() - t0, 1)}
