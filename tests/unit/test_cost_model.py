"""The cost model (hwgen.models.cost) and its calibration pipeline (hwgen.calibration),
without running a flow: the batch API against one config at a time, the shipped
coefficients and their provenance, the block-RAM and multiplier rules against every
measured point, the energy split, range checks, and a calibration on three tiny points
with a fake flow runner."""
import json

import numpy as np
import pytest

from hwgen import calibration
from hwgen.compiler import default_mapping
from hwgen.config import config_dict, config_from_dict, load_config
from hwgen.models import cost
from hwgen.models.perf import gemm_timing

# ---- the shipped coefficients -------------------------------------------------------------------
SHIPPED = [("asic", "osu018", dict(pdk="osu018")), ("fpga", "ice40-up5k", dict(board="icebreaker"))]


@pytest.mark.parametrize("kind,target,how", SHIPPED)
def test_shipped_coefficients_load_with_their_provenance(kind, target, how):
    coef = cost.load(**how)
    data = coef.data
    assert data["format"] == cost.FORMAT and data["version"] >= 1 and data["calibrated"]
    names = {p["name"]: p for p in data["points"]}
    fitted = {n for n, p in names.items() if p["role"] == "fit" and p["measured"]}

    def blocks(model):
        for v in model.values():
            if isinstance(v, dict) and "features" in v:
                yield v
            elif isinstance(v, dict):
                yield from blocks(v)

    n = 0
    for blk in blocks(data["model"]):
        n += 1
        assert len(blk["features"]) == len(blk["coef"])
        assert set(blk["fit"]["points"]) <= fitted, "a coefficient fixed by a point not fitted"
        assert all(c >= 0 for c in blk["coef"])
    assert n >= 3
    hold = data["validation"]["holdout"]["points"]
    assert hold and all(names[h["name"]]["role"] == "holdout" for h in hold)
    target_ = calibration.target_for(**how)
    designed = {pt.name: pt for pt in target_.points}
    for p in data["points"]:   # each stored point is the designed one, measured as stated
        assert p["key"] == calibration.point_key(target_, designed[p["name"]])
        assert p["options"] == calibration.point_options(target_, designed[p["name"]])


@pytest.mark.parametrize("group", ["ice40-up5k"])
def test_block_ram_and_multiplier_rules_match_every_build(group):
    coef = cost.load(board=cost.BOARD_GROUPS[group]["calibrate_on"])
    for p in coef.data["points"]:
        m = p["measured"]
        if not m or not m.get("fits"):
            continue
        c = cost.Coefficients(coef.target, "fpga", coef.data, coef.path, board=p["board"])
        pr = cost.cost_batch(cost.params_of(config_from_dict(p["config"])), c)
        assert pr["brams"][0] == m["brams"], p["name"]
        if m["multipliers"] == "dsp":
            assert pr["dsps"][0] == m["dsps"], p["name"]


def _some_params(n, seed=0):
    rng = np.random.default_rng(seed)
    R = rng.integers(1, 9, n)
    C = rng.integers(1, 9, n)
    bits = rng.choice([4, 6, 8, 12], n)
    return {"rows": R, "cols": C, "dataflow": rng.integers(0, 2, n), "in_bits": bits,
            "acc_bits": 2 * bits + 8, "mult_bits": rng.choice([8, 16], n), "out_bits": 8,
            "depth_in": rng.choice([16, 32, 64], n), "depth_w": 64, "depth_acc": 64,
            "banks_in": 2, "banks_w": rng.integers(1, 3, n), "banks_acc": 2,
            "beat": rng.integers(1, 5, n), "im2col": rng.integers(0, 2, n), "preload": 1,
            "lane_quant": rng.integers(0, 2, n)}


