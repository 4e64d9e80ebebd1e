"""Max pooling on the pooling unit in the generated Verilog: seeded random windows
(kernel 1-3, stride 1-3, padding, dilation, odd channel counts, negative values) and one
image of several bands on Icarus and Verilator, bit-exact against max pooling from its
definition with cycles equal to the cycle model; and a small torch CNN with three max
pools (one over the whole map, one dilated) through ``hwgen run`` on Verilator on a
weight- and an output-stationary design: every layer bit-exact, cycles equal to the
estimate, no max pooling left on the host. The output-stationary Verilator runs (a
second build) are slow tests."""
import json
import random

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.compiler.pool import PoolSpec, band_rows, emit_pool
from hwgen.emit import cached_verilog
from hwgen.models.perf import program_timing
from sim_tb.runner import run_program

from ..unit.test_pool import direct_max_pool


#: The designs (shared by the random poolings and the CNN, so one build each).
DESIGNS = {
    "ws": {"name": "ws4x3p", "array": {"rows": 4, "cols": 3, "dataflow": "ws"}},
    "os": {"name": "os3x5p", "array": {"rows": 3, "cols": 5, "dataflow": "os"}}}
COMMON = {"buffers": {"input": {"depth": 512}, "weight": {"depth": 512}, "acc": {"depth": 256}},
          "host": {"beat_elems": 4}, "features": {"maxpool": True}}


def pool_design(dataflow):
    return {**DESIGNS[dataflow], **COMMON}


def random_pools(seed: int, n: int):
    """n random max poolings (spec, clamp, input), and one large enough for several
    bands."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        k = (rng.randint(1, 3), rng.randint(1, 3))
        dil = (rng.randint(1, 2), rng.randint(1, 2))
        pad = tuple(rng.randint(0, (dil[i % 2] * (k[i % 2] - 1) + 1) // 2) for i in range(4))
        spec = PoolSpec(rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9), *k,
                        (rng.randint(1, 3), rng.randint(1, 3)), pad, dil)
        ho, wo = spec.out_hw
        if ho < 1 or wo < 1:
            continue
        x = np.random.default_rng(len(out) + seed).integers(-128, 128, (spec.c, spec.h, spec.w))
        out.append((spec, rng.choice([(-128, 127), (0, 127), (-20, 30)]), x))
    big = PoolSpec(7, 40, 30, 3, 3, (2, 2), (1, 1, 1, 1))
    out.append((big, (-128, 127), np.random.default_rng(seed).integers(-128, 128, (7, 40, 30))))
    return out


@pytest.mark.parametrize("sim,dataflow", [
    ("icarus", "ws"), ("icarus", "os"), ("verilator", "ws"),
    pytest.param("verilator", "os", marks=pytest.mark.slow)])
def test_random_max_pooling_on_the_simulators(sim, dataflow):
    from hwgen.config import config_from_dict
    cfg = config_from_dict(pool_design(dataflow), "pool.yaml")
    verilog = cached_verilog(cfg)
    pools = random_pools(7 if dataflow == "ws" else 8, 6)
    assert band_rows(cfg, pools[-1][0]) < pools[-1][0].out_hw[0]   # several bands
    for spec, clamp, x in pools:
        prog = emit_pool(cfg, spec, x, *clamp)
        r = run_program(verilog, cfg.params(), prog.cmds, prog.din, prog.n_dout, sim=sim)
        assert not r.timed_out, spec
        assert (prog.decode(cfg, r.dout) == direct_max_pool(x, spec, *clamp)).all(), spec
        assert r.cycles == program_timing(cfg, prog.cmds).cycles, spec


def pooling_cnn(path):
    """A small CNN with a 3x3/2 max pool (padding 1), a dilated 2x2 one and a max pool
    over the whole map, saved with torch.export."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 5, 3, padding=1)
            self.p1 = nn.MaxPool2d(3, 2, padding=1)
            self.c2 = nn.Conv2d(5, 7, 3, padding=1)
            self.p2 = nn.MaxPool2d(2, 1, dilation=2)
            self.p3 = nn.MaxPool2d(4)
            self.fc = nn.Linear(7, 4)

        def forward(self, x):
            x = self.p1(torch.relu(self.c1(x)))
            x = self.p3(self.p2(self.c2(x)))
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(0)
    ep = torch.export.export(Net().eval(), (torch.zeros(1, 3, 12, 12),))
    torch.export.save(ep, str(path))
    return path


@pytest.mark.parametrize("dataflow", ["ws", pytest.param("os", marks=pytest.mark.slow)])
def test_cnn_with_max_pools_through_hwgen_run(dataflow, tmp_path, capsys):
    cfg = pool_design(dataflow)
    path = tmp_path / f"{cfg['name']}.yaml"
    path.write_text(json.dumps(cfg))
    model = pooling_cnn(tmp_path / "pools.pt2")
    code = main(["estimate", str(path), "--model", str(model), "--json"])
    est = json.loads(capsys.readouterr().out)
    assert code == 0 and est["host_ops"] == []
    pools = [d for d in est["layers"] if d["op"] == "maxpool"]
    assert len(pools) == 3 and all(d["where"] == "pool" and d["cycles"] > 0 for d in pools)
    code = main(["run", str(path), "--model", str(model), "--sim", "verilator", "--images",
                 "2", "--json", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rep = json.loads(out)
    assert rep["correct"] and rep["cycles_match"] and rep["cycles"] == rep["estimate_cycles"]
    ran = [d for d in rep["layers"] if d["op"] == "maxpool"]
    assert len(ran) == 3 and all(d["where"] == "pool" and d["bit_exact"]
                                 and d["cycles"] == d["estimate_cycles"] for d in ran)
