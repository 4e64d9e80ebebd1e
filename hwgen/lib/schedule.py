"""The compute engine's schedule as closed forms (docs/gemm_accelerator.md).

Both the engine RTL (:mod:`hwgen.ctrl.engine`, which counts its periods with these) and
the cycle model (:mod:`hwgen.models.perf`) use them, so the two cannot drift apart; the
test suite checks the model against simulation cycle for cycle.

The latencies of the pipeline registers are here too: the buffers' read latency
(:data:`BUFFER_READ_LATENCY`), the operand register at the array's edge
(:data:`EDGE_LATENCY`), the registers after each PE's multiplier (``pe``, the
config's ``pipeline.pe``) and the requantizer's stages (``requant``, its
``pipeline.requant``).
"""
from __future__ import annotations

from .arith import ceil_div

#: Cycles from a buffer read request to its data: the request register (bank, address,
#: enable), the memory's synchronous read, the register after the bank multiplexer.
BUFFER_READ_LATENCY = 3
#: Cycles from the accumulator read of a read-add-write to its write: the buffer's read
#: latency, then the sum is registered before it is written.
ACC_RMW_LATENCY = BUFFER_READ_LATENCY + 1
#: The register every operand passes where it enters the systolic array.
EDGE_LATENCY = 1
#: Cycles from a LOAD_ACC word's last beat to its accumulator write: the assembled
#: word, the two partial products of the element and its preload factor, their sum.
#: The host interface is idle again before the write lands; nothing that follows can
#: read the word sooner (a READ's first read is later, an accumulating COMPUTE's much
#: later), so the latency costs no cycles.
ACC_LOAD_LATENCY = 3
#: The output-stationary engine's issue register: its operand reads (and the im2col
#: generator's address and masks) are decided a cycle before the buffers take them.
OS_ISSUE_LATENCY = 1
#: Cycles the read path's FIFO adds (:class:`amaranth.lib.fifo.SyncFIFOBuffered`).
FIFO_LATENCY = 2


def ws_min_period(R: int, C: int) -> int:
    """Shortest weight-stationary tile period: the next weights shift in after the
    previous switch has swept the array (R + C - 2 cycles) -- R shifts -- and at least
    the read-add-write's latency (:data:`ACC_RMW_LATENCY`), so that the read-add-write
    of one row has written it before the next tile's read of that row samples the
    memory."""
    return max(2 * R + C - 2, ACC_RMW_LATENCY)


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


def default_pe_stages(in_bits):
    """``pipeline.pe`` of a design that leaves it out, by operand width: 0 below 8 bits,
    1 (the product registered) at 8 bits, 2 (the multiplier split into registered
    partial products) above 8 bits, where the multiplier sets the PE's path
    (BENCHMARKS.md, "Clock"). Works elementwise on numpy arrays too."""
    return (in_bits >= 8) * 1 + (in_bits > 8) * 1


def writeback_latency(pe: int = 0) -> int:
    """Cycles from an operand read's issue to the accumulator write of the result
    it contributes to, less the array's own skew (R + C - 1 weight-stationary, the
    drain's C + 2r output-stationary): the operand's read, the edge register, the PE
    multiplier registers, the read-add-write's sum register and its write."""
    return BUFFER_READ_LATENCY + EDGE_LATENCY + pe + 2


def ws_engine_cycles(R: int, C: int, M: int, K: int, N: int, pe: int = 0) -> int:
    """Cycles a weight-stationary engine is busy for one COMPUTE: R preload cycles, one
    period per (K tile, N tile), then the array latency and the writeback."""
    tiles = ceil_div(K, R) * ceil_div(N, C)
    return R + tiles * ws_tile_period(R, C, M) + (R + C - 1 + writeback_latency(pe))


def is_engine_cycles(R: int, C: int, M: int, K: int, N: int, pe: int = 0) -> int:
    """Cycles an input-stationary engine is busy for one COMPUTE: the weight-stationary
    schedule of C^T = B^T . A^T, i.e. with M and N exchanged (N columns of B stream
    past each stationary K x M tile of A^T)."""
    return ws_engine_cycles(R, C, N, K, M, pe)


def os_tail(R: int, C: int, pe: int = 0) -> int:
    """Cycles an output-stationary engine is busy after its flush step: the issue
    register, the drain of the last tile (2R + C - 1) and the writeback."""
    return OS_ISSUE_LATENCY + 2 * R + C - 1 + writeback_latency(pe)


def os_engine_cycles(R: int, C: int, M: int, K: int, N: int, pe: int = 0) -> int:
    """Cycles an output-stationary engine is busy for one COMPUTE: one period per
    (M tile, N tile), the flush step, then the drain of the last tile."""
    tiles = ceil_div(M, R) * ceil_div(N, C)
    return tiles * os_tile_period(R, K) + 1 + os_tail(R, C, pe)


#: Cycles a POOL stays busy after its last tap is issued: the input buffer's read
#: latency, the running maximum's register, then the accumulator write.
POOL_DRAIN = BUFFER_READ_LATENCY + 1


def pool_cycles(rows: int, cols: int, taps: int) -> int:
    """Cycles the pooling unit is busy for one POOL: one tap (an input word) per cycle,
    padded taps included (they read nothing), then the drain."""
    return rows * cols * taps + POOL_DRAIN


def read_latency(requant: int) -> int:
    """Cycles from a READ word's issue to its first beat on ``dout``: the accumulator
    buffer's read, the ``requant`` requantizer registers before the FIFO write, and the
    buffered FIFO."""
    return BUFFER_READ_LATENCY + requant + FIFO_LATENCY


def read_fifo_depth(requant: int) -> int:
    """Words the read path's FIFO holds: enough for every word in flight plus the
    words a one-beat-per-word READ has queued, so it streams a beat every cycle."""
    return max(8, BUFFER_READ_LATENCY + requant + 4)


#: The requantizer stages of a design with the default ``pipeline:`` section.
DEFAULT_REQUANT_STAGES = 6
#: :func:`read_latency` of a design with the default ``pipeline:`` section.
READ_LATENCY = read_latency(DEFAULT_REQUANT_STAGES)
#: :func:`read_fifo_depth` of a design with the default ``pipeline:`` section.
READ_FIFO_DEPTH = read_fifo_depth(DEFAULT_REQUANT_STAGES)
