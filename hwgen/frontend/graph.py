"""The float graph every importer produces, its clean-up and fusion passes, and a float
executor (torch, CPU) for calibration and for checking an import against its source.

A graph holds one image input ``(C, H, W)`` and nodes in any order (the passes sort
them). Node ops and their ``attrs`` (weights as float64 numpy arrays):

    conv      weight (O, C/groups, kh, kw), bias (O,) or None, stride, padding
              (t, l, b, r), dilation, groups; optional qweight (int) + wscale (O,) when
              the model brings its own integer weights (QDQ)
    linear    weight (O, I), bias, optional qweight/wscale
    bn        mul (C,), add (C,): y = x * mul + add per channel (inference BatchNorm)
    bias      value (C,): y = x + value per channel (an Add with a constant)
    act       lo, hi (floats, +-inf for none): ReLU (0, inf), ReLU6 (0, 6), Clip
    add       two inputs
    maxpool   kernel, stride, padding, dilation
    avgpool   kernel, stride, padding (zero padding counted in the divisor)
    gap       global average pool (becomes an avgpool once shapes are known)
    flatten   (C, H, W) -> (C*H*W,)
    reshape   shape (per image)
    concat    channel axis
    identity  (Identity, Dropout at inference, a Q/DQ pair)

After :func:`prepare`, conv/linear/pool/add nodes may carry ``act`` = (lo, hi) and
conv/linear ``residual`` (the other input of a fused Add).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ..models.network import conv_out_hw
from .errors import ModelError

INF = math.inf


@dataclass
class FNode:
    name: str
    op: str
    inputs: list
    output: str
    attrs: dict = field(default_factory=dict)


@dataclass
class FGraph:
    name: str
    input: str
    input_shape: tuple
    nodes: list
    outputs: list
    #: activation scales the model fixes (QDQ); others are calibrated
    scales: dict = field(default_factory=dict)
    #: integer width of the fixed scales (QDQ: the zero point's type)
    qbits: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What messages name: the model's file (or built-in name), else the graph's."""
        return self.meta.get("source") or self.name

    def producer(self, tensor: str):
        for n in self.nodes:
            if n.output == tensor:
                return n
        return None

    def uses(self) -> dict:
        """Number of reads of each tensor (graph outputs count as one)."""
        u: dict = {}
        for n in self.nodes:
            for i in n.inputs:
                u[i] = u.get(i, 0) + 1
        for o in self.outputs:
            u[o] = u.get(o, 0) + 1
        return u


def _where(g: FGraph, n: FNode) -> str:
    return f"{g.label}: node {n.name} ({n.attrs.get('src_op', n.op)})"


# ---- shapes --------------------------------------------------------------------------

def node_shape(g: FGraph, n: FNode, shapes: list) -> tuple:
    s0 = shapes[0]
    op = n.op
    a = n.attrs
    if op in ("conv", "maxpool", "avgpool", "gap", "bn") and len(s0) != 3:
        if op == "bn" and len(s0) == 1:
            return s0
        raise ModelError(f"{_where(g, n)}: needs a (C, H, W) input, got {s0}")
    if op == "conv":
        O, Cg, kh, kw = a["weight"].shape
        if Cg * a["groups"] != s0[0]:
            raise ModelError(f"{_where(g, n)}: weight takes {Cg * a['groups']} input "
                             f"channels, input has {s0[0]}")
        out = (O,) + conv_out_hw(s0[1:], (kh, kw), a["stride"], a["padding"], a["dilation"])
    elif op in ("maxpool", "avgpool"):
        out = (s0[0],) + conv_out_hw(s0[1:], a["kernel"], a["stride"], a["padding"],
                                     a.get("dilation", (1, 1)))
    elif op == "gap":
        out = (s0[0], 1, 1)
    elif op == "linear":
        if len(s0) != 1 or s0[0] != a["weight"].shape[1]:
            raise ModelError(f"{_where(g, n)}: weight takes ({a['weight'].shape[1]},) "
                             f"features, input is {s0}")
        out = (a["weight"].shape[0],)
    elif op in ("bn", "bias"):
        key = "mul" if op == "bn" else "value"
        if a[key].shape[0] != s0[0]:
            raise ModelError(f"{_where(g, n)}: {a[key].shape[0]} channels, input has {s0[0]}")
        out = s0
    elif op in ("act", "identity"):
        out = s0
    elif op == "add":
        if shapes[1] != s0:
            raise ModelError(f"{_where(g, n)}: input shapes differ: {s0} and {shapes[1]} "
                             "(broadcasting is not supported)")
        out = s0
    elif op == "flatten":
        out = (int(np.prod(s0)),)
    elif op == "reshape":
        shp = list(a["shape"])
        total = int(np.prod(s0))
        if shp.count(-1) == 1:
            rest = int(np.prod([d for d in shp if d != -1]))
            shp[shp.index(-1)] = total // rest if rest and total % rest == 0 else -1
        if -1 in shp or int(np.prod(shp)) != total or len(shp) not in (1, 3):
            raise ModelError(f"{_where(g, n)}: cannot reshape {s0} to {tuple(a['shape'])}")
        out = tuple(shp)
    elif op == "concat":
        if any(len(s) != len(s0) or s[1:] != s0[1:] for s in shapes):
            raise ModelError(f"{_where(g, n)}: inputs differ beyond the channel axis: "
                             f"{shapes}")
        out = (sum(s[0] for s in shapes),) + tuple(s0[1:])
    else:
        raise ModelError(f"{_where(g, n)}: unknown op")
    if n.attrs.get("residual") is not None and shapes[1] != out:
        raise ModelError(f"{_where(g, n)}: residual shape {shapes[1]} != output {out}")
    if any(d < 1 for d in out):
        raise ModelError(f"{_where(g, n)}: output shape {out} is empty for the input {s0}")
    return out


