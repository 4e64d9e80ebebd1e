"""The GEMM cycle model over many designs at once (numpy).

:func:`gemm_batch` computes, for arrays of designs and mappings, exactly what
:func:`hwgen.models.perf.gemm_timing` computes for one (raw results, the program
:func:`hwgen.compiler.emit_gemm_program` emits): cycles, engine busy cycles, MACs, beats
and commands; and, counted from the same loop structure, every buffer access of the
program: the words the host writes into the input and weight buffers, the words the
engine reads from them, the accumulator words the engine reads and writes back, and the
words READ takes out. The test suite compares it with :func:`gemm_timing` on random
designs, shapes and mappings.

It follows :func:`hwgen.models.perf.nest_block` rule for rule, with the same max-plus
algebra (:mod:`hwgen.models.maxplus`), vectorised: every candidate's chunk loops have
the same shape -- three runs per dimension (the first chunk, the middle ones, the last)
-- so the program of each candidate is the same product of per-candidate 3 x 3
max-plus matrices, each held as seven numpy arrays (the third column is constant, see
:class:`Mat`). A run that a candidate does not have is raised to the power 0.

Times are float64: exact up to 2^53 cycles.

Engine buffer accesses per COMPUTE of an m x k x n chunk (the schedules of
docs/gemm_accelerator.md): output-stationary, per tile (ceil(m/R) ceil(n/C) tiles), k input
and k weight words read and R accumulator words read and written; weight-stationary, per
tile (ceil(k/R) ceil(n/C)), m input words, R weight words (the preload) and m
accumulator words read and written back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lib.schedule import (ACC_RMW_LATENCY, DEFAULT_REQUANT_STAGES, os_tail, read_latency,
                            writeback_latency)

NEG = -np.inf
#: order codes of the mapping: 0 = (m, n, k), 1 = (n, m, k)
ORDERS = (("m", "n", "k"), ("n", "m", "k"))


def _cdiv(a, b):
    """Ceiling division of non-negative integers held as float64 (exact below 2^52)."""
    return np.ceil(a / b)


@dataclass
class Mat:
    """Max-plus matrices of many candidates over the state (t, F, L) of
    :mod:`hwgen.models.maxplus`: rows t and F never depend on L (their third entry is
    always -inf), so each matrix is its entries t0 t1 / f0 f1 / l0 l1 l2."""
    t0: np.ndarray
    t1: np.ndarray
    f0: np.ndarray
    f1: np.ndarray
    l0: np.ndarray
    l1: np.ndarray
    l2: np.ndarray

    def then(self, b: "Mat") -> "Mat":
        """First self, then b (b (x) self)."""
        a, s = b, self
        add, mx = np.add, np.maximum
        tmp = np.empty_like(s.t0)

        def two(x1, y1, x2, y2):
            out = x1 + y1
            return mx(out, add(x2, y2, out=tmp), out=out)

        l0 = two(a.l0, s.t0, a.l1, s.f0)
        mx(l0, add(a.l2, s.l0, out=tmp), out=l0)
        l1 = two(a.l0, s.t1, a.l1, s.f1)
        mx(l1, add(a.l2, s.l1, out=tmp), out=l1)
        return Mat(two(a.t0, s.t0, a.t1, s.f0), two(a.t0, s.t1, a.t1, s.f1),
                   two(a.f0, s.t0, a.f1, s.f0), two(a.f0, s.t1, a.f1, s.f1),
                   l0, l1, a.l2 + s.l2)

    def where(self, mask: np.ndarray, other: "Mat") -> "Mat":
        """self where ``mask``, else ``other``."""
        w = np.where
        return Mat(*(w(mask, x, y) for x, y in zip(self.fields(), other.fields())))

    def fields(self):
        return (self.t0, self.t1, self.f0, self.f1, self.l0, self.l1, self.l2)

    def power(self, n: np.ndarray) -> "Mat":
        """self^n for each candidate's n >= 0 (repeated squaring)."""
        n = np.asarray(n, dtype=np.int64)
        out = identity(n.shape)
        base = self
        top = int(n.max()) if n.size else 0
        while top:
            bit = (n & 1).astype(bool)
            if bit.any():
                out = out.then(base).where(bit, out)
            n = n >> 1
            top >>= 1
            if top:
                base = base.then(base)
        return out


