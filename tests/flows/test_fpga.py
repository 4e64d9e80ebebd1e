"""The FPGA flow (fpga/): bitstreams for an iCE40 and an ECP5 board, report contents
checked against fpga/rules.json, and the one-line failures (unknown board, missing tool,
a design that does not fit). Builds need the YoWASP tools and are skipped without them."""
import hashlib
import json
from pathlib import Path

import pytest

import fpga
from fpga import flow
from fpga import report as rep
from fpga.boards import BOARDS, get_board
from hwgen.config import load_config

RULES = json.loads((Path(fpga.__file__).parent / "rules.json").read_text())
BUILDS = [("icebreaker", "ice40"), ("ulx3s-25f", "ice40")]
#: Two to four minutes each: opt-in with --runslow.
SLOW_BUILDS = [("ulx3s-25f", "tiny"), ("ulx3s-85f", "tiny"), ("orangecrab-25f", "tiny"),
               ("orangecrab-25f", "ice40")]


def missing_tools(board):
    try:
        for t in flow.FAMILY_TOOLS[get_board(board).family]:
            flow.find_tool(t)
        flow.check_amaranth_boards()
    except flow.ToolMissing as e:
        return str(e)
    return None


# ---- builds -------------------------------------------------------------------------
# One test per build, so that `pytest -n 2` puts the two builds on different workers.
@pytest.mark.parametrize("job", BUILDS + [pytest.param(j, marks=pytest.mark.slow) for j in SLOW_BUILDS],
                         ids=[f"{b}/{p}" for b, p in BUILDS + SLOW_BUILDS])
def test_build(tmp_path, job):
    board, preset = job
    why = missing_tools(board)
    if why:
        pytest.skip(why)
    report = fpga.build(load_config(preset), board, tmp_path / "out")
    check_report(report, board, preset, tmp_path)
    check_bitstream(report, board, preset)


def check_report(report, board, preset, root):
    b = get_board(board)
    for key in ("board", "device", "fmax_mhz", "constraint_mhz", "timing_met", "resources",
                "bitstream", "bitstream_bytes", "bitstream_sha256", "tools", "seconds"):
        assert key in report, key
    assert report["board"] == board and report["device"] == b.device
    assert report["constraint_mhz"] == b.clock_hz / 1e6
    assert set(report["seconds"]) == {"elaborate", "synth", "pnr", "pack"}
    assert set(report["tools"]) == set(flow.FAMILY_TOOLS[b.family])
    for name in ("LUT", "FF", "BRAM", "DSP"):
        r = report["resources"][name]
        assert 0 < r["used"] <= r["available"] == b.capacity[name], (name, r)

    rule = RULES[f"{board}/{preset}"]
    for name, limit in rule["max"].items():
        assert report["resources"][name]["used"] <= limit, f"{name} above the rule: {report['resources'][name]}"
    assert list(report["fmax_mhz"]) == ["sync"]
    assert report["fmax_mhz"]["sync"] >= rule["min_fmax_mhz"]
    assert report["timing_met"]

    # Published in place, with nothing half-built beside it.
    assert json.loads((root / "out" / "report.json").read_text()) == report
    assert sorted(p.name for p in root.iterdir()) == ["out"]
    table = fpga.format_table(report)
    assert "fmax" in table and board in table


def check_bitstream(report, board, preset):
    bit = Path(report["bitstream"]).read_bytes()
    lo, hi = RULES[f"{board}/{preset}"]["bitstream_bytes"]
    assert len(bit) == report["bitstream_bytes"] and lo <= len(bit) <= hi
    assert hashlib.sha256(bit).hexdigest() == report["bitstream_sha256"]
    # Both begin with a comment block (0xFF 0x00 ... 0x00 0xFF), then the sync words.
    assert bit[:2] == b"\xff\x00"
    if get_board(board).family == "ice40":
        assert b"\x7e\xaa\x99\x7e" in bit[:64]
    else:
        assert b"\xff\xff\xbd\xb3" in bit[:128]


# ---- failures -------------------------------------------------------------------------
def test_unknown_board(tmp_path):
    with pytest.raises(fpga.UnknownBoard) as e:
        fpga.build(load_config("ice40"), "de0-nano", tmp_path / "out")
    assert str(e.value) == ("unknown board 'de0-nano' (known: icebreaker, orangecrab-25f, "
                            "ulx3s-25f, ulx3s-85f)")
    assert not (tmp_path / "out").exists()


def test_bad_clock(tmp_path):
    with pytest.raises(ValueError, match=r"^clock_mhz must be positive, got 0$"):
        fpga.build(load_config("ice40"), "icebreaker", tmp_path / "out", clock_mhz=0)


@pytest.mark.parametrize("board,var,tool", [("icebreaker", "YOSYS", "yosys"),
                                            ("icebreaker", "ICEPACK", "icepack"),
                                            ("ulx3s-25f", "NEXTPNR_ECP5", "nextpnr-ecp5")])
