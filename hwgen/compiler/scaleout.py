"""Scale-out designs: a network's layers cut across pods (``pods:``), and layers of one or
several networks scheduled onto sub-accelerators (``subaccelerators:``).

**Pods.** A layer is a list of independent GEMMs (its *parts*: one for a conv or a
linear layer, one per group of a grouped conv, one per channel tile of R channels of a
depthwise conv or an average pool, each a block-diagonal GEMM as on one array,
:mod:`hwgen.compiler.network`), with the images of a batch in M. A part is cut into a
grid of ``pr x pc`` slices (M into pr, N into pc; K is never cut, so no pod needs
another's partial sums), one slice per pod; the pods form ``P // (pr pc)`` groups and
the parts go to the groups longest first, each to the group that is free first. Every
slice is a GEMM timed on one pod with the exact cycle model
(:func:`hwgen.models.perf.nest_block`, the mapping :func:`default_mapping` gives it),
its operands streaming from the shared banks through the pod's interconnect port as
they would over the host link:

* ``uniform`` tiling: the same grid for every layer (P as square as it factors), equal
  slices (ceil(M/pr), ceil(N/pc)), one group: every part across all pods in turn;
* ``sosa`` tiling: per layer, the grid (any pr pc <= P) and so the number of groups that
  finishes first, slices in multiples of the pod's tile (R rows of M on an
  output-stationary pod, C columns of N), so that a small layer uses fewer, full pods.

Each pod runs the programs of its slices one after another, each followed by a SYNC
(so its cycles are the sum of theirs), and a layer ends when every pod's last result has
left the interconnect. The interconnect enters as its latency and its bandwidth, as the
data path :class:`hwgen.scaleout.pods.MultiPod` has them: a pod's operand stream comes
through L pipeline registers (log2 P for the butterfly, 1 for crossbar and bus;
:mod:`hwgen.lib.scaleout`), which delays the layer only when its first load comes within
L cycles of the start, by L - 2 - 2n (n commands before the first load), and its results
leave through L registers, of which the last L - 3 show after the pod is idle (its last
READ is followed by a SYNC). The
butterfly and the crossbar give every pod its own word per cycle: bank b feeds pod
b XOR c, a permutation the butterfly passes without a collision
(:func:`hwgen.models.interconnect.xor_permutation`), so neither ever stalls a pod on
another's traffic. The bus gives pod p the cycles u with u mod P = p on both buses, fixed
in time, so a slice's cycles depend on the cycle it starts in: there each pod's job (its
slices one after another) is timed exactly from the layer's first cycle with the bus's
slots (:mod:`hwgen.models.slots`), the parts placed on the groups by the slices' cycles
with every beat costing P (only to choose where each goes), and a layer's cycles are its
slowest pod's. Layers run one after another (each reads what the previous one wrote), so
the network's cycles are the sum of its layers', each layer timed from the cycle the
previous one ends. :func:`pod_layer_program` gives every pod the programs of the
slices this model times, with the layer's operands (``hwgen run`` on a multi-pod design).

**Sub-accelerators.** Each layer's cycles on each engine are those of
:func:`hwgen.compiler.network.plan_layer` (the exact single-array model; a layer an
engine cannot run costs infinity there). The scheduler is list scheduling in the way of
HEFT: layers ranked by their upward rank (mean cycles over the engines that can run them
plus the longest rank among the layers that read their output), each placed on the engine
where it finishes first, after the layers it reads and after what that engine already
runs (in the first gap long enough, which may lie before layers placed earlier). Layers
on the host (max pooling, layout) take no engine time.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..config import AcceleratorConfig, Dataflow
from ..lib.arith import ceil_div
from ..lib.errors import WorkloadError
from ..lib.protocol import cmd_sync
from ..lib.scaleout import interconnect_latency
from ..models.network import QLayer, QNet, pool_as_conv
from ..models import maxplus as mx
from ..models import slots
from ..models.perf import LoopNest, block_timing, gemm_nest, nest_block
from .mapping import default_mapping
from .network import _im2col, _quant, _spec, plan_layer
from .program import GemmSource, Quant, check_gemm, emit_nest

__all__ = ["LayerGemms", "layer_gemms", "PodLayer", "PodPlan", "plan_pods", "slices",
           "PodGemm", "plan_pod_gemm", "PartData", "layer_parts_data", "PodSlice",
           "pod_layer_slices", "PodLayerProgram", "pod_layer_program",
           "tenant_splits", "plan_tenants",
           "grids", "ScheduledLayer", "Schedule", "schedule_layers", "interconnect_of"]


# ---- a layer as independent GEMMs ------------------------------------------------------------
@dataclass(frozen=True)
class LayerGemms:
    """A layer's independent GEMMs (``parts``, each (M, K, N)), its useful
    multiply-accumulates and what its output path does."""
    parts: tuple
    macs: int
    how: str
    per_lane: bool = True
    clamp: bool = False
    preload: bool = False
    raw: bool = False   # results read raw (no requantization commands)


def layer_gemms(qnet: QNet, layer: QLayer, n_images: int, R: int) -> Optional[LayerGemms]:
    """The GEMMs of ``layer`` on pods of R rows, or None for a layer the host runs."""
    if layer.op == "avgpool":
        layer = pool_as_conv(layer, qnet.tensor(layer.inputs[0]).shape[0])
    flags = {"clamp": layer.lo is not None or layer.hi is not None,
             "preload": layer.residual is not None}
    if layer.op == "linear":
        O, I = layer.weight.shape
        return LayerGemms(((n_images, I, O),), n_images * I * O, "linear", **flags)
    if layer.op != "conv":
        return None
    O, Cg, kh, kw = layer.weight.shape
    g = layer.groups
    _, Ho, Wo = qnet.tensor(layer.output).shape
    M = n_images * Ho * Wo
    macs = M * Cg * kh * kw * (O // g) * g
    if g == 1:
        return LayerGemms(((M, Cg * kh * kw, O),), macs, "conv", **flags)
    if Cg == 1 and O == g:   # depthwise: channel tiles of R, block-diagonal kernels
        parts = tuple((M, kh * kw * min(R, O - t), min(R, O - t)) for t in range(0, O, R))
        return LayerGemms(parts, macs, f"depthwise, {len(parts)} channel tiles of {R}",
                          **flags)
    return LayerGemms(((M, Cg * kh * kw, O // g),) * g, macs, f"grouped conv, {g} groups",
                      **flags)


# ---- one pod ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SharedPort:
    """A pod whose streams get one beat in ``share`` cycles (a time-multiplexed bus):
    the pod's design with every stream word costing ``share`` times its beats."""
    cfg: AcceleratorConfig
    share: int

    def __getattr__(self, name):
        return getattr(self.cfg, name)

    @property
    def link(self):
        ln = self.cfg.link
        return dataclasses.replace(ln, in_word_beats=ln.in_word_beats * self.share,
                                   w_word_beats=ln.w_word_beats * self.share)


