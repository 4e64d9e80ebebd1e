"""Calibration of the cost model (:mod:`hwgen.models.cost`) against hwgen's own flows.

``hwgen calibrate --pdk P | --board B`` runs the real flows -- :func:`asic_flow.run`
with per-net activity of a GEMM, or :func:`fpga.build` -- on a designed set of configs
(:data:`ASIC_POINTS`, :data:`FPGA_POINTS`), keeps every measured point, refits the
model's coefficients on the points marked ``fit`` and measures the error on the points
marked ``holdout`` (never used in the fit). Everything goes into one JSON file per target
(:func:`hwgen.models.cost.data_path`): the points with their configs, flow options,
tool versions and run times; the coefficients; which points fixed each coefficient group
and how well; the held-out errors.

The measured points are a cache: a point whose config, flow options and tools are the
same as a stored one is not run again (``rerun=True`` runs it anyway), and the file is
written after every point, so an interrupted calibration loses at most the point that
was running. The flows are slow (minutes per point; see docs/cost_model.md), so points
run in ``jobs`` worker processes under ``nice``.

The point sets are designed, not random: a base design per target, one-factor changes
of every parameter the model has a term for (array shape, rectangular arrays, dataflow,
operand and accumulator widths, requantizer width, buffer depth and banks, beat width,
the three feature flags), a few corners that change several at once, and a held-out set
that mixes values inside the fitted ranges in combinations the fit never saw.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Optional

from .config import config_dict, config_from_dict, config_hash
from .lib.errors import BadInput
from .models import cost

#: Clock period of the ASIC calibration runs (the model's fmax does not depend on it as
#: long as the target is looser than the critical path; see docs/cost_model.md).
ASIC_CLOCK_NS = 10.0
#: Operand seed of the ASIC workloads.
SEED = 1


@dataclass(frozen=True)
class Point:
    """One design of a calibration set.

    ``role`` is ``fit`` (used to fit the coefficients) or ``holdout`` (only to measure
    the error). ``workload`` is the GEMM (M, K, N) whose activity the ASIC run measures
    power at; ``board`` overrides the target's default board (FPGA sets that cover two
    boards of one device family, e.g. a DSP overflow on the smaller device)."""
    name: str
    role: str
    config: dict
    workload: tuple = (8, 8, 8)
    board: Optional[str] = None
    memories: str = "flops"   #: ASIC: the buffers as flip-flops or modelled SRAM macros

    @property
    def gemm(self) -> str:
        return "gemm:{}x{}x{}".format(*self.workload)


def design(name: str, role: str, R: int, C: int, df: str = "os", bits: int = 8, *,
           max_k: int = 64, mult: int = 8, out: int = 8, depth=16, banks=2, beat: int = 2,
           features=(True, True, True), workload=None, board=None,
           memories: str = "flops") -> Point:
    """A point from the parameters the model knows (``depth`` and ``banks`` are one value
    for all three buffers or a (input, weight, acc) tuple)."""
    depth = depth if isinstance(depth, tuple) else (depth,) * 3
    banks = banks if isinstance(banks, tuple) else (banks,) * 3
    cfg = {
        "name": name,
        "array": {"rows": R, "cols": C,
                  "dataflow": {"os": "output_stationary", "ws": "weight_stationary"}[df]},
        "precision": {"in_bits": bits, "out_bits": out, "max_k": max_k, "mult_bits": mult},
        "buffers": {b: {"depth": d, "banks": n}
                    for b, d, n in zip(("input", "weight", "acc"), depth, banks)},
        "host": {"beat_elems": beat},
        "features": dict(zip(("im2col", "preload", "lane_quant"), features)),
    }
    config_from_dict(cfg, source=name)  # a bad design fails here, not after an hour
    return Point(name, role, cfg, workload or (4 * R, 16, 2 * C), board, memories)


NONE = (False, False, False)

#: OSU standard cells, flip-flop buffers, 10 ns, power at a GEMM's per-net activity.
ASIC_POINTS = [
    design("a01_2x2_os8", "fit", 2, 2, "os", 8),
    design("a02_2x2_ws8", "fit", 2, 2, "ws", 8),
    design("a03_4x4_os8", "fit", 4, 4, "os", 8, beat=4),
    design("a04_4x4_ws8", "fit", 4, 4, "ws", 8, workload=(8, 32, 8)),
    design("a05_2x4_os8", "fit", 2, 4, "os", 8, workload=(8, 32, 8)),
    design("a06_4x2_ws8", "fit", 4, 2, "ws", 8, beat=4),
    design("a07_1x1_os8", "fit", 1, 1, "os", 8, depth=8, beat=1, workload=(4, 8, 4)),
    design("a08_3x3_ws4", "fit", 3, 3, "ws", 4, beat=3, workload=(12, 24, 6)),
    design("a09_2x2_os4", "fit", 2, 2, "os", 4),
    design("a10_2x2_ws16", "fit", 2, 2, "ws", 16, workload=(8, 8, 8)),
    design("a11_3x2_os12", "fit", 3, 2, "os", 12, workload=(6, 32, 4)),
    design("a12_4x4_os4", "fit", 4, 4, "os", 4, depth=32, workload=(16, 32, 8)),
    design("a13_4x4_ws12", "fit", 4, 4, "ws", 12),
    design("a14_2x2_os8_d64", "fit", 2, 2, "os", 8, depth=64, workload=(8, 64, 8)),
    design("a15_2x2_ws8_b1", "fit", 2, 2, "ws", 8, depth=32, banks=1),
    design("a16_2x2_os8_nofeat", "fit", 2, 2, "os", 8, features=NONE),
    design("a17_4x4_ws8_nofeat", "fit", 4, 4, "ws", 8, features=NONE),
    design("a18_2x2_os8_noim2col", "fit", 2, 2, "os", 8, features=(False, True, True)),
    design("a19_2x2_ws8_nopreload", "fit", 2, 2, "ws", 8, features=(True, False, True)),
    design("a20_2x2_os8_nolanequant", "fit", 2, 2, "os", 8, features=(True, True, False)),
    design("a21_6x6_os8", "fit", 6, 6, "os", 8, beat=6, workload=(12, 16, 12)),
    design("a22_6x6_ws4", "fit", 6, 6, "ws", 4, workload=(24, 16, 12)),
    design("a23_8x4_os8", "fit", 8, 4, "os", 8, beat=4, workload=(16, 16, 8)),
    design("a24_2x2_os8_acc31", "fit", 2, 2, "os", 8, max_k=4096, mult=16),
    design("a25_3x3_os8_out16", "fit", 3, 3, "os", 8, mult=16, out=16, beat=3),
    design("a26_4x4_os8_mixed", "fit", 4, 4, "os", 8, depth=(32, 16, 8), banks=(2, 1, 2)),
    design("a27_5x3_ws6", "fit", 5, 3, "ws", 6, depth=24, beat=1, workload=(10, 20, 6)),
    design("a28_8x8_ws8", "fit", 8, 8, "ws", 8, beat=4, workload=(16, 16, 16)),
    # held out: combinations the fit never saw, inside its ranges
    design("h01_3x3_os8", "holdout", 3, 3, "os", 8, beat=3),
    design("h02_4x4_ws6", "holdout", 4, 4, "ws", 6, workload=(16, 24, 8)),
    design("h03_5x5_os8_part", "holdout", 5, 5, "os", 8, beat=5, features=(False, True, True)),
    design("h04_2x3_ws10_b1", "holdout", 2, 3, "ws", 10, depth=32, banks=1, max_k=256),
    design("h05_6x4_ws8", "holdout", 6, 4, "ws", 8, beat=4, max_k=256, mult=16),
    design("h06_4x6_os4", "holdout", 4, 6, "os", 4, beat=6, workload=(16, 16, 12)),
    design("h07_7x7_os8", "holdout", 7, 7, "os", 8, beat=7, workload=(14, 16, 14)),
    # buffers as modelled SRAM macros (--memories macro): the logic around the macros,
    # the paths out of them, the macros' share of the power
    design("m01_2x2_os8_macro", "fit", 2, 2, "os", 8, depth=64, memories="macro",
           workload=(8, 64, 8)),
    design("m02_4x4_ws8_macro", "fit", 4, 4, "ws", 8, depth=128, memories="macro",
           workload=(32, 32, 16)),
    design("m03_3x2_os4_macro", "fit", 3, 2, "os", 4, depth=32, banks=1, beat=1,
           memories="macro", features=(False, True, True)),
    design("mh1_3x3_ws8_macro", "holdout", 3, 3, "ws", 8, depth=64, beat=3,
           memories="macro", workload=(24, 48, 12)),
]

#: Board top (UART bridge + accelerator) through Yosys and nextpnr at the oscillator.
_F = dict(max_k=256, depth=256)
FPGA_POINTS = {
    "ecp5-6": [
        design("e01_2x2_os8", "fit", 2, 2, "os", 8, **_F, features=NONE),
        design("e02_2x2_ws8", "fit", 2, 2, "ws", 8, **_F, features=NONE),
        design("e03_4x4_os8", "fit", 4, 4, "os", 8, **_F, beat=4),
        design("e04_4x4_ws8", "fit", 4, 4, "ws", 8, **_F, features=NONE),
        design("e05_3x3_os4", "fit", 3, 3, "os", 4, max_k=256, depth=64, beat=3),
        design("e06_2x4_ws8", "fit", 2, 4, "ws", 8, max_k=256, depth=512),
        design("e07_4x2_os12", "fit", 4, 2, "os", 12, **_F, features=NONE),
        design("e08_2x2_os16", "fit", 2, 2, "os", 16, max_k=256, depth=128, mult=16),
        design("e10_6x6_os4", "fit", 6, 6, "os", 4, max_k=256, depth=128, beat=3,
               features=NONE),
        design("e11_2x2_os8_d1024b1", "fit", 2, 2, "os", 8, max_k=256, depth=1024, banks=1),
        design("e12_3x5_ws8", "fit", 3, 5, "ws", 8, **_F, beat=5,
               features=(True, False, False)),
        design("e13_5x3_os8", "fit", 5, 3, "os", 8, max_k=256, depth=64, beat=1,
               features=(False, True, True)),
        design("e14_4x4_os8_d16", "fit", 4, 4, "os", 8, max_k=256, depth=16),
        design("e15_4x4_ws6", "fit", 4, 4, "ws", 6, max_k=256, depth=32),
        design("e16_1x1_os8", "fit", 1, 1, "os", 8, **_F, beat=1, features=NONE),
        design("e18_2x6_os8_acc", "fit", 2, 6, "os", 8, max_k=4096, depth=256, mult=16),
        design("e19_5x5_os8_25f", "fit", 5, 5, "os", 8, **_F, beat=5, features=NONE,
               board="ulx3s-25f"),
        design("e20_2x2_ws8_mixed", "fit", 2, 2, "ws", 8, max_k=256, depth=(512, 64, 128),
               banks=(2, 1, 2)),
        design("eh1_3x3_ws8", "holdout", 3, 3, "ws", 8, **_F, beat=3),
        design("eh2_5x5_ws6", "holdout", 5, 5, "ws", 6, max_k=256, depth=128, beat=5,
               features=NONE),
        design("eh3_4x6_os8", "holdout", 4, 6, "os", 8, max_k=256, depth=512, features=NONE),
        design("eh4_2x3_os10_b1", "holdout", 2, 3, "os", 10, max_k=256, depth=64, banks=1),
        design("eh5_7x5_os8", "holdout", 7, 5, "os", 8, **_F, beat=5, features=NONE),
        design("eh6_6x4_ws8_25f", "holdout", 6, 4, "ws", 8, **_F, beat=4, features=NONE,
               board="ulx3s-25f"),
    ],
    "ice40-up5k": [
        design("i01_2x2_os8", "fit", 2, 2, "os", 8, **_F, features=NONE),
        design("i02_2x2_ws8", "fit", 2, 2, "ws", 8, **_F, features=NONE),
        design("i03_1x1_os8", "fit", 1, 1, "os", 8, **_F, beat=1, features=NONE),
        design("i04_2x1_ws8", "fit", 2, 1, "ws", 8, **_F, beat=1, features=NONE),
        design("i05_1x2_os4", "fit", 1, 2, "os", 4, **_F, features=NONE),
        design("i06_2x2_os4", "fit", 2, 2, "os", 4, max_k=256, depth=128, features=NONE),
        design("i07_3x3_os4", "fit", 3, 3, "os", 4, max_k=256, depth=64, beat=3,
               features=NONE),
        design("i08_2x2_os8_feat", "fit", 2, 2, "os", 8, **_F),
        design("i09_2x2_os8_d512", "fit", 2, 2, "os", 8, max_k=256, depth=512,
               features=NONE),
        design("i10_3x2_ws6", "fit", 3, 2, "ws", 6, max_k=256, depth=64, features=NONE),
        design("i11_2x2_ws8_m16", "fit", 2, 2, "ws", 8, max_k=256, depth=256, mult=16,
               features=NONE),
        design("i12_1x3_ws8", "fit", 1, 3, "ws", 8, **_F, beat=3, features=NONE),
        design("i13_2x3_os4_d32", "fit", 2, 3, "os", 4, max_k=256, depth=32,
               features=NONE),
        design("i14_3x1_os8", "fit", 3, 1, "os", 8, **_F, beat=1,
               features=(False, False, True)),
        design("ih1_2x2_ws6", "holdout", 2, 2, "ws", 6, **_F, features=NONE),
        design("ih2_1x2_ws8_d128", "holdout", 1, 2, "ws", 8, max_k=256, depth=128,
               features=NONE),
        design("ih3_3x3_ws8", "holdout", 3, 3, "ws", 8, **_F, beat=3, features=NONE),
        design("ih4_2x2_os8_lq", "holdout", 2, 2, "os", 8, **_F,
               features=(False, False, True)),
        design("ih5_2x1_os12_d64", "holdout", 2, 1, "os", 12, max_k=256, depth=64,
               beat=1, features=NONE),
    ],
}


# ---- targets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What one coefficient file is calibrated against."""
    name: str        #: e.g. "osu018", "ecp5-6"
    kind: str        #: "asic" or "fpga"
    board: Optional[str] = None   #: the FPGA board the points build for by default
    points: tuple = field(default=())

    def options(self) -> dict:
        """The flow options every point runs with (part of each point's cache key)."""
        if self.kind == "asic":
            return {"pdk": self.name, "clock_ns": ASIC_CLOCK_NS, "memories": "flops",
                    "activity_method": "net", "seed": SEED}
        return {"board": self.board, "seed": 1, "clock": "oscillator", "dsp_fallback": True}


