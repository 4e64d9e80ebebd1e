"""Golden model of the int8 baseline layers (:mod:`hwgen.units.int8_layer`): neuron q of
an n-input layer gives ``max(0, sum_i x_i w_qi)``, exact."""
from __future__ import annotations

import numpy as np


def int8_layer(x, w) -> np.ndarray:
    """ReLU of ``w @ x`` for an input vector ``x`` (n) and weights ``w`` (m, n), in int64
    (any n up to 2^47 products of 8-bit numbers is exact)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    return np.maximum(w @ x, 0)
