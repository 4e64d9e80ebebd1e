"""Whole networks on the accelerator: every layer of a quantized network
(:class:`hwgen.models.network.QNet`) as a program, its exact cycles, and where each op
runs.

Lowering, layer by layer (one program per layer; the host lays out each layer's input
from the previous layer's output):

* ``conv`` (groups 1) on a design with ``features.im2col``: the convolution on chip
  (:mod:`hwgen.compiler.conv`): each input pixel crosses the host link once per band,
  the address generator builds the im2col rows. Without the address generator the host
  sends the im2col matrix as a GEMM operand (``host im2col``, kh*kw times the input).
* depthwise convs and average pools (a depthwise conv with unit weights): channel tiles
  of R channels, each a convolution with a block-diagonal kernel (every output channel
  reads its own input channel; the array's other rows multiply zeros, reported as such).
  Other grouped convs run group by group.
* ``linear``: a GEMM with one row per image.
* Bias, per-channel requantization, ReLU/ReLU6 (clamp bounds) and residual adds
  (accumulator preload) run in the output path of the same program.
* ``maxpool`` on a design with ``features.maxpool``: the pooling unit
  (:mod:`hwgen.compiler.pool`; ``where`` is ``pool``), its result read through the
  output path with an identity requantization and the layer's clamp. A max pooling the
  unit cannot do, or any on a design without it, runs on the host with the reason.
* an ``add`` the importer could not fuse, and layout ops (flatten, reshape, concat) run
  on the host; the plan names them.

A layer's parts (images, groups, channel tiles) are joined by SYNC, so each starts on an
idle engine; a layer starts when the previous one has finished (its output is the next
one's input), so the network's cycles are the sum of its layers' (the max-plus model,
:func:`hwgen.models.perf.block_timing`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..config import AcceleratorConfig
from ..lib.arith import ceil_div
from ..lib.errors import WorkloadError
from ..lib.protocol import cmd_sync
from ..models import maxplus as mx
from ..models.network import QLayer, QNet, pool_as_conv
from ..models.perf import (GemmTiming, LoopNest, block_timing, cached_nest_block,
                           gemm_lower_bound, gemm_nest)
from .conv import ConvMapping, ConvNest, ConvSpec, conv_mapping, conv_nest, conv_output, emit_conv
from .mapping import default_mapping, default_mapping_bound
from .pool import PoolSpec, band_rows, emit_pool, pool_block, pool_refusal
from .program import GemmSource, Program, Quant, check_gemm, emit_nest, per_word_quant


@dataclass
class Part:
    """One program of a layer: a loop nest, how to emit it with data, and where its result
    goes in the layer's output."""
    nest: LoopNest
    mapping: object
    what: str                       # e.g. "image 0", "channels 16..31", "group 2"
    emit: object = None             # (inputs) -> Program, set when data can be attached
    place: object = None            # (out, result matrix) -> None: writes the part's result


