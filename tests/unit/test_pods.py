"""The multi-pod data path (hwgen.scaleout.pods.MultiPod: P pods behind two
interconnects) on the Amaranth simulator: a GEMM cut across the pods by the scale-out
partitioner's slices, every pod's program bit-exact against the golden GEMM and its
requantization, for several phases (bank b feeds pod b XOR phase), and the cycles equal to
the scale-out cycle model (the slowest pod's program and SYNC, plus what the
interconnect's latency adds) for the butterfly and the crossbar."""
import numpy as np
import pytest

from hwgen.compiler import scaleout as so
from hwgen.compiler.mapping import default_mapping
from hwgen.compiler.program import Quant, emit_gemm_program
from hwgen.config import (AcceleratorConfig, ArrayConfig, BufferConfig, BuffersConfig,
                          HostConfig)
from hwgen.config.scaleout import PodsConfig
from hwgen.lib.protocol import cmd_sync
from hwgen.lib.scaleout import interconnect_latency
from hwgen.models.gemm import gemm, requantize
from hwgen.models.perf import program_timing
from hwgen.scaleout.pods import MultiPod
from sim_tb.pods import run_pods_amaranth


def design(P, kind, df="os"):
    small = BufferConfig(64)
    return AcceleratorConfig(name="mp", array=ArrayConfig(2, 2, df), host=HostConfig(2),
                             buffers=BuffersConfig(small, small, small),
                             pods=PodsConfig(P, kind))


def cut(cfg, M, K, N, pr, pc, seed):
    """A's rows into pr slices, B's columns into pc, one slice per pod: the programs
    (with a SYNC each), where each result goes, and the golden output."""
    pod = cfg.pod
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-128, 128, (M, K)), rng.integers(-128, 128, (K, N))
    mult, shift = rng.integers(1, 1 << 15, N), rng.integers(8, 14, N)
    bias = rng.integers(-300, 300, N)
    progs, where = [], []
    r0 = 0
    for m in so.slices(M, pr, pod.R):
        c0 = 0
        for n in so.slices(N, pc, pod.C):
            cols = slice(c0, c0 + n)
            q = Quant(raw=False, mult=tuple(int(v) for v in mult[cols]),
                      shift=tuple(int(v) for v in shift[cols]),
                      bias=tuple(int(v) for v in bias[cols]), lo=-100, hi=100)
            prog = emit_gemm_program(pod, m, K, n, default_mapping(pod, m, K, n),
                                     a[r0:r0 + m], b[:, cols], q)
            progs.append((prog, (m, n)))
            where.append((r0, c0))
            c0 += n
        r0 += m
    want = requantize(gemm(a, b), bias, mult, shift, 8, False, -100, 100)
    return progs, where, want


def assembled(cfg, progs, where, douts, M, N):
    """The M x N result from every pod's result beats (``cut``'s programs and places)."""
    out = np.zeros((M, N), dtype=object)
    for (prog, _), (r0, c0), dout in zip(progs, where, douts):
        got = prog.decode(cfg.pod, dout)
        out[r0:r0 + got.shape[0], c0:c0 + got.shape[1]] = got
    return out


@pytest.mark.parametrize("P,kind,phase,df", [(4, "butterfly", 0, "os"),
                                             (4, "butterfly", 3, "ws"),
                                             (2, "crossbar", 1, "os")])
def test_cut_gemm_bit_exact_and_cycles_as_modelled(P, kind, phase, df):
    cfg = design(P, kind, df)
    pr = 2 if P == 4 else 1
    M, K, N = 7, 9, 6
    progs, where, want = cut(cfg, M, K, N, pr, P // pr, seed=P + phase)
    res = run_pods_amaranth(cfg, [(p.cmds + [cmd_sync()], p.din, p.n_dout)
                                  for p, _ in progs], phase)
    assert not res.timed_out
    assert assembled(cfg, progs, where, res.dout, M, N).tolist() == want.tolist()
    lat = interconnect_latency(kind, P)
    model = max(so.slice_cycles(cfg.pod, 1, m, K, n, True, True, False)
                for _, (m, n) in progs) + so.interconnect_cycles(
        lat, so.commands_before_load(True, True))
    assert res.cycles == model


@pytest.mark.slow
def test_first_load_waits_for_a_deep_pipeline():
    """Raw programs load first: an 8-port butterfly (3 stages) delays the first load by
    one cycle and the last result by two; a crossbar by neither."""
    for kind, extra in (("butterfly", 3), ("crossbar", 0)):
        cfg = design(8, kind)
        pod = cfg.pod
        mp = default_mapping(pod, 4, 5, 4)
        rng = np.random.default_rng(1)
        a, b = rng.integers(-9, 9, (4, 5)), rng.integers(-9, 9, (5, 4))
        prog = emit_gemm_program(pod, 4, 5, 4, mp, a, b)
        res = run_pods_amaranth(cfg, [(prog.cmds, prog.din, prog.n_dout)] * 8, 5)
        assert res.cycles == program_timing(pod, prog.cmds).cycles + extra
        assert extra == so.interconnect_cycles(interconnect_latency(kind, 8), 0, sync=False)
        assert all(prog.decode(pod, d).tolist() == gemm(a, b).tolist() for d in res.dout)


def test_needs_pods():
    with pytest.raises(ValueError, match="MultiPod: the design needs a pods: section"):
        MultiPod(design(4, "butterfly").pod)
