"""A network on a scale-out design, bit for bit against the integer reference, in one
simulation of the whole design (the Amaranth simulator, Icarus or Verilator).

* **Pods**: every layer's parts cut across the pods as the cycle model cuts them
  (:func:`hwgen.compiler.scaleout.pod_layer_program`); a pod's slices of a layer are one
  job (each slice's program followed by a SYNC) and every job of a layer starts when the
  previous layer's last job has finished, so a layer's cycles are from its start to its
  last pod's last result.
* Several networks on the pods: each on pods of its own, the split
  :func:`hwgen.compiler.scaleout.plan_tenants` chooses, side by side.
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

import dataclasses
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwgen.compiler.network import layer_program, plan_layer
from hwgen.compiler.scaleout import (interconnect_of, plan_tenants, pod_layer_program,
                                    schedule_layers)
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
    outputs_of: dict = field(default_factory=dict)   # network -> its outputs (RTL)

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


def _jobs_of_layers(cfg, progs: list, first_pod: int, jobs: list) -> list:
    """Append the jobs of one network's layers on the pods (each layer's jobs waiting
    for the previous layer's), its pods from ``first_pod``; per layer its job indices."""
    of_layer, prev = [], ()
    for lprog in progs:
        mine = []
        if lprog.plan.where == "pods":
            for p, _ in enumerate(lprog.slices):
                cmds, din, n = lprog.job(p)
                if cmds:
                    mine.append(len(jobs))
                    jobs.append(Job(first_pod + p, tuple(cmds), tuple(din), n, prev))
            prev = tuple(mine)
        of_layer.append(mine)
    return of_layer


