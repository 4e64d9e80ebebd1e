"""The SRAM macro model: its constants against the published macros it is fitted to,
the files written for Yosys and OpenSTA, and OpenSTA timing a path through a macro."""
import re

import pytest

from asic_flow import ToolMissing, UnknownPdk, macros, pdks, sta, tools

S16 = macros.shape_of(16, 16)


def _by(name):
    return next(s for s in macros.SOURCES if s["macro"].endswith(name))


def test_model_lines_pass_through_the_published_macros():
    # Area: the line through the two LEF footprints (before scaling to 180 nm).
    for src in (_by("32x256_8"), _by("32x512_8")):
        w, h = src["size_um"]
        fit = macros.AREA_FIXED_UM2 + macros.AREA_PER_BIT_UM2 * src["bits"]
        assert fit == pytest.approx(w * h, rel=2e-3)
    # Access energy and leakage: lines through the 32x256 and 32x1024 figures.
    for src in (_by("32x256_8"), _by("32x1024_8")):
        e = macros.ACCESS_FIXED_PJ + macros.ACCESS_PER_BIT_PJ * src["bits"]
        assert e == pytest.approx(src["access_pj"], rel=1e-2)
        leak = macros.LEAK_FIXED_UW + macros.LEAK_PER_BIT_UW * src["bits"]
        assert leak == pytest.approx(src["leakage_uw"], rel=2e-2)
    big = _by("32x1024_8")
    assert macros.IDLE_SHARE == pytest.approx(big["idle_pj"] / big["access_pj"], abs=0.01)
    assert macros.CLK_TO_Q_NS == max(s.get("clk_to_q_ns", 0) for s in macros.SOURCES)


def test_model_scaling_and_shapes():
    m = macros.model(S16)
    scale = 180 / 130
    assert m["area_um2"] == pytest.approx((110_380 + 10.63 * 256) * scale ** 2, rel=1e-6)
    assert m["clk_to_q_ns"] == pytest.approx(3.382 * scale, rel=1e-4)
    assert m["setup_ns"] == 0.0 and m["hold_ns"] == pytest.approx(0.795 * scale, rel=1e-4)
    assert m["idle_pj"] == pytest.approx(0.36 * m["access_pj"], rel=1e-3)
    assert macros.shape_of(44, 7) == macros.Shape(44, 8) and macros.Shape(44, 8).abits == 3
    assert S16.name == "HWGEN_SRAM_16X16" and S16.libmap_name == "$__HWGEN_SRAM_16X16_"
    mems = [{"module": "hwgen_top.input_buf", "name": "bank0", "width": 16, "depth": 16},
            {"module": "hwgen_top.input_buf", "name": "bank1", "width": 16, "depth": 16},
            {"module": "hwgen_top.acc_buf", "name": "bank0", "width": 44, "depth": 16},
            {"module": "hwgen_top.host.read_fifo", "name": "storage", "width": 44, "depth": 7}]
    assert macros.shapes_for(mems) == [S16, macros.Shape(44, 16)]  # the FIFO stays flops


def test_yosys_files_text():
    lib = macros.memlib_text([S16])
    assert "ram block $__HWGEN_SRAM_16X16_ {" in lib and "abits 4;" in lib
    assert "wrtrans all old;" in lib and "rden;" in lib
    assert f"cost {round((10_380 + 16 * 16) / 16)};" in lib    # (fixed + bits) / 16
    tm = macros.techmap_text([S16])
    assert "module \\$__HWGEN_SRAM_16X16_ (" in tm
    assert ".Q15(PORT_R_RD_DATA[15])" in tm and ".WA3(PORT_W_ADDR[3])" in tm
    bb = macros.blackbox_text([S16])
    assert bb.count("(* blackbox *)") == 1 and "  output Q0;" in bb and "  input RA3;" in bb
    sim = macros.verilog_models([S16])
    assert "if (RE) q <= mem[ra];" in sim and "if (WE) mem[wa] <= d;" in sim


