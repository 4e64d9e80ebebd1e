"""The cost model on scale-out designs: P pods of one array behind two interconnects, or
sub-accelerators side by side (docs/cost_model.md, "Scale-out").

Every pod or engine is priced by the single-array model (:func:`hwgen.models.cost.estimate`)
as the design it is (``cfg.pod``, ``cfg.engines``); a multi-pod design adds its two
interconnects (the operand network, ``DIN_BITS`` wide, and the result network,
``DOUT_BITS``), priced by a small term fitted on the measured syntheses of the
interconnects alone (32-bit words, 4 to 64 ports: ``benchmarks/results/scaleout.json``,
part ``asic``) and scaled by the networks' widths. The fit and where it came from are in
``cost_data/interconnect-<pdk>.json`` (``benchmarks/scaleout_cost.py --fit`` writes it).

Energy: the single-array model's energy is linear in the workload's counts at a given
cycle count, so the pods' energies (each pod clocked for the whole run, each with its
share of the counts) add up to P times one pod's at the design's cycles with a P-th of
the counts. The interconnects' switching energy is left out (no measured power of an
interconnect to fit it on); their leakage is counted at the single-array model's
leakage per area.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..lib.scaleout import interconnect_problem
from . import cost

#: The interconnects' area and clock terms per kind: features of the port count P.
NET_TERMS = {"butterfly": ("p_log_p", "p"), "crossbar": ("p2", "p"), "bus": ("p", "p_log_p")}
DELAY_TERMS = ("const", "log_p", "p")


def net_features(names, P: float) -> np.ndarray:
    lg = math.log2(P)
    f = {"p": P, "p_log_p": P * lg, "p2": P * P, "const": 1.0, "log_p": lg}
    return np.array([f[n] for n in names], dtype=np.float64)


def interconnect_path(pdk: str) -> Path:
    return cost.DATA_DIR / f"interconnect-{pdk}.json"


def load_interconnect(pdk: str, path: Path | None = None) -> dict:
    p = Path(path) if path else interconnect_path(pdk)
    if not p.is_file():
        raise cost.CostModelError(f"no interconnect coefficients for PDK {pdk}: fit them "
                                  "with benchmarks/scaleout_cost.py --fit on measured "
                                  "interconnect syntheses")
    with open(p) as f:
        return json.load(f)


def fit_interconnect(rows: list[dict], source: str) -> dict:
    """Area (um^2 per bit of word) and clock period (ns) of every interconnect kind from
    measured rows (``ports``, ``interconnect``, ``area_mm2``, ``fmax_mhz``) of
    ``width`` -bit words; relative least squares, non-negative area terms."""
    width = rows[0]["width_bits"]
    out = {"format": 1, "source": source, "width_bits": width, "area": {}, "period_ns": {},
           "ports": [min(r["ports"] for r in rows), max(r["ports"] for r in rows)]}
    for kind, terms in NET_TERMS.items():
        rs = sorted((r for r in rows if r["interconnect"] == kind), key=lambda r: r["ports"])
        X = np.stack([net_features(terms, r["ports"]) for r in rs])
        y = np.array([r["area_mm2"] * 1e6 / width for r in rs])
        coef = cost._nnls(X / y[:, None], np.ones(len(y)))
        pred = X @ coef
        out["area"][kind] = {
            "features": list(terms), "coef": [float(c) for c in coef],
            "fit": {"ports": [r["ports"] for r in rs],
                    "worst_abs_rel": round(float(np.max(np.abs(pred - y) / y)), 4)}}
        Xd = np.stack([net_features(DELAY_TERMS, r["ports"]) for r in rs])
        yd = np.array([1000.0 / r["fmax_mhz"] for r in rs])
        cd = cost._nnls(Xd / yd[:, None], np.ones(len(yd)))
        pd = Xd @ cd
        out["period_ns"][kind] = {
            "features": list(DELAY_TERMS), "coef": [float(c) for c in cd],
            "fit": {"worst_abs_rel": round(float(np.max(np.abs(pd - yd) / yd)), 4)}}
    return out


def interconnect_cost(net: dict, kind: str, P: int, widths) -> tuple[float, float, list]:
    """(area um^2, fmax MHz, warnings) of the interconnects of ``widths`` bits each."""
    warn = []
    lo, hi = net["ports"]
    if not lo <= P <= hi:
        warn.append(f"pods.count: {P} pods; the interconnect term was measured on "
                    f"{lo} to {hi} ports")
    a = net["area"][kind]
    per_bit = float(net_features(a["features"], P) @ np.array(a["coef"]))
    d = net["period_ns"][kind]
    period = float(net_features(d["features"], P) @ np.array(d["coef"]))
    return per_bit * sum(widths), 1000.0 / max(period, 1e-3), warn


def units_of(cfg) -> list[tuple[str, object, int]]:
    """(name, single-array design, how many) of a scale-out design's parts."""
    if cfg.pods is not None:
        return [("pod", cfg.pod, cfg.pods.count)]
    return [(name, e, 1) for name, e in cfg.engines]


