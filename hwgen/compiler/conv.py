"""Convolutions on the accelerator with im2col on chip.

A convolution is the GEMM ``C[m, o] = sum_k A[m, k] W[k, o]`` with m an output pixel
(raster order, x fastest) and k = (ky, kx, c) (channels fastest). The host does not build
A: it sends each band of input rows once, as words of R channels per pixel
(``(iy*W + ix)*CT + ct``), and the weight-stationary engine's address generator
(:class:`hwgen.ctrl.engine.ConvAddress`) reads, for each pixel and k tile, the word that
holds it, or a zero word in the padding. Chunks are bands of output rows (M), ranges of
channel tiles (K: all kernel positions of those channels) and ranges of output channels
(N); :class:`ConvNest` tells the cycle model their sizes and :class:`ConvSource` gives
the program their words.

Channels are padded to a multiple of R (zero channels cost MACs, reported as such);
groups are run one after another (``hwgen.compiler.network``), depthwise layers as
channel tiles with a block-diagonal kernel.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..config import AcceleratorConfig, Dataflow
from ..lib.arith import ceil_div
from ..lib.errors import WorkloadError
from ..lib.protocol import CONV_REGS, ConvReg, cmd_conv_set
from ..models.perf import LoopNest, nest_timing
from .program import NestSource, Program, Quant, emit_nest, weight_words


@dataclass(frozen=True)
class ConvSpec:
    """One (group of a) 2-D convolution: ``cin`` x ``h`` x ``w`` in, ``cout`` out."""
    cin: int
    h: int
    w: int
    cout: int
    kh: int
    kw: int
    stride: tuple = (1, 1)
    pad: tuple = (0, 0, 0, 0)       # top, left, bottom, right
    dilation: tuple = (1, 1)

    @property
    def h_out(self) -> int:
        t, _, b, _ = self.pad
        return (self.h + t + b - self.dilation[0] * (self.kh - 1) - 1) // self.stride[0] + 1

    @property
    def w_out(self) -> int:
        _, l, _, r = self.pad  # noqa: E741
        return (self.w + l + r - self.dilation[1] * (self.kw - 1) - 1) // self.stride[1] + 1

    @property
    def macs(self) -> int:
        return self.h_out * self.w_out * self.cout * self.cin * self.kh * self.kw

    def input_rows(self, oy0: int, rows: int) -> tuple[int, int]:
        """Input rows ``[lo, hi)`` that output rows ``oy0 .. oy0+rows-1`` read."""
        sy, dy, t = self.stride[0], self.dilation[0], self.pad[0]
        lo = max(0, oy0 * sy - t)
        hi = min(self.h, (oy0 + rows - 1) * sy - t + (self.kh - 1) * dy + 1)
        return lo, max(lo, hi)   # a band entirely in the padding reads no row


@dataclass(frozen=True)
class ConvMapping:
    """How a convolution is cut into chunks: ``rows`` output rows per band, ``ct``
    channel tiles (of R channels) per K chunk, ``tile_n`` output channels per N chunk,
    and the loop order."""
    rows: int
    ct: int
    tile_n: int
    order: tuple = ("m", "n", "k")


@dataclass(frozen=True)
class ConvNest(LoopNest):
    """The cycle model's view of a convolution's chunk loops: an M chunk is a band of
    output rows (its pixels), a K chunk all kernel positions of ``ct`` channel tiles;
    the input chunk is the band's input rows at those channel tiles."""
    spec: Optional[ConvSpec] = None
    ct_chunk: int = 1
    R: int = 1

    def band(self, i: int) -> tuple[int, int]:
        """First output row and number of rows of band i."""
        rows = self.tile_m // self.spec.w_out
        return i * rows, min(rows, self.spec.h_out - i * rows)

    def cts(self, l: int) -> int:  # noqa: E741
        """Channel tiles of K chunk l."""
        ct_total = ceil_div(self.spec.cin, self.R)
        return min(self.ct_chunk, ct_total - l * self.ct_chunk)

    def a_words(self, cfg: AcceleratorConfig, i: int, l: int) -> int:  # noqa: E741
        lo, hi = self.spec.input_rows(*self.band(i))
        return (hi - lo) * self.spec.w * self.cts(l)

    def segments(self, dim: str) -> list[tuple[int, int, int]]:
        """Bands alike in size and input rows run together (padding makes the bands at
        the image's edges differ, possibly more than one at each edge)."""
        if dim != "m":
            return super().segments(dim)
        keys = [(self.m(i), self.spec.input_rows(*self.band(i)), self.band(i)[0] == 0)
                for i in range(self.counts[0])]
        key_of = lambda i: (keys[i][0], keys[i][1][1] - keys[i][1][0], keys[i][2])  # noqa: E731
        out, start = [], 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or key_of(i) != key_of(start) or i - start == 1 and start == 0:
                out.append((start, i - 1, i - start))
                start = i
        return out


