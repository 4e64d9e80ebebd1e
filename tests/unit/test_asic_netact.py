"""Per-net activity: the streaming VCD reader, pins mapped to nets, the Tcl it writes,
and that OpenSTA 2.0.17 really uses a per-pin annotation (checked on a tiny netlist)."""
import re

import pytest

from asic_flow import ToolMissing, UnknownPdk, netact, pdks, tools
from asic_flow.activity import BadVcd

# Clock period 10; nets in the design scope, in block "array", and in a cell's scope.
VCD = """\
$timescale 1ps $end
$scope module hwgen_tb $end
$var reg 1 ! clk $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 1 " _1_ $end
$var wire 4 # \\a$1 [3:0] $end
$scope module _9_ $end
$var wire 1 " A $end
$var wire 1 $ Y $end
$upscope $end
$scope module array $end
$var wire 1 % _5_ $end
$var wire 2 & \\mesh.w [3:2] $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
0"
b0000 #
1$
0%
b00 &
$end
#5
1!
1"
b0011 #
1%
0%
#10
0!
#15
1!
0"
b0101 #
b11 &
#20
0!
#25
1!
1"
#30
0!
#35
1!
#40
0!
"""


@pytest.fixture
def vcd(tmp_path):
    p = tmp_path / "t.vcd"
    p.write_text(VCD)
    return p


def test_read_net_vcd_whole_dump(vcd):
    d = netact.read_net_vcd(vcd, ["array"])
    assert d.cycles == pytest.approx(4.0) and d.duration == 40 and d.window == (0, 40)
    # Cell-internal nets (scope _9_) are not kept; block nets are.
    assert set(d.bits) == {("", "clk"), ("", "_1_"), ("", "a$1"), ("array", "_5_"),
                           ("array", "mesh.w")}
    # _1_: 0 -> 1 at 5, -> 0 at 15, -> 1 at 25: three transitions, high 10 + 15.
    assert d.bit("", "_1_", None) == (0.75, 25 / 40)
    # a$1 = 0000 -> 0011 (5) -> 0101 (15): bit 0 once, bit 1 twice, bit 2 once.
    assert d.bit("", "a$1", 0) == (0.25, 35 / 40)
    assert d.bit("", "a$1", 1) == (0.5, 10 / 40)
    assert d.bit("", "a$1", 2) == (0.25, 25 / 40)
    assert d.bit("", "a$1", 4) is None and d.bit("", "a$1", None) is None
    # A pulse inside one time step is no transition.
    assert d.bit("array", "_5_", None) == (0.0, 0.0)
    # [3:2]: bit 3 is the first character.
    assert d.bit("array", "mesh.w", 3) == (0.25, 25 / 40)
    assert d.bit("array", "mesh.w", 1) is None
    assert d.bit("", "Y", None) is None and d.bit("_9_", "Y", None) is None
    # The clock itself: two transitions per period.
    assert d.bit("", "clk", None)[0] == pytest.approx(2.0)


def test_read_net_vcd_window(vcd):
    # From the 2nd rising edge (t=15) for 2 cycles (closes at the 4th, t=35).
    d = netact.read_net_vcd(vcd, ["array"], first_cycle=2, max_cycles=2)
    assert d.window == (15, 35) and d.cycles == pytest.approx(2.0)
    # _1_ inside [15, 35): the fall at 15 and the rise at 25 count; high 25..35.
    assert d.bit("", "_1_", None) == (1.0, 10 / 20)
    # a$1 changes at 15 (0011 -> 0101): bit 1 falls, bit 2 rises; 0101 held to 35.
    assert d.bit("", "a$1", 1) == (0.5, 0.0)
    assert d.bit("", "a$1", 2) == (0.5, 1.0)
    assert d.bit("array", "mesh.w", 2) == (0.5, 1.0)


def test_read_net_vcd_errors(vcd, tmp_path):
    with pytest.raises(BadVcd, match="ends before clock cycle 9"):
        netact.read_net_vcd(vcd, [], first_cycle=9)
    p = tmp_path / "n.vcd"
    p.write_text(VCD.replace("$var wire 1 ! clk $end\n$var wire 1 \" _1_", "$var wire 1 \" _1_"))
    with pytest.raises(BadVcd, match="no clock hwgen_tb.dut.clk"):
        netact.read_net_vcd(p, [])
    p.write_text("$scope module hwgen_tb $end\n")
    with pytest.raises(BadVcd, match="enddefinitions"):
        netact.read_net_vcd(p, [])


NETLIST = """\
module hwgen_top(clk, a, y);
  input clk;
  wire clk;
  input [3:0] a;
  output y;
  \\hwgen_top.array  array (
    .clk(clk),
    .\\a$1 (a),
    .y(y)
  );
  INVX1 _9_ (
    .A(_1_),
    .Y(_2_)
  );
endmodule

module \\hwgen_top.array (clk, \\a$1 , y);
  input clk;
  input [3:0] \\a$1 ;
  output y;
  DFFPOSX1 _5_ (
    .CLK(clk),
    .D(\\mesh.w [3]),
    .Q(_5_)
  );
  NAND2X1 _6_ (
    .A(\\a$1 [2]),
    .B(1'b1),
    .Y(gone)
  );
  FAX1 _7_ (
    .A(1'b0),
    .B(_5_),
    .C(_5_),
    .YC(),
    .YS(y)
  );
endmodule
"""


