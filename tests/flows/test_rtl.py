"""The generated Verilog on Icarus Verilog and Verilator through cocotb: the same
programs as the Amaranth-simulator tests, bit-exact against the golden model, and the
cycle model equal to the measured cycles."""
from functools import lru_cache

import pytest

from hwgen.config import IS, OS, WS, MappingConfig
from hwgen.emit import generate_verilog
from hwgen.compiler import Quant
from hwgen.models.perf import program_timing
from sim_tb.runner import lint, run_program

from ..fixtures import gemm_case, variant

WAIVERS = "hwgen_top.vlt"  # rtl_templates/lint
SIMS = ["icarus", "verilator"]


@lru_cache(maxsize=None)
def design(**kw):
    cfg = variant(**kw)
    return cfg, generate_verilog(cfg)


def run(cfg, verilog, prog, want, sim, seed, stall=0):
    res = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout, sim=sim,
                      seed=seed, stall_pct=stall)
    assert not res.timed_out, f"{sim} timed out (seed {seed})"
    got = prog.decode(cfg, res.dout)
    assert (got == want).all(), f"{sim}: result differs from the golden model (seed {seed})"
    return res


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("dataflow", [WS, OS, IS])
def test_random_shapes_exact_and_cycle_model(sim, dataflow):
    cfg, v = design(dataflow=dataflow)
    for i, shape in enumerate([(1, 1, 1), (1, 9, 5), (7, 1, 6), (13, 11, 9), (20, 33, 17)]):
        seed = 100 + i
        prog, want = gemm_case(cfg, *shape, seed)
        res = run(cfg, v, prog, want, sim, seed)
        t = program_timing(cfg, prog.cmds)
        assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles), shape


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
@pytest.mark.parametrize("dataflow", [WS, OS])
def test_split_multiplier_pe_pipeline(sim, dataflow):
    """``pipeline.pe`` 2 (each PE's multiplier split into registered partial products)
    at 16-bit operands: exact, the extremes included, and the cycle model follows
    (Verilator's builds of the two designs take about a minute each: slow)."""
    cfg, v = design(dataflow=dataflow, pe=2, in_bits=16)
    for i, shape in enumerate([(7, 9, 6), (13, 4, 11)]):
        prog, want = gemm_case(cfg, *shape, 200 + i)
        res = run(cfg, v, prog, want, sim, 200 + i)
        t = program_timing(cfg, prog.cmds)
        assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles), shape
    prog, want = gemm_case(cfg, 3, 5, 4, 9, extreme=True)
    run(cfg, v, prog, want, sim, seed=9)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("dataflow", [WS, OS, IS])
def test_back_pressure_extremes_requant(sim, dataflow):
    cfg, v = design(dataflow=dataflow)
    # random ready/valid drops on every stream
    prog, want = gemm_case(cfg, 14, 23, 10, 7)
    run(cfg, v, prog, want, sim, seed=7, stall=35)
    # all operands at -2^(b-1) with K at max_k: the accumulator's worst case
    prog, want = gemm_case(cfg, 5, cfg.precision.max_k, 6, 8, extreme=True)
    run(cfg, v, prog, want, sim, seed=8)
    # bias, multiply/shift with round-half-even, saturation and ReLU
    prog, want = gemm_case(cfg, 9, 12, 11, 9, quant=Quant(raw=False, mult=517, shift=13, relu=True))
    run(cfg, v, prog, want, sim, seed=9, stall=20)


@pytest.mark.parametrize("sim,dataflow", [
    ("icarus", WS), ("verilator", WS), ("icarus", IS),
    pytest.param("verilator", IS, marks=pytest.mark.slow)])   # (one more Verilator build)
def test_rectangular_single_bank_split_k(sim, dataflow):
    cfg, v = design(rows=3, cols=5, beat=2, banks=1, dataflow=dataflow)
    prog, want = gemm_case(cfg, 11, 19, 13, 3, mapping=MappingConfig(6, 7, 10, ("n", "m", "k")))
    res = run(cfg, v, prog, want, sim, seed=3)
    assert res.cycles == program_timing(cfg, prog.cmds).cycles


@pytest.mark.parametrize("kw", [dict(dataflow=WS), dict(dataflow=OS), dict(dataflow=IS),
                                dict(rows=3, cols=5, beat=2, banks=1, dataflow=WS),
                                dict(rows=3, cols=5, beat=2, banks=1, dataflow=IS)])
def test_lint_clean_with_scoped_waivers(kw):
    cfg, v = design(**kw)
    assert lint(v, WAIVERS) == []
    # the waivers are per rule: without them the same run reports warnings
    assert lint(v, None) != []