def conv_nest(cfg: AcceleratorConfig, spec: ConvSpec, mp: ConvMapping, quant: Quant = Quant(),
              preload: bool = False) -> ConvNest:
    R = cfg.R
    ct_total = ceil_div(spec.cin, R)
    K = spec.kh * spec.kw * ct_total * R
    rows = min(mp.rows, spec.h_out)
    return ConvNest(M=spec.h_out * spec.w_out, K=K, N=spec.cout,
                    tile_m=rows * spec.w_out, tile_k=spec.kh * spec.kw * min(mp.ct, ct_total) * R,
                    tile_n=min(mp.tile_n, spec.cout), order=tuple(mp.order), raw=quant.raw,
                    per_lane=quant.per_lane, clamp=quant.clamp, setup=CONV_REGS,
                    preload=preload, spec=spec, ct_chunk=min(mp.ct, ct_total), R=R)


def conv_regs(cfg: AcceleratorConfig, nest: ConvNest, i: int, l: int) -> list[int]:  # noqa: E741
    """The address generator's registers for band i, K chunk l (:class:`ConvAddress`)."""
    sp = nest.spec
    oy0, _ = nest.band(i)
    lo, hi = sp.input_rows(*nest.band(i))
    (sy, sx), (dy, dx) = sp.stride, sp.dilation
    CT, W = nest.cts(l), sp.w
    row0 = oy0 * sy - sp.pad[0] - lo
    col0 = -sp.pad[1]
    regs = {
        ConvReg.W_IN: W, ConvReg.ROWS_IN: hi - lo, ConvReg.W_OUT: sp.w_out,
        ConvReg.ROW0: row0, ConvReg.COL0: col0, ConvReg.SY: sy, ConvReg.SX: sx,
        ConvReg.DY: dy, ConvReg.DX: dx, ConvReg.KW: sp.kw, ConvReg.CT: CT,
        ConvReg.PX_STEP: sx * CT, ConvReg.ROW_JUMP: sy * W * CT - (sp.w_out - 1) * sx * CT,
        ConvReg.KX_STEP: dx * CT - (CT - 1),
        ConvReg.KY_STEP: dy * W * CT - (sp.kw - 1) * dx * CT - (CT - 1),
        ConvReg.BASE0: (row0 * W + col0) * CT,
    }
    return [cmd_conv_set(reg, regs[reg]) for reg in range(CONV_REGS)]


