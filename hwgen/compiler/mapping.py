"""Choosing a GEMM mapping (chunk sizes and loop order) for a design."""
from __future__ import annotations

import functools

from ..config import AcceleratorConfig, Dataflow, MappingConfig
from ..models.perf import approx_cycles, gemm_nest, gemm_timing, nest_lower_bound


def default_mapping(cfg: AcceleratorConfig, M: int, K: int, N: int,
                    exact: int = 6) -> MappingConfig:
    """A fast mapping for this GEMM. Chunk sizes are the full dimension or the array's
    tile times a power of two; only maximal chunks that fit the buffers are considered,
    for both k-innermost loop orders. They are ranked by :func:`approx_cycles` and the
    best ``exact`` are compared with the exact cycle model (once per design and shape;
    one whose lower bound is above the fastest found is not timed)."""
    return _default_mapping(cfg, int(M), int(K), int(N), int(exact))


def default_mapping_bound(cfg: AcceleratorConfig, M: int, K: int, N: int,
                          exact: int = 6) -> int:
    """A lower bound on the cycles of the GEMM under :func:`default_mapping`'s choice
    (the least :func:`nest_lower_bound` of the mappings it compares), without timing any:
    what a caller comparing the GEMM with something faster needs to know to skip it."""
    return _bounded(cfg, int(M), int(K), int(N), int(exact))[0][0]


@functools.lru_cache(maxsize=4096)
def _default_mapping(cfg: AcceleratorConfig, M: int, K: int, N: int,
                     exact: int) -> MappingConfig:
    volume = lambda mp: mp.tile_m * mp.tile_k * mp.tile_n
    best = None
    for bound, _, mp in _bounded(cfg, M, K, N, exact):
        if best is not None and bound > best[0][0]:
            break   # this one and the rest are slower than the best found
        cyc = gemm_timing(cfg, M, K, N, mp).cycles
        key = (cyc, -volume(mp), mp.order)
        if best is None or key < best[0]:
            best = (key, mp)
    return best[1]


@functools.lru_cache(maxsize=4096)
def _bounded(cfg: AcceleratorConfig, M: int, K: int, N: int, exact: int) -> tuple:
    """(lower bound, rank, mapping) of the ``exact`` best ranked mappings, by bound."""
    R, C = cfg.R, cfg.C

    def candidates(full, unit):
        out = {full}
        v = unit
        while v < full:
            out.add(v)
            v *= 2
        return sorted(out, reverse=True)

    cm, ck, cn = candidates(M, R), candidates(K, R), candidates(N, C)
    if cfg.dataflow is Dataflow.IS:   # M is tiled along the columns, N streams
        cm, cn = candidates(M, C), candidates(N, R)
    fits = lambda m, k, n: cfg.chunk_fits(m, k, n) is None
    shapes = set()
    for tk in ck:
        for tm in cm:
            tn = next((n for n in cn if fits(tm, tk, n)), None)
            if tn:
                shapes.add((tm, tk, tn))
        for tn in cn:
            tm = next((m for m in cm if fits(m, tk, tn)), None)
            if tm:
                shapes.add((tm, tk, tn))
    if not shapes:
        raise ValueError("no chunk fits the buffers")  # config validation prevents this
    volume = lambda mp: mp.tile_m * mp.tile_k * mp.tile_n
    ranked = sorted((MappingConfig(tm, tk, tn, order) for tm, tk, tn in shapes
                     for order in (("m", "n", "k"), ("n", "m", "k"))),
                    key=lambda mp: (approx_cycles(cfg, M, K, N, mp), -volume(mp), mp.order,
                                    mp.tile_m, mp.tile_k))
    return tuple(sorted((nest_lower_bound(cfg, gemm_nest(M, K, N, mp)), rank, mp)
                        for rank, mp in enumerate(ranked[:exact])))
