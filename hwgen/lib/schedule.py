"""The compute engine's schedule as closed forms (docs/gemm_accelerator.md).

Both the engine RTL (:mod:`hwgen.ctrl.engine`, which counts its periods with these) and
the cycle model (:mod:`hwgen.models.perf`) use them, so the two cannot drift apart; the
test suite checks the model against simulation cycle for cycle.
"""
from __future__ import annotations

from .arith import ceil_div


def ws_min_period(R: int, C: int) -> int:
    """Shortest weight-stationary tile period: the next weights shift in after the
    previous switch has swept the array (R + C - 2 cycles) -- R shifts -- and at least 2
    so that the accumulator read-modify-write of one row finishes before the next tile
    reads it."""
    return max(2 * R + C - 2, 2)


def ws_tile_period(R: int, C: int, M: int) -> int:
    """Cycles between the first rows of two consecutive weight-stationary tiles."""
    return max(M, ws_min_period(R, C))


def os_min_period(R: int) -> int:
    """Shortest output-stationary tile: 2R - 1 steps, so that a finished tile has left
    the drain chain before the next one is captured."""
    return 2 * R - 1


def os_tile_period(R: int, K: int) -> int:
    """Steps per output-stationary tile: K, but at least :func:`os_min_period`."""
    return max(K, os_min_period(R))


def ws_engine_cycles(R: int, C: int, M: int, K: int, N: int) -> int:
    """Cycles a weight-stationary engine is busy for one COMPUTE: R preload cycles, one
    period per (K tile, N tile), then the array latency and the writeback."""
    tiles = ceil_div(K, R) * ceil_div(N, C)
    return R + tiles * ws_tile_period(R, C, M) + (R + C - 1 + 2)


def os_engine_cycles(R: int, C: int, M: int, K: int, N: int) -> int:
    """Cycles an output-stationary engine is busy for one COMPUTE: one period per
    (M tile, N tile), the flush step, then the drain of the last tile."""
    tiles = ceil_div(M, R) * ceil_div(N, C)
    return tiles * os_tile_period(R, K) + 1 + (2 * R + C + 1)


#: Cycles from a READ word's issue to its first beat on ``dout``: the buffer read and three
#: requantizer registers before the FIFO write, two through the buffered FIFO.
READ_LATENCY = 4 + 2
#: Words the read path's FIFO holds.
READ_FIFO_DEPTH = 8
