"""torch.export programs (``.pt2`` archives of ``torch.export.save``, or an
``ExportedProgram``) to the float graph.

The walk reads the ATen graph as export leaves it (``conv2d``, ``linear``,
``batch_norm``, ``relu_``, ...) and as ``run_decompositions`` leaves it
(``convolution``, ``addmm`` with a permuted weight, ``_native_batch_norm_legit_no_training``,
``max_pool2d_with_indices``, ``mean.dim``, ``view``). Parameters, buffers and constants
become the nodes' weights; layers are named after the module that ran them
(``layer1.0.conv1``).
"""
from __future__ import annotations

import operator
import warnings
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .errors import ModelError
from .graph import INF, FGraph, FNode, node_shape

__all__ = ["torch_graph", "load_exported"]

#: Ops that pass their (first) input through at inference.
_PASS = {"clone", "contiguous", "detach", "detach_", "alias", "lift_fresh_copy",
         "dropout", "dropout_", "feature_dropout", "alpha_dropout", "identity"}
#: Ops that only assert things and produce nothing the graph reads.
_SKIP = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size",
         "_assert_async", "sym_constrain_range"}


def load_exported(path: Union[str, Path]):
    import torch
    src = Path(path).name
    if not Path(path).is_file():
        raise ModelError(f"{src}: no such file")
    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates an isinstance check its own unpickling still makes
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            return torch.export.load(str(path))
    except Exception as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"{src}: not a torch.export archive ({first[:80]})") from None


def _args(n) -> dict:
    """The node's arguments by schema name, defaults filled in."""
    out = {}
    schema = n.target._schema
    for i, arg in enumerate(schema.arguments):
        if i < len(n.args):
            out[arg.name] = n.args[i]
        elif arg.name in n.kwargs:
            out[arg.name] = n.kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
    return out


def _pair(v, n: int = 2) -> tuple:
    if isinstance(v, (int, float)):
        return (int(v),) * n
    v = tuple(int(e) for e in v)
    return v * n if len(v) == 1 else v


def _module_names(ep) -> dict:
    """fx node name -> the path of the innermost module that ran it (unique)."""
    path = {}
    for n in ep.graph.nodes:
        if n.op != "call_function":
            continue
        stack = n.meta.get("nn_module_stack")
        p = list(stack.values())[-1][0] if stack else ""
        if p.startswith("L['self']"):
            p = p[len("L['self']"):].lstrip(".")
        path[n.name] = p
    count: dict = {}
    for p in path.values():
        count[p] = count.get(p, 0) + 1
    return {k: (p if p and count[p] == 1 else (f"{p}.{k}" if p else k))
            for k, p in path.items()}


