"""Whole networks in: ONNX (float or QDQ), torch.export archives and built-in models,
through one float graph and post-training quantization, to the quantized IR
(:class:`hwgen.models.network.QNet`) whose integer reference the hardware must match.

Software layer (rank 6, "sw"): imports :mod:`hwgen.lib`, :mod:`hwgen.config`,
:mod:`hwgen.models`, torch and onnx; never the hardware, never :mod:`hwgen.compiler`.

    load_model(spec, input_shape=None, calib=None, precision=PrecisionConfig()) -> QNet

``spec`` is a ``.onnx`` or ``.pt2`` file or a built-in name (:data:`ZOO`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ..config import PrecisionConfig
from ..models.network import QNet
from .errors import ModelError
from .graph import FGraph, prepare, run_float
from .quantize import precision_of, quantize_graph
from .zoo import ZOO, digits_data, zoo_model

__all__ = ["load_model", "load_model_graph", "float_outputs", "digits_data", "load_graph", "ModelError", "ZOO", "FGraph", "prepare", "run_float",
           "quantize_graph", "random_images", "CALIB_IMAGES"]

#: Seeded random calibration images when none are given (fewer at large sizes).
CALIB_IMAGES = (16, 8)
CALIB_SEED = 1234


def random_images(shape: tuple, n: Optional[int] = None, seed: int = CALIB_SEED) -> np.ndarray:
    """``n`` seeded N(0, 1) images ``(n, C, H, W)`` (float32)."""
    if n is None:
        n = CALIB_IMAGES[0] if shape[1] * shape[2] <= 64 * 64 else CALIB_IMAGES[1]
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape)).astype(np.float32)


def load_graph(spec: str, input_shape=None):
    """``(float graph, default calibration images or None, meta)`` of a model spec."""
    path = Path(str(spec))
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from .onnx_import import onnx_graph
        if not path.is_file():
            raise ModelError(f"{path.name}: no such file")
        return onnx_graph(path, input_shape), None, {}
    if suffix == ".pt2":
        from .torch_import import torch_graph
        return torch_graph(path, input_shape), None, {}
    if path.is_file():
        raise ModelError(f"{path.name}: not a model file (expected .onnx or .pt2)")
    if str(spec) not in ZOO:
        if suffix or "/" in str(spec):
            raise ModelError(f"{path.name}: no such file")
        raise ModelError(f"unknown model {str(spec)!r}: not a file, and not one of the "
                         f"built-in models ({', '.join(ZOO)})")
    import torch

    from .torch_import import torch_graph
    net, shape, meta = zoo_model(str(spec), input_shape)
    example = torch.zeros((1,) + shape)
    ep = torch.export.export(net, (example,))
    g = torch_graph(ep, name=str(spec))
    g.meta.update(source=str(spec), format="zoo")
    calib = digits_data()["x_train"] if spec == "digits_cnn" else None
    return g, calib, meta


def load_model(spec, input_shape=None, calib=None,
               precision: PrecisionConfig = PrecisionConfig()) -> QNet:
    """A model file (``.onnx``, float or QDQ; ``.pt2``) or a built-in model name,
    quantized for ``precision`` (a :class:`PrecisionConfig` or an ``AcceleratorConfig``).

    Calibration images ``calib`` ``(N, C, H, W)`` float: given, else the digits training
    split for ``digits_cnn``, else seeded random N(0, 1) images. A QDQ model's own
    scales are kept; only tensors without one are calibrated. Deterministic: the same
    arguments give the same network (:meth:`QNet.digest`)."""
    return load_model_graph(spec, input_shape, calib, precision)[0]


def float_outputs(g: FGraph, x) -> np.ndarray:
    """The float model's (first) output on images ``x`` ``(N, C, H, W)``."""
    return run_float(g, np.asarray(x, dtype=np.float32), keep=g.outputs[:1])[g.outputs[0]]


def load_model_graph(spec, input_shape=None, calib=None,
                     precision: PrecisionConfig = PrecisionConfig()) -> tuple[QNet, FGraph]:
    """:func:`load_model` and the float graph it was quantized from (for float results,
    :func:`float_outputs`)."""
    precision_of(precision)
    g, default_calib, meta = load_graph(spec, input_shape)
    source = "given"
    if calib is None:
        if default_calib is not None:
            calib, source = default_calib, f"{len(default_calib)} digits training images"
        else:
            calib = random_images(g.input_shape)
            source = f"{len(calib)} seeded random N(0,1) images (seed {CALIB_SEED})"
    else:
        calib = np.asarray(calib, dtype=np.float32)
        source = f"{len(calib)} given images"
    meta = dict(meta)
    meta["calibration"] = source if not g.scales else \
        f"scales from the model's QuantizeLinear nodes; others from {source}"
    return quantize_graph(g, precision, calib, meta), g