def test_missing_tool(tmp_path, monkeypatch, board, var, tool):
    monkeypatch.setenv(var, str(tmp_path / "no-such-tool"))
    with pytest.raises(fpga.ToolMissing) as e:
        fpga.build(load_config("ice40"), board, tmp_path / "out")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tool} (for ") and f"{var}={tmp_path / 'no-such-tool'}" in msg
    assert f"pip install {flow.TOOLS[tool][2]}" in msg
    assert not (tmp_path / "out").exists()


def test_ws16_does_not_fit_icebreaker_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("YOSYS", str(tmp_path / "no-such-tool"))  # decided before any tool
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("ws16"), "icebreaker", tmp_path / "out")
    assert e.value.resource == "BRAM" and e.value.needed > e.value.available
    assert str(e.value).startswith("ws16 does not fit icebreaker (iCE40UP5K): BRAM: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_tiny_does_not_fit_icebreaker(tmp_path):
    if missing_tools("icebreaker"):
        pytest.skip(missing_tools("icebreaker"))
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("tiny"), "icebreaker", tmp_path / "out")
    assert e.value.resource in ("LUT", "DSP", "BRAM")
    assert (tmp_path / "out.failed" / "yosys.log").exists()


# ---- publishing, without tools ---------------------------------------------------------
def test_failed_build_is_never_published(tmp_path, monkeypatch):
    for t in flow.TOOLS:
        monkeypatch.setenv(flow.TOOLS[t][0], "true")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old").write_text("previous build")

    def broken(cfg, b, tools, work, *a):
        (work / "top.il").write_text("half")
        raise flow.FlowError("nextpnr-ice40 failed: interrupted")

    monkeypatch.setattr(flow, "_build_in", broken)
    with pytest.raises(flow.FlowError):
        fpga.build(load_config("ice40"), "icebreaker", tmp_path / "out")
    assert (tmp_path / "out" / "old").read_text() == "previous build"
    assert (tmp_path / "out.failed" / "top.il").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.failed"]

    def good(cfg, b, tools, work, *a):
        (work / "top.bin").write_bytes(b"\xff\x00")
        return {"board": b.name}

    monkeypatch.setattr(flow, "_build_in", good)
    r = fpga.build(load_config("ice40"), "icebreaker", tmp_path / "out")
    assert r["bitstream"] == str(tmp_path / "out" / "top.bin")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.json", "top.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---- scripts and parsing, as text --------------------------------------------------------
def test_scripts():
    ice, ecp = get_board("icebreaker"), get_board("orangecrab-25f")
    assert "synth_ice40 -dsp -top top" in flow.yosys_script(ice)
    assert "synth_ecp5 -top top" in flow.yosys_script(ecp)
    args = flow.nextpnr_args(ice, 12.0, 3)
    assert args[:3] == ["--up5k", "--package", "sg48"]
    assert args[args.index("--freq") + 1] == "12" and args[args.index("--seed") + 1] == "3"
    assert "--pcf" in args and "--lpf" in flow.nextpnr_args(ecp, 48, 1)
    assert flow.pack_args(ecp)[:3] == ["--compress", "--freq", "38.8"]
    assert flow.strip_clock_constraints(
        "set_io clk 35\nset_frequency clk 12.0\n") == "set_io clk 35\n\n"
    assert flow.strip_clock_constraints(
        'LOCATE COMP "x" SITE "G2";\nFREQUENCY PORT "clk25_0__io" 25000000.0 HZ;\n'
    ) == 'LOCATE COMP "x" SITE "G2";\n\n'


def test_every_board_elaborates():
    pytest.importorskip("amaranth_boards")
    cfg = load_config("ice40")
    for name, b in BOARDS.items():
        assert b.platform().default_clk_frequency == b.clock_hz, name
        files = flow.elaborate(cfg, b)
        cons = files["top.pcf" if b.family == "ice40" else "top.lpf"]
        assert "uart_0__rx" in cons and "uart_0__tx" in cons, name
        assert "set_frequency" not in cons and "FREQUENCY" not in cons


NEXTPNR_OVERFLOW_LOG = """\
Info: Device utilisation:
Info: 	         ICESTORM_LC:  6120/  5280   115%
Info: 	        ICESTORM_RAM:    14/    30    46%
Info: 	               SB_IO:     7/    39    17%
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'
"""


def test_parse_nextpnr_log():
    util = rep.nextpnr_utilisation(NEXTPNR_OVERFLOW_LOG)
    assert util == {"ICESTORM_LC": (6120, 5280), "ICESTORM_RAM": (14, 30), "SB_IO": (7, 39)}
    log = ("Info: Max frequency for clock 'clk': 20.00 MHz (PASS at 12.00 MHz)\n"
           "Info: Max frequency for clock 'clk': 14.84 MHz (PASS at 12.00 MHz)\n")
    assert rep.nextpnr_fmax(log) == {"clk": (14.84, 12.0)}


def test_fit_estimate_from_yosys_cells():
    cells = {"SB_LUT4": 6000, "SB_DFFE": 100, "SB_DFF": 50, "SB_RAM40_4K": 31, "SB_MAC16": 4}
    use = rep.estimate_from_cells("ice40", cells)
    assert use == {"LUT": 6000, "FF": 150, "BRAM": 31, "DSP": 4}
    assert rep.overflow(use, get_board("icebreaker").capacity) == [("LUT", 6000, 5280),
                                                                   ("BRAM", 31, 30)]
    with pytest.raises(fpga.DoesNotFit, match=r"^ice40 does not fit icebreaker \(iCE40UP5K\) "
                       r"after synthesis: LUT: needs 6000, has 5280; over by 720; BRAM: needs 31, has 30$"):
        flow._raise_overflow(load_config("ice40"), get_board("icebreaker"),
                             rep.overflow(use, get_board("icebreaker").capacity), "after synthesis")
