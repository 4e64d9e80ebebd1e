"""A heterogeneous design's Verilog as `hwgen generate` writes it (module hwgen_top: a
weight-stationary 2x3 engine and an output-stationary 3x2 one) on Icarus and Verilator
through cocotb: two GEMMs run concurrently, bit-exact against the golden GEMM, every
engine's beats and the cycles the same as on the Amaranth simulator; lint-clean."""
import pytest

from hwgen.emit import TOP_NAME, generate_verilog
from hwgen.lib.protocol import cmd_sync
from sim_tb.lint import lint
from sim_tb.pods import run_pods_amaranth, run_pods_rtl
from tests.unit.test_hetero import SHAPES, design, programs


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_engines_on_rtl(sim, tmp_path):
    cfg = design()
    progs, wants = programs(cfg, SHAPES, seed=3)
    run = [(p.cmds + [cmd_sync()], p.din, p.n_dout) for p in progs]
    p = cfg.engines[0][1].params()
    rtl = run_pods_rtl(generate_verilog(cfg), 2, p["DIN_BITS"], p["DOUT_BITS"], run,
                       tmp_path, sim=sim, top=TOP_NAME)
    assert not rtl.timed_out
    for (_, eng), prog, want, dout in zip(cfg.engines, progs, wants, rtl.dout):
        assert prog.decode(eng, dout).tolist() == want.tolist()
    ref = run_pods_amaranth(cfg, run)
    assert (rtl.dout, rtl.cycles) == (ref.dout, ref.cycles)


@pytest.mark.slow
def test_lint_clean_with_scoped_waivers():
    v = generate_verilog(design())
    assert lint(v, ["hwgen_top.vlt", "hwgen_pods.vlt"]) == []
    assert lint(v, ["hwgen_top.vlt"]) != []   # the waivers do something