def slice_nest(pod: AcceleratorConfig, M: int, K: int, N: int, per_lane: bool,
               clamp: bool, preload: bool, raw: bool = False) -> LoopNest:
    """The loop nest of an M x K x N slice on one pod (the mapping
    :func:`default_mapping` gives it)."""
    check_gemm(pod, M, K, N)
    mp = default_mapping(pod, M, K, N)
    return gemm_nest(M, K, N, mp, raw=raw, per_lane=per_lane and not raw,
                     clamp=clamp and not raw, preload=preload)


@functools.lru_cache(maxsize=65536)
def slice_cycles(pod: AcceleratorConfig, share: int, M: int, K: int, N: int,
                 per_lane: bool, clamp: bool, preload: bool, raw: bool = False) -> int:
    """Exact cycles of an M x K x N slice's program followed by a SYNC on one pod whose
    port gives one beat in ``share`` cycles (1: a beat a cycle); ``raw``: its results
    read raw, without the requantization commands."""
    nest = slice_nest(pod, M, K, N, per_lane, clamp, preload, raw)
    port = pod if share == 1 else _SharedPort(pod, share)
    return block_timing(mx.seq(nest_block(port, nest), mx.sync())).cycles


@functools.lru_cache(maxsize=65536)
def _slice_block(pod: AcceleratorConfig, M: int, K: int, N: int, per_lane: bool,
                 clamp: bool, preload: bool, raw: bool) -> slots.Block:
    """:func:`slice_cycles`'s program (the slice's, then a SYNC) as the bus model's block
    (:mod:`hwgen.models.slots`; it remembers what it did from every state)."""
    nest = slice_nest(pod, M, K, N, per_lane, clamp, preload, raw)
    return slots.seq(nest_block(pod, nest, alg=slots), slots.sync())


def bus_job_cycles(pod: AcceleratorConfig, period: int, slot: int, start: int,
                   shapes: list, per_lane: bool, clamp: bool, preload: bool,
                   raw: bool = False, phase: int = 0) -> int:
    """Exact cycles of one pod's job on a bus of ``period`` ports, the pod on port
    ``slot`` (its operands from bank ``slot XOR phase``), from cycle ``start``: the
    slices ``shapes`` ((M, K, N) each) one after another, each followed by a SYNC
    (:mod:`hwgen.models.slots`)."""
    port = slots.Port(period, (slot ^ phase) % period, slot % period)
    s = slots.start(start)
    for M, K, N in shapes:
        s = slots.run(port, _slice_block(pod, M, K, N, per_lane, clamp, preload, raw), s)
    return slots.done(s) - start


def commands_before_load(per_lane: bool, clamp: bool, raw: bool = False) -> int:
    """Commands a slice's program (output path on, :func:`slice_nest`) sends before its
    first load: one SET_QUANT for all lanes unless per lane, two SET_CLAMP; none when
    its results are read raw."""
    return 0 if raw else (0 if per_lane else 1) + (2 if clamp else 0)


