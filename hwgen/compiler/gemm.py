"""GEMM -> program: the mapping (given, the config's, or the fastest default) and the
command and data streams that run it."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..config import AcceleratorConfig, MappingConfig
from .mapping import default_mapping
from .program import Program, Quant, check_gemm, emit_gemm_program


def build_gemm_program(cfg: AcceleratorConfig, M: int, K: int, N: int,
                       a: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None,
                       mapping: Optional[MappingConfig] = None,
                       quant: Quant = Quant()) -> Program:
    """Commands (and, when A and B are given, the operand beats) that compute A.B, in
    chunks of ``mapping`` (the config's, else :func:`default_mapping`'s)."""
    check_gemm(cfg, M, K, N)
    mp = mapping or cfg.mapping or default_mapping(cfg, M, K, N)
    return emit_gemm_program(cfg, M, K, N, mp, a, b, quant)
