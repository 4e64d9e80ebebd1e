"""ASIC flow: the small preset through Yosys/ABC and OpenSTA on OSU 0.18 um, its numbers
checked against asic_flow/rules.json; errors, templates and report parsing without tools."""
import json
import shutil

import pytest

from asic_flow import (
    BadLiberty,
    ToolFailed,
    ToolMissing,
    UnknownPdk,
    check_rules,
    format_table,
    load_rules,
    pdks,
    run,
    sta,
    synth,
    tools,
)
from hwgen.config import load_config

PRESET = "asic2"
PDK = "osu018"

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
    return out, run(load_config(PRESET), PDK, 10.0, out)


@pytest.fixture
def fake_lib(tmp_path):
    p = tmp_path / "fake.lib"
    p.write_text(FAKE_LIBERTY)
    return p


# ---- the real flow -------------------------------------------------------------------
def test_small_preset_meets_rules(report_10ns):
    _, rep = report_10ns
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


def test_area_split_by_block_and_memories(report_10ns):
    _, rep = report_10ns
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
    out, rep = report_10ns
    for f in ("report.json", "report.md", "netlist.v", "constraint.sdc", "synth.ys", "sta.log"):
        assert (out / f).is_file(), f
    assert json.loads((out / "report.json").read_text())["area_um2"] == rep["area_um2"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not (out / "osu018_stdcells.lib").exists()
    md = format_table(rep)
    assert md.startswith("| metric | value |") and "pe_array" in md and ": met" in md


def test_clock_too_fast_reports_failed_constraint(tmp_path):
    _tools_or_skip()
    rep = run(load_config(PRESET), PDK, 0.1, tmp_path / "fast")
    assert rep["timing_met"] is False
    assert rep["wns_ns"] < 0 and rep["tns_ns"] <= rep["wns_ns"]
    assert rep["achievable_period_ns"] == pytest.approx(0.1 - rep["worst_slack_ns"], abs=1e-3)
    assert rep["achievable_period_ns"] > 1.0
    assert "not met" in rep["failed_constraint"] and "achievable period" in rep["failed_constraint"]
    assert "NOT MET" in format_table(rep)


# ---- errors, before any tool runs ----------------------------------------------------
def test_unknown_pdk_lists_known(tmp_path):
    with pytest.raises(UnknownPdk, match=r"unknown PDK 'sky130' \(known: osu018, osu035, osu050"):
        run(load_config(PRESET), "sky130", 10.0, tmp_path / "x")
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
        run(load_config(PRESET), None, 10.0, tmp_path / "x", liberty=fake_lib)
    msg = str(e.value)
    assert msg.startswith(f"{tool} (for ") and f"${var}=" in msg and "install" in msg
    assert "\n" not in msg


def test_unreadable_liberty(tmp_path, fake_lib):
    cfg = load_config(PRESET)
    with pytest.raises(BadLiberty, match="cannot read Liberty file .*missing.lib"):
        run(cfg, None, 10.0, tmp_path / "x", liberty=tmp_path / "missing.lib")
    junk = tmp_path / "junk.lib"
    junk.write_text("this is not a library\n")
    with pytest.raises(BadLiberty, match="not a Liberty file"):
        run(cfg, None, 10.0, tmp_path / "x", liberty=junk)
    noff = tmp_path / "noff.lib"
    noff.write_text(FAKE_LIBERTY.split("  cell (DFF1)")[0] + "}\n")
    with pytest.raises(BadLiberty, match="no flip-flop"):
        run(cfg, None, 10.0, tmp_path / "x", liberty=noff)


def test_tool_failure_keeps_logs_and_no_output(tmp_path, monkeypatch, fake_lib):
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' command")
    # Not through $YOSYS: Amaranth reads that variable too, to convert the design.
    monkeypatch.setattr(tools, "find_yosys", lambda: tools.Tool("yosys", (false,), "none"))
    monkeypatch.setattr(tools, "find_sta", lambda: tools.Tool("sta", (false,), "none"))
    out = tmp_path / "out"
    with pytest.raises(ToolFailed, match="yosys failed"):
        run(load_config(PRESET), None, 10.0, out, liberty=fake_lib)
    assert not out.exists()
    assert (tmp_path / "out.failed" / "synth.ys").is_file()


def test_bad_clock(tmp_path):
    with pytest.raises(ValueError, match="must be positive"):
        run(load_config(PRESET), PDK, 0.0, tmp_path / "x")


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
    assert "write_verilog -noattr -noexpr -nohex -nodec netlist.v" in text
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


@pytest.mark.slow
def test_small_preset_osu035_meets_rules(tmp_path):
    _tools_or_skip("osu035")
    clock = load_rules()[f"{PRESET}@osu035"]["_clock_ns"]
    rep = run(load_config(PRESET), "osu035", clock, tmp_path / "o35")
    assert check_rules(rep) == []


# ---- the command the CLI registers ------------------------------------------------------
def _parse(argv):
    import argparse

    from asic_flow.command import add_arguments
    p = argparse.ArgumentParser(prog="hwgen asic")
    add_arguments(p)
    return p.parse_args(argv)


def test_command_bad_input_exit_2(tmp_path, capsys):
    from asic_flow.command import command
    assert command(_parse([PRESET, "--pdk", "nope", "--clock-ns", "5", "-o", str(tmp_path / "o")])) == 2
    err = capsys.readouterr().err
    assert err.strip() == "hwgen: unknown PDK 'nope' (known: osu018, osu035, osu050; or give --liberty FILE)"
    assert command(_parse([PRESET, "--pdk", PDK, "--clock-ns", "-1", "-o", str(tmp_path / "o")])) == 2
    with pytest.raises(SystemExit):
        _parse([PRESET, "--pdk", PDK, "--liberty", "x.lib", "--clock-ns", "5"])