@dataclass
class LayerPlan:
    """How one layer runs. ``where`` is ``array`` (a program on the accelerator, with the
    output path doing bias, requantization, activation and residual), ``pool`` (a
    program on the pooling unit, read through the output path) or ``host``."""
    layer: QLayer
    where: str
    how: str
    gemm: Optional[tuple] = None    # (M, K, N) of one group/tile, as QNet.gemm_shape
    groups: int = 1
    macs: int = 0                   # the layer's own multiply-accumulates
    parts: list = field(default_factory=list)
    block: Optional[mx.Block] = None

    @property
    def timing(self) -> Optional[GemmTiming]:
        return None if self.block is None else block_timing(self.block)

    @property
    def cycles(self) -> int:
        return 0 if self.block is None else self.timing.cycles

    def output_path(self, bits: int) -> list[str]:
        """What the READ path does to this layer's accumulators (array layers) whose
        outputs have ``bits`` bits."""
        layer = self.layer
        top = (1 << (bits - 1)) - 1
        if self.where == "pool":
            return ["identity requantization", f"clamp {layer.lo}..{layer.hi}"]
        out = []
        if layer.bias is not None and np.any(layer.bias):
            out.append("bias")
        out.append("requantization per channel" if layer.op in ("conv", "linear")
                   and self.how.find("average pool") < 0 else "requantization")
        hi = None if layer.hi == top else layer.hi
        if layer.lo == 0 and hi is None:
            out.append("relu")
        elif layer.lo is not None and layer.lo > -top - 1 or hi is not None:
            out.append(f"clamp {layer.lo if layer.lo is not None else '-'}.."
                       f"{layer.hi if layer.hi is not None else '-'}")
        if layer.residual is not None:
            out.append(f"residual add of {layer.residual} (accumulator preload)")
        return out

    def report(self, cfg: AcceleratorConfig) -> dict:
        """The layer's line of ``hwgen estimate --model`` (``cfg`` its design)."""
        d = {"name": self.layer.name, "op": self.layer.op, "where": self.where,
             "how": self.how}
        if self.where == "host":
            d.update(cycles=0, macs=0, utilization=0.0, host_beats=0)
            return d
        if self.where == "pool":
            t = self.timing
            d["output_path"] = self.output_path(cfg.precision.in_bits)
            d["parts"] = len(self.parts)
            d.update(cycles=t.cycles, compute_cycles=t.compute_cycles, macs=0,
                     utilization=0.0, host_beats=t.host_beats,
                     beats={"input": t.in_beats, "weight": t.w_beats, "output": t.out_beats},
                     commands=t.commands)
            return d
        t = self.timing
        M, K, N = self.gemm
        d["gemm"] = {"M": M, "K": K, "N": N}
        if self.groups > 1:
            d["groups"] = self.groups
        d["output_path"] = self.output_path(cfg.precision.in_bits)
        d["parts"] = len(self.parts)
        d["mapping"] = _mapping_dict(self.parts[0].nest, self.parts[0].mapping)
        d.update(cycles=t.cycles, compute_cycles=t.compute_cycles, macs=self.macs,
                 utilization=round(self.macs / (cfg.array.pes * t.cycles), 6),
                 host_beats=t.host_beats,
                 beats={"input": t.in_beats, "weight": t.w_beats, "output": t.out_beats},
                 commands=t.commands)
        return d


def _mapping_dict(nest: LoopNest, mp) -> dict:
    """A part's mapping as JSON: chunk sizes of its GEMM and loop order, and for a
    convolution on chip the band height, channel chunk and output-channel chunk."""
    d = {"tile_m": nest.tile_m, "tile_k": nest.tile_k, "tile_n": nest.tile_n,
         "order": "".join(nest.order)}
    if isinstance(mp, ConvMapping):
        d.update(band_rows=mp.rows, channels=nest.ct_chunk * nest.R)
    return d


@dataclass
class NetworkPlan:
    cfg: AcceleratorConfig
    qnet: QNet
    n_images: int
    layers: list

    @property
    def block(self) -> mx.Block:
        return mx.seq(*(lp.block for lp in self.layers if lp.block is not None))

    def totals(self) -> dict:
        t = block_timing(self.block)
        macs = sum(lp.macs for lp in self.layers if lp.where == "array")
        pes = self.cfg.array.pes
        host_macs = sum(lp.macs for lp in self.layers if lp.where == "host")
        return {"cycles": t.cycles, "macs": macs,
                "utilization": round(macs / (pes * t.cycles), 6) if t.cycles else 0.0,
                "host_beats": t.in_beats + t.w_beats + t.out_beats,
                "compute_cycles": t.compute_cycles, "commands": t.commands,
                "host_ops": [lp.layer.name for lp in self.layers if lp.where == "host"
                             and lp.layer.op not in ("flatten", "reshape")],
                "host_macs_share": round(host_macs / max(1, macs + host_macs), 6)}

    def report(self) -> dict:
        """``hwgen estimate --model``: every layer and the totals."""
        cfg, q = self.cfg, self.qnet
        tot = self.totals()
        host = [lp for lp in self.layers if lp.where == "host"]
        elems = sum(int(np.prod(q.tensor(lp.layer.output).shape)) for lp in host
                    if lp.layer.op not in ("flatten", "reshape"))
        return {
            "config": cfg.name, "model": q.name,
            "input_shape": [self.n_images, *q.input.shape], "images": self.n_images,
            "weights": q.meta.get("weights", ""),
            "layers": [lp.report(cfg) for lp in self.layers],
            "cycles": tot["cycles"], "macs": tot["macs"],
            "utilization": tot["utilization"], "host_beats": tot["host_beats"],
            "compute_cycles": tot["compute_cycles"], "commands": tot["commands"],
            "host_ops": [{"name": lp.layer.name, "op": lp.layer.op, "why": lp.how}
                         for lp in host if lp.layer.op not in ("flatten", "reshape")],
            "host_output_elements": elems * self.n_images,
        }


