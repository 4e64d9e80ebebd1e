"""The netlist OpenSTA analyses must be the netlist Yosys wrote.

OpenSTA 2.0.17's Verilog reader has no concatenation on the left of an ``assign``; on
one it reports a syntax error, reads the rest of the module *and the next module* as
one, black-boxes the module it swallowed and shorts nets of the same name. That gave
the 2x2 weight-stationary int4/int8 sweep points a 689-stage false critical path.
"""
import pytest

from asic_flow import ToolFailed, ToolMissing, UnknownPdk, pdks, sta, tools

# Two modules; the first ends with an assign whose left side is a concatenation.
LHS_CONCAT = """\
module \\top.a (a, y);
  input [3:0] a;
  output [3:0] y;
  wire [3:0] y;
  INVX1 u1 (.A(a[0]), .Y(y[0]));
  assign { y[3:2], y[1] } = { y[0], y[0], y[0] };
endmodule

module \\top.b (a, y);
  input a;
  output y;
  INVX1 u1 (.A(a), .Y(y));
endmodule

module top (a, y, z);
  input [3:0] a;
  output [3:0] y;
  output z;
  \\top.a ia (.a(a), .y(y));
  \\top.b ib (.a(a[0]), .y(z));
endmodule
"""

# What OpenSTA 2.0.17 printed for the 2x2 weight-stationary int4 netlist (trimmed).
STA_LOG = """\
Error: netlist.v, line 43826 syntax error, unexpected '{', expecting ID.
Warning: netlist.v, line 43830 signal rst previously declared on line 39591.
Warning: netlist.v, line 45161 instance name _1257_ duplicated - renamed to _1257__1.
Warning: netlist.v, line 52990 module hwgen_top.engine not found.  Creating black box for engine.
Warning: netlist.v, line 52000 module hwgen_top.array declared signal busy is not in the port list.
Warning: constraint.sdc, line 9 set_input_delay relative to a clock defined on the same port/pin not allowed.
@@ end
"""


def _osu018():
    try:
        return tools.find_sta(), pdks.find_pdk("osu018")
    except (ToolMissing, UnknownPdk) as e:
        pytest.skip(f"ASIC tools not installed: {e}")


def test_read_problems_picks_parser_errors_only():
    bad = sta.read_problems(STA_LOG)
    assert len(bad) == 5
    assert bad[0].startswith("Error: netlist.v, line 43826 syntax error")
    assert any("Creating black box for engine" in b for b in bad)
    assert not any("set_input_delay" in b for b in bad)  # an SDC note is not a misread
    assert sta.read_problems("Warning: something harmless\n@@ end\n") == []


def test_lhs_concatenation_is_caught(tmp_path):
    tool, lib = _osu018()
    (tmp_path / "n.v").write_text(LHS_CONCAT)
    (tmp_path / "t.tcl").write_text(f"read_liberty {lib.liberty}\nread_verilog n.v\n"
                                    "link_design top\nputs \"@@ end\"\n")
    with pytest.raises(ToolFailed, match="misread the netlist .*syntax error"):
        sta._run_sta(tool, tmp_path, "t.tcl", "t.log", 60, "sta")
    # The same connections with a plain left side read cleanly.
    (tmp_path / "n.v").write_text(LHS_CONCAT.replace(
        "assign { y[3:2], y[1] } =", "assign y[3:1] ="))
    out = sta._run_sta(tool, tmp_path, "t.tcl", "t.log", 60, "sta")
    assert sta.read_problems(out) == []
