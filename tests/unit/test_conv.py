"""Convolutions with im2col on chip, on the Amaranth simulator, on both dataflows (the
output-stationary one in both layouts): random
shapes (kernel, stride, padding, dilation, odd channel counts), chunked into bands,
channel and output-channel chunks by small buffers, with residual preload and
per-channel requantization, bit-exact against a direct convolution; cycles equal to the
cycle model."""
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen.compiler.conv import (ConvMapping, ConvSpec, conv_mapping, conv_nest, conv_output,
                                 emit_conv, fits, is_flat)
from hwgen.compiler.program import Quant
from hwgen.config import config_from_dict
from hwgen.lib.errors import WorkloadError
from hwgen.models.gemm import requantize
from hwgen.models.perf import nest_timing, program_timing
from sim_tb.amaranth_sim import run_program_amaranth


def direct_conv(x, w, spec):
    """The convolution from its definition, one output pixel at a time."""
    cin, h, wd = x.shape
    t, l, b, r = spec.pad
    xp = np.zeros((cin, h + t + b, wd + l + r), dtype=np.int64)
    xp[:, t:t + h, l:l + wd] = x
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    out = np.zeros((spec.cout, spec.h_out, spec.w_out), dtype=np.int64)
    for oy in range(spec.h_out):
        for ox in range(spec.w_out):
            patch = xp[:, oy * sy:oy * sy + dy * (spec.kh - 1) + 1:dy,
                       ox * sx:ox * sx + dx * (spec.kw - 1) + 1:dx]
            out[:, oy, ox] = np.einsum("ckl,ockl->o", patch, w)
    return out


def design(rows, cols, depth_in, depth_w, depth_acc, beat, banks=2, dataflow="ws"):
    return config_from_dict({
        "name": "conv", "array": {"rows": rows, "cols": cols, "dataflow": dataflow},
        "precision": {"max_k": 4096},
        "buffers": {"input": {"depth": depth_in, "banks": banks},
                    "weight": {"depth": depth_w, "banks": banks},
                    "acc": {"depth": depth_acc, "banks": banks}},
        "host": {"beat_elems": beat}}, "conv.yaml")


def run(cfg, spec, mp, x, w, quant=Quant(), residual=None, factors=None, seed=1, stall=0):
    prog, nest = emit_conv(cfg, spec, mp, x, w, quant, residual, factors)
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed,
                               stall_pct=stall, max_cycles=3_000_000)
    assert not res.timed_out
    got = conv_output(nest, prog.decode(cfg, res.dout).astype(np.int64))
    return got, res, prog, nest


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cin=st.integers(1, 9), hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       cout=st.integers(1, 9), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.tuples(*[st.integers(0, 2)] * 4), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       arr=st.sampled_from([(2, 2), (3, 2), (2, 4), (4, 4)]), beat=st.integers(1, 4),
       small=st.booleans(), seed=st.integers(0, 999), dataflow=st.sampled_from(["ws", "os"]),
       flat=st.sampled_from([None, True, False]))
def test_random_convolutions_bit_exact(cin, hw, cout, k, stride, pad, dil, arr, beat, small,
                                       seed, dataflow, flat):
    h, wd = hw
    spec = ConvSpec(cin, h, wd, cout, k[0], k[1], stride, pad, dil)
    if spec.h_out < 1 or spec.w_out < 1:
        return
    depth = 48 if small else 512
    cfg = design(*arr, depth, depth, depth, beat, dataflow=dataflow)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (cin, h, wd))
    w = rng.integers(-127, 128, (cout, cin, *k))
    try:
        mp = conv_mapping(cfg, spec)
    except WorkloadError:
        return   # a band of one output row does not fit 48 words: refused, checked below
    if dataflow == "os" and flat is not None:   # the layout forced, either way
        mp = dataclasses.replace(mp, flat=flat)
        if fits(cfg, conv_nest(cfg, spec, mp)) is not None:
            return
    got, res, prog, nest = run(cfg, spec, mp, x, w, seed=seed)
    assert nest.flat == (dataflow == "os" and (is_flat(spec, arr[0]) if flat is None else flat))
    assert (got == direct_conv(x, w, spec)).all(), (spec, mp)
    assert res.cycles == program_timing(cfg, prog.cmds).cycles == nest_timing(cfg, nest).cycles