def test_libmap_cost_keeps_a_memory_on_its_own_shape():
    """A wide memory must not be cheaper (or as cheap) as narrower macros side by side,
    nor a memory cheaper on a deeper macro than on its own."""
    cost = macros.libmap_cost
    for w, d in ((112, 64), (32, 64), (56, 16), (16, 1024)):
        own = cost(macros.shape_of(w, d))
        for part in (8, 16, w // 2):
            if w % part == 0 and part < w:
                assert own < (w // part) * cost(macros.shape_of(part, d)), (w, d, part)
        assert own < cost(macros.shape_of(w, 2 * d))
        assert own < 2 * cost(macros.shape_of(w, d // 2))   # nor split in depth


def test_liberty_times_paths_through_the_macro(tmp_path):
    """A flip-flop -> macro D -> (clock) macro Q -> flip-flop: OpenSTA reads the
    generated Liberty cleanly, checks setup at D and starts a path at Q with the
    modelled clock-to-output delay."""
    try:
        tool, lib = tools.find_sta(), pdks.find_pdk("osu018")
    except (ToolMissing, UnknownPdk) as e:
        pytest.skip(f"ASIC tools not installed: {e}")
    (tmp_path / "m.lib").write_text(macros.liberty_text([S16]))
    conns = ", ".join([".CLK(clk)", ".WE(we)", ".RE(q0)"]
                      + [f".WA{i}(1'b0)" for i in range(4)] + [f".RA{i}(1'b0)" for i in range(4)]
                      + [f".D{i}(q0)" for i in range(16)] + [".Q0(m0)"]
                      + [f".Q{i}()" for i in range(1, 16)])
    (tmp_path / "n.v").write_text(
        "module top (clk, we, a, y);\n  input clk, we, a;\n  output y;\n  wire q0, m0, n1;\n"
        "  DFFPOSX1 r0 (.CLK(clk), .D(a), .Q(q0));\n"
        f"  HWGEN_SRAM_16X16 mem ({conns});\n"
        "  INVX1 u1 (.A(m0), .Y(n1));\n"
        "  DFFPOSX1 r1 (.CLK(clk), .D(n1), .Q(y));\nendmodule\n")
    (tmp_path / "t.tcl").write_text(
        f"read_liberty {lib.liberty}\nread_liberty m.lib\nread_verilog n.v\nlink_design top\n"
        "create_clock -name clk -period 10 [get_ports clk]\n"
        "report_checks -from [get_pins mem/CLK] -format full -digits 4\n"
        "report_checks -to [get_pins mem/D3] -format full -digits 4\n"
        "report_power -instances [get_cells mem] -digits 6\nputs \"@@ end\"\n")
    out = sta._run_sta(tool, tmp_path, "t.tcl", "t.log", 60, "sta")
    assert sta.read_problems(out) == []
    m = macros.model(S16)
    first, second = out.split("Startpoint:")[1:3]
    # Path from the macro: its Q switches clk_to_q after the edge, then INVX1 -> r1.
    assert re.search(rf"^\s*{m['clk_to_q_ns']:.4f}\s+{m['clk_to_q_ns']:.4f}\s+[v^] mem/Q0 ",
                     first, re.M)
    assert "Endpoint: r1 " in first
    # Path into the macro: checked against its setup time at the clock edge.
    assert "Endpoint: mem " in second or "Endpoint: mem (" in second
    assert re.search(r"library setup time", second)
    row = re.search(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+mem\s*$", out, re.M)
    leak_w = float(row.group(3))
    assert leak_w == pytest.approx(m["leakage_uw"] * 1e-6, rel=1e-3)
    # No dynamic energy in the Liberty: the flow adds it (dynamic_power_mw).
    assert float(row.group(1)) == 0.0 and "internal_power" not in macros.liberty_text([S16])


def test_dynamic_power():
    m = macros.model(S16)
    assert macros.dynamic_power_mw(S16, 10.0, 0.0) == pytest.approx(m["idle_pj"] / 10.0)
    assert macros.dynamic_power_mw(S16, 10.0, 1.0) == pytest.approx(m["access_pj"] / 10.0)
    assert macros.dynamic_power_mw(S16, 5.0, 0.5) == pytest.approx(
        (m["idle_pj"] + m["access_pj"]) / 2 / 5.0)
    assert macros.dynamic_power_mw(S16, 10.0, 3.0) == macros.dynamic_power_mw(S16, 10.0, 1.0)
    assert macros.access_share(0.25, 0.5) == 0.75 and macros.access_share(0.7, 0.6) == 1.0