def infer_shapes(g: FGraph) -> dict:
    shapes = {g.input: tuple(g.input_shape)}
    for n in toposort(g):
        shapes[n.output] = node_shape(g, n, [shapes[i] for i in n.inputs])
    return shapes


def toposort(g: FGraph) -> list:
    """Nodes in dependency order (stable), without nodes no output needs."""
    by_out = {}
    for n in g.nodes:
        if n.output in by_out:
            raise ModelError(f"{g.label}: tensor {n.output} is computed twice")
        by_out[n.output] = n
    order, state = [], {}
    for root in g.outputs:
        stack = [(root, False)]
        while stack:
            t, done = stack.pop()
            if t == g.input:
                continue
            n = by_out.get(t)
            if n is None:
                raise ModelError(f"{g.label}: tensor {t} is never computed")
            if done:
                if state.get(n.name) != 2:
                    state[n.name] = 2
                    order.append(n)
                continue
            st = state.get(n.name)
            if st == 2:
                continue
            if st == 1:
                raise ModelError(f"{g.label}: the graph has a cycle through {n.name}")
            state[n.name] = 1
            stack.append((t, True))
            for i in reversed(n.inputs):
                stack.append((i, False))
    return order


# ---- passes --------------------------------------------------------------------------

def _rename_input(g: FGraph, old: str, new: str):
    for n in g.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
        if n.attrs.get("residual") == old:
            n.attrs["residual"] = new
    g.outputs = [new if o == old else o for o in g.outputs]


def _merge_scale(g: FGraph, keep: str, drop: str, why: str):
    if drop in g.scales:
        s = g.scales.pop(drop)
        if keep in g.scales and not math.isclose(g.scales[keep], s, rel_tol=1e-6):
            raise ModelError(f"{g.label}: tensor {keep} has two scales, {g.scales[keep]:.6g} "
                             f"and {s:.6g} ({why})")
        g.scales.setdefault(keep, s)


def drop_identities(g: FGraph):
    """Remove identities; the tensor keeps its name before the identity, except where
    the identity's output is a graph output (the model's output names stay)."""
    for n in [n for n in g.nodes if n.op == "identity"]:
        src, dst = n.inputs[0], n.output
        g.nodes.remove(n)
        prod = g.producer(src)
        if dst in g.outputs and prod is not None and g.uses().get(src, 0) == 0:
            prod.output = dst
            _merge_scale(g, dst, src, "an identity")
        else:
            _merge_scale(g, src, dst, "an identity")
            _rename_input(g, dst, src)


def _single_use(g: FGraph, t: str) -> bool:
    return g.uses().get(t, 0) == 1 and t != g.input


def _fuse_into(g: FGraph, prod: FNode, n: FNode):
    """Let ``prod`` compute ``n``'s output (``n`` is removed)."""
    g.scales.pop(prod.output, None)
    prod.output = n.output
    g.nodes.remove(n)