@pytest.mark.parametrize("dataflow,depths,ct,flat", [("ws", (96, 80, 64), 1, None),
                                                     ("os", (240, 80, 64), 4, False),
                                                     ("os", (240, 80, 64), 4, True)])
def test_chunked_in_every_dimension_with_preload_and_per_channel_requant(dataflow, depths, ct,
                                                                         flat):
    cfg = design(4, 4, *depths, 4, dataflow=dataflow)
    spec = ConvSpec(11, 10, 7, 10, 3, 3, (1, 1), (1, 1, 1, 1))
    mp = ConvMapping(rows=3, ct=ct, tile_n=8, flat=flat)   # 4 bands x 3 channel chunks x 2
    assert fits(cfg, conv_nest(cfg, spec, mp)) is None
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (11, 10, 7))
    w = rng.integers(-127, 128, (10, 11, 3, 3))
    residual = rng.integers(-128, 128, (10, spec.h_out, spec.w_out))
    factors = rng.integers(0, 300, 10)
    bias = tuple(int(v) for v in rng.integers(-5000, 5000, 10))
    mult = tuple(int(v) for v in rng.integers(1, 1 << 16, 10))
    shift = tuple(int(v) for v in rng.integers(14, 24, 10))
    quant = Quant(raw=False, mult=mult, shift=shift, bias=bias, relu=True, hi=100)
    got, res, prog, nest = run(cfg, spec, mp, x, w, quant, residual, factors, stall=20)
    acc = direct_conv(x, w, spec) + residual * factors[:, None, None]
    want = requantize(acc.transpose(1, 2, 0).reshape(-1, 10), bias, mult, shift, 8, True,
                      hi=100).astype(np.int64).reshape(spec.h_out, spec.w_out, 10)
    assert (got == want.transpose(2, 0, 1)).all()
    assert nest.counts == (4, 3, 2)


def test_refusals():
    plain = config_from_dict({"array": {"dataflow": "os"}, "features": {"im2col": False}},
                             "plain.yaml")
    with pytest.raises(WorkloadError, match=r"^convolutions on chip need features\.im2col, "
                                            r"which plain leaves out$"):
        emit_conv(plain, ConvSpec(3, 4, 4, 4, 3, 3), ConvMapping(2, 1, 4))
    wide = design(2, 2, 512, 512, 512, 2, dataflow="os")
    with pytest.raises(WorkloadError, match=r"takes a stride up to 255, this convolution "
                                            r"needs 300$"):
        emit_conv(wide, ConvSpec(1, 4, 600, 1, 1, 1, (1, 300)), ConvMapping(1, 1, 1))
    tiny = design(2, 2, 8, 64, 64, 2)
    with pytest.raises(WorkloadError, match=r"^no chunk of a 4x5x9 input with a 3x3 kernel "
                                            r"fits the buffers"):
        conv_mapping(tiny, ConvSpec(4, 5, 9, 4, 3, 3))


def test_a_band_inside_the_padded_edge_is_the_largest():
    """Two rows of padding clip the first two bands of one output row (1 and 2 of the
    kernel's 3 input rows): the third band is the largest, and a mapping whose middle
    bands do not fit the input buffer is refused (it was taken, and computed garbage)."""
    cfg = design(2, 4, 48, 48, 48, 1)
    spec = ConvSpec(5, 6, 9, 6, 3, 2, (1, 1), (2, 0, 2, 0))
    assert "input buffer needs 54 words" in fits(cfg, conv_nest(cfg, spec, ConvMapping(1, 2, 6)))
    rng = np.random.default_rng(0)
    x, w = rng.integers(-128, 128, (5, 6, 9)), rng.integers(-127, 128, (6, 5, 3, 2))
    got, *_ = run(cfg, spec, conv_mapping(cfg, spec), x, w)
    assert (got == direct_conv(x, w, spec)).all()
