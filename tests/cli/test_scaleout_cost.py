"""hwgen estimate --pdk / --board on multi-pod and heterogeneous designs: the keys, the
pods' area against one pod's, the interconnect term traced to its measurements, the model
against the recorded hwgen asic runs, and what is refused."""
import json
import shlex
from pathlib import Path

import pytest

from tests.cli.test_scaleout_cli import run
from hwgen.config.loader import load_config
from hwgen.models import cost, cost_scaleout

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
ASIC_KEYS = {"area_um2", "area_by_block_um2", "fmax_mhz", "power_mw", "leakage_mw",
             "energy_uj", "pj_per_mac", "energy_split_uj", "timing_met", "cost_model",
             "units"}
FPGA_KEYS = {"luts", "ffs", "dsps", "brams", "fmax_mhz", "fits", "overflow", "cost_model",
             "units"}
BASE = """precision: {in_bits: 8, out_bits: 8, max_k: 4096}
buffers:
  input:  {depth: 64, banks: 2}
  weight: {depth: 64, banks: 2}
  acc:    {depth: 64, banks: 2}
host: {beat_elems: 2}
"""
ONE = BASE + "array: {rows: 2, cols: 2, dataflow: ws}\n"
PODS = ONE + "pods: {count: %d, interconnect: %s, tiling: sosa}\n"
HET = BASE + """subaccelerators:
  - {name: ws, array: {rows: 2, cols: 4, dataflow: ws}}
  - {name: os, array: {rows: 4, cols: 2, dataflow: os}}
"""
PDK = ("--pdk", "osu018", "--clock-ns", "10")


@pytest.fixture
def configs(tmp_path):
    (tmp_path / "one.yaml").write_text(ONE)
    (tmp_path / "pods4.yaml").write_text(PODS % (4, "butterfly"))
    (tmp_path / "pods8x.yaml").write_text(PODS % (8, "crossbar"))
    (tmp_path / "pods2.yaml").write_text(PODS % (2, "bus"))
    (tmp_path / "het.yaml").write_text(HET)
    return tmp_path