@pytest.mark.parametrize("how", [dict(pdk="osu018"), dict(board="icebreaker")])
def test_batch_equals_one_at_a_time(how):
    coef = cost.load(**how)
    p = _some_params(25)
    act = cost.gemm_activity(p, 64, 48, 32) if "pdk" in how else None
    whole = cost.cost_batch(p, coef, act, clock_ns=10.0 if act else None)
    for i in range(25):
        one_p = {k: (v[i] if isinstance(v, np.ndarray) else v) for k, v in p.items()}
        one_a = None if act is None else {k: v[i] for k, v in act.items()}
        one = cost.cost_batch(one_p, coef, one_a, clock_ns=10.0 if act else None)
        for k, v in whole.items():
            assert np.allclose(one[k], v[i], equal_nan=True), (k, i)


def test_energy_split_adds_up():
    coef = cost.load(pdk="osu018")
    p = _some_params(50, seed=2)
    act = cost.gemm_activity(p, 100, 64, 40)
    res = cost.cost_batch(p, coef, act, clock_ns=10.0)
    parts = sum(v for k, v in res.items() if k.startswith("energy_") and k != "energy_uj")
    assert np.allclose(parts, res["energy_uj"])
    seconds = act["cycles"] * 10e-9
    assert np.allclose(res["power_mw"] * 1e-3 * seconds * 1e6, res["energy_uj"])
    assert np.allclose(res["pj_per_mac"], res["energy_uj"] * 1e6 / act["macs"])
    blocks = sum(v for k, v in res.items() if k.startswith("area_") and k != "area_um2")
    assert np.allclose(blocks, res["area_um2"])


def test_estimate_of_one_config_and_its_range_check():
    coef = cost.load(pdk="osu018")
    cfg = load_config("asic2")
    t = gemm_timing(cfg, 8, 8, 8, default_mapping(cfg, 8, 8, 8))
    act = cost.timing_activity(cfg, t, [(8, 8, 8, 8, 8, 8, 1)])
    est = cost.estimate(cfg, coef, act, clock_ns=10.0)
    assert not est.warnings
    f = est.figures
    assert f["area_um2"] > 0 and f["power_mw"] > 0 and f["fmax_mhz"] > 0
    assert set(f["area_by_block_um2"]) == {"pe_array", "input_buffer", "weight_buffer",
                                           "acc_buffer", "controller", "host_interface",
                                           "requantizer", "top_glue"}
    d = config_dict(cfg)
    d["array"].update(rows=32, cols=32)
    for b in d["buffers"].values():
        b["depth"] = 64
    big = config_from_dict(d)
    est = cost.estimate(big, coef, None, clock_ns=10.0)
    assert any(w.startswith("rows = 32 is outside the calibrated range") for w in est.warnings)
    with pytest.raises(cost.CostModelError, match="rows = 32"):
        cost.estimate(big, coef, None, clock_ns=10.0, strict=True)


def test_no_coefficients_names_the_target_and_how_to_calibrate(tmp_path):
    with pytest.raises(cost.NoCoefficients, match=r"PDK osu035: calibrate them with "
                       r"'hwgen calibrate --pdk osu035'"):
        cost.load(pdk="osu035")
    with pytest.raises(cost.NoCoefficients, match="hwgen calibrate --board tangnano9k"):
        cost.load(board="tangnano9k")
    with pytest.raises(cost.NoCoefficients, match="hwgen calibrate --board ulx3s-85f"):
        cost.load(board="ulx3s-25f")
    with pytest.raises(cost.CostModelError, match="unknown board"):
        cost.load(board="nosuchboard")