def _full(shape, v) -> np.ndarray:
    return np.full(shape, v, dtype=np.float64)


def identity(shape) -> Mat:
    z, ng = _full(shape, 0.0), _full(shape, NEG)
    return Mat(z, ng, ng, z, ng, ng, z)


@dataclass(frozen=True)
class GemmBatch:
    """What :func:`gemm_batch` returns: one entry per candidate (float64 arrays)."""
    cycles: np.ndarray
    compute_cycles: np.ndarray
    macs: np.ndarray
    in_beats: np.ndarray
    w_beats: np.ndarray
    out_beats: np.ndarray
    commands: np.ndarray
    in_writes: np.ndarray    #: input-buffer words written by LOAD_IN
    w_writes: np.ndarray     #: weight-buffer words written by LOAD_W
    in_reads: np.ndarray     #: input-buffer words the engine reads
    w_reads: np.ndarray      #: weight-buffer words the engine reads
    acc_reads: np.ndarray    #: engine read-add-write reads plus the READ command's reads
    acc_writes: np.ndarray   #: engine write-backs

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _pow01(m: Mat, n: np.ndarray) -> Mat:
    """m^n for n in {0, 1}."""
    return m.where(n >= 1, identity(n.shape))


def gemm_batch(p: dict, M, K, N, tile_m, tile_k, tile_n, order=0) -> GemmBatch:
    """Exact figures of the raw GEMM program on each candidate.

    ``p`` holds arrays (or scalars) ``rows``, ``cols``, ``dataflow`` (0 output-,
    1 weight-, 2 input-stationary), ``beat``, ``banks_in``, ``banks_w``, ``banks_acc`` and,
    optionally, the pipeline registers ``pe`` (0 when left out) and ``requant``
    (:data:`~hwgen.lib.schedule.DEFAULT_REQUANT_STAGES`); ``M``,
    ``K``, ``N``, the tiles (clipped to the GEMM) and ``order`` (:data:`ORDERS` index)
    are arrays or scalars broadcast against them. The mapping must fit the buffers (as
    :meth:`hwgen.config.AcceleratorConfig.chunk_fits` checks); nothing here checks it.
    """
    R, C, df, beat, b_in, b_w, b_acc, pe, rq, M, K, N, tm, tk, tn, order = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (
            p["rows"], p["cols"], p["dataflow"], p["beat"], p["banks_in"], p["banks_w"],
            p["banks_acc"], p.get("pe", 0), p.get("requant", DEFAULT_REQUANT_STAGES),
            M, K, N, tile_m, tile_k, tile_n, order)))
    out_shape = R.shape
    R, C, df, beat, b_in, b_w, b_acc, pe, rq, M, K, N, tm, tk, tn, order = (
        x.ravel() for x in (R, C, df, beat, b_in, b_w, b_acc, pe, rq, M, K, N, tm, tk, tn,
                            order))
    shape = R.shape
    os_, is_ = df == 0, df == 2
    tm, tk, tn = np.minimum(tm, M), np.minimum(tk, K), np.minimum(tn, N)
    # input-stationary: input words of C elements, weight words of R
    bpw_in, bpw_w = _cdiv(np.where(is_, C, R), beat), _cdiv(np.where(is_, R, C), beat)
    bpw_acc = _cdiv(C, beat)
    two_in, two_w, two_acc = b_in > 1, b_w > 1, b_acc > 1
    n_m, n_k, n_n = _cdiv(M, tm), _cdiv(K, tk), _cdiv(N, tn)
    m_outer = order == 0
    n_outer = np.where(m_outer, n_m, n_n)
    n_inner = np.where(m_outer, n_n, n_m)

    def keeps(p_, two):
        return np.where(two, p_ <= 2, p_ == 1)

    a_keeps = np.where(m_outer, keeps(n_k, two_in), keeps(n_m * n_k, two_in))
    w_keeps = np.where(m_outer, keeps(n_n * n_k, two_w), keeps(n_k, two_w))

    # Chunk sizes by run: first and middle chunks are whole tiles, the last the rest.
    last_m, last_k, last_n = M - (n_m - 1) * tm, K - (n_k - 1) * tk, N - (n_n - 1) * tn
    size_m, size_k, size_n = (tm, tm, last_m), (tk, tk, last_k), (tn, tn, last_n)
    t_outer = np.where(m_outer, tm, tn)
    t_inner = np.where(m_outer, tn, tm)
    last_inner = np.where(m_outer, last_n, last_m)
    one = np.ones(shape)

    def run_counts(n):
        """How many members each of the three runs has."""
        return (one, np.maximum(n - 2, 0), (n >= 2).astype(np.float64))

    cnt_outer, cnt_inner, cnt_k = run_counts(n_outer), run_counts(n_inner), run_counts(n_k)
    ng, zero = np.full(shape, NEG), np.zeros(shape)
    totals = {k: np.zeros(shape) for k in ("compute", "macs", "in_beats", "w_beats",
                                            "out_beats", "commands", "in_reads", "w_reads",
                                            "acc_rmw")}

    def add(mult, **counts):
        for k, v in counts.items():
            totals[k] = totals[k] + mult * v

    def read_out(mc, nc, waits, mult) -> Mat:
        """``ceil(nc/C)`` READs of ``mc`` words each (input-stationary, C^T:
        ``ceil(mc/C)`` READs of ``nc`` words), in closed form: the first may wait for
        the engine, the rest follow it back to back (each starts after the previous
        one's t, which is past the engine's F), so t grows by 3 + z per READ and L ends
        one cycle before t."""
        tiles = np.where(is_, _cdiv(mc, C), _cdiv(nc, C))
        words = np.where(is_, nc, mc)
        span = tiles * (3 + read_latency(rq) + words * bpw_acc)
        add(mult, out_beats=tiles * words * bpw_acc, commands=tiles)
        return Mat(span, np.where(waits, span - 1, NEG), ng, zero, span - 1,
                   np.where(waits, span - 2, NEG), ng)

    k_tiles = tuple(_cdiv(k, R) for k in size_k)
    # hwgen.lib.schedule's engine closed forms (the same expressions, vectorised)
    os_min, os_rest = 2 * R - 1, 1 + os_tail(R, C, pe)
    ws_min = np.maximum(2 * R + C - 2, ACC_RMW_LATENCY)
    ws_tail = R + C - 1 + writeback_latency(pe)
    chunks = {}

    def chunk(sa: int, sb: int):
        """The output chunk of outer run sa and inner run sb: its m and n, their array
        tiles, whether A and W are still resident."""
        if (sa, sb) not in chunks:
            mc = np.where(m_outer, size_m[sa], size_m[sb])
            nc = np.where(m_outer, size_n[sb], size_n[sa])
            a_ge1, b_ge1 = sa >= 1, sb >= 1
            hit_a = np.where(m_outer, b_ge1 & a_keeps, a_ge1 & a_keeps)
            hit_w = np.where(m_outer, a_ge1 & w_keeps, b_ge1 & w_keeps)
            chunks[sa, sb] = (mc, nc, _cdiv(mc, R), _cdiv(nc, C), hit_a, hit_w)
        return chunks[sa, sb]

    def load_row(beats, skip, waits):
        """A LOAD of ``beats`` (or nothing where ``skip``) as its t row: t' = max(t + r0,
        F + r1); F and L stay."""
        b = np.maximum(beats, 1)
        return np.where(skip, 0.0, 2 + b), np.where(skip | ~waits, NEG, 1 + b)

    def step(sa: int, sb: int, sl: int, mult) -> Mat:
        """The step of outer run sa, inner run sb, k run sl (0 first, 1 middle, 2 last);
        its counts times ``mult`` (the step's members in the program) go to the totals."""
        mc, nc, mr, ncc, hit_a, hit_w = chunk(sa, sb)
        kc, kr = size_k[sl], k_tiles[sl]
        mcc = _cdiv(mc, C)   # input-stationary: tiles of C output rows
        a_beats = np.where(os_, mr * kc, np.where(is_, kr * R * mcc, kr * mc)) * bpw_in
        w_beats = np.where(os_, ncc * kc, np.where(is_, kr * nc, kr * R * ncc)) * bpw_w
        add(mult, in_beats=np.where(hit_a, 0, a_beats), w_beats=np.where(hit_w, 0, w_beats),
            commands=2 - hit_a - hit_w.astype(np.float64))
        # the two loads, composed: t' = max(t + x0, F + x1)
        a0, a1 = load_row(a_beats, hit_a, ~two_in)
        w0, w1 = load_row(w_beats, hit_w, ~two_w)
        x0, x1 = a0 + w0, np.maximum(a1 + w0, w1)
        # busy cycles of the COMPUTE (hwgen.lib.schedule) and its tiles
        # (input-stationary: weight-stationary's with m and n exchanged)
        d = np.where(os_, mr * ncc * np.maximum(kc, os_min) + os_rest,
                     np.where(is_, R + kr * mcc * np.maximum(nc, ws_min) + ws_tail,
                              R + kr * ncc * np.maximum(mc, ws_min) + ws_tail))
        tiles = np.where(os_, mr * ncc, np.where(is_, kr * mcc, kr * ncc))
        add(mult, compute=d, macs=mc * kc * nc, commands=one,
            in_reads=tiles * np.where(os_, kc, np.where(is_, R, mc)),
            w_reads=tiles * np.where(os_, kc, np.where(is_, nc, R)),
            acc_rmw=tiles * np.where(os_, R, np.where(is_, nc, mc)))
        # then the COMPUTE: t = max(t' + 2, F + 1), F = t + d (L stays)
        c1 = np.maximum(x1 + 2, 1.0)
        blk = Mat(x0 + 2, c1, x0 + 2 + d, c1 + d, ng, ng, zero)
        if sl == 0 and (sa, sb) != (0, 0):   # the previous output chunk is read out
            if sb >= 1:
                p_outer, p_inner = np.where(m_outer, mc, nc), t_inner
            else:
                p_outer, p_inner = t_outer, last_inner
            pm = np.where(m_outer, p_outer, p_inner)
            pn = np.where(m_outer, p_inner, p_outer)
            rd = read_out(pm, pn, True, mult)
            # one accumulator bank: before the COMPUTE (waiting for the engine)
            before = Mat(x0, x1, ng, zero, ng, ng, zero).then(rd).then(
                Mat(one * 2, one, 2 + d, 1 + d, ng, ng, zero))
            # two banks: after it, without waiting
            after = blk.then(Mat(rd.t0, ng, ng, zero, rd.l0, ng, ng))
            blk = after.where(two_acc, before)
        return blk

    def tf_power(m: Mat, n) -> Mat:
        """m^n for a step without reads (L untouched, and its F row its t row plus the
        busy cycles d): m = (0, d)^T (x) (t0, t1) in max-plus, so m^n = m + (n - 1) l
        with l = max(t0, f1), the cycles one more such step adds."""
        lam = (n - 1) * np.maximum(m.t0, m.f1)
        pw = Mat(m.t0 + lam, m.t1 + lam, m.f0 + lam, m.f1 + lam, ng, ng, zero)
        return pw.where(n >= 1, identity(shape))

    def seq_runs(blocks, counts) -> Mat:
        out = None
        for b, c in zip(blocks, counts):
            if not c.any():
                continue
            b = _pow01(b, c) if c.max() <= 1 else b.power(c)
            out = b if out is None else out.then(b)
        return out if out is not None else identity(shape)

    outer_blocks = []
    for sa in range(3):
        if not cnt_outer[sa].any():
            outer_blocks.append(identity(shape))
            continue
        rows = []
        for sb in range(3):
            if not cnt_inner[sb].any():
                rows.append(identity(shape))
                continue
            mult = cnt_outer[sa] * cnt_inner[sb]
            ks = [step(sa, sb, sl, mult * cnt_k[sl]) if cnt_k[sl].any() else identity(shape)
                  for sl in range(3)]
            ks[1] = tf_power(ks[1], cnt_k[1])   # the middle k chunks never read out
            rows.append(seq_runs(ks, (cnt_k[0], one, cnt_k[2])))
        outer_blocks.append(seq_runs(rows, cnt_inner))
    body = seq_runs(outer_blocks, cnt_outer)
    # The last output chunk is read after the engine stops.
    mt = body.then(read_out(last_m, last_n, np.ones(shape, bool), one))
    cycles = np.maximum(np.maximum(np.maximum(mt.t0, mt.t1), np.maximum(mt.f0, mt.f1)),
                        np.maximum(np.maximum(mt.l0, mt.l1), mt.l2))
    t = totals
    out_words = t["out_beats"] / bpw_acc
    fields = dict(cycles=cycles, compute_cycles=t["compute"], macs=t["macs"],
                  in_beats=t["in_beats"], w_beats=t["w_beats"], out_beats=t["out_beats"],
                  commands=t["commands"], in_writes=t["in_beats"] / bpw_in,
                  w_writes=t["w_beats"] / bpw_w, in_reads=t["in_reads"],
                  w_reads=t["w_reads"], acc_reads=t["acc_rmw"] + out_words,
                  acc_writes=t["acc_rmw"])
    return GemmBatch(**{k: v.reshape(out_shape) for k, v in fields.items()})


