"""Post-training quantization: a float graph (:mod:`hwgen.frontend.graph`) to a
:class:`~hwgen.models.network.QNet` in the accelerator's arithmetic.

* Activations: signed ``in_bits``, one symmetric scale per tensor, zero point 0. A
  scale the model fixes (QDQ) is used as is; any other is ``max|x| / (2^(b-1) - 1)``
  over the calibration images. Tensors that must share a scale (maxpool, flatten,
  reshape, clamp in and out; every input and the output of a concat) take the largest
  of their group (``meta["rescaled_tensors"]`` lists model scales that gave way).
* Weights: symmetric per output channel, ``s_w[o] = max|w[o]| / (2^(b-1) - 1)``,
  ``w_q = clip(rint(w / s_w))`` to +-(2^(b-1) - 1) (or the model's own integers).
* ``bias_q = rint(b / (s_x * s_w[o]))`` in ``min(acc_bits, 48)`` signed bits;
  ``(mult, shift)`` closest to ``s_x * s_w[o] / s_y``; residual preload
  ``P[o] = rint(s_r / (s_x * s_w[o]))``; an avgpool's ratio is
  ``s_x / (kh * kw * s_y)``; a host add's ``(ma, mb, shift)`` approximate
  ``s_a / s_y`` and ``s_b / s_y``.
* Fused activations: ``lo = max(range_lo, rint(act_lo / s_y))``, ``hi = min(range_hi,
  rint(act_hi / s_y))``.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..config import AcceleratorConfig, PrecisionConfig
from ..config.schema import requant_product_bits
from ..lib.arith import signed_range
from ..models.network import QLayer, QNet, QTensor, choose_add_mults, choose_mult_shift
from .errors import ModelError
from .graph import FGraph, infer_shapes, prepare, ranges

__all__ = ["quantize_graph", "precision_of", "weight_scales"]


def precision_of(precision: Union[PrecisionConfig, AcceleratorConfig, None]) -> dict:
    """in_bits, mult_bits, acc_bits and max_shift (``AcceleratorConfig.max_shift``)."""
    if isinstance(precision, AcceleratorConfig):
        precision = precision.precision
    if precision is None:
        precision = PrecisionConfig()
    if not isinstance(precision, PrecisionConfig):
        raise ModelError(f"precision must be a PrecisionConfig or AcceleratorConfig, got "
                         f"{type(precision).__name__}")
    acc = precision.acc_width
    return {"in_bits": precision.in_bits, "mult_bits": precision.mult_bits,
            "acc_bits": acc, "max_shift": requant_product_bits(acc, precision.mult_bits) - 2}


def weight_scales(w: np.ndarray, bits: int) -> np.ndarray:
    """Symmetric per-output-channel scales (1.0 for an all-zero channel)."""
    qmax = (1 << (bits - 1)) - 1
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    return np.where(amax > 0, amax / qmax, 1.0)


class _Groups:
    """Union-find over tensor names (tensors that share one scale)."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, t):
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _scales(g: FGraph, shapes: dict, bits: int, calib) -> tuple[dict, list, list]:
    """Scale of every tensor, the tensors whose scale came from calibration, and those
    whose model scale gave way to a shared one.

    Tensors tied by a maxpool, flatten, reshape, clamp or concat share one scale. Where
    the model fixes different scales inside such a group (onnxruntime's QDQ gives each
    input of a Concat its own), the group takes the largest of them, so that no member's
    range is clipped, and the producers requantize to it."""
    groups = _Groups()
    for t in shapes:
        groups.find(t)
    for n in g.nodes:
        if n.op in ("maxpool", "flatten", "reshape", "act", "concat"):
            for i in n.inputs:
                groups.union(i, n.output)
    members: dict = {}
    for t in shapes:
        members.setdefault(groups.find(t), []).append(t)
    fixed: dict = {}
    rescaled: list = []
    for root, ts in members.items():
        vals = [(t, g.scales[t]) for t in ts if t in g.scales]
        if vals:
            top = max(v for _, v in vals)
            rescaled += [t for t, v in vals if not math.isclose(v, top, rel_tol=1e-6)]
            fixed[root] = float(top)
    need = [root for root in members if root not in fixed]
    calibrated: list = []
    if need:
        if calib is None:
            t = sorted(members[need[0]])[0]
            raise ModelError(f"{g.label}: tensor {t} has no scale in the model and no "
                             "calibration data was given")
        amax = ranges(g, calib)
        qmax = (1 << (bits - 1)) - 1
        for root in need:
            m = max(amax[t] for t in members[root])
            fixed[root] = m / qmax if m > 0 and math.isfinite(m) else 1.0 / qmax
            calibrated += members[root]
    return {t: fixed[groups.find(t)] for t in shapes}, sorted(calibrated), sorted(rescaled)


def _clamp(act, s_y: float, bits: int) -> tuple[int, int]:
    lo, hi = signed_range(bits)
    if act is not None:
        alo, ahi = act
        if alo != -math.inf:
            lo = max(lo, int(np.rint(alo / s_y)))
        if ahi != math.inf:
            hi = min(hi, int(np.rint(ahi / s_y)))
        lo = min(lo, hi)
    return lo, hi