# ---- lowering ----------------------------------------------------------------------------
def _quant(layer: QLayer, channels: slice, n: int) -> Quant:
    mult, shift = layer.mult_shift(n)
    bias = layer.bias if layer.bias is not None else np.zeros(n, dtype=np.int64)
    ints = lambda v: tuple(map(int, np.asarray(v)[channels].tolist()))  # noqa: E731
    return Quant(raw=False, mult=ints(mult), shift=ints(shift), bias=ints(bias),
                 lo=layer.lo, hi=layer.hi)


def _spec(qnet: QNet, layer: QLayer, cin: int, cout: int) -> ConvSpec:
    _, H, W = qnet.tensor(layer.inputs[0]).shape
    kh, kw = layer.weight.shape[2:]
    return ConvSpec(cin, H, W, cout, kh, kw, layer.stride, layer.padding, layer.dilation)


def _on_chip(cfg: AcceleratorConfig) -> bool:
    return cfg.features.im2col


#: The host's im2col is taken only when it saves at least a tenth of the layer's cycles:
#: it moves kh*kw times the input over the host link.
HOST_IM2COL_GAIN = 0.9


def _host_nest(cfg, spec: ConvSpec, quant: Quant, residual: bool) -> LoopNest:
    """The GEMM of a convolution whose im2col matrix the host sends."""
    M, K, N = spec.h_out * spec.w_out, spec.cin * spec.kh * spec.kw, spec.cout
    check_gemm(cfg, M, K, N)
    mp = default_mapping(cfg, M, K, N)
    return gemm_nest(M, K, N, mp, raw=False, per_lane=per_word_quant(cfg, quant),
                     clamp=quant.clamp,
                     preload=residual)


def _host_is_faster(cfg, spec: ConvSpec, quant: Quant, residual: bool) -> bool:
    return _host_faster(cfg, spec, quant.raw, quant.per_lane, quant.clamp, residual)


@functools.lru_cache(maxsize=4096)
def _host_faster(cfg, spec: ConvSpec, raw: bool, per_lane: bool, clamp: bool,
                 residual: bool) -> bool:
    """Whether the host's im2col matrix as a GEMM operand beats the address generator for
    this convolution by :data:`HOST_IM2COL_GAIN`, by the exact cycle model. It does where few input channels fill
    few of the array's rows (a network's first layer on weight-stationary designs: a
    7x7 conv of 3 channels uses 3 of 16 rows on chip, 147 of 160 as a GEMM), since the
    host then sends kh*kw times the input instead."""
    quant = Quant(raw=raw, mult=(1,) if per_lane else 1, lo=0 if clamp else None)
    t = lambda nest: block_timing(mx.seq(cached_nest_block(cfg, nest), mx.sync())).cycles  # noqa: E731
    mp = conv_mapping(cfg, spec, quant, preload=residual)
    chip = t(conv_nest(cfg, spec, mp, quant, preload=residual))
    M, K, N = spec.h_out * spec.w_out, spec.cin * spec.kh * spec.kw, spec.cout
    if gemm_lower_bound(cfg, M, K, N) >= HOST_IM2COL_GAIN * chip:
        return False   # no mapping of the GEMM could be fast enough
    try:
        check_gemm(cfg, M, K, N)
        if default_mapping_bound(cfg, M, K, N) >= HOST_IM2COL_GAIN * chip:
            return False   # nor the one default_mapping would choose (not timed)
        host = _host_nest(cfg, spec, quant, residual)
    except WorkloadError:
        return False
    return t(host) < HOST_IM2COL_GAIN * chip