def fitting_mapping(p: dict, M, K, N):
    """A mapping for each candidate without a search: the largest chunks that fit its
    buffers, k first (then m, then n), loop order (m, n, k). Returns (tile_m, tile_k,
    tile_n, order) arrays. It is not :func:`hwgen.compiler.default_mapping` (which
    compares candidates with the cycle model); a search that co-optimises mappings
    passes its own."""
    R, C, df, d_in, d_w, d_acc, M, K, N = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (
            p["rows"], p["cols"], p["dataflow"], p["depth_in"], p["depth_w"],
            p["depth_acc"], M, K, N)))
    os_, is_ = df == 0, df == 2
    # output-stationary: input ceil(m/R) k, weight ceil(n/C) k, acc ceil(m/R) R ceil(n/C)
    tk_os = np.minimum(K, np.minimum(d_in, d_w))
    tm_os = np.minimum(M, R * np.minimum(np.floor(d_in / tk_os), np.floor(d_acc / R)))
    acc_rows = _cdiv(tm_os, R) * R
    tn_os = np.minimum(N, C * np.minimum(np.floor(d_w / tk_os), np.floor(d_acc / acc_rows)))
    # weight-stationary: input ceil(k/R) m, weight ceil(k/R) R ceil(n/C), acc ceil(n/C) m
    tk_ws = np.minimum(K, R * np.minimum(np.floor(d_w / R), np.minimum(d_in, d_acc)))
    kt = _cdiv(tk_ws, R)
    tm_ws = np.minimum(M, np.minimum(np.floor(d_in / kt), d_acc))
    tn_ws = np.minimum(N, C * np.minimum(np.floor(d_w / (kt * R)), np.floor(d_acc / tm_ws)))
    # input-stationary: input ceil(k/R) R ceil(m/C), weight ceil(k/R) n, acc ceil(m/C) n
    tk_is = np.minimum(K, R * np.minimum(np.floor(d_in / R), np.minimum(d_w, d_acc)))
    # (at least 1 where the depths of another dataflow's candidate leave 0)
    kt_is = np.maximum(_cdiv(tk_is, R), 1)
    tn_is = np.maximum(np.minimum(N, np.minimum(np.floor(d_w / kt_is), d_acc)), 1)
    tm_is = np.minimum(M, C * np.minimum(np.floor(d_in / (kt_is * R)), np.floor(d_acc / tn_is)))
    tm = np.maximum(np.where(os_, tm_os, np.where(is_, tm_is, tm_ws)), 1)
    tk = np.maximum(np.where(os_, tk_os, np.where(is_, tk_is, tk_ws)), 1)
    tn = np.maximum(np.where(os_, tn_os, np.where(is_, tn_is, tn_ws)), 1)
    return tm, tk, tn, np.zeros_like(tm)
