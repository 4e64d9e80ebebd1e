"""Convolutions on the accelerator with im2col on chip.

A convolution is the GEMM ``C[m, o] = sum_k A[m, k] W[k, o]`` with m an output pixel
(raster order, x fastest). The host does not build A: it sends each band of input rows
once and the engine's address generator reads, for each pixel and k, the word that holds
it, or zeros in the padding. Chunks are bands of output rows (M), ranges of input
channels (K: all kernel positions of those channels) and ranges of output channels (N);
:class:`ConvNest` tells the cycle model their sizes and :class:`ConvSource` gives the
program their words. The two dataflows lay the band out differently:

* weight-stationary (:class:`hwgen.ctrl.engine.ConvAddress`): words of R channels per
  pixel (``(iy*W + ix)*CT + ct``), k = (ky, kx, c) with channels fastest; channels are
  padded to a multiple of R (zero channels cost MACs, reported as such);
* output-stationary (:class:`hwgen.ctrl.engine.OsConvAddress`): words of R pixels of one
  channel, k = (c, ky, kx) with kernel columns fastest, in one of two layouts, whichever
  computes fewer junk pixels (:func:`is_flat`):

  - flat: the band with its padding, split into planes of the SY x SX stride phases,
    each plane's rows back to back with a pitch of ``Wq`` positions (:func:`flat_wq`,
    the output width plus the kernel's reach); output pixel (oy, ox) of a band is
    accumulator row ``oy*Wq + ox`` and an array tile is R consecutive rows, across
    output rows (the ``Wq - W_out`` junk pixels of each row are computed and dropped);
  - row-tiled: each input row split into its stride phases and padded to ``WQW`` words,
    no padding stored; an array tile is R pixels of one output row, so each output row
    is padded to ``XT*R`` pixels (dropped likewise).

Groups are run one after another (``hwgen.compiler.network``), depthwise layers as
channel tiles with a block-diagonal kernel.
"""
from __future__ import annotations

import copy
import functools
import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..config import AcceleratorConfig, Dataflow
from ..lib.arith import ceil_div
from ..lib.errors import WorkloadError
from ..lib.protocol import (CONV_REGS, OS_CONV_REGS, ConvReg, OsConvReg, cmd_conv_set,
                            conv_reg_count, pack_fields)