def interconnect_cycles(lat: int, before: int, sync: bool = True) -> int:
    """Cycles a layer's pods take beyond their programs' for an interconnect of latency
    ``lat`` (see the module docstring): the operand pipeline's fill where the first load
    would otherwise not wait, and the result pipeline's registers beyond the cycles the
    program's end takes anyway (a READ's last beat leaves the pod one cycle before its
    program is done, three before a SYNC after it is); ``before`` commands precede the
    first load."""
    return max(0, lat - 2 - 2 * before) + max(0, lat - (3 if sync else 1))


# ---- cutting a part across pods ----------------------------------------------------------------
def slices(total: int, parts: int, unit: int) -> list[int]:
    """``total`` cut into at most ``parts`` slices of a multiple of ``unit`` each (the
    last one smaller); unit 1 gives the most even cut (ceil, then the rest)."""
    size = unit * ceil_div(ceil_div(total, unit), parts)
    out = []
    while total > 0:
        out.append(min(size, total))
        total -= out[-1]
    return out


def grids(P: int) -> list[tuple[int, int]]:
    """Every (pr, pc) with pr * pc <= P."""
    return [(pr, pc) for pr in range(1, P + 1) for pc in range(1, P // pr + 1)]


def uniform_grid(P: int) -> tuple[int, int]:
    """P as pr x pc, as square as it factors (pr >= pc)."""
    pc = max(d for d in range(1, int(P ** 0.5) + 1) if P % d == 0)
    return P // pc, pc


def interconnect_of(cfg: AcceleratorConfig) -> tuple[int, int]:
    """(latency L, share) of a multi-pod design's interconnect: a layer costs
    :func:`interconnect_cycles` of L more, every stream beat ``share`` cycles."""
    P = cfg.pods.count
    if P == 1:
        return 0, 1
    kind = cfg.pods.interconnect.value
    return interconnect_latency(kind, P), (P if kind == "bus" else 1)


@dataclass
class PodLayer:
    """How one layer runs on the pods."""
    name: str
    op: str
    where: str                 # "pods" or "host"
    how: str = ""
    gemm: Optional[tuple] = None   # the first part's (M, K, N)
    parts: int = 0
    grid: tuple = (0, 0)       # (pr, pc) of one part
    groups: int = 0            # pod groups running parts side by side
    pods_used: int = 0
    cycles: int = 0
    macs: int = 0

    def report(self, P: int, pes: int) -> dict:
        d = {"name": self.name, "op": self.op, "where": self.where, "how": self.how,
             "cycles": self.cycles, "macs": self.macs}
        if self.where == "pods":
            M, K, N = self.gemm
            d.update(gemm={"M": M, "K": K, "N": N}, parts=self.parts,
                     grid=f"{self.grid[0]}x{self.grid[1]}", groups=self.groups,
                     pods_used=self.pods_used,
                     utilization=round(self.macs / (P * pes * self.cycles), 6))
        return d


def _part_slices(pod, share, g: LayerGemms, part, pr, pc, unit_m, unit_n) -> list:
    """The cycles of each slice of one part cut pr x pc (one per pod of a group)."""
    M, K, N = part
    return [slice_cycles(pod, share, m, K, n, g.per_lane, g.clamp, g.preload, g.raw)
            for m in slices(M, pr, unit_m) for n in slices(N, pc, unit_n)]


def _lpt(parts: list[list[int]], groups: int, width: int) -> int:
    """The busiest pod's cycles when parts (each its slices' cycles, slice j on pod j of
    a group of ``width`` pods) go to ``groups`` groups longest first, each to the group
    whose busiest pod is free first, every pod running its slices one after another."""
    return _lpt_assign(parts, groups, width)[0]


def _lpt_assign(parts: list[list[int]], groups: int, width: int) -> tuple[int, list]:
    """:func:`_lpt`'s cycles, and the group of every part in the order they were placed
    ([(part index, group)])."""
    load = [[0] * width for _ in range(groups)]
    placed = []
    for k in sorted(range(len(parts)), key=lambda k: (-max(parts[k]), parts[k], k)):
        sl = parts[k]
        i = min(range(groups), key=lambda i: (max(load[i]), i))
        for j, c in enumerate(sl):
            load[i][j] += c
        placed.append((k, i))
    return max(max(row) for row in load), placed


def _placement(g: LayerGemms, cyc: list, pr: int, pc: int, um: int, un: int,
               groups: int, P: int) -> list:
    """Per pod, the slices it runs ((part index, rows, cols), rows and cols (first,
    count)) in its order, when the parts (their slices' cycles ``cyc``, in the order of
    ``g.parts``) go to the groups as :func:`_lpt_assign` places them: group i on pods
    i*w .. i*w+w-1 of a grid of w = pr*pc slices, slice (r, c) of a part on the group's
    pod r*pc + c."""
    cuts = {}
    for part in set(g.parts):
        M, _, N = part
        rows = [(sum(ms[:i]), m) for ms in [slices(M, pr, um)] for i, m in enumerate(ms)]
        cols = [(sum(ns[:j]), n) for ns in [slices(N, pc, un)] for j, n in enumerate(ns)]
        cuts[part] = [(r, c) for r in rows for c in cols]
    _, placed = _lpt_assign(cyc, groups, pr * pc)
    pods = [[] for _ in range(P)]
    for k, grp in placed:
        for j, (r, c) in enumerate(cuts[g.parts[k]]):
            pods[grp * pr * pc + j].append((k, r, c))
    return pods


def _bus_cycles(cfg: AcceleratorConfig, g: LayerGemms, pods: list, period: int,
                first: int, start: int) -> int:
    """Exact cycles of a layer whose pods run the slices ``pods`` (:func:`_placement`)
    on a bus of ``period`` ports, pod p on port ``first + p``, from cycle ``start``: its
    busiest pod's job (:func:`bus_job_cycles`)."""
    return max((bus_job_cycles(cfg.pod, period, first + p, start,
                               [(r[1], g.parts[k][1], c[1]) for k, r, c in sl],
                               g.per_lane, g.clamp, g.preload, g.raw)
                for p, sl in enumerate(pods) if sl), default=0)


def _best_grid(cfg: AcceleratorConfig, g: LayerGemms, net: tuple, first: int = 0,
               start: int = 0) -> tuple:
    """(cycles, (pr, pc), groups, pods used, (unit_m, unit_n)) of the fastest grid for
    the parts of ``g`` on the pods of ``cfg`` (``tiling`` decides which grids), with the
    interconnect's (latency, share) ``net``. On a bus (share > 1) the pods are ports
    ``first`` .. of it and the layer starts in cycle ``start`` (the ports' cycles are
    fixed in time, so a slice's cycles depend on when it starts); the parts are placed
    by the share-scaled cycles of their slices, and the layer is timed exactly
    (:func:`_bus_cycles`)."""
    P = cfg.pods.count
    pod = cfg.pod
    lat, share = net
    os_ = pod.dataflow is Dataflow.OS
    if cfg.pods.tiling.value == "uniform":
        options = [(uniform_grid(P), 1, 1)]
    else:
        options = [((pr, pc), pod.R if os_ else 1, pod.C) for pr, pc in grids(P)]
    sosa = cfg.pods.tiling.value == "sosa"
    shapes = Counter(g.parts)
    M = max(p[0] for p in shapes)
    N = max(p[2] for p in shapes)
    best = None
    for (pr, pc), um, un in options:
        if sosa and (pr > 1 and ceil_div(M, um) < pr or pc > 1 and ceil_div(N, un) < pc):
            continue   # more slices than the part has tiles: a smaller grid is no worse
        groups = P // (pr * pc) if sosa else 1
        per = {part: _part_slices(pod, share, g, part, pr, pc, um, un) for part in shapes}
        done = [per[part] for part, n in shapes.items() for _ in range(n)]
        if share > 1:
            cycles = _bus_cycles(cfg, g, _placement(g, [per[part] for part in g.parts],
                                                    pr, pc, um, un, groups, P),
                                 share, first, start)
        else:
            cycles = _lpt(done, groups, pr * pc) + interconnect_cycles(
                lat, commands_before_load(g.per_lane, g.clamp, g.raw))
        used = min(len(g.parts), groups) * max(len(sl) for sl in done)
        key = (cycles, used, pr, pc)
        if best is None or key < best[0]:
            best = (key, (pr, pc), groups, used, (um, un))
    (cycles, _, _, _), grid, groups, used, units = best
    return cycles, grid, groups, used, units


def plan_pod_layer(cfg: AcceleratorConfig, qnet: QNet, layer: QLayer,
                   n_images: int = 1, net: Optional[tuple] = None, first: int = 0,
                   start: int = 0) -> PodLayer:
    """One layer of a multi-pod design (``cfg.pods``), as the module docstring says;
    ``net`` overrides the interconnect's (latency, share) (pods of a larger one), whose
    ports ``first`` .. the pods are; ``start``: the layer's first cycle (on a bus)."""
    g = layer_gemms(qnet, layer, n_images, cfg.pod.R)
    if g is None:
        return PodLayer(layer.name, layer.op, "host", "on the host")
    # the pods' programs need what a single array's do (compiler.network.plan_layer)
    if g.preload and not cfg.features.preload:
        raise WorkloadError(f"layer {layer.name}: its residual add needs features.preload, "
                            f"which {cfg.name} leaves out")
    if not cfg.features.lane_quant:
        raise WorkloadError(f"layer {layer.name}: per-channel requantization needs "
                            f"features.lane_quant, which {cfg.name} leaves out")
    cycles, grid, groups, used, _ = _best_grid(cfg, g, net if net is not None
                                               else interconnect_of(cfg), first, start)
    return PodLayer(layer.name, layer.op, "pods", g.how, g.parts[0], len(g.parts), grid,
                    min(groups, len(g.parts)), used, cycles, g.macs)


@dataclass(frozen=True)
class PodGemm:
    """One GEMM cut across the pods: the grid, and per pod its slice (first row and
    rows of A, first column and columns of B) or None for an idle pod; ``cycles`` by
    the exact cycle model."""
    M: int
    K: int
    N: int
    grid: tuple
    slices: tuple
    cycles: int

    @property
    def pods_used(self) -> int:
        return sum(s is not None for s in self.slices)


def plan_pod_gemm(cfg: AcceleratorConfig, M: int, K: int, N: int) -> PodGemm:
    """An M x K x N GEMM (results read raw) on the pods of ``cfg``: the grid the tiling
    chooses (:func:`_best_grid`; one part, so one group), slice (i, j) of the grid on
    pod i * pc + j, the other pods idle."""
    if cfg.pods is None:
        raise ValueError(f"{cfg.name} has no pods: section")
    check_gemm(cfg.pod, M, K, N)
    g = LayerGemms(((M, K, N),), M * K * N, "gemm", per_lane=False, raw=True)
    cycles, (pr, pc), _, _, (um, un) = _best_grid(cfg, g, interconnect_of(cfg))
    out = []
    r0 = 0
    for m in slices(M, pr, um):
        c0 = 0
        for n in slices(N, pc, un):
            out.append((r0, m, c0, n))
            c0 += n
        r0 += m
    out += [None] * (cfg.pods.count - len(out))
    return PodGemm(M, K, N, (pr, pc), tuple(out), cycles)


@dataclass
class PodPlan:
    cfg: AcceleratorConfig
    qnet: QNet
    n_images: int
    layers: list
    net: Optional[tuple] = None
    first: int = 0

    def report(self) -> dict:
        P, pes = self.cfg.pods.count, self.cfg.array.pes
        cycles = sum(lp.cycles for lp in self.layers)
        macs = sum(lp.macs for lp in self.layers if lp.where == "pods")
        lat, share = self.net if self.net is not None else interconnect_of(self.cfg)
        return {"config": self.cfg.name, "model": self.qnet.name,
                "images": self.n_images, "pods": P,
                "pod": f"{self.cfg.R}x{self.cfg.C} {self.cfg.dataflow.value}",
                "interconnect": self.cfg.pods.interconnect.value,
                "interconnect_latency": lat, "cycles_per_beat": share,
                "tiling": self.cfg.pods.tiling.value, "pes": P * pes,
                "layers": [lp.report(P, pes) for lp in self.layers],
                "cycles": cycles, "macs": macs,
                "macs_per_cycle": round(macs / cycles, 3) if cycles else 0.0,
                "utilization": round(macs / (P * pes * cycles), 6) if cycles else 0.0}


def plan_pods(cfg: AcceleratorConfig, qnet: QNet, n_images: int = 1,
              net: Optional[tuple] = None, first: int = 0) -> PodPlan:
    """Every layer of ``qnet`` on the pods of ``cfg`` (which has a ``pods:`` section),
    one after another from cycle 0; ``net`` and ``first``: as :func:`plan_pod_layer`."""
    if cfg.pods is None:
        raise ValueError(f"{cfg.name} has no pods: section")
    if qnet.in_bits != cfg.precision.in_bits:
        raise WorkloadError(f"the network is quantized to {qnet.in_bits} bits, {cfg.name} "
                            f"computes with {cfg.precision.in_bits}; quantize for this design")
    layers, start = [], 0
    for layer in qnet.layers:
        layers.append(plan_pod_layer(cfg, qnet, layer, n_images, net, first, start))
        start += layers[-1].cycles
    return PodPlan(cfg, qnet, n_images, layers, net, first)


# ---- several networks on the pods -----------------------------------------------------------
def tenant_splits(kind: str, P: int, tenants: int) -> list[tuple]:
    """Ways to give each of ``tenants`` networks its own pods: any counts adding up to at
    most P for the crossbar and the bus; powers of two for the butterfly, so that each
    network's pods are a sub-butterfly (positions that share their high bits: XOR
    permutations below the group's size stay inside it)."""
    sizes = [1 << k for k in range(P.bit_length())] if kind == "butterfly" \
        else list(range(1, P + 1))
    out = []

    def rec(prefix, left):
        if len(prefix) == tenants:
            out.append(tuple(prefix))
            return
        for s in sizes:
            if s <= left - (tenants - len(prefix) - 1):
                rec(prefix + [s], left - s)
    rec([], P)
    return out


def plan_tenants(cfg: AcceleratorConfig, models: list, n_images: int = 1) -> dict:
    """Several networks (``models``: [(name, QNet)]) side by side on the pods of ``cfg``,
    each on pods of its own (:func:`tenant_splits`), each cut as :func:`plan_pods` cuts
    one: the split that finishes all of them first."""
    kind = cfg.pods.interconnect.value
    net = interconnect_of(cfg)   # every word still crosses the whole network
    best = None
    for split in tenant_splits(kind, cfg.pods.count, len(models)):
        firsts = [sum(split[:i]) for i in range(len(split))]   # pods 0.. to the first
        plans = [plan_pods(cfg.replace(pods=dataclasses.replace(cfg.pods, count=n)), q,
                           n_images, net, first)
                 for n, first, (_, q) in zip(split, firsts, models)]
        reps = [p.report() for p in plans]
        span = max(r["cycles"] for r in reps)
        if best is None or (span, split) < (best[0], best[1]):
            best = (span, split, reps)
    span, split, reps = best
    macs = sum(r["macs"] for r in reps)
    P, pes = cfg.pods.count, cfg.array.pes
    return {"config": cfg.name, "models": [m for m, _ in models], "pods": P,
            "interconnect": kind, "tiling": cfg.pods.tiling.value,
            "split": {m: n for (m, _), n in zip(models, split)},
            "tenants": [dict(r, model=m) for (m, _), r in zip(models, reps)],
            "cycles": span, "macs": macs,
            "utilization": round(macs / (P * pes * span), 6) if span else 0.0}


# ---- sub-accelerators: list scheduling ----------------------------------------------------------
@dataclass
class ScheduledLayer:
    model: str
    name: str
    op: str
    engine: str            # an engine's name, or "host"
    start: int
    end: int
    macs: int = 0
    cycles_on: dict = field(default_factory=dict)   # engine -> cycles (None: cannot)

    def report(self) -> dict:
        return {"model": self.model, "name": self.name, "op": self.op,
                "engine": self.engine, "start": self.start, "end": self.end,
                "cycles": self.end - self.start, "macs": self.macs,
                "cycles_on": self.cycles_on}


@dataclass
class Schedule:
    cfg: AcceleratorConfig
    models: list
    layers: list
    cost_seconds: float = 0.0
    schedule_seconds: float = 0.0

    @property
    def makespan(self) -> int:
        return max((sl.end for sl in self.layers), default=0)

    def report(self) -> dict:
        span = self.makespan
        engines = {}
        for name, ecfg in self.cfg.engines:
            busy = sum(sl.end - sl.start for sl in self.layers if sl.engine == name)
            macs = sum(sl.macs for sl in self.layers if sl.engine == name)
            engines[name] = {"array": f"{ecfg.R}x{ecfg.C} {ecfg.dataflow.value}",
                             "layers": sum(sl.engine == name for sl in self.layers),
                             "busy_cycles": busy,
                             "busy": round(busy / span, 6) if span else 0.0,
                             "macs": macs}
        pes = sum(ecfg.array.pes for _, ecfg in self.cfg.engines)
        macs = sum(sl.macs for sl in self.layers)
        return {"config": self.cfg.name, "models": [m for m, _ in self.models],
                "engines": engines, "layers": [sl.report() for sl in self.layers],
                "cycles": span, "macs": macs, "pes": pes,
                "utilization": round(macs / (pes * span), 6) if span else 0.0,
                "cost_seconds": round(self.cost_seconds, 4),
                "schedule_seconds": round(self.schedule_seconds, 4)}


def _engine_cycles(ecfg: AcceleratorConfig, qnet: QNet, layer: QLayer,
                   n_images: int) -> Optional[tuple]:
    """(cycles, macs) of a layer on one engine, (0, 0) on the host, None when the
    engine cannot run it."""
    try:
        lp = plan_layer(ecfg, qnet, layer, n_images)
    except WorkloadError:
        return None
    return (lp.cycles, lp.macs) if lp.where == "array" else (0, 0)


def _earliest(busy: list, ready: int, length: int) -> int:
    """The first start at or after ``ready`` where ``length`` cycles fit between the
    (sorted) intervals an engine is busy."""
    t = ready
    for a, b in busy:
        if t + length <= a:
            return t
        t = max(t, b)
    return t


def schedule_layers(cfg: AcceleratorConfig, models: list, n_images: int = 1) -> Schedule:
    """Layers of ``models`` ([(name, QNet)]) on the sub-accelerators of ``cfg``."""
    engines = cfg.engines
    if not engines:
        raise ValueError(f"{cfg.name} has no subaccelerators: section")
    t0 = time.perf_counter()
    nodes = []     # (model, QNet, layer, {engine: cycles or None}, macs, where)
    for mname, q in models:
        if q.in_bits != cfg.precision.in_bits:
            raise WorkloadError(f"{mname} is quantized to {q.in_bits} bits, {cfg.name} "
                                f"computes with {cfg.precision.in_bits}")
        for layer in q.layers:
            costs = {name: _engine_cycles(ecfg, q, layer, n_images) for name, ecfg in engines}
            can = {k: v for k, v in costs.items() if v is not None}
            if not can:
                raise WorkloadError(f"{mname} layer {layer.name}: no sub-accelerator can "
                                    f"run it (each refuses its shape or features)")
            host = all(v == (0, 0) for v in can.values()) and layer.op not in ("conv",
                                                                               "linear")
            macs = max(v[1] for v in can.values())
            nodes.append((mname, q, layer, {k: (v[0] if v else None) for k, v in
                                            costs.items()}, macs, host))
    t1 = time.perf_counter()
    # dependencies: a layer reads the tensors earlier layers of its model wrote
    producer = {}
    preds = []
    for idx, (mname, q, layer, _, _, _) in enumerate(nodes):
        reads = list(layer.inputs) + ([layer.residual] if layer.residual else [])
        preds.append(sorted({producer[(mname, t)] for t in reads if (mname, t) in producer}))
        producer[(mname, layer.output)] = idx
    succs = [[] for _ in nodes]
    for i, ps in enumerate(preds):
        for p in ps:
            succs[p].append(i)
    mean = []
    for _, _, _, costs, _, host in nodes:
        c = [v for v in costs.values() if v is not None]
        mean.append(0 if host else sum(c) / len(c))
    rank = [0.0] * len(nodes)
    for i in reversed(range(len(nodes))):   # successors come later in a model's order
        rank[i] = mean[i] + max((rank[s] for s in succs[i]), default=0.0)
    order = sorted(range(len(nodes)), key=lambda i: (-rank[i], i))
    # in rank order, each time the first layer whose predecessors are all placed (a
    # layer of no cost, on the host, ranks no higher than what reads it)
    busy = {name: [] for name, _ in engines}    # (start, end) of what each engine runs
    end = [None] * len(nodes)
    placed = []
    pending = list(order)
    while pending:
        i = next(j for j in pending if all(end[p] is not None for p in preds[j]))
        pending.remove(i)
        mname, _, layer, costs, macs, host = nodes[i]
        ready = max((end[p] for p in preds[i]), default=0)
        if host:
            sl = ScheduledLayer(mname, layer.name, layer.op, "host", ready, ready, 0, costs)
        else:
            fin, name, start = min((start + c, name, start) for name, c in costs.items()
                                   if c is not None
                                   for start in [_earliest(busy[name], ready, c)])
            busy[name].append((start, fin))
            busy[name].sort()
            sl = ScheduledLayer(mname, layer.name, layer.op, name, start, fin, macs, costs)
        end[i] = sl.end
        placed.append((i, sl))
    placed.sort(key=lambda x: (x[1].start, x[0]))
    t2 = time.perf_counter()
    return Schedule(cfg, list(models), [sl for _, sl in placed], t1 - t0, t2 - t1)


# ---- a layer's programs on the pods, with data ---------------------------------------------
@dataclass
class PartData:
    """One part of a layer with its operands: C = A.B (+ preload * factors) with the
    output path ``quant``; ``place(out, C)`` writes C into the layer's output."""
    a: object
    b: object
    quant: Quant
    preload: object = None
    factors: object = None
    place: object = None


def layer_parts_data(qnet: QNet, layer: QLayer, inputs: list, n_images: int,
                     R: int) -> list[PartData]:
    """The parts of ``layer`` (as :func:`layer_gemms` cuts it, the images of the batch in
    M) with their operands, for the layer's batched integer ``inputs`` (as
    :meth:`QNet.run` gives them): a conv's A is its im2col matrix, image after image."""
    if layer.op == "avgpool":
        layer = pool_as_conv(layer, qnet.tensor(layer.inputs[0]).shape[0])
    residual = layer.residual is not None
    if layer.op == "linear":
        O, _ = layer.weight.shape

        def place_linear(out, res):
            out[:] = res.reshape(out.shape)
        return [PartData(inputs[0].reshape(n_images, -1), layer.weight.T,
                         _quant(layer, slice(0, O), O),
                         inputs[1].reshape(n_images, -1) if residual else None,
                         layer.preload if residual else None, place_linear)]
    if layer.op != "conv":
        raise ValueError(f"layer {layer.name}: {layer.op} runs on the host")
    O, Cg, kh, kw = layer.weight.shape
    g = layer.groups
    _, Ho, Wo = qnet.tensor(layer.output).shape
    if g == 1:
        tiles = [(slice(0, Cg), slice(0, O), False)]
    elif Cg == 1 and O == g:   # depthwise: channel tiles of R, block-diagonal kernels
        tiles = [(slice(t, min(t + R, O)), slice(t, min(t + R, O)), True)
                 for t in range(0, O, R)]
    else:
        N = O // g
        tiles = [(slice(i * Cg, (i + 1) * Cg), slice(i * N, (i + 1) * N), False)
                 for i in range(g)]
    x = inputs[0]
    out = []
    for cin_s, cout_s, diag in tiles:
        cin, cout = cin_s.stop - cin_s.start, cout_s.stop - cout_s.start
        if diag:   # w[o, c] = w_dw[o] on the diagonal
            wt = np.zeros((cout, cin, kh, kw), dtype=np.int64)
            idx = np.arange(cout)
            wt[idx, idx] = layer.weight[cout_s, 0]
        else:
            wt = layer.weight[cout_s]
        spec = _spec(qnet, layer, cin, cout)
        a = np.concatenate([_im2col(x[b:b + 1, cin_s], spec) for b in range(n_images)])
        pre = None
        if residual:
            pre = np.concatenate([inputs[1][b, cout_s].reshape(cout, -1).T
                                  for b in range(n_images)])

        def place(o, res, cout_s=cout_s, cout=cout):
            o[:, cout_s] = res.reshape(n_images, Ho, Wo, cout).transpose(0, 3, 1, 2)
        out.append(PartData(a, wt.transpose(2, 3, 1, 0).reshape(-1, cout),
                            _quant(layer, cout_s, O), pre,
                            layer.preload[cout_s] if residual else None, place))
    return out


def _quant_cols(q: Quant, c0: int, n: int) -> Quant:
    """The output path of columns c0 .. c0 + n - 1 of ``q`` (per column)."""
    cut = lambda v: tuple(v[c0:c0 + n]) if isinstance(v, tuple) else v  # noqa: E731
    return dataclasses.replace(q, mult=cut(q.mult), shift=cut(q.shift),
                               bias=None if q.bias is None else cut(q.bias))


@dataclass(frozen=True)
class PodSlice:
    """Slice ``rows`` x ``cols`` ((first, count) each) of part ``part`` on a pod."""
    part: int
    rows: tuple
    cols: tuple


def pod_layer_slices(cfg: AcceleratorConfig, qnet: QNet, layer: QLayer,
                     n_images: int = 1, net: Optional[tuple] = None, first: int = 0,
                     start: int = 0) -> tuple[PodLayer, list]:
    """The plan of ``layer`` on the pods (:func:`plan_pod_layer`) and what every pod runs
    for it: per pod its :class:`PodSlice` list, in the order it runs them (the parts in
    the order :func:`_lpt` places them on the groups, :func:`_placement`); ``net``,
    ``first`` and ``start`` as :func:`plan_pod_layer`'s."""
    lp = plan_pod_layer(cfg, qnet, layer, n_images, net, first, start)
    P = cfg.pods.count
    if lp.where == "host":
        return lp, [[] for _ in range(P)]
    g = layer_gemms(qnet, layer, n_images, cfg.pod.R)
    net = net if net is not None else interconnect_of(cfg)
    _, (pr, pc), groups, _, (um, un) = _best_grid(cfg, g, net, first, start)
    sosa = cfg.pods.tiling.value == "sosa"
    groups = P // (pr * pc) if sosa else 1
    cyc = [_part_slices(cfg.pod, net[1], g, part, pr, pc, um, un) for part in g.parts]
    return lp, [[PodSlice(*s) for s in sl]
                for sl in _placement(g, cyc, pr, pc, um, un, groups, P)]


@dataclass
class PodLayerProgram:
    """A layer's programs on the pods: per pod its slices' programs, each followed by a
    SYNC (:meth:`job`), and how the layer's output is put together from their results."""
    plan: PodLayer
    slices: list        # per pod: [(PodSlice, Program)]
    parts: list         # PartData per part

    def job(self, p: int) -> tuple[list, list, int]:
        """(command words, operand beats, result beats) of pod ``p``."""
        cmds, din, n = [], [], 0
        for _, prog in self.slices[p]:
            cmds += prog.cmds + [cmd_sync()]
            din += prog.din
            n += prog.n_dout
        return cmds, din, n

    def decode(self, pod: AcceleratorConfig, dout: list, shape: tuple) -> np.ndarray:
        """The layer's output (``shape``, batch first) from every pod's result beats."""
        res = [None] * len(self.parts)
        for p, sl in enumerate(self.slices):
            pos = 0
            for s, prog in sl:
                if res[s.part] is None:
                    M, N = self.parts[s.part].a.shape[0], self.parts[s.part].b.shape[1]
                    res[s.part] = np.zeros((M, N), dtype=np.int64)
                (r0, m), (c0, n) = s.rows, s.cols
                res[s.part][r0:r0 + m, c0:c0 + n] = prog.decode(
                    pod, dout[p][pos:pos + prog.n_dout]).astype(np.int64)
                pos += prog.n_dout
        out = np.zeros(shape, dtype=np.int64)
        for part, r in zip(self.parts, res):
            part.place(out, r)
        return out


def pod_layer_program(cfg: AcceleratorConfig, qnet: QNet, layer: QLayer, inputs: list,
                      n_images: int = 1, net: Optional[tuple] = None, first: int = 0,
                      start: int = 0) -> PodLayerProgram:
    """Every pod's program for ``layer`` on its batched integer ``inputs``: each slice a
    GEMM with the loop nest :func:`slice_nest` times, from the part's operands; ``net``,
    ``first`` and ``start`` as :func:`plan_pod_layer`'s (a network on some pods of a
    larger interconnect, the layer's first cycle)."""
    lp, pods = pod_layer_slices(cfg, qnet, layer, n_images, net, first, start)
    if lp.where == "host":
        return PodLayerProgram(lp, [[] for _ in pods], [])
    g = layer_gemms(qnet, layer, n_images, cfg.pod.R)
    pod = cfg.pod
    data = layer_parts_data(qnet, layer, inputs, n_images, pod.R)
    out = []
    for sl in pods:
        progs = []
        for s in sl:
            d = data[s.part]
            (r0, m), (c0, n) = s.rows, s.cols
            K = d.a.shape[1]
            nest = slice_nest(pod, m, K, n, g.per_lane, g.clamp, g.preload, g.raw)
            src = GemmSource(pod, nest, d.a[r0:r0 + m], d.b[:, c0:c0 + n],
                             preload=None if d.preload is None else
                             d.preload[r0:r0 + m, c0:c0 + n],
                             factors=None if d.factors is None else d.factors[c0:c0 + n])
            progs.append((s, emit_nest(pod, nest, src, _quant_cols(d.quant, c0, n))))
        out.append(progs)
    return PodLayerProgram(lp, out, data)