def _conv_parts(cfg, qnet, layer, n_images) -> tuple[str, list]:
    """The parts of a conv layer (or an avgpool as a depthwise conv). With the address
    generator each layer takes it or the host's im2col, whichever the exact cycle model
    says is faster."""
    O, Cg, kh, kw = layer.weight.shape
    g = layer.groups
    Cin = qnet.tensor(layer.inputs[0]).shape[0]
    _, Ho, Wo = qnet.tensor(layer.output).shape
    R = cfg.R
    residual = layer.residual is not None
    parts = []
    if g == 1:
        tiles = [(slice(0, Cin), slice(0, O), None)]
        how = "conv"
    elif Cg == 1 and O == g:
        tiles = [(slice(t, min(t + R, O)), slice(t, min(t + R, O)), "diag")
                 for t in range(0, O, R)]
        how = "depthwise, channel tiles of R with a block-diagonal kernel"
    else:
        N = O // g
        tiles = [(slice(i * Cg, (i + 1) * Cg), slice(i * N, (i + 1) * N), None)
                 for i in range(g)]
        how = f"grouped conv, {g} groups one after another"
    on_chip = _on_chip(cfg)
    if on_chip:
        cin_s, cout_s, _ = tiles[0]
        spec0 = _spec(qnet, layer, cin_s.stop - cin_s.start, cout_s.stop - cout_s.start)
        if _host_is_faster(cfg, spec0, _quant(layer, cout_s, O), residual):
            on_chip = False
            how += ", host im2col (fewer cycles than on chip for this layer)"
        else:
            how += ", im2col on chip"
    else:
        how += ", host im2col"
    for b in range(n_images):
        for cin_s, cout_s, kind in tiles:
            cin, cout = cin_s.stop - cin_s.start, cout_s.stop - cout_s.start
            if kind == "diag":   # w[o, c] = w_dw[o] on the diagonal
                wt = np.zeros((cout, cin, kh, kw), dtype=np.int64)
                idx = np.arange(cout)
                wt[idx, idx] = layer.weight[cout_s, 0]
            else:
                wt = layer.weight[cout_s]
            quant = _quant(layer, cout_s, O)
            what = (f"image {b}" if n_images > 1 else "") + (
                "" if len(tiles) == 1 else f"{' ' if n_images > 1 else ''}channels "
                f"{cout_s.start}..{cout_s.stop - 1}")
            spec = _spec(qnet, layer, cin, cout)
            factors = None if not residual else layer.preload[cout_s]
            if on_chip:
                mp = conv_mapping(cfg, spec, quant, preload=residual)
                nest = conv_nest(cfg, spec, mp, quant, preload=residual)

                def emit(inputs, spec=spec, mp=mp, wt=wt, quant=quant, b=b, cin_s=cin_s,
                         cout_s=cout_s, factors=factors):
                    x = inputs[0][b, cin_s]
                    r = None if factors is None else inputs[1][b, cout_s]
                    return emit_conv(cfg, spec, mp, x, wt, quant, r, factors)[0]
            else:
                nest = _host_nest(cfg, spec, quant, residual)
                mp = default_mapping(cfg, nest.M, nest.K, nest.N)

                def emit(inputs, spec=spec, wt=wt, quant=quant, b=b, cin_s=cin_s,
                         cout_s=cout_s, factors=factors, nest=nest):
                    x = inputs[0][b:b + 1, cin_s]
                    a = _im2col(x, spec)
                    bm = wt.transpose(2, 3, 1, 0).reshape(-1, wt.shape[0])
                    r = None if factors is None else \
                        inputs[1][b, cout_s].reshape(wt.shape[0], -1).T
                    src = GemmSource(cfg, nest, a, bm, preload=r, factors=factors)
                    return emit_nest(cfg, nest, src, quant)

            def place(out, res, b=b, cout_s=cout_s, nest=nest, Ho=Ho, Wo=Wo):
                if isinstance(nest, ConvNest):
                    out[b, cout_s] = conv_output(nest, res)
                else:
                    out[b, cout_s] = res.reshape(Ho, Wo, -1).transpose(2, 0, 1)

            parts.append(Part(nest, mp, what, emit, place))
    return how, parts


