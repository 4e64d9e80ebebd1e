"""The FPGA flow (fpga/): bitstreams for iCE40, ECP5 and Gowin boards, from the
oscillator and from a PLL, report contents checked against fpga/rules.json, and the
one-line failures (unknown board, missing tool, a design that does not fit, a clock the
PLL cannot make). Builds need the YoWASP tools (and Apycula for Gowin) and are skipped
without them."""
import hashlib
import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

import fpga
from fpga import flow, pll
from fpga import report as rep
from fpga.boards import BOARDS, get_board
from hwgen.config import load_config

RULES = json.loads((Path(fpga.__file__).parent / "rules.json").read_text())
#: (board, preset, PLL clock in MHz or None for the oscillator)
BUILDS = [("icebreaker", "ice40", None), ("ulx3s-25f", "ice40", 40)]
#: Two to ten minutes each: opt-in with --runslow. The Tang Nano 9K build spends most of
#: its time in nextpnr-himbaechel's placer (docs/fpga.md has the times).
SLOW_BUILDS = [("ulx3s-25f", "ice40", None), ("ulx3s-25f", "tiny", None),
               ("ulx3s-85f", "tiny", None), ("orangecrab-25f", "tiny", None),
               ("orangecrab-25f", "ice40", None), ("tangnano9k", "ice40", None),
               ("tangnano9k", "ice40", 54), ("icebreaker", "ice40", 20)]


def job_id(job):
    board, preset, mhz = job
    return f"{board}/{preset}" + (f"@{mhz:g}" if mhz else "")


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
                         ids=[job_id(j) for j in BUILDS + SLOW_BUILDS])
def test_build(tmp_path, job):
    board, preset, mhz = job
    why = missing_tools(board)
    if why:
        pytest.skip(why)
    kw = {"clock_mhz": mhz, "pll": True} if mhz else {}
    report = fpga.build(load_config(preset), fpga.FpgaOptions(board, **kw), tmp_path / "out")
    assert isinstance(report, fpga.FpgaReport)
    check_keys(report, mhz)
    check_report(report.as_dict(), job, tmp_path)
    check_bitstream(report.as_dict(), job)


#: nextpnr's name for the PLL bel, per family
PLL_BELS = {"ice40": "ICESTORM_PLL", "ecp5": "EHXPLLL", "gowin": "rPLL"}


def check_clock(report, b, mhz):
    clock = report["clock"]
    if mhz is None:
        assert clock["source"] == "oscillator" and "pll" not in clock
        assert clock["achieved_mhz"] == report["constraint_mhz"] == b.clock_hz / 1e6
        assert report["nextpnr_utilisation"].get(PLL_BELS[b.family], {"used": 0})["used"] == 0
    else:
        pll = clock["pll"]
        assert clock["source"] == "pll" and clock["requested_mhz"] == mhz
        # The constraint is the clock the PLL makes, not the one asked for.
        assert report["constraint_mhz"] == clock["achieved_mhz"] == pll["output_mhz"]
        assert abs(clock["achieved_mhz"] - mhz) / mhz < 0.02
        assert report["nextpnr_utilisation"][PLL_BELS[b.family]]["used"] == 1
    # 115200 baud within 2 %, from the clock the design runs at
    assert clock["uart_divisor"] == round(clock["achieved_mhz"] * 1e6 / 115200)
    assert abs(clock["uart_baud"] - 115200) / 115200 < 0.02


#: The keys of report.json in their order (the file is not sorted), and below them the
#: keys of its objects that are not keyed by data (resources, cells, tools, ...). Recorded
#: from the flow before its report was typed: scripts read these.
REPORT_KEYS = ["board", "family", "device", "package", "config", "params", "oscillator_mhz",
               "clock", "constraint_mhz", "multipliers", "fmax_mhz", "fmax_nets", "timing_met",
               "resources", "nextpnr_utilisation", "yosys_cells", "bitstream",
               "bitstream_bytes", "bitstream_sha256", "seed", "tools", "seconds",
               "critical_path"]
CRITICAL_PATH_KEYS = ["clock", "delay_ns", "logic_ns", "routing_ns", "cells", "carry_cells",
                      "source", "sink", "block"]
CLOCK_KEYS = ["source", "requested_mhz", "achieved_mhz", "uart_divisor", "uart_baud"]
PLL_KEYS = {"primitive", "input_mhz", "output_mhz", "pfd_mhz", "vco_mhz", "params"}
SECONDS_KEYS = ["elaborate", "synth", "pnr", "pack"]


