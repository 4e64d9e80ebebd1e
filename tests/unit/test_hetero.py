"""The engines of a heterogeneous design side by side (hwgen.scaleout.hetero.Heterogeneous)
on the Amaranth simulator: a weight-stationary 2x3 engine and an output-stationary 3x2
engine with its own buffers run different GEMMs concurrently, each bit-exact against the
golden GEMM and its requantization, and the design finishes when the slower engine's
program does (each engine's cycles are its own program's, by the single-array cycle
model: the engines share nothing)."""
import numpy as np
import pytest

from hwgen.compiler.mapping import default_mapping
from hwgen.compiler.program import Quant, emit_gemm_program
from hwgen.config import config_from_dict
from hwgen.lib.protocol import cmd_sync
from hwgen.models.gemm import gemm, requantize
from hwgen.models.perf import program_timing
from hwgen.scaleout.hetero import Heterogeneous
from sim_tb.pods import run_pods_amaranth

HET = {
    "name": "het", "array": {"rows": 2, "cols": 2}, "host": {"beat_elems": 2},
    "buffers": {b: {"depth": 64} for b in ("input", "weight", "acc")},
    "subaccelerators": [
        {"name": "ws", "array": {"rows": 2, "cols": 3, "dataflow": "ws"}},
        {"name": "os-deep", "array": {"rows": 3, "cols": 2, "dataflow": "os"},
         "buffers": {"input": {"depth": 32}, "weight": {"depth": 32},
                     "acc": {"depth": 128, "banks": 1}}}]}


def design():
    return config_from_dict(HET, "het.yaml")


def programs(cfg, shapes, seed):
    """One requantized GEMM per engine (with a SYNC): the programs and the golden outputs."""
    rng = np.random.default_rng(seed)
    progs, wants = [], []
    for (_, eng), (M, K, N) in zip(cfg.engines, shapes):
        a, b = rng.integers(-128, 128, (M, K)), rng.integers(-128, 128, (K, N))
        mult, shift = rng.integers(1, 1 << 15, N), rng.integers(8, 14, N)
        bias = rng.integers(-300, 300, N)
        q = Quant(raw=False, mult=tuple(int(v) for v in mult),
                  shift=tuple(int(v) for v in shift), bias=tuple(int(v) for v in bias),
                  lo=-100, hi=100)
        prog = emit_gemm_program(eng, M, K, N, default_mapping(eng, M, K, N), a, b, q)
        progs.append(prog)
        wants.append(requantize(gemm(a, b), bias, mult, shift, 8, False, -100, 100))
    return progs, wants


SHAPES = [(7, 9, 8), (10, 5, 3)]


@pytest.mark.parametrize("seed", [1, 2])
def test_engines_run_concurrently_bit_exact(seed):
    cfg = design()
    progs, wants = programs(cfg, SHAPES, seed)
    run = [(p.cmds + [cmd_sync()], p.din, p.n_dout) for p in progs]
    res = run_pods_amaranth(cfg, run)
    assert not res.timed_out
    for (_, eng), prog, want, dout in zip(cfg.engines, progs, wants, res.dout):
        assert prog.decode(eng, dout).tolist() == want.tolist()
    alone = [program_timing(eng, cmds).cycles for (_, eng), (cmds, _, _) in zip(cfg.engines, run)]
    assert res.cycles == max(alone)
    assert alone[0] != alone[1]   # the engines really differ


def test_refusals():
    single = config_from_dict({k: v for k, v in HET.items() if k != "subaccelerators"},
                              "one.yaml")
    with pytest.raises(ValueError, match="needs a subaccelerators: section"):
        Heterogeneous(single)
    with pytest.raises(ValueError, match="no phase"):
        run_pods_amaranth(design(), [([cmd_sync()], [], 0)] * 2, phase=1)
