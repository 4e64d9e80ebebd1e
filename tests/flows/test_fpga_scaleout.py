"""hwgen fpga on multi-pod and heterogeneous designs: the board top puts every pod
(engine) behind the one UART bridge (PORT frames choose, see
tests/unit/test_fpga_scaleout_board.py); the fit check counts every pod's buffers; a
real build (slow) reports resources and Fmax."""
import json

import pytest

from fpga import flow
from fpga.boards import get_board
from hwgen.cli import main
from hwgen.config.loader import config_from_dict

SMALL = {"host": {"beat_elems": 2},
         "buffers": {b: {"depth": 64, "banks": 2} for b in ("input", "weight", "acc")}}
PODS = {"name": "pods4", **SMALL, "array": {"rows": 2, "cols": 2, "dataflow": "ws"},
        "pods": {"count": 4, "interconnect": "butterfly"}}
HET = {"name": "het2", **SMALL, "subaccelerators": [
    {"name": "ws", "array": {"rows": 2, "cols": 2, "dataflow": "ws"}},
    {"name": "os", "array": {"rows": 3, "cols": 2, "dataflow": "os"}}]}


def test_fit_check_counts_every_pod_and_engine():
    pods, het = (config_from_dict(d, source="test") for d in (PODS, HET))
    assert flow.buffer_bits(pods) == 4 * flow.buffer_bits(pods.pod)
    assert flow.buffer_bits(het) == sum(flow.buffer_bits(e) for _, e in het.engines)
    assert flow.buffer_bits(het) != 2 * flow.buffer_bits(het.engines[0][1])


@pytest.mark.parametrize("design,units", [(PODS, ["pod0", "pod1", "pod2", "pod3"]),
                                          (HET, ["engine0_ws", "engine1_os"])],
                         ids=["pods", "het"])
def test_board_top_holds_every_unit(design, units):
    pytest.importorskip("amaranth_boards")
    files = flow.elaborate(config_from_dict(design, source="test"), get_board("ulx3s-85f"))
    il = files["top.il"]
    for u in units:
        assert f"core.accel.{u}.array" in il, u
    assert "core.bridge" in il and "top.lpf" in files


def test_does_not_fit_is_one_line_exit_2(tmp_path, capsys):
    cfg = tmp_path / "big.yaml"
    big = {**PODS, "name": "big", "pods": {"count": 64, "interconnect": "butterfly"},
           "buffers": {b: {"depth": 4096, "banks": 2} for b in ("input", "weight", "acc")}}
    cfg.write_text(json.dumps(big))
    code = main(["fpga", str(cfg), "--board", "ulx3s-85f", "-o", str(tmp_path / "out"), "-q"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("hwgen: does not fit: big does not fit ulx3s-85f (LFE5U-85F): BRAM: ")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_build_four_pods(tmp_path):
    why = None
    try:
        for t in flow.FAMILY_TOOLS["ecp5"]:
            flow.find_tool(t)
        flow.check_amaranth_boards()
    except flow.ToolMissing as e:
        why = str(e)
    if why:
        pytest.skip(why)
    cfg = tmp_path / "pods4.yaml"
    cfg.write_text(json.dumps(PODS))
    code = main(["fpga", str(cfg), "--board", "ulx3s-85f", "-o", str(tmp_path / "out"), "-q",
                 "--json"])
    assert code == 0
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["params"]["PODS"] == 4 and rep["bitstream_bytes"] > 0
    assert rep["resources"]["LUT"]["used"] > 0 and rep["fmax_mhz"]["sync"] > 25
