"""The structural cycle model (models.perf.gemm_timing, max-plus over the program's loop
structure) equals the command-by-command replay of the program the compiler emits, for
random designs, shapes, mappings and requantization; and it stays fast for GEMMs whose
programs could not even be listed."""
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen.compiler import Quant, default_mapping, emit_gemm_program
from hwgen.config import MappingConfig, config_from_dict, load_config
from hwgen.lib.protocol import OP_LOAD_IN, OP_LOAD_W, decode
from hwgen.compiler.conv import ConvMapping, ConvSpec, conv_nest
from hwgen.compiler.mapping import default_mapping_bound
from hwgen.models.perf import (LoopNest, beat_totals, gemm_lower_bound, gemm_nest, gemm_timing,
                               nest_beats, nest_lower_bound, nest_timing, program_timing)

designs = st.fixed_dictionaries({
    "array": st.fixed_dictionaries({
        "rows": st.integers(1, 6), "cols": st.integers(1, 6),
        "dataflow": st.sampled_from(["ws", "os"])}),
    "precision": st.fixed_dictionaries({"max_k": st.just(256)}),
    "buffers": st.fixed_dictionaries({
        b: st.fixed_dictionaries({"depth": st.sampled_from([32, 96, 512]),
                                  "banks": st.integers(1, 2)})
        for b in ("input", "weight", "acc")}),
    "host": st.fixed_dictionaries({"beat_elems": st.integers(1, 7)}),
})
#: Input-stationary designs (no on-chip im2col), for the GEMM tests.
is_designs = designs.map(lambda d: {**d, "array": {**d["array"], "dataflow": "is"},
                                    "features": {"im2col": False}})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.one_of(designs, is_designs), m=st.integers(1, 80), k=st.integers(1, 120),
       n=st.integers(1, 80),
       tiles=st.tuples(st.integers(1, 80), st.integers(1, 120), st.integers(1, 80)),
       order=st.sampled_from([("m", "n", "k"), ("n", "m", "k")]),
       quant=st.sampled_from(["raw", "scalar", "per_lane", "clamp", "bias"]))
def test_model_equals_the_replay(d, m, k, n, tiles, order, quant):
    cfg = config_from_dict(d, "random.yaml")
    tm, tk, tn = (min(t, x) for t, x in zip(tiles, (m, k, n)))
    mp = MappingConfig(tm, tk, tn, order)
    if cfg.chunk_fits(tm, tk, tn) is not None:
        mp = default_mapping(cfg, m, k, n)
    q = {"raw": Quant(), "scalar": Quant(raw=False, mult=5, shift=3),
         "per_lane": Quant(raw=False, mult=tuple(range(n)), shift=tuple([2] * n)),
         "clamp": Quant(raw=False, mult=5, shift=3, lo=-3, hi=90),
         "bias": Quant(raw=False, mult=5, shift=3, bias=tuple(range(n)))}[quant]
    prog = emit_gemm_program(cfg, m, k, n, mp, quant=q)
    ref = program_timing(cfg, prog.cmds)
    got = gemm_timing(cfg, m, k, n, mp, raw=q.raw, per_lane=q.per_lane, clamp=q.clamp,
                      bias=q.bias is not None)
    assert (got.cycles, got.compute_cycles, got.macs) == (ref.cycles, ref.compute_cycles,
                                                          ref.macs)
    assert got.commands == len(prog.cmds)
    loads = [decode(c) for c in prog.cmds if decode(c).op in (OP_LOAD_IN, OP_LOAD_W)]
    assert got.in_beats == sum(c.count for c in loads if c.op == OP_LOAD_IN) * cfg.link.in_word_beats
    assert got.w_beats == sum(c.count for c in loads if c.op == OP_LOAD_W) * cfg.link.w_word_beats
    assert got.out_beats == prog.n_dout
    per_word = cfg.dataflow == "input_stationary" and not q.raw and q.bias is not None
    nest = LoopNest(m, k, n, min(mp.tile_m, m), min(mp.tile_k, k), min(mp.tile_n, n),
                    tuple(mp.order), raw=q.raw, per_lane=q.per_lane or per_word, clamp=q.clamp)
    assert nest_beats(cfg, nest) == (got.in_beats, got.w_beats, got.out_beats)
    assert nest_lower_bound(cfg, nest) <= got.cycles
    assert gemm_lower_bound(cfg, m, k, n) <= got.cycles


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=designs, cin=st.integers(1, 40), hw=st.tuples(st.integers(1, 30), st.integers(1, 30)),
       cout=st.integers(1, 40), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.integers(1, 2), pad=st.integers(0, 1),
       mp=st.tuples(st.integers(1, 30), st.integers(1, 40), st.integers(1, 40)),
       order=st.sampled_from([("m", "n", "k"), ("n", "m", "k")]),
       preload=st.booleans(), raw=st.booleans())
