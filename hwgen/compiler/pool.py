"""Max pooling on the pooling unit (``features.maxpool``; docs/host_protocol.md, POOL).

A max pooling of a (C, H, W) image runs in channel tiles of
:attr:`~hwgen.config.AcceleratorConfig.pool_lanes` channels (P) and bands of output rows. For each tile and
band the host loads the band's input rows (clipped to the image: padding is never sent)
as input words of one pixel each, sets the band's registers, and issues a POOL; the
pooling unit writes one accumulator word per output pixel, which a READ returns through
the output path with an identity requantization (multiplier 1, shift 0, bias 0) and the
layer's clamp bounds. Tiles and bands alternate banks, so the next band loads while one
pools and the previous one is read (with one accumulator bank, read before the next
POOL overwrites it).

A band holds as many output rows as the input bank (their input rows times W words)
and the accumulator bank (rows times Wo words) allow. A pooling the unit cannot do (its
window wider than the POOL command's fields, one output row's input rows more than an
input bank, a register out of range, clamp bounds outside the output range) is refused
with the reason (:func:`pool_refusal`); the network planner then leaves it on the host
and the report says why.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..config import AcceleratorConfig
from ..lib.arith import ceil_div
from ..lib.beats import pack_beats, unpack_beats
from ..lib.errors import WorkloadError
from ..lib.protocol import (CONV_REG_BITS, DIM_BITS, POOL_K_BITS, PoolReg, cmd_conv_set,
                            cmd_load, cmd_pool, cmd_read, cmd_set_bias, cmd_set_clamp,
                            cmd_set_quant)
from ..models import maxplus as mx
from ..models.network import conv_out_hw
from ..models.perf import program_block
from .program import Program


@dataclass(frozen=True)
class PoolSpec:
    """A max pooling of one (c, h, w) image: window (kh, kw), stride (sy, sx), padding
    (top, left, bottom, right), dilation (dy, dx)."""
    c: int
    h: int
    w: int
    kh: int
    kw: int
    stride: tuple = (1, 1)
    pad: tuple = (0, 0, 0, 0)
    dilation: tuple = (1, 1)

    @property
    def out_hw(self) -> tuple[int, int]:
        return conv_out_hw((self.h, self.w), (self.kh, self.kw), self.stride, self.pad,
                           self.dilation)


def band_rows(cfg: AcceleratorConfig, spec: PoolSpec) -> int:
    """Output rows per band (0: not even one fits)."""
    ho, wo = spec.out_hw
    sy, dy = spec.stride[0], spec.dilation[0]
    rows_in = cfg.buffers.input.depth // spec.w     # input rows an input bank holds
    by_in = (rows_in - (spec.kh - 1) * dy - 1) // sy + 1 if rows_in >= (spec.kh - 1) * dy + 1 \
        else 0
    return max(0, min(ho, by_in, cfg.buffers.acc.depth // wo))


def only_padding(spec: PoolSpec) -> bool:
    """Whether a window holds no input pixel: with dilation, padding of at most half the
    window can still surround an image narrower than the taps' spacing. The unit writes
    an output from the taps inside the image only."""
    ho, wo = spec.out_hw
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    t, l = spec.pad[:2]

    def empty(n_out, step, pad, k, dil, size):
        return any(not any(0 <= o * step - pad + i * dil < size for i in range(k))
                   for o in range(n_out))
    return empty(ho, sy, t, spec.kh, dy, spec.h) or empty(wo, sx, l, spec.kw, dx, spec.w)


def pool_refusal(cfg: AcceleratorConfig, spec: PoolSpec, lo: int, hi: int) -> str | None:
    """Why the pooling unit cannot run this pooling, or None."""
    if not cfg.features.maxpool:
        return f"max pooling: {cfg.name} has no pooling unit (features.maxpool)"
    ho, wo = spec.out_hw
    if only_padding(spec):
        return ("max pooling on the host: a window holds only padding (the dilated taps "
                "miss the image), which the pooling unit does not write")
    kmax = (1 << POOL_K_BITS) - 1
    if spec.kh > kmax or spec.kw > kmax:
        return (f"max pooling on the host: the {spec.kh}x{spec.kw} window exceeds the pooling "
                f"unit's {kmax}x{kmax}")
    if ho >= 1 << DIM_BITS or wo >= 1 << DIM_BITS:
        return f"max pooling on the host: {ho}x{wo} outputs exceed the POOL command's fields"
    if band_rows(cfg, spec) < 1:
        return (f"max pooling on the host: one output row needs "
                f"{((spec.kh - 1) * spec.dilation[0] + 1) * spec.w} input words, an input "
                f"bank holds {cfg.buffers.input.depth}, or its {wo} outputs exceed an "
                f"accumulator bank ({cfg.buffers.acc.depth})")
    lim = 1 << (CONV_REG_BITS - 1)
    sy, dy = spec.stride[0], spec.dilation[0]
    t, l = spec.pad[:2]
    if max(sy * spec.w, dy * spec.w, (t + 1) * spec.w + l, spec.h, spec.w) >= lim:
        return "max pooling on the host: the image is too large for the pooling registers"
    ob = cfg.precision.out_bits
    if not -(1 << (ob - 1)) <= lo <= hi < (1 << (ob - 1)):
        return (f"max pooling on the host: clamp {lo}..{hi} is outside the {ob}-bit output "
                "range")
    return None


@dataclass
class PoolProgram(Program):
    """A max pooling's program; :meth:`decode` returns the (C, Ho, Wo) result."""
    spec: PoolSpec = None
    steps: tuple = ()      # (channel0, channels, oy0, rows) per POOL, in order

    def decode(self, cfg: AcceleratorConfig, dout: list[int]) -> np.ndarray:
        if len(dout) != self.n_dout:
            raise ValueError(f"expected {self.n_dout} result beats, got {len(dout)}")
        ho, wo = self.spec.out_hw
        out = np.zeros((self.spec.c, ho, wo), dtype=np.int64)
        bpw = cfg.acc_word_beats
        pos = 0
        for c0, n, oy0, rows in self.steps:
            count = rows * wo
            words = unpack_beats(dout[pos:pos + count * bpw], cfg.C, cfg.host.beat_elems,
                                 cfg.acc_bits)
            out[c0:c0 + n, oy0:oy0 + rows] = np.asarray(words, dtype=np.int64)[:, :n] \
                .T.reshape(n, rows, wo)
            pos += count * bpw
        return out


