"""The multi-pod data path's Verilog (hwgen_pods_top: 4 pods of 2x2 behind two 4-port
butterflies) on Icarus and Verilator through cocotb, driven like the Amaranth simulator:
a GEMM cut 2x2 across the pods bit-exact against the golden GEMM, every pod's beats and
the cycles the same as on the Amaranth simulator and as the scale-out cycle model."""
import pytest

from hwgen.compiler import scaleout as so
from hwgen.emit import component_verilog
from hwgen.lib.protocol import cmd_sync
from hwgen.lib.scaleout import interconnect_latency
from hwgen.scaleout.pods import MultiPod
from sim_tb.lint import lint
from sim_tb.pods import TOP, run_pods_amaranth, run_pods_rtl
from tests.unit.test_pods import assembled, cut, design


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_cut_gemm_on_rtl(sim, tmp_path):
    cfg = design(4, "butterfly")
    M, K, N = 7, 9, 6
    progs, where, want = cut(cfg, M, K, N, 2, 2, seed=4)
    programs = [(p.cmds + [cmd_sync()], p.din, p.n_dout) for p, _ in progs]
    dut = MultiPod(cfg)
    rtl = run_pods_rtl(component_verilog(dut, TOP), 4, dut.din_bits, dut.dout_bits,
                       programs, tmp_path, phase=2, sim=sim)
    assert not rtl.timed_out
    assert assembled(cfg, progs, where, rtl.dout, M, N).tolist() == want.tolist()
    ref = run_pods_amaranth(cfg, programs, phase=2)
    assert (rtl.dout, rtl.cycles) == (ref.dout, ref.cycles)
    assert rtl.cycles == max(so.slice_cycles(cfg.pod, 1, m, K, n, True, True, False)
                             for _, (m, n) in progs) + so.interconnect_cycles(
        interconnect_latency("butterfly", 4), so.commands_before_load(True, True))


@pytest.mark.slow
def test_lint_clean_with_scoped_waivers():
    v = component_verilog(MultiPod(design(4, "butterfly")), TOP)
    assert lint(v, ["hwgen_top.vlt", "hwgen_pods.vlt"], file_name=f"{TOP}.v") == []
    assert lint(v, ["hwgen_top.vlt"], file_name=f"{TOP}.v") != []   # the waivers do something


@pytest.mark.parametrize("P,sim", [(4, "icarus"), pytest.param(2, "icarus", marks=pytest.mark.slow),
                                   pytest.param(4, "verilator", marks=pytest.mark.slow)])
def test_bus_gemm_on_rtl(P, sim, tmp_path):
    """Behind two buses (each pod one cycle in P): the uneven 2 x (P/2) cut bit-exact,
    every pod's beats and cycles those of the Amaranth simulator, and the cycles the
    bus's model gives each pod (hwgen.models.slots)."""
    cfg = design(P, "bus", "ws")
    M, K, N = 7, 9, 6
    progs, where, want = cut(cfg, M, K, N, 2, P // 2, seed=P)
    programs = [(p.cmds + [cmd_sync()], p.din, p.n_dout) for p, _ in progs]
    programs += [([], [], 0)] * (P - len(programs))
    dut = MultiPod(cfg)
    rtl = run_pods_rtl(component_verilog(dut, TOP), P, dut.din_bits, dut.dout_bits,
                       programs, tmp_path, sim=sim)
    assert not rtl.timed_out
    assert assembled(cfg, progs, where, rtl.dout, M, N).tolist() == want.tolist()
    ref = run_pods_amaranth(cfg, programs)
    assert (rtl.dout, rtl.cycles, rtl.end) == (ref.dout, ref.cycles, ref.end)
    model = [so.bus_job_cycles(cfg.pod, P, p, 0, [(m, K, n)], True, True, False)
             for p, (_, (m, n)) in enumerate(progs)]
    assert rtl.end == model and rtl.cycles == max(model)
