"""Scoring candidates: exact figures for the designs a search keeps, the screen for a whole
population, objectives, constraints and the Pareto front.

Every exact evaluation is a :class:`Record` (what ``search.log`` holds, one JSON line
each). A record is feasible when its config is valid, every layer runs on it, and it
meets the constraints (area, power, frames per second); infeasible records carry the
reason and how far they miss (``violation``), and rank behind every feasible one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..config import config_dict
from ..lib.errors import WorkloadError
from .fast import population_columns, runs_columns, screen_columns
from .space import Space
from .workload import Workload, exact

#: Objectives (lower is better after :func:`objective_value`).
OBJECTIVES = ("latency", "energy", "edp", "area", "throughput_per_area")
#: What each objective needs from the cost model.
NEEDS_COST = {"energy", "edp", "area", "throughput_per_area"}


@dataclass
class Target:
    """Where the designs are meant to go: a standard-cell library at a clock period
    (``pdk:osu018@10``) or an FPGA board (``board:ulx3s-85f``)."""
    kind: str                 # "pdk" or "board"
    name: str
    clock_ns: Optional[float] = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f"@{self.clock_ns:g}" if self.clock_ns else "")


@dataclass
class Constraints:
    max_area_um2: Optional[float] = None
    max_power_mw: Optional[float] = None
    min_fps: Optional[float] = None


@dataclass
class Record:
    cand: tuple
    name: str
    feasible: bool
    why: str = ""
    violation: float = 0.0
    metrics: dict = field(default_factory=dict)
    objective: float = math.inf
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {"cand": list(self.cand), "name": self.name, "feasible": self.feasible,
                "why": self.why, "violation": self.violation, "objective": self.objective,
                "metrics": self.metrics, "seconds": round(self.seconds, 4)}

    @classmethod
    def from_json(cls, d: dict) -> "Record":
        return cls(tuple(d["cand"]), d["name"], d["feasible"], d.get("why", ""),
                   d.get("violation", 0.0), d.get("metrics", {}), d.get("objective", math.inf),
                   d.get("seconds", 0.0))

    def rank_key(self) -> tuple:
        """Feasible first, by objective; infeasible by how far they miss."""
        return (0, self.objective, self.name) if self.feasible else (1, self.violation, self.name)


def objective_value(objective: str, m: dict) -> float:
    """The objective to minimise from a record's metrics."""
    if objective == "latency":
        return m["latency_s"]
    if objective == "energy":
        return m["energy_uj"]
    if objective == "edp":
        return m["energy_uj"] * m["latency_s"]
    if objective == "area":
        return m["area_um2"]
    if objective == "throughput_per_area":
        return -m["macs"] / m["latency_s"] / m["area_um2"]
    raise ValueError(objective)


