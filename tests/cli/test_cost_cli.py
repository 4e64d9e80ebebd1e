"""hwgen estimate --pdk / --board (the cost model) and hwgen calibrate at the command
line: the keys, the refusals (exit 2, one line) and the out-of-range warning."""
import json

import pytest

from hwgen.cli import main

ASIC_KEYS = {"area_um2", "area_by_block_um2", "fmax_mhz", "power_mw", "leakage_mw",
             "energy_uj", "pj_per_mac", "energy_split_uj", "timing_met", "cost_model"}
FPGA_KEYS = {"luts", "ffs", "dsps", "brams", "fmax_mhz", "fits", "overflow", "multipliers",
             "cost_model"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_pdk_keys(capsys):
    code, out, err = run(capsys, "estimate", "asic2", "--workload", "gemm:8x8x8", "--pdk",
                         "osu018", "--clock-ns", "10", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert ASIC_KEYS <= set(rep) and rep["cycles"] > 0
    assert set(rep["area_by_block_um2"]) == {"pe_array", "input_buffer", "weight_buffer",
                                             "acc_buffer", "controller", "host_interface",
                                             "requantizer", "top_glue"}
    assert abs(sum(rep["area_by_block_um2"].values()) - rep["area_um2"]) < 1
    split = rep["energy_split_uj"]
    assert set(split) == {"macs", "buffer_reads", "buffer_writes", "buffer_idle",
                          "host_transfers", "control", "leakage"}
    assert abs(sum(split.values()) - rep["energy_uj"]) <= 1e-6 * rep["energy_uj"] + 1e-9
    assert rep["cost_model"]["target"] == "osu018" and err == ""


def test_estimate_pdk_table(capsys):
    code, out, _ = run(capsys, "estimate", "asic2", "--workload", "gemm:8x8x8", "--pdk",
                       "osu018", "--clock-ns", "10")
    assert code == 0
    keys = [line.split()[0] for line in out.splitlines()]
    assert "area_um2" in keys and "energy_uj" in keys and "cycles" in keys


def test_estimate_board_keys_and_overflow(capsys):
    code, out, err = run(capsys, "estimate", "ice40", "--workload", "gemm:8x8x8", "--board",
                         "icebreaker", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert FPGA_KEYS <= set(rep) and rep["fits"] is True and rep["overflow"] == []
    # the tiny preset does not fit the UP5K (block RAM and DSP, BENCHMARKS.md)
    code, out, err = run(capsys, "estimate", "tiny", "--workload", "gemm:8x8x8", "--board",
                         "icebreaker", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["fits"] is False
    over = {o["resource"]: o for o in rep["overflow"]}
    assert "BRAM" in over and over["BRAM"]["over_by"] == over["BRAM"]["needed"] - 30
    assert "outside the calibrated range" in err   # tiny's 512-word buffers


def test_estimate_network_with_cost(capsys):
    code, out, err = run(capsys, "estimate", "tiny", "--model", "digits_cnn", "--pdk",
                         "osu018", "--clock-ns", "10", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert ASIC_KEYS <= set(rep) and rep["energy_uj"] > 0 and rep["macs"] > 0


@pytest.mark.parametrize("argv,message", [
    (["--pdk", "osu035", "--clock-ns", "10"],
     "hwgen: no cost-model coefficients for PDK osu035: calibrate them with 'hwgen calibrate "
     "--pdk osu035' (runs the real flows; see docs/cost_model.md)"),
    (["--board", "tangnano9k"],
     "hwgen: no cost-model coefficients for board tangnano9k: calibrate them with 'hwgen "
     "calibrate --board tangnano9k' (runs the real flows; see docs/cost_model.md)"),
    (["--board", "nosuch"], "hwgen: unknown board 'nosuch' (known: icebreaker, "
     "orangecrab-25f, tangnano9k, ulx3s-25f, ulx3s-85f)"),
    (["--pdk", "osu018"], "hwgen: --pdk osu018 needs --clock-ns T, the clock the power is "
     "given at"),
    (["--clock-ns", "10"], "hwgen: --clock-ns goes with --pdk or --board (the cost model)"),
    (["--pdk", "osu018", "--clock-ns", "10", "--board", "icebreaker"],
     "hwgen: --pdk and --board: one cost-model target at a time (run estimate once for each)"),
    (["--board", "icebreaker", "--clock-ns", "10"],
     "hwgen: --clock-ns and --memories go with --pdk; a board runs from its oscillator"),
])
def test_estimate_cost_refusals(capsys, argv, message):
    code, out, err = run(capsys, "estimate", "asic2", "--workload", "gemm:8x8x8", *argv)
    assert code == 2 and out == ""
    assert err.splitlines() == [message]


def test_out_of_range_warns_or_refuses(capsys, tmp_path):
    cfg = tmp_path / "big.yaml"
    cfg.write_text("name: big\narray: {rows: 16, cols: 16}\nprecision: {max_k: 64}\n"
                   "buffers: {input: {depth: 32}, weight: {depth: 32}, acc: {depth: 32}}\n")
    code, out, err = run(capsys, "estimate", str(cfg), "--workload", "gemm:8x8x8", "--pdk",
                         "osu018", "--clock-ns", "10", "--json")
    assert code == 0 and json.loads(out)["area_um2"] > 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwgen: warning: rows = 16 is outside the "
                                                   "calibrated range 1..")
    code, out, err = run(capsys, "estimate", str(cfg), "--workload", "gemm:8x8x8", "--pdk",
                         "osu018", "--clock-ns", "10", "--strict")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("hwgen: rows = 16 is outside the "
                                                         "calibrated range")


@pytest.mark.parametrize("argv,message", [
    (["--board", "nosuch"], "hwgen: unknown board 'nosuch'"),
    (["--pdk", "osu018", "--points", "1"], "hwgen: argument --points: expected a number of "
     "points from 2 to 1000, got '1'"),
    (["--pdk", "osu018", "--jobs", "0"], "hwgen: argument --jobs: expected a number of jobs "
     "from 1 to 64, got '0'"),
    ([], "hwgen: one of the arguments --pdk --board is required"),
])
def test_calibrate_refusals(capsys, argv, message):
    code, out, err = run(capsys, "calibrate", *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_calibrate_output_must_be_a_data_file(capsys, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "calibrate", "--pdk", "osu018", "-o", str(bad))
    assert code == 2 and "not a cost-model data file" in err
    code, _, err = run(capsys, "calibrate", "--pdk", "osu018", "-o", str(tmp_path / "no" / "f"))
    assert code == 2 and "expected a file in an existing directory" in err


@pytest.mark.parametrize("unit_cfg,unit", [("sc_relu.yaml", "sc"),
                                           ("circ_parallel.yaml", "circulant")])
def test_special_units_are_named_as_not_modelled(capsys, unit_cfg, unit):
    from pathlib import Path
    cfg = Path(__file__).resolve().parents[1] / "golden" / "configs" / unit_cfg
    code, out, err = run(capsys, "estimate", str(cfg), "--workload", "gemm:8x8x8", "--board",
                         "icebreaker", "--json")
    assert code == 0 and json.loads(out)["cost_not_modelled"] == [unit]
    assert len(err.splitlines()) == 1 and f"the {unit}: unit is not in the cost model" in err
    code, out, err = run(capsys, "estimate", str(cfg), "--workload", "gemm:8x8x8", "--board",
                         "icebreaker", "--strict")
    assert code == 2 and out == "" and len(err.splitlines()) == 1


def test_calibrate_refit_runs_no_flow(capsys, tmp_path, monkeypatch):
    import shutil

    from hwgen import calibration
    from hwgen.models import cost

    def no_flow(*a, **k):
        raise AssertionError("--refit ran a flow")

    monkeypatch.setattr(calibration, "_run_one", no_flow)
    out = tmp_path / "board.json"
    shutil.copy(cost.data_path("ice40-up5k"), out)
    before = json.loads(out.read_text())
    code, stdout, err = run(capsys, "calibrate", "--board", "icebreaker", "--refit", "-o",
                            str(out), "--json")
    assert code == 0, err
    after = json.loads(out.read_text())
    assert after["version"] == before["version"] + 1
    assert [p["key"] for p in after["points"]] == [p["key"] for p in before["points"]]
    assert json.loads(stdout)["validation"]["holdout"]["summary"]["brams"]["exact"] >= 1
    code, _, err = run(capsys, "calibrate", "--board", "icebreaker", "--refit", "--rerun")
    assert code == 2 and "not allowed with argument" in err
