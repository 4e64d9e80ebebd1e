"""asic_flow's typed options and report, without the tools: AsicOptions checks itself
when made (one line per problem, the messages the flow gave when it took keyword
arguments), choices become enum members, the command builds the options from its
arguments, and the report's parts write their JSON keys."""
import argparse
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from asic_flow import (
    ActivityMethod,
    AsicOptions,
    BadWorkload,
    Memories,
    PnrScope,
    UnknownPlatform,
)
from asic_flow.command import add_arguments, options
from asic_flow.report import (
    Area,
    AsicReport,
    MacroPower,
    MemoryReport,
    OrfsRun,
    PnrRun,
    Power,
    Timing,
    format_table,
)


def test_defaults_and_choices():
    opt = AsicOptions(clock_ns=10.0, pdk="osu018")
    assert (opt.memories, opt.activity_method, opt.pnr) == (
        Memories.FLOPS, ActivityMethod.NET, PnrScope.NONE)
    assert opt.activity_window == (0, None) and opt.seed == 1 and opt.liberty is None
    assert not (opt.macro_memories or opt.net_activity or opt.block_activity)
    # Values become members; members compare equal to their values.
    opt = AsicOptions(clock_ns=5, liberty="cells.lib", memories="macro", pnr="design",
                      workload="gemm:2x2x2", activity_method="block", activity_window=[3, 9])
    assert opt.memories is Memories.MACRO and opt.pnr is PnrScope.DESIGN
    assert opt.activity_method is ActivityMethod.BLOCK and opt.activity_method == "block"
    assert opt.liberty == Path("cells.lib") and opt.activity_window == (3, 9)
    assert opt.macro_memories and opt.block_activity and not opt.net_activity
    with pytest.raises(FrozenInstanceError):
        opt.clock_ns = 1.0


@pytest.mark.parametrize("kw, error, message", [
    ({"clock_ns": 0.0}, ValueError, "clock period must be positive, got 0.0 ns"),
    ({"clock_ns": float("nan")}, ValueError, "clock period must be positive, got nan ns"),
    ({"synth_timeout": 0}, ValueError, "synthesis time limit must be positive, got 0 s"),
    ({"pnr_timeout": -5}, ValueError, "place and route time limit must be positive, got -5 s"),
    ({"orfs_timeout": 0}, ValueError, "ORFS time limit must be positive, got 0 s"),
    ({"memories": "sram"}, ValueError, "memories must be one of flops, macro, not 'sram'"),
    ({"pnr": True}, ValueError, "pnr must be one of none, array, design, not True"),
    ({"activity_method": "pin"}, BadWorkload,
     "unknown activity method 'pin' (known: net, block)"),
    ({"activity_window": (-1, None)}, BadWorkload,
     "bad activity window -1:None: expected a first cycle >= 0 and a count >= 1"),
    ({"activity_window": (2, 0)}, BadWorkload,
     "bad activity window 2:0: expected a first cycle >= 0 and a count >= 1"),
    ({"workload": "gemm:8x8"}, BadWorkload,
     "bad workload 'gemm:8x8': expected gemm:MxKxN with positive integers, e.g. gemm:8x8x8"),
    ({"orfs_platform": "sky130hs"}, UnknownPlatform, None),
])
def test_bad_options(kw, error, message):
    with pytest.raises(error) as e:
        AsicOptions(**{"clock_ns": 10.0, "pdk": "osu018", **kw})
    text = str(e.value)
    assert "\n" not in text
    assert text == message if message else "known: asap7" in text


def _parse(argv):
    p = argparse.ArgumentParser(prog="hwgen asic")
    add_arguments(p)
    return p.parse_args(argv)


def test_command_options():
    opt = options(_parse(["asic2", "--pdk", "osu018", "--clock-ns", "5", "--memories", "macro",
                          "--pnr", "--activity-method", "block", "--activity-window", "10:100",
                          "--workload", "gemm:2x2x2", "--seed", "4", "--orfs-platform",
                          "sky130hd", "--pnr-timeout", "60", "--synth-timeout", "30"]))
    assert opt == AsicOptions(clock_ns=5.0, pdk="osu018", memories=Memories.MACRO,
                              pnr=PnrScope.ARRAY, activity_method=ActivityMethod.BLOCK,
                              activity_window=(10, 100), workload="gemm:2x2x2", seed=4,
                              orfs_platform="sky130hd", pnr_timeout=60, synth_timeout=30)
    opt = options(_parse(["asic2", "--liberty", "x.lib", "--clock-ns", "5"]))
    assert opt == AsicOptions(clock_ns=5.0, liberty=Path("x.lib"))
    assert options(_parse(["asic2", "--pdk", "osu018", "--clock-ns", "5", "--pnr", "design"])
                   ).pnr is PnrScope.DESIGN