def quantize_graph(g: FGraph, precision=None, calib=None, meta: Optional[dict] = None
                   ) -> QNet:
    """The float graph as a QNet (see the module docstring). ``calib``: float images
    ``(N, C, H, W)`` for every scale the graph does not fix."""
    p = precision_of(precision)
    bits, mult_bits, max_shift = p["in_bits"], p["mult_bits"], p["max_shift"]
    if g.qbits is not None and g.qbits != bits:
        raise ModelError(f"{g.label}: the model is quantized to {g.qbits} bits, the "
                         f"accelerator's precision.in_bits is {bits}")
    g = prepare(g)
    shapes = infer_shapes(g)
    if calib is not None:
        calib = np.asarray(calib, dtype=np.float32)
        if calib.ndim != 4 or calib.shape[1:] != tuple(g.input_shape):
            raise ModelError(f"{g.label}: calibration images have shape {calib.shape[1:]}, "
                             f"the model takes {tuple(g.input_shape)}")
    scales, calibrated, rescaled = _scales(g, shapes, bits, calib)
    wmax = (1 << (bits - 1)) - 1
    bias_lo, bias_hi = signed_range(min(p["acc_bits"], 48))
    clipped = []
    preload_err = 0.0
    layers = []
    for n in g.nodes:
        a = n.attrs
        s_y = scales[n.output]
        where = f"{g.label}: node {n.name} ({a.get('src_op', n.op)})"
        kw: dict = {}
        op = n.op
        if op in ("conv", "linear"):
            s_x = scales[n.inputs[0]]
            w = a["weight"]
            if "qweight" in a:
                w_q = np.asarray(a["qweight"], dtype=np.int64)
                s_w = np.broadcast_to(np.asarray(a["wscale"], dtype=np.float64),
                                      (w.shape[0],)).copy()
                if np.abs(w_q).max(initial=0) > wmax:
                    raise ModelError(f"{where}: weight value {int(w_q.min())} outside the "
                                     f"symmetric {bits}-bit range +-{wmax}")
            else:
                s_w = weight_scales(w, bits)
                w_q = np.clip(np.rint(w / s_w.reshape((-1,) + (1,) * (w.ndim - 1))),
                              -wmax, wmax).astype(np.int64)
            b = a.get("bias")
            if "qbias" in a and np.allclose(a["bscale"], s_x * s_w, rtol=1e-5, atol=0):
                b_q = np.asarray(a["qbias"], dtype=np.int64)
            elif b is None:
                b_q = np.zeros(w.shape[0], dtype=np.int64)
            else:
                b_q = np.rint(b / (s_x * s_w)).astype(np.int64)
            if b_q.size and (b_q.min() < bias_lo or b_q.max() > bias_hi):
                clipped.append(n.name)
                b_q = np.clip(b_q, bias_lo, bias_hi)
            try:
                mult, shift = choose_mult_shift(s_x * s_w / s_y, mult_bits, max_shift)
            except ValueError as e:
                raise ModelError(f"{where}: {e}") from None
            kw.update(weight=w_q, bias=b_q, mult=mult, shift=shift)
            if op == "conv":
                kw.update(stride=a["stride"], padding=a["padding"], dilation=a["dilation"],
                          groups=a["groups"])
            if a.get("residual") is not None:
                s_r = scales[a["residual"]]
                pre = np.rint(s_r / (s_x * s_w)).astype(np.int64)
                kw.update(residual=a["residual"], preload=pre)
                # how far P * s_x * s_w misses s_r: the residual's relative error
                preload_err = max(preload_err, float(np.abs(pre * s_x * s_w / s_r - 1).max()))
        elif op == "avgpool":
            kh, kw_ = a["kernel"]
            try:
                mult, shift = choose_mult_shift(scales[n.inputs[0]] / (kh * kw_ * s_y),
                                                mult_bits, max_shift)
            except ValueError as e:
                raise ModelError(f"{where}: {e}") from None
            kw.update(kernel=a["kernel"], stride=a["stride"], padding=a["padding"],
                      mult=mult, shift=shift)
        elif op == "maxpool":
            kw.update(kernel=a["kernel"], stride=a["stride"], padding=a["padding"],
                      dilation=a.get("dilation", (1, 1)))
        elif op == "add":
            try:
                ma, mb, s = choose_add_mults(scales[n.inputs[0]] / s_y,
                                             scales[n.inputs[1]] / s_y, mult_bits, max_shift)
            except ValueError as e:
                raise ModelError(f"{where}: {e}") from None
            kw.update(mult=np.array([ma, mb]), shift=np.array([s]))
        elif op == "act":
            op = "clamp"
            kw["lo"], kw["hi"] = _clamp((a["lo"], a["hi"]), s_y, bits)
        elif op == "reshape":
            kw["shape"] = shapes[n.output]
            if len(kw["shape"]) == 1:
                op, kw = "flatten", {}
        elif op in ("flatten", "concat"):
            pass
        else:
            raise ModelError(f"{where}: cannot be quantized")
        if op in ("conv", "linear", "avgpool", "maxpool", "add"):
            kw["lo"], kw["hi"] = _clamp(a.get("act"), s_y, bits)
        layers.append(QLayer(n.name, op, tuple(n.inputs), n.output, **kw))
    tensors = [QTensor(t, shapes[t], scales[t], bits) for t in shapes]
    m = dict(g.meta)
    m.update(meta or {})
    if calibrated:
        m["calibrated_tensors"] = len(calibrated)
    if rescaled:
        m["rescaled_tensors"] = rescaled
    if clipped:
        m["clipped_biases"] = clipped
    if any(layer.residual is not None for layer in layers):
        m["preload_max_rel_error"] = preload_err
        m["preload_max"] = max(int(layer.preload.max()) for layer in layers
                               if layer.preload is not None)
    return QNet(g.name, tensors[0], tuple(tensors), tuple(layers), tuple(g.outputs),
                in_bits=bits, mult_bits=mult_bits, max_shift=max_shift,
                acc_bits=p["acc_bits"], meta=m)
