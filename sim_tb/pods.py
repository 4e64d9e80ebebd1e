"""Programs on a multi-pod design's data path (:class:`hwgen.scaleout.pods.MultiPod`), or
on the engines of a heterogeneous design (:class:`hwgen.scaleout.hetero.Heterogeneous`:
the same ports without ``phase``), on the Amaranth simulator, Icarus or Verilator, with
one driver (:class:`PodsDriver`) for all three: each pod's command words straight to the
pod, its operand beats from the bank that ``phase`` places on it, its results from the
result port they reach. Every source offers its next beat whenever it has one and every
result port is always ready (the rate the cycle model assumes).

The driver runs *jobs*: a job is a program for one port (command words, operand beats,
result beats expected) that may wait for other jobs. A port runs its jobs in the order
given, each from the cycle both the port's previous job and every job it waits for have
finished (all its commands taken, all its result beats out and its pod idle), as a host
does that starts a layer once the layers it reads are done. One program per port with
no waiting is the special case :func:`run_pods_amaranth` and :func:`run_pods_rtl` take.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .runner import run_unit

TOP = "hwgen_pods_top"


@dataclass(frozen=True)
class Job:
    """A program on ``port``: ``cmds``, ``din`` beats, ``n_dout`` result beats, started
    once the jobs numbered in ``after`` (indices into the job list) have finished."""
    port: int
    cmds: tuple
    din: tuple
    n_dout: int
    after: tuple = ()


@dataclass
class PodsResult:
    dout: list = field(default_factory=list)    # per pod: its result beats, all jobs
    cycles: int = 0                             # first cycle .. all beats out, pods idle
    timed_out: bool = False
    job_dout: list = field(default_factory=list)    # per job: its result beats
    start: list = field(default_factory=list)       # per job: its first cycle (or None)
    end: list = field(default_factory=list)         # per job: the cycle it was done


def jobs_of(programs: list) -> list[Job]:
    """One job per port from ``programs`` ([(cmds, din, n_dout)] per port), ports without
    commands left out."""
    return [Job(p, tuple(c), tuple(d), n) for p, (c, d, n) in enumerate(programs)
            if len(c) or len(d) or n]


class PodsDriver:
    """The per-cycle driver of ``jobs`` (:class:`Job`) on P ports. Every cycle:
    :meth:`done` with the pods' ``busy`` (a function of their state only) finishes and
    starts jobs and says whether all are done; then :meth:`inputs` gives what to drive
    and :meth:`step` takes what the design answered."""

    def __init__(self, P: int, din_bits: int, dout_bits: int, jobs: list, phase: int,
                 max_cycles: int):
        for j, job in enumerate(jobs):
            if not 0 <= job.port < P:
                raise ValueError(f"job {j} on port {job.port} of {P}")
            if any(not 0 <= a < len(jobs) or a == j for a in job.after):
                raise ValueError(f"job {j} waits for {job.after}")
        self.P, self.din_bits, self.dout_bits = P, din_bits, dout_bits
        self.jobs = jobs
        self.queue = [[j for j, job in enumerate(jobs) if job.port == p] for p in range(P)]
        self.cur = [None] * P        # the job each port runs
        self.phase, self.max_cycles = phase, max_cycles
        self.ci, self.di, self.got = [0] * P, [0] * P, [0] * P
        n = len(jobs)
        self.res = PodsResult([[] for _ in range(P)], job_dout=[[] for _ in range(n)],
                              start=[None] * n, end=[None] * n)
        self.left = n

    def _finish_and_start(self, busy: int) -> None:
        res = self.res
        for p in range(self.P):
            j = self.cur[p]
            if j is None:
                continue
            job = self.jobs[j]
            if (self.ci[p] == len(job.cmds) and self.got[p] == job.n_dout
                    and not busy >> p & 1):
                res.end[j] = res.cycles
                self.cur[p] = None
                self.left -= 1
        for p in range(self.P):
            if self.cur[p] is None and self.queue[p]:
                j = self.queue[p][0]
                if all(res.end[a] is not None for a in self.jobs[j].after):
                    self.queue[p].pop(0)
                    self.cur[p] = j
                    res.start[j] = res.cycles
                    self.ci[p] = self.di[p] = self.got[p] = 0

    def done(self, busy: int) -> bool:
        self._finish_and_start(busy)
        if self.left == 0 and not busy:
            return True
        if self.res.cycles >= self.max_cycles:
            self.res.timed_out = True
            return True
        return False

    def inputs(self) -> tuple[int, int, int, int]:
        """(cmd valid, cmd data, din valid, din data) vectors."""
        cv = cd = dv = dd = 0
        for p in range(self.P):
            j = self.cur[p]
            if j is not None and self.ci[p] < len(self.jobs[j].cmds):
                cv |= 1 << p
                cd |= self.jobs[j].cmds[self.ci[p]] << (64 * p)
            q = p ^ self.phase     # bank p feeds pod p ^ phase
            j = self.cur[q]
            if j is not None and self.di[q] < len(self.jobs[j].din):
                dv |= 1 << p
                dd |= self.jobs[j].din[self.di[q]] << (self.din_bits * p)
        return cv, cd, dv, dd

    def step(self, cv: int, dv: int, cmd_ready: int, din_ready: int, out_valid: int,
             out_data: int) -> None:
        mask = (1 << self.dout_bits) - 1
        for p in range(self.P):
            self.ci[p] += cv >> p & cmd_ready >> p & 1
            self.di[p ^ self.phase] += dv >> p & din_ready >> p & 1
            if out_valid >> p & 1:   # result port p carries pod p ^ phase's beats
                q = p ^ self.phase
                beat = out_data >> (self.dout_bits * p) & mask
                self.res.dout[q].append(beat)
                if self.cur[q] is not None:   # a beat of no job is kept in dout only
                    self.res.job_dout[self.cur[q]].append(beat)
                self.got[q] += 1
        self.res.cycles += 1


def run_jobs_amaranth(cfg, jobs: list, phase: int = 0,
                      max_cycles: int = 200_000) -> PodsResult:
    """Run ``jobs`` (:class:`Job`) on the pods of ``cfg``, or its engines (whose ports
    have no ``phase``: it must be 0), on the Amaranth simulator."""
    from hwgen.emit import design_top

    from .amaranth_sim import simulate
    has_phase = not cfg.subaccelerators
    if phase and not has_phase:
        raise ValueError("a heterogeneous design's ports have no phase")
    dut = design_top(cfg)
    P = len(dut.busy)
    drv = PodsDriver(P, dut.din_bits, dut.dout_bits, jobs, phase, max_cycles)

    async def bench(ctx):
        if has_phase:
            ctx.set(dut.phase, phase)
        ctx.set(dut.dout.ready, (1 << P) - 1)
        while True:
            if drv.done(ctx.get(dut.busy)):
                break
            cv, cd, dv, dd = drv.inputs()
            ctx.set(dut.cmd.valid, cv)
            ctx.set(dut.cmd.data.as_value(), cd)
            ctx.set(dut.din.valid, dv)
            ctx.set(dut.din.data.as_value(), dd)
            drv.step(cv, dv, ctx.get(dut.cmd.ready), ctx.get(dut.din.ready),
                     ctx.get(dut.dout.valid), ctx.get(dut.dout.data.as_value()))
            await ctx.tick()

    simulate(dut, bench)
    return drv.res


def run_pods_amaranth(cfg, programs: list, phase: int = 0,
                      max_cycles: int = 200_000) -> PodsResult:
    """Run ``programs`` ([(cmd words, din beats, result beats expected)] per pod, or per
    engine of a heterogeneous design, whose ports have no ``phase``: it must be 0)."""
    P = len(cfg.engines) if cfg.subaccelerators else cfg.pods.count
    if len(programs) != P:
        raise ValueError(f"{len(programs)} programs for {P} pods")
    return run_jobs_amaranth(cfg, jobs_of(programs), phase, max_cycles)


def run_jobs_rtl(verilog: str, P: int, din_bits: int, dout_bits: int, jobs: list,
                 work: Path, *, phase: int = 0, sim: str = "verilator",
                 max_cycles: int = 200_000, top: str = TOP) -> PodsResult:
    """The same on the data path's Verilog (module ``top``) through cocotb
    (``sim_tb/test_pods.py``)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    spec, result = work / "programs.json", work / "result.json"
    spec.write_text(json.dumps({"P": P, "din_bits": din_bits, "dout_bits": dout_bits,
                                "phase": phase, "max_cycles": max_cycles,
                                "jobs": [[j.port, list(j.cmds), list(j.din), j.n_dout,
                                          list(j.after)] for j in jobs]}))
    run_unit(verilog, top, "sim_tb.test_pods", work, sim=sim,
             plusargs=[f"+programs_file={spec}", f"+result_file={result}"])
    d = json.loads(result.read_text())
    return PodsResult(d["dout"], d["cycles"], d["timed_out"], d["job_dout"], d["start"],
                      d["end"])


def run_pods_rtl(verilog: str, P: int, din_bits: int, dout_bits: int, programs: list,
                 work: Path, *, phase: int = 0, sim: str = "verilator",
                 max_cycles: int = 200_000, top: str = TOP) -> PodsResult:
    """:func:`run_pods_amaranth` on the data path's Verilog."""
    if len(programs) != P:
        raise ValueError(f"{len(programs)} programs for {P} pods")
    return run_jobs_rtl(verilog, P, din_bits, dout_bits, jobs_of(programs), work,
                        phase=phase, sim=sim, max_cycles=max_cycles, top=top)
