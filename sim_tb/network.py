"""Run a network's programs on a simulator (the Amaranth simulator, Icarus or Verilator)
and check every layer against the integer reference, bit for bit.

Each array layer runs as its own program (its parts joined by SYNC) from an idle
accelerator, on exactly the input the reference says the previous layer produces, so a
wrong layer is named rather than spoiling the ones after it; when every layer is
bit-exact, the layers chained compute the network's output exactly. Host layers (max
pooling, layout) are computed by the reference, as the host would. A layer's cycles are
the simulation's and must equal the plan's. Verilog comes from the on-disk cache
(:func:`hwgen.emit.cached_verilog`) and the simulator is built once per design
(:mod:`sim_tb.runner`), so every layer after the first starts at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from hwgen.compiler.network import NetworkPlan, layer_program
from hwgen.emit import cached_verilog

from .amaranth_sim import run_program_amaranth
from .runner import run_program

SIMULATORS = ("verilator", "icarus", "amaranth")


@dataclass
class LayerResult:
    name: str
    op: str
    where: str
    how: str
    cycles: int = 0             # simulated
    estimate_cycles: int = 0    # the plan's
    bit_exact: bool = True
    mismatches: int = 0
    elements: int = 0
    seconds: Optional[float] = 0.0    # None: run within one simulation of the network
    timed_out: bool = False
    extra: dict = field(default_factory=dict)   # what a scale-out design adds (pods, engine)

    @property
    def cycles_match(self) -> bool:
        return self.cycles == self.estimate_cycles

    def report(self) -> dict:
        d = {"name": self.name, "op": self.op, "where": self.where,
             "cycles": self.cycles, "estimate_cycles": self.estimate_cycles}
        if self.where != "host":
            d.update(bit_exact=self.bit_exact, mismatches=self.mismatches,
                     elements=self.elements)
            if self.seconds is not None:
                d["sim_seconds"] = round(self.seconds, 3)
            if self.timed_out:
                d["timed_out"] = True
        d.update(self.extra)
        return d


@dataclass
class NetworkRun:
    sim: str
    layers: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)   # output tensor -> the RTL's values
    build_seconds: float = 0.0

    @property
    def correct(self) -> bool:
        """Every layer's output bit-exact against the reference."""
        return all(r.bit_exact for r in self.layers)

    @property
    def cycles_match(self) -> bool:
        return all(r.cycles_match for r in self.layers)

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.layers)

    @property
    def estimate_cycles(self) -> int:
        return sum(r.estimate_cycles for r in self.layers)

    @property
    def sim_seconds(self) -> float:
        return sum(r.seconds for r in self.layers)

    def first_wrong(self):
        return next((r for r in self.layers if not r.bit_exact), None)

    def report(self) -> dict:
        s = self.sim_seconds
        return {"sim": self.sim, "correct": self.correct, "cycles": self.cycles,
                "estimate_cycles": self.estimate_cycles, "cycles_match": self.cycles_match,
                "layers": [r.report() for r in self.layers],
                "sim_seconds": round(s, 3), "build_seconds": round(self.build_seconds, 3),
                "cycles_per_second": round(self.cycles / s) if s > 0 else 0}


def run_network(plan: NetworkPlan, env: dict, *, sim: str = "verilator", seed: int = 1,
                max_cycles: int = 50_000_000, progress=None) -> NetworkRun:
    """Run every array layer of ``plan`` on ``sim``; ``env`` holds every tensor of the
    integer reference (:meth:`QNet.run`) for the plan's images. ``progress`` (a
    callable) hears a line per layer."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    cfg = plan.cfg
    verilog = None if sim == "amaranth" else cached_verilog(cfg)
    out = NetworkRun(sim)
    rtl_env = {plan.qnet.input.name: env[plan.qnet.input.name]}
    array_layers = [lp for lp in plan.layers if lp.where != "host"]
    for lp in plan.layers:
        layer = lp.layer
        res = LayerResult(layer.name, layer.op, lp.where, lp.how, estimate_cycles=lp.cycles)
        want = env[layer.output]
        if lp.where == "host":
            rtl_env[layer.output] = plan.qnet.run_layer(layer, [rtl_env[t] for t in layer.inputs])
            out.layers.append(res)
            continue
        if progress is not None:
            k = array_layers.index(lp) + 1
            progress(f"layer {k}/{len(array_layers)}: {layer.name} ({lp.cycles} cycles "
                     f"expected) on {sim}")
        lprog = layer_program(cfg, lp, [env[t] for t in layer.inputs])
        prog = lprog.program
        t0 = time.monotonic()
        if sim == "amaranth":
            r = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed,
                                     max_cycles=max_cycles)
            res.seconds = time.monotonic() - t0
        else:
            r = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout,
                            sim=sim, seed=seed, max_cycles=max_cycles,
                            expected_cycles=lp.cycles)
            out.build_seconds += r.build_seconds
            res.seconds = r.run_seconds
        res.cycles, res.elements = r.cycles, int(want.size)
        if r.timed_out:
            res.timed_out, res.bit_exact, res.mismatches = True, False, int(want.size)
            got = np.zeros_like(want)
        else:
            got = lprog.decode(cfg, r.dout, want.shape)
            res.mismatches = int((got != want).sum())
            res.bit_exact = res.mismatches == 0
        rtl_env[layer.output] = got
        out.layers.append(res)
    out.outputs = {o: rtl_env[o] for o in plan.qnet.outputs}
    return out
