"""The bus's cycle model (hwgen.models.slots through hwgen.compiler.scaleout): a pod's
program timed against the cycles its ports own, against the multi-pod data path on the
Amaranth simulator: GEMMs cut across 2 and 4 pods (uneven slices, several grids and
phases), jobs that start in any cycle (after another job), every pod's cycles as
modelled; and on one port the model is the free port's."""
import dataclasses

import numpy as np
import pytest

from hwgen.compiler import scaleout as so
from hwgen.lib.protocol import cmd_sync
from hwgen.models import slots
from sim_tb.pods import Job, run_jobs_amaranth
from tests.unit.test_pods import cut, design


@pytest.mark.parametrize("df", ["os", "ws"])
def test_one_port_is_a_free_port(df):
    """With P = 1 every cycle is the pod's: the same cycles as the max-plus model of a
    port behind one register (the crossbar's), for chunked slices with every output
    path."""
    pod = design(2, "bus", df).pod
    for (M, K, N) in [(1, 1, 1), (7, 9, 6), (17, 24, 9), (33, 40, 17)]:
        for flags in [(True, True, False), (False, False, True), (True, False, True)]:
            got = so.bus_job_cycles(pod, 1, 0, 0, [(M, K, N)], *flags)
            want = so.slice_cycles(pod, 1, M, K, N, *flags) + so.interconnect_cycles(
                1, so.commands_before_load(*flags[:2]))
            assert got == want, (M, K, N, flags)


def test_the_cycles_depend_on_the_port_and_the_start():
    """The slots are fixed in time: the same slice takes different cycles from
    different ports or start cycles, the same from cycles P apart; and P beats per word
    cost about P times the free port's transfer cycles."""
    pod = design(4, "bus", "os").pod
    shape = [(7, 9, 6)]
    by = {(slot, start): so.bus_job_cycles(pod, 4, slot, start, shape, True, True, False)
          for slot in range(4) for start in range(8)}
    assert len(set(by.values())) > 1
    assert all(by[(s, t)] == by[(s, t + 4)] for s in range(4) for t in range(4))
    assert all(by[(s, t)] == by[((s + 1) % 4, t + 1)] for s in range(4) for t in range(7))
    free = so.slice_cycles(pod, 1, 7, 9, 6, True, True, False)
    assert free < min(by.values()) and max(by.values()) <= so.slice_cycles(
        pod, 4, 7, 9, 6, True, True, False) + 8


def _check(cfg, jobs_of_pods, shapes, phase=0):
    """Run the jobs; every job's cycles as the model says from the cycle it started."""
    res = run_jobs_amaranth(cfg, jobs_of_pods, phase)
    assert not res.timed_out
    P = cfg.pods.count
    for j, (job, sh) in enumerate(zip(jobs_of_pods, shapes)):
        want = so.bus_job_cycles(cfg.pod, P, job.port, res.start[j], sh, True, True, False,
                                 phase=phase)
        assert res.end[j] - res.start[j] == want, (j, res.start[j])
    return res


@pytest.mark.parametrize("P,df,phase,pr,M,K,N,beat", [
    (2, "os", 0, 2, 7, 9, 6, 2), (4, "ws", 0, 2, 7, 9, 6, 2), (4, "os", 3, 4, 9, 5, 3, 2),
    (2, "ws", 1, 1, 5, 14, 7, 2), (3, "ws", 0, 1, 5, 6, 7, 1)])
def test_cut_gemm_bit_exact_and_cycles_as_modelled(P, df, phase, pr, M, K, N, beat):
    """A GEMM cut pr x (P / pr) (uneven slices) bit-exact, each pod's cycles as
    modelled; then every pod runs its slice again, started when another pod's first job
    has ended (so in another phase of the slots), as modelled from that cycle. Words of
    two beats (beat 1) cross the bus one beat a slot."""
    cfg = design(P, "bus", df)
    cfg = cfg.replace(host=dataclasses.replace(cfg.host, beat_elems=beat))
    progs, where, want = cut(cfg, M, K, N, pr, P // pr, seed=P + phase)
    first = [Job(p, tuple(prog.cmds + [cmd_sync()]), tuple(prog.din), prog.n_dout)
             for p, (prog, _) in enumerate(progs)]
    again = [Job(p, j.cmds, j.din, j.n_dout, ((p + 1) % len(first),))
             for p, j in enumerate(first)]
    shapes = [[(m, K, n)] for _, (m, n) in progs]
    res = _check(cfg, first + again, shapes * 2, phase)
    out = np.zeros((M, N), dtype=object)
    for (prog, _), (r0, c0), j in zip(progs, where, range(len(progs))):
        got = prog.decode(cfg.pod, res.job_dout[j])
        out[r0:r0 + got.shape[0], c0:c0 + got.shape[1]] = got
    assert out.tolist() == want.tolist()
    assert min(res.start[len(first):]) > 0


def test_slices_one_after_another_in_one_job():
    """A pod's slices of a layer run as one job: the operand register already holds the
    next slice's first word when the slice before it ends."""
    cfg = design(4, "bus", "ws")
    progs, _, _ = cut(cfg, 9, 6, 7, 2, 2, seed=3)
    jobs, shapes = [], []
    for p in range(4):
        a, (ma, na) = progs[p]
        b, (mb, nb) = progs[(p + 1) % 4]
        jobs.append(Job(p, tuple(a.cmds + [cmd_sync()] + b.cmds + [cmd_sync()]),
                        tuple(a.din + b.din), a.n_dout + b.n_dout))
        shapes.append([(ma, 6, na), (mb, 6, nb)])
    _check(cfg, jobs, shapes)


def test_a_repeated_block_skips_whole_periods():
    """A block repeated n times gives what n copies in a row give, for every start."""
    port = slots.Port(5, 2, 3)
    body = slots.seq(slots.load(3, False), slots.compute(4), slots.read(9, 2, 1, False))
    for n in (1, 2, 7, 50, 333):
        for t in range(5):
            s = slots.start(t)
            long = s
            for _ in range(n):
                long = slots.run(port, body, long)
            assert slots.run(port, body.times(n), s) == long, (n, t)
