"""A network on a scale-out design, bit for bit against the integer reference, in one
simulation of the whole design (the Amaranth simulator, Icarus or Verilator).

* **Pods**: every layer's parts cut across the pods as the cycle model cuts them
  (:func:`hwgen.compiler.scaleout.pod_layer_program`); a pod's slices of a layer are one
  job (each slice's program followed by a SYNC) and every job of a layer starts when the
  previous layer's last job has finished, so a layer's cycles are from its start to its
  last pod's last result.
* **Sub-accelerators**: the layer scheduler's assignment
  (:func:`hwgen.compiler.scaleout.schedule_layers`); each layer's program on its engine
  is the single-array one (:func:`hwgen.compiler.network.layer_program`), started when
  the layers it reads and the engine's previous layer have finished, so the engines run
  concurrently and the run's start and end of every layer can be held against the
  schedule's.

As in :mod:`sim_tb.network`, each layer computes on the input the reference says the
previous layer produces (a wrong layer is named, not propagated), and host layers (max
pooling, layout) are computed by the reference from the RTL's outputs.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.compiler.network import layer_program, plan_layer
from hwgen.compiler.scaleout import pod_layer_program, schedule_layers
from hwgen.emit import TOP_NAME, cached_verilog

from .network import SIMULATORS, LayerResult, NetworkRun
from .pods import Job, run_jobs_amaranth, run_jobs_rtl


@dataclass
class ScaleoutRun(NetworkRun):
    """A network's run on a scale-out design: ``cycles`` are the whole simulation's
    (the layers one after another on pods, the schedule's makespan on engines)."""
    total_cycles: int = 0
    total_estimate: int = 0
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def cycles(self) -> int:
        return self.total_cycles

    @property
    def estimate_cycles(self) -> int:
        return self.total_estimate

    @property
    def cycles_match(self) -> bool:
        return (all(r.cycles_match for r in self.layers)
                and self.total_cycles == self.total_estimate)

    @property
    def sim_seconds(self) -> float:
        return self.seconds

    def report(self) -> dict:
        d = super().report()
        d["build_seconds"] = None   # one call builds (unless cached) and simulates:
        return d                    # sim_seconds holds both


def _run_jobs(cfg, jobs: list, sim: str, max_cycles: int):
    """(result, build seconds, seconds) of ``jobs`` on the scale-out top of ``cfg``."""
    t0 = time.monotonic()
    if sim == "amaranth":
        res = run_jobs_amaranth(cfg, jobs, max_cycles=max_cycles)
        return res, 0.0, time.monotonic() - t0
    p = (cfg.engines[0][1] if cfg.subaccelerators else cfg.pod).params()
    P = len(cfg.engines) if cfg.subaccelerators else cfg.pods.count
    verilog = cached_verilog(cfg)
    with tempfile.TemporaryDirectory(prefix="hwgen-scaleout-run-") as work:
        res = run_jobs_rtl(verilog, P, p["DIN_BITS"], p["DOUT_BITS"], jobs, Path(work),
                           sim=sim, max_cycles=max_cycles, top=TOP_NAME)
    return res, 0.0, time.monotonic() - t0


def _check(res: LayerResult, got: np.ndarray, want: np.ndarray, timed_out: bool) -> None:
    res.elements = int(want.size)
    if timed_out:
        res.timed_out, res.bit_exact, res.mismatches = True, False, int(want.size)
    else:
        res.mismatches = int((got != want).sum())
        res.bit_exact = res.mismatches == 0


def run_pods_network(cfg, qnet, env: dict, n_images: int, *, sim: str = "verilator",
                     max_cycles: int = 50_000_000, progress=None) -> ScaleoutRun:
    """Run every layer of ``qnet`` on the pods of ``cfg``; ``env``: every tensor of the
    integer reference (:meth:`QNet.run`) for the ``n_images`` images."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    say = progress or (lambda msg: None)
    say(f"building every pod's programs for {qnet.name}")
    progs = [pod_layer_program(cfg, qnet, layer, [env[t] for t in layer.inputs], n_images)
             for layer in qnet.layers]
    jobs, of_layer, prev = [], [], ()
    for lprog in progs:
        mine = []
        if lprog.plan.where == "pods":
            for p in range(cfg.pods.count):
                cmds, din, n = lprog.job(p)
                if cmds:
                    mine.append(len(jobs))
                    jobs.append(Job(p, tuple(cmds), tuple(din), n, prev))
            prev = tuple(mine)
        of_layer.append(mine)
    expect = sum(lp.plan.cycles for lp in progs)
    say(f"simulating {qnet.name} on {cfg.pods.count} pods on {sim} ({len(jobs)} jobs, "
        f"{expect} cycles expected)")
    res, build_s, run_s = _run_jobs(cfg, jobs, sim, max_cycles)
    out = ScaleoutRun(sim, total_cycles=res.cycles, total_estimate=expect, seconds=run_s,
                      build_seconds=build_s, timed_out=res.timed_out)
    rtl_env = {qnet.input.name: env[qnet.input.name]}
    t = 0
    for layer, lprog, mine in zip(qnet.layers, progs, of_layer):
        plan = lprog.plan
        r = LayerResult(layer.name, layer.op, plan.where, plan.how,
                        estimate_cycles=plan.cycles, seconds=None)
        if plan.where == "host":
            rtl_env[layer.output] = qnet.run_layer(layer, [rtl_env[x] for x in layer.inputs])
            out.layers.append(r)
            continue
        want = env[layer.output]
        done = not res.timed_out and all(res.end[j] is not None for j in mine)
        if done:
            start = min(res.start[j] for j in mine)
            end = max(res.end[j] for j in mine)
            r.cycles = end - start
            dout = [[] for _ in range(cfg.pods.count)]
            for j in mine:
                dout[jobs[j].port] = res.job_dout[j]
            try:
                got = lprog.decode(cfg.pod, dout, want.shape)
            except ValueError:   # a pod gave too few or too many result beats
                got, done = np.zeros_like(want), False
            t = end
        else:
            got = np.zeros_like(want)
        _check(r, got, want, not done)
        r.extra = {"grid": f"{plan.grid[0]}x{plan.grid[1]}", "parts": plan.parts,
                   "pods_used": plan.pods_used, "start": t - r.cycles if done else None,
                   "end": t if done else None}
        rtl_env[layer.output] = got
        out.layers.append(r)
    out.outputs = {o: rtl_env[o] for o in qnet.outputs}
    return out


def run_engines_network(cfg, qnet, env: dict, n_images: int, *, sim: str = "verilator",
                        max_cycles: int = 50_000_000, progress=None) -> ScaleoutRun:
    """Run every layer of ``qnet`` on the sub-accelerators of ``cfg`` as the layer
    scheduler assigns them; ``env`` as :func:`run_pods_network`'s."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    say = progress or (lambda msg: None)
    sched = schedule_layers(cfg, [(qnet.name, qnet)], n_images)
    by_name = {sl.name: sl for sl in sched.layers}
    engines = dict(cfg.engines)
    port = {name: e for e, (name, _) in enumerate(cfg.engines)}
    say(f"building every engine's programs for {qnet.name}")
    # the engine layers in the schedule's order (so each engine runs its own by start),
    # each waiting for the engine layers it reads, through host layers
    on_engine = [i for i, layer in enumerate(qnet.layers)
                 if by_name[layer.name].engine != "host"]
    order = sorted(on_engine, key=lambda i: (by_name[qnet.layers[i].name].start, i))
    job_of = {i: j for j, i in enumerate(order)}
    after, waits = {}, {}   # waits: tensor -> the jobs that make it
    for i, layer in enumerate(qnet.layers):
        reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
        need = tuple(sorted({j for t in reads for j in waits.get(t, ())}))
        if i in job_of:
            after[i] = need
            waits[layer.output] = (job_of[i],)
        else:
            waits[layer.output] = need
    jobs, lprogs = [], {}
    for i in order:
        layer = qnet.layers[i]
        name = by_name[layer.name].engine
        ecfg = engines[name]
        lp = plan_layer(ecfg, qnet, layer, n_images)
        lprog = layer_program(ecfg, lp, [env[t] for t in layer.inputs])
        lprogs[layer.name] = (ecfg, lprog)
        prog = lprog.program
        jobs.append(Job(port[name], tuple(prog.cmds), tuple(prog.din), prog.n_dout,
                        after[i]))
    expect = sched.makespan
    say(f"simulating {qnet.name} on {len(cfg.engines)} engines on {sim} ({len(jobs)} "
        f"layers, {expect} cycles expected)")
    res, build_s, run_s = _run_jobs(cfg, jobs, sim, max_cycles)
    out = ScaleoutRun(sim, total_cycles=res.cycles, total_estimate=expect, seconds=run_s,
                      build_seconds=build_s, timed_out=res.timed_out)
    rtl_env = {qnet.input.name: env[qnet.input.name]}
    ends = {}   # tensor -> the cycle it was ready in the run
    for layer in qnet.layers:
        sl = by_name[layer.name]
        reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
        ready = max((ends.get(t, 0) for t in reads), default=0)
        r = LayerResult(layer.name, layer.op, "host" if sl.engine == "host" else "engine",
                        "", estimate_cycles=sl.end - sl.start, seconds=None)
        r.extra = {"engine": sl.engine, "estimate_start": sl.start, "estimate_end": sl.end}
        if sl.engine == "host":
            rtl_env[layer.output] = qnet.run_layer(layer, [rtl_env[x] for x in layer.inputs])
            ends[layer.output] = ready
            r.extra.update(start=ready, end=ready)
            out.layers.append(r)
            continue
        ecfg, lprog = lprogs[layer.name]
        r.how = lprog.plan.how
        j = job_of[qnet.layers.index(layer)]
        want = env[layer.output]
        done = not res.timed_out and res.end[j] is not None
        if done:
            r.cycles = res.end[j] - res.start[j]
            r.extra.update(start=res.start[j], end=res.end[j])
            ends[layer.output] = res.end[j]
            try:
                got = lprog.decode(ecfg, res.job_dout[j], want.shape)
            except ValueError:
                got, done = np.zeros_like(want), False
        else:
            got = np.zeros_like(want)
            r.extra.update(start=res.start[j], end=None)
        _check(r, got, want, not done)
        rtl_env[layer.output] = got
        out.layers.append(r)
    out.outputs = {o: rtl_env[o] for o in qnet.outputs}
    return out
