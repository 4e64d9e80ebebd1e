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
    assert ("im2col on chip" in hows["conv1"]) == cfg.features.im2col
    assert "depthwise" in hows["pool"] and plan.totals()["host_ops"] == []
    total = 0
    for lprog in network_programs(cfg, plan, env):
        lp, prog = lprog.plan, lprog.program
        res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=1,
                                   max_cycles=2_000_000)
        assert not res.timed_out
        got = lprog.decode(cfg, res.dout, env[lp.layer.output].shape)
        assert (got == env[lp.layer.output]).all(), lp.layer.name
        assert res.cycles == lp.cycles == program_timing(cfg, prog.cmds).cycles, lp.layer.name
        total += res.cycles
    assert total == plan.totals()["cycles"]


def test_refusals(digits):
    with pytest.raises(WorkloadError, match=r"^layer conv1: per-channel requantization "
                                            r"needs features\.lane_quant, which ice40 "
                                            r"leaves out$"):
        plan_network(load_config("ice40"), digits)
    four = load_config("tiny").replace(precision=load_config("tiny").precision.__class__(
        in_bits=4, max_k=1024))
    with pytest.raises(WorkloadError, match=r"^the network is quantized to 8 bits"):
        plan_network(four, digits)
