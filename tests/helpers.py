"""Shared test helpers: random GEMMs, expected results and configs."""
from __future__ import annotations

import numpy as np

from hwgen.config import ArrayConfig, BufferConfig, BuffersConfig, HostConfig, load_config
from hwgen.host.program import Quant, build_gemm_program
from hwgen.models.gemm import gemm, random_operands, requantize


def variant(base="tiny", *, rows=None, cols=None, dataflow=None, beat=None, banks=None,
            depth=None, in_bits=None):
    cfg = load_config(base)
    arr = ArrayConfig(rows or cfg.R, cols or cfg.C, dataflow or cfg.array.dataflow)
    cfg = cfg.replace(array=arr)
    if beat:
        cfg = cfg.replace(host=HostConfig(beat))
    if banks or depth:
        b = cfg.buffers
        mk = lambda x: BufferConfig(depth or x.depth, banks or x.banks)
        cfg = cfg.replace(buffers=BuffersConfig(mk(b.input), mk(b.weight), mk(b.acc)))
    if in_bits:
        from dataclasses import replace
        cfg = cfg.replace(precision=replace(cfg.precision, in_bits=in_bits))
    return cfg


def gemm_case(cfg, M, K, N, seed, *, extreme=False, quant=Quant(), mapping=None):
    rng = np.random.default_rng(seed)
    a, b = random_operands(rng, M, K, N, cfg.precision.in_bits, extreme=extreme)
    if not quant.raw and quant.bias is None:
        quant = Quant(raw=False, mult=quant.mult, shift=quant.shift, relu=quant.relu,
                      bias=tuple(int(x) for x in rng.integers(-5000, 5000, size=N)))
    prog = build_gemm_program(cfg, M, K, N, a, b, mapping=mapping, quant=quant)
    want = gemm(a, b)
    if not quant.raw:
        want = requantize(want, quant.bias, quant.mult, quant.shift, cfg.precision.out_bits,
                          quant.relu)
    return prog, want