def run_pods_networks(cfg, nets: list, n_images: int, *, sim: str = "verilator",
                      max_cycles: int = 50_000_000, progress=None) -> ScaleoutRun:
    """Run every layer of every network of ``nets`` ([(name, QNet, env)], ``env`` every
    tensor of the integer reference (:meth:`QNet.run`) for the ``n_images`` images) on
    the pods of ``cfg``: one network on all pods, several each on the pods
    :func:`hwgen.compiler.scaleout.plan_tenants` gives it (pods 0.. to the first, the
    next ones to the second, ...), side by side. ``outputs_of[name]`` holds each
    network's outputs as the RTL computed them."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    say = progress or (lambda msg: None)
    P = cfg.pods.count
    if len(nets) == 1:
        tenants = [(cfg, None, 0)]
    else:
        split = plan_tenants(cfg, [(name, q) for name, q, _ in nets], n_images)["split"]
        net, first, tenants = interconnect_of(cfg), 0, []
        for name, _, _ in nets:
            n = split[name]
            tenants.append((cfg.replace(pods=dataclasses.replace(cfg.pods, count=n)), net,
                            first))
            first += n
    jobs, per_net = [], []
    for (name, q, env), (tcfg, net, first) in zip(nets, tenants):
        say(f"building every pod's programs for {name}")
        progs, start = [], 0   # each layer from the cycle the previous one ends
        for layer in q.layers:
            progs.append(pod_layer_program(tcfg, q, layer, [env[t] for t in layer.inputs],
                                           n_images, net, first, start))
            start += progs[-1].plan.cycles
        per_net.append((progs, _jobs_of_layers(tcfg, progs, first, jobs)))
    expects = [sum(lp.plan.cycles for lp in progs) for progs, _ in per_net]
    say(f"simulating {', '.join(n for n, _, _ in nets)} on {P} pods on {sim} "
        f"({len(jobs)} jobs, {max(expects)} cycles expected)")
    res, build_s, run_s = _run_jobs(cfg, jobs, sim, max_cycles)
    out = ScaleoutRun(sim, total_cycles=res.cycles, total_estimate=max(expects),
                      seconds=run_s, build_seconds=build_s, timed_out=res.timed_out)
    for (name, q, env), (tcfg, _, first), (progs, of_layer) in zip(nets, tenants, per_net):
        rtl_env = {q.input.name: env[q.input.name]}
        t = 0
        for layer, lprog, mine in zip(q.layers, progs, of_layer):
            plan = lprog.plan
            r = LayerResult(layer.name, layer.op, plan.where, plan.how,
                            estimate_cycles=plan.cycles, seconds=None)
            if len(nets) > 1:
                r.extra["model"] = name
            if plan.where == "host":
                rtl_env[layer.output] = q.run_layer(layer, [rtl_env[x] for x in layer.inputs])
                out.layers.append(r)
                continue
            want = env[layer.output]
            done = not res.timed_out and all(res.end[j] is not None for j in mine)
            if done:
                start = min(res.start[j] for j in mine)
                end = max(res.end[j] for j in mine)
                r.cycles = end - start
                dout = [[] for _ in lprog.slices]
                for j in mine:
                    dout[jobs[j].port - first] = res.job_dout[j]
                try:
                    got = lprog.decode(tcfg.pod, dout, want.shape)
                except ValueError:   # a pod gave too few or too many result beats
                    got, done = np.zeros_like(want), False
                t = end
            else:
                got = np.zeros_like(want)
            _check(r, got, want, not done)
            r.extra.update(grid=f"{plan.grid[0]}x{plan.grid[1]}", parts=plan.parts,
                           pods_used=plan.pods_used, start=t - r.cycles if done else None,
                           end=t if done else None)
            if len(nets) > 1:
                r.extra["pods"] = [first, first + tcfg.pods.count - 1]
            rtl_env[layer.output] = got
            out.layers.append(r)
        out.outputs_of[name] = {o: rtl_env[o] for o in q.outputs}
    out.outputs = out.outputs_of[nets[0][0]]
    return out


def run_pods_network(cfg, qnet, env: dict, n_images: int, **kw) -> ScaleoutRun:
    """:func:`run_pods_networks` of one network."""
    return run_pods_networks(cfg, [(qnet.name, qnet, env)], n_images, **kw)


def run_engines_networks(cfg, nets: list, n_images: int, *, sim: str = "verilator",
                         max_cycles: int = 50_000_000, progress=None) -> ScaleoutRun:
    """Run every layer of every network of ``nets`` (as :func:`run_pods_networks`
    takes them) on the sub-accelerators of ``cfg`` as the layer scheduler assigns them."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    say = progress or (lambda msg: None)
    sched = schedule_layers(cfg, [(name, q) for name, q, _ in nets], n_images)
    by_key = {(sl.model, sl.name): sl for sl in sched.layers}
    engines = dict(cfg.engines)
    port = {name: e for e, (name, _) in enumerate(cfg.engines)}
    say(f"building every engine's programs for {', '.join(n for n, _, _ in nets)}")
    # every (network, layer) that runs on an engine, in the schedule's order (so each
    # engine runs its own by start), waiting for the engine layers it reads, through
    # host layers
    nodes = [(k, i, layer) for k, (name, q, _) in enumerate(nets)
             for i, layer in enumerate(q.layers)]
    key = lambda node: (nets[node[0]][0], node[2].name)   # noqa: E731
    order = sorted((nd for nd in nodes if by_key[key(nd)].engine != "host"),
                   key=lambda nd: (by_key[key(nd)].start, nd[0], nd[1]))
    job_of = {(nd[0], nd[1]): j for j, nd in enumerate(order)}
    after, waits = {}, {}   # waits: (network, tensor) -> the jobs that make it
    for k, i, layer in nodes:
        reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
        need = tuple(sorted({j for t in reads for j in waits.get((k, t), ())}))
        if (k, i) in job_of:
            after[(k, i)] = need
            waits[(k, layer.output)] = (job_of[(k, i)],)
        else:
            waits[(k, layer.output)] = need
    jobs, lprogs = [], {}
    for k, i, layer in order:
        name = by_key[key((k, i, layer))].engine
        ecfg = engines[name]
        env = nets[k][2]
        lp = plan_layer(ecfg, nets[k][1], layer, n_images)
        lprog = layer_program(ecfg, lp, [env[t] for t in layer.inputs])
        lprogs[(k, i)] = (ecfg, lprog)
        prog = lprog.program
        jobs.append(Job(port[name], tuple(prog.cmds), tuple(prog.din), prog.n_dout,
                        after[(k, i)]))
    expect = sched.makespan
    say(f"simulating {', '.join(n for n, _, _ in nets)} on {len(cfg.engines)} engines on "
        f"{sim} ({len(jobs)} layers, {expect} cycles expected)")
    res, build_s, run_s = _run_jobs(cfg, jobs, sim, max_cycles)
    out = ScaleoutRun(sim, total_cycles=res.cycles, total_estimate=expect, seconds=run_s,
                      build_seconds=build_s, timed_out=res.timed_out)
    for k, (mname, q, env) in enumerate(nets):
        rtl_env = {q.input.name: env[q.input.name]}
        ends = {}   # tensor -> the cycle it was ready in the run
        for i, layer in enumerate(q.layers):
            sl = by_key[(mname, layer.name)]
            reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
            ready = max((ends.get(t, 0) for t in reads), default=0)
            r = LayerResult(layer.name, layer.op,
                            "host" if sl.engine == "host" else "engine", "",
                            estimate_cycles=sl.end - sl.start, seconds=None)
            if len(nets) > 1:
                r.extra["model"] = mname
            r.extra.update(engine=sl.engine, estimate_start=sl.start, estimate_end=sl.end)
            if sl.engine == "host":
                rtl_env[layer.output] = q.run_layer(layer, [rtl_env[x] for x in layer.inputs])
                ends[layer.output] = ready
                r.extra.update(start=ready, end=ready)
                out.layers.append(r)
                continue
            ecfg, lprog = lprogs[(k, i)]
            r.how = lprog.plan.how
            j = job_of[(k, i)]
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
        out.outputs_of[mname] = {o: rtl_env[o] for o in q.outputs}
    out.outputs = out.outputs_of[nets[0][0]]
    return out


def run_engines_network(cfg, qnet, env: dict, n_images: int, **kw) -> ScaleoutRun:
    """:func:`run_engines_networks` of one network."""
    return run_engines_networks(cfg, [(qnet.name, qnet, env)], n_images, **kw)