# ---- the calibration pipeline with a fake flow -------------------------------------------------
def _fake_asic(target, point, work, nice):
    """A made-up but self-consistent ASIC measurement: areas linear in the parameters."""
    cfg = config_from_dict(point.config)
    p = cost.params_of(cfg)
    pes, b, a = p["rows"] * p["cols"], p["in_bits"], p["acc_bits"]
    blocks = {"array": 900.0 * pes * b + 40.0 * pes * a, "engine": 9000.0 + 300.0 * p["rows"],
              "host": 20000.0 + 50.0 * p["cols"] * a * p["mult_bits"], "top": 7000.0}
    for name, w, dep, bk in (("input_buf", p["rows"] * b, p["depth_in"], p["banks_in"]),
                             ("weight_buf", p["cols"] * b, p["depth_w"], p["banks_w"]),
                             ("acc_buf", p["cols"] * a, p["depth_acc"], p["banks_acc"])):
        blocks[name] = 60.0 * w * dep * bk + 500.0
    blk = {k: {"area_um2": v, "sequential_area_um2": 0.4 * v, "cells": int(v / 30)}
           for k, v in blocks.items()}
    power = {k: {"total_mw": 2e-4 * v + 1e-6 * v, "leakage_mw": 1e-6 * v,
                 "internal_mw": 2e-4 * v, "switching_mw": 0.0, "activity": 0.1}
             for k, v in blocks.items()}
    measured = {"area_um2": sum(blocks.values()), "cells": 1, "blocks": blk,
                "fmax_mhz": 1000.0 / (3 + 0.1 * (a + p["mult_bits"])), "timing_met": True,
                "critical_start": "host", "critical_end": "host", "critical_stages": 20,
                "power_default_mw": 1.0,
                "power": {"total_mw": sum(v["total_mw"] for v in power.values()),
                          "leakage_mw": sum(v["leakage_mw"] for v in power.values()),
                          "internal_mw": 0.0, "switching_mw": 0.0, "window_cycles": 100,
                          "sim_cycles": 100, "blocks": power},
                "tools": {"yosys": "fake"}, "seconds": {"synth": 0.1}}
    _fake_asic.calls += 1
    return calibration.record(target, point, measured, None, 0.01)


def test_calibration_pipeline_with_a_fake_flow(tmp_path, monkeypatch):
    target = calibration.target_for(pdk="osu018")
    pts = [calibration.design("t1_2x2", "fit", 2, 2, "os", 8),
           calibration.design("t2_3x2", "fit", 3, 2, "ws", 4, depth=32),
           calibration.design("t3_2x3", "holdout", 2, 3, "os", 6, beat=3)]
    out = tmp_path / "osu018.json"
    _fake_asic.calls = 0
    data = calibration.calibrate(target, out, points=pts, runner=_fake_asic)
    assert _fake_asic.calls == 3
    saved = json.loads(out.read_text())
    assert saved["version"] == 1 and saved["target"] == "osu018" and saved["kind"] == "asic"
    assert {p["name"] for p in saved["points"]} == {"t1_2x2", "t2_3x2", "t3_2x3"}
    assert all(p["activity"]["cycles"] > 0 for p in saved["points"])
    for blk in saved["model"]["area"].values():
        assert set(blk["fit"]["points"]) <= {"t1_2x2", "t2_3x2"}
    assert [p["name"] for p in data["validation"]["holdout"]["points"]] == ["t3_2x3"]
    # measured points are a cache: nothing runs again, the version goes up
    data = calibration.calibrate(target, out, points=pts, runner=_fake_asic)
    assert _fake_asic.calls == 3 and data["version"] == 2
    data = calibration.calibrate(target, out, points=pts[:2] + pts[2:], runner=_fake_asic,
                                 rerun=True)
    assert _fake_asic.calls == 6
    # changed hardware sources: every point runs again, unless --refit (runs none)
    monkeypatch.setattr(cost, "rtl_digest", lambda kind: "changed-sources")
    data = calibration.calibrate(target, out, points=pts, runner=_fake_asic, run=False)
    assert _fake_asic.calls == 6 and data["rtl_digest"] != "changed-sources"
    data = calibration.calibrate(target, out, points=pts, runner=_fake_asic)
    assert _fake_asic.calls == 9 and data["rtl_digest"] == "changed-sources"
    assert len(data["points"]) == 3
    monkeypatch.undo()
    # the file is usable at once
    coef = cost.load(pdk="osu018", path=out)
    cfg = config_from_dict(pts[2].config)
    est = cost.estimate(cfg, coef, None, clock_ns=10.0)
    assert est.figures["area_um2"] > 0
    # a failed flow run is recorded, not fitted
    def failing(target, point, work, nice):
        return calibration.record(target, point, None, "ToolFailed: yosys failed", 0.0)
    with pytest.raises(cost.CostModelError, match="at least 2"):
        calibration.calibrate(target, tmp_path / "none.json", points=pts, runner=failing)