class ConvSource(NestSource):
    """The words of a convolution's chunks: ``x`` (cin, h, w) integers, ``weight``
    (cout, cin, kh, kw), ``residual`` (cout, h_out, w_out) with ``factors`` (cout,) for
    the accumulator preload."""

    conv = True

    def __init__(self, cfg: AcceleratorConfig, nest: ConvNest, x=None, weight=None,
                 residual=None, factors=None):
        self.cfg, self.nest = cfg, nest
        sp, R = nest.spec, cfg.R
        ct_total = ceil_div(sp.cin, R)
        self.x_tiles = None
        if x is not None:   # (h, w, CT, R), zero channels appended
            xt = np.zeros((ct_total * R, sp.h, sp.w), dtype=np.int64)
            xt[:sp.cin] = x
            self.x_tiles = xt.reshape(ct_total, R, sp.h, sp.w).transpose(2, 3, 0, 1)
        self.w_padded = None
        if weight is not None:   # channels padded to CT*R
            self.w_padded = np.zeros((sp.cout, ct_total * R, sp.kh, sp.kw), dtype=np.int64)
            self.w_padded[:, :sp.cin] = weight
        self.residual, self.factors = residual, factors

    def a_words(self, i, l):  # noqa: E741
        if self.x_tiles is None:
            return None
        n = self.nest
        lo, hi = n.spec.input_rows(*n.band(i))
        ct0 = l * n.ct_chunk
        band = self.x_tiles[lo:hi, :, ct0:ct0 + n.cts(l), :]
        return band.reshape(-1, self.cfg.R)

    def w_words(self, l, j):  # noqa: E741
        if self.w_padded is None:
            return None
        n, R = self.nest, self.cfg.R
        ct0, cts = l * n.ct_chunk, n.cts(l)
        o0 = j * n.tile_n
        w = self.w_padded[o0:o0 + n.n(j), ct0 * R:(ct0 + cts) * R]   # (o, c, ky, kx)
        b = w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])          # k = (ky, kx, c)
        return weight_words(self.cfg, b)

    def setup(self, i, l, j):  # noqa: E741
        return conv_regs(self.cfg, self.nest, i, l)

    def preload(self, i, j, nt):
        n, C = self.nest, self.cfg.C
        o0 = j * n.tile_n + nt * C
        cols = max(0, min(C, n.N - o0))
        factors = [int(self.factors[o0 + c]) if c < cols else 0 for c in range(C)]
        if self.residual is None:
            return factors, None
        oy0, rows = n.band(i)
        rows_nt = n.acc_rows(self.cfg, i)
        words = np.zeros((rows_nt, C), dtype=np.int64)
        r = self.residual[o0:o0 + cols, oy0:oy0 + rows, :].reshape(cols, -1)  # (c, pixels)
        words[:r.shape[1], :cols] = r.T
        return factors, words

    def rows(self, i):
        return i * self.nest.tile_m


def check_conv(cfg: AcceleratorConfig, spec: ConvSpec, preload_max: int = 0) -> None:
    """Refuse what the hardware cannot run, in one line: the output-stationary array has
    no im2col address generator; the accumulator must hold every sum."""
    if cfg.dataflow is not Dataflow.WS:
        raise WorkloadError("convolutions on chip need the weight-stationary dataflow "
                            f"(the address generator feeds its rows); {cfg.name} is "
                            f"{cfg.dataflow}")
    if not cfg.features.im2col:
        raise WorkloadError(f"convolutions on chip need features.im2col, which {cfg.name} "
                            "leaves out")
    b = cfg.precision.in_bits
    peak = spec.kh * spec.kw * spec.cin * (1 << (2 * b - 2)) + preload_max
    if peak > (1 << (cfg.acc_bits - 1)) - 1:
        raise WorkloadError(f"a {spec.kh}x{spec.kw}x{spec.cin} convolution can reach "
                            f"{peak}, more than the {cfg.acc_bits}-bit accumulator holds; "
                            "raise precision.max_k")


