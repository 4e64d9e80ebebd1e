"""ASIC flow: the small preset through Yosys/ABC and OpenSTA on OSU 0.18 um, its numbers
checked against asic_flow/rules.json; errors, templates and report parsing without tools."""
import json
import shutil
import time

import pytest

from asic_flow import (
    AsicOptions,
    AsicReport,
    BadLiberty,
    BadWorkload,
    PnrScope,
    ToolFailed,
    ToolMissing,
    UnknownPdk,
    activity,
    check_rules,
    format_table,
    load_rules,
    orfs,
    pdks,
    run,
    sta,
    synth,
    tools,
)
from hwgen.config import Dataflow, load_config

PRESET = "asic2"
PDK = "osu018"
WORKLOAD = "gemm:8x8x8"

# A hand-written two-cell library: enough for the flow's own checks, not for the tools.
FAKE_LIBERTY = """\
library (fake) {
  time_unit : "1ps";
  capacitive_load_unit (1,pf);
  cell (BUF1) {
    area : 2.0;
    pin (A) { direction : input; capacitance : 0.002; }
    pin (Z) { direction : output; function : "A"; }
  }
  cell (INV1) {
    area : 1.0;
    pin (A) { direction : input; capacitance : 0.002; }
    pin (Z) { direction : output; function : "!A"; }
  }
  cell (DFF1) {
    area : 6.0;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }
    pin (D) { direction : input; }
    pin (CK) { direction : input; clock : true; }
    pin (Q) { direction : output; function : "IQ"; }
  }
}
"""


@pytest.fixture(autouse=True)
def _no_orfs(monkeypatch):
    """The flow must not find a real OpenROAD during these tests."""
    monkeypatch.delenv("ORFS_FLOW_HOME", raising=False)
    monkeypatch.setenv("OPENROAD", "/nonexistent/openroad")


def _tools_or_skip(pdk=PDK):
    try:
        tools.find_yosys()
        tools.find_sta()
        pdks.find_pdk(pdk)
    except (ToolMissing, UnknownPdk) as e:
        pytest.skip(f"ASIC tools not installed: {e}")


@pytest.fixture(scope="module")
def report_10ns(tmp_path_factory):
    _tools_or_skip()
    out = tmp_path_factory.mktemp("asic") / f"{PRESET}-{PDK}"
    return out, run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, workload=WORKLOAD,
                                                     seed=3, orfs_platform="sky130hd"), out)


def _ws4_config():
    """The sweep point that once showed a 689-stage false path (2x2 WS int4)."""
    from hwgen.config.loader import config_from_dict
    return config_from_dict({
        "name": "ws2x2_int4",
        "array": {"rows": 2, "cols": 2, "dataflow": "weight_stationary"},
        "precision": {"in_bits": 4, "out_bits": 4, "max_k": 64, "mult_bits": 8},
        "buffers": {b: {"depth": 16, "banks": 2} for b in ("input", "weight", "acc")},
        "host": {"beat_elems": 2},
    }, source="test")


@pytest.fixture(scope="module")
def report_ws4_block(tmp_path_factory):
    _tools_or_skip()
    out = tmp_path_factory.mktemp("asic") / "ws4"
    return out, run(_ws4_config(), AsicOptions(clock_ns=10.0, pdk=PDK, workload=WORKLOAD, seed=2,
                                               activity_method="block"), out)


@pytest.fixture(scope="module")
def report_macro(tmp_path_factory):
    _tools_or_skip()
    out = tmp_path_factory.mktemp("asic") / "macro"
    return out, run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, workload=WORKLOAD,
                                                     seed=3, memories="macro"), out)


@pytest.fixture
def fake_lib(tmp_path):
    p = tmp_path / "fake.lib"
    p.write_text(FAKE_LIBERTY)
    return p


# ---- the real flow -------------------------------------------------------------------
def test_small_preset_meets_rules(report_10ns):
    _, report = report_10ns
    rep = report.as_dict()
    rules = load_rules()[f"{PRESET}@{PDK}"]
    assert rules["_clock_ns"] == rep["clock_ns"]
    assert check_rules(rep) == []
    assert rep["timing_met"] is True and rep["wns_ns"] == 0.0 and rep["tns_ns"] == 0.0
    assert rep["fmax_mhz"] == pytest.approx(1000.0 / rep["achievable_period_ns"], rel=1e-3)
    cp = rep["critical_path"]
    assert cp["stages"] >= 2 and 0 < cp["delay_ns"] < 10.0
    assert cp["start_register"] and cp["end_register"]
    assert rep["power_mw"] > 0 and "toggles" in rep["power"]["assumption"]
    assert rep["pdk"] == PDK and rep["liberty"].endswith(".lib")
    assert rep["tools"]["yosys"].startswith("Yosys") and rep["tools"]["sta"].startswith("OpenSTA")
    assert {"synth", "sta", "total"} <= set(rep["seconds"])
    # One product per requantizer partial product and per PE: no cone to warn about.
    assert rep["cone"]["products"] == 1 and rep["warnings"] == []
    # The typed report says the same as its JSON.
    assert isinstance(report, AsicReport) and report.timing.met and report.timing_met
    assert report.failed_constraint is None and "failed_constraint" not in rep
    assert report.area.area_um2 == rep["area_um2"] and report.power.total_mw == rep["power_mw"]
    assert report.power_simulated.total_mw == rep["power_sim_mw"]
    assert report.timing.critical_path == rep["critical_path"]
    assert report.pdk == PDK and report.orfs.platform == "sky130hd" and report.pnr is None


def test_area_split_by_block_and_memories(report_10ns):
    _, report = report_10ns
    rep = report.as_dict()
    blocks = rep["area_by_block"]
    assert set(blocks) == {"pe_array", "buffers", "controller", "host_interface", "top_glue"}
    assert sorted(blocks["buffers"]["modules"]) == ["acc_buf", "input_buf", "weight_buf"]
    assert sum(b["area_um2"] for b in blocks.values()) == pytest.approx(rep["area_um2"], rel=1e-6)
    assert sum(b["cells"] for b in blocks.values()) == rep["cells"] == sum(rep["cells_by_type"].values())
    assert any(c.startswith("DFF") for c in rep["cells_by_type"])
    mem = rep["memories"]
    cfg = load_config(PRESET)
    assert mem["implementation"] == "flip-flops" and "no SRAM macros" in mem["note"]
    buf_bits = sum(a["bits"] for a in mem["arrays"] if a["module"].endswith("_buf"))
    p = cfg.params()
    want = sum(p[f"{b}_BANKS"] * p[f"{b}_DEPTH"] for b in ("INPUT", "WEIGHT")) * cfg.R * 8 \
        + p["ACC_BANKS"] * p["ACC_DEPTH"] * cfg.C * cfg.acc_bits
    assert buf_bits == want
    assert mem["buffer_area_um2"] == blocks["buffers"]["area_um2"]


