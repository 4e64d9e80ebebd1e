"""hwgen asic on multi-pod and heterogeneous designs: every pod's (engine's) blocks keep
their module so their area is known and their buffer memories become SRAM macros;
the report gives the area per pod or engine, the interconnect and the rest."""
import json

import pytest

from asic_flow import pdks, sta, synth, tools
from asic_flow.errors import ToolMissing, UnknownPdk
from hwgen.cli import main
from hwgen.config.loader import config_from_dict
from hwgen.emit import generate_verilog

PDK = "osu018"
SMALL = {"precision": {"in_bits": 4, "out_bits": 4, "max_k": 64, "mult_bits": 8},
         "host": {"beat_elems": 2},
         "buffers": {b: {"depth": 16, "banks": 2} for b in ("input", "weight", "acc")}}
PODS = {"name": "pods2", **SMALL, "array": {"rows": 2, "cols": 2, "dataflow": "ws"},
        "pods": {"count": 2, "interconnect": "butterfly"}}
HET = {"name": "het2", **SMALL, "subaccelerators": [
    {"name": "ws", "array": {"rows": 2, "cols": 2, "dataflow": "ws"}},
    {"name": "os", "array": {"rows": 2, "cols": 3, "dataflow": "os"}}]}
UNITS = {"pods2": ["pod0", "pod1"], "het2": ["engine0_ws", "engine1_os"]}
PARTS = ("array", "input_buf", "weight_buf", "acc_buf", "engine", "host")


def _tools_or_skip():
    try:
        tools.find_yosys()
        tools.find_sta()
        pdks.find_pdk(PDK)
    except (ToolMissing, UnknownPdk) as e:
        pytest.skip(f"ASIC tools not installed: {e}")


@pytest.mark.parametrize("design", [PODS, HET], ids=["pods", "het"])
def test_every_unit_keeps_its_blocks_and_buffers_become_macros(design):
    """The synthesis script keeps each pod's (engine's) array, buffers, engine and host
    as modules and hands memory_libmap exactly the modules holding buffer memories, all
    of them kept (a flattened one would give no macro)."""
    verilog = generate_verilog(config_from_dict(design, source="test"))
    top = "hwgen_top"
    blocks = synth.top_blocks(verilog, top)
    units = UNITS[design["name"]]
    want = [f"{top}.{u}.{p}" for u in units for p in PARTS] + [f"{top}.{u}" for u in units]
    assert set(want) <= set(blocks), sorted(set(want) - set(blocks))
    assert not [b for b in blocks if b.count(".") > 2]   # nothing deeper (mesh, PEs)
    bufs = synth.buffer_modules(verilog)
    assert bufs == sorted(f"{top}.{u}.{b}" for u in units
                          for b in ("acc_buf", "input_buf", "weight_buf"))
    assert set(bufs) <= set(blocks)
    script = synth.render_script(design="d", top=top, blocks=blocks, liberty_name="x.lib",
                                 delay_ps=10000, macro_blocks=bufs)
    kept = next(ln for ln in script.splitlines() if ln.startswith("setattr"))
    libmap = next(ln for ln in script.splitlines() if ln.startswith("memory_libmap"))
    assert all(f" {b}" in kept and f" {b}" in libmap for b in bufs)


def test_register_names_through_nested_blocks():
    netlist = """module hwgen_top(clk);
  \\hwgen_top.pod0  pod0 (
    .clk(clk));
endmodule
module \\hwgen_top.pod0 (clk);
  \\hwgen_top.pod0.array  array (
    .clk(clk));
  DFFPOSX1 _5_ (.CLK(clk), .D(a), .Q(\\x.y ));
endmodule
module \\hwgen_top.pod0.array (clk);
  DFFPOSX1 _7_ (.CLK(clk), .D(b), .Q(acc[3]));
endmodule
"""
    assert sta.register_names(netlist, "hwgen_top") == {
        "pod0/_5_": "pod0/x.y", "pod0/array/_7_": "pod0/array/acc[3]"}