def target_for(pdk: Optional[str] = None, board: Optional[str] = None) -> Target:
    """The calibration target of ``--pdk`` or ``--board``; BadInput for an unknown one."""
    if pdk is not None:
        if pdk not in cost.PDKS:
            raise BadInput(f"unknown PDK {pdk!r} (known: {', '.join(cost.PDKS)})")
        return Target(pdk, "asic", points=tuple(ASIC_POINTS))
    group = cost.board_group(board)
    if group is None:
        raise BadInput(f"unknown board {board!r} (known: "
                       f"{', '.join(sorted(cost.boards_of(cost.BOARD_GROUPS)))})")
    return Target(group, "fpga", board=cost.BOARD_GROUPS[group]["calibrate_on"],
                  points=tuple(points_for(group)))


def points_for(group: str) -> list[Point]:
    """The point set of a board group: its own, else that of a group of the same family
    (ECP5) or of the small iCE40 device (Gowin), built for this group's board."""
    if group in FPGA_POINTS:
        return FPGA_POINTS[group]
    family = cost.BOARD_GROUPS[group]["family"]
    donor = "ecp5-6" if family == "ecp5" else "ice40-up5k"
    return [replace(p, board=None) for p in FPGA_POINTS[donor]]


def point_options(target: Target, point: Point) -> dict:
    """The flow options of one point: the target's, with the point's memories (ASIC)."""
    o = target.options()
    if target.kind == "asic":
        o["memories"] = point.memories
    return o