def test_outputs_complete_and_no_temporaries(report_10ns):
    out, report = report_10ns
    rep = report.as_dict()
    for f in ("report.json", "report.md", "netlist.v", "constraint.sdc", "synth.ys", "sta.log"):
        assert (out / f).is_file(), f
    assert json.loads((out / "report.json").read_text()) == rep
    assert (out / "report.json").read_text() == report.to_json() + "\n"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not (out / "osu018_stdcells.lib").exists()
    md = format_table(rep)
    assert md.startswith("| metric | value |") and "pe_array" in md and ": met" in md


# ---- the keys of report.json, which scripts read --------------------------------------
#: Dicts keyed by data (cell types, blocks, tools): their keys are ``*`` below.
DATA_KEYED = {"cells_by_type", "area_by_block", "blocks", "power_simulated.blocks", "tools"}

#: Every run: recorded from the flow before its report was typed.
BASE_KEYS = """
achievable_period_ns area_by_block area_by_block.* area_by_block.*.area_um2
area_by_block.*.cells area_by_block.*.modules area_by_block.*.sequential_area_um2
area_by_block.*.share area_um2 array blocks blocks.* blocks.*.area_um2 blocks.*.cells
blocks.*.sequential_area_um2 cells cells_by_type cells_by_type.* clock_ns critical_path
critical_path.delay_ns critical_path.end_register critical_path.endpoint
critical_path.stages critical_path.start_register critical_path.startpoint design fmax_mhz
liberty memories memories.arrays memories.arrays[].bits memories.arrays[].depth
memories.arrays[].implementation memories.arrays[].module memories.arrays[].name
memories.arrays[].width memories.bits memories.buffer_area_share memories.buffer_area_um2
memories.implementation memories.note pdk power power.activity power.activity_source
power.assumption power.internal_mw power.leakage_mw power.switching_mw power.total_mw
power_mw power_sim_mw power_simulated seconds seconds.generate seconds.sta seconds.synth
seconds.total timing_met timing_model tns_ns tools tools.* wns_ns worst_slack_ns
cone cone.product_bits cone.products cone.rows cone.sink cone.widest warnings
"""
FLOP_MEMORY_KEYS = "memories.storage_flop_area_um2"
MACRO_KEYS = """
blocks.*.macro_area_um2 blocks.*.macros memories.arrays[].cell memories.logic_area_um2
memories.macro_area_um2 memories.macro_models memories.macro_models[].access_pj
memories.macro_models[].area_um2 memories.macro_models[].bits memories.macro_models[].cell
memories.macro_models[].clk_to_q_ns memories.macro_models[].hold_ns
memories.macro_models[].idle_pj memories.macro_models[].leakage_uw
memories.macro_models[].setup_ns memories.macro_models[].width memories.macro_models[].words
memories.macros memories.model_source power.macro_dynamic_method power.macro_dynamic_mw
power.opensta_total_mw power_simulated.blocks.*.macro_dynamic_mw
power_simulated.macro_dynamic_method power_simulated.macro_dynamic_mw
power_simulated.opensta_total_mw
"""
SIMULATED_KEYS = """
power_simulated.activity_method power_simulated.activity_source power_simulated.blocks
power_simulated.blocks.* power_simulated.blocks.*.activity power_simulated.blocks.*.cells
power_simulated.blocks.*.duty power_simulated.blocks.*.internal_mw
power_simulated.blocks.*.leakage_mw power_simulated.blocks.*.switching_mw
power_simulated.blocks.*.total_mw power_simulated.internal_mw power_simulated.leakage_mw
power_simulated.mean_activity power_simulated.mean_duty power_simulated.method
power_simulated.simulation power_simulated.simulation.cycles power_simulated.simulation.seed
power_simulated.simulation.sim_seconds power_simulated.simulation.simulator
power_simulated.simulation.vcd power_simulated.simulation.vcd_bytes
power_simulated.simulation.vcd_read_seconds power_simulated.simulation.workload
power_simulated.switching_mw power_simulated.total_mw seconds.power_sim
"""
NET_KEYS = SIMULATED_KEYS + """
power_simulated.activity_files power_simulated.blocks.*.pins
power_simulated.blocks.*.pins_measured power_simulated.gate_level_check power_simulated.pins
power_simulated.pins_annotated power_simulated.pins_clock power_simulated.pins_constant
power_simulated.pins_not_in_dump power_simulated.pins_unnameable
power_simulated.simulation.gate_level_check power_simulated.simulation.netlist
power_simulated.simulation.window_cycles power_simulated.simulation.window_first_cycle
power_simulated.unannotated_mw seconds.activity seconds.simulate_gates
"""
BLOCK_KEYS = SIMULATED_KEYS + """
power_simulated.blocks.*.flops power_simulated.blocks.*.flops_measured
power_simulated.blocks.*.from power_simulated.flops power_simulated.flops_measured
power_simulated.simulation.dump_cycles seconds.simulate
"""
ORFS_KEYS = """
orfs orfs.dir orfs.files orfs.files.config orfs.files.sdc orfs.files.verilog orfs.platform
orfs.status
"""


