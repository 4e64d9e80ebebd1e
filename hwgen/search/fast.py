"""The screen: a whole population's cycles on a workload at once (numpy over candidates).

The exact cycle model times a program from its loop structure but searches each layer's
mapping, a fraction of a second per design on a network; a search looks at far more
designs than it can time that way. The screen prices every layer with the engine's own
closed forms (:mod:`hwgen.lib.schedule`) over an idealised chunking — the largest chunks
the buffers hold — and the host link's beats, overlapped as double buffering overlaps
them, for every candidate in one pass of array arithmetic. It ranks designs; the search
times the ones it keeps with the exact model (:func:`hwgen.search.workload.exact`), and
only exact figures are reported. Its fidelity (rank correlation with the exact model) is
measured in ``benchmarks/search.py``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import acc_bits_needed
from ..lib.schedule import (ACC_RMW_LATENCY, DEFAULT_REQUANT_STAGES, OS_ISSUE_LATENCY,
                            default_pe_stages, read_latency, writeback_latency)
from .workload import Layer


def _cdiv(a, b):
    return -(-a // b)


def layer_cycles(col: dict, layer: Layer) -> np.ndarray:
    """Approximate cycles of one layer for every candidate (``col``: arrays R, C, os
    (bool), beat, din, dw, dacc, banks_in, banks_w, banks_acc; optionally ``is``
    (bool), input-stationary candidates, priced as weight-stationary ones on the
    transposed GEMM, B^T . A^T, with the input and weight buffers' roles exchanged)."""
    cycles = _layer_cycles(col, layer)
    is_ = col.get("is")
    if is_ is not None and np.any(is_):
        t = replace(layer, M=layer.N, N=layer.M, conv=False, depthwise=False, groups=1)
        swapped = {**col, "os": np.zeros_like(col["os"]), "din": col["dw"], "dw": col["din"]}
        cycles = np.where(is_, layer.groups * (_layer_cycles(swapped, t) + _is_words(col, layer)),
                          cycles)
    return cycles


def _is_words(col: dict, layer: Layer) -> np.ndarray:
    """The command time an input-stationary design spends per result word of a layer
    whose requantization differs per output column (a network layer's bias and
    per-channel multipliers; :func:`hwgen.compiler.program.per_word_quant`): its
    accumulator words run along M, so each of the N x ceil(M / C) words is read alone,
    after C SET_BIAS and a SET_QUANT (two cycles each in the command FSM) -- and with a
    residual, loaded alone after C SET_PRELOAD. The exact model counts the same
    commands (:func:`hwgen.models.perf.nest_block`)."""
    if not layer.per_word:
        return np.zeros(len(col["C"]), dtype=np.int64)
    C, beat = col["C"], col["beat"]
    bpw = _cdiv(C, beat)
    words = layer.N * _cdiv(layer.M, C)
    per = 2 * (C + 1) + 3 + read_latency(DEFAULT_REQUANT_STAGES) + bpw
    if layer.residual:
        per = per + 2 * C + 3 + bpw
    return words * per


def _layer_cycles(col: dict, layer: Layer) -> np.ndarray:
    R, C, os_, beat = col["R"], col["C"], col["os"], col["beat"]
    din, dw, dacc = col["din"], col["dw"], col["dacc"]
    M, N, g, cin, in_elems = layer.M, layer.N, layer.groups, layer.cin, layer.in_elems
    if layer.depthwise:
        # parts of R channels, each a convolution of R channels in and R out whose kernel
        # is block-diagonal (as the compiler lowers it)
        g, cin, N, in_elems = _cdiv(layer.groups, R), R, R, layer.in_elems * R
    if layer.conv:
        # weight-stationary pads each group's channels to R; output-stationary pads each
        # output row to whole tiles of R pixels
        cin_p = np.where(os_, cin, _cdiv(cin, R) * R)
        K = cin_p * layer.kernel
        rows = max(1, M // max(1, layer.out_w))
        Mx = np.where(os_, rows * _cdiv(layer.out_w, R) * R, M)
        a_elems = in_elems * cin_p // np.maximum(1, cin)
    else:
        K = np.full_like(R, layer.K)
        Mx = np.full_like(R, M)
        a_elems = M * layer.K
    nt = _cdiv(N, C)
    # chunks of N: as many column tiles of C as the weight buffer holds with the whole
    # reduction (then K is cut only when one tile's K does not fit)
    wk = np.where(os_, K, _cdiv(K, R) * R)      # weight words of one column tile
    ntc = np.clip(dw // np.maximum(wk, 1), 1, nt)
    n_chunks = _cdiv(nt, ntc)
    ntc = _cdiv(nt, n_chunks)
    k_chunks = np.maximum(1, _cdiv(wk * ntc, dw))
    k_chunk = _cdiv(K, k_chunks)
    # chunks of M the accumulator holds for those column tiles
    acc_rows = np.maximum(dacc // ntc, 1)
    m_chunks = _cdiv(Mx, np.minimum(Mx, acc_rows))
    m_chunk = _cdiv(Mx, m_chunks)
    # the input buffer: a band of the operand per (M chunk, K chunk)
    a_words = np.where(os_, _cdiv(m_chunk, R) * k_chunk, _cdiv(k_chunk, R) * m_chunk)
    a_chunks = np.maximum(1, _cdiv(a_words, din))
    kx = np.maximum(k_chunks, a_chunks)
    chunks = m_chunks * n_chunks * kx
    kc = _cdiv(K, kx)
    # the engine per chunk (lib.schedule's closed forms)
    # (the default pipeline.pe of the operand width)
    wb = writeback_latency(default_pe_stages(np.asarray(col.get("in_bits", 8))))
    ws_engine = R + _cdiv(kc, R) * ntc * np.maximum(
        m_chunk, np.maximum(2 * R + C - 2, ACC_RMW_LATENCY)) + R + C - 1 + wb
    os_engine = (_cdiv(m_chunk, R) * ntc * np.maximum(kc, 2 * R - 1) + 1 + OS_ISSUE_LATENCY
                 + 2 * R + C - 1 + wb)
    compute = chunks * np.where(os_, os_engine, ws_engine)
    # the host link, the better of the two loop orders: M outer (an input band stays
    # for every N chunk unless K is cut; the weights come again for every M chunk unless
    # they all stay) or N outer (a chunk's weights stay for every M chunk unless K is
    # cut; the input comes again for every N chunk unless it all stays); results once
    w_elems = K * nt * C
    a_b, w_b = _cdiv(a_elems, beat), _cdiv(w_elems, beat)
    mnk = (a_b * np.where(kx > 1, n_chunks, 1)
           + w_b * np.where(n_chunks * kx > 1, m_chunks, 1))
    nmk = (a_b * np.where((m_chunks > 1) | (kx > 1), n_chunks, 1)
           + w_b * np.where(kx > 1, m_chunks, 1))
    out_elems = Mx * nt * C
    beats = (np.minimum(mnk, nmk) + _cdiv(out_elems, beat)
             + (_cdiv(out_elems, beat) if layer.residual else 0))
    first = (_cdiv(np.minimum(a_elems, a_words * R), beat)
             + _cdiv(np.minimum(w_elems, dw * C), beat))
    last = _cdiv(m_chunk * C, beat) * ntc
    return g * (np.maximum(compute, beats) + first + last + 20 * chunks)


def layer_fits(col: dict, layer: Layer) -> np.ndarray:
    """Whether the smallest chunk of a convolution fits each candidate's buffers (as the
    compiler's mapping search requires: one output row, the kernel's input rows at one
    channel unit -- R channels on weight-stationary designs, one on output-stationary
    ones -- and C output channels); True for other layers, whose chunks shrink to fit."""
    R, os_ = col["R"], col["os"]
    if not layer.conv or not layer.rows_in:
        return np.ones(len(R), dtype=bool)
    # (an input-stationary design runs convolutions as GEMMs of the host's im2col,
    # whose chunks shrink to fit)
    is_ = col.get("is", np.zeros(len(R), dtype=bool))
    a = np.where(os_, layer.rows_in * layer.stride_w * _cdiv(_cdiv(layer.in_w, layer.stride_w), R),
                 layer.rows_in * layer.in_w)
    w = np.where(os_, layer.kernel, layer.kernel * R)
    acc = np.where(os_, _cdiv(layer.out_w, R) * R, layer.out_w)
    return is_ | ((a <= col["din"]) & (w <= col["dw"]) & (acc <= col["dacc"]))


def _acc_bits(bits: np.ndarray, max_k: int) -> np.ndarray:
    """The accumulator width of every candidate (computed once per operand width)."""
    u, inv = np.unique(bits, return_inverse=True)
    return np.array([acc_bits_needed(int(x), max_k) for x in u],
                    dtype=np.int64)[inv.reshape(-1)]


def population_columns(space, pop: np.ndarray) -> dict:
    """The screen's columns of a population (and the accumulator width and banks the
    cost model's screen prices)."""
    cols = space.columns(pop)
    b = cols["precision.in_bits"].astype(np.int64)
    return {"R": cols["array.rows"].astype(np.int64), "C": cols["array.cols"].astype(np.int64),
            "os": cols["array.dataflow"] == "output_stationary",
            "is": cols["array.dataflow"] == "input_stationary",
            # (input-stationary designs are built without the on-chip im2col)
            "im2col": (cols["array.dataflow"] != "input_stationary").astype(np.int64),
            "beat": cols["host.beat_elems"].astype(np.int64),
            "din": cols["buffers.input.depth"].astype(np.int64),
            "dw": cols["buffers.weight.depth"].astype(np.int64),
            "dacc": cols["buffers.acc.depth"].astype(np.int64),
            "in_bits": b, "memories": cols["memories"],
            "acc_bits": _acc_bits(b, space.max_k),
            **{f"banks_{k}": cols[f"buffers.{n}.banks"].astype(np.int64)
               for k, n in (("in", "input"), ("w", "weight"), ("acc", "acc"))}}


def screen(space, pop: np.ndarray, layers: tuple) -> np.ndarray:
    """Approximate total cycles of the workload ``layers`` for every candidate of
    ``pop``."""
    return screen_columns(population_columns(space, pop), layers)


def screen_columns(col: dict, layers: tuple) -> np.ndarray:
    """:func:`screen` of a population given by its columns (:func:`population_columns`)."""
    total = np.zeros(len(col["R"]), dtype=np.int64)
    for layer in layers:
        total += layer_cycles(col, layer)
    return total


def runs(space, pop: np.ndarray, layers: tuple) -> np.ndarray:
    """Whether every layer's smallest chunk fits each candidate (:func:`layer_fits`)."""
    return runs_columns(population_columns(space, pop), layers)


def runs_columns(col: dict, layers: tuple) -> np.ndarray:
    """:func:`runs` of a population given by its columns."""
    ok = np.ones(len(col["R"]), dtype=bool)
    for layer in layers:
        ok &= layer_fits(col, layer)
    return ok