def _im2col(x, spec: ConvSpec) -> np.ndarray:
    """The im2col matrix (pixels x (ky, kx, c)) of one image ``x`` (1, C, H, W)."""
    t, l, b, r = spec.pad
    xp = np.pad(x[0], ((0, 0), (t, b), (l, r)))
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    rows = []
    for ky in range(spec.kh):
        for kx in range(spec.kw):
            win = xp[:, ky * dy:ky * dy + sy * (spec.h_out - 1) + 1:sy,
                     kx * dx:kx * dx + sx * (spec.w_out - 1) + 1:sx]   # (C, Ho, Wo)
            rows.append(win.reshape(win.shape[0], -1).T)                # (pixels, C)
    return np.concatenate(rows, axis=1)


def _linear_parts(cfg, qnet, layer, n_images) -> list:
    O, I = layer.weight.shape
    check_gemm(cfg, n_images, I, O)
    mp = default_mapping(cfg, n_images, I, O)
    quant = _quant(layer, slice(0, O), O)
    residual = layer.residual is not None
    nest = gemm_nest(n_images, I, O, mp, raw=False, per_lane=per_word_quant(cfg, quant),
                     clamp=quant.clamp, preload=residual)

    def emit(inputs):
        a = inputs[0].reshape(n_images, -1)
        r = None if not residual else inputs[1].reshape(n_images, -1)
        src = GemmSource(cfg, nest, a, layer.weight.T, preload=r,
                         factors=layer.preload if residual else None)
        return emit_nest(cfg, nest, src, quant)

    def place(out, res):
        out[:] = res.reshape(out.shape)

    return [Part(nest, mp, "", emit, place)]


def pool_spec(qnet: QNet, layer: QLayer) -> PoolSpec:
    """The :class:`PoolSpec` of a maxpool layer (one image)."""
    C, H, W = qnet.tensor(layer.inputs[0]).shape
    return PoolSpec(C, H, W, *layer.kernel, tuple(layer.stride), tuple(layer.padding),
                    tuple(layer.dilation))


def _pool_plan(cfg, qnet, layer, n_images) -> LayerPlan:
    """A maxpool on the pooling unit, one part per image, or (the unit cannot do it) a
    host layer saying why."""
    spec = pool_spec(qnet, layer)
    why = pool_refusal(cfg, spec, layer.lo, layer.hi)
    if why is not None:
        return LayerPlan(layer, "host", why)
    P = cfg.pool_lanes
    ho = spec.out_hw[0]
    rb = band_rows(cfg, spec)
    how = (f"max pooling on the pooling unit: {ceil_div(spec.c, P)} channel tile(s) of {P}, "
           f"{ceil_div(ho, rb)} band(s) of up to {rb} output rows")
    parts = []
    for b in range(n_images):
        def emit(inputs, b=b):
            return emit_pool(cfg, spec, inputs[0][b], layer.lo, layer.hi)

        def place(out, res, b=b):
            out[b] = res

        parts.append(Part(None, None, f"image {b}" if n_images > 1 else "", emit, place))
    lp = LayerPlan(layer, "pool", how, parts=parts)
    lp.block = mx.seq(pool_block(cfg, spec, layer.lo, layer.hi), mx.sync()).times(n_images)
    return lp