def fold_batchnorm(g: FGraph):
    for n in [n for n in g.nodes if n.op == "bn"]:
        prod = g.producer(n.inputs[0])
        mul, add = n.attrs["mul"], n.attrs["add"]
        if prod is not None and prod.op in ("conv", "linear") and _single_use(g, prod.output) \
                and "act" not in prod.attrs and prod.attrs.get("residual") is None:
            if "qweight" in prod.attrs:
                raise ModelError(f"{_where(g, n)}: cannot fold into {prod.name}, whose "
                                 "weights the model already quantized")
            w = prod.attrs["weight"]
            prod.attrs["weight"] = w * mul.reshape((-1,) + (1,) * (w.ndim - 1))
            b = prod.attrs.get("bias")
            prod.attrs["bias"] = (np.zeros(w.shape[0]) if b is None else b) * mul + add
            _fuse_into(g, prod, n)
        else:
            # a BatchNorm on its own: a depthwise 1x1 conv
            C = mul.shape[0]
            n.op = "conv"
            n.attrs = {"weight": mul.reshape(C, 1, 1, 1).copy(), "bias": add.copy(),
                       "stride": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1),
                       "groups": C, "src_op": n.attrs.get("src_op", "BatchNormalization")}


def fold_bias(g: FGraph):
    for n in [n for n in g.nodes if n.op == "bias"]:
        prod = g.producer(n.inputs[0])
        if prod is None or prod.op not in ("conv", "linear") or not _single_use(
                g, prod.output) or "act" in prod.attrs or prod.attrs.get("residual"):
            raise ModelError(f"{_where(g, n)}: adding a constant is supported only right "
                             "after a Conv, Gemm or MatMul")
        # the weights stay as they are; the bias is quantized again with the sum
        prod.attrs.pop("qbias", None)
        prod.attrs.pop("bscale", None)
        b = prod.attrs.get("bias")
        prod.attrs["bias"] = (np.zeros(prod.attrs["weight"].shape[0]) if b is None else b) \
            + n.attrs["value"]
        _fuse_into(g, prod, n)


def fuse_residuals(g: FGraph, shapes: dict):
    """Add(conv(x), r) -> conv(x) with ``r`` preloaded into its accumulators."""
    for n in [n for n in g.nodes if n.op == "add"]:
        for k in (0, 1):
            t, other = n.inputs[k], n.inputs[1 - k]
            prod = g.producer(t)
            if (prod is not None and prod.op in ("conv", "linear") and t != other
                    and _single_use(g, t) and "act" not in prod.attrs
                    and prod.attrs.get("residual") is None and shapes[t] == shapes[other]):
                prod.inputs = [prod.inputs[0], other]
                prod.attrs["residual"] = other
                prod.attrs["src_op"] = prod.attrs.get("src_op", prod.op) + "+Add"
                _fuse_into(g, prod, n)
                break


def fuse_activations(g: FGraph):
    for n in [n for n in g.nodes if n.op == "act"]:
        prod = g.producer(n.inputs[0])
        if prod is not None and prod.op in ("conv", "linear", "maxpool", "avgpool", "add") \
                and _single_use(g, prod.output):
            lo, hi = n.attrs["lo"], n.attrs["hi"]
            if "act" in prod.attrs:
                plo, phi = prod.attrs["act"]
                lo, hi = max(lo, plo), min(hi, phi)
                if lo > hi:
                    continue
            prod.attrs["act"] = (lo, hi)
            _fuse_into(g, prod, n)


def prepare(g: FGraph) -> FGraph:
    """A copy with identities dropped, BatchNorm and constant adds folded, global
    pools sized, residual adds fused into the conv that feeds them and activations into
    their producer; nodes sorted."""
    g = copy.deepcopy(g)
    drop_identities(g)
    g.nodes = toposort(g)
    shapes = infer_shapes(g)
    for n in g.nodes:
        if n.op == "gap":
            C, H, W = shapes[n.inputs[0]]
            n.op = "avgpool"
            n.attrs.update(kernel=(H, W), stride=(1, 1), padding=(0, 0, 0, 0))
    fold_batchnorm(g)
    fold_bias(g)
    g.nodes = toposort(g)
    shapes = infer_shapes(g)
    fuse_residuals(g, shapes)
    fuse_activations(g)
    g.nodes = toposort(g)
    infer_shapes(g)
    return g


# ---- float execution -------------------------------------------------------------------