def test_netlist_cells_and_pins(vcd):
    cells, blocks = netact.netlist_cells(NETLIST, "hwgen_top",
                                         {"INVX1", "DFFPOSX1", "NAND2X1", "FAX1"})
    assert blocks == {"hwgen_top.array": "array"}
    by = {c.path: c for c in cells}
    assert set(by) == {"_9_", "array/_5_", "array/_6_", "array/_7_"}
    assert by["array/_5_"].pins == {"CLK": "clk", "D": "\\mesh.w [3]", "Q": "_5_"}
    assert by["array/_6_"].scope == "array" and by["_9_"].scope == ""
    assert by["array/_7_"].cell_type == "FAX1" and by["_9_"].cell_type == "INVX1"
    assert by["array/_7_"].pins["YC"] == ""
    d = netact.read_net_vcd(vcd, blocks.values())
    pa = netact.pin_activities(cells, d)
    got = {p: (a, dd) for p, a, dd in pa.pins}
    assert pa.clock_pins == 1 and pa.constant_pins == 2
    assert got["array/_6_/B"] == (0.0, 1.0) and got["array/_7_/A"] == (0.0, 0.0)
    assert got["array/_5_/D"] == (0.25, 25 / 40)
    assert got["_9_/A"] == (0.75, 25 / 40)
    # Nets are looked up in their own module's scope: array's _5_ is the pulse net.
    assert got["array/_5_/Q"] == got["array/_7_/B"] == got["array/_7_/C"] == (0.0, 0.0)
    # a$1 is dumped in the top's scope only; gone, y and _2_ are not in the dump.
    assert sorted(pa.missing) == ["_9_/Y", "array/_6_/A", "array/_6_/Y", "array/_7_/YS"]
    assert "array/_7_/YC" not in got and "array/_7_/YC" not in pa.missing
    assert pa.by_block["array"]["pins"] == 3 + 3 + 4 and pa.by_block["array"]["pins_measured"] == 4


def test_write_tcl_batches(tmp_path):
    pins = [(f"b/_{i}_/A", 0.25 if i % 2 else 0.0, 0.5) for i in range(5)]
    files = netact.write_tcl(pins, tmp_path, batch=2)
    assert files == ["activity_000.tcl", "activity_001.tcl", "activity_002.tcl"]
    first = (tmp_path / files[0]).read_text()
    assert "proc hwgen_pin_activity" in first and "sta::set_power_pin_activity" in first
    assert "hwgen_pin_activity 0 0.5 {b/_0_/A}" in first
    assert "hwgen_pin_activity 0.25 0.5 {b/_1_/A}" in first
    assert "proc" not in (tmp_path / files[1]).read_text()
    calls = "".join((tmp_path / f).read_text() for f in files)
    assert sorted(re.findall(r"b/_\d_/A", calls)) == [p for p, _, _ in pins]


TINY = """\
module top (clk, a, y);
  input clk;
  input a;
  output y;
  wire n1, q, n2;
  INVX1 u1 (.A(a), .Y(n1));
  DFFPOSX1 r1 (.CLK(clk), .D(n1), .Q(q));
  INVX1 u2 (.A(q), .Y(n2));
  BUFX2 u3 (.A(n2), .Y(y));
endmodule
"""


def test_opensta_uses_each_pin_annotation(tmp_path):
    """What the method rests on: in OpenSTA 2.0.17, sta::set_power_pin_activity on a
    pin (after a first power computation) changes the power of that pin's cell,
    flip-flop outputs included, and of no other cell."""
    try:
        tool, lib = tools.find_sta(), pdks.find_pdk("osu018")
    except (ToolMissing, UnknownPdk) as e:
        pytest.skip(f"ASIC tools not installed: {e}")
    from asic_flow import sta
    (tmp_path / "n.v").write_text(TINY)
    power = {}
    for act in (0.0, 0.4, 0.8):
        files = netact.write_tcl([("r1/Q", act, 0.5), ("u2/A", act, 0.5)], tmp_path,
                                 stem=f"a{int(act * 10)}")
        (tmp_path / "t.tcl").write_text(
            f"read_liberty {lib.liberty}\nread_verilog n.v\nlink_design top\n"
            "create_clock -name clk -period 10 [get_ports clk]\n"
            "report_power\n"  # annotations made before the first power run are dropped
            + "".join(f"source {f}\n" for f in files)
            + "report_power -instances [get_cells *] -digits 6\nputs \"@@ end\"\n")
        out = sta._run_sta(tool, tmp_path, "t.tcl", "t.log", 60, "sta")
        rows = {m.group(5): [float(m.group(i)) for i in range(1, 5)] for m in re.finditer(
            r"^\s*(\S+e\S+)\s+(\S+e\S+)\s+(\S+e\S+)\s+(\S+e\S+)\s+(\w+)\s*$", out, re.M)}
        power[act] = rows
    # Switching power of the flip-flop's output net scales with its activity.
    sw = [power[a]["r1"][1] for a in (0.0, 0.4, 0.8)]
    assert sw[0] == 0.0 and sw[2] == pytest.approx(2 * sw[1], rel=1e-3) and sw[1] > 0
    # u2's internal power follows its input pin's annotation; u1 and u3 are untouched.
    assert power[0.0]["u2"][0] < power[0.4]["u2"][0] < power[0.8]["u2"][0]
    for cell in ("u1", "u3"):
        assert power[0.0][cell] == power[0.8][cell]