class Evaluator:
    """Exact evaluation (cached by candidate) and the population screen for one space,
    workload, target, objective and constraints. ``cost`` prices a config and the
    workload's activity (area, power, energy, clock, FPGA resources), None when no cost
    model is available (then only ``latency`` at the target clock is an objective)."""

    def __init__(self, space: Space, workload: Workload, target: Target, objective: str,
                 constraints: Constraints = Constraints(), cost=None):
        self.space, self.workload, self.target = space, workload, target
        self.objective, self.constraints, self.cost = objective, constraints, cost
        self.cache: dict = {}
        self.seen: set = set()
        self.exact_seconds = 0.0
        self.screened = 0
        self.screen_seconds = 0.0

    # ---- exact -----------------------------------------------------------------------
    def clock_ns(self, metrics: dict) -> float:
        """The clock a design runs at: the target's period, or slower when the cost
        model says it cannot make it."""
        period = self.target.clock_ns or 10.0
        fmax = metrics.get("fmax_mhz")
        return max(period, 1000.0 / fmax) if fmax else period

    def evaluate(self, cand) -> Record:
        cand = tuple(int(i) for i in cand)
        if cand in self.cache:
            return self.cache[cand]
        t0 = time.perf_counter()
        name = self.space.name(cand)
        cfg = self.space.config(cand)
        if cfg is None:
            rec = Record(cand, name, False, "not a valid config", violation=math.inf)
        else:
            try:
                fig = exact(cfg, self.workload)
            except WorkloadError as e:
                rec = Record(cand, name, False, f"workload does not run: {e}",
                             violation=math.inf)
            else:
                rec = self._score(cand, name, cfg, fig)
        rec.seconds = time.perf_counter() - t0
        self.exact_seconds += rec.seconds
        self.cache[cand] = rec
        return rec

    def _score(self, cand, name, cfg, fig) -> Record:
        m = {"cycles": fig["cycles"], "macs": fig["macs"], "host_beats": fig["host_beats"],
             "compute_cycles": fig["compute_cycles"],
             "utilization": round(fig["macs"] / (cfg.array.pes * fig["cycles"]), 6),
             "pes": cfg.array.pes, "memories": self.space.value(cand, "memories")}
        if self.cost is not None:
            m.update(self.cost.price(cfg, fig, self.target, m["memories"]))
        period = self.clock_ns(m)
        m["clock_ns"] = period
        m["latency_s"] = fig["cycles"] * period * 1e-9
        if "power_mw" in m and "energy_uj" not in m:
            m["energy_uj"] = m["power_mw"] * m["latency_s"] * 1e3
        viol, why = 0.0, []
        c = self.constraints
        if c.max_area_um2 is not None and "area_um2" in m and m["area_um2"] > c.max_area_um2:
            viol += m["area_um2"] / c.max_area_um2 - 1
            why.append(f"area {m['area_um2']:.4g} um2 > {c.max_area_um2:.4g}")
        if c.max_power_mw is not None and "power_mw" in m and m["power_mw"] > c.max_power_mw:
            viol += m["power_mw"] / c.max_power_mw - 1
            why.append(f"power {m['power_mw']:.4g} mW > {c.max_power_mw:.4g}")
        fps = self.workload.images / m["latency_s"]
        m["fps"] = fps
        if c.min_fps is not None and fps < c.min_fps:
            viol += c.min_fps / fps - 1
            why.append(f"{fps:.4g} frames/s < {c.min_fps:.4g}")
        if m.get("fits") is False:
            viol += 1 + m.get("overflow", 0.0)
            why.append(f"does not fit {self.target.name}: {m.get('overflow_what', '')}".strip())
        rec = Record(cand, name, not why, "; ".join(why), viol, m)
        rec.objective = objective_value(self.objective, m)
        return rec

    def config_dict(self, cand) -> dict:
        return config_dict(self.space.config(cand))

    # ---- screen ------------------------------------------------------------------------
    def screen(self, pop: np.ndarray) -> np.ndarray:
        """An approximate objective (lower is better) for every candidate of ``pop``:
        the fast cycle model, priced by the cost model when there is one; inf for a
        candidate that breaks a constraint or that a layer cannot run on."""
        t0 = time.perf_counter()
        in_bits = int(self.space.dims[self.space.index["precision.in_bits"]].values[0])
        layers = self.workload.layers(in_bits)
        col = population_columns(self.space, pop)
        cycles = screen_columns(col, layers).astype(np.float64)
        fits = runs_columns(col, layers)
        score = cycles * (self.target.clock_ns or 10.0) * 1e-9
        if self.cost is not None and hasattr(self.cost, "price_batch"):
            priced = self.cost.price_batch(col, cycles, self.workload, self.target)
            latency = cycles * np.maximum(self.target.clock_ns or 10.0,
                                          1000.0 / priced["fmax_mhz"]) * 1e-9
            if self.objective == "latency":
                score = latency
            elif self.objective == "energy":
                score = priced["power_mw"] * latency
            elif self.objective == "edp":
                score = priced["power_mw"] * latency * latency
            elif self.objective == "area":
                score = priced["area_um2"]
            else:
                score = -1.0 / (latency * priced["area_um2"])
            c = self.constraints
            pen = np.zeros(len(pop))
            if c.max_area_um2 is not None:
                pen += np.maximum(0, priced["area_um2"] / c.max_area_um2 - 1)
            if c.max_power_mw is not None:
                pen += np.maximum(0, priced["power_mw"] / c.max_power_mw - 1)
            if "fits" in priced:   # a board: designs that do not fit it
                pen += np.where(priced["fits"], 0.0, 1.0 + priced.get("overflow", 0.0))
            score = np.where(pen > 0, np.inf, score)
        score = np.where(fits, score, np.inf)      # a layer that cannot run on it
        self.screened += len(pop)
        self.screen_seconds += time.perf_counter() - t0
        return score


def pareto(records: list, keys: tuple) -> list:
    """The feasible records no other feasible record beats in every one of ``keys``
    (metrics to minimise; a key absent from the records is skipped)."""
    feas = [r for r in records if r.feasible]
    keys = tuple(k for k in keys if feas and all(k in r.metrics for r in feas))
    if not feas or not keys:
        return sorted(feas, key=Record.rank_key)[:1]
    pts = np.array([[r.metrics[k] for k in keys] for r in feas], dtype=np.float64)
    keep = []
    for i, p in enumerate(pts):
        dominated = np.any(np.all(pts <= p, axis=1) & np.any(pts < p, axis=1))
        if not dominated:
            keep.append(feas[i])
    uniq = {}
    for r in keep:
        uniq.setdefault(r.name, r)
    return sorted(uniq.values(), key=Record.rank_key)


ProgressFn = Callable[[str], None]