def plan_layer(cfg: AcceleratorConfig, qnet: QNet, layer: QLayer, n_images: int = 1) -> LayerPlan:
    op = layer.op
    if op == "maxpool":   # on the pooling unit, or the host with the reason
        return _pool_plan(cfg, qnet, layer, n_images)
    if op == "avgpool":
        layer = pool_as_conv(layer, qnet.tensor(layer.inputs[0]).shape[0])
        how_prefix = "average pool as a depthwise conv with unit weights: "
    else:
        how_prefix = ""
    if layer.op == "conv":
        how, parts = _conv_parts(cfg, qnet, layer, n_images)
        M, K, N = qnet.gemm_shape(layer, n_images)
        lp = LayerPlan(layer, "array", how_prefix + how, (M, K, N), layer.groups,
                       M * K * N * layer.groups, parts)
    elif layer.op == "linear":
        O, I = layer.weight.shape
        lp = LayerPlan(layer, "array", "linear", (n_images, I, O), 1, n_images * I * O,
                       _linear_parts(cfg, qnet, layer, n_images))
    else:
        why = {"add": "an add the importer could not fuse into a conv (residual preload)",
               "flatten": "layout", "reshape": "layout", "concat": "layout",
               "clamp": "a clamp on its own"}[op]
        return LayerPlan(layer, "host", why)
    if layer.residual is not None and not cfg.features.preload:
        raise WorkloadError(f"layer {layer.name}: its residual add needs features.preload, "
                            f"which {cfg.name} leaves out")
    if not cfg.features.lane_quant:
        raise WorkloadError(f"layer {layer.name}: per-channel requantization needs "
                            f"features.lane_quant, which {cfg.name} leaves out")
    blocks = []
    for p in lp.parts:
        blocks += [cached_nest_block(cfg, p.nest), mx.sync()]   # alike parts timed once
    lp.block = mx.seq(*blocks)
    return lp


def clear_caches() -> None:
    """Forget every mapping and timing computed so far (the next plan starts cold, as in
    a new process)."""
    from . import conv, mapping
    from ..config import schema
    from ..models import perf
    for cached in (conv._conv_mapping, conv._band_words, mapping._default_mapping,
                   mapping._bounded, perf.cached_nest_block, _host_faster,
                   schema._chunk_words):
        cached.cache_clear()
    perf._STEP_CACHES.clear()


def plan_network(cfg: AcceleratorConfig, qnet: QNet, n_images: int = 1) -> NetworkPlan:
    """Every layer's plan and exact cycles, without data (``hwgen estimate --model``)."""
    if qnet.in_bits != cfg.precision.in_bits:
        raise WorkloadError(f"the network is quantized to {qnet.in_bits} bits, {cfg.name} "
                            f"computes with {cfg.precision.in_bits}; quantize for this design")
    return NetworkPlan(cfg, qnet, n_images,
                       [plan_layer(cfg, qnet, layer, n_images) for layer in qnet.layers])


# ---- programs with data --------------------------------------------------------------------
@dataclass
class LayerProgram:
    """A layer's program (its parts joined by SYNC) and how to read its result."""
    plan: LayerPlan
    program: Program
    parts: list          # (Part, Program) in order

    def decode(self, cfg: AcceleratorConfig, dout: list[int], shape: tuple) -> np.ndarray:
        out = np.zeros(shape, dtype=np.int64)
        pos = 0
        for part, prog in self.parts:
            res = prog.decode(cfg, dout[pos:pos + prog.n_dout]).astype(np.int64)
            part.place(out, res)
            pos += prog.n_dout
        return out


def layer_program(cfg: AcceleratorConfig, lp: LayerPlan, inputs: list) -> LayerProgram:
    """The program of an array layer for its integer inputs (batched, as
    :meth:`QNet.run` gives them)."""
    total = Program()
    parts = []
    for part in lp.parts:
        prog = part.emit(inputs)
        parts.append((part, prog))
        total.cmds += prog.cmds + [cmd_sync()]
        total.din += prog.din
        total.n_dout += prog.n_dout
    return LayerProgram(lp, total, parts)


def network_programs(cfg: AcceleratorConfig, plan: NetworkPlan, env: dict) -> list:
    """Every array layer's program, its inputs taken from ``env`` (every tensor of the
    network, e.g. :meth:`QNet.run` of the integer reference: each layer is then checked
    on exactly the input the previous layer should have produced)."""
    return [layer_program(cfg, lp, [env[t] for t in lp.layer.inputs])
            for lp in plan.layers if lp.where != "host"]


def chunk_count(lp: LayerPlan) -> int:
    return sum(int(np.prod(p.nest.counts)) for p in lp.parts if p.nest is not None)


__all__ = ["Part", "LayerPlan", "NetworkPlan", "LayerProgram", "plan_layer", "plan_network",
           "pool_spec",
           "layer_program", "network_programs", "ConvMapping", "ceil_div"]
