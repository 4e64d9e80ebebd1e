"""Max pooling on the pooling unit (POOL), on the Amaranth simulator, on both dataflows:
random windows (kernel 1-3, stride 1-3, padding, dilation), odd channel counts, negative
values, bands forced by small buffers, one and two banks; bit-exact against max pooling
from its definition, cycles equal to the cycle model (command replay and max-plus)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen.compiler.pool import (PoolSpec, band_rows, emit_pool, only_padding, pool_block,
                                 pool_refusal)
from hwgen.config import config_from_dict
from hwgen.config.check import ConfigError
from hwgen.lib.errors import WorkloadError
from hwgen.models import maxplus as mx
from hwgen.models.perf import program_timing
from sim_tb.amaranth_sim import run_program_amaranth


def direct_max_pool(x, spec, lo, hi):
    """The definition: the largest input inside the window (padding never wins), one
    output pixel at a time, then the clamp."""
    ho, wo = spec.out_hw
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    t, l = spec.pad[:2]
    out = np.zeros((spec.c, ho, wo), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            taps = [x[:, iy, ix]
                    for iy in range(oy * sy - t, oy * sy - t + spec.kh * dy, dy)
                    for ix in range(ox * sx - l, ox * sx - l + spec.kw * dx, dx)
                    if 0 <= iy < spec.h and 0 <= ix < spec.w]
            out[:, oy, ox] = np.max(taps, axis=0)
    return np.clip(out, lo, hi)


def design(rows, cols, depth, beat, banks=2, dataflow="ws", maxpool=True, bits=8):
    return config_from_dict({
        "name": "pool", "array": {"rows": rows, "cols": cols, "dataflow": dataflow},
        "precision": {"in_bits": bits, "out_bits": bits},
        "buffers": {"input": {"depth": depth, "banks": banks},
                    "weight": {"depth": 16, "banks": banks},
                    "acc": {"depth": depth, "banks": banks}},
        "host": {"beat_elems": beat}, "features": {"maxpool": maxpool}}, "pool.yaml")


def valid_padding(k, d, pad):
    """Padding of at most half the window on each side (a window always holds a pixel);
    pad is (top, left, bottom, right)."""
    return all(2 * p <= d[i % 2] * (k[i % 2] - 1) + 1 for i, p in enumerate(pad))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.integers(1, 9), hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.tuples(*[st.integers(0, 2)] * 4), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       arr=st.sampled_from([(2, 2), (3, 2), (2, 4), (4, 3)]), beat=st.integers(1, 4),
       depth=st.sampled_from([24, 40, 256]), banks=st.sampled_from([1, 2]),
       clamp=st.sampled_from([(-128, 127), (0, 127), (-20, 30)]),
       seed=st.integers(0, 999), dataflow=st.sampled_from(["ws", "os"]))
def test_random_max_pooling_bit_exact(c, hw, k, stride, pad, dil, arr, beat, depth, banks,
                                      clamp, seed, dataflow):
    # padding beyond half the window is cut to it (such windows could hold only padding)
    pad = tuple(min(p, (dil[i % 2] * (k[i % 2] - 1) + 1) // 2) for i, p in enumerate(pad))
    spec = PoolSpec(c, *hw, *k, stride, pad, dil)
    ho, wo = spec.out_hw
    assert valid_padding(k, dil, pad)
    if ho < 1 or wo < 1:
        return
    cfg = design(*arr, depth, beat, banks, dataflow)
    if band_rows(cfg, spec) < 1 or only_padding(spec):
        with pytest.raises(WorkloadError, match="max pooling on the host"):
            emit_pool(cfg, spec, None, *clamp)
        return
    x = np.random.default_rng(seed).integers(-128, 128, (c, *hw))
    prog = emit_pool(cfg, spec, x, *clamp)
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed,
                               max_cycles=200_000)
    assert not res.timed_out
    assert (prog.decode(cfg, res.dout) == direct_max_pool(x, spec, *clamp)).all(), spec
    assert res.cycles == program_timing(cfg, prog.cmds).cycles
    assert res.cycles == mx.finish(pool_block(cfg, spec, *clamp))


def test_window_of_only_padding_stays_on_the_host():
    """A 1x2 window with dilation 2 and one pixel of padding each side, over a one-pixel
    image: its two taps miss the image (padding within half the window all the same), so
    the unit, which writes an output from the taps inside the image, refuses it."""
    spec = PoolSpec(1, 1, 1, 1, 2, (1, 1), (0, 1, 0, 1), (1, 2))
    assert spec.out_hw == (1, 1) and valid_padding((1, 2), (1, 2), spec.pad)
    assert only_padding(spec)
    assert not only_padding(PoolSpec(1, 1, 3, 1, 2, (1, 1), (0, 1, 0, 1), (1, 2)))
    with pytest.raises(WorkloadError, match="a window holds only padding"):
        emit_pool(design(2, 2, 24, 1), spec, None, -128, 127)


def test_bands_and_tiles_with_stalls():
    """A 3x3/2 pooling (ResNet's) over several bands and channel tiles, with the host
    stalling at random: still exact (cycles are only exact without stalls)."""
    cfg = design(4, 4, 64, 3)
    spec = PoolSpec(10, 15, 11, 3, 3, (2, 2), (1, 1, 1, 1))
    assert band_rows(cfg, spec) < spec.out_hw[0]
    x = np.random.default_rng(3).integers(-128, 128, (10, 15, 11))
    prog = emit_pool(cfg, spec, x, 0, 127)
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=4, stall_pct=30)
    assert not res.timed_out
    assert (prog.decode(cfg, res.dout) == direct_max_pool(x, spec, 0, 127)).all()


def test_global_max_pool_and_wide_operands():
    """The window is the whole map (global max pooling), 16-bit operands."""
    cfg = design(2, 3, 128, 2, bits=16)
    spec = PoolSpec(5, 7, 6, 7, 6)
    x = np.random.default_rng(5).integers(-30000, 30000, (5, 7, 6))
    prog = emit_pool(cfg, spec, x, -(1 << 15), (1 << 15) - 1)
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout)
    assert (prog.decode(cfg, res.dout)[:, 0, 0] == x.reshape(5, -1).max(axis=1)).all()
    assert res.cycles == program_timing(cfg, prog.cmds).cycles


def test_refusals():
    spec = PoolSpec(4, 8, 8, 3, 3, (2, 2), (1, 1, 1, 1))
    assert pool_refusal(design(2, 2, 64, 2), spec, -128, 127) is None
    assert "features.maxpool" in pool_refusal(design(2, 2, 64, 2, maxpool=False), spec, 0, 9)
    wide = PoolSpec(1, 4, 600, 1, 512)
    assert "exceeds the pooling unit's 511x511" in pool_refusal(design(2, 2, 4096, 2), wide, 0, 9)
    tall = PoolSpec(1, 64, 64, 3, 3)
    assert "an input bank holds 128" in pool_refusal(design(2, 2, 128, 2), tall, 0, 9)
    assert "outside the 8-bit output range" in pool_refusal(design(2, 2, 64, 2), spec, -200, 9)
    with pytest.raises(WorkloadError, match="^max pooling on the host: one output row"):
        emit_pool(design(2, 2, 128, 2), tall, None, 0, 9)


def test_config_needs_the_address_generator():
    with pytest.raises(ConfigError, match=r"pool.yaml: features.maxpool: needs features.im2col"):
        config_from_dict({"name": "p", "array": {"rows": 2, "cols": 2},
                          "features": {"maxpool": True, "im2col": False}}, "pool.yaml")
    with pytest.raises(ConfigError, match=r"features.maxpool: must be true or false"):
        config_from_dict({"name": "p", "array": {"rows": 2, "cols": 2},
                          "features": {"maxpool": "yes"}}, "pool.yaml")


def test_compile_emits_pool_commands_and_names_no_host_pooling(tmp_path, capsys):
    """``hwgen compile`` on a design with the pooling unit: both max pools of the every-op
    ONNX model are programs with POOL commands (their cycles the replay's), and neither
    is on the host; without the unit they are, with the reason."""
    import json

    from hwgen.cli import main
    from hwgen.lib.protocol import OP_POOL, opcode

    from .test_frontend_onnx import every_op_model, save
    model = save(every_op_model(), tmp_path / "every_op.onnx")
    base = {"name": "p", "array": {"rows": 3, "cols": 5, "dataflow": "os"},
            "buffers": {"input": {"depth": 512}, "weight": {"depth": 512},
                        "acc": {"depth": 256}}, "host": {"beat_elems": 4}}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({**base, "features": {"maxpool": True}}))
    assert main(["compile", str(path), "--model", str(model), "-o", str(tmp_path / "pkg"),
                 "-q"]) == 0
    capsys.readouterr()
    man = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    pools = [d for d in man["layers"] if d["op"] == "maxpool"]
    cfg = config_from_dict({**base, "features": {"maxpool": True}}, "p.yaml")
    assert len(pools) == 2
    for d in pools:
        assert d["where"] == "pool" and d["output_path"][0] == "identity requantization"
        cmds = [int(w, 16) for w in (tmp_path / "pkg" / d["program"]).read_text().split()]
        assert sum(opcode(c) == OP_POOL for c in cmds) >= 1
        assert program_timing(cfg, cmds).cycles == d["cycles"]
    path.write_text(json.dumps(base))
    assert main(["estimate", str(path), "--model", str(model), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    host = {d["name"]: d["why"] for d in rep["host_ops"]}
    assert host["mp"] == host["mp2"] == "max pooling: p has no pooling unit (features.maxpool)"


def test_pool_unit_refuses_a_bad_config():
    from hwgen.ctrl import PoolUnit
    with pytest.raises(TypeError, match=r"^PoolUnit cfg must be a AcceleratorConfig"):
        PoolUnit("ws16")