def emit_pool(cfg: AcceleratorConfig, spec: PoolSpec, x, lo: int, hi: int) -> PoolProgram:
    """The program of a max pooling of ``x`` (c, h, w) (None: the commands alone, for
    the cycle model), its outputs clamped to ``lo..hi``."""
    why = pool_refusal(cfg, spec, lo, hi)
    if why is not None:
        raise WorkloadError(why)
    C = cfg.C
    P = cfg.pool_lanes
    ho, wo = spec.out_hw
    rb = band_rows(cfg, spec)
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    t, l = spec.pad[:2]
    W = spec.w
    two_in, two_acc = cfg.buffers.input.banks > 1, cfg.buffers.acc.banks > 1
    beat, ib = cfg.host.beat_elems, cfg.precision.in_bits
    prog = PoolProgram(spec=spec)
    cmds = prog.cmds
    cmds.append(cmd_set_quant(1, 0))
    cmds += [cmd_set_bias(lane, 0) for lane in range(C)]
    cmds += [cmd_set_clamp(False, lo), cmd_set_clamp(True, hi)]
    for reg, v in ((PoolReg.W_IN, W), (PoolReg.COL0, -l), (PoolReg.SY, sy), (PoolReg.SX, sx),
                   (PoolReg.SY_W, sy * W), (PoolReg.DY, dy), (PoolReg.DX, dx),
                   (PoolReg.DY_W, dy * W)):
        cmds.append(cmd_conv_set(reg, v))
    steps = []
    prev = None
    s = 0
    for c0 in range(0, spec.c, P):
        n = min(P, spec.c - c0)
        for oy0 in range(0, ho, rb):
            rows = min(rb, ho - oy0)
            first = oy0 * sy - t                              # first tap row of the band
            last = (oy0 + rows - 1) * sy - t + (spec.kh - 1) * dy
            r0, r1 = max(0, first), min(spec.h - 1, last)
            rows_in = max(0, r1 - r0 + 1)
            in_bank = s % 2 if two_in else 0
            acc_bank = s % 2 if two_acc else 0
            if rows_in:
                cmds.append(cmd_load(False, in_bank, 0, rows_in * W))
                if x is not None:
                    words = np.zeros((rows_in * W, cfg.in_word_elems), dtype=np.int64)
                    words[:, :n] = np.asarray(x[c0:c0 + n, r0:r1 + 1], dtype=np.int64) \
                        .reshape(n, -1).T
                    prog.din.extend(pack_beats(words, beat, ib))
            row0 = first - r0
            cmds += [cmd_conv_set(PoolReg.ROWS_IN, rows_in), cmd_conv_set(PoolReg.ROW0, row0),
                     cmd_conv_set(PoolReg.BASE0, row0 * W - l)]
            if prev is not None and not two_acc:   # drain the one bank before it is reused
                cmds.append(cmd_read(prev, 0, steps[-1][3] * wo, False, False))
            cmds.append(cmd_pool(rows, wo, spec.kh, spec.kw, in_bank, acc_bank))
            if prev is not None and two_acc:       # overlaps the POOL just issued
                cmds.append(cmd_read(prev, 0, steps[-1][3] * wo, False, False))
            steps.append((c0, n, oy0, rows))
            prev = acc_bank
            s += 1
    cmds.append(cmd_read(prev, 0, steps[-1][3] * wo, False, False))
    prog.steps = tuple(steps)
    prog.n_dout = ho * wo * ceil_div(spec.c, P) * cfg.acc_word_beats
    return prog


@functools.lru_cache(maxsize=1024)
def pool_block(cfg: AcceleratorConfig, spec: PoolSpec, lo: int, hi: int) -> mx.Block:
    """The exact timing of :func:`emit_pool`'s program."""
    return program_block(cfg, emit_pool(cfg, spec, None, lo, hi).cmds)