def _key_paths(obj, path=""):
    """Every key of a JSON object as a dotted path; ``*`` for the keys of a dict in
    DATA_KEYED, ``[]`` for the items of a list."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.*" if path in DATA_KEYED else (f"{path}.{k}" if path else k)
            out.add(p)
            out |= _key_paths(v, p)
    elif isinstance(obj, list):
        for v in obj:
            out |= _key_paths(v, path + "[]")
    return out


def _keys(*groups):
    return set(" ".join(groups).split())


@pytest.mark.parametrize("fixture, want", [
    ("report_10ns", (BASE_KEYS, FLOP_MEMORY_KEYS, NET_KEYS, ORFS_KEYS)),
    ("report_ws4_block", (BASE_KEYS, FLOP_MEMORY_KEYS, BLOCK_KEYS)),
    ("report_macro", (BASE_KEYS, MACRO_KEYS, NET_KEYS)),
])
def test_report_keys_as_recorded(request, fixture, want):
    """report.json of real runs has exactly the recorded keys: a renamed field of the
    typed report must not rename a key that scripts read."""
    out, report = request.getfixturevalue(fixture)
    got = _key_paths(json.loads((out / "report.json").read_text()))
    assert got == _key_paths(report.as_dict())
    want = _keys(*want)
    assert not got - want and not want - got, (sorted(got - want), sorted(want - got))


def test_clock_too_fast_reports_failed_constraint(tmp_path):
    _tools_or_skip()
    report = run(load_config(PRESET), AsicOptions(clock_ns=0.1, pdk=PDK), tmp_path / "fast")
    t = report.timing
    assert t.met is False and report.timing_met is False
    assert t.wns_ns < 0 and t.tns_ns <= t.wns_ns
    assert t.achievable_period_ns == pytest.approx(0.1 - t.worst_slack_ns, abs=1e-3)
    assert t.achievable_period_ns > 1.0
    assert "not met" in report.failed_constraint
    assert "achievable period" in report.failed_constraint
    rep = report.as_dict()
    assert rep["failed_constraint"] == report.failed_constraint and rep["timing_met"] is False
    assert rep["power_simulated"] is None and rep["power_sim_mw"] is None
    assert _key_paths(rep) == _keys(BASE_KEYS, FLOP_MEMORY_KEYS, "failed_constraint")
    assert "NOT MET" in format_table(rep)


# ---- errors, before any tool runs ----------------------------------------------------
def test_unknown_pdk_lists_known(tmp_path):
    with pytest.raises(UnknownPdk, match=r"unknown PDK 'sky130' \(known: osu018, osu035, osu050"):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk="sky130"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_pdk_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("QFLOW_TECH_DIR", str(tmp_path))
    with pytest.raises(UnknownPdk, match="not installed.*apt-get install -y qflow-tech-osu035"):
        pdks.find_pdk("osu035")


@pytest.mark.parametrize("var,tool", [("YOSYS", "yosys"), ("STA", "sta")])
def test_missing_tool_names_it(tmp_path, monkeypatch, fake_lib, var, tool):
    monkeypatch.setenv(var, str(tmp_path / "no-such-tool"))
    if tool == "sta":  # Yosys is looked up first: keep this test free of it
        monkeypatch.setattr(tools, "find_yosys", lambda: tools.Tool("yosys", ("yosys",), "none"))
    with pytest.raises(ToolMissing) as e:
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, liberty=fake_lib), tmp_path / "x")
    msg = str(e.value)
    assert msg.startswith(f"{tool} (for ") and f"${var}=" in msg and "install" in msg
    assert "\n" not in msg


def test_unreadable_liberty(tmp_path, fake_lib):
    cfg = load_config(PRESET)
    with pytest.raises(BadLiberty, match="cannot read Liberty file .*missing.lib"):
        run(cfg, AsicOptions(clock_ns=10.0, liberty=tmp_path / "missing.lib"), tmp_path / "x")
    junk = tmp_path / "junk.lib"
    junk.write_text("this is not a library\n")
    with pytest.raises(BadLiberty, match="not a Liberty file"):
        run(cfg, AsicOptions(clock_ns=10.0, liberty=junk), tmp_path / "x")
    noff = tmp_path / "noff.lib"
    noff.write_text(FAKE_LIBERTY.split("  cell (DFF1)")[0] + "}\n")
    with pytest.raises(BadLiberty, match="no flip-flop"):
        run(cfg, AsicOptions(clock_ns=10.0, liberty=noff), tmp_path / "x")


def test_tool_failure_keeps_logs_and_no_output(tmp_path, monkeypatch, fake_lib):
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' command")
    # Not through $YOSYS: Amaranth reads that variable too, to convert the design.
    monkeypatch.setattr(tools, "find_yosys", lambda: tools.Tool("yosys", (false,), "none"))
    monkeypatch.setattr(tools, "find_sta", lambda: tools.Tool("sta", (false,), "none"))
    out = tmp_path / "out"
    with pytest.raises(ToolFailed, match="yosys failed"):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, liberty=fake_lib), out)
    assert not out.exists()
    assert (tmp_path / "out.failed" / "synth.ys").is_file()


def test_bad_clock():
    with pytest.raises(ValueError, match=r"^clock period must be positive, got 0.0 ns$"):
        AsicOptions(clock_ns=0.0, pdk=PDK)


def test_synthesis_time_cap(tmp_path, monkeypatch, fake_lib):
    """A synthesis that overruns its cap is stopped and reported, its logs kept."""
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no 'sh' command")
    hang = tmp_path / "hang.sh"
    hang.write_text("sleep 60\n")
    monkeypatch.setattr(tools, "find_yosys", lambda: tools.Tool("yosys", (sh, str(hang)), "none"))
    monkeypatch.setattr(tools, "find_sta", lambda: tools.Tool("sta", (sh, str(hang)), "none"))
    out = tmp_path / "out"
    t0 = time.monotonic()
    with pytest.raises(ToolFailed, match="yosys did not finish within 1 s"):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, liberty=fake_lib, synth_timeout=1.0),
            out)
    assert time.monotonic() - t0 < 30
    assert not out.exists() and (tmp_path / "out.failed" / "synth.ys").is_file()


# ---- Liberty scan, templates and report parsing as text -------------------------------
def test_liberty_scan(fake_lib):
    lib = pdks.from_liberty(fake_lib)
    assert (lib.drive_cell, lib.drive_pin) == ("BUF1", "Z")
    assert lib.time_unit_ns == 1e-3 and lib.cap_unit_ff == 1000.0
    assert pdks.read_liberty(fake_lib, "t")["min_ff_area"] == 6.0


def test_synth_script_text():
    text = synth.render_script(design="asic2", top="hwgen_top",
                               blocks=["hwgen_top.array", "hwgen_top.host"],
                               liberty_name="osu018_stdcells.lib", delay_ps=2500)
    assert "${" not in text
    assert "setattr -mod -set keep_hierarchy 1 hwgen_top.array hwgen_top.host" in text
    assert "dfflibmap -liberty osu018_stdcells.lib" in text
    assert "abc -D 2500 -constr abc.constr -liberty osu018_stdcells.lib" in text
    assert "write_verilog -noattr -noexpr -nohex -nodec -simple-lhs netlist.v" in text
    assert "/" not in text.split("read_verilog", 1)[1].split("\n", 1)[0]  # relative paths


def test_abc_constraints_and_sdc_text(fake_lib):
    lib = pdks.from_liberty(fake_lib)  # ps and pF units
    assert synth.render_abc_constr(lib).split() == ["set_driving_cell", "BUF1", "set_load", "20"]
    sdc = sta.render_sdc(design="d", lib=lib, clock_ns=2.5)
    assert "${" not in sdc
    assert "create_clock -name clk -period 2500 [get_ports clk]" in sdc
    assert "set_driving_cell -lib_cell BUF1 -pin Z $data_inputs" in sdc
    assert "set_load 0.02 [all_outputs]" in sdc
    assert "set_input_delay 0 -clock clk $data_inputs" in sdc
    tcl = sta.render_tcl(design="d", top="hwgen_top", liberty="/x/a.lib", netlist="netlist.v",
                         activity=0.2)
    assert "set_power_activity -global -activity 0.2" in tcl and "read_sdc constraint.sdc" in tcl


def test_top_blocks_and_memories_from_verilog():
    v = ("module hwgen_top(a);\nendmodule\nmodule \\hwgen_top.host (a);\n"
         "  reg [43:0] storage [6:0];\nendmodule\nmodule \\hwgen_top.host.fifo (a);\nendmodule\n"
         "module \\hwgen_top.input_buf (a);\n  reg [15:0] bank0 [15:0];\n  reg [15:0] x;\nendmodule\n")
    assert synth.top_blocks(v, "hwgen_top") == ["hwgen_top.host", "hwgen_top.input_buf"]
    mems = synth.memories_in(v)
    assert [(m["module"], m["name"], m["width"], m["depth"], m["bits"]) for m in mems] == [
        ("hwgen_top.host", "storage", 44, 7, 308), ("hwgen_top.input_buf", "bank0", 16, 16, 256)]


# Text in the layout OpenSTA 2.0 prints, written for this test.
STA_OUT = """\
@@ checks
Startpoint: blk/_10_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: blk/_20_ (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max

   Delay     Time   Description
-----------------------------------------------------------
  0.0000   0.0000   clock clk (rise edge)
  0.0000   0.0000   clock network delay (ideal)
  0.0000   0.0000 ^ blk/_10_/CLK (DFFPOSX1)
  0.2000   0.2000 v blk/_10_/Q (DFFPOSX1)
  0.1500   0.3500 ^ blk/_11_/Y (INVX1)
  0.1000   0.4500 v blk/_12_/Y (NAND2X1)
  0.0000   0.4500 v blk/_20_/D (DFFPOSX1)
           0.4500   data arrival time

  0.3000   0.3000   clock clk (rise edge)
 -0.1000   0.2000   library setup time
           0.2000   data required time
           -0.2500   slack (VIOLATED)

@@ worst_slack
worst slack -0.2500
@@ tns
tns -1.7500
@@ power
Group                  Internal  Switching    Leakage      Total
Total                1.0000e-03 5.0000e-04 1.0000e-08 1.5000e-03 100.0%
@@ end
"""


def test_parse_sta_report():
    r = sta.parse_report(STA_OUT, clock_ns=0.3)
    assert r["critical_path"] == {"startpoint": "blk/_10_", "endpoint": "blk/_20_",
                                  "stages": 3, "delay_ns": 0.45}
    assert r["timing_met"] is False and r["wns_ns"] == -0.25 and r["tns_ns"] == -1.75
    assert r["achievable_period_ns"] == pytest.approx(0.55)
    assert r["fmax_mhz"] == pytest.approx(1818.18, rel=1e-4)
    assert r["power"]["total_mw"] == pytest.approx(1.5)
    assert sta.parse_report(STA_OUT.replace("-0.2500", "0.0500"), 0.3)["timing_met"] is True


def test_register_names_from_netlist():
    net = ("module hwgen_top(clk);\n  \\hwgen_top.blk  blk (\n    .clk(clk)\n  );\nendmodule\n"
           "module \\hwgen_top.blk (clk);\n  DFFPOSX1 _10_ (\n    .CLK(clk),\n    .D(_01_),\n"
           "    .Q(count[3])\n  );\nendmodule\n")
    assert sta.register_names(net, "hwgen_top") == {"blk/_10_": "blk/count[3]"}


def test_rules_check():
    rules = {"d@p": {"_clock_ns": 1, "area_um2": {"max": 10}, "cells": {"min": 2, "max": 5}}}
    assert check_rules({"design": "d", "pdk": "p", "area_um2": 9, "cells": 3}, rules) == []
    bad = check_rules({"design": "d", "pdk": "p", "area_um2": 11, "cells": 1}, rules)
    assert bad == ["area_um2: 11 above the maximum 10", "cells: 1 below the minimum 2"]
    assert check_rules({"design": "e", "pdk": "p"}, rules) == ["no rules recorded for e@p"]
    opt = {"d@p": {"power_sim_mw": {"max": 5, "optional": True}}}
    assert check_rules({"design": "d", "pdk": "p"}, opt) == []
    assert check_rules({"design": "d", "pdk": "p", "power_sim_mw": 6}, opt) == [
        "power_sim_mw: 6 above the maximum 5"]


@pytest.mark.slow
def test_small_preset_osu035_meets_rules(tmp_path):
    _tools_or_skip("osu035")
    clock = load_rules()[f"{PRESET}@osu035"]["_clock_ns"]
    rep = run(load_config(PRESET), AsicOptions(clock_ns=clock, pdk="osu035"), tmp_path / "o35")
    assert check_rules(rep.as_dict()) == []


# ---- the command the CLI registers ------------------------------------------------------
def _parse(argv):
    import argparse

    from asic_flow.command import add_arguments
    p = argparse.ArgumentParser(prog="hwgen asic")
    add_arguments(p)
    return p.parse_args(argv)


ASIC = ["asic"]


def test_command_bad_input_exit_2(tmp_path, capsys):
    from asic_flow.command import command
    assert command(_parse([PRESET, "--pdk", "nope", "--clock-ns", "5", "-o", str(tmp_path / "o")])) == 2
    err = capsys.readouterr().err
    assert err.strip() == "hwgen: unknown PDK 'nope' (known: osu018, osu035, osu050; or give --liberty FILE)"
    # Out-of-range numbers are refused by the option types, in one line each.
    from hwgen.cli import main
    assert main([*ASIC, PRESET, "--pdk", PDK, "--clock-ns", "-1", "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (
        "hwgen: argument --clock-ns: expected a clock period (ns) above 0 up to 1e+06, "
        "got '-1'")
    assert main([*ASIC, PRESET, "--pdk", PDK, "--clock-ns", "5", "--synth-timeout", "0",
                 "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == \
        "hwgen: argument --synth-timeout: expected seconds above 0 up to 1e+06, got '0'"
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        _parse([PRESET, "--pdk", PDK, "--liberty", "x.lib", "--clock-ns", "5"])


# ---- power from simulated switching activity ----------------------------------------
def test_simulated_power_per_net(report_10ns):
    out, report = report_10ns
    rep = report.as_dict()
    ps = rep["power_simulated"]
    assert ps["activity_method"] == "net"
    assert ps["gate_level_check"] == "bit-exact with the golden GEMM"
    sim = ps["simulation"]
    assert sim["workload"] == WORKLOAD and sim["cycles"] > 100
    assert ps["activity_source"].startswith(f"gate-level simulation: {WORKLOAD} on icarus, ")
    assert rep["power_sim_mw"] == ps["total_mw"]
    # Every pin is accounted for: annotated, or on the clock net (one per flip-flop).
    flops = sum(n for c, n in rep["cells_by_type"].items() if c.startswith("DFF"))
    assert ps["pins_clock"] == flops
    assert ps["pins_not_in_dump"] == 0 and ps["pins_unnameable"] == 0
    assert ps["pins_annotated"] + ps["pins_clock"] == ps["pins"]
    assert ps["pins_constant"] >= 0
    # Blocks: every cell in exactly one, their sum is the design's power.
    assert sum(b["cells"] for b in ps["blocks"].values()) == rep["cells"]
    assert sum(b["total_mw"] for b in ps["blocks"].values()) == pytest.approx(
        ps["total_mw"], rel=2e-3)
    assert ps["blocks"]["array"]["activity"] == max(
        b["activity"] for b in ps["blocks"].values())
    # The annotation changes the answer (the clock power, common to both, dominates).
    assert ps["total_mw"] != rep["power_mw"]
    assert 0.6 * rep["power_mw"] < ps["total_mw"] < 1.4 * rep["power_mw"]
    for f in (sim["vcd"], "power_net.tcl", "power_net.log", *ps["activity_files"]):
        assert (out / f).is_file(), f
    assert "@@ block array" in (out / "power_net.log").read_text()
    md = (out / "report.md").read_text()
    assert "| power (simulated activity, per net) |" in md and "bit-exact" in md


def test_ws_2x2_int4_has_no_false_path(report_ws4_block):
    """OpenSTA once misread this netlist (see tests/unit/test_asic_netlist_read.py)."""
    out, report = report_ws4_block
    assert "assign {" not in (out / "netlist.v").read_text()
    log = (out / "sta.log").read_text()
    assert sta.read_problems(log) == [] and "black box" not in log
    assert report.timing.critical_path["stages"] < 80 and report.timing.fmax_mhz > 100.0


def test_simulated_power_by_block(report_ws4_block):
    out, report = report_ws4_block
    rep = report.as_dict()
    ps = rep["power_simulated"]
    assert ps["activity_method"] == "block"
    assert rep["power"]["activity_source"] == "default 0.1"
    assert ps["activity_source"].startswith(f"simulation: {WORKLOAD} on icarus, ")
    sim = ps["simulation"]
    assert sim["cycles"] > 100 and sim["dump_cycles"] >= sim["cycles"]
    assert ps["activity_source"].endswith(f", {sim['dump_cycles']} cycles")
    assert rep["power_sim_mw"] == ps["total_mw"]
    # Every cell is in exactly one block's report.
    assert sum(b["cells"] for b in ps["blocks"].values()) == rep["cells"]
    assert set(ps["blocks"]) == set(rep["blocks"])
    # The array and the controller are fully measured (no memories in them); the buffer
    # words are not in the dump.
    for name in ("array", "engine"):
        b = ps["blocks"][name]
        assert b["flops_measured"] == b["flops"] > 0 and b["from"] == "block"
    assert ps["blocks"]["acc_buf"]["flops_measured"] < ps["blocks"]["acc_buf"]["flops"]
    assert 0.0 < ps["mean_activity"] < 1.0 and 0.0 < ps["mean_duty"] < 1.0
    # The PE array is the busiest block of a GEMM.
    assert ps["blocks"]["array"]["activity"] == max(b["activity"] for b in ps["blocks"].values())
    # Clock power of the flip-flops dominates both figures with these cells.
    assert 0.6 * rep["power_mw"] < ps["total_mw"] < 1.4 * rep["power_mw"]
    for f in (sim["vcd"], "power_sim.tcl", "power_sim.log"):
        assert (out / f).is_file(), f
    md = (out / "report.md").read_text()
    assert "| power (simulated activity, per block) |" in md and "| array | 0." in md


def test_workload_rejected_before_any_work(tmp_path):
    _tools_or_skip()
    with pytest.raises(BadWorkload, match="expected gemm:MxKxN"):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, workload="gemm:8x8"),
            tmp_path / "o")
    assert not any(tmp_path.iterdir())


def test_command_bad_workload_exit_2(tmp_path, capsys):
    _tools_or_skip()
    from hwgen.cli import main
    assert main([*ASIC, PRESET, "--pdk", PDK, "--clock-ns", "10", "-o", str(tmp_path / "o"),
                 "--workload", "gemm:0x1x1"]) == 2
    assert "argument --workload: 'gemm:0x1x1' is not gemm:MxKxN" in capsys.readouterr().err


VCD_TEXT = """\
$timescale 1ps $end
$scope module hwgen_tb $end
$var reg 1 ! clk $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 4 " acc [3:0] $end
$var wire 2 # \\out[1] [1:0] $end
$var wire 1 $ flag $end
$scope module mesh $end
$scope module pe_0_0 $end
$var wire 3 % w [4:2] $end
$upscope $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b0 "
bx #
0$
b0 %
$end
#5
1!
b11 "
1$
0$
#10
0!
b101 "
b1 #
#15
1!
b100 %
#20
0!
"""


def test_read_vcd_counts_toggles_per_cycle(tmp_path):
    p = tmp_path / "t.vcd"
    p.write_text(VCD_TEXT)
    act = activity.read_vcd(p)
    assert act.cycles == 2 and act.duration == 20
    assert set(act.signals) == {"clk", "acc", "out[1]", "flag", "mesh.pe_0_0.w"}
    # acc: 0000 -> 0011 -> 0101: bit 0 toggles once, bit 1 twice, bit 2 once.
    assert act.bit("acc", 0) == (0.5, 15 / 20)
    assert act.bit("acc", 1) == (1.0, 5 / 20)
    assert act.bit("acc", 2) == (0.5, 10 / 20)
    assert act.bit("acc", 3) == (0.0, 0.0) and act.bit("acc", 4) is None
    # A pulse inside one time step is no transition; x reads as 0.
    assert act.bit("flag", None) == (0.0, 0.0)
    assert act.bit("out[1]", 0) == (0.5, 10 / 20)
    # Ranges that do not start at 0: bit 4 of w[4:2] is the first character.
    assert act.bit("mesh.pe_0_0.w", 4) == (0.5, 5 / 20)
    assert act.bit("mesh.pe_0_0.w", 1) is None
    assert act.bit("acc", None) is None and act.bit("nope", 0) is None


def test_read_vcd_needs_a_clock(tmp_path):
    p = tmp_path / "t.vcd"
    p.write_text(VCD_TEXT.replace("$var wire 1 ! clk $end\n", ""))
    with pytest.raises(activity.BadVcd, match="no clock hwgen_tb.dut.clk"):
        activity.read_vcd(p)
    p.write_text("$var wire 1 ! clk $end\n")
    with pytest.raises(activity.BadVcd, match="enddefinitions"):
        activity.read_vcd(p)


def test_block_activities_match_register_names(tmp_path):
    p = tmp_path / "t.vcd"
    p.write_text(VCD_TEXT)
    act = activity.read_vcd(p)
    regs = {"_1_": "acc[1]", "_2_": "flag",
            "array/_3_": "array/mesh.pe_0_0.w[4]", "array/_4_": "array/bank0[3][1]"}
    act.signals["array.mesh.pe_0_0.w"] = act.signals.pop("mesh.pe_0_0.w")
    got = activity.block_activities(act, regs)
    assert got["top"] == {"flops": 2, "flops_measured": 2, "activity": 0.5, "duty": 0.125}
    assert got["array"] == {"flops": 2, "flops_measured": 1, "activity": 0.5, "duty": 0.25}
    assert got["all"]["flops"] == 4 and got["all"]["flops_measured"] == 3


def test_power_script_and_parse(fake_lib):
    tcl = sta.render_power_tcl(design="d", top="t", liberty="x.lib", netlist="n.v",
                               source="simulation: gemm:1x1x1 on icarus, 9 cycles",
                               groups=[("array", "array/*", 0.25, 0.5), ("top", "_*", 0.1, 0.4)])
    assert "set_power_activity -global -activity 0.25 -duty 0.5\n" in tcl
    assert "report_power -instances [get_cells {array/*}] -digits 6" in tcl
    assert "report_power -instances [get_cells {_*}]" in tcl
    assert tcl.index("@@ block array") < tcl.index("@@ block top") < tcl.index("@@ end")
    text = ("@@ block array\n     Internal    Switching      Leakage        Total\n"
            "----\n 1.0e-03 2.0e-04 1.0e-09 1.2e-03 array/_1_\n"
            " 1.0e-03 0.0e+00 1.0e-09 1.0e-03 array/_2_\n"
            "@@ block top\n 5.0e-04 0.0e+00 0.0e+00 5.0e-04 _7_\n@@ end\n")
    got = sta.parse_power_by_block(text)
    assert got["array"] == {"cells": 2, "internal_mw": 2.0, "switching_mw": 0.2,
                            "leakage_mw": 2e-06, "total_mw": 2.2}
    assert got["top"]["cells"] == 1 and got["top"]["total_mw"] == 0.5


def test_vcd_needs_icarus():
    from sim_tb.runner import run_program
    with pytest.raises(ValueError, match="vcd needs sim='icarus'"):
        run_program("", {"DIN_BITS": 8, "DOUT_BITS": 8}, [], [], 0, sim="verilator",
                    vcd="x.vcd")


# ---- OpenROAD-flow-scripts design directory ------------------------------------------
def test_orfs_directory_without_openroad(report_10ns):
    out, report = report_10ns
    rep = report.as_dict()
    o = rep["orfs"]
    assert o["platform"] == "sky130hd" and o["dir"] == "orfs"
    assert o["status"].startswith("not run: OpenROAD not found")
    assert "the open-flow numbers above are still complete" in o["status"]
    d = out / "orfs"
    assert (d / "design.v").read_text() == (out / "design.v").read_text()
    cfg_mk = (d / "config.mk").read_text()
    assert "export PLATFORM        = sky130hd\n" in cfg_mk
    assert "export DESIGN_NAME     = hwgen_top\n" in cfg_mk
    assert "export VERILOG_FILES = $(HWGEN_DESIGN_DIR)design.v\n" in cfg_mk
    assert "| OpenROAD (sky130hd) | orfs/: not run: OpenROAD not found" in format_table(rep)


@pytest.mark.parametrize("plat, period", [("sky130hd", "5"), ("nangate45", "5"),
                                          ("asap7", "5000"), ("gf180", "5")])
def test_orfs_files_text(tmp_path, plat, period):
    files = orfs.write_design(tmp_path, design="d", array="2x2 output_stationary",
                              verilog="module hwgen_top; endmodule\n", platform_name=plat,
                              top="hwgen_top", clock_ns=5.0, memory_bits=5000)
    assert files == {"config": "config.mk", "sdc": "constraint.sdc", "verilog": "design.v"}
    mk = (tmp_path / "config.mk").read_text()
    assert "$(dir $(abspath $(lastword $(MAKEFILE_LIST))))" in mk
    for line in (f"export PLATFORM        = {plat}", "export DESIGN_NICKNAME = d",
                 "export SDC_FILE      = $(HWGEN_DESIGN_DIR)constraint.sdc",
                 "export SYNTH_MEMORY_MAX_BITS = 8192", "export ABC_CLOCK_PERIOD_IN_PS = 5000",
                 "export CORE_UTILIZATION = 30", "export PLACE_DENSITY    = 0.6"):
        assert line + "\n" in mk, line
    sdc = (tmp_path / "constraint.sdc").read_text()
    assert f"set clk_period {period}\n" in sdc
    assert "create_clock -name core_clock -period $clk_period [get_ports clk]" in sdc
    assert "set_output_delay [expr {$clk_period * 0.2}] -clock core_clock [all_outputs]" in sdc
    assert "$$" not in mk + sdc and "${" not in mk + sdc


def test_orfs_unknown_platform(tmp_path):
    with pytest.raises(orfs.UnknownPlatform, match="known: asap7, gf180, nangate45, sky130hd"):
        orfs.platform("sky130hs")
    _tools_or_skip()
    with pytest.raises(orfs.UnknownPlatform):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, orfs_platform="sky130hs"),
            tmp_path / "o")
    assert not any(tmp_path.iterdir())


FAKE_ORFS_MAKEFILE = """\
all:
\t@test -f "$(DESIGN_CONFIG)"
\tmkdir -p $(WORK_HOME)/reports/p/d/base $(WORK_HOME)/logs/p/d/base
\techo '{"finish__design__instance__area": 123.5, "other": 1}' \\
\t  > $(WORK_HOME)/reports/p/d/base/metadata.json
\techo ran $(OPENROAD_EXE)
"""


def test_orfs_run_with_a_stand_in_flow(tmp_path, monkeypatch):
    if shutil.which("make") is None:
        pytest.skip("no make")
    flow = tmp_path / "flow"
    flow.mkdir()
    (flow / "Makefile").write_text(FAKE_ORFS_MAKEFILE)
    monkeypatch.setenv("ORFS_FLOW_HOME", str(flow))
    monkeypatch.setenv("OPENROAD", shutil.which("true"))
    found = orfs.find_orfs()
    assert found.usable and found.why_not() == ""
    d = tmp_path / "design"
    orfs.write_design(d, design="d", array="a", verilog="", platform_name="sky130hd",
                      top="hwgen_top", clock_ns=10.0, memory_bits=0)
    got = orfs.run_orfs(found, d)
    assert got["source"] == "reports/p/d/base/metadata.json"
    assert got["summary"] == {"finish__design__instance__area": 123.5}
    assert "ran " + shutil.which("true") in (d / "orfs.log").read_text()
    (flow / "Makefile").write_text("all:\n\texit 3\n")
    with pytest.raises(ToolFailed, match="exit 2"):
        orfs.run_orfs(found, d)
    monkeypatch.delenv("ORFS_FLOW_HOME")
    assert "ORFS_FLOW_HOME" in orfs.find_orfs().why_not()


# ---- qflow place and route (opt-in) ---------------------------------------------------
DEF_TEXT = """\
VERSION 5.6 ;
UNITS DISTANCE MICRONS 100 ;
DIEAREA ( 0 0 ) ( 4000 2000 ) ;
COMPONENTS 2 ;
- _1_ INVX1 + PLACED ( 100 200 ) N ;
- _2_ DFFPOSX1 + FIXED ( 1100 200 ) FS ;
END COMPONENTS
NETS 1 ;
- n1
  ( _1_ Y ) ( _2_ D )
+ ROUTED metal2 ( 150 300 ) ( * 900 ) M2_M1
  NEW metal1 ( 150 900 ) ( 1150 * )
  NEW metal1 ( 1150 900 ) ( * * ) ;
END NETS
END DESIGN
"""


def test_def_and_lef_reading(tmp_path):
    from asic_flow import pnr
    lay = pnr.read_def(DEF_TEXT)
    assert lay["die"] == (0.0, 0.0, 40.0, 20.0)
    assert lay["components"] == [("_1_", "INVX1", 1.0, 2.0), ("_2_", "DFFPOSX1", 11.0, 2.0)]
    assert lay["segments"] == [("metal2", 1.5, 3.0, 1.5, 9.0), ("metal1", 1.5, 9.0, 11.5, 9.0)]
    assert pnr.wirelength(lay["segments"]) == 16.0
    lef = "MACRO INVX1\n  CLASS CORE ;\n  SIZE 2.4 BY 10 ;\nEND INVX1\n"
    assert pnr.lef_sizes(lef) == {"INVX1": (2.4, 10.0)}
    png = tmp_path / "l.png"
    pnr.plot_layout(lay, pnr.lef_sizes(lef), png, "t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_place_and_route_pe_array(tmp_path):
    """qflow on the 2x2 PE array: about 5 minutes on a shared 2-core machine."""
    _tools_or_skip()
    from asic_flow import pnr
    try:
        pnr.find_qflow()
    except ToolMissing as e:
        pytest.skip(str(e))
    out = tmp_path / "o"
    report = run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, pnr="array",
                                                  pnr_timeout=1800), out)
    assert report.pnr.scope is PnrScope.ARRAY
    rep = report.as_dict()
    p = rep["pnr"]
    assert p["status"] == "ran", p["status"]
    assert p["cells"] > 1000 and p["wirelength_um"] > 10_000 and p["die_area_um2"] > 10_000
    for f in (p["def"], p["gds"], p["png"]):
        assert (out / "pnr" / f).is_file(), f
    assert "| place and route (qflow, PE array only) | pnr/: ran;" in format_table(rep)


@pytest.mark.slow
def test_place_and_route_whole_design_is_capped(tmp_path):
    """qflow on the whole asic2 design takes far longer than the cap here (graywolf
    alone needs hours on a shared machine): the cap stops it, the run still reports
    everything else and says how far place and route got."""
    _tools_or_skip()
    from asic_flow import pnr
    try:
        pnr.find_qflow()
    except ToolMissing as e:
        pytest.skip(str(e))
    out = tmp_path / "o"
    rep = run(load_config(PRESET), AsicOptions(clock_ns=10.0, pdk=PDK, pnr="design",
                                               pnr_timeout=300), out).as_dict()
    p = rep["pnr"]
    assert p["scope"] == "design" and rep["area_um2"] > 0
    if p["status"] == "ran":  # a much faster machine
        assert (out / "pnr" / p["png"]).is_file() and p["block"] == "design"
    else:
        assert p["status"].startswith("failed: qflow did not finish within 300 s")
        assert p["progress"]["step"] in ("start", "yosys", "GrayWolf")
        assert p["progress"]["seconds"] >= 300
        assert (out / "pnr" / "source" / "hwgen_top.v").is_file()
    assert "| place and route (qflow, whole design) | pnr/:" in format_table(rep)


def test_place_and_route_needs_a_qflow_pdk(tmp_path, fake_lib):
    _tools_or_skip()
    with pytest.raises(UnknownPdk, match="place and route needs one of the qflow PDKs"):
        run(load_config(PRESET), AsicOptions(clock_ns=10.0, liberty=fake_lib, pnr="array"),
            tmp_path / "o")
    assert not (tmp_path / "o").exists()


# ---- buffers as modelled SRAM macros -----------------------------------------------------
def test_macro_memories(report_macro, report_10ns):
    from asic_flow import macros
    out, report = report_macro
    rep, flops = report.as_dict(), report_10ns[1].as_dict()
    mem = rep["memories"]
    cfg = load_config(PRESET)
    p = cfg.params()
    # An output-stationary design with im2col reads its input buffer as even and odd
    # halves: two macros per input bank.
    halves = 2 if cfg.array.dataflow is Dataflow.OS and cfg.features.im2col else 1
    banks = halves * p["INPUT_BANKS"] + p["WEIGHT_BANKS"] + p["ACC_BANKS"]
    assert mem["implementation"] == "macros" and mem["macros"] == banks
    assert "OpenRAM SKY130" in mem["note"] and mem["model_source"] == macros.SOURCE_NOTE
    # Each macro's area is the model's; macros sit in the buffer blocks only.
    models = {m["cell"]: m for m in mem["macro_models"]}
    cells = {c: n for c, n in rep["cells_by_type"].items() if c.startswith(macros.PREFIX)}
    assert sum(cells.values()) == banks and set(cells) == set(models)
    assert mem["macro_area_um2"] == pytest.approx(
        sum(n * models[c]["area_um2"] for c, n in cells.items()), rel=1e-6)
    assert mem["macro_area_um2"] + mem["logic_area_um2"] == pytest.approx(rep["area_um2"])
    for name, b in rep["blocks"].items():
        assert (b["macros"] > 0) == name.endswith("_buf"), name
    # The buffers' flip-flops are gone: far fewer cells and flip-flops than with flops.
    dff = lambda r: sum(n for c, n in r["cells_by_type"].items() if c.startswith("DFF"))  # noqa: E731
    assert dff(rep) < dff(flops) - 0.8 * sum(a["bits"] for a in mem["arrays"]
                                             if a["implementation"] == "macro")
    assert rep["area_by_block"]["pe_array"]["area_um2"] == pytest.approx(
        flops["area_by_block"]["pe_array"]["area_um2"], rel=0.05)
    # STA read the macros' Liberty and timed paths through them.
    log = (out / "sta.log").read_text()
    assert sta.read_problems(log) == []
    assert (out / "sram_macros.lib").is_file() and "read_liberty sram_macros.lib" in (
        out / "sta.tcl").read_text()
    # Power: the macros' modelled dynamic power is added to OpenSTA's figure.
    pw = rep["power"]
    assert pw["macro_dynamic_mw"] == pytest.approx(sum(
        n * macros.dynamic_power_mw(macros.Shape(models[c]["width"], models[c]["words"]),
                                    10.0, 1.0) for c, n in cells.items()), rel=1e-3)
    assert pw["total_mw"] == pytest.approx(pw["opensta_total_mw"] + pw["macro_dynamic_mw"])
    # The gate-level GEMM runs through the macros' models and is still exact.
    ps = rep["power_simulated"]
    assert ps["gate_level_check"] == "bit-exact with the golden GEMM"
    assert ps["pins_not_in_dump"] == 0
    assert 0 < ps["macro_dynamic_mw"] < pw["macro_dynamic_mw"]
    md = (out / "report.md").read_text()
    assert "modelled SRAM macros" in md and "| HWGEN_SRAM_" in md


def test_macro_synth_script_text():
    text = synth.render_script(design="d", top="hwgen_top", blocks=["hwgen_top.input_buf"],
                               liberty_name="osu018_stdcells.lib", delay_ps=10000,
                               macro_blocks=["hwgen_top.input_buf"])
    assert "${" not in text
    assert "read_verilog -lib sram_blackbox.v" in text
    assert "synth -top hwgen_top -flatten -noabc -run :fine" in text
    assert ("memory_libmap -logic-cost-ram 1000 -lib sram.memlib hwgen_top.input_buf"
            in text)
    assert "techmap -map sram_map.v" in text and "-run fine:" in text
    assert "stat -json -liberty osu018_stdcells.lib -liberty sram_macros.lib" in text
    flops = synth.render_script(design="d", top="hwgen_top", blocks=[],
                                liberty_name="osu018_stdcells.lib", delay_ps=10000)
    assert "memory_libmap" not in flops and "synth -top hwgen_top -flatten -noabc\n" in flops


def test_command_memories_and_pnr_options():
    args = _parse([PRESET, "--pdk", PDK, "--clock-ns", "10", "--memories", "macro",
                   "--pnr", "design", "--activity-method", "block",
                   "--activity-window", "10:100"])
    assert (args.memories, args.pnr, args.activity_method) == ("macro", "design", "block")
    assert args.activity_window == (10, 100)
    args = _parse([PRESET, "--pdk", PDK, "--clock-ns", "10", "--pnr"])
    assert args.pnr == "array" and args.memories == "flops" and args.activity_window == (0, None)
    for bad in (["--memories", "sram"], ["--activity-window", "x:1"],
                ["--activity-window", "5:0"], ["--activity-window", "5"]):
        with pytest.raises(SystemExit):
            _parse([PRESET, "--pdk", PDK, "--clock-ns", "10", *bad])

