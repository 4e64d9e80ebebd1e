"""What a search optimises for: a list of GEMMs or a network, timed exactly on a candidate
design (the inner mapping search of each layer, exact and cached), and the same layers as
arrays for the vectorised screen (:mod:`hwgen.search.fast`)."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Optional


from ..compiler import check_gemm, default_mapping
from ..compiler.network import plan_network
from ..config import AcceleratorConfig
from ..lib.arith import ceil_div
from ..lib.errors import BadInput, WorkloadError
from ..models.cost import ACTIVITY, timing_activity
from ..models.network import QNet
from ..models.perf import block_timing, gemm_timing


@dataclass(frozen=True)
class Layer:
    """One layer as the screen sees it: a GEMM ``M x K x N`` repeated ``groups`` times;
    for a convolution on chip also the input tensor it reads (``in_elems``) instead of
    the im2col matrix, and ``cin`` (channels of one group: padded to the array's rows on
    weight-stationary designs). A depthwise convolution (``depthwise``: ``groups``
    channels, one per group) runs as the compiler runs it, in parts of R channels with a
    block-diagonal kernel."""
    name: str
    M: int
    K: int
    N: int
    groups: int = 1
    conv: bool = False
    in_elems: int = 0
    cin: int = 0
    kernel: int = 1          # kh * kw
    out_w: int = 1           # output row width (output-stationary row tiles)
    residual: bool = False
    in_w: int = 0            # input row width, the kernel's input rows for one output
    rows_in: int = 0         # row and the column stride: the smallest band of the input
    stride_w: int = 1        # a convolution chunk holds (0: not checked)
    depthwise: bool = False  # one channel per group: run as parts of R channels each
    per_word: bool = False   # requantized per output column (a network layer's bias/scales)


@dataclass
class Workload:
    """GEMMs (``gemms``) or a network (``qnet`` at each operand width, made on demand by
    ``load(in_bits)``). ``images`` per network run."""
    label: str
    gemms: tuple = ()
    load: Optional[Callable[[int], QNet]] = None
    images: int = 1
    _qnets: dict = field(default_factory=dict)

    @property
    def is_network(self) -> bool:
        return self.load is not None

    def qnet(self, in_bits: int) -> QNet:
        if in_bits not in self._qnets:
            self._qnets[in_bits] = self.load(in_bits)
        return self._qnets[in_bits]

    def macs(self, in_bits: int = 8) -> int:
        if not self.is_network:
            return sum(m * k * n for m, k, n in self.gemms)
        q = self.qnet(in_bits)
        total = 0
        for layer in q.layers:
            if layer.op in ("conv", "linear", "avgpool"):
                M, K, N = q.gemm_shape(layer, self.images)
                total += M * K * N * (layer.groups if layer.op == "conv" else 1)
        return total

    def max_k(self, in_bits: int = 8) -> int:
        """The longest reduction of any layer (the accumulator every design gets)."""
        return max(layer.K for layer in self.layers(in_bits))

    @functools.lru_cache(maxsize=8)
    def layers(self, in_bits: int = 8) -> tuple:
        if not self.is_network:
            return tuple(Layer(f"gemm{i}", m, k, n) for i, (m, k, n) in enumerate(self.gemms))
        q = self.qnet(in_bits)
        out = []
        for layer in q.layers:
            if layer.op not in ("conv", "linear", "avgpool"):
                continue
            M, K, N = q.gemm_shape(layer, self.images)
            if layer.op == "linear":
                out.append(Layer(layer.name, M, K, N, residual=layer.residual is not None,
                                 per_word=True))
                continue
            c, h, w = q.tensor(layer.inputs[0]).shape
            _, _, wo = q.tensor(layer.output).shape
            groups = layer.groups if layer.op == "conv" else c
            kernel = K * groups // c if layer.op == "conv" else K
            kh = layer.weight.shape[2] if layer.op == "conv" else layer.kernel[0]
            rows_in = min(h, (kh - 1) * layer.dilation[0] + 1)
            out.append(Layer(layer.name, M, K, N, groups=groups, conv=True,
                             in_elems=c * h * w * self.images // max(1, groups), cin=c // groups,
                             kernel=kernel, out_w=wo, residual=layer.residual is not None,
                             in_w=w, rows_in=rows_in, stride_w=layer.stride[1],
                             depthwise=groups > 1 and c == groups and N == 1,
                             per_word=layer.op == "conv"))
        return tuple(out)

    def __hash__(self):
        return id(self)


def exact(cfg: AcceleratorConfig, wl: Workload) -> dict:
    """The workload's exact figures on ``cfg`` (every layer's mapping searched with the
    exact cycle model): cycles, compute cycles, MACs, host beats, and ``activity``, the
    cost model's counts (beats per stream, buffer reads and writes); WorkloadError when a
    layer cannot run on it (a chunk that does not fit, a reduction too long)."""
    if wl.is_network:
        plan = plan_network(cfg, wl.qnet(cfg.precision.in_bits), n_images=wl.images)
        t = plan.totals()
        chunks = [(p.nest.M, p.nest.K, p.nest.N, p.nest.tile_m, p.nest.tile_k, p.nest.tile_n, 1)
                  for lp in plan.layers if lp.where == "array" for p in lp.parts]
        return {"cycles": t["cycles"], "compute_cycles": t["compute_cycles"], "macs": t["macs"],
                "host_beats": t["host_beats"],
                "activity": timing_activity(cfg, block_timing(plan.block), chunks),
                "layers": {lp.layer.name: lp.cycles for lp in plan.layers
                           if lp.where != "host"}}
    cycles = compute = macs = beats = 0
    per = {}
    act = dict.fromkeys(ACTIVITY, 0.0)
    for i, (M, K, N) in enumerate(wl.gemms):
        check_gemm(cfg, M, K, N)
        mp = default_mapping(cfg, M, K, N)
        t = gemm_timing(cfg, M, K, N, mp)
        cycles += t.cycles
        compute += t.compute_cycles
        macs += t.macs
        beats += t.host_beats
        per[f"gemm{i}"] = t.cycles
        for k, v in timing_activity(cfg, t, [(M, K, N, mp.tile_m, mp.tile_k, mp.tile_n,
                                              1)]).items():
            act[k] += v   # counts of a sequence of GEMMs add up
    return {"cycles": cycles, "compute_cycles": compute, "macs": macs, "host_beats": beats,
            "activity": act, "layers": per}


def gemm_workload(specs: list) -> Workload:
    """From ``gemm:MxKxN`` shapes (:class:`hwgen.lib.cliargs.Gemm` or tuples)."""
    gemms = tuple((int(g[0]), int(g[1]), int(g[2])) for g in specs)
    if not gemms:
        raise BadInput("the workload has no GEMM")
    label = ",".join(f"gemm:{m}x{k}x{n}" for m, k, n in gemms)
    return Workload(label=label, gemms=gemms)


__all__ = ["Layer", "Workload", "exact", "gemm_workload", "WorkloadError", "ceil_div"]
