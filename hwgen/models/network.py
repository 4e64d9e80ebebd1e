"""Quantized networks: the IR the compiler maps onto the accelerator, and its bit-exact
integer reference (the golden model the generated RTL must match bit for bit).

Arithmetic (signed ``in_bits`` activations and weights, zero point 0 everywhere)::

    conv / linear   acc[o]  = sum(x_q * w_q)                      exact integer sum
                    acc[o] += bias_q[o]                           (bias_bits signed)
                    acc[o] += r[o] * P[o]                         residual preload, optional
                    y[o]    = clamp(rhe(acc[o] * mult[o] / 2^shift[o]), lo, hi)
    avgpool         acc     = sum of the window (zero padding counts: divisor = kh*kw)
                    y       = clamp(rhe(acc * mult / 2^shift), lo, hi)   one mult/shift
    maxpool         y       = clamp(max of the window (padding never wins), lo, hi)
    add  (host)     y       = clamp(rhe((a*ma + b*mb) / 2^shift), lo, hi)
    clamp           y       = clamp(x, lo, hi)
    flatten, reshape, concat (channel axis): layout only, one scale in and out

``rhe`` rounds half to even (:func:`hwgen.lib.fixed.round_shift_half_even` is the scalar
rule, :func:`requantize` the vectorised one). ``mult`` is unsigned and below
``2^mult_bits``, ``shift`` in ``0..max_shift``.

Layout. A tensor of one image is ``(C, H, W)`` (or ``(F,)`` after a flatten); the reference
puts the batch in front, ``(N, C, H, W)``. ``flatten`` follows that (C, H, W) order, like
torch and ONNX. A conv is a GEMM per group ``g`` (:meth:`QNet.gemm_shape`)::

    A[g] : M x K      M = N_images * H_out * W_out, rows in (image, y, x) order, x fastest
    B[g] : K x N      K = C_in/groups * kh * kw,    columns of A / rows of B in (ky, kx, c)
                                                   order, c fastest (channel-tiled (H, W, C)
                                                   feature maps read row by row)
    N = C_out / groups,  output channel o = g * N + n

:meth:`QNet.im2col` and :meth:`QNet.weight_matrix` give these matrices; the reference
computes every conv through them (a depthwise conv, whose K is kh*kw, directly).

Where an op can run (:attr:`QLayer.runs_on`): ``array`` (the MACs of conv, linear, and of
avgpool as a depthwise conv with unit weights, :func:`pool_as_conv`), ``pool`` (the
window maxima of maxpool, on a design's pooling unit), ``output_path`` (bias, preload,
requantization, activation clamp), ``host`` (a residual add that could not be fused,
layout ops). The compiler decides the final placement (a maxpool the design cannot pool
runs on the host).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..lib.arith import signed_range
from ..lib.errors import BadInput

__all__ = ["NetworkError", "QTensor", "QLayer", "QNet", "OPS", "RUNS_ON", "requantize",
           "shift_round_half_even", "choose_mult_shift", "choose_add_mults",
           "quantize_symmetric", "pool_as_conv", "conv_out_hw", "BIAS_BITS_MAX"]

OPS = ("conv", "linear", "maxpool", "avgpool", "add", "flatten", "reshape", "concat", "clamp")

#: Where each op's parts can run, in order: the MACs, then the output path.
RUNS_ON = {
    "conv": ("array", "output_path"),
    "linear": ("array", "output_path"),
    "avgpool": ("array", "output_path"),   # a depthwise conv with unit weights
    "maxpool": ("pool", "output_path"),   # window maxima on the pooling unit, then the clamp
    "add": ("host",),
    "clamp": ("output_path",),
    "flatten": ("host",),
    "reshape": ("host",),
    "concat": ("host",),
}

#: The bias register never holds more than this many bits, whatever the accumulator.
BIAS_BITS_MAX = 48

_I64_SAFE = 62  # |product| < 2^62 keeps every int64 step of the rounding exact


def _blas_threads(n: Optional[int]):
    """Limit BLAS to ``n`` threads inside the block (None: leave it). A threaded BLAS
    beside other busy processes (pytest -n 2 on two cores) runs several times slower
    than one thread; the products here are exact either way."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


class NetworkError(BadInput, ValueError):
    """A quantized network that breaks the IR's rules (one line)."""


# ---- arithmetic ---------------------------------------------------------------------

def _max_abs(a: np.ndarray) -> int:
    if a.size == 0:
        return 0
    if a.dtype == object:
        return int(max(abs(int(v)) for v in a.flat))
    return max(abs(int(a.max())), abs(int(a.min())))


def shift_round_half_even(p, shift) -> np.ndarray:
    """``p / 2^shift`` rounded to the nearest integer, ties to even, elementwise
    (``shift`` broadcasts against ``p``). int64 when exact, else Python integers."""
    p = np.asarray(p)
    shift = np.asarray(shift, dtype=np.int64)
    if np.any(shift < 0):
        raise ValueError("negative shift")
    big = p.dtype == object or (shift.size and int(shift.max()) > _I64_SAFE) or \
        _max_abs(p) >= (1 << _I64_SAFE)
    pos = shift > 0
    if big:
        p = p.astype(object)
        s = shift.astype(object)
        half = np.asarray(_HALF(shift), dtype=object)     # Python ints, any width
    else:
        p = p.astype(np.int64, copy=False)
        s = shift
        half = np.where(pos, np.int64(1) << np.maximum(shift - 1, 0), 0)
    q = p >> s
    rem = p - (q << s)
    up = (rem > half) | ((rem == half) & pos & ((q & 1) == 1))
    return q + up.astype(object if big else np.int64)