def fits(cfg: AcceleratorConfig, nest: ConvNest) -> Optional[str]:
    """None when every chunk of ``nest`` fits the buffers, else why not."""
    R, C = cfg.R, cfg.C
    # bands differ only at the image's edges (padding clips them): first, second, last
    n_m = nest.counts[0]
    a = max(nest.a_words(cfg, i, 0) for i in {0, min(1, n_m - 1), n_m - 1})
    if a > cfg.buffers.input.depth:
        return f"input buffer needs {a} words for a band, has {cfg.buffers.input.depth}"
    w = ceil_div(nest.tile_k, R) * R * ceil_div(nest.tile_n, C)
    if w > cfg.buffers.weight.depth:
        return f"weight buffer needs {w} words, has {cfg.buffers.weight.depth}"
    acc = ceil_div(nest.tile_n, C) * nest.tile_m
    if acc > cfg.buffers.acc.depth:
        return f"accumulator buffer needs {acc} words, has {cfg.buffers.acc.depth}"
    if max(nest.tile_m, nest.tile_k, nest.tile_n) >= 1 << 18:
        return "chunk dimension above 262143"
    return None


def _choices(full: int, unit: int) -> list[int]:
    out, v = {full}, unit
    while v < full:
        out.add(v)
        v *= 2
    return sorted(out, reverse=True)


#: A mapping whose cycles are within this factor of the fastest is as good: among those
#: the one moving the fewest beats over the host link wins.
CYCLE_SLACK = 1.02


def conv_mapping(cfg: AcceleratorConfig, spec: ConvSpec, quant: Quant = Quant(),
                 preload: bool = False) -> ConvMapping:
    """The mapping among bands of the largest fitting heights and their halves,
    channel-tile and output-channel chunks of the array's tile times powers of two and
    both loop orders that moves the fewest host beats while within :data:`CYCLE_SLACK`
    of the fewest cycles (the exact cycle model)."""
    return _conv_mapping(cfg, spec, quant.raw, quant.per_lane, quant.clamp, preload)


@functools.lru_cache(maxsize=4096)
def _conv_mapping(cfg, spec, raw, per_lane, clamp, preload) -> ConvMapping:
    quant = Quant(raw=raw, mult=(1,) if per_lane else 1, lo=0 if clamp else None)
    R, C = cfg.R, cfg.C
    ct_total = ceil_div(spec.cin, R)
    scored = []
    for ct in _choices(ct_total, 1):
        for tn in _choices(spec.cout, C):
            rows_fit = [r for r in _choices(spec.h_out, 1)
                        if fits(cfg, conv_nest(cfg, spec, ConvMapping(r, ct, tn), quant,
                                               preload)) is None]
            for rows in rows_fit[:2]:
                for order in (("m", "n", "k"), ("n", "m", "k")):
                    mp = ConvMapping(rows, ct, tn, order)
                    t = nest_timing(cfg, conv_nest(cfg, spec, mp, quant, preload))
                    scored.append((t.cycles, t.host_beats, mp))
    if not scored:
        raise WorkloadError(f"no chunk of a {spec.cin}x{spec.h}x{spec.w} input with a "
                            f"{spec.kh}x{spec.kw} kernel fits the buffers of {cfg.name} "
                            "(one output row needs the kernel's input rows at one channel "
                            "tile); deepen buffers.input")
    fastest = min(c for c, _, _ in scored)
    good = [(beats, c, i) for i, (c, beats, _) in enumerate(scored)
            if c <= fastest * CYCLE_SLACK]
    return scored[min(good)[2]][2]


def emit_conv(cfg: AcceleratorConfig, spec: ConvSpec, mp: ConvMapping, x=None, weight=None,
              quant: Quant = Quant(), residual=None, factors=None) -> tuple[Program, ConvNest]:
    """The program of one convolution (and its nest for the cycle model). The result
    decodes to (h_out * w_out, cout): row = output pixel, column = output channel."""
    preload = factors is not None
    check_conv(cfg, spec, 0 if not preload else
               (1 << (cfg.precision.in_bits - 1)) * int(np.max(factors, initial=0)))
    nest = conv_nest(cfg, spec, mp, quant, preload)
    why = fits(cfg, nest)
    if why is not None:
        raise WorkloadError(f"mapping {mp} does not fit: {why}")
    src = ConvSource(cfg, nest, x, weight, residual, factors)
    return emit_nest(cfg, nest, src, quant), nest