def test_convolution_beats_and_bound(d, cin, hw, cout, k, stride, pad, mp, order, preload,
                                     raw):
    """A convolution's nest (input bands with padding at the edges, channel chunks): the
    beats counted without timing equal the exact model's, and the lower bound used to
    prune mapping searches never exceeds the exact cycles."""
    cfg = config_from_dict(d, "random.yaml")
    spec = ConvSpec(cin, hw[0], hw[1], cout, k[0], k[1], (stride, stride),
                    (pad, pad, pad, pad))
    if spec.h_out < 1 or spec.w_out < 1:
        return
    nest = conv_nest(cfg, spec, ConvMapping(*mp, order),
                     Quant() if raw else Quant(raw=False, mult=3), preload)
    t = nest_timing(cfg, nest)
    assert nest_beats(cfg, nest) == (t.in_beats, t.w_beats, t.out_beats)
    # the order-independent counts, taken from the same nest in the other order
    other = nest.with_chunks(nest.ct_chunk, nest.tile_n, (order[1], order[0], "k"))
    assert nest_beats(cfg, nest, beat_totals(cfg, other)) == (t.in_beats, t.w_beats,
                                                               t.out_beats)
    assert nest_lower_bound(cfg, nest) <= t.cycles


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.one_of(designs, is_designs), m=st.integers(1, 200), k=st.integers(1, 200),
       n=st.integers(1, 200), per_lane=st.booleans(), clamp=st.booleans(),
       preload=st.booleans())
def test_default_mapping_bound_is_below_its_exact_cycles(d, m, k, n, per_lane, clamp,
                                                         preload):
    """The bound a network plan uses to skip timing the host's im2col GEMM never exceeds
    the exact cycles of the GEMM under default_mapping's choice, with the output
    treatment and preload of a convolution."""
    cfg = config_from_dict(d, "random.yaml")
    mp = default_mapping(cfg, m, k, n)
    nest = gemm_nest(m, k, n, mp, raw=False, per_lane=per_lane, clamp=clamp, preload=preload)
    assert default_mapping_bound(cfg, m, k, n) <= nest_timing(cfg, nest).cycles


def test_huge_gemms_are_timed_in_milliseconds():
    cfg = load_config("os16")
    t0 = time.perf_counter()
    mp = default_mapping(cfg, 10**6, 4096, 10**6)
    g = gemm_timing(cfg, 10**6, 4096, 10**6, mp)
    assert time.perf_counter() - t0 < 1.0
    assert g.macs == 10**6 * 4096 * 10**6
    # 256 x 256 x 256 chunks of a 16 x 16 array: the array is busy 99.9 % of the time
    assert 0.99 < g.macs / (256 * g.cycles) <= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.integers(1, 6), depth=st.sampled_from([32, 96, 512]), banks=st.integers(1, 2),
       acc=st.sampled_from([32, 96, 512]), beat=st.integers(1, 7),
       m=st.integers(1, 80), k=st.integers(1, 120), n=st.integers(1, 80),
       order=st.sampled_from([("m", "n", "k"), ("n", "m", "k")]))
def test_input_stationary_is_weight_stationary_transposed(r, depth, banks, acc, beat, m, k,
                                                          n, order):
    """On a square array whose input and weight buffers are alike, the input-stationary
    program of C = A.B takes exactly the cycles of the weight-stationary program of
    C^T = B^T.A^T (M and N exchanged, the mapping's m and n too), as the replay of both
    programs says."""
    def design(df):
        return config_from_dict({
            "array": {"rows": r, "cols": r, "dataflow": df},
            "precision": {"max_k": 256},
            "buffers": {"input": {"depth": depth, "banks": banks},
                        "weight": {"depth": depth, "banks": banks},
                        "acc": {"depth": acc, "banks": banks}},
            "host": {"beat_elems": beat}, "features": {"im2col": False}}, "random.yaml")
    is_, ws = design("is"), design("ws")
    mp = default_mapping(is_, m, k, n)
    mp = MappingConfig(mp.tile_m, mp.tile_k, mp.tile_n, order)
    flip = {"m": "n", "n": "m", "k": "k"}
    mt = MappingConfig(mp.tile_n, mp.tile_k, mp.tile_m, tuple(flip[x] for x in mp.order))
    assert ws.chunk_fits(*mt.tile) is None
    a = program_timing(is_, emit_gemm_program(is_, m, k, n, mp).cmds)
    b = program_timing(ws, emit_gemm_program(ws, n, k, m, mt).cmds)
    assert (a.cycles, a.compute_cycles) == (b.cycles, b.compute_cycles)