#: 2^(s-1) for s > 0, else 0, as a Python integer
_HALF = np.frompyfunc(lambda s: (1 << (int(s) - 1)) if s > 0 else 0, 1, 1)


def requantize(acc, mult, shift, lo, hi) -> np.ndarray:
    """``clamp(rhe(acc * mult / 2^shift), lo, hi)`` elementwise, int64 out.

    ``mult``, ``shift`` (and ``lo``, ``hi``) broadcast against ``acc``: per output channel,
    reshape them to ``(O, 1, 1)`` for an ``(N, O, H, W)`` accumulator. Bias and preload are
    added to ``acc`` before. Exact for any width: int64 where no step can overflow,
    Python integers otherwise."""
    acc = np.asarray(acc)
    mult = np.asarray(mult, dtype=np.int64)
    if np.any(mult < 0):
        raise ValueError("negative multiplier")
    if acc.dtype != object and _max_abs(acc) * max(_max_abs(mult), 1) < (1 << _I64_SAFE):
        p = acc.astype(np.int64, copy=False) * mult
    else:
        p = acc.astype(object) * mult.astype(object)
    y = shift_round_half_even(p, shift)
    y = np.minimum(np.maximum(y, lo), hi)
    return y.astype(np.int64)


def choose_mult_shift(ratio, mult_bits: int, max_shift: int):
    """``(mult, shift)`` per element of ``ratio`` (>= 0) with ``mult < 2^mult_bits``,
    ``0 <= shift <= max_shift`` and ``mult / 2^shift`` as close to ``ratio`` as these
    allow (ties: the smaller shift). Raises ValueError when a ratio needs a multiplier
    of ``mult_bits`` or more at shift 0."""
    r = np.atleast_1d(np.asarray(ratio, dtype=np.float64))
    if np.any(~np.isfinite(r)) or np.any(r < 0):
        raise ValueError("requantization ratios must be finite and >= 0")
    limit = float(1 << mult_bits)
    best_m = np.zeros(r.shape, dtype=np.int64)
    best_s = np.zeros(r.shape, dtype=np.int64)
    best_e = np.full(r.shape, np.inf)
    for s in range(max_shift + 1):
        m = np.rint(np.ldexp(r, s))
        ok = m < limit
        err = np.abs(np.ldexp(m, -s) - r)
        take = ok & (err < best_e)
        best_m[take] = m[take].astype(np.int64)
        best_s[take] = s
        best_e[take] = err[take]
    if np.any(~np.isfinite(best_e)):
        bad = float(r[~np.isfinite(best_e)].max())
        raise ValueError(f"scale ratio {bad:.6g} needs a multiplier of {mult_bits} bits or "
                         "more")
    return best_m, best_s


def choose_add_mults(ra: float, rb: float, mult_bits: int, max_shift: int):
    """``(ma, mb, shift)`` for the host add: the largest shift at which both rounded
    multipliers stay below ``2^mult_bits``."""
    limit = 1 << mult_bits
    for s in range(max_shift, -1, -1):
        ma, mb = int(np.rint(np.ldexp(ra, s))), int(np.rint(np.ldexp(rb, s)))
        if ma < limit and mb < limit:
            return ma, mb, s
    raise ValueError(f"add scale ratios {ra:.6g}, {rb:.6g} need a multiplier of "
                     f"{mult_bits} bits or more")


def quantize_symmetric(x, scale, bits: int) -> np.ndarray:
    """``clamp(rint(x / scale))`` to the signed ``bits`` range (half to even)."""
    lo, hi = signed_range(bits)
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) / scale), lo, hi).astype(np.int64)