class _Walker:
    def __init__(self, ep, src: str, input_shape):
        self.ep, self.src = ep, src
        sig = ep.graph_signature
        state = ep.state_dict
        consts = getattr(ep, "constants", {}) or {}
        self.consts: dict = {}
        self.alias: dict = {}         # fx name -> tensor name (or tuple of names)
        self.shapes: dict = {}
        self.nodes: list = []
        self.names = _module_names(ep)
        self.used_names: set = set()
        params = dict(sig.inputs_to_parameters)
        buffers = dict(sig.inputs_to_buffers)
        lifted = dict(getattr(sig, "inputs_to_lifted_tensor_constants", {}) or {})
        user = list(sig.user_inputs)
        if len(user) != 1:
            raise ModelError(f"{src}: the program has {len(user)} inputs; hwgen takes "
                             "programs with one image input")
        self.input = None
        for n in ep.graph.nodes:
            if n.op != "placeholder":
                continue
            if n.name in params or n.name in buffers or n.name in lifted:
                key = params.get(n.name) or buffers.get(n.name) or lifted.get(n.name)
                t = state[key] if key in state else consts[key]
                self.consts[n.name] = t.detach().to("cpu").double().numpy()
            elif n.name == user[0]:
                self.input = n.name
                val = n.meta.get("val")
                shape = tuple(int(d) for d in val.shape)
                if len(shape) != 4:
                    raise ModelError(f"{src}: input {n.name} has rank {len(shape)}; hwgen "
                                     "takes images (N, C, H, W)")
                self.batch = shape[0]
                model_shape = shape[1:]
                if input_shape is not None and tuple(int(d) for d in input_shape) != model_shape:
                    raise ModelError(f"{src}: input shape {tuple(input_shape)} does not match "
                                     f"the model's input {model_shape}")
                self.input_shape = model_shape
                self.shapes[n.name] = model_shape
                self.alias[n.name] = n.name
            else:
                raise ModelError(f"{src}: input {n.name} is neither a parameter nor the image")

    def fail(self, n, why: str):
        key = str(n.target).replace("aten.", "", 1) if n.op == "call_function" else n.op
        raise ModelError(f"{self.src}: node {self.names.get(n.name, n.name)} ({key}): {why}")

    def act(self, n, v) -> str:
        import torch.fx
        if not isinstance(v, torch.fx.Node) or v.name in self.consts:
            self.fail(n, "an input that should be an activation is a constant")
        t = self.alias.get(v.name)
        if t is None or isinstance(t, tuple):
            self.fail(n, f"input {v.name} is not a tensor the graph computes")
        return t

    def const(self, n, v, what: str) -> np.ndarray:
        import torch.fx
        if isinstance(v, torch.fx.Node) and v.name in self.consts:
            return self.consts[v.name]
        self.fail(n, f"the {what} is not a constant")

    def maybe_const(self, v) -> Optional[np.ndarray]:
        import torch.fx
        if v is None:
            return None
        if isinstance(v, torch.fx.Node):
            return self.consts.get(v.name)
        return np.asarray(v, dtype=np.float64)

    def emit(self, n, op: str, inputs: list, attrs: Optional[dict] = None) -> str:
        name = self.names.get(n.name, n.name)
        base, k = name, 1
        while name in self.used_names:
            name = f"{base}_{k}"
            k += 1
        self.used_names.add(name)
        a = dict(attrs or {})
        a["src_op"] = str(n.target).replace("aten.", "", 1)
        node = FNode(name, op, list(inputs), name, a)
        g = FGraph(self.src, self.input, self.input_shape, [], [])
        self.shapes[name] = node_shape(g, node, [self.shapes[i] for i in inputs])
        self.nodes.append(node)
        self.alias[n.name] = name
        return name

    # ---- the walk ----------------------------------------------------------------------
    def run(self) -> FGraph:
        outputs = None
        for n in self.ep.graph.nodes:
            if n.op == "placeholder":
                continue
            if n.op == "output":
                outs = n.args[0]
                outs = outs if isinstance(outs, (list, tuple)) else [outs]
                outputs = [self.act(n, o) for o in outs]
                continue
            if n.op != "call_function":
                self.fail(n, f"{n.op} nodes are not supported")
            if n.target is operator.getitem:
                src, idx = n.args
                t = self.alias.get(src.name)
                if isinstance(t, tuple):
                    if t[idx] is None:
                        self.fail(n, f"output {idx} of {src.name} is not supported")
                    self.alias[n.name] = t[idx]
                    continue
                self.fail(n, "indexing is supported only on multi-output ops")
            key = getattr(getattr(n.target, "_overloadpacket", None), "__name__", None)
            if key is None:
                self.fail(n, "not an ATen op")
            if key in _SKIP:
                continue
            handler = getattr(self, f"op_{key}", None)
            if key in _PASS:
                handler = self.op_pass
            if handler is None:
                self.fail(n, "op not supported")
            handler(n, _args(n))
        return FGraph(Path(self.src).stem, self.input, self.input_shape, self.nodes,
                      outputs)

    # ---- handlers ------------------------------------------------------------------------
    def op_pass(self, n, a):
        first = next(iter(a.values()))
        if a.get("train"):
            self.fail(n, "dropout in training mode (export the model in eval mode)")
        if first is not None and getattr(first, "name", None) in self.consts:
            self.consts[n.name] = self.consts[first.name]
            return
        self.alias[n.name] = self.act(n, first)

    def _conv(self, n, a, padding):
        x = self.act(n, a["input"])
        w = self.const(n, a["weight"], "weight")
        if w.ndim != 4:
            self.fail(n, f"{w.ndim - 2}-D convolution (only 2-D is supported)")
        b = self.maybe_const(a.get("bias"))
        if a.get("bias") is not None and b is None:
            self.fail(n, "the bias is not a constant")
        stride, dil = _pair(a["stride"]), _pair(a["dilation"])
        if isinstance(padding, str):
            if padding == "valid":
                pads = (0, 0, 0, 0)
            else:
                tot = [d * (k - 1) for d, k in zip(dil, w.shape[2:])]
                pads = (tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
        else:
            ph, pw = _pair(padding)
            pads = (ph, pw, ph, pw)
        self.emit(n, "conv", [x], {"weight": w, "bias": b, "stride": stride, "padding": pads,
                                   "dilation": dil, "groups": int(a["groups"])})

    def op_conv2d(self, n, a):
        self._conv(n, a, a["padding"])

    def op_convolution(self, n, a):
        if a["transposed"]:
            self.fail(n, "transposed convolution is not supported")
        self._conv(n, a, a["padding"])

    def op_linear(self, n, a):
        x = self.act(n, a["input"])
        w = self.const(n, a["weight"], "weight")
        b = self.maybe_const(a.get("bias"))
        self.emit(n, "linear", [x], {"weight": w, "bias": b})

    def op_addmm(self, n, a):
        x = self.act(n, a["mat1"])
        wt = self.const(n, a["mat2"], "weight")
        bias = self.const(n, a["self"], "bias")
        w = wt.T * float(a["alpha"])
        O = w.shape[0]
        if bias.size not in (1, O):
            self.fail(n, f"bias of shape {bias.shape} is not per output")
        self.emit(n, "linear", [x], {"weight": w, "bias": np.broadcast_to(
            bias.reshape(-1) * float(a["beta"]), (O,)).copy()})

    def op_mm(self, n, a):
        x = self.act(n, a["self"])
        wt = self.const(n, a["mat2"], "weight")
        self.emit(n, "linear", [x], {"weight": wt.T.copy(), "bias": None})

    def _const_op(self, n, a, f):
        v = a.get("self", a.get("input"))
        c = self.maybe_const(v)
        if c is None or not hasattr(v, "name"):
            return False
        self.consts[n.name] = f(c)
        return True

    def op_t(self, n, a):
        if not self._const_op(n, a, lambda c: c.T):
            self.fail(n, "transposing an activation is not supported")

    op_numpy_T = op_t

    def op_permute(self, n, a):
        if not self._const_op(n, a, lambda c: np.transpose(c, a["dims"])):
            self.fail(n, "permuting an activation is not supported")

    def op_transpose(self, n, a):
        if not self._const_op(n, a, lambda c: np.swapaxes(c, a["dim0"], a["dim1"])):
            self.fail(n, "transposing an activation is not supported")

    def _bn(self, n, a, tuple_out: bool):
        x = self.act(n, a["input"])
        C = self.shapes[x][0]
        w = self.maybe_const(a.get("weight"))
        b = self.maybe_const(a.get("bias"))
        mean = self.const(n, a["running_mean"], "running mean")
        var = self.const(n, a["running_var"], "running variance")
        w = np.ones(C) if w is None else w
        b = np.zeros(C) if b is None else b
        mul = w / np.sqrt(var + float(a["eps"]))
        name = self.emit(n, "bn", [x], {"mul": mul, "add": b - mean * mul})
        if tuple_out:
            self.alias[n.name] = (name, None, None)

    def op_batch_norm(self, n, a):
        if a["training"]:
            self.fail(n, "BatchNorm in training mode (export the model in eval mode)")
        self._bn(n, a, False)

    def op__native_batch_norm_legit_no_training(self, n, a):
        self._bn(n, a, True)

    def op_native_batch_norm(self, n, a):
        if a["training"]:
            self.fail(n, "BatchNorm in training mode (export the model in eval mode)")
        self._bn(n, a, True)

    def _act(self, n, x, lo, hi):
        lo = -INF if lo is None else float(lo)
        hi = INF if hi is None else float(hi)
        self.emit(n, "act", [self.act(n, x)], {"lo": lo, "hi": hi})

    def op_relu(self, n, a):
        self._act(n, a["self"], 0.0, None)

    op_relu_ = op_relu

    def op_relu6(self, n, a):
        self._act(n, a["self"], 0.0, 6.0)

    def op_hardtanh(self, n, a):
        self._act(n, a["self"], a["min_val"], a["max_val"])

    op_hardtanh_ = op_hardtanh

    def op_clamp(self, n, a):
        for k in ("min", "max"):
            if a.get(k) is not None and not isinstance(a[k], (int, float)):
                self.fail(n, f"clamp with a tensor {k} is not supported")
        self._act(n, a["self"], a.get("min"), a.get("max"))

    op_clamp_ = op_clamp

    def op_clamp_min(self, n, a):
        self._act(n, a["self"], a["min"], None)

    def op_add(self, n, a):
        if float(a.get("alpha", 1)) != 1.0:
            self.fail(n, f"alpha={a['alpha']} is not supported")
        s, o = a["self"], a["other"]
        cs, co = self.maybe_const(s), self.maybe_const(o)
        if cs is not None and co is not None:
            self.consts[n.name] = cs + co
            return
        if cs is not None or co is not None:
            x, c = (o, cs) if cs is not None else (s, co)
            x = self.act(n, x)
            C = self.shapes[x][0]
            if c.size not in (1, C) or (c.size == C and C > 1 and len(self.shapes[x]) == 3
                                        and c.shape[-2:] != (1, 1)):
                self.fail(n, f"adds a constant of shape {c.shape} that is not per channel")
            self.emit(n, "bias", [x], {"value": np.broadcast_to(c.reshape(-1), (C,)).copy()})
            return
        self.emit(n, "add", [self.act(n, s), self.act(n, o)])

    op_add_ = op_add

    def _maxpool(self, n, a, tuple_out):
        x = self.act(n, a["self"])
        k = _pair(a["kernel_size"])
        stride = _pair(a["stride"]) if a["stride"] else k
        ph, pw = _pair(a["padding"])
        dil = _pair(a["dilation"])
        self._ceil(n, a, x, k, stride, (ph, pw), dil)
        name = self.emit(n, "maxpool", [x], {"kernel": k, "stride": stride,
                                             "padding": (ph, pw, ph, pw), "dilation": dil})
        if tuple_out:
            self.alias[n.name] = (name, None)

    def _ceil(self, n, a, x, k, stride, pad, dil):
        if not a.get("ceil_mode"):
            return
        for size, kk, s, p, d in zip(self.shapes[x][1:], k, stride, pad, dil):
            span = size + 2 * p - d * (kk - 1) - 1
            if span % s:
                self.fail(n, "ceil_mode=True changes the output size here; not supported")

    def op_max_pool2d(self, n, a):
        self._maxpool(n, a, False)

    def op_max_pool2d_with_indices(self, n, a):
        self._maxpool(n, a, True)

    def op_avg_pool2d(self, n, a):
        x = self.act(n, a["self"])
        k = _pair(a["kernel_size"])
        stride = _pair(a["stride"]) if a["stride"] else k
        ph, pw = _pair(a["padding"])
        if a.get("divisor_override") is not None:
            self.fail(n, "divisor_override is not supported")
        if (ph or pw) and not a["count_include_pad"]:
            self.fail(n, "count_include_pad=False with padding is not supported")
        self._ceil(n, a, x, k, stride, (ph, pw), (1, 1))
        self.emit(n, "avgpool", [x], {"kernel": k, "stride": stride,
                                      "padding": (ph, pw, ph, pw)})

    def op_adaptive_avg_pool2d(self, n, a):
        x = self.act(n, a["self"])
        C, H, W = self.shapes[x]
        oh, ow = _pair(a["output_size"])
        if (oh, ow) == (1, 1):
            self.emit(n, "gap", [x])
        elif H % oh == 0 and W % ow == 0:
            k = (H // oh, W // ow)
            self.emit(n, "avgpool", [x], {"kernel": k, "stride": k, "padding": (0, 0, 0, 0)})
        else:
            self.fail(n, f"output size {(oh, ow)} does not divide the input {(H, W)}")

    op__adaptive_avg_pool2d = op_adaptive_avg_pool2d

    def op_mean(self, n, a):
        x = self.act(n, a["self"])
        rank = len(self.shapes[x]) + 1
        dims = sorted(int(d) % rank for d in (a.get("dim") or ()))
        if dims != [2, 3]:
            self.fail(n, f"mean over dims {a.get('dim')} (only the spatial dims are supported)")
        pool = self.emit(n, "gap", [x])
        if not a.get("keepdim"):
            flat = pool + ".flatten"
            self.used_names.add(flat)
            self.nodes.append(FNode(flat, "flatten", [pool], flat, {"src_op": "mean.dim"}))
            self.shapes[flat] = (self.shapes[pool][0],)
            self.alias[n.name] = flat

    def op_flatten(self, n, a):
        x = self.act(n, a["self"])
        rank = len(self.shapes[x]) + 1
        if int(a["start_dim"]) % rank != 1 or int(a["end_dim"]) % rank != rank - 1:
            self.fail(n, f"flatten({a['start_dim']}, {a['end_dim']}) (only from dim 1 to the "
                      "end is supported)")
        self.emit(n, "flatten", [x])

    def op_view(self, n, a):
        src = a["self"]
        shape = [int(d) for d in a.get("size", a.get("shape"))]
        if getattr(src, "name", None) in self.consts:
            self.consts[n.name] = self.consts[src.name].reshape(shape)
            return
        x = self.act(n, src)
        if shape[0] not in (-1, self.batch):
            self.fail(n, f"shape {tuple(shape)} changes the batch size")
        rest = shape[1:]
        if shape[0] == -1:
            if -1 in rest:
                self.fail(n, f"shape {tuple(shape)} has two free sizes")
            total = int(np.prod(self.shapes[x]))
            if int(np.prod(rest)) != total:
                self.fail(n, f"shape {tuple(shape)} changes the batch size")
        self.emit(n, "reshape", [x], {"shape": tuple(rest)})

    op_reshape = op_view
    op__unsafe_view = op_view

    def op_cat(self, n, a):
        ins = [self.act(n, t) for t in a["tensors"]]
        rank = len(self.shapes[ins[0]]) + 1
        if int(a["dim"]) % rank != 1:
            self.fail(n, f"dim={a['dim']} (only the channel dim is supported)")
        self.emit(n, "concat", ins)


def torch_graph(program, input_shape=None, name: Optional[str] = None) -> FGraph:
    """The float graph of an ``ExportedProgram`` or of a ``.pt2`` file."""
    if isinstance(program, (str, Path)):
        src = Path(program).name
        program = load_exported(program)
    else:
        src = name or "program.pt2"
    g = _Walker(program, src, input_shape).run()
    if name:
        g.name = name
    g.meta.update(source=src, format="torch.export")
    return g