@pytest.fixture(scope="module")
def pods_report(tmp_path_factory):
    """``hwgen asic`` on two pods of a 2x2 int4 array with the buffers as macros."""
    _tools_or_skip()
    d = tmp_path_factory.mktemp("asic-pods")
    cfg = d / "pods2.yaml"
    cfg.write_text(json.dumps(PODS))
    code = main(["asic", str(cfg), "--pdk", PDK, "--clock-ns", "10", "--memories", "macro",
                 "-o", str(d / "out"), "-q"])
    assert code == 0
    return d / "out"


def test_pods_buffers_are_macros_and_area_per_pod(pods_report):
    rep = json.loads((pods_report / "report.json").read_text())
    assert rep["array"] == "2 pods of 2x2 weight_stationary (butterfly)"
    mem = rep["memories"]
    # two pods, each with two banks of three buffers: twelve macros, six in each pod
    assert mem["implementation"] == "macros" and mem["macros"] == 12
    macro_cells = {c: n for c, n in rep["cells_by_type"].items() if c.startswith("HWGEN_SRAM_")}
    assert sum(macro_cells.values()) == 12
    for name, b in rep["blocks"].items():
        assert (b["macros"] > 0) == name.endswith("_buf"), name
    units = rep["area_by_unit"]
    assert set(units) == {"pod0", "pod1", "interconnect", "rest"}
    assert [units[p]["macros"] for p in ("pod0", "pod1")] == [6, 6]
    assert sum(u["area_um2"] for u in units.values()) == pytest.approx(rep["area_um2"])
    assert sum(u["macro_area_um2"] for u in units.values()) == pytest.approx(
        mem["macro_area_um2"])
    assert units["interconnect"]["area_um2"] > 0 and units["interconnect"]["macros"] == 0
    roles = rep["area_by_block"]
    assert roles["interconnect"]["modules"] == ["in_net", "out_net"]
    assert roles["pe_array"]["modules"] == ["pod0.array", "pod1.array"]
    assert sum(r["area_um2"] for r in roles.values()) == pytest.approx(rep["area_um2"])
    # timing: Fmax and a critical path named by the registers at its ends, in a pod
    assert rep["fmax_mhz"] > 50 and rep["timing_met"] is True
    cp = rep["critical_path"]
    assert cp["stages"] > 0 and cp["start_register"].split("/")[0] in ("pod0", "pod1",
                                                                        "in_net", "out_net")
    md = (pods_report / "report.md").read_text()
    assert "| pod / engine |" in md and "| pod1 |" in md and "12 modelled SRAM macros" in md


@pytest.mark.slow
def test_heterogeneous_engines_macros(tmp_path):
    _tools_or_skip()
    cfg = tmp_path / "het2.yaml"
    cfg.write_text(json.dumps(HET))
    code = main(["asic", str(cfg), "--pdk", PDK, "--clock-ns", "10", "--memories", "macro",
                 "-o", str(tmp_path / "out"), "-q"])
    assert code == 0
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    units = rep["area_by_unit"]
    assert set(units) == {"engine0_ws", "engine1_os", "rest"}   # side by side, no network
    # the OS engine reads its input buffer as even and odd halves: two macros a bank
    assert units["engine0_ws"]["macros"] == 6 and units["engine1_os"]["macros"] == 8
    assert rep["memories"]["macros"] == 14


@pytest.mark.parametrize("extra,message", [
    (["--workload", "gemm:4x4x4"], "hwgen: --workload is not supported on a multi-pod design"),
    (["--pnr"], "hwgen: --pnr is not supported on a multi-pod design"),
])
def test_refused_options_in_one_line(tmp_path, capsys, extra, message):
    cfg = tmp_path / "pods2.yaml"
    cfg.write_text(json.dumps(PODS))
    code = main(["asic", str(cfg), "--pdk", PDK, "--clock-ns", "10", "-o",
                 str(tmp_path / "out"), "-q", *extra])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err
    assert not (tmp_path / "out").exists()