def check_keys(report, mhz):
    """report.json has the recorded keys, in their order; so has the typed report's
    as_dict (which is what was written)."""
    text = json.loads(Path(report.bitstream).with_name("report.json").read_text())
    assert text == report.as_dict()
    assert list(text) == REPORT_KEYS
    assert list(text["clock"]) == CLOCK_KEYS + (["pll"] if mhz else [])
    if mhz:
        assert set(text["clock"]["pll"]) == PLL_KEYS
    assert list(text["seconds"]) == SECONDS_KEYS
    # The path that sets Fmax: its delay is the clock period Fmax gives.
    path = text["critical_path"]
    assert list(path) == CRITICAL_PATH_KEYS
    assert path["delay_ns"] == pytest.approx(1000 / min(text["fmax_mhz"].values()), abs=0.02)
    assert path["logic_ns"] + path["routing_ns"] == pytest.approx(path["delay_ns"], abs=0.02)
    for group in ("resources", "nextpnr_utilisation"):
        assert all(list(r) == ["used", "available"] for r in text[group].values()), group
    # The typed fields say the same.
    assert report.resources["LUT"].used == text["resources"]["LUT"]["used"]
    assert report.clock.achieved_mhz == text["clock"]["achieved_mhz"]
    assert (report.clock.pll is not None) == bool(mhz)


def check_report(report, job, root):
    board, _, mhz = job
    b = get_board(board)
    for key in ("board", "device", "fmax_mhz", "constraint_mhz", "timing_met", "resources",
                "bitstream", "bitstream_bytes", "bitstream_sha256", "tools", "seconds", "clock"):
        assert key in report, key
    assert report["board"] == board and report["device"] == b.device
    check_clock(report, b, mhz)
    assert set(report["seconds"]) == {"elaborate", "synth", "pnr", "pack"}
    assert set(report["tools"]) == set(flow.FAMILY_TOOLS[b.family])
    for name in ("LUT", "FF", "BRAM", "DSP"):
        r = report["resources"][name]
        assert 0 < r["used"] <= r["available"] == b.capacity[name], (name, r)

    rule = RULES[job_id(job)]
    for name, limit in rule["max"].items():
        assert report["resources"][name]["used"] <= limit, f"{name} above the rule: {report['resources'][name]}"
    assert list(report["fmax_mhz"]) == ["sync"]
    assert report["fmax_mhz"]["sync"] >= rule["min_fmax_mhz"]
    assert report["timing_met"] is rule.get("timing_met", True)
    assert report["multipliers"] == rule.get("multipliers", "dsp")

    # Published in place, with nothing half-built beside it.
    assert json.loads((root / "out" / "report.json").read_text()) == report
    assert sorted(p.name for p in root.iterdir()) == ["out"]
    table = fpga.format_table(report)
    assert "fmax" in table and board in table


def check_bitstream(report, job):
    board = job[0]
    bit = Path(report["bitstream"]).read_bytes()
    lo, hi = RULES[job_id(job)]["bitstream_bytes"]
    assert len(bit) == report["bitstream_bytes"] and lo <= len(bit) <= hi
    assert hashlib.sha256(bit).hexdigest() == report["bitstream_sha256"]
    family = get_board(board).family
    if family == "gowin":
        check_gowin_fs(bit)
        return
    # Both begin with a comment block (0xFF 0x00 ... 0x00 0xFF), then the sync words.
    assert bit[:2] == b"\xff\x00"
    if family == "ice40":
        assert b"\x7e\xaa\x99\x7e" in bit[:64]
    else:
        assert b"\xff\xff\xbd\xb3" in bit[:128]


#: JTAG IDCODE of the GW1N(R)-9C die
GW1N_9C_IDCODE = 0x1100481B


def check_gowin_fs(bit: bytes):
    """A Gowin .fs file is text: one line of '0'/'1' per word or frame. All-ones
    preamble lines, the sync word 0xA5C3, then the IDCODE check command (0x06) carrying
    the die's IDCODE; then the configuration frames, all of one length."""
    lines = bit.decode("ascii").split()
    assert set("".join(lines)) == {"0", "1"}
    i = 0
    while set(lines[i]) == {"1"}:
        i += 1
    assert 0 < i < 4, "expected a short all-ones preamble"
    assert int(lines[i], 2) == 0xA5C3 and len(lines[i]) == 16
    idcode = lines[i + 1]
    assert len(idcode) == 64 and int(idcode, 2) >> 56 == 0x06
    assert int(idcode, 2) & 0xFFFFFFFF == GW1N_9C_IDCODE
    frame_lengths = {len(ln) for ln in lines if len(ln) > 1000}
    assert len(frame_lengths) == 1
    assert sum(len(ln) > 1000 for ln in lines) > 700  # the GW1N-9C has 712 frames