def point_key(target: Target, point: Point) -> str:
    """Which design a measured point is: its resolved config, the flow options, the
    workload or board. Whether it is still valid is its record's ``rtl_digest`` against
    the current sources' (:func:`hwgen.models.cost.rtl_digest`, :func:`is_current`)."""
    cfg = config_from_dict(point.config, source=point.name)
    blob = json.dumps({"config": config_hash(cfg), "options": point_options(target, point),
                       "workload": point.gemm if target.kind == "asic" else None,
                       "board": point.board or target.board}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def is_current(target: Target, rec: dict) -> bool:
    """Whether a stored record was measured (successfully) on the current sources: the
    hardware generators, the formulas they share and the flow's scripts
    (:data:`hwgen.models.cost.RTL_SOURCES`). A point that is not is run again."""
    return bool(rec.get("measured")) and rec.get("rtl_digest") == cost.rtl_digest(target.kind)


# ---- running one point -------------------------------------------------------------------
def run_asic_point(target: Target, point: Point, work: Path) -> dict:
    """One ``hwgen asic`` run: area per block, timing, power at the workload's per-net
    activity. Returns the measured record's ``measured`` part."""
    from asic_flow import AsicOptions, run
    cfg = config_from_dict(point.config, source=point.name)
    o = point_options(target, point)
    rep = run(cfg, AsicOptions(clock_ns=o["clock_ns"], pdk=o["pdk"], workload=point.gemm,
                               seed=o["seed"], activity_method=o["activity_method"],
                               memories=o["memories"]), work / point.name)
    ps = rep.power_simulated
    cp = rep.timing.critical_path or {}
    return {
        "area_um2": rep.area.area_um2,
        "cells": rep.area.cells,
        "blocks": rep.area.blocks,
        "fmax_mhz": rep.timing.fmax_mhz,
        "timing_met": rep.timing.met,
        "critical_start": str(cp.get("start_register", "-")).split("/")[0],
        "critical_end": str(cp.get("end_register", "-")).split("/")[0],
        "critical_stages": cp.get("stages"),
        "power_default_mw": rep.power.total_mw,
        "power": {"total_mw": ps.total_mw, "internal_mw": ps.internal_mw,
                  "switching_mw": ps.switching_mw, "leakage_mw": ps.leakage_mw,
                  "window_cycles": ps.simulation.get("window_cycles"),
                  "sim_cycles": ps.simulation.get("cycles"),
                  "macro_dynamic_mw": ps.macro.dynamic_mw if ps.macro else None,
                "blocks": {b: {k: v.get(k) for k in ("total_mw", "internal_mw",
                                                       "switching_mw", "leakage_mw",
                                                       "activity", "macro_dynamic_mw")}
                             for b, v in ps.blocks.items()}},
        "tools": rep.tools,
        "seconds": rep.seconds,
    }


_OVER = __import__("re").compile(r"(\w+): needs (\d+), has (\d+)")


def run_fpga_point(target: Target, point: Point, work: Path) -> dict:
    """One ``hwgen fpga`` build: resources, Fmax, or what did not fit."""
    import fpga
    from fpga.report import estimate_from_cells, yosys_cells
    cfg = config_from_dict(point.config, source=point.name)
    board = point.board or target.board
    out = work / point.name
    t0 = time.monotonic()
    try:
        rep = fpga.build(cfg, fpga.FpgaOptions(board=board, seed=1), out)
    except fpga.DoesNotFit as e:
        over = {r: {"needed": int(n), "available": int(h)} for r, n, h in _OVER.findall(str(e))}
        synth = None
        stat = Path(str(out) + ".failed") / "stat.json"
        if stat.is_file():
            fam = fpga.get_board(board).family
            synth = estimate_from_cells(fam, yosys_cells(json.loads(stat.read_text())))
        return {"fits": False, "board": board, "overflow": over, "message": str(e),
                "synth_estimate": synth,
                "multipliers": "logic" if "logic cells" in str(e) else "dsp",
                "seconds": {"total": round(time.monotonic() - t0, 1)}}
    res = {k: v.used for k, v in rep.resources.items()}
    return {"fits": True, "board": board, "luts": res["LUT"], "ffs": res["FF"],
            "brams": res["BRAM"], "dsps": res["DSP"], "multipliers": rep.multipliers,
            "fmax_mhz": next(iter(rep.fmax_mhz.values())) if rep.fmax_mhz else None,
            "timing_met": rep.timing_met, "yosys_cells": rep.yosys_cells,
            "tools": rep.tools, "seconds": rep.seconds}


def _run_one(target: Target, point: Point, work: str, nice: int) -> dict:
    """Worker-process entry: one point, measured (or its failure recorded)."""
    if nice:
        try:
            os.nice(max(0, nice - os.nice(0)))   # up to ``nice``, once per process
        except OSError:
            pass
    t0 = time.monotonic()
    runner = run_asic_point if target.kind == "asic" else run_fpga_point
    try:
        measured = runner(target, point, Path(work))
        error = None
    except Exception as e:  # a failed flow is a result too (recorded, not fitted)
        measured, error = None, f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(Path(work) / point.name, ignore_errors=True)
        shutil.rmtree(Path(work) / f"{point.name}.failed", ignore_errors=True)
    return record(target, point, measured, error, time.monotonic() - t0)


def record(target: Target, point: Point, measured: Optional[dict], error: Optional[str],
           seconds: float) -> dict:
    """A measured point as stored in the data file."""
    cfg = config_from_dict(point.config, source=point.name)
    return {"name": point.name, "role": point.role, "key": point_key(target, point),
            "config": config_dict(cfg), "workload": point.gemm if target.kind == "asic"
            else None, "board": point.board or target.board,
            "options": point_options(target, point),
            "rtl_digest": cost.rtl_digest(target.kind),
            "measured": measured, "error": error, "wall_seconds": round(seconds, 1),
            "measured_on": datetime.date.today().isoformat()}


# ---- the calibration ------------------------------------------------------------------------
Runner = Callable[[Target, Point, str, int], dict]


def select(target: Target, n_points: Optional[int]) -> list[Point]:
    """The first ``n_points`` fit points of the set (the set is ordered so that any
    prefix spans the parameters; None: all) and every held-out point."""
    fit = [p for p in target.points if p.role == "fit"]
    hold = [p for p in target.points if p.role == "holdout"]
    return (fit if n_points is None else fit[:n_points]) + hold


def measure(target: Target, out: Path, *, n_points: Optional[int] = None, jobs: int = 1,
            rerun: bool = False, nice: int = 10, runner: Optional[Runner] = None,
            log: Callable[[str], None] = lambda msg: None,
            points: Optional[list[Point]] = None, run: bool = True) -> tuple[dict, list[dict]]:
    """Run the points of the set that ``out`` does not hold measured yet (all of them
    with ``rerun``), writing ``out`` after each; returns the file's data and the records
    of the selected points (with ``run=False`` nothing runs: the records ``out`` holds
    for the selected points, measured on the current sources).

    ``runner(target, point, work_dir, nice) -> record`` runs one point (default: the
    real flow, in worker processes when ``jobs`` > 1); tests pass a fake one.
    ``points`` replaces the designed set (``n_points`` is then ignored)."""
    todo_points = points if points is not None else select(target, n_points)
    data = cost.read_data(out) if out.is_file() else cost.empty_data(target.name, target.kind)
    stored = {p["key"]: p for p in data.get("points", [])}
    wanted = {point_key(target, p): p for p in todo_points}
    todo = [p for k, p in wanted.items() if rerun or k not in stored
            or not is_current(target, stored[k])]
    todo.sort(key=_size)   # small designs first: an interrupted run has a spread of points
    if not run:
        have = [stored[k] for k in wanted if k in stored and stored[k].get("measured")]
        stale = sum(1 for r in have if not is_current(target, r))
        log(f"{target.name}: {len(have)} of {len(wanted)} points measured ({stale} on "
            "other sources than the current ones); refitting on those, running none")
        return data, [stored[k] for k in wanted if k in stored]
    log(f"{target.name}: {len(wanted)} points ({len(wanted) - len(todo)} measured on the "
        f"current sources, {len(todo)} to run with {jobs} job(s))")

    def keep(rec: dict) -> None:
        stored[rec["key"]] = rec
        data["points"] = sorted(stored.values(), key=lambda p: (p["role"] != "fit", p["name"]))
        out.parent.mkdir(parents=True, exist_ok=True)
        cost.write_data(out, data)

    with tempfile.TemporaryDirectory(prefix="hwgen-calibrate-") as work:
        if runner is not None or jobs <= 1:
            run = runner or _run_one
            for i, p in enumerate(todo):
                log(f"[{i + 1}/{len(todo)}] {p.name}")
                rec = run(target, p, work, nice)
                keep(rec)
                _say(log, rec)
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as ex:
                futs = {ex.submit(_run_one, target, p, work, nice): p for p in todo}
                for i, f in enumerate(as_completed(futs)):
                    rec = f.result()
                    keep(rec)
                    log(f"[{i + 1}/{len(todo)}] {rec['name']}")
                    _say(log, rec)
    return data, [stored[k] for k in wanted]


def _size(p: Point) -> float:
    """A rough cost of a point's flow run: operand bits through the array, storage bits."""
    c = p.config
    R, C, b = c["array"]["rows"], c["array"]["cols"], c["precision"]["in_bits"]
    bufs = sum(v["depth"] * v["banks"] for v in c["buffers"].values())
    return R * C * b * b + (R + C) * bufs * b / 8


def calibrate(target: Target, out: Path, **kw) -> dict:
    """:func:`measure`, then refit the coefficients on the selected ``fit`` points,
    validate them on the ``holdout`` points and write ``out``; returns its data. Points
    of the file that are not in the selection stay in it as data but do not enter the
    fit."""
    data, records = measure(target, out, **kw)
    records = [add_activity(r) for r in records]
    by_key = {r["key"]: r for r in records}
    data["points"] = [by_key.get(p["key"], p) for p in data["points"]]
    data.update(cost.fit(target.kind, target.name, records, options=target.options(),
                         extra=flow_facts(target)))
    data["version"] = int(data.get("version", 0)) + 1
    data["calibrated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    data["options"] = target.options()
    digests = sorted({r.get("rtl_digest") for r in records if r.get("measured")})
    data["rtl_digest"] = digests[0] if len(digests) == 1 else "mixed"
    cost.write_data(out, data)
    return data


def add_activity(rec: dict) -> dict:
    """An ASIC record with the counts of its workload (``activity``) from the cycle
    model, on the mapping the flow's simulation used (:func:`default_mapping`)."""
    if rec.get("workload") is None or not rec.get("measured"):
        return rec
    from .compiler import default_mapping
    from .lib.cliargs import gemm
    from .models.perf import gemm_timing
    cfg = config_from_dict(rec["config"], source=rec["name"])
    M, K, N = gemm(rec["workload"])
    mp = default_mapping(cfg, M, K, N)
    t = gemm_timing(cfg, M, K, N, mp)
    act = cost.timing_activity(cfg, t, [(M, K, N, mp.tile_m, mp.tile_k, mp.tile_n, 1)])
    return {**rec, "activity": act}


def flow_facts(target: Target) -> dict:
    """What the fit takes from the flows as given: the SRAM macro model's numbers
    (asic_flow.macros) or the boards' capacities and block-RAM rules (fpga.boards)."""
    if target.kind == "asic":
        from asic_flow import macros
        return {"macro": {
            "source": macros.SOURCE_NOTE, "scale": macros.SCALE,
            "area_fixed_um2": macros.AREA_FIXED_UM2,
            "area_per_bit_um2": macros.AREA_PER_BIT_UM2,
            "access_fixed_pj": macros.ACCESS_FIXED_PJ,
            "access_per_bit_pj": macros.ACCESS_PER_BIT_PJ, "idle_share": macros.IDLE_SHARE,
            "clk_to_q_ns": round(macros.CLK_TO_Q_NS * macros.SCALE, 4),
            "leak_fixed_uw": macros.LEAK_FIXED_UW, "leak_per_bit_uw": macros.LEAK_PER_BIT_UW}}
    from fpga.boards import BOARDS
    group = cost.BOARD_GROUPS[target.name]
    return {"family": group["family"],
            "capacity": {b: dict(BOARDS[b].capacity) for b in group["boards"]},
            "memory_rules": MEMORY_RULES[group["family"]],
            "dsp_rule": DSP_RULES[group["family"]]}


#: Where Yosys puts a memory on each family (checked against every measured point's
#: block-RAM count): at least ``min_bits`` bits and deeper than ``lutram_depth`` words
#: go to block RAM, the rest to LUT RAM or flip-flops; the UART receive FIFO's depth.
MEMORY_RULES = {"ice40": {"min_bits": 1, "lutram_depth": 0, "uart_fifo": 512},
                "ecp5": {"min_bits": 1, "lutram_depth": 16, "uart_fifo": 512},
                "gowin": {"min_bits": 1, "lutram_depth": 16, "uart_fifo": 512}}


#: How Yosys maps multipliers onto each family's multiplier blocks (synth_ice40 -dsp and
#: synth_lattice run mul2dsp with these widths; Gowin's 18x18 blocks as ECP5's).
DSP_RULES = {"ice40": {"width": 16, "min_width": 2, "min_product": 11},
             "ecp5": {"width": 18, "min_width": 2, "min_product": 0},
             "gowin": {"width": 18, "min_width": 2, "min_product": 0}}


def _say(log, rec: dict) -> None:
    if rec.get("error"):
        log(f"  {rec['name']}: flow failed: {rec['error'][:200]}")
        return
    m = rec["measured"]
    if "area_um2" in m:
        log(f"  {rec['name']}: {m['area_um2']:.0f} um^2, {m['fmax_mhz']} MHz, "
            f"{m['power']['total_mw']:.1f} mW ({rec['wall_seconds']:.0f} s)")
    elif m.get("fits"):
        log(f"  {rec['name']}: LUT {m['luts']} FF {m['ffs']} BRAM {m['brams']} DSP "
            f"{m['dsps']} ({m['multipliers']}), {m['fmax_mhz']} MHz "
            f"({rec['wall_seconds']:.0f} s)")
    else:
        log(f"  {rec['name']}: does not fit: {m['overflow']} ({rec['wall_seconds']:.0f} s)")