def _report(**kw) -> AsicReport:
    """A report with made-up numbers, flip-flop memories and no workload."""
    parts = dict(
        design="d", array="2x2 output_stationary", pdk="p", liberty="/x/p.lib", clock_ns=2.0,
        area=Area(100.0, 10, {"DFF": 4, "INV": 6},
                  {"pe_array": {"area_um2": 100.0, "sequential_area_um2": 40.0, "cells": 10,
                                "modules": ["array"], "share": 1.0}},
                  {"array": {"area_um2": 100.0, "sequential_area_um2": 40.0, "cells": 10}}),
        memories=MemoryReport("flip-flops", "note", [], 0, 0.0, 0.0, storage_flop_area_um2=0.0),
        timing=Timing(met=False, worst_slack_ns=-0.5, wns_ns=-0.5, tns_ns=-1.0,
                      critical_path=None, achievable_period_ns=2.5, fmax_mhz=400.0),
        power=Power(1.0, 0.6, 0.4, 1e-6, None, 0.1, "default 0.1", "no simulation"),
        power_simulated=None, timing_model="ideal", orfs=None, pnr=None,
        tools={"yosys": "Yosys 0.70"}, seconds={"generate": 0.1, "total": 1.0})
    return AsicReport(**{**parts, **kw})


def test_report_json():
    rep = _report()
    d = rep.as_dict()
    assert rep.failed_constraint == d["failed_constraint"] == (
        "clock 2 ns not met: worst slack -0.5 ns; achievable period 2.5 ns")
    assert (d["area_um2"], d["cells"], d["power_mw"], d["power_sim_mw"]) == (100.0, 10, 1.0, None)
    assert d["area_by_block"]["pe_array"]["share"] == 1.0 and "orfs" not in d
    assert list(d["power"]) == ["total_mw", "internal_mw", "switching_mw", "leakage_mw",
                                "activity", "activity_source", "assumption"]
    d["area_by_block"]["pe_array"]["share"] = 0.0  # a fresh object each time
    assert rep.as_dict()["area_by_block"]["pe_array"]["share"] == 1.0
    assert "| failed constraint | clock 2 ns not met" in format_table(rep.as_dict())
    met = _report(timing=Timing(True, 0.5, 0.0, 0.0, None, 1.5, 666.67))
    assert met.failed_constraint is None and "failed_constraint" not in met.as_dict()


def test_report_parts_json():
    # OpenSTA gave no power: no figures, the macros' power still reported.
    macro = MacroPower(0.25, "how", None)
    p = Power(None, None, None, None, macro, 0.1, "default 0.1", "a")
    assert list(p.as_dict()) == ["macro_dynamic_mw", "macro_dynamic_method", "activity",
                                 "activity_source", "assumption"]
    assert MacroPower(0.25, "how", 1.0).as_dict()["opensta_total_mw"] == 1.0
    assert _report(power=p).as_dict()["power_mw"] is None
    # ORFS: the run's own keys between the files and the status.
    orfs = OrfsRun("sky130hd", "orfs", {"config": "config.mk"}, "ran",
                   {"source": "s", "metrics": {}, "summary": {}, "seconds": 3.0})
    assert list(orfs.as_dict()) == ["platform", "dir", "files", "source", "metrics",
                                    "summary", "seconds", "status"]
    assert orfs.seconds == 3.0 and OrfsRun("x", "orfs", {}, "not run: y").seconds is None
    # Place and route: the result, or the failure and how far it got.
    ran = PnrRun(PnrScope.ARRAY, "ran", result={"block": "pe_array", "seconds": 9.0})
    assert ran.as_dict() == {"block": "pe_array", "seconds": 9.0, "dir": "pnr",
                             "status": "ran", "scope": "array"}
    cut = PnrRun(PnrScope.DESIGN, "failed: qflow did not finish", progress={"step": "yosys"})
    assert list(cut.as_dict()) == ["dir", "scope", "status", "progress"]
    assert "progress" not in PnrRun(PnrScope.DESIGN, "failed: x").as_dict()
    d = _report(pnr=cut).as_dict()
    assert d["pnr"]["scope"] == "design"
    assert list(d)[-4:] == ["pnr", "tools", "seconds", "failed_constraint"]