# ---- failures -------------------------------------------------------------------------
def test_unknown_board(tmp_path):
    with pytest.raises(fpga.UnknownBoard) as e:
        fpga.build(load_config("ice40"), fpga.FpgaOptions("de0-nano"), tmp_path / "out")
    assert str(e.value) == ("unknown board 'de0-nano' (known: icebreaker, orangecrab-25f, "
                            "tangnano9k, ulx3s-25f, ulx3s-85f)")
    assert not (tmp_path / "out").exists()


def test_bad_clock():
    with pytest.raises(ValueError, match=r"^clock_mhz must be positive, got 0$"):
        fpga.FpgaOptions("icebreaker", clock_mhz=0)
    with pytest.raises(ValueError, match=r"^pll=True needs clock_mhz$"):
        fpga.FpgaOptions("icebreaker", pll=True)


@pytest.mark.parametrize("board,var,tool", [("icebreaker", "YOSYS", "yosys"),
                                            ("icebreaker", "ICEPACK", "icepack"),
                                            ("ulx3s-25f", "NEXTPNR_ECP5", "nextpnr-ecp5"),
                                            ("tangnano9k", "NEXTPNR_HIMBAECHEL", "nextpnr-himbaechel"),
                                            ("tangnano9k", "GOWIN_PACK", "gowin_pack")])
def test_missing_tool(tmp_path, monkeypatch, board, var, tool):
    monkeypatch.setenv(var, str(tmp_path / "no-such-tool"))
    with pytest.raises(fpga.ToolMissing) as e:
        fpga.build(load_config("ice40"), fpga.FpgaOptions(board), tmp_path / "out")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tool} (for ") and f"{var}={tmp_path / 'no-such-tool'}" in msg
    assert f"pip install {flow.TOOLS[tool][2]}" in msg
    assert not (tmp_path / "out").exists()


def test_ws16_does_not_fit_icebreaker_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("YOSYS", str(tmp_path / "no-such-tool"))  # decided before any tool
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("ws16"), fpga.FpgaOptions("icebreaker"), tmp_path / "out")
    assert e.value.resource == "BRAM" and e.value.needed > e.value.available
    assert str(e.value).startswith("ws16 does not fit icebreaker (iCE40UP5K): BRAM: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_tiny_does_not_fit_icebreaker(tmp_path):
    if missing_tools("icebreaker"):
        pytest.skip(missing_tools("icebreaker"))
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("tiny"), fpga.FpgaOptions("icebreaker"), tmp_path / "out")
    assert e.value.resource in ("LUT", "DSP", "BRAM")
    assert (tmp_path / "out.failed" / "yosys.log").exists()


# ---- publishing, without tools ---------------------------------------------------------
def fake_report(board: str, bitstream: str) -> fpga.FpgaReport:
    """A report with made-up numbers, for builds whose tools are faked."""
    return fpga.FpgaReport(
        board=board, family="ice40", device="d", package="p", config="c", params={},
        oscillator_mhz=12.0,
        clock=rep.ClockReport("oscillator", None, 12.0, uart_divisor=104, uart_baud=115384.6),
        constraint_mhz=12.0, multipliers="dsp", fmax_mhz={"sync": 20.0},
        fmax_nets={"clk": 20.0}, timing_met=True, resources={"LUT": rep.Resource(1, 2)},
        nextpnr_utilisation={}, yosys_cells={}, bitstream=bitstream, bitstream_bytes=2,
        bitstream_sha256="0" * 64, seed=1, tools={}, seconds={})


