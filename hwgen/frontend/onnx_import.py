"""ONNX models (read with the ``onnx`` package) to the float graph.

Float models: Conv, Gemm, MatMul (constant weight), BatchNormalization, Relu, Clip, Add,
MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Concat,
Identity, Dropout, Constant, Transpose / Squeeze / Unsqueeze / Cast / Gather / Slice /
Concat of constants and Shape (the shape arithmetic of ``x.view(x.size(0), -1)``); a
Transpose of an activation only when it moves nothing.

QDQ models (QuantizeLinear/DequantizeLinear pairs, as onnxruntime's ``quantize_static``
writes them) are taken as they are: the scale of each activation pair becomes the
tensor's scale, the integer weights (per channel or per tensor) and int32 biases are
used directly. Activations must be signed with zero point 0 and weights symmetric;
anything else is a one-line :class:`ModelError` naming the node.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from .errors import ModelError
from .graph import INF, FGraph, FNode, node_shape

__all__ = ["onnx_graph"]

_QBITS = {"int8": 8, "int16": 16, "int4": 4}


def _load(model, src: str):
    import onnx
    if isinstance(model, onnx.ModelProto):
        return model
    try:
        return onnx.load(str(model))
    except FileNotFoundError:
        raise ModelError(f"{src}: no such file") from None
    except Exception as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"{src}: not an ONNX model ({first[:80]})") from None


def _same_pads(size, kernel, stride, dilation, mode: str) -> tuple:
    pads = []
    for H, k, s, d in zip(size, kernel, stride, dilation):
        out = -(-H // s)
        total = max(0, (out - 1) * s + d * (k - 1) + 1 - H)
        pads.append((total // 2, total - total // 2) if mode == "SAME_UPPER"
                    else (total - total // 2, total // 2))
    (t, b), (l, r) = pads
    return (t, l, b, r)


class _Importer:
    def __init__(self, model, src: str, input_shape):
        import onnx
        from onnx import numpy_helper
        self.onnx, self.nh = onnx, numpy_helper
        self.src = src
        self.model = model
        gr = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          13)
        self.consts: dict = {t.name: numpy_helper.to_array(t) for t in gr.initializer}
        self.qconsts: dict = {}     # name -> (ints, scale, zero point, axis)
        self.qact: dict = {}        # Q output -> (source tensor, scale, bits)
        self.nodes: list = []
        self.names: set = set()
        self.scales: dict = {}
        self.qbits: Optional[int] = None
        inputs = [i for i in gr.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ModelError(f"{src}: the model has {len(inputs)} inputs; hwgen takes "
                             "models with one image input")
        inp = inputs[0]
        self.input = inp.name
        dims = []
        for d in inp.type.tensor_type.shape.dim:
            dims.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None)
        if len(dims) != 4:
            raise ModelError(f"{src}: input {inp.name} has rank {len(dims)}; hwgen takes "
                             "images (N, C, H, W)")
        self.batch = dims[0]
        model_shape = tuple(dims[1:])
        shown = tuple("?" if d is None else d for d in model_shape)
        if input_shape is not None:
            input_shape = tuple(int(d) for d in input_shape)
            if len(input_shape) != 3 or any(m is not None and m != s
                                            for m, s in zip(model_shape, input_shape)):
                raise ModelError(f"{src}: input shape {input_shape} does not match the "
                                 f"model's input {shown}")
        elif None in model_shape:
            raise ModelError(f"{src}: the model's input {shown} has free sizes; give the "
                             "input shape")
        else:
            input_shape = model_shape
        self.input_shape = input_shape
        self.shapes = {self.input: input_shape}

    # ---- helpers ---------------------------------------------------------------------
    def where(self, node) -> str:
        return f"{self.src}: node {node.name or node.output[0]} ({node.op_type})"

    def fail(self, node, why: str):
        raise ModelError(f"{self.where(node)}: {why}")

    def attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const(self, name: str):
        return self.consts.get(name) if name else None

    def need_const(self, node, name: str, what: str) -> np.ndarray:
        v = self.const(name)
        if v is None:
            self.fail(node, f"{what} {name} is not a constant")
        return v

    def act_in(self, node, name: str) -> str:
        if name in self.consts:
            self.fail(node, f"input {name} is a constant where an activation is expected")
        if name in self.qact:
            self.fail(node, f"reads the quantized tensor {name} without a DequantizeLinear")
        if name not in self.shapes:
            self.fail(node, f"input {name} is not computed before it")
        return name

    def unique(self, name: str) -> str:
        base, k = name, 1
        while name in self.names:
            name = f"{base}_{k}"
            k += 1
        self.names.add(name)
        return name

    def emit(self, node, op: str, inputs: list, attrs: Optional[dict] = None,
             output: Optional[str] = None):
        name = self.unique(node.name or f"{node.op_type}_{len(self.nodes)}")
        a = dict(attrs or {})
        a["src_op"] = node.op_type
        n = FNode(name, op, list(inputs), output or node.output[0], a)
        g = FGraph(self.src, self.input, self.input_shape, [], [])
        self.shapes[n.output] = node_shape(g, n, [self.shapes[i] for i in n.inputs])
        self.nodes.append(n)
        return n

    def only_first_output(self, node, used: set):
        for extra in node.output[1:]:
            if extra and extra in used:
                self.fail(node, f"output {extra} (beyond the first) is not supported")

    # ---- the walk ----------------------------------------------------------------------
    def run(self) -> FGraph:
        gr = self.model.graph
        used = {i for n in gr.node for i in n.input} | {o.name for o in gr.output}
        for node in gr.node:
            if node.domain not in ("", "ai.onnx"):
                self.fail(node, f"operator domain {node.domain} is not supported")
            handler = getattr(self, f"op_{node.op_type}", None)
            data = [i for i in node.input if i]
            fold = getattr(self, f"fold_{node.op_type}", None)
            if fold is not None and data and all(i in self.consts for i in data):
                self.consts[node.output[0]] = fold(node)
                continue
            if handler is None:
                self.fail(node, "op type not supported")
            self.only_first_output(node, used)
            handler(node, self.attrs(node))
        outputs = [o.name for o in gr.output]
        for o in outputs:
            if o not in self.shapes:
                raise ModelError(f"{self.src}: output {o} is not computed from the input")
        return FGraph(Path(self.src).stem, self.input, self.input_shape, self.nodes, outputs,
                      scales=self.scales, qbits=self.qbits)

    # ---- constants ---------------------------------------------------------------------
    def op_Constant(self, node, at):
        if "value" in at:
            v = self.nh.to_array(at["value"])
        elif "value_float" in at or "value_int" in at:
            v = np.asarray(at.get("value_float", at.get("value_int")))
        elif "value_floats" in at or "value_ints" in at:
            v = np.asarray(at.get("value_floats", at.get("value_ints")))
        else:
            self.fail(node, "constant kind not supported")
        self.consts[node.output[0]] = v

    def fold_Transpose(self, node):
        perm = self.attrs(node).get("perm")
        return np.transpose(self.consts[node.input[0]], perm)

    def fold_Identity(self, node):
        return self.consts[node.input[0]]

    def fold_Cast(self, node):
        to = self.attrs(node)["to"]
        return self.consts[node.input[0]].astype(self.onnx.helper.tensor_dtype_to_np_dtype(to))

    def fold_Reshape(self, node):
        x, shape = self.consts[node.input[0]], self.consts[node.input[1]]
        shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)]
        return x.reshape(shape)

    def fold_Squeeze(self, node):
        x = self.consts[node.input[0]]
        axes = self.attrs(node).get("axes")
        if len(node.input) > 1 and node.input[1]:
            axes = self.consts[node.input[1]]
        return np.squeeze(x, axis=None if axes is None else tuple(int(a) for a in axes))

    def fold_Unsqueeze(self, node):
        x = self.consts[node.input[0]]
        axes = self.attrs(node).get("axes")
        if len(node.input) > 1 and node.input[1]:
            axes = self.consts[node.input[1]]
        return np.expand_dims(x, tuple(int(a) for a in axes))

    def op_Shape(self, node, at):
        """The shape of an activation as a constant; a free batch size reads 0, which a
        Reshape built from it takes as "the input's batch"."""
        x = self.act_in(node, node.input[0])
        full = np.array((self.batch or 0,) + tuple(self.shapes[x]), dtype=np.int64)
        start, end = at.get("start", 0), at.get("end", None)
        self.consts[node.output[0]] = full[start:end]

    def fold_Gather(self, node):
        axis = self.attrs(node).get("axis", 0)
        return np.take(self.consts[node.input[0]], self.consts[node.input[1]], axis=axis)

    def fold_Concat(self, node):
        return np.concatenate([np.atleast_1d(self.consts[i]) for i in node.input],
                              axis=self.attrs(node)["axis"])

    def fold_Slice(self, node):
        x = self.consts[node.input[0]]
        starts, ends = self.consts[node.input[1]], self.consts[node.input[2]]
        axes = (self.consts[node.input[3]] if len(node.input) > 3 and node.input[3]
                else range(len(starts)))
        steps = (self.consts[node.input[4]] if len(node.input) > 4 and node.input[4]
                 else [1] * len(starts))
        idx = [slice(None)] * x.ndim
        for a, b, e, st in zip(axes, starts, ends, steps):
            idx[int(a)] = slice(int(b), int(e), int(st))
        return x[tuple(idx)]

    # ---- quantize / dequantize ---------------------------------------------------------
    def _zero_point(self, node, at):
        zp = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if zp is None and len(node.input) > 2 and node.input[2]:
            self.fail(node, f"zero point {node.input[2]} is not a constant")
        if zp is None:
            to = at.get("output_dtype")
            dt = (np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(to)) if to
                  else np.dtype(np.uint8))
            zp = np.zeros((), dtype=dt)
        return zp

    def op_QuantizeLinear(self, node, at):
        x = node.input[0]
        scale = self.need_const(node, node.input[1], "scale").astype(np.float64)
        zp = self._zero_point(node, at)
        if x in self.consts:      # a float weight quantized in the graph
            axis = at.get("axis", 1)
            v = self.consts[x].astype(np.float64)
            if scale.size == 1:
                scale, zp = scale.reshape(()), zp.reshape(()) if zp.size == 1 else zp
            shp = [1] * v.ndim
            if scale.ndim:
                if not -v.ndim <= axis < v.ndim or v.shape[axis] != scale.size:
                    self.fail(node, f"scale of {scale.size} values does not fit axis {axis} "
                              f"of {x} {v.shape}")
                shp[axis] = -1
            info = np.iinfo(zp.dtype)
            q = np.rint(v / scale.reshape(shp)) + zp.astype(np.int64).reshape(
                shp if zp.ndim else ())
            self.consts[node.output[0]] = np.clip(q, info.min, info.max).astype(zp.dtype)
            return
        self.act_in(node, x)
        if scale.size != 1:
            self.fail(node, "per-channel activation scales are not supported")
        bits = self._act_bits(node, zp)
        self.qact[node.output[0]] = (x, float(scale.reshape(())), bits)

    def _act_bits(self, node, zp) -> int:
        name = zp.dtype.name
        if name.startswith("uint"):
            self.fail(node, f"{name} zero point (unsigned activations): the accelerator's "
                      "activations are signed with zero point 0")
        if name not in _QBITS:
            self.fail(node, f"{name} activations are not supported (int8 or int16)")
        if np.any(zp != 0):
            self.fail(node, f"zero point {int(zp.reshape(-1)[0])} (asymmetric activations): "
                      "the accelerator's zero point is 0")
        bits = _QBITS[name]
        if self.qbits is not None and bits != self.qbits:
            self.fail(node, f"{bits}-bit activations in a {self.qbits}-bit model")
        self.qbits = bits
        return bits

    def op_DequantizeLinear(self, node, at):
        x = node.input[0]
        scale = self.need_const(node, node.input[1], "scale").astype(np.float64)
        zp = self._zero_point(node, at)
        axis = at.get("axis", 1)
        if x in self.consts:
            q = self.consts[x]
            if not np.issubdtype(q.dtype, np.integer):
                self.fail(node, f"dequantizes {x} of type {q.dtype}")
            if scale.size == 1:
                scale = scale.reshape(())
            if zp.size == 1:
                zp = zp.reshape(())
            shp = [1] * q.ndim
            if scale.ndim:
                if not -q.ndim <= axis < q.ndim or q.shape[axis] != scale.size:
                    self.fail(node, f"scale of {scale.size} values does not fit axis {axis} "
                              f"of {x} {q.shape}")
                shp[axis] = -1
            zpv = zp.astype(np.int64).reshape(shp if zp.ndim else ())
            self.consts[node.output[0]] = (q.astype(np.int64) - zpv) * scale.reshape(shp)
            self.qconsts[node.output[0]] = (q.astype(np.int64), scale, zp, axis % max(q.ndim, 1))
            return
        if x not in self.qact:
            self.fail(node, f"dequantizes {x}, which no QuantizeLinear produced "
                      "(an integer model input is not supported)")
        src, s, bits = self.qact[x]
        if scale.size != 1 or not np.isclose(float(scale.reshape(())), s, rtol=1e-6, atol=0):
            self.fail(node, f"scale differs from its QuantizeLinear's {s:.6g}")
        self._act_bits(node, zp)
        for t in (src, node.output[0]):
            if t in self.scales and not np.isclose(self.scales[t], s, rtol=1e-6, atol=0):
                self.fail(node, f"tensor {t} is quantized twice with different scales")
            self.scales[t] = s
        self.emit(node, "identity", [src])

    def _qweight(self, node, name: str, out_axis: int, O: int, attrs: dict, key="qweight",
                 skey="wscale", transpose=False):
        if name not in self.qconsts:
            return
        q, scale, zp, axis = self.qconsts[name]
        if np.any(zp != 0):
            self.fail(node, f"{name} has a nonzero zero point (asymmetric weights)")
        if scale.size > 1 and (axis != out_axis or scale.size != O):
            self.fail(node, f"{name} is quantized along axis {axis}, not per output channel")
        attrs[key] = q.T if transpose else q
        attrs[skey] = np.broadcast_to(scale.reshape(-1) if scale.size > 1 else scale.reshape(()),
                                      (O,)).astype(np.float64)

    # ---- compute -----------------------------------------------------------------------
    def op_Conv(self, node, at):
        x = self.act_in(node, node.input[0])
        w = self.need_const(node, node.input[1], "weight").astype(np.float64)
        if w.ndim != 4:
            self.fail(node, f"{w.ndim - 2}-D convolution (only 2-D is supported)")
        b = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if len(node.input) > 2 and node.input[2] and b is None:
            self.fail(node, f"bias {node.input[2]} is not a constant")
        k = tuple(w.shape[2:])
        if tuple(at.get("kernel_shape", k)) != k:
            self.fail(node, f"kernel_shape {at['kernel_shape']} differs from the weight's {k}")
        stride = tuple(at.get("strides", (1, 1)))
        dil = tuple(at.get("dilations", (1, 1)))
        pads = self._pads(node, at, k, stride, dil, x)
        attrs = {"weight": w, "bias": None if b is None else b.astype(np.float64).reshape(-1),
                 "stride": stride, "padding": pads, "dilation": dil,
                 "groups": int(at.get("group", 1))}
        self._qweight(node, node.input[1], 0, w.shape[0], attrs)
        if b is not None:
            self._qweight(node, node.input[2], 0, w.shape[0], attrs, "qbias", "bscale")
        self.emit(node, "conv", [x], attrs)

    def _pads(self, node, at, k, stride, dil, x) -> tuple:
        mode = at.get("auto_pad", b"NOTSET")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            return _same_pads(self.shapes[x][1:], k, stride, dil, mode)
        if mode == "VALID":
            return (0, 0, 0, 0)
        if mode != "NOTSET":
            self.fail(node, f"auto_pad {mode} is not supported")
        pads = tuple(int(p) for p in at.get("pads", (0, 0, 0, 0)))
        if len(pads) != 4 or min(pads) < 0:
            self.fail(node, f"pads {pads} are not 2-D")
        return pads

    def op_Gemm(self, node, at):
        if at.get("transA", 0):
            self.fail(node, "transA=1 is not supported")
        x = self.act_in(node, node.input[0])
        w = self.need_const(node, node.input[1], "weight B").astype(np.float64)
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        tb = bool(at.get("transB", 0))
        weight = (w if tb else w.T) * alpha
        O = weight.shape[0]
        attrs = {"weight": weight, "bias": None}
        if len(node.input) > 2 and node.input[2]:
            c = self.need_const(node, node.input[2], "bias C").astype(np.float64) * beta
            if c.size not in (1, O) or (c.ndim == 2 and c.shape[0] != 1):
                self.fail(node, f"bias of shape {c.shape} is not per output")
            attrs["bias"] = np.broadcast_to(c.reshape(-1), (O,)).copy()
            if alpha == 1.0 and beta == 1.0:
                self._qweight(node, node.input[2], 0, O, attrs, "qbias", "bscale")
        if alpha == 1.0:
            self._qweight(node, node.input[1], 0 if tb else 1, O, attrs, transpose=not tb)
        self.emit(node, "linear", [x], attrs)

    def op_MatMul(self, node, at):
        x = self.act_in(node, node.input[0])
        w = self.need_const(node, node.input[1], "second operand").astype(np.float64)
        if w.ndim != 2:
            self.fail(node, f"weight of rank {w.ndim} (only a 2-D constant is supported)")
        attrs = {"weight": w.T.copy(), "bias": None}
        self._qweight(node, node.input[1], 1, w.shape[1], attrs, transpose=True)
        self.emit(node, "linear", [x], attrs)

    def op_BatchNormalization(self, node, at):
        if at.get("training_mode", 0):
            self.fail(node, "training_mode=1 is not supported (export in eval mode)")
        x = self.act_in(node, node.input[0])
        scale, b, mean, var = (self.need_const(node, node.input[i], what).astype(np.float64)
                               for i, what in ((1, "scale"), (2, "bias"), (3, "mean"),
                                               (4, "variance")))
        mul = scale / np.sqrt(var + float(at.get("epsilon", 1e-5)))
        self.emit(node, "bn", [x], {"mul": mul, "add": b - mean * mul})

    def op_Relu(self, node, at):
        self.emit(node, "act", [self.act_in(node, node.input[0])], {"lo": 0.0, "hi": INF})

    def op_Clip(self, node, at):
        x = self.act_in(node, node.input[0])
        if self.opset < 11:
            lo, hi = at.get("min", -INF), at.get("max", INF)
        else:
            def bound(i, default):
                if len(node.input) > i and node.input[i]:
                    return float(self.need_const(node, node.input[i], "bound").reshape(()))
                return default
            lo, hi = bound(1, -INF), bound(2, INF)
        self.emit(node, "act", [x], {"lo": float(lo), "hi": float(hi)})

    def op_Add(self, node, at):
        a, b = node.input[0], node.input[1]
        ca, cb = a in self.consts, b in self.consts
        if ca and cb:
            self.consts[node.output[0]] = self.consts[a] + self.consts[b]
            return
        if ca or cb:
            x, c = (b, self.consts[a]) if ca else (a, self.consts[b])
            x = self.act_in(node, x)
            C = self.shapes[x][0]
            c = np.asarray(c, dtype=np.float64)
            squeezed = c.reshape(-1) if c.size in (1, C) else None
            ok = squeezed is not None and (
                c.size == 1 or (len(self.shapes[x]) == 1 and c.shape[-1] == C)
                or (len(self.shapes[x]) == 3 and c.ndim >= 3 and c.shape[-3] == C
                    and c.shape[-2:] == (1, 1)))
            if not ok:
                self.fail(node, f"adds a constant of shape {c.shape} that is not per channel")
            self.emit(node, "bias", [x], {"value": np.broadcast_to(squeezed, (C,)).copy()})
            return
        self.emit(node, "add", [self.act_in(node, a), self.act_in(node, b)])

    def _pool(self, node, at, op: str):
        x = self.act_in(node, node.input[0])
        k = tuple(at["kernel_shape"])
        if len(k) != 2:
            self.fail(node, f"{len(k)}-D pooling (only 2-D is supported)")
        stride = tuple(at.get("strides", (1, 1)))
        dil = tuple(at.get("dilations", (1, 1)))
        if op == "avgpool" and dil != (1, 1):
            self.fail(node, "dilated average pooling is not supported")
        pads = self._pads(node, at, k, stride, dil, x)
        if at.get("ceil_mode", 0):
            H, W = self.shapes[x][1:]
            t, l, b, r = pads
            floor = [(n + p - d * (kk - 1) - 1) // s + 1
                     for n, p, kk, s, d in ((H, t + b, k[0], stride[0], dil[0]),
                                            (W, l + r, k[1], stride[1], dil[1]))]
            ceil = [-(-(n + p - d * (kk - 1) - 1) // s) + 1
                    for n, p, kk, s, d in ((H, t + b, k[0], stride[0], dil[0]),
                                           (W, l + r, k[1], stride[1], dil[1]))]
            if floor != ceil:
                self.fail(node, "ceil_mode=1 changes the output size here; not supported")
        attrs = {"kernel": k, "stride": stride, "padding": pads}
        if op == "maxpool":
            attrs["dilation"] = dil
            t, l, b, r = pads
            if max(t, b) * 2 > dil[0] * (k[0] - 1) + 1 or max(l, r) * 2 > dil[1] * (k[1] - 1) + 1:
                self.fail(node, f"pads {pads} exceed half the kernel {k}")
        elif any(pads) and not at.get("count_include_pad", 0):
            self.fail(node, "count_include_pad=0 with padding (the divisor would change at "
                      "the borders) is not supported")
        self.emit(node, op, [x], attrs)

    def op_MaxPool(self, node, at):
        self._pool(node, at, "maxpool")

    def op_AveragePool(self, node, at):
        self._pool(node, at, "avgpool")

    def op_GlobalAveragePool(self, node, at):
        self.emit(node, "gap", [self.act_in(node, node.input[0])])

    def op_GlobalMaxPool(self, node, at):
        x = self.act_in(node, node.input[0])
        if len(self.shapes[x]) != 3:
            self.fail(node, "needs a (C, H, W) input")
        self.emit(node, "maxpool", [x], {"kernel": self.shapes[x][1:], "stride": (1, 1),
                                         "padding": (0, 0, 0, 0), "dilation": (1, 1)})

    def op_Flatten(self, node, at):
        x = self.act_in(node, node.input[0])
        if at.get("axis", 1) != 1:
            self.fail(node, f"axis={at.get('axis')} (only axis 1 keeps the batch)")
        self.emit(node, "flatten", [x])

    def op_Reshape(self, node, at):
        x = self.act_in(node, node.input[0])
        shape = [int(d) for d in self.need_const(node, node.input[1], "shape").reshape(-1)]
        if not shape:
            self.fail(node, "reshape to a scalar")
        first, rest = shape[0], shape[1:]
        if first not in (0, -1) and first != (self.batch or 1):
            self.fail(node, f"shape {tuple(shape)} changes the batch size")
        if first == -1 and -1 in rest:
            self.fail(node, f"shape {tuple(shape)} has two free sizes")
        per = self.shapes[x]
        rest = [per[i] if d == 0 and i < len(per) else d for i, d in enumerate(rest)]
        self.emit(node, "reshape", [x], {"shape": tuple(rest)})

    def op_Concat(self, node, at):
        ins = [self.act_in(node, i) for i in node.input]
        rank = len(self.shapes[ins[0]]) + 1
        if at.get("axis") % rank != 1:
            self.fail(node, f"axis={at.get('axis')} (only the channel axis is supported)")
        self.emit(node, "concat", ins)

    def op_Identity(self, node, at):
        if node.input[0] in self.consts:
            self.consts[node.output[0]] = self.consts[node.input[0]]
            return
        self.emit(node, "identity", [self.act_in(node, node.input[0])])

    def op_Dropout(self, node, at):
        if len(node.input) > 2 and node.input[2]:
            t = self.const(node.input[2])
            if t is None or bool(t):
                self.fail(node, "training_mode is not a constant false")
        self.emit(node, "identity", [self.act_in(node, node.input[0])])

    def op_Transpose(self, node, at):
        x = node.input[0]
        if x in self.consts:
            self.consts[node.output[0]] = self.fold_Transpose(node)
            return
        x = self.act_in(node, x)
        perm = list(at.get("perm", []))
        rank = len(self.shapes[x]) + 1
        if perm and perm != list(range(rank)):
            shape = (1,) + tuple(self.shapes[x])
            kept = [p for p in perm if shape[p] != 1]
            if kept != sorted(kept) or perm[0] != 0:
                self.fail(node, f"perm {tuple(perm)} moves data (only a transpose that "
                          "is a no-op is supported)")
            self.emit(node, "reshape", [x],
                      {"shape": tuple(shape[p] for p in perm[1:])})
            return
        self.emit(node, "identity", [x])


def onnx_graph(model: Union[str, Path, "object"], input_shape=None) -> FGraph:
    """The float graph of an ONNX model (a path or an ``onnx.ModelProto``)."""
    src = Path(str(model)).name if isinstance(model, (str, Path)) else "model.onnx"
    m = _load(model, src)
    if not isinstance(model, (str, Path)) and m.graph.name:
        src = m.graph.name
    imp = _Importer(m, src, input_shape)
    g = imp.run()
    g.meta.update(source=src, format="onnx-qdq" if imp.qbits else "onnx",
                  opset=int(imp.opset))
    return g