def estimate(cfg, coef, activities: dict | None = None, clock_ns=None,
             memories: str = "flops", strict: bool = False, net: dict | None = None,
             macs: int | None = None) -> cost.Estimate:
    """The cost of a multi-pod or heterogeneous design: ``activities`` maps every unit's
    name (:func:`units_of`) to its counts over the whole workload (all its pods
    together), with ``cycles`` the design's; None: area and clock only. ``macs``: the
    workload's useful multiply-accumulates, for the energy per MAC (default: the
    counts')."""
    units = units_of(cfg)
    warn, figs = [], {}
    for name, ucfg, n in units:
        act = None
        if activities is not None:
            act = dict(activities[name])
            act = {k: (v if k == "cycles" else v / n) for k, v in act.items()}
        est = cost.estimate(ucfg, coef, act, clock_ns=clock_ns, memories=memories,
                            strict=strict)
        warn += [w for w in est.warnings if w not in warn]
        figs[name] = (est.figures, n)
    asic = coef.kind == "asic"
    out = {"units": {name: {"count": n, **({"area_um2": f["area_um2"]} if asic else
                                           {k: f[k] for k in ("luts", "ffs", "dsps",
                                                              "brams")}),
                            "fmax_mhz": f["fmax_mhz"]} for name, (f, n) in figs.items()}}
    fmax = min(f["fmax_mhz"] for f, _ in figs.values())
    if not asic:
        tot = {k: sum(f[k] * n for f, n in figs.values()) for k in ("luts", "ffs", "dsps",
                                                                    "brams")}
        cap = coef.model["capacity"][coef.board]
        over = [{"resource": r, "needed": tot[k], "available": cap[r],
                 "over_by": tot[k] - cap[r]}
                for r, k in (("LUT", "luts"), ("FF", "ffs"), ("BRAM", "brams"),
                             ("DSP", "dsps")) if tot[k] > cap[r]]
        out.update(tot, fmax_mhz=fmax, fits=not over, overflow=over)
        if cfg.pods is not None and cfg.pods.count > 1:
            out["cost_not_modelled"] = ["interconnect"]
            warn.append("pods: the interconnects' LUTs and FFs are not in the FPGA model "
                        "(no measured FPGA interconnect to fit them on)")
        return _done(out, warn, strict)
    blocks: dict = {}
    for f, n in figs.values():
        for b, a in f["area_by_block_um2"].items():
            blocks[b] = blocks.get(b, 0.0) + a * n
    area = sum(f["area_um2"] * n for f, n in figs.values())
    net_area = 0.0
    if cfg.pods is not None and cfg.pods.count > 1:
        kind, P = cfg.pods.interconnect.value, cfg.pods.count
        why = interconnect_problem(kind, P)
        if why:
            raise cost.CostModelError(f"pods: {why}")
        p = cfg.pod.params()
        widths = (p["DIN_BITS"], p["DOUT_BITS"])
        net = net if net is not None else load_interconnect(coef.target)
        net_area, net_fmax, w = interconnect_cost(net, kind, P, widths)
        warn += w
        blocks["interconnect"] = net_area
        area += net_area
        fmax = min(fmax, net_fmax)
        out["interconnect_cost"] = {"kind": kind, "ports": P, "widths_bits": list(widths),
                               "area_um2": round(net_area, 1),
                               "fmax_mhz": round(net_fmax, 2), "source": net["source"]}
    out.update(area_um2=round(area, 1),
               area_by_block_um2={b: round(a, 1) for b, a in blocks.items()},
               fmax_mhz=round(fmax, 2))
    if activities is not None:
        cycles = float(next(iter(activities.values()))["cycles"])
        split: dict = {}
        for f, n in figs.values():
            for k, v in f["energy_split_uj"].items():
                split[k] = split.get(k, 0.0) + v * n
        seconds = cycles * clock_ns * 1e-9
        net_leak = coef.model["leakage_mw_per_um2"] * net_area
        split["leakage"] = split.get("leakage", 0.0) + net_leak * 1e-3 * seconds * 1e6
        energy = sum(split.values())
        if macs is None:
            macs = sum(float(a["macs"]) for a in activities.values())
        out.update(clock_ns=clock_ns,
                   power_mw=round(energy / max(seconds, 1e-30) * 1e-3, 4),
                   leakage_mw=cost._num(sum(f["leakage_mw"] * n for f, n in figs.values())
                                        + net_leak),
                   energy_uj=cost._num(energy, 9),
                   pj_per_mac=cost._num(energy * 1e6 / macs) if macs else None,
                   energy_split_uj={k: cost._num(v, 9) for k, v in split.items()})
        if net_area:
            out["energy_not_modelled"] = ["interconnect switching"]
    return _done(out, warn, strict)


def _done(out: dict, warn: list, strict: bool) -> cost.Estimate:
    if strict and warn:
        raise cost.CostModelError(warn[0] + " (--strict)")
    return cost.Estimate(out, warn)


def compare_measured(cfg, coef, row: dict, memories: str = "macro",
                     net: dict | None = None) -> dict:
    """The model's area and clock beside one measured ``hwgen asic`` run of a scale-out
    design (a row of ``benchmarks/results/scaleout_flows.json``, part ``asic``):
    quantity -> (model, measured, relative error)."""
    est = estimate(cfg, coef, None, memories=memories, net=net).figures
    units = row["units_mm2"]
    out = {"area_mm2": (est["area_um2"] * 1e-6, row["area_mm2"])}
    if cfg.pods is not None:
        pods = [v for k, v in units.items() if k.startswith("pod")]
        out["per_pod_mm2"] = (est["units"]["pod"]["area_um2"] * 1e-6, sum(pods) / len(pods))
        out["interconnect_mm2"] = (est["area_by_block_um2"].get("interconnect", 0.0) * 1e-6,
                                   units["interconnect"])
    else:
        for name, _, _ in units_of(cfg):
            key = next(k for k in units if k.startswith("engine") and
                       k.endswith("_" + name))
            out[f"engine_{name}_mm2"] = (est["units"][name]["area_um2"] * 1e-6, units[key])
    out["fmax_mhz"] = (est["fmax_mhz"], row["fmax_mhz"])
    return {k: (round(m, 4), v, round((m - v) / v, 4)) for k, (m, v) in out.items()}