def test_failed_build_is_never_published(tmp_path, monkeypatch):
    for t in flow.TOOLS:
        monkeypatch.setenv(flow.TOOLS[t][0], "true")

    def good(bd):
        (bd.work / "top.bin").write_bytes(b"\xff\x00")
        return fake_report(bd.board.name, str(bd.work / "top.bin"))

    def broken(bd):
        (bd.work / "top.il").write_text("half")
        raise flow.FlowError("nextpnr-ice40 failed: interrupted")

    out = tmp_path / "out"
    monkeypatch.setattr(flow, "_build_in", good)
    fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), out)  # an earlier build
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(flow, "_build_in", broken)
    with pytest.raises(flow.FlowError):
        fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert (tmp_path / "out.failed" / "top.il").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.failed"]

    monkeypatch.setattr(flow, "_build_in", good)
    r = fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), out)
    assert r.bitstream == str(out / "top.bin")
    assert json.loads((out / "report.json").read_text()) == r.as_dict()
    assert sorted(p.name for p in out.iterdir()) == [".hwgen.json", "report.json", "top.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_user_files_are_never_replaced(tmp_path, monkeypatch):
    """A directory hwgen did not write is refused before any work; with force, only the
    names hwgen writes are replaced there."""
    from hwgen.lib.outdir import OutputError
    for t in flow.TOOLS:
        monkeypatch.setenv(flow.TOOLS[t][0], "true")
    calls = []

    def good(bd):
        calls.append(bd.work)
        (bd.work / "top.bin").write_bytes(b"\xff\x00")
        return fake_report(bd.board.name, str(bd.work / "top.bin"))

    monkeypatch.setattr(flow, "_build_in", good)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(OutputError, match="holds files hwgen did not write"):
        fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), out)
    afile = tmp_path / "afile"
    afile.write_text("a file")
    with pytest.raises(OutputError, match="not a directory"):
        fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), afile)
    assert not calls and afile.read_text() == "a file"
    fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker"), out, force=True)
    assert (out / "notes.txt").read_text() == "my notes" and (out / "top.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "mine"]


@pytest.mark.parametrize("fallback", [True, False])
def test_dsp_overflow_falls_back_to_logic_multipliers(tmp_path, monkeypatch, fallback):
    """Only the DSP blocks overflow: the flow synthesises again with every multiplier in
    logic cells (and here overflows the LUTs that way), or, without the fallback, stops
    at the DSP count. Yosys is faked: it writes the cell counts of each script."""
    pytest.importorskip("amaranth_boards")
    b = get_board("ulx3s-85f")
    cap = b.capacity
    with_dsp = {"LUT4": cap["LUT"] // 2, "MULT18X18D": cap["DSP"] + 12}
    in_logic = {"LUT4": cap["LUT"] + 100}
    scripts = []

    def fake_run(tool, path, args, cwd, log_name):
        assert tool == "yosys", "nothing after synthesis may run for a design that does not fit"
        script = (cwd / "top.ys").read_text()
        scripts.append(script)
        cells = in_logic if "-nodsp" in script else with_dsp
        (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": cells}}))
        (cwd / log_name).write_text("")

    monkeypatch.setattr(flow, "_run", fake_run)
    monkeypatch.setattr(flow, "find_tool", lambda t: t)
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("ice40"), fpga.FpgaOptions("ulx3s-85f", dsp_fallback=fallback),
                   tmp_path / "out")
    if fallback:
        assert len(scripts) == 2 and "-nodsp" in scripts[1]
        assert e.value.resource == "LUT" and e.value.needed == cap["LUT"] + 100
        assert "with multipliers in logic cells" in str(e.value)
    else:
        assert len(scripts) == 1 and "-nodsp" not in scripts[0]
        assert (e.value.resource, e.value.needed, e.value.available) == \
            ("DSP", cap["DSP"] + 12, cap["DSP"])
        assert "over by 12" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_dsp_overflow_builds_the_smallest_multipliers_from_logic(tmp_path, monkeypatch):
    """A few DSP blocks short: the smallest multipliers go to logic cells (Booth, before
    the family's synthesis) and the rest stay in DSP blocks; when that still overflows
    the DSP blocks, every multiplier goes to logic. Yosys is faked: it writes the cell
    counts of each script."""
    pytest.importorskip("amaranth_boards")
    b = get_board("orangecrab-25f")
    cap = b.capacity
    cfg = load_config("tiny")
    muls = flow.multipliers_in(flow.elaborate(cfg, b)["top.il"])
    scripts = []

    def fake_run(tool, path, args, cwd, log_name):
        assert tool == "yosys"
        script = (cwd / "top.ys").read_text()
        scripts.append(script)
        if "booth" in script:
            cells = {"LUT4": cap["LUT"] // 2, "MULT18X18D": cap["DSP"] + 1}
        elif "-nodsp" in script:
            cells = {"LUT4": cap["LUT"] + 100}
        else:
            cells = {"LUT4": cap["LUT"] // 2, "MULT18X18D": cap["DSP"] + 3}
        (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": cells}}))
        (cwd / log_name).write_text("")

    monkeypatch.setattr(flow, "_run", fake_run)
    monkeypatch.setattr(flow, "find_tool", lambda t: t)
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(cfg, fpga.FpgaOptions("orangecrab-25f"), tmp_path / "out")
    # 3 too many: the three smallest multipliers (one block each) go to logic cells;
    # each time one block is still missing, the next smallest; then all of them.
    assert len(scripts) == 2 + flow.MIXED_ROUNDS and "-nodsp" in scripts[-1]
    order = [f"{m.module}/{m.cell}" for m in
             sorted(muls, key=lambda m: (m.a_bits * m.b_bits, m.module, m.cell))]
    for i, script in enumerate(scripts[1:-1]):
        lines = script.splitlines()
        assert lines[1] == "proc" and lines[2].startswith("booth ")
        assert lines[2].split()[1:] == order[:3 + i]
    assert e.value.resource == "LUT" and "with multipliers in logic cells" in str(e.value)

    # The same, but the mixed netlist overflows the LUTs: that is the answer.
    scripts.clear()

    def fake_lut(tool, path, args, cwd, log_name):
        fake_run(tool, path, args, cwd, log_name)
        if "booth" in scripts[-1]:
            cells = {"LUT4": cap["LUT"] + 7, "MULT18X18D": cap["DSP"]}
            (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": cells}}))

    monkeypatch.setattr(flow, "_run", fake_lut)
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(cfg, fpga.FpgaOptions("orangecrab-25f"), tmp_path / "out2")
    assert len(scripts) == 2 and "booth" in scripts[1]
    assert e.value.resource == "LUT" and "with 3 multipliers in logic cells" in str(e.value)


@pytest.mark.parametrize("failed_pass, retried", [
    ("ABC_OPS_REINTEGRATE pass (reintegrate ABC mapped design into module).", True),
    ("ABC9.", True),
    ("OPT_EXPR pass (perform const folding).", False),
])
def test_abc9_crash_maps_the_luts_with_abc(tmp_path, monkeypatch, failed_pass, retried):
    """An ECP5 synthesis whose abc9 step fails an assertion runs again with the LUTs
    mapped by abc (and its DSP fallback runs keep that); any other yosys failure is the
    answer. Yosys is faked."""
    pytest.importorskip("amaranth_boards")
    cap = get_board("ulx3s-25f").capacity
    scripts = []

    def fake_run(tool, path, args, cwd, log_name):
        script = (cwd / "top.ys").read_text()
        scripts.append(script)
        if "abc -lut 4" not in script:
            (cwd / "yosys.log").write_text(f"2.46.16.7. Executing {failed_pass}\n"
                                           "ERROR: Assert `x' failed in rtlil.cc:3091.\n")
            raise flow.FlowError("yosys failed: exit code 1", cwd / "yosys.log")
        cells = ({"LUT4": cap["LUT"] // 2, "MULT18X18D": cap["DSP"] + 1} if len(scripts) == 2
                 else {"LUT4": cap["LUT"] + 5, "MULT18X18D": cap["DSP"]})
        (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": cells}}))

    monkeypatch.setattr(flow, "_run", fake_run)
    monkeypatch.setattr(flow, "find_tool", lambda t: t)
    lines = []
    if not retried:
        with pytest.raises(flow.FlowError, match="exit code 1"):
            fpga.build(load_config("tiny"), fpga.FpgaOptions("ulx3s-25f"), tmp_path / "out",
                       progress=lines.append)
        assert len(scripts) == 1
        return
    with pytest.raises(fpga.DoesNotFit) as e:
        fpga.build(load_config("tiny"), fpga.FpgaOptions("ulx3s-25f"), tmp_path / "out",
                   progress=lines.append)
    assert e.value.resource == "LUT"
    # the crash, the retry with abc, then one with a multiplier in logic cells, also with abc
    assert len(scripts) == 3 and "booth" in scripts[2] and "abc -lut 4" in scripts[2]
    assert scripts[1].splitlines()[1:6] == [
        "synth_ecp5 -top top -run :map_luts", "techmap -map +/lattice/latches_map.v",
        "abc -lut 4", "clean", "synth_ecp5 -top top -run map_cells:"]
    assert any("abc9 failed" in line and "LUTs mapped with abc" in line for line in lines)


def test_multipliers_of_the_rtlil(tmp_path):
    """Every $mul cell of the board top's RTLIL with its module and widths: one per PE
    of the array, and which ones to build from logic cells for a given DSP shortfall."""
    pytest.importorskip("amaranth_boards")
    cfg = load_config("tiny")
    muls = flow.multipliers_in(flow.elaborate(cfg, get_board("orangecrab-25f"))["top.il"])
    pes = [m for m in muls if ".mesh.pe_" in m.module]
    assert len(pes) == cfg.array.rows * cfg.array.cols
    assert all((m.a_bits, m.b_bits) == (8, 8) and m.cell.startswith("$") for m in pes)
    assert len({(m.module, m.cell) for m in muls}) == len(muls)
    wide = flow.Multiplier("x", "$1", 20, 16)   # two 18x18 blocks on ECP5, two 16x16 on iCE40
    assert flow.to_logic([wide], "ecp5", 1) == [wide]
    assert flow.to_logic([wide, pes[0]], "ecp5", 1) == [pes[0]]
    assert flow.to_logic([wide, pes[0]], "ecp5", 2) == [pes[0], wide]
    assert flow.to_logic(muls, "ecp5", 0) == []
    assert flow.yosys_script(get_board("icebreaker"), in_logic=[wide]).splitlines()[:3] == [
        "read_rtlil top.il", "proc", "booth x/$1"]


@pytest.mark.parametrize("reach, kept", [
    # (Fmax of the oscillator build, of a PLL build at F MHz) -> the build kept
    ((24.78, lambda f: 23.5 if f > 23.5 else 25.0), "pll-2"),   # pll-1 misses, pll-2 meets
    ((24.78, lambda f: 30.0), "pll-1"),
    ((15.0, lambda f: 99.0), "oscillator"),     # the UP5K's PLL makes nothing below 16.125
    ((11.0, lambda f: 99.0), "oscillator"),     # even the oscillator misses: nothing to try
])
def test_auto_clock(tmp_path, monkeypatch, reach, kept):
    """--clock-mhz auto with the stages faked: each PLL build is at the highest
    frequency the PLL makes at or below the previous build's Fmax, the first that meets
    its target (else the oscillator build) is kept in the output, the others beside it."""
    first, at_pll = reach
    targets = []

    def fake_build_in(bd):
        targets.append(bd.target)
        (bd.work / "top.bin").write_bytes(b"\x01" * 4)
        (bd.work / "nextpnr.log").write_text(f"at {bd.target}")
        fmax = first if bd.clock["pll"] is None else at_pll(bd.target)
        r = fake_report(bd.board.name, str(bd.work / "top.bin"))
        clock = rep.ClockReport(bd.clock["source"], bd.clock["requested_mhz"],
                                round(bd.clock["achieved_mhz"], 6), 104, 115384.6)
        return replace(r, clock=clock, constraint_mhz=bd.target, fmax_mhz={"sync": fmax},
                       timing_met=fmax >= bd.target)

    monkeypatch.setattr(flow, "_build_in", fake_build_in)
    monkeypatch.setattr(flow, "find_tool", lambda t: t)
    out = tmp_path / "out"
    r = fpga.build(load_config("ice40"), fpga.FpgaOptions("icebreaker", auto_clock=True), out)
    search = r.as_dict()["clock_search"]
    assert search["chosen"] == kept
    expect = [12.0]
    if first >= 12:
        limit = first
        while len(expect) < 1 + flow.AUTO_PLL_BUILDS:
            try:
                f = float(pll.solve_below("ice40", 12, Fraction(str(limit))).f_out)
            except pll.ClockOutOfRange:
                break
            expect.append(round(f, 6))
            if at_pll(f) >= f:
                break
            limit = at_pll(f)
    assert targets == expect
    assert [b["clock_mhz"] for b in search["builds"]] == expect
    assert all(b["clock_mhz"] <= prev["fmax_mhz"] for prev, b in
               zip(search["builds"], search["builds"][1:]))
    assert (out / "nextpnr.log").read_text() == f"at {r.constraint_mhz}"
    assert r.bitstream == str(out / "top.bin")
    others = sorted(b["name"] for b in search["builds"] if b["name"] != kept)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == others
    assert json.loads((out / "report.json").read_text())["clock_search"] == search


# ---- scripts and parsing, as text --------------------------------------------------------
def test_scripts():
    ice, ecp, gw = get_board("icebreaker"), get_board("orangecrab-25f"), get_board("tangnano9k")
    assert "synth_ice40 -dsp -top top" in flow.yosys_script(ice)
    assert "synth_ecp5 -top top" in flow.yosys_script(ecp)
    assert "synth_gowin -top top" in flow.yosys_script(gw)
    # Multipliers in logic cells, when the DSP blocks are too few.
    assert "synth_ice40 -top top" in flow.yosys_script(ice, dsp=False)
    assert "synth_ecp5 -top top -nodsp" in flow.yosys_script(ecp, dsp=False)
    assert "synth_gowin -top top -nodsp" in flow.yosys_script(gw, dsp=False)
    args = flow.nextpnr_args(gw, 27.0, 2)
    assert args[:4] == ["--device", "GW1NR-LV9QN88PC6/I5", "--vopt", "family=GW1N-9C"]
    assert args[args.index("--write") + 1] == "routed.json"
    assert "cst=top.cst" in args and args[args.index("--freq") + 1] == "27"
    assert flow.pack_args(gw) == ["-d", "GW1N-9C", "--sspi_as_gpio", "--mspi_as_gpio",
                                  "-o", "top.fs", "routed.json"]
    assert flow.bitstream_name(gw) == "top.fs"
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
        cons = files[flow.CONSTRAINTS[b.family]]
        assert "uart_0__rx" in cons and "uart_0__tx" in cons, name
        assert "set_frequency" not in cons and "FREQUENCY" not in cons
        for role, (res, num, *_) in b.leds.items():
            assert f"{res}_{num}__" in cons, (name, role)


def test_tangnano9k_pins():
    """The Tang Nano 9K's BL702 UART (FPGA 17 TX, 18 RX), S1 on pin 3, active-low LEDs on
    10, 11, 13 (the platform inverts them: a lit LED is a 1 in the design)."""
    pytest.importorskip("amaranth_boards")
    b = get_board("tangnano9k")
    cst = flow.elaborate(load_config("ice40"), b)["top.cst"]
    for port, pin in (("uart_0__tx__io", 17), ("uart_0__rx__io", 18), ("button_0__io", 3),
                      ("led_0__io", 10), ("led_1__io", 11), ("led_2__io", 13),
                      ("clk27_0__io", 52)):
        assert f'IO_LOC "{port}" {pin};' in cst
    plat = b.platform()
    assert all(plat.lookup("led", i).ios[0].invert for i in range(3))
    assert plat.lookup("button", 0).ios[0].invert


NEXTPNR_OVERFLOW_LOG = """\
Info: Device utilisation:
Info: 	         ICESTORM_LC:  6120/  5280   115%
Info: 	        ICESTORM_RAM:    14/    30    46%
Info: 	               SB_IO:     7/    39    17%
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'
"""


GOWIN_UTIL = {"LUT4": (2816, 8640), "ALU": (1040, 6480), "DFF": (1473, 6480),
              "BSRAM": (9, 26), "MULT18X18": (2, 20), "MULT9X9": (6, 40), "IOB": (3, 276),
              "RAM16SDP4": (12, 270)}


def test_gowin_resources():
    cells = {"LUT1": 159, "LUT2": 359, "LUT3": 898, "LUT4": 626, "ALU": 946, "DFFRE": 614,
             "DFFR": 859, "DPX9B": 5, "SDPX9B": 4, "MULT18X18": 2, "MULT9X9": 6, "IBUF": 3,
             "TBUF": 4, "MUX2_LUT5": 174}
    cap = get_board("tangnano9k").capacity
    res = rep.resources("gowin", GOWIN_UTIL, cells, cap)
    assert {k: v["used"] for k, v in res.items()} == {
        "LUT": 2816 + 1040, "FF": 1473, "BRAM": 9, "DSP": 2 + 3, "IO": 7, "SSRAM": 12}
    assert res["LUT"]["available"] == 8640 and res["DSP"]["available"] == 20
    assert rep.estimate_from_cells("gowin", cells) == {
        "LUT": 159 + 359 + 898 + 626 + 946, "FF": 614 + 859, "BRAM": 9, "DSP": 5}


def test_parse_nextpnr_log():
    util = rep.nextpnr_utilisation(NEXTPNR_OVERFLOW_LOG)
    assert util == {"ICESTORM_LC": (6120, 5280), "ICESTORM_RAM": (14, 30), "SB_IO": (7, 39)}
    log = ("Info: Max frequency for clock 'clk': 20.00 MHz (PASS at 12.00 MHz)\n"
           "Info: Max frequency for clock 'clk': 14.84 MHz (PASS at 12.00 MHz)\n")
    assert rep.nextpnr_fmax(log) == {"clk": (14.84, 12.0)}


def _step(kind, delay, cell, port, to_cell=None, to_port=None, net=None):
    step = {"type": kind, "delay": delay, "from": {"cell": cell, "port": port, "loc": [0, 0]},
            "to": {"cell": to_cell or cell, "port": to_port or port, "loc": [0, 0]}}
    if net:
        step["net"] = net
    return step


def test_critical_path_summary():
    """The path of the slowest clock: its ends, the logic/routing split, the cells
    entered through a carry input and the block holding both ends."""
    slow = [_step("clk-to-q", 1.0, "a.b.shift_DFFLC", "O"),
            _step("routing", 3.0, "a.b.shift_DFFLC", "O", "a.b.x_LC", "I2", net="a.b.shift[1]"),
            _step("logic", 1.5, "a.b.x_LC", "I2", "a.b.x_LC", "O"),
            _step("routing", 0.0, "a.b.x_LC", "COUT", "a.b.c$1_LC", "CIN", net="a.b.$c"),
            _step("logic", 0.25, "a.b.c$1_LC", "CIN", "a.b.c$1_LC", "COUT"),
            _step("routing", 2.0, "a.b.c$1_LC", "O", "a.b.d.r_LC", "I1", net="a.b.$n"),
            _step("setup", 1.25, "a.b.d.r_LC", "I1")]
    fast = [_step("clk-to-q", 1.0, "z_DFFLC", "O"),
            _step("routing", 1.0, "z_DFFLC", "O", "y_LC", "I0", net="y_LC_I0"),
            _step("setup", 1.0, "y_LC", "I0")]
    report = {"fmax": {"clk": {"achieved": 111.0, "constraint": 12}, "slow": {"achieved": 20.0,
                                                                              "constraint": 12}},
              "critical_paths": [
                  {"from": "posedge clk", "to": "posedge clk", "path": fast},
                  {"from": "<async>", "to": "posedge slow", "path": fast},
                  {"from": "posedge slow", "to": "posedge slow", "path": slow}]}
    cp = rep.critical_path(json.dumps(report))
    assert cp == rep.CriticalPath(
        clock="slow", delay_ns=9.0, logic_ns=4.0, routing_ns=5.0, cells=2, carry_cells=1,
        source="a.b.shift[1]", sink="a.b.d.r_LC.I1", block="a.b")
    assert rep.critical_path(json.dumps({"fmax": {}, "critical_paths": []})) is None
    # A first net named after the logic it feeds: the register's cell names the start.
    report["fmax"]["clk"]["achieved"] = 10.0
    fast_cp = rep.critical_path(json.dumps(report))
    assert (fast_cp.clock, fast_cp.source, fast_cp.sink, fast_cp.block, fast_cp.cells) == \
        ("clk", "z_DFFLC", "y_LC.I0", "", 0)
    line = [ln for ln in fpga.format_table({**fake_report("icebreaker", "top.bin").as_dict(),
                                           "critical_path": cp.as_dict()}).splitlines()
            if ln.startswith("path")]
    assert line == ["path       9.00 ns in a.b: a.b.shift[1] -> a.b.d.r_LC.I1, 2 cells "
                    "(1 in carry chains), 4.00 ns logic, 5.00 ns routing"]


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


# ---- the command line ---------------------------------------------------------------------
@pytest.mark.parametrize("board,mhz,range_text", [
    ("icebreaker", "300", "the SB_PLL40_PAD makes 16.125-270 MHz from 12 MHz"),
    ("tangnano9k", "2", "the rPLL makes 3.375-594 MHz from 27 MHz"),
    ("ulx3s-25f", "500", "the EHXPLLL makes 3.125-400 MHz from 25 MHz"),
])
def test_cli_clock_out_of_range(tmp_path, capsys, board, mhz, range_text):
    from hwgen.cli import main
    code = main(["fpga", "ice40", "--board", board, "--clock-mhz", mhz, "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err == (f"hwgen: --clock-mhz {mhz} for {board}: {mhz} MHz is out of range: "
                   f"{range_text} (or exactly {get_board(board).clock_hz / 1e6:g} MHz, the "
                   "oscillator, without it)")
    assert not (tmp_path / "out").exists()


def test_cli_clock_auto(tmp_path, capsys, monkeypatch):
    """--clock-mhz auto reaches the flow as auto_clock; the table shows every build."""
    def fake_build_in(bd):
        (bd.work / "top.bin").write_bytes(b"\x01")
        setting = bd.clock["pll"]
        fmax = 24.78 if setting is None else 30.0
        clock = rep.ClockReport(bd.clock["source"], bd.clock["requested_mhz"],
                                round(bd.clock["achieved_mhz"], 6), 104, 115384.6,
                                setting.describe() if setting else None)
        return replace(fake_report(bd.board.name, str(bd.work / "top.bin")), clock=clock,
                       constraint_mhz=bd.target, fmax_mhz={"sync": fmax}, timing_met=True)

    monkeypatch.setattr(flow, "_build_in", fake_build_in)
    monkeypatch.setattr(flow, "find_tool", lambda t: t)
    from hwgen.cli import main
    code = main(["fpga", "ice40", "--board", "icebreaker", "--clock-mhz", "auto",
                 "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert ("clock auto oscillator 12 MHz: Fmax 24.78 met; pll-1 24.75 MHz: Fmax 30.00 met "
            "(kept)") in out.splitlines()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["clock"]["achieved_mhz"] \
        == 24.75


def test_tangnano9k_programming_command(tmp_path):
    from fpga.program import program, program_command
    b = get_board("tangnano9k")
    assert program_command(Path("top.fs"), b) == ["-b", "tangnano9k", "top.fs"]
    assert program_command(Path("top.fs"), b, flash=True) == ["-b", "tangnano9k", "-f", "top.fs"]
    (tmp_path / "top.bit").write_bytes(b"\xff\x00")
    with pytest.raises(fpga.FlowError, match=r"^tangnano9k takes a \.fs bitstream, got top\.bit$"):
        program(tmp_path / "top.bit", "tangnano9k")


def test_tools_run_without_our_warning_policy(tmp_path, monkeypatch):
    """PYTHONWARNINGS=error (the test suite's) is not passed on to the tools: gowin_pack
    0.32 fails under it on a DeprecationWarning of its own."""
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\nif [ -n "$PYTHONWARNINGS" ]; then echo "ERROR: warnings leaked"; exit 1; fi\n'
                    'echo "$HWGEN_PROBE" > seen\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    monkeypatch.setenv("HWGEN_PROBE", "kept")
    flow._run("gowin_pack", str(tool), [], tmp_path, "pack.log")
    assert (tmp_path / "seen").read_text() == "kept\n"  # the rest of the environment is kept