def conv_out_hw(hw, kernel, stride, padding, dilation) -> tuple[int, int]:
    (H, W), (kh, kw), (sh, sw), (t, l, b, r), (dh, dw) = hw, kernel, stride, padding, dilation
    return ((H + t + b - dh * (kh - 1) - 1) // sh + 1,
            (W + l + r - dw * (kw - 1) - 1) // sw + 1)


# ---- exact integer products -----------------------------------------------------------

def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` over stacks ``(G, M, K) @ (G, K, N)`` as 2-D products (BLAS takes a
    transposed operand as it is; numpy's stacked matmul may not)."""
    if a.ndim == 2:
        return a @ b
    return np.stack([a[g] @ b[g] for g in range(a.shape[0])])


def _exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of integer arrays, exactly: through float64 BLAS when every partial sum
    stays below 2^53 (then any summation order is exact), else int64 or Python ints."""
    K = a.shape[-1]
    bound = K * _max_abs(a) * _max_abs(b)
    if bound < (1 << 53):
        return _mm(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    if bound < (1 << 63):
        return _mm(a.astype(np.int64), b.astype(np.int64))
    return _mm(a.astype(object), b.astype(object))


def _windows(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """View ``(N, C, Ho, Wo, kh, kw)`` of a padded ``(N, C, Hp, Wp)`` array."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_hw
    return np.lib.stride_tricks.as_strided(
        xp, (N, C, Ho, Wo, kh, kw), (sN, sC, sH * sh, sW * sw, sH * dh, sW * dw),
        writeable=False)


def _pad(x: np.ndarray, padding, value=0) -> np.ndarray:
    t, l, b, r = padding
    if not any(padding):
        return x
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _im2col(x: np.ndarray, kernel, stride, padding, dilation, groups) -> np.ndarray:
    """``(G, N*Ho*Wo, kh*kw*C/G)``: rows (image, y, x), columns (ky, kx, c), c fastest."""
    N, C, H, W = x.shape
    Ho, Wo = conv_out_hw((H, W), kernel, stride, padding, dilation)
    xp = np.ascontiguousarray(_pad(x, padding).transpose(0, 2, 3, 1))   # N, Hp, Wp, C
    sN, sH, sW, sC = xp.strides
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    win = np.lib.stride_tricks.as_strided(
        xp, (N, Ho, Wo, kh, kw, groups, C // groups),
        (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC * (C // groups), sC), writeable=False)
    win = win.transpose(5, 0, 1, 2, 3, 4, 6)
    return win.reshape(groups, N * Ho * Wo, kh * kw * (C // groups))


def _weight_matrix(w: np.ndarray, groups: int, dtype=None) -> np.ndarray:
    """``(G, kh*kw*C/G, O/G)`` with rows in (ky, kx, c) order (a transposed view of a
    contiguous ``(G, O/G, K)`` array, which BLAS reads as it is)."""
    O, Cg, kh, kw = w.shape
    rows = np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=dtype).reshape(
        groups, O // groups, kh * kw * Cg)
    return rows.transpose(0, 2, 1)


def _conv_acc(x: np.ndarray, w: np.ndarray, stride, padding, dilation, groups,
              b: Optional[tuple] = None) -> np.ndarray:
    """Exact accumulators ``(N, O, Ho, Wo)`` of a conv without bias; ``b`` is an
    optional precomputed ``(weight_matrix as float64, max |w|)``."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    Ho, Wo = conv_out_hw((H, W), (kh, kw), stride, padding, dilation)
    if groups == C and Cg == 1 and O == C:
        # depthwise: K = kh*kw per channel, a multiply-add per kernel tap
        xp = _pad(x, padding)
        win = _windows(xp, (kh, kw), stride, dilation, (Ho, Wo))
        acc = np.zeros((N, O, Ho, Wo), dtype=np.int64)
        for ky in range(kh):
            for kx in range(kw):
                acc += win[..., ky, kx] * w[:, 0, ky, kx].reshape(O, 1, 1)
        return acc
    a = _im2col(x, (kh, kw), stride, padding, dilation, groups)
    if b is not None and a.shape[-1] * _max_abs(a) * b[1] < (1 << 53):
        acc = _mm(a.astype(np.float64), b[0]).astype(np.int64)
    else:
        acc = _exact_matmul(a, _weight_matrix(w, groups))          # G, M, O/G
    return acc.reshape(groups, N, Ho, Wo, O // groups).transpose(1, 0, 4, 2, 3).reshape(
        N, O, Ho, Wo)


# ---- the IR ---------------------------------------------------------------------------

def _ints(a, ndim: int, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise NetworkError(f"{what}: must be an integer array, got {arr.dtype}")
    arr = np.array(arr, dtype=np.int64)
    if arr.ndim != ndim:
        raise NetworkError(f"{what}: must have {ndim} dimensions, got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


def _pair(v, what: str, n: int = 2, low: int = 1) -> tuple:
    t = tuple(int(e) for e in v)
    if len(t) != n or any(e < low for e in t):
        raise NetworkError(f"{what}: must be {n} integers >= {low}, got {t}")
    return t


@dataclass(frozen=True)
class QTensor:
    """A quantized tensor of one image: ``value = int * scale``, signed ``bits``."""
    name: str
    shape: tuple
    scale: float
    bits: int = 8

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise NetworkError(f"tensor name must be a non-empty string, got {self.name!r}")
        shape = tuple(int(s) for s in self.shape)
        if len(shape) not in (1, 3) or any(s < 1 for s in shape):
            raise NetworkError(f"tensor {self.name}: shape must be (C, H, W) or (F,) of "
                               f"positive sizes, got {shape}")
        object.__setattr__(self, "shape", shape)
        scale = float(self.scale)
        if not np.isfinite(scale) or scale <= 0:
            raise NetworkError(f"tensor {self.name}: scale must be finite and > 0, got {scale}")
        object.__setattr__(self, "scale", scale)
        if not 2 <= int(self.bits) <= 32:
            raise NetworkError(f"tensor {self.name}: bits must be 2..32, got {self.bits}")

    @property
    def range(self) -> tuple[int, int]:
        return signed_range(self.bits)


_ARRAYS = ("weight", "bias", "mult", "shift", "preload")


@dataclass(frozen=True, eq=False)
class QLayer:
    """One op. Fields an op does not use stay None (or at their defaults).

    conv     weight (O, C/groups, kh, kw), bias (O,), stride, padding (t, l, b, r),
             dilation, groups, mult (O,), shift (O,), lo, hi; optional ``residual`` (the
             name of the preloaded input, also ``inputs[1]``) with ``preload`` P (O,)
    linear   weight (O, I), bias, mult, shift, lo, hi, optional residual/preload
    avgpool  kernel, stride, padding, mult (1,), shift (1,), lo, hi
    maxpool  kernel, stride, padding, dilation, lo, hi
    add      inputs (a, b), mult (2,) = (ma, mb), shift (1,), lo, hi
    clamp    lo, hi
    flatten  (nothing); reshape: ``shape`` (per image); concat: inputs (channel axis)
    """
    name: str
    op: str
    inputs: tuple
    output: str
    weight: Optional[np.ndarray] = None
    bias: Optional[np.ndarray] = None
    kernel: Optional[tuple] = None
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    mult: Optional[np.ndarray] = None
    shift: Optional[np.ndarray] = None
    lo: Optional[int] = None
    hi: Optional[int] = None
    residual: Optional[str] = None
    preload: Optional[np.ndarray] = None
    shape: Optional[tuple] = None

    def __post_init__(self):
        where = f"layer {self.name}"
        if not isinstance(self.name, str) or not self.name:
            raise NetworkError(f"layer name must be a non-empty string, got {self.name!r}")
        if self.op not in OPS:
            raise NetworkError(f"{where}: unknown op {self.op!r} (one of {', '.join(OPS)})")
        ins = tuple(self.inputs) if not isinstance(self.inputs, str) else (self.inputs,)
        if not ins or not all(isinstance(i, str) and i for i in ins):
            raise NetworkError(f"{where}: inputs must be tensor names, got {self.inputs!r}")
        object.__setattr__(self, "inputs", ins)
        set_ = lambda k, v: object.__setattr__(self, k, v)
        set_("stride", _pair(self.stride, f"{where}: stride"))
        set_("dilation", _pair(self.dilation, f"{where}: dilation"))
        set_("padding", _pair(self.padding, f"{where}: padding", 4, 0))
        if self.kernel is not None:
            set_("kernel", _pair(self.kernel, f"{where}: kernel"))
        if self.shape is not None:
            set_("shape", _pair(self.shape, f"{where}: shape", len(tuple(self.shape))))
        for k in ("lo", "hi"):
            v = getattr(self, k)
            if v is not None:
                set_(k, int(v))
        set_("groups", int(self.groups))
        op = self.op
        want_inputs = {"conv": 1, "linear": 1, "maxpool": 1, "avgpool": 1, "add": 2,
                       "flatten": 1, "reshape": 1, "clamp": 1}
        n_in = want_inputs.get(op)
        if op in ("conv", "linear") and self.residual is not None:
            n_in = 2
            if ins[1] != self.residual:
                raise NetworkError(f"{where}: the residual {self.residual} must be inputs[1]")
        if n_in is not None and len(ins) != n_in:
            raise NetworkError(f"{where}: {op} takes {n_in} input(s), got {len(ins)}")
        if op == "concat" and len(ins) < 1:
            raise NetworkError(f"{where}: concat needs inputs")
        need = {"conv": ("weight", "bias", "mult", "shift", "lo", "hi"),
                "linear": ("weight", "bias", "mult", "shift", "lo", "hi"),
                "avgpool": ("kernel", "mult", "shift", "lo", "hi"),
                "maxpool": ("kernel", "lo", "hi"),
                "add": ("mult", "shift", "lo", "hi"),
                "clamp": ("lo", "hi"),
                "reshape": ("shape",)}.get(op, ())
        for k in need:
            if getattr(self, k) is None:
                raise NetworkError(f"{where}: {op} needs {k}")
        allowed = set(need) | {"stride", "padding", "dilation", "groups"}
        if op in ("conv", "linear"):
            allowed |= {"residual", "preload"}
        for k in _ARRAYS + ("kernel", "lo", "hi", "residual", "shape"):
            if getattr(self, k) is not None and k not in allowed:
                raise NetworkError(f"{where}: {op} takes no {k}")
        if op == "conv":
            set_("weight", _ints(self.weight, 4, f"{where}: weight"))
            O, Cg, kh, kw = self.weight.shape
            if self.groups < 1 or O % self.groups:
                raise NetworkError(f"{where}: groups={self.groups} must divide the "
                                   f"{O} output channels")
        elif op == "linear":
            set_("weight", _ints(self.weight, 2, f"{where}: weight"))
        if op in ("conv", "linear"):
            O = self.weight.shape[0]
            for k in ("bias", "mult", "shift"):
                set_(k, _ints(getattr(self, k), 1, f"{where}: {k}"))
                if getattr(self, k).shape != (O,):
                    raise NetworkError(f"{where}: {k} must have {O} entries, got "
                                       f"{getattr(self, k).shape[0]}")
            if (self.residual is None) != (self.preload is None):
                raise NetworkError(f"{where}: residual and preload go together")
            if self.preload is not None:
                set_("preload", _ints(self.preload, 1, f"{where}: preload"))
                if self.preload.shape != (O,) or np.any(self.preload < 0):
                    raise NetworkError(f"{where}: preload must be {O} integers >= 0")
        elif op in ("avgpool", "add"):
            n = 1 if op == "avgpool" else 2
            set_("mult", _ints(self.mult, 1, f"{where}: mult"))
            set_("shift", _ints(self.shift, 1, f"{where}: shift"))
            if self.mult.shape != (n,) or self.shift.shape != (1,):
                raise NetworkError(f"{where}: {op} takes {n} multiplier(s) and one shift")
        if self.mult is not None and np.any(self.mult < 0):
            raise NetworkError(f"{where}: multipliers must be >= 0")
        if self.shift is not None and np.any(self.shift < 0):
            raise NetworkError(f"{where}: shifts must be >= 0")
        if self.lo is not None and self.lo > self.hi:
            raise NetworkError(f"{where}: lo {self.lo} > hi {self.hi}")
        if op == "maxpool":
            kh, kw = self.kernel
            (dh, dw), (t, l, b, r) = self.dilation, self.padding
            if max(t, b) * 2 > dh * (kh - 1) + 1 or max(l, r) * 2 > dw * (kw - 1) + 1:
                raise NetworkError(f"{where}: padding {self.padding} larger than half the "
                                   f"kernel {self.kernel}: a window could hold only padding")

    @property
    def runs_on(self) -> tuple:
        """Where the parts of this op can run (:data:`RUNS_ON`)."""
        return RUNS_ON[self.op]

    @property
    def out_channels(self) -> Optional[int]:
        return None if self.weight is None else int(self.weight.shape[0])

    def mult_shift(self, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (mult, shift), a pool's single pair repeated."""
        m, s = self.mult, self.shift
        if self.op == "avgpool":
            return np.repeat(m, channels), np.repeat(s, channels)
        return m, s

    def arrays(self) -> dict:
        return {k: getattr(self, k) for k in _ARRAYS if getattr(self, k) is not None}

    def structure(self) -> dict:
        """Every field but the arrays, JSON-friendly."""
        d = {"name": self.name, "op": self.op, "inputs": list(self.inputs),
             "output": self.output}
        for k in ("kernel", "stride", "padding", "dilation", "shape"):
            v = getattr(self, k)
            if v is not None:
                d[k] = list(v)
        for k in ("groups", "lo", "hi", "residual"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d


def pool_as_conv(layer: QLayer, channels: int) -> QLayer:
    """An avgpool as the depthwise conv with unit weights it equals (bias 0)."""
    if layer.op != "avgpool":
        raise NetworkError(f"layer {layer.name}: only an avgpool is a depthwise conv")
    kh, kw = layer.kernel
    m, s = layer.mult_shift(channels)
    return QLayer(layer.name, "conv", layer.inputs, layer.output,
                  weight=np.ones((channels, 1, kh, kw), dtype=np.int64),
                  bias=np.zeros(channels, dtype=np.int64), stride=layer.stride,
                  padding=layer.padding, groups=channels, mult=m, shift=s, lo=layer.lo,
                  hi=layer.hi)


def _out_shape(layer: QLayer, shapes: list) -> tuple:
    """Per-image output shape, or raise NetworkError."""
    where, op = f"layer {layer.name}", layer.op
    s0 = shapes[0]
    if op in ("conv", "maxpool", "avgpool"):
        if len(s0) != 3:
            raise NetworkError(f"{where}: {op} needs a (C, H, W) input, got {s0}")
        C, H, W = s0
        if op == "conv":
            O, Cg, kh, kw = layer.weight.shape
            if Cg * layer.groups != C:
                raise NetworkError(f"{where}: weight takes {Cg}x{layer.groups} input "
                                   f"channels, input has {C}")
            kernel, dil, C = (kh, kw), layer.dilation, O
        else:
            kernel = layer.kernel
            dil = layer.dilation if op == "maxpool" else (1, 1)
        Ho, Wo = conv_out_hw((H, W), kernel, layer.stride, layer.padding, dil)
        if Ho < 1 or Wo < 1:
            raise NetworkError(f"{where}: kernel {kernel} does not fit the {H}x{W} input")
        out = (C, Ho, Wo)
    elif op == "linear":
        if len(s0) != 1 or s0[0] != layer.weight.shape[1]:
            raise NetworkError(f"{where}: weight takes ({layer.weight.shape[1]},), input "
                               f"is {s0}")
        out = (layer.weight.shape[0],)
    elif op in ("add", "clamp"):
        if any(s != s0 for s in shapes):
            raise NetworkError(f"{where}: input shapes differ: {shapes}")
        out = s0
    elif op == "flatten":
        out = (int(np.prod(s0)),)
    elif op == "reshape":
        if int(np.prod(layer.shape)) != int(np.prod(s0)) or len(layer.shape) not in (1, 3):
            raise NetworkError(f"{where}: cannot reshape {s0} to {layer.shape}")
        out = layer.shape
    elif op == "concat":
        if any(len(s) != len(s0) or s[1:] != s0[1:] for s in shapes):
            raise NetworkError(f"{where}: inputs differ beyond the channel axis: {shapes}")
        out = (sum(s[0] for s in shapes),) + tuple(s0[1:])
    else:  # pragma: no cover - OPS is closed
        raise NetworkError(f"{where}: unknown op {op}")
    if layer.residual is not None and shapes[1] != out:
        raise NetworkError(f"{where}: residual {layer.residual} has shape {shapes[1]}, the "
                           f"output {out}")
    return out


@dataclass(frozen=True, eq=False)
class QNet:
    """A quantized network: tensors (every one, with its scale), layers in an order in
    which each layer's inputs exist, and the output names.

    ``in_bits`` is the activation and weight width; ``mult_bits`` and ``max_shift`` bound
    the requantization (``AcceleratorConfig.max_shift``); ``acc_bits`` is the
    accumulator width it was built for (the bias register holds
    ``min(acc_bits, 48)`` bits). ``meta`` says where the network came from.
    """
    name: str
    input: QTensor
    tensors: tuple
    layers: tuple
    outputs: tuple
    in_bits: int = 8
    mult_bits: int = 16
    max_shift: int = 40
    acc_bits: int = 32
    meta: dict = field(default_factory=dict)
    _by_name: dict = field(default=None, init=False, repr=False)
    _producer: dict = field(default=None, init=False, repr=False)
    _gemm_cache: dict = field(default=None, init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "tensors", tuple(self.tensors))
        object.__setattr__(self, "layers", tuple(self.layers))
        outs = (self.outputs,) if isinstance(self.outputs, str) else tuple(self.outputs)
        object.__setattr__(self, "outputs", outs)
        net = f"network {self.name}"
        by_name = {}
        for t in self.tensors:
            if not isinstance(t, QTensor):
                raise NetworkError(f"{net}: tensors must be QTensor, got {type(t).__name__}")
            if t.name in by_name:
                raise NetworkError(f"{net}: tensor {t.name} declared twice")
            if t.bits != self.in_bits:
                raise NetworkError(f"{net}: tensor {t.name} has {t.bits} bits, the network "
                                   f"{self.in_bits}")
            by_name[t.name] = t
        if by_name.get(self.input.name) != self.input:
            raise NetworkError(f"{net}: the input {self.input.name} is not among the tensors")
        if len(self.input.shape) != 3:
            raise NetworkError(f"{net}: the input must be (C, H, W), got {self.input.shape}")
        for k, lo_, hi_ in (("in_bits", 2, 16), ("mult_bits", 1, 32), ("max_shift", 0, 128),
                            ("acc_bits", 4, 128)):
            if not lo_ <= int(getattr(self, k)) <= hi_:
                raise NetworkError(f"{net}: {k} must be {lo_}..{hi_}, got {getattr(self, k)}")
        producer = {}
        known = {self.input.name: self.input.shape}
        names = set()
        for layer in self.layers:
            if not isinstance(layer, QLayer):
                raise NetworkError(f"{net}: layers must be QLayer, got {type(layer).__name__}")
            where = f"{net}: layer {layer.name}"
            if layer.name in names:
                raise NetworkError(f"{net}: layer name {layer.name} used twice")
            names.add(layer.name)
            for i in layer.inputs:
                if i not in known:
                    raise NetworkError(f"{where}: input {i} is not computed before it")
            if layer.output in known:
                raise NetworkError(f"{where}: output {layer.output} is computed twice")
            if layer.output not in by_name:
                raise NetworkError(f"{where}: output {layer.output} is not a declared tensor")
            shape = _out_shape(layer, [known[i] for i in layer.inputs])
            if shape != by_name[layer.output].shape:
                raise NetworkError(f"{where}: computes shape {shape}, tensor "
                                   f"{layer.output} is declared {by_name[layer.output].shape}")
            self._check_arith(layer, by_name, where)
            known[layer.output] = shape
            producer[layer.output] = layer
        missing = [t for t in by_name if t not in known]
        if missing:
            raise NetworkError(f"{net}: tensors no layer computes: {', '.join(missing)}")
        for o in outs:
            if o not in known:
                raise NetworkError(f"{net}: output {o} is not a tensor")
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_producer", producer)
        object.__setattr__(self, "_gemm_cache", {})

    def _check_arith(self, layer: QLayer, by_name: dict, where: str):
        out = by_name[layer.output]
        lo, hi = out.range
        if layer.lo is not None and (layer.lo < lo or layer.hi > hi):
            raise NetworkError(f"{where}: clamp [{layer.lo}, {layer.hi}] outside the "
                               f"{out.bits}-bit range")
        if layer.weight is not None:
            wmax = (1 << (self.in_bits - 1)) - 1
            if _max_abs(layer.weight) > wmax:
                raise NetworkError(f"{where}: weights outside +-{wmax} ({self.in_bits}-bit "
                                   "symmetric)")
        if layer.bias is not None:
            blo, bhi = signed_range(self.bias_bits)
            if layer.bias.size and (layer.bias.min() < blo or layer.bias.max() > bhi):
                raise NetworkError(f"{where}: bias outside {self.bias_bits} signed bits")
        if layer.mult is not None and layer.mult.size and int(layer.mult.max()) >= (
                1 << self.mult_bits):
            raise NetworkError(f"{where}: multiplier of more than {self.mult_bits} bits")
        if layer.shift is not None and layer.shift.size and int(layer.shift.max()) > \
                self.max_shift:
            raise NetworkError(f"{where}: shift above max_shift {self.max_shift}")
        same_scale = layer.op in ("maxpool", "flatten", "reshape", "concat", "clamp")
        if same_scale:
            for i in layer.inputs:
                if by_name[i].scale != out.scale:
                    raise NetworkError(f"{where}: {layer.op} keeps the scale, but input {i} "
                                       f"has {by_name[i].scale:.6g} and output "
                                       f"{layer.output} {out.scale:.6g}")

    # ---- look-ups ------------------------------------------------------------------
    @property
    def bias_bits(self) -> int:
        return min(self.acc_bits, BIAS_BITS_MAX)

    def tensor(self, name: str) -> QTensor:
        try:
            return self._by_name[name]
        except KeyError:
            raise NetworkError(f"network {self.name}: no tensor {name}") from None

    def layer(self, name: str) -> QLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise NetworkError(f"network {self.name}: no layer {name}")

    def producer(self, tensor: str) -> Optional[QLayer]:
        """The layer computing ``tensor`` (None for the input)."""
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> list:
        return [layer for layer in self.layers if tensor in layer.inputs]

    # ---- float <-> int ---------------------------------------------------------------
    def quantize_input(self, x) -> np.ndarray:
        """Float images ``(N, C, H, W)`` (or one ``(C, H, W)``) to the input's integers."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape == self.input.shape:
            x = x[None]
        if x.shape[1:] != self.input.shape:
            raise NetworkError(f"network {self.name}: input shape {x.shape[1:]} does not "
                               f"match {self.input.shape}")
        return quantize_symmetric(x, self.input.scale, self.input.bits)

    def dequantize(self, name: str, y) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) * self.tensor(name).scale

    # ---- the reference -----------------------------------------------------------------
    def run(self, x, keep: str = "all", threads: Optional[int] = 1) -> dict:
        """Every tensor (``keep="all"``) or only the outputs (``"outputs"``) for integer
        images ``x`` of shape ``(N, C, H, W)``; each value has the batch axis in front.
        ``threads``: BLAS threads for the products (None: the library's default)."""
        if keep not in ("all", "outputs"):
            raise NetworkError(f"network {self.name}: keep must be 'all' or 'outputs'")
        with _blas_threads(threads):
            return self._run(x, keep)

    def _run(self, x, keep: str) -> dict:
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != self.input.shape:
            raise NetworkError(f"network {self.name}: input shape {x.shape[1:]} does not "
                               f"match {self.input.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            raise NetworkError(f"network {self.name}: run takes integers "
                               "(quantize_input first)")
        lo, hi = self.input.range
        if x.size and (x.min() < lo or x.max() > hi):
            raise NetworkError(f"network {self.name}: input outside the {self.in_bits}-bit "
                               "range")
        env = {self.input.name: x.astype(np.int64)}
        last_use = {}
        for i, layer in enumerate(self.layers):
            for t in layer.inputs:
                last_use[t] = i
        for i, layer in enumerate(self.layers):
            env[layer.output] = self.run_layer(layer, [env[t] for t in layer.inputs])
            if keep == "outputs":
                for t in layer.inputs:
                    if last_use[t] == i and t not in self.outputs:
                        env.pop(t, None)
        if keep == "outputs":
            return {o: env[o] for o in self.outputs}
        return env

    def run_layer(self, layer: QLayer, xs: list) -> np.ndarray:
        """One layer on batched integer inputs (``(N, ...)`` each)."""
        op = layer.op
        if op == "conv":
            acc = _conv_acc(xs[0], layer.weight, layer.stride, layer.padding,
                            layer.dilation, layer.groups, self._float_weights(layer))
            ch = (-1, 1, 1)
        elif op == "linear":
            wf, wmax = self._float_weights(layer)
            x = xs[0]
            if x.shape[-1] * _max_abs(x) * wmax < (1 << 53):
                acc = (x.astype(np.float64) @ wf).astype(np.int64)
            else:
                acc = _exact_matmul(x, layer.weight.T)
            ch = (-1,)
        if op in ("conv", "linear"):
            acc = acc + layer.bias.reshape(ch)
            if layer.residual is not None:
                acc = acc + xs[1] * layer.preload.reshape(ch)
            return requantize(acc, layer.mult.reshape(ch), layer.shift.reshape(ch),
                              layer.lo, layer.hi)
        if op == "avgpool":
            x = xs[0]
            Ho, Wo = conv_out_hw(x.shape[2:], layer.kernel, layer.stride, layer.padding,
                                 (1, 1))
            win = _windows(_pad(x, layer.padding), layer.kernel, layer.stride, (1, 1),
                           (Ho, Wo))
            acc = win.sum(axis=(-2, -1), dtype=np.int64)
            return requantize(acc, layer.mult[0], layer.shift[0], layer.lo, layer.hi)
        if op == "maxpool":
            x = xs[0]
            Ho, Wo = conv_out_hw(x.shape[2:], layer.kernel, layer.stride, layer.padding,
                                 layer.dilation)
            win = _windows(_pad(x, layer.padding, np.iinfo(np.int64).min), layer.kernel,
                           layer.stride, layer.dilation, (Ho, Wo))
            return np.clip(win.max(axis=(-2, -1)), layer.lo, layer.hi)
        if op == "add":
            acc = xs[0] * layer.mult[0] + xs[1] * layer.mult[1]
            return requantize(acc, 1, layer.shift[0], layer.lo, layer.hi)
        if op == "clamp":
            return np.clip(xs[0], layer.lo, layer.hi)
        if op == "flatten":
            return xs[0].reshape(xs[0].shape[0], -1)
        if op == "reshape":
            return xs[0].reshape((xs[0].shape[0],) + layer.shape)
        if op == "concat":
            return np.concatenate(xs, axis=1)
        raise NetworkError(f"layer {layer.name}: unknown op {op}")  # pragma: no cover

    def _float_weights(self, layer: QLayer):
        """(B as float64, max |w|) of a conv or linear layer, computed once."""
        hit = self._gemm_cache.get(layer.name) if self._gemm_cache is not None else None
        if hit is None or hit[0] is not layer:
            if layer.op == "linear":
                b = layer.weight.astype(np.float64).T
            else:
                b = _weight_matrix(layer.weight, layer.groups, np.float64)
            hit = (layer, (b, _max_abs(layer.weight)))
            if self._gemm_cache is not None:
                self._gemm_cache[layer.name] = hit
        return hit[1]

    # ---- GEMM view for the compiler ----------------------------------------------------
    def _as_gemm_layer(self, layer: QLayer) -> QLayer:
        if layer.op == "avgpool":
            return pool_as_conv(layer, self.tensor(layer.inputs[0]).shape[0])
        if layer.op not in ("conv", "linear"):
            raise NetworkError(f"layer {layer.name}: {layer.op} is not a GEMM")
        return layer

    def gemm_shape(self, layer, n_images: int = 1) -> tuple[int, int, int]:
        """``(M, K, N)`` of the GEMM of one group (``layer.groups`` of them; an avgpool
        counts as a depthwise conv): M = n_images*H_out*W_out, K = C_in/groups*kh*kw,
        N = C_out/groups; a linear layer is ``(n_images, I, O)``."""
        layer = self._as_gemm_layer(self.layer(layer) if isinstance(layer, str) else layer)
        if layer.op == "linear":
            O, I = layer.weight.shape
            return n_images, I, O
        O, Cg, kh, kw = layer.weight.shape
        _, Ho, Wo = self.tensor(layer.output).shape
        return n_images * Ho * Wo, Cg * kh * kw, O // layer.groups

    def im2col(self, layer, x) -> np.ndarray:
        """The A matrices ``(groups, M, K)`` of a conv (or avgpool, or linear: groups 1)
        for its integer input ``x`` ``(N, C, H, W)``: rows (image, y, x), columns
        (ky, kx, c) with c fastest."""
        layer = self._as_gemm_layer(self.layer(layer) if isinstance(layer, str) else layer)
        x = np.asarray(x, dtype=np.int64)
        if layer.op == "linear":
            return x.reshape(1, x.shape[0], -1)
        return _im2col(x, layer.weight.shape[2:], layer.stride, layer.padding,
                       layer.dilation, layer.groups)

    def weight_matrix(self, layer) -> np.ndarray:
        """The B matrices ``(groups, K, N)``, rows in (ky, kx, c) order."""
        layer = self._as_gemm_layer(self.layer(layer) if isinstance(layer, str) else layer)
        if layer.op == "linear":
            return layer.weight.T[None]
        return _weight_matrix(layer.weight, layer.groups)

    def acc_bound(self, layer) -> int:
        """Largest |accumulator + bias + preload| of a conv/linear/avgpool over all
        inputs in range: the width the accumulator and output path must hold."""
        layer = self._as_gemm_layer(self.layer(layer) if isinstance(layer, str) else layer)
        xmax = 1 << (self.in_bits - 1)
        w = np.abs(layer.weight.reshape(layer.weight.shape[0], -1)).sum(axis=1)
        tot = w * xmax + np.abs(layer.bias)
        if layer.preload is not None:
            tot = tot + layer.preload * xmax
        return int(tot.max())

    # ---- identity --------------------------------------------------------------------
    def structure(self) -> dict:
        return {"name": self.name, "in_bits": self.in_bits, "mult_bits": self.mult_bits,
                "max_shift": self.max_shift, "acc_bits": self.acc_bits,
                "input": self.input.name, "outputs": list(self.outputs),
                "tensors": [{"name": t.name, "shape": list(t.shape),
                             "scale": float(t.scale).hex(), "bits": t.bits}
                            for t in self.tensors],
                "layers": [layer.structure() for layer in self.layers]}

    def digest(self) -> str:
        """SHA-256 of the structure, every scale (exactly) and every integer array
        (``meta`` excluded): equal digests, equal networks."""
        h = hashlib.sha256(json.dumps(self.structure(), sort_keys=True).encode())
        for layer in self.layers:
            for k, a in layer.arrays().items():
                h.update(f"{layer.name}.{k}{a.shape}".encode())
                h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
        return h.hexdigest()

    def summary(self) -> str:
        """One line per layer: op, output shape and scale, GEMM shape where it has one."""
        lines = [f"{self.name}: input {self.input.name} {self.input.shape} "
                 f"scale {self.input.scale:.6g}"]
        for layer in self.layers:
            t = self.tensor(layer.output)
            g = ""
            if layer.op in ("conv", "linear", "avgpool"):
                M, K, N = self.gemm_shape(layer)
                groups = layer.groups if layer.op == "conv" else (
                    t.shape[0] if layer.op == "avgpool" else 1)
                g = f" gemm {M}x{K}x{N}" + (f" x{groups} groups" if groups > 1 else "")
            res = f" +{layer.residual}" if layer.residual else ""
            lines.append(f"  {layer.name:<24} {layer.op:<8} {str(t.shape):<16} "
                         f"scale {t.scale:.5g} [{layer.runs_on[0]}]{g}{res}")
        return "\n".join(lines)

    def save(self, path) -> Path:
        """Write ``.npz``: the structure and meta as JSON, every array exactly."""
        path = Path(path)
        arrays = {f"{i}.{k}": a for i, layer in enumerate(self.layers)
                  for k, a in layer.arrays().items()}
        doc = {"structure": self.structure(), "meta": self.meta}
        with open(path, "wb") as f:
            np.savez(f, __json__=np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8),
                     **arrays)
        return path

    @classmethod
    def load(cls, path) -> "QNet":
        with np.load(path, allow_pickle=False) as z:
            doc = json.loads(bytes(z["__json__"]).decode())
            arrays = {k: z[k] for k in z.files if k != "__json__"}
        s = doc["structure"]
        tensors = [QTensor(t["name"], tuple(t["shape"]), float.fromhex(t["scale"]), t["bits"])
                   for t in s["tensors"]]
        layers = []
        for i, d in enumerate(s["layers"]):
            kw = {k: v for k, v in d.items() if k not in ("name", "op", "inputs", "output")}
            for k in _ARRAYS:
                if f"{i}.{k}" in arrays:
                    kw[k] = arrays[f"{i}.{k}"]
            layers.append(QLayer(d["name"], d["op"], tuple(d["inputs"]), d["output"], **kw))
        by = {t.name: t for t in tensors}
        return cls(s["name"], by[s["input"]], tuple(tensors), tuple(layers),
                   tuple(s["outputs"]), s["in_bits"], s["mult_bits"], s["max_shift"],
                   s["acc_bits"], doc["meta"])