def test_point_sets_are_valid_and_distinct():
    for target in (calibration.target_for(pdk="osu018"),
                   calibration.target_for(board="ulx3s-85f"),
                   calibration.target_for(board="icebreaker")):
        keys = [calibration.point_key(target, p) for p in target.points]
        assert len(set(keys)) == len(keys)
        roles = {p.role for p in target.points}
        assert roles == {"fit", "holdout"}
        assert sum(p.role == "holdout" for p in target.points) >= 5


# ---- the shipped model on its held-out designs ---------------------------------------------------
GOALS = {"area_um2": 0.10, "area_pe_array_um2": 0.10, "fmax_mhz": 0.15, "power_mw": 0.20,
         "power_pe_array_mw": 0.20, "power_buffers_mw": 0.20, "power_host_mw": 0.20,
         "luts": 0.10, "ffs": 0.10}


@pytest.mark.parametrize("how", [dict(pdk="osu018"), dict(board="icebreaker")])
def test_held_out_designs_within_the_goals(how):
    """Recomputed from the measured records (not the file's stored validation): every
    held-out design within the accuracy goals, the energy split's parts (as power over
    the workload) against the flow's per-block power included; block RAMs, DSPs and
    fits exact."""
    coef = cost.load(**how)
    hold = [calibration.add_activity(p) for p in coef.data["points"]
            if p["role"] == "holdout" and p.get("measured")]
    assert len(hold) >= 2
    for rec in hold:
        for q, (pred, meas) in cost.compare(coef, rec).items():
            if q in GOALS:
                assert abs(pred - meas) <= GOALS[q] * abs(meas), (rec["name"], q, pred, meas)
            else:
                assert pred == meas, (rec["name"], q, pred, meas)


def test_input_stationary_priced_as_weight_stationary_with_buffer_widths_exchanged():
    """An input-stationary design is the weight-stationary array and engine whose input
    buffer holds words of C elements and weight buffer words of R: priced with the WS
    terms, its buffers as wide as the exchanged words, and a warning says so."""
    coef = cost.load(pdk="osu018")
    base = config_dict(load_config("tiny"))
    base["array"] = {"rows": 2, "cols": 6, "dataflow": "ws"}
    base["features"] = {"im2col": False}
    ws = config_from_dict(base)
    base["array"]["dataflow"] = "is"
    is_ = config_from_dict(base)
    pw, pi = cost.params_of(ws), cost.params_of(is_)
    assert (pw["dataflow"], pi["dataflow"]) == (1, 2)
    dw, di = cost.derive(pw), cost.derive(pi)
    assert di["ws"][0] == 1 and di["os"][0] == 0
    assert (dw["buf"]["input"]["width"][0], dw["buf"]["weight"]["width"][0]) == (2 * 8, 6 * 8)
    assert (di["buf"]["input"]["width"][0], di["buf"]["weight"]["width"][0]) == (6 * 8, 2 * 8)
    ew, ei = cost.estimate(ws, coef), cost.estimate(is_, coef)
    assert ew.figures["area_by_block_um2"]["pe_array"] == ei.figures["area_by_block_um2"]["pe_array"]
    assert ew.figures["area_by_block_um2"]["input_buffer"] < \
        ei.figures["area_by_block_um2"]["input_buffer"]
    assert any("input_stationary is priced with the weight-stationary terms" in w
               for w in ei.warnings)
    assert not any("input_stationary" in w for w in ew.warnings)
