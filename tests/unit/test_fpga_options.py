"""fpga's typed options and report, without the tools: FpgaOptions checks itself when
made, the report's JSON keeps its keys and their order, and fpga.program takes the
typed report as it took its JSON."""
import hashlib
import json
from dataclasses import FrozenInstanceError

import pytest

from fpga import FpgaOptions, FpgaReport, UnknownBoard
from fpga.report import ClockReport, Resource


def test_options():
    opt = FpgaOptions("icebreaker")
    assert (opt.clock_mhz, opt.seed, opt.pll, opt.dsp_fallback) == (None, 1, False, True)
    assert opt.board_spec.device == "iCE40UP5K"
    with pytest.raises(FrozenInstanceError):
        opt.seed = 2
    assert FpgaOptions("ulx3s-25f", clock_mhz=40, pll=True).clock_mhz == 40


@pytest.mark.parametrize("kw, error, message", [
    ({"board": "de0-nano"}, UnknownBoard,
     "unknown board 'de0-nano' (known: icebreaker, orangecrab-25f, tangnano9k, ulx3s-25f, "
     "ulx3s-85f)"),
    ({"clock_mhz": 0}, ValueError, "clock_mhz must be positive, got 0"),
    ({"clock_mhz": -3.5, "pll": True}, ValueError, "clock_mhz must be positive, got -3.5"),
    ({"pll": True}, ValueError, "pll=True needs clock_mhz"),
    ({"auto_clock": True, "clock_mhz": 20}, ValueError,
     "auto_clock chooses the clock itself: give neither clock_mhz nor pll"),
])
def test_bad_options(kw, error, message):
    with pytest.raises(error) as e:
        FpgaOptions(**{"board": "icebreaker", **kw})
    assert str(e.value) == message


def _report(bitstream: str, sha: str, pll=None) -> FpgaReport:
    return FpgaReport(
        board="icebreaker", family="ice40", device="iCE40UP5K", package="SG48", config="c",
        params={"ROWS": 2}, oscillator_mhz=12.0,
        clock=ClockReport("pll" if pll else "oscillator", 20.0 if pll else None, 12.0, 104,
                          115384.6, pll),
        constraint_mhz=12.0, multipliers="dsp", fmax_mhz={"sync": 20.5},
        fmax_nets={"clk": 20.5}, timing_met=True,
        resources={"BRAM": Resource(3, 30), "LUT": Resource(100, 5280)},
        nextpnr_utilisation={"ICESTORM_LC": Resource(100, 5280)}, yosys_cells={"SB_LUT4": 90},
        bitstream=bitstream, bitstream_bytes=8, bitstream_sha256=sha, seed=1,
        tools={"yosys": "Yosys"}, seconds={"elaborate": 1.0, "synth": 2.0})


def test_report_json_keys_in_order():
    d = _report("top.bin", "0" * 64).as_dict()
    assert list(d) == ["board", "family", "device", "package", "config", "params",
                       "oscillator_mhz", "clock", "constraint_mhz", "multipliers", "fmax_mhz",
                       "fmax_nets", "timing_met", "resources", "nextpnr_utilisation",
                       "yosys_cells", "bitstream", "bitstream_bytes", "bitstream_sha256",
                       "seed", "tools", "seconds"]
    assert d["clock"] == {"source": "oscillator", "requested_mhz": None, "achieved_mhz": 12.0,
                          "uart_divisor": 104, "uart_baud": 115384.6}
    assert d["resources"] == {"BRAM": {"used": 3, "available": 30},
                              "LUT": {"used": 100, "available": 5280}}
    pll = {"primitive": "SB_PLL40_PAD", "output_mhz": 20.0}
    assert _report("top.bin", "0" * 64, pll).as_dict()["clock"]["pll"] == pll
    rep = _report("top.bin", "0" * 64)
    assert json.loads(rep.to_json()) == rep.as_dict()
    assert rep.to_json().index('"board"') < rep.to_json().index('"family"')  # not sorted


def test_program_takes_the_typed_report(tmp_path, monkeypatch):
    bit = tmp_path / "top.bin"
    bit.write_bytes(b"\xff\x00fake")
    exe = tmp_path / "iceprog"
    exe.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "args"}\n')
    exe.chmod(0o755)
    monkeypatch.setenv("ICEPROG", str(exe))
    from fpga.program import program
    res = program(_report(str(bit), hashlib.sha256(bit.read_bytes()).hexdigest()))
    assert res["tool"] == "iceprog"
    assert (tmp_path / "args").read_text().split() == ["-S", str(bit)]
