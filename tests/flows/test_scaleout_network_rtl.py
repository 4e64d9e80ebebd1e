"""A whole network on the Verilog of a multi-pod and of a heterogeneous design (as
`hwgen generate` writes them) on Icarus and Verilator through cocotb: every layer
bit-exact against the integer reference, its cycles, start and end those of the
estimate (on the engines: of the schedule)."""
import numpy as np
import pytest

from hwgen.compiler import scaleout as so
from sim_tb.scaleout_network import run_engines_network, run_pods_network
from tests.unit.test_scaleout_run import het, pods, small_net

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(5)
    q = small_net(rng)
    return q, q.run(rng.integers(-128, 128, (2, 3, 5, 5)))


@pytest.mark.parametrize("kind,sim", [
    ("pods", "icarus"), pytest.param("engines", "icarus", marks=slow),
    pytest.param("pods", "verilator", marks=slow),
    pytest.param("engines", "verilator", marks=slow),
    pytest.param("bus", "icarus", marks=slow), pytest.param("bus", "verilator", marks=slow)])
def test_network_on_rtl(net, kind, sim):
    q, env = net
    if kind in ("pods", "bus"):
        cfg = pods(kind="bus") if kind == "bus" else pods()
        est = so.plan_pods(cfg, q, n_images=2).report()
        run = run_pods_network(cfg, q, env, 2, sim=sim)
        ends = np.cumsum([d["cycles"] for d in est["layers"]])
        assert [(r.extra["start"], r.extra["end"]) for r in run.layers if r.where == "pods"] \
            == [(e - d["cycles"], e) for d, e in zip(est["layers"], ends) if d["where"] == "pods"]
    else:
        cfg = het()
        est = so.schedule_layers(cfg, [("small", q)], n_images=2).report()
        run = run_engines_network(cfg, q, env, 2, sim=sim)
        assert [(r.extra["engine"], r.extra["start"], r.extra["end"]) for r in run.layers] \
            == [(d["engine"], d["start"], d["end"]) for d in est["layers"]]
    assert run.correct and run.cycles_match and run.cycles == est["cycles"]
    assert [r.cycles for r in run.layers] == [d["cycles"] for d in est["layers"]]
    for o in q.outputs:
        assert (run.outputs[o] == env[o]).all()