@pytest.mark.parametrize("design", ["pods4", "het"])
@pytest.mark.parametrize("target", [PDK, ("--board", "icebreaker")], ids=["pdk", "board"])
def test_keys_workload(capsys, configs, design, target):
    code, out, _ = run(capsys, "estimate", str(configs / f"{design}.yaml"), "--workload",
                       "gemm:33x40x17", *target, "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    assert (ASIC_KEYS if target == PDK else FPGA_KEYS) <= set(rep)
    if target == PDK:
        assert rep["energy_uj"] > 0 and rep["power_mw"] > 0
        assert rep["area_um2"] == pytest.approx(sum(rep["area_by_block_um2"].values()),
                                                abs=1.0)
    else:
        units = rep["units"].values()
        assert rep["luts"] == sum(u["luts"] * u["count"] for u in units)
        assert rep["fits"] == (rep["overflow"] == [])
    if design == "pods4" and target == PDK:
        assert rep["interconnect_cost"]["widths_bits"] == [16, 56]


@pytest.mark.parametrize("design", ["pods4", "het"])
def test_keys_model(capsys, configs, design):
    code, out, _ = run(capsys, "estimate", str(configs / f"{design}.yaml"), "--model",
                       "digits_cnn", "--input-shape", "1x1x8x8", *PDK, "--json", "-q")
    assert code == 0
    rep = json.loads(out)
    assert ASIC_KEYS <= set(rep)
    assert rep["pj_per_mac"] == pytest.approx(rep["energy_uj"] * 1e6 / rep["macs"], rel=1e-4)


@pytest.mark.parametrize("name,pods", [("pods4", 4), ("pods8x", 8), ("pods2", 2)])
def test_pods_area_at_least_p_pods(capsys, configs, name, pods):
    code, out, _ = run(capsys, "estimate", str(configs / "one.yaml"), "--workload",
                       "gemm:16x16x16", *PDK, "--json", "-q")
    one = json.loads(out)
    code2, out, _ = run(capsys, "estimate", str(configs / f"{name}.yaml"), "--workload",
                        "gemm:16x16x16", *PDK, "--json", "-q")
    rep = json.loads(out)
    assert code == code2 == 0
    net = rep["area_by_block_um2"]["interconnect"]
    assert net > 0
    assert rep["area_um2"] >= pods * one["area_um2"]
    assert rep["area_um2"] == pytest.approx(pods * one["area_um2"] + net, abs=2.0)
    assert rep["fmax_mhz"] <= one["fmax_mhz"]


def _measured_interconnects() -> list:
    with open(RESULTS / "scaleout.json") as f:
        return json.load(f)["results"]["asic"]


def test_interconnect_term_traces_to_its_measurements():
    """The shipped term is the fit of the recorded syntheses (refitting them gives it
    again), and it reproduces every one of them within 10%."""
    rows = _measured_interconnects()
    net = cost_scaleout.load_interconnect("osu018")
    again = cost_scaleout.fit_interconnect([{**r, "width_bits": net["width_bits"]}
                                            for r in rows], net["source"])
    assert again == net
    assert "benchmarks/results/scaleout.json" in net["source"]
    for r in rows:
        area, fmax, warn = cost_scaleout.interconnect_cost(
            net, r["interconnect"], r["ports"], [net["width_bits"]])
        assert area == pytest.approx(r["area_mm2"] * 1e6, rel=0.10), r
        assert fmax == pytest.approx(r["fmax_mhz"], rel=0.10), r
        assert warn == []


def test_model_against_recorded_asic_runs():
    """Every scale-out design measured through hwgen asic (the recorded file): area
    in total, per pod or engine and of the interconnect within 15%, the clock within
    30% (the model's period is the single array's slowest fitted path)."""
    with open(RESULTS / "scaleout_flows.json") as f:
        rows = json.load(f)["results"]["asic"]
    assert rows
    coef = cost.load(pdk="osu018")
    for row in rows:
        argv = shlex.split(row["command"])
        cfg = load_config(str(ROOT / argv[2]))
        c = cost_scaleout.compare_measured(cfg, coef, row,
                                           argv[argv.index("--memories") + 1])
        assert c["area_mm2"][1] == row["area_mm2"]
        for q, (model, measured, err) in c.items():
            assert model > 0 and err == pytest.approx((model - measured) / measured, abs=1e-3)
            assert abs(err) < (0.30 if q == "fmax_mhz" else 0.15), (row["design"], q, err)


def test_outside_measured_pods_warns_or_refuses(capsys, configs):
    argv = ("estimate", str(configs / "pods2.yaml"), "--workload", "gemm:8x8x8", *PDK, "-q")
    code, _, err = run(capsys, *argv)
    assert code == 0
    assert len(err.splitlines()) == 1 and "pods.count: 2 pods; the interconnect term was " \
        "measured on 4 to 64 ports" in err
    code, out, err = run(capsys, *argv, "--strict")
    assert code == 2 and out == ""
    assert err == ("hwgen: pods.count: 2 pods; the interconnect term was measured on 4 to "
                   "64 ports (--strict)\n")


def test_bad_coefficients_file_one_line(capsys, configs):
    code, out, err = run(capsys, "estimate", str(configs / "pods4.yaml"), "--workload",
                         "gemm:8x8x8", *PDK, "--coefficients", str(configs / "pods4.yaml"))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "not a cost-model data file" in err


def test_pods_counts_are_the_slices(configs):
    """A network on the pods is counted slice by slice: the same multiply-accumulates
    as the network on one pod, and at least its operand beats (a grid cut streams the
    rows or columns a slice shares to every pod that needs them)."""
    import types

    from hwgen import cli
    from hwgen.compiler.network import plan_network
    cfg = load_config(str(configs / "pods4.yaml"))
    args = types.SimpleNamespace(model="digits_cnn", input_shape=[1, 1, 8, 8], calib=None)
    qnet, _, n = cli._load_network(args, cfg)
    pods = cli._pods_slices_activity(cfg, qnet, n)
    one = cli._network_activity(cfg.pod, plan_network(cfg.pod, qnet, n_images=n))
    assert pods["macs"] == one["macs"] > 0
    assert pods["in_beats"] + pods["w_beats"] > one["in_beats"] + one["w_beats"]
    assert pods["out_beats"] >= one["out_beats"]
