"""An SC layer's generated Verilog on Icarus Verilog and Verilator through cocotb,
bit-exact against hwgen.models.stochastic on random codes."""
import json

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.config.sc import parse_sc
from hwgen.models import stochastic as model
from hwgen.units.stochastic import ScLayer
from sim_tb.runner import run_unit

CFG = dict(length=64, encoding="bipolar", generator="lfsr", lfsr_width=7, seed=0x35,
           adder="counter", fan_in=6, neurons=2, activation="relu", parallelism=2)
SEED = 11
# The design is small, so cocotb may keep every signal public (no wrapper here marks the
# ports); Icarus reads Yosys's Verilog-2005 initialisation only in -g2005 mode.


def pack(codes, bits):
    return sum(int(c) << (i * bits) for i, c in enumerate(codes))


def unpack(v, bits, k):
    return [(v >> (i * bits)) & ((1 << bits) - 1) for i in range(k)]


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_sc_layer_rtl_bit_exact(sim, tmp_path):
    cfg = parse_sc(CFG, "flow.yaml")
    rng = np.random.default_rng(SEED)
    hi = 1 << cfg.value_bits
    cases, want = [], []
    for _ in range(4):
        x = rng.integers(0, hi, size=cfg.fan_in)
        w = rng.integers(0, hi, size=(cfg.neurons, cfg.fan_in))
        cases.append({"x": str(pack(x, cfg.value_bits)),
                      "w": str(pack(w.ravel(), cfg.value_bits))})
        want.append(model.layer(cfg, x, w))
    # The extremes: every product +1, then every product -1.
    top = hi - 1
    for xv, wv in ((top, top), (0, top)):
        x, w = [xv] * cfg.fan_in, np.full((cfg.neurons, cfg.fan_in), wv)
        cases.append({"x": str(pack(x, cfg.value_bits)), "w": str(pack(w.ravel(), cfg.value_bits))})
        want.append(model.layer(cfg, x, w))

    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps({"cases": cases}))
    result = tmp_path / "result.json"
    run_unit(verilog.convert(ScLayer(cfg), name="sc_layer"), "sc_layer", "sim_tb.test_stochastic",
             tmp_path, sim=sim, seed=SEED,
             plusargs=[f"+vectors_file={vectors}", f"+result_file={result}"])
    got = json.loads(result.read_text())
    assert len(got) == len(cases), f"{sim}: {len(got)} of {len(cases)} cases ran (seed {SEED})"
    cw = cfg.count_width
    for i, (g, w) in enumerate(zip(got, want)):
        assert g["cycles"] == cfg.cycles + 1, (sim, i)
        assert unpack(g["count"], cw, cfg.neurons) == [r["count"] for r in w], \
            f"{sim} case {i}: count differs from the model (seed {SEED})"
        assert unpack(g["y"], cw, cfg.neurons) == [r["y"] for r in w], \
            f"{sim} case {i}: activation differs from the model (seed {SEED})"