from ..models.perf import (LoopNest, beat_totals, block_timing, cached_nest_block,
                           compute_bound, nest_beats, nest_lower_bound)
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
    channel units per K chunk (tiles of R channels on a weight-stationary design, single
    channels on an output-stationary one), ``tile_n`` output channels per N chunk, and
    the loop order; on an output-stationary design ``flat`` forces the flat (True) or
    row-tiled (False) layout, else :func:`is_flat` picks it."""
    rows: int
    ct: int
    tile_n: int
    order: tuple = ("m", "n", "k")
    flat: Optional[bool] = None


@dataclass(frozen=True)
class ConvNest(LoopNest):
    """The cycle model's view of a convolution's chunk loops: an M chunk is a band of
    ``band_rows`` output rows (its pixels; on an output-stationary design each row padded
    to ``row_px``, and a flat band's M rounded up to whole tiles), a K chunk all kernel
    positions of ``ct_chunk`` channel units of ``R`` channels; the input chunk is the
    band's input rows at those channels."""
    spec: Optional[ConvSpec] = None
    ct_chunk: int = 1
    R: int = 1
    os: bool = False
    lanes: int = 1      # the array's rows (output-stationary: pixels per word)
    flat: bool = False  # output-stationary, flat layout (:func:`is_flat`)
    band_rows: int = 1  # output rows per band

    @property
    def row_px(self) -> int:
        """Output pixels per output row in the accumulator (the row pitch)."""
        if not self.os:
            return self.spec.w_out
        if self.flat:
            return flat_wq(self.spec)
        return xt_of(self.spec, self.lanes) * self.lanes

    def band(self, i: int) -> tuple[int, int]:
        """First output row and number of rows of band i."""
        rows = self.band_rows
        return i * rows, min(rows, self.spec.h_out - i * rows)

    def out_rows(self, i: int) -> np.ndarray:
        """Accumulator row (within band i's M rows) of each output pixel of the band,
        (rows, w_out)."""
        _, rows = self.band(i)
        return (np.arange(rows)[:, None] * self.row_px
                + np.arange(self.spec.w_out)[None, :])

    @functools.cached_property
    def _band_words(self) -> tuple[int, ...]:
        """Input words per channel unit of each band."""
        return _band_words(self.spec, self.band_rows, self.os, self.lanes, self.flat)

    def with_chunks(self, ct: int, tile_n: int, order: tuple) -> "ConvNest":
        """This nest's bands with K chunks of ``ct`` channel units, N chunks of
        ``tile_n`` output channels, visited in ``order`` (a copy: the mapping search
        makes many of one band height)."""
        sp = self.spec
        ct = min(ct, ceil_div(sp.cin, self.R))
        out = copy.copy(self)
        for name, v in (("tile_k", sp.kh * sp.kw * ct * self.R), ("ct_chunk", ct),
                        ("tile_n", min(tile_n, sp.cout)), ("order", tuple(order))):
            object.__setattr__(out, name, v)
        return out

    def cts(self, l: int) -> int:  # noqa: E741
        """Channel units of K chunk l."""
        ct_total = ceil_div(self.spec.cin, self.R)
        return min(self.ct_chunk, ct_total - l * self.ct_chunk)

    def a_words(self, cfg: AcceleratorConfig, i: int, l: int) -> int:  # noqa: E741
        return self._band_words[i] * self.cts(l)

    def a_words_total(self, cfg: AcceleratorConfig) -> int:
        return sum(self._band_words) * ceil_div(self.spec.cin, self.R)

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


@functools.lru_cache(maxsize=4096)
def _band_words(spec: ConvSpec, rows: int, os: bool, lanes: int,
                flat: bool = False) -> tuple[int, ...]:
    """Input words per channel unit of each band of ``rows`` output rows."""
    if flat:
        return tuple(spec.stride[0] * spec.stride[1] * flat_geom(spec, lanes, r).plane
                     for r in (min(rows, spec.h_out - oy) for oy in range(0, spec.h_out, rows)))
    per_row = (spec.stride[1] * wqw_of(spec, lanes)) if os else spec.w
    return tuple((hi - lo) * per_row
                 for lo, hi in (spec.input_rows(oy, min(rows, spec.h_out - oy))
                                for oy in range(0, spec.h_out, rows)))


def xt_of(spec: ConvSpec, R: int) -> int:
    """Output-stationary: array tiles (of R pixels) per output row."""
    return ceil_div(spec.w_out, R)


def wqw_of(spec: ConvSpec, R: int) -> int:
    """Output-stationary: words per stride phase of an input row (its longest phase,
    ``ceil(W / SX)`` pixels, in words of R)."""
    return ceil_div(ceil_div(spec.w, spec.stride[1]), R)


@functools.lru_cache(maxsize=4096)
def flat_wq(spec: ConvSpec) -> int:
    """Output-stationary, flat layout: the row pitch ``Wq`` of a plane.

    Plane px holds padded column ``SX*m + px`` of a row at position m of the row
    (m >= 0); its input pixels are at ``m_first .. m_last``. Output pixel ox reads
    ``m = ox + (kx*DX div SX)`` for the kernel columns of phase px. A read past
    ``m_last`` (right padding) lands ``Wq`` positions later on the next row, which must
    be before that row's first pixel; so the right padding of a row is the next row's
    left padding, stored once: ``Wq > m_last`` and ``Wq > max read - m_first``."""
    sx, dx, left = spec.stride[1], spec.dilation[1], spec.pad[1]
    wq = 1
    for px in range(sx):
        first = max(0, ceil_div(left - px, sx))
        last = (left + spec.w - 1 - px) // sx
        reach = [kx * dx // sx for kx in range(spec.kw) if kx * dx % sx == px]
        if last < first or not reach:
            wq = max(wq, last + 1)
            continue
        wq = max(wq, last + 1, spec.w_out - 1 + max(reach) - first + 1)
    return wq


@dataclass(frozen=True)
class FlatGeom:
    """A band of the flat layout: ``hq`` plane rows (of ``flat_wq`` positions), ``tiles``
    array tiles of R positions, ``plane`` words per plane (every tile's reads inside)."""
    hq: int
    tiles: int
    plane: int


def flat_geom(spec: ConvSpec, R: int, rows: int) -> FlatGeom:
    """The flat layout of a band of ``rows`` output rows on an array of R rows."""
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    wq = flat_wq(spec)
    hq = ceil_div((rows - 1) * sy + (spec.kh - 1) * dy + 1, sy)
    tiles = ceil_div((rows - 1) * wq + spec.w_out, R)
    o_max = ((spec.kh - 1) * dy // sy) * wq + (spec.kw - 1) * dx // sx
    # a tile reads the word of its offset and the next one
    return FlatGeom(hq, tiles, max(ceil_div(hq * wq, R), tiles + o_max // R + 1))


def is_flat(spec: ConvSpec, R: int) -> bool:
    """Output-stationary: the flat layout when its row pitch is shorter than the
    row-tiled layout's (fewer junk pixels computed)."""
    return flat_wq(spec) < xt_of(spec, R) * R


def _is_os(cfg: AcceleratorConfig) -> bool:
    return cfg.dataflow is Dataflow.OS


def conv_nest(cfg: AcceleratorConfig, spec: ConvSpec, mp: ConvMapping, quant: Quant = Quant(),
              preload: bool = False) -> ConvNest:
    return _band_nest(cfg, spec, mp.rows, mp.flat, quant, preload).with_chunks(
        mp.ct, mp.tile_n, mp.order)


def _band_nest(cfg: AcceleratorConfig, spec: ConvSpec, rows: int, flat: Optional[bool],
               quant: Quant, preload: bool) -> ConvNest:
    """The nest of bands of ``rows`` output rows, with one channel unit per K chunk and
    the array's columns per N chunk (:meth:`ConvNest.with_chunks` sets them)."""
    os = _is_os(cfg)
    unit = 1 if os else cfg.R
    ct_total = ceil_div(spec.cin, unit)
    K = spec.kh * spec.kw * ct_total * unit
    rows = min(rows, spec.h_out)
    flat = os and (is_flat(spec, cfg.R) if flat is None else flat)
    if flat:   # M: every band's tiles
        full, last = divmod(spec.h_out, rows)
        tile_m = flat_geom(spec, cfg.R, rows).tiles * cfg.R
        M = full * tile_m + (flat_geom(spec, cfg.R, last).tiles * cfg.R if last else 0)
    else:
        row_px = xt_of(spec, cfg.R) * cfg.R if os else spec.w_out
        M, tile_m = spec.h_out * row_px, rows * row_px
    return ConvNest(M=M, K=K, N=spec.cout, tile_m=tile_m,
                    tile_k=spec.kh * spec.kw * unit, tile_n=min(cfg.C, spec.cout),
                    raw=quant.raw, per_lane=quant.per_lane, clamp=quant.clamp,
                    setup=conv_reg_count(os), preload=preload, spec=spec, ct_chunk=1, R=unit,
                    os=os, lanes=cfg.R, flat=flat, band_rows=rows)


def conv_regs(cfg: AcceleratorConfig, nest: ConvNest, i: int, l: int) -> list[int]:  # noqa: E741
    """The address generator's registers for band i, K chunk l (:class:`ConvAddress`,
    :class:`OsConvAddress`)."""
    if nest.os:
        return _os_conv_regs(cfg, nest, i, l)
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


def _os_conv_regs(cfg: AcceleratorConfig, nest: ConvNest, i: int, l: int) -> list[int]:  # noqa: E741
    if nest.flat:
        return _flat_conv_regs(cfg, nest, i)
    sp, R = nest.spec, cfg.R
    oy0, _ = nest.band(i)
    lo, hi = sp.input_rows(*nest.band(i))
    (sy, sx), (dy, dx) = sp.stride, sp.dilation
    wqw, xt = wqw_of(sp, R), xt_of(sp, R)
    rows = hi - lo
    row_stride = sx * wqw
    row0 = oy0 * sy - sp.pad[0] - lo
    p0, qo0 = (-sp.pad[1]) % sx, (-sp.pad[1]) // sx
    dxp, dxq = dx % sx, dx // sx
    regs = {
        OsConvReg.ROWS_IN: rows,
        OsConvReg.WQW_XT: pack_fields(OsConvReg.WQW_XT, WQW=wqw, XT=xt),
        OsConvReg.DXP_W: dxp * wqw + dxq // R,
        OsConvReg.ROW_STRIDE: row_stride,
        OsConvReg.CH_STRIDE: rows * row_stride,
        OsConvReg.OY_JUMP: sy * row_stride - (xt - 1),
        OsConvReg.SY: sy, OsConvReg.ROW0: row0, OsConvReg.TB0: row0 * row_stride,
        OsConvReg.KW_KH: pack_fields(OsConvReg.KW_KH, KW=sp.kw, KH=sp.kh),
        OsConvReg.DY_STRIDE: dy * row_stride, OsConvReg.DY: dy,
        OsConvReg.A0: p0 * wqw + qo0 // R,
        OsConvReg.X0: pack_fields(OsConvReg.X0, P0=p0, QS0=qo0 % R, QW0=qo0 // R),
        OsConvReg.XSTEP: pack_fields(OsConvReg.XSTEP, SX=sx, DXP=dxp, DXS=dxq % R),
        OsConvReg.DXW: dxq // R,
        # one plane row per input row: a kernel row steps whole rows, never wraps
        OsConvReg.YSTEP: pack_fields(OsConvReg.YSTEP, SYP=1, DYP=0),
        OsConvReg.YS: pack_fields(OsConvReg.YS, YS0=0, YS1=0), OsConvReg.YWRAP: 0,
    }
    return [cmd_conv_set(reg, regs[reg]) for reg in range(OS_CONV_REGS)]


#: Flat layout: the mask limits no position reaches (``WQW``, ``ROWS_IN``).
_NO_WQW, _NO_ROWS = 4095, (1 << 23) - 1


def _flat_conv_regs(cfg: AcceleratorConfig, nest: ConvNest, i: int) -> list[int]:
    sp, R = nest.spec, cfg.R
    (sy, sx), (dy, dx) = sp.stride, sp.dilation
    g = flat_geom(sp, R, nest.band(i)[1])
    wq, pl = flat_wq(sp), g.plane
    dxp, dxq = dx % sx, dx // sx
    dyp, dyq = dy % sy, dy // sy
    y0, y1 = dyq * wq, (dyq + 1) * wq        # positions of a kernel row, and on a wrap
    regs = {
        OsConvReg.ROWS_IN: _NO_ROWS,
        OsConvReg.WQW_XT: pack_fields(OsConvReg.WQW_XT, WQW=_NO_WQW, XT=g.tiles),
        OsConvReg.DXP_W: dxp * pl + dxq // R,
        OsConvReg.ROW_STRIDE: sx * pl,
        OsConvReg.CH_STRIDE: sy * sx * pl,
        OsConvReg.OY_JUMP: 0, OsConvReg.SY: 0, OsConvReg.ROW0: 0, OsConvReg.TB0: 0,
        OsConvReg.KW_KH: pack_fields(OsConvReg.KW_KH, KW=sp.kw, KH=sp.kh),
        OsConvReg.DY_STRIDE: dyp * sx * pl + y0 // R, OsConvReg.DY: 0,
        OsConvReg.A0: 0,
        OsConvReg.X0: pack_fields(OsConvReg.X0, P0=0, QS0=0, QW0=0),
        OsConvReg.XSTEP: pack_fields(OsConvReg.XSTEP, SX=sx, DXP=dxp, DXS=dxq % R),
        OsConvReg.DXW: dxq // R,
        OsConvReg.YSTEP: pack_fields(OsConvReg.YSTEP, SYP=sy, DYP=dyp),
        OsConvReg.YS: pack_fields(OsConvReg.YS, YS0=y0 % R, YS1=y1 % R),
        OsConvReg.YWRAP: y1 // R - y0 // R - sy * sx * pl,
    }
    return [cmd_conv_set(reg, regs[reg]) for reg in range(OS_CONV_REGS)]


def _flat_band(spec: ConvSpec, R: int, x: np.ndarray, oy0: int, rows: int) -> np.ndarray:
    """The flat layout of input channels ``x`` (c, h, w) for output rows ``oy0 ..
    oy0+rows-1``: (c * SY * SX * plane, R) words."""
    (sy, sx), g, wq = spec.stride, flat_geom(spec, R, rows), flat_wq(spec)
    c = x.shape[0]
    top, left = spec.pad[0], spec.pad[1]
    band = np.zeros((c, g.hq * sy, wq * sx), dtype=np.int64)
    r0 = oy0 * sy - top                       # input row of the band's first padded row
    lo, hi = max(0, r0), min(spec.h, r0 + g.hq * sy)
    clo, chi = max(0, -left), min(spec.w, wq * sx - left)
    if lo < hi and clo < chi:
        band[:, lo - r0:hi - r0, clo + left:chi + left] = x[:, lo:hi, clo:chi]
    planes = band.reshape(c, g.hq, sy, wq, sx).transpose(0, 2, 4, 1, 3)
    planes = planes.reshape(c, sy, sx, g.hq * wq)
    words = np.zeros((c, sy, sx, g.plane * R), dtype=np.int64)
    words[..., :g.hq * wq] = planes
    return words.reshape(-1, R)


class ConvSource(NestSource):
    """The words of a convolution's chunks: ``x`` (cin, h, w) integers, ``weight``
    (cout, cin, kh, kw), ``residual`` (cout, h_out, w_out) with ``factors`` (cout,) for
    the accumulator preload."""

    conv = True

    def __init__(self, cfg: AcceleratorConfig, nest: ConvNest, x=None, weight=None,
                 residual=None, factors=None):
        self.cfg, self.nest = cfg, nest
        sp, R, unit = nest.spec, cfg.R, nest.R
        ct_total = ceil_div(sp.cin, unit)
        self.x_tiles, self.x = None, x
        if x is not None and nest.flat:     # laid out band by band (a_words)
            pass
        elif x is not None and not nest.os:   # (h, w, CT, R), zero channels appended
            xt = np.zeros((ct_total * R, sp.h, sp.w), dtype=np.int64)
            xt[:sp.cin] = x
            self.x_tiles = xt.reshape(ct_total, R, sp.h, sp.w).transpose(2, 3, 0, 1)
        elif x is not None:                 # (cin, h, SX, WQW*R): rows split in phases
            sx, wq = sp.stride[1], wqw_of(sp, R) * R
            xp = np.zeros((sp.cin, sp.h, wq * sx), dtype=np.int64)
            xp[:, :, :sp.w] = x
            self.x_tiles = xp.reshape(sp.cin, sp.h, wq, sx).transpose(0, 1, 3, 2)
        self.w_padded = None
        if weight is not None:   # channels padded to whole units
            self.w_padded = np.zeros((sp.cout, ct_total * unit, sp.kh, sp.kw), dtype=np.int64)
            self.w_padded[:, :sp.cin] = weight
        self.residual, self.factors = residual, factors

    def a_words(self, i, l):  # noqa: E741
        n = self.nest
        ct0 = l * n.ct_chunk
        if n.flat and self.x is not None:
            return _flat_band(n.spec, self.cfg.R, self.x[ct0:ct0 + n.cts(l)], *n.band(i))
        if self.x_tiles is None:
            return None
        lo, hi = n.spec.input_rows(*n.band(i))
        if n.os:
            band = self.x_tiles[ct0:ct0 + n.cts(l), lo:hi]
        else:
            band = self.x_tiles[lo:hi, :, ct0:ct0 + n.cts(l), :]
        return band.reshape(-1, self.cfg.R)

    def w_words(self, l, j):  # noqa: E741
        if self.w_padded is None:
            return None
        n, unit = self.nest, self.nest.R
        ct0, cts = l * n.ct_chunk, n.cts(l)
        o0 = j * n.tile_n
        w = self.w_padded[o0:o0 + n.n(j), ct0 * unit:(ct0 + cts) * unit]   # (o, c, ky, kx)
        if n.os:
            b = w.transpose(1, 2, 3, 0).reshape(-1, w.shape[0])   # k = (c, ky, kx)
        else:
            b = w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])   # k = (ky, kx, c)
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
        words[n.out_rows(i).ravel(), :cols] = \
            self.residual[o0:o0 + cols, oy0:oy0 + rows, :].reshape(cols, -1).T
        return factors, words

    def rows(self, i):
        return i * self.nest.tile_m


def check_conv(cfg: AcceleratorConfig, spec: ConvSpec, preload_max: int = 0,
               flat: Optional[bool] = None) -> None:
    """Refuse what the hardware cannot run, in one line: a design without the address
    generator; field limits of the output-stationary generator; the accumulator must
    hold every sum."""
    if not cfg.features.im2col:
        raise WorkloadError(f"convolutions on chip need features.im2col, which {cfg.name} "
                            "leaves out")
    if _is_os(cfg):
        R = cfg.R
        limits = (("kernel width", spec.kw, 4095), ("kernel height", spec.kh, 4095))
        if is_flat(spec, R) if flat is None else flat:
            limits += (("stride", max(spec.stride), 255),)
        else:
            limits += (("stride", spec.stride[1], 255),
                       ("words per input row phase", wqw_of(spec, R), 4095),
                       ("array tiles per output row", xt_of(spec, R), 4095),
                       ("left padding", ceil_div(spec.pad[1], spec.stride[1] * R), 127))
        for what, v, hi in limits:
            if v > hi:
                raise WorkloadError(f"the output-stationary address generator takes a "
                                    f"{what} up to {hi}, this convolution needs {v}")
    b = cfg.precision.in_bits
    peak = spec.kh * spec.kw * spec.cin * (1 << (2 * b - 2)) + preload_max
    if peak > (1 << (cfg.acc_bits - 1)) - 1:
        raise WorkloadError(f"a {spec.kh}x{spec.kw}x{spec.cin} convolution can reach "
                            f"{peak}, more than the {cfg.acc_bits}-bit accumulator holds; "
                            "raise precision.max_k")


def fits(cfg: AcceleratorConfig, nest: ConvNest) -> Optional[str]:
    """None when every chunk of ``nest`` fits the buffers, else why not."""
    # padding clips the bands at the image's edges, as many as the padding reaches: the
    # largest band may be any of them (K chunk 0 has the most channel units)
    a = max(nest._band_words) * nest.cts(0)
    if a > cfg.buffers.input.depth:
        return f"input buffer needs {a} words for a band, has {cfg.buffers.input.depth}"
    w = cfg.chunk_words(1, nest.tile_k, nest.tile_n)["weight"]
    if w > cfg.buffers.weight.depth:
        return f"weight buffer needs {w} words, has {cfg.buffers.weight.depth}"
    acc = cfg.chunk_words(nest.tile_m, 1, nest.tile_n)["acc"]
    if acc > cfg.buffers.acc.depth:
        return f"accumulator buffer needs {acc} words, has {cfg.buffers.acc.depth}"
    if max(nest.tile_m, nest.tile_k, nest.tile_n) >= 1 << 18:
        return "chunk dimension above 262143"
    if nest.flat:   # the tile counter and the word offset masks are 12 bits
        sp = nest.spec
        reach = ((sp.kh - 1) * sp.dilation[0] // sp.stride[0] * flat_wq(sp)
                 + (sp.kw - 1) * sp.dilation[1] // sp.stride[1]) // cfg.R
        if nest.tile_m // cfg.R + reach + 3 > _NO_WQW:
            return f"{nest.tile_m // cfg.R} array tiles in a band, at most {_NO_WQW - reach - 3}"
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
    unit = 1 if _is_os(cfg) else cfg.R
    C = cfg.C
    ct_total = ceil_div(spec.cin, unit)
    cands = []
    bands: dict = {}

    def band(rows: int) -> ConvNest:
        if rows not in bands:
            bands[rows] = _band_nest(cfg, spec, rows, None, quant, preload)
        return bands[rows]

    for ct in _choices(ct_total, 1):
        for tn in _choices(spec.cout, C):
            nests = (band(r).with_chunks(ct, tn, ("m", "n", "k"))
                     for r in _choices(spec.h_out, 1))
            for first in itertools.islice((n for n in nests if fits(cfg, n) is None), 2):
                busy = compute_bound(cfg, first)   # the same in both orders
                totals = beat_totals(cfg, first)    # likewise
                for order in (("m", "n", "k"), ("n", "m", "k")):
                    mp = ConvMapping(first.band_rows, ct, tn, order)
                    nest = first if order == first.order else first.with_chunks(ct, tn, order)
                    beats = sum(nest_beats(cfg, nest, totals))
                    cands.append((nest_lower_bound(cfg, nest, beats, busy),
                                  (busy, len(cands)), mp, nest, beats))
    if not cands:
        raise WorkloadError(f"no chunk of a {spec.cin}x{spec.h}x{spec.w} input with a "
                            f"{spec.kh}x{spec.kw} kernel fits the buffers of {cfg.name} "
                            "(one output row needs the kernel's input rows at one channel"
                            f"{'' if unit == 1 else ' tile'}); deepen buffers.input")
    return _pick(cfg, cands)


def _pick(cfg: AcceleratorConfig, cands: list) -> ConvMapping:
    """Among ``cands`` (lower bound, rank, mapping, nest, host beats), the mapping of the fewest
    host beats among those within :data:`CYCLE_SLACK` of the fewest cycles (ties: fewer
    cycles, then the lower rank), timing as few exactly as it can.

    The classes of equal beats (counted without timing) are visited from the fewest; a
    member whose bound is above the slack of an exact time known, or above the class's
    fastest found, is not timed; the class's fastest member decides it, and it is within the slack when its cycles are
    within it of every candidate's lower bound and every exact time known, out of it when
    one exact time known is faster by more; in between, the candidate of the lowest bound
    not yet timed is timed, which narrows the fewest cycles from both sides."""
    cycles: dict[int, int] = {}

    def exact(pos: int) -> int:
        if pos not in cycles:
            cycles[pos] = block_timing(cached_nest_block(cfg, cands[pos][3])).cycles
        return cycles[pos]

    by_bound = sorted(range(len(cands)), key=lambda p: cands[p][:2])
    beats = [c[4] for c in cands]
    untimed = 0   # by_bound[untimed:] may hold candidates not timed yet

    def within(c: int) -> bool:
        nonlocal untimed
        while True:
            while untimed < len(by_bound) and by_bound[untimed] in cycles:
                untimed += 1
            known = min(cycles.values())
            low = min(known, cands[by_bound[untimed]][0]) if untimed < len(by_bound) else known
            if c <= low * CYCLE_SLACK:
                return True
            if c > known * CYCLE_SLACK:
                return False
            exact(by_bound[untimed])

    exact(by_bound[0])
    for b in sorted(set(beats)):
        best = None
        for p in (p for p in by_bound if beats[p] == b):
            if cands[p][0] > min(cycles.values()) * CYCLE_SLACK:
                break   # neither this nor any later member of the class is within the slack
            if best is None or cands[p][0] <= best[0]:
                best = min(best or (exact(p), cands[p][1], p), (exact(p), cands[p][1], p))
        if best is not None and within(best[0]):
            return cands[best[2]][2]
    raise AssertionError("the fastest mapping is not within its own slack")


def conv_output(nest: ConvNest, res: np.ndarray) -> np.ndarray:
    """A convolution program's decoded result (each band's accumulator rows x output
    channels: output rows at a pitch of ``nest.row_px`` pixels) as (cout, h_out, w_out)."""
    res = np.asarray(res)
    rows = np.concatenate([i * nest.tile_m + nest.out_rows(i)
                           for i in range(nest.counts[0])])
    return res[rows].transpose(2, 0, 1)


def emit_conv(cfg: AcceleratorConfig, spec: ConvSpec, mp: ConvMapping, x=None, weight=None,
              quant: Quant = Quant(), residual=None, factors=None) -> tuple[Program, ConvNest]:
    """The program of one convolution (and its nest for the cycle model). The result
    decodes to (h_out * w_out, cout): row = output pixel, column = output channel."""
    preload = factors is not None
    check_conv(cfg, spec, 0 if not preload else
               (1 << (cfg.precision.in_bits - 1)) * int(np.max(factors, initial=0)), mp.flat)
    nest = conv_nest(cfg, spec, mp, quant, preload)
    why = fits(cfg, nest)
    if why is not None:
        raise WorkloadError(f"mapping {mp} does not fit: {why}")
    src = ConvSource(cfg, nest, x, weight, residual, factors)
    return emit_nest(cfg, nest, src, quant), nest
