"""hwgen.nn.stochastic: the batched SC layer against the stream-by-stream golden model,
code conversion, and the MLP mapping against its float network."""
import dataclasses

import numpy as np
import pytest
import torch

from hwgen.config.sc import parse_sc
from hwgen.models import stochastic as model
from hwgen.nn.stochastic import ScMlp, bipolar_sum, int8_mlp_forward, sc_linear, to_codes

CASES = [
    dict(length=64, lfsr_width=7, seed=0x2B, fan_in=5, neurons=3, activation="relu"),
    dict(length=128, generator="vdc", fan_in=8, neurons=2, adder="mux", activation="stanh",
         sharing="per_operand", fsm_states=6),
    dict(length=32, generator="vdc", fan_in=3, neurons=4, activation="sign", sharing="per_operand"),
    dict(length=64, lfsr_width=6, adder="mux", fan_in=4, neurons=2, activation="stanh",
         sharing="per_operand", seed=0x21),
    dict(length=64, lfsr_width=9, fan_in=7, neurons=2, activation="stanh", fsm_states=12),
    dict(length=64, encoding="unipolar", lfsr_width=8, fan_in=6, neurons=2, activation="none",
         sharing="per_operand"),
    dict(length=128, encoding="unipolar", generator="vdc", adder="mux", fan_in=4, neurons=3,
         activation="none"),
    dict(length=256, lfsr_width=12, adder="mux", fan_in=16, neurons=2, activation="relu",
         sharing="per_operand"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_batched_layer_matches_model_bit_for_bit(case):
    cfg = parse_sc(CASES[case], "nn.yaml")
    rng = np.random.default_rng(40 + case)
    hi = 1 << cfg.value_bits
    x = rng.integers(0, hi, size=(9, cfg.fan_in))
    x[0] = hi - 1  # the extremes
    x[1] = 0
    w = rng.integers(0, hi, size=(cfg.neurons, cfg.fan_in))
    got = sc_linear(cfg, x, w, chunk=4)
    for b in range(len(x)):
        want = model.layer(cfg, x[b], w)
        assert got["count"][b].tolist() == [r["count"] for r in want], (case, b)
        assert got["y"][b].tolist() == [r["y"] for r in want], (case, b)


def test_codes_and_decoded_sum():
    assert to_codes([-1, 0, 0.5, 1, 2], 4).tolist() == [0, 8, 12, 15, 15]
    assert to_codes([0, 0.25, 1], 4, "unipolar").tolist() == [0, 4, 15]
    cfg = parse_sc(dict(length=64, fan_in=4, lfsr_width=6), "s")
    assert bipolar_sum(cfg, [0, 128, 256]).tolist() == [-4, 0, 4]
    mux = dataclasses.replace(cfg, adder="mux")
    assert bipolar_sum(mux, [0, 32, 64]).tolist() == [-4, 0, 4]


def _tiny_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(8, 4, bias=False))
    x = torch.rand(200, 8)
    return net, x.numpy().astype(np.float64)


def test_long_streams_approach_the_float_network():
    net, x = _tiny_net()
    with torch.no_grad():
        ref = net(torch.tensor(x, dtype=torch.float32)).double().numpy()
    errs = {}
    for L in (64, 4096):
        base = parse_sc(dict(length=L, generator="vdc", sharing="per_operand"), "s")
        mlp = ScMlp.from_torch(net, x, base, percentile=100)
        errs[L] = np.sqrt(np.mean((mlp.forward(x[:50])["logits"] - ref[:50]) ** 2))
    scale = np.sqrt(np.mean(ref ** 2))
    assert errs[4096] < 0.05 * scale
    assert errs[4096] < errs[64] / 3


def test_int8_reference_is_close_to_float():
    net, x = _tiny_net()
    with torch.no_grad():
        ref = net(torch.tensor(x, dtype=torch.float32)).double().numpy()
    mlp = ScMlp.from_torch(net, x, parse_sc({}, "s"), percentile=100)
    acc = int8_mlp_forward(mlp.weights, mlp.act_scales, x)
    W = mlp.weights
    unit = (np.abs(W[1]).max() / 127) * (mlp.act_scales[1] / 127)
    assert np.abs(acc * unit - ref).max() < 0.05 * np.abs(ref).max()
    assert (acc.argmax(1) == ref.argmax(1)).mean() > 0.95


def test_biased_layers_are_refused():
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="bias-free"):
        ScMlp.from_torch(net, np.zeros((1, 4)), parse_sc({}, "s"))
