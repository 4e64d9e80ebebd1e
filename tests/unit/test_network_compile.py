"""Networks on the accelerator, on the Amaranth simulator: every layer of the digits CNN
(convolutions, a residual add through the accumulator preload, an average pool as a
depthwise convolution, a linear layer) bit-exact against the integer reference, with
cycles equal to the plan's, on output- and weight-stationary designs with im2col on chip
and on one without the address generator (host im2col)."""
import numpy as np
import pytest

from hwgen.compiler.network import network_programs, plan_network
from hwgen.config import config_from_dict, load_config
from hwgen.frontend import load_model
from hwgen.lib.errors import WorkloadError
from hwgen.models.perf import program_timing
from sim_tb.amaranth_sim import run_program_amaranth

WS_TINY = {"name": "tinyws", "array": {"rows": 4, "cols": 3, "dataflow": "ws"},
           "buffers": {"input": {"depth": 512}, "weight": {"depth": 512},
                       "acc": {"depth": 256}},
           "host": {"beat_elems": 4}}


@pytest.fixture(scope="module")
def digits():
    return load_model("digits_cnn")


NO_IM2COL = {"name": "plain", "array": {"rows": 2, "cols": 3, "dataflow": "os"},
             "features": {"im2col": False}}


def layers_on_amaranth(cfg, plan, env) -> list:
    """Every layer's program of ``plan`` on the Amaranth simulator, each checked bit-exact
    against ``env`` (the integer reference) and taking the plan's cycles; (layer
    program, result) per layer."""
    out = []
    for lprog in network_programs(cfg, plan, env):
        lp, prog = lprog.plan, lprog.program
        res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=1,
                                   max_cycles=2_000_000)
        assert not res.timed_out
        got = lprog.decode(cfg, res.dout, env[lp.layer.output].shape)
        assert (got == env[lp.layer.output]).all(), lp.layer.name
        assert res.cycles == lp.cycles, lp.layer.name
        out.append((lprog, res))
    return out


@pytest.mark.parametrize("cfg", [load_config("tiny"), config_from_dict(WS_TINY, "ws.yaml"),
                                 config_from_dict(NO_IM2COL, "plain.yaml")],
                         ids=["os-im2col-on-chip", "ws-im2col-on-chip", "os-host-im2col"])
def test_digits_cnn_bit_exact_layer_by_layer(cfg, digits):
    rng = np.random.default_rng(3)
    n = 2 if cfg.name == "tinyws" else 1   # the batch path once
    x = digits.quantize_input(rng.normal(size=(n, 1, 8, 8)))
    env = digits.run(x)
    plan = plan_network(cfg, digits, n_images=n)
    hows = {lp.layer.name: lp.how for lp in plan.layers}
    for name in ("conv1", "conv2", "conv3"):
        if cfg.features.im2col:   # the address generator, or the host where it is faster
            assert hows[name].endswith(("im2col on chip", "(fewer cycles than on chip for "
                                        "this layer)")), hows[name]
        else:
            assert hows[name].endswith(", host im2col"), hows[name]
    assert "depthwise" in hows["pool"] and plan.totals()["host_ops"] == []
    total = 0
    for lprog, res in layers_on_amaranth(cfg, plan, env):
        cmds, name = lprog.program.cmds, lprog.plan.layer.name
        assert res.cycles == program_timing(cfg, cmds).cycles, name
        total += res.cycles
    assert total == plan.totals()["cycles"]


IS_TINY = {"name": "tinyis", "array": {"rows": 3, "cols": 4, "dataflow": "is"},
           "buffers": {"input": {"depth": 512}, "weight": {"depth": 512},
                       "acc": {"depth": 256}},
           "host": {"beat_elems": 3}, "features": {"im2col": False}}


def test_digits_cnn_plan_on_input_stationary(digits):
    """An input-stationary design runs the digits CNN with the host's im2col; every
    layer's program (per-column requantization and the residual preload one C^T word at
    a time) takes the plan's cycles in the command-by-command replay."""
    cfg = config_from_dict(IS_TINY, "is.yaml")
    x = digits.quantize_input(np.random.default_rng(4).normal(size=(1, 1, 8, 8)))
    env = digits.run(x)
    plan = plan_network(cfg, digits)
    hows = {lp.layer.name: lp.how for lp in plan.layers}
    assert all(hows[n].endswith(", host im2col") for n in ("conv1", "conv2", "conv3"))
    total = 0
    for lprog in network_programs(cfg, plan, env):
        assert program_timing(cfg, lprog.program.cmds).cycles == lprog.plan.cycles
        total += lprog.plan.cycles
    assert total == plan.totals()["cycles"]


@pytest.mark.slow
def test_digits_cnn_bit_exact_on_input_stationary(digits):
    """The digits CNN on a 3x4 input-stationary design on the Amaranth simulator,
    layer by layer bit-exact, cycles equal to the plan (about a minute)."""
    cfg = config_from_dict(IS_TINY, "is.yaml")
    x = digits.quantize_input(np.random.default_rng(3).normal(size=(1, 1, 8, 8)))
    env = digits.run(x)
    plan = plan_network(cfg, digits)
    layers_on_amaranth(cfg, plan, env)   # every layer bit-exact, in the plan's cycles


def test_refusals(digits):
    with pytest.raises(WorkloadError, match=r"^layer conv1: per-channel requantization "
                                            r"needs features\.lane_quant, which ice40 "
                                            r"leaves out$"):
        plan_network(load_config("ice40"), digits)
    four = load_config("tiny").replace(precision=load_config("tiny").precision.__class__(
        in_bits=4, max_k=1024))
    with pytest.raises(WorkloadError, match=r"^the network is quantized to 8 bits"):
        plan_network(four, digits)


def test_host_im2col_only_where_the_cycle_model_says_it_is_faster(digits, monkeypatch):
    """With the address generator, a layer goes the host's way only when that is at least
    a tenth faster by the exact cycle model; such a layer is timed exactly as on a design
    without the generator, the others exactly as when every layer stays on chip."""
    from hwgen.compiler import network as net
    from hwgen.config import FeaturesConfig
    gain = net.HOST_IM2COL_GAIN
    for preset in ("ws16", "os16", "tiny"):
        cfg = load_config(preset)
        plain = cfg.replace(features=FeaturesConfig(im2col=False))
        net._host_faster.cache_clear()
        on, host = plan_network(cfg, digits), plan_network(plain, digits)
        monkeypatch.setattr(net, "HOST_IM2COL_GAIN", 0.0)     # never the host's way
        net._host_faster.cache_clear()
        chip = plan_network(cfg, digits)
        monkeypatch.setattr(net, "HOST_IM2COL_GAIN", gain)
        net._host_faster.cache_clear()
        hosted = 0
        for a, b, c in zip(on.layers, host.layers, chip.layers):
            if a.where != "array" or a.layer.op == "linear":
                continue
            assert c.how.endswith("im2col on chip")
            if "host im2col" in a.how:
                hosted += 1
                assert a.cycles == b.cycles < gain * c.cycles, (preset, a.layer.name)
            else:
                assert a.how.endswith("im2col on chip")
                assert a.cycles == c.cycles and b.cycles >= gain * c.cycles, (preset,
                                                                            a.layer.name)
        if preset == "ws16":   # one input channel on 16 rows: the host's 9-wide rows win
            assert hosted >= 1 and "host im2col" in on.layers[0].how