class torch_threads:
    """Run torch on ``n`` CPU threads inside the block (one by default: beside other busy
    processes a threaded run is many times slower, and one thread gives the same float
    results on every run)."""

    def __init__(self, n: int = 1):
        self.n, self.old = n, None

    def __enter__(self):
        import torch
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        import torch
        torch.set_num_threads(self.old)


def _torch_node(n: FNode, xs: list):
    import torch
    import torch.nn.functional as F
    a, op = n.attrs, n.op
    if op == "conv":
        t, l, b, r = a["padding"]
        x = xs[0]
        if (t, l) != (b, r):
            x = F.pad(x, (l, r, t, b))
            pad = 0
        else:
            pad = (t, l)
        y = F.conv2d(x, _tensor(a, "weight", x), _tensor(a, "bias", x), a["stride"], pad,
                     a["dilation"], a["groups"])
    elif op == "linear":
        y = F.linear(xs[0], _tensor(a, "weight", xs[0]), _tensor(a, "bias", xs[0]))
    elif op == "bn":
        shp = (1, -1) + (1,) * (xs[0].dim() - 2)
        y = xs[0] * _tensor(a, "mul", xs[0]).reshape(shp) + _tensor(a, "add", xs[0]).reshape(
            shp)
    elif op == "bias":
        shp = (1, -1) + (1,) * (xs[0].dim() - 2)
        y = xs[0] + _tensor(a, "value", xs[0]).reshape(shp)
    elif op == "act":
        y = xs[0].clamp(min=None if a["lo"] == -INF else a["lo"],
                        max=None if a["hi"] == INF else a["hi"])
    elif op == "add":
        y = xs[0] + xs[1]
    elif op in ("maxpool", "avgpool"):
        t, l, b, r = a["padding"]
        x = xs[0]
        fill = -INF if op == "maxpool" else 0.0
        x = F.pad(x, (l, r, t, b), value=fill) if any(a["padding"]) else x
        if op == "maxpool":
            y = F.max_pool2d(x, a["kernel"], a["stride"], 0, a.get("dilation", (1, 1)))
        else:
            y = F.avg_pool2d(x, a["kernel"], a["stride"], 0)
    elif op == "gap":
        y = xs[0].mean(dim=(2, 3), keepdim=True)
    elif op == "flatten":
        y = xs[0].flatten(1)
    elif op == "reshape":
        y = xs[0].reshape((xs[0].shape[0],) + tuple(a["shape"]))
    elif op == "concat":
        y = torch.cat(xs, dim=1)
    elif op == "identity":
        y = xs[0]
    else:
        raise ModelError(f"node {n.name}: unknown op {op}")
    if a.get("residual") is not None:
        y = y + xs[1]
    if "act" in a:
        lo, hi = a["act"]
        y = y.clamp(min=None if lo == -INF else lo, max=None if hi == INF else hi)
    return y


def _tensor(a: dict, key: str, like):
    import torch
    v = a.get(key)
    return None if v is None else torch.as_tensor(np.asarray(v), dtype=like.dtype)


def run_float(g: FGraph, x, keep=None, dtype: str = "float32") -> dict:
    """The float graph on images ``x`` ``(N, C, H, W)``: every tensor (or those in
    ``keep``) as numpy arrays."""
    import torch
    nodes = toposort(g)
    with torch.no_grad(), torch_threads():
        env = {g.input: torch.as_tensor(np.asarray(x), dtype=getattr(torch, dtype))}
        for n in nodes:
            env[n.output] = _torch_node(n, [env[i] for i in n.inputs])
    return {k: v.numpy() for k, v in env.items() if keep is None or k in keep}


def ranges(g: FGraph, x, batch: int | None = None) -> dict:
    """Largest |value| of every tensor over the images ``x`` (run in batches of about
    a million input values)."""
    import torch
    nodes = toposort(g)
    amax: dict = {}
    x = np.asarray(x, dtype=np.float32)
    if batch is None:
        batch = int(min(1024, max(1, (1 << 20) // max(1, int(np.prod(x.shape[1:]))))))
    with torch.no_grad(), torch_threads():
        for i in range(0, x.shape[0], batch):
            env = {g.input: torch.as_tensor(x[i:i + batch])}
            for n in nodes:
                env[n.output] = _torch_node(n, [env[t] for t in n.inputs])
            for k, v in env.items():
                m = float(v.abs().max()) if v.numel() else 0.0
                amax[k] = max(amax.get(k, 0.0), m)
    return amax
