"""Whole networks on scale-out designs (``hwgen run`` on ``pods:`` and
``subaccelerators:``): every layer bit-exact against the integer reference on the
Amaranth simulator, its cycles those ``hwgen estimate --model`` gives, and the engines'
layers starting and ending where the schedule puts them."""
import numpy as np
import pytest

from hwgen.compiler import scaleout as so
from hwgen.config import (AcceleratorConfig, ArrayConfig, BufferConfig, BuffersConfig,
                          HostConfig, PrecisionConfig)
from hwgen.config.scaleout import PodsConfig
from hwgen.config.schema import SubAcceleratorConfig
from hwgen.models.network import QLayer, QNet, QTensor
from sim_tb.pods import Job, run_jobs_amaranth
from sim_tb.scaleout_network import (run_engines_network, run_engines_networks,
                                     run_pods_network, run_pods_networks)

PREC = PrecisionConfig(in_bits=8, out_bits=8, max_k=4096)
BUFS = BuffersConfig(BufferConfig(64), BufferConfig(64), BufferConfig(64))


def pods(P=4, kind="butterfly", tiling="sosa", df="ws"):
    return AcceleratorConfig(name="p", array=ArrayConfig(2, 2, df), precision=PREC,
                             buffers=BUFS, host=HostConfig(2),
                             pods=PodsConfig(P, kind, tiling))


def het():
    return AcceleratorConfig(name="h", precision=PREC, buffers=BUFS, host=HostConfig(2),
                             subaccelerators=(SubAcceleratorConfig("ws", ArrayConfig(2, 4, "ws")),
                                              SubAcceleratorConfig("os", ArrayConfig(4, 2, "os"))))


def small_net(rng):
    """conv 3x3 (3 -> 6, 5x5) -> depthwise 3x3 -> pointwise with the conv's output as
    residual -> grouped 1x1 (2 groups, 6 -> 4) -> avgpool 2x2 -> maxpool 2x2 -> flatten
    -> linear 4 -> 5, with ReLU, ReLU6-like clamps and plain saturation."""
    shapes = [("x", (3, 5, 5)), ("a", (6, 5, 5)), ("b", (6, 5, 5)), ("c", (6, 5, 5)),
              ("d", (4, 5, 5)), ("e", (4, 4, 4)), ("m", (4, 2, 2)), ("f", (16,)),
              ("y", (5,))]
    t = {n: QTensor(n, s, 0.1) for n, s in shapes}

    def quant(o, lo=0, hi=127):
        return dict(mult=rng.integers(1 << 13, 1 << 15, o), shift=np.full(o, 19),
                    bias=rng.integers(-500, 500, o), lo=lo, hi=hi)
    w = lambda *s: rng.integers(-9, 10, s)
    layers = [
        QLayer("conv", "conv", ("x",), "a", weight=w(6, 3, 3, 3), padding=(1, 1, 1, 1),
               **quant(6)),
        QLayer("dw", "conv", ("a",), "b", weight=w(6, 1, 3, 3), padding=(1, 1, 1, 1),
               groups=6, **quant(6, -128, 127)),
        QLayer("pw", "conv", ("b", "a"), "c", weight=w(6, 6, 1, 1), residual="a",
               preload=np.array([1, 2, 1, 3, 1, 2]), **quant(6, 0, 96)),
        QLayer("grp", "conv", ("c",), "d", weight=w(4, 3, 1, 1), groups=2, **quant(4)),
        QLayer("avg", "avgpool", ("d",), "e", kernel=(2, 2), stride=(1, 1),
               mult=np.array([1 << 14]), shift=np.array([16]), lo=-128, hi=127),
        QLayer("mp", "maxpool", ("e",), "m", kernel=(2, 2), stride=(2, 2), lo=-128, hi=127),
        QLayer("fl", "flatten", ("m",), "f"),
        QLayer("fc", "linear", ("f",), "y", weight=w(5, 16), **quant(5, -128, 127)),
    ]
    return QNet("small", t["x"], tuple(t.values()), tuple(layers), ("y",))


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(5)
    q = small_net(rng)
    return q, q.run(rng.integers(-128, 128, (2, 3, 5, 5)))


def check(run, est_layers):
    assert run.correct and not run.timed_out
    assert [r.name for r in run.layers] == [d["name"] for d in est_layers]
    for r, d in zip(run.layers, est_layers):
        assert r.cycles == r.estimate_cycles == d["cycles"], r.name
    assert run.cycles_match


@pytest.mark.parametrize("cfg", [pods(), pytest.param(pods(4, "crossbar", "uniform", "os"),
                                                       marks=pytest.mark.slow),
                                 pods(4, "bus"),
                                 pytest.param(pods(3, "bus", "uniform", "os"),
                                              marks=pytest.mark.slow)],
                         ids=["butterfly-sosa-ws", "crossbar-uniform-os", "bus-sosa-ws",
                              "bus3-uniform-os"])
def test_network_on_pods_bit_exact_with_the_estimate(cfg, net):
    q, env = net
    est = so.plan_pods(cfg, q, n_images=2).report()
    run = run_pods_network(cfg, q, env, 2, sim="amaranth")
    check(run, est["layers"])
    assert run.cycles == est["cycles"] == sum(r.cycles for r in run.layers)
    assert any(r.extra.get("parts", 0) > 1 for r in run.layers)   # channel tiles, groups
    assert any(0 < np.abs(env[o]).max() < 127 for o in "abcde")
    rep = run.report()
    assert rep["correct"] and rep["cycles"] == rep["estimate_cycles"]


def test_network_on_engines_follows_the_schedule(net):
    q, env = net
    cfg = het()
    sched = so.schedule_layers(cfg, [("small", q)], n_images=2).report()
    run = run_engines_network(cfg, q, env, 2, sim="amaranth")
    check(run, sched["layers"])
    assert run.cycles == sched["cycles"]
    for r, d in zip(run.layers, sched["layers"]):
        assert (r.extra["engine"], r.extra["start"], r.extra["end"]) == \
            (d["engine"], d["start"], d["end"]), r.name
    assert {r.extra["engine"] for r in run.layers} >= {"ws", "os"}   # both engines used


def test_a_wrong_tensor_is_named(net):
    """c off by one: the layer that writes it and the one that reads it are named."""
    q, env = net
    bad = dict(env, c=env["c"] + 1)
    run = run_pods_network(pods(), q, bad, 2, sim="amaranth")
    wrong = [r.name for r in run.layers if not r.bit_exact]
    assert wrong == ["pw", "grp"] and not run.correct


def test_a_job_waits_for_the_jobs_it_reads():
    from hwgen.lib.protocol import cmd_sync
    cfg = pods()
    jobs = [Job(0, (cmd_sync(),) * 3, (), 0), Job(1, (cmd_sync(),), (), 0, (0,)),
            Job(0, (cmd_sync(),), (), 0, (1,)), Job(2, (cmd_sync(),), (), 0)]
    res = run_jobs_amaranth(cfg, jobs)
    assert res.start[1] == res.end[0] > 0 and res.start[2] == res.end[1]
    assert res.start[3] == 0 and res.cycles == res.end[2]


@pytest.fixture(scope="module")
def two_nets():
    out = []
    for seed, name in ((7, "a"), (8, "b")):
        rng = np.random.default_rng(seed)
        q = small_net(rng)
        out.append((name, q, q.run(rng.integers(-128, 128, (1, 3, 5, 5)))))
    return out


@pytest.mark.parametrize("kind", ["butterfly", pytest.param("bus", marks=pytest.mark.slow)])
def test_two_networks_on_their_own_pods(two_nets, kind):
    """Each network on the pods plan_tenants gives it, side by side: every layer's
    cycles those of its tenant's plan, the run done with the slower network (on the
    bus, the second network's pods on the ports after the first's)."""
    cfg = pods(kind=kind)
    est = so.plan_tenants(cfg, [(n, q) for n, q, _ in two_nets], 1)
    run = run_pods_networks(cfg, two_nets, 1, sim="amaranth")
    assert run.correct and run.cycles_match and run.cycles == est["cycles"]
    for t in est["tenants"]:
        mine = [r for r in run.layers if r.extra.get("model") == t["model"]]
        assert [r.cycles for r in mine] == [d["cycles"] for d in t["layers"]]
        assert max(r.extra.get("end") or 0 for r in mine) == t["cycles"]
        used = {tuple(r.extra["pods"]) for r in mine if r.where == "pods"}
        assert len(used) == 1 and np.diff(next(iter(used)))[0] + 1 == t["pods"]
    for name, q, env in two_nets:
        assert (run.outputs_of[name]["y"] == env["y"]).all()


def test_two_networks_scheduled_on_the_engines(two_nets):
    cfg = het()
    sched = so.schedule_layers(cfg, [(n, q) for n, q, _ in two_nets], 1).report()
    run = run_engines_networks(cfg, two_nets, 1, sim="amaranth")
    assert run.correct and run.cycles_match and run.cycles == sched["cycles"]
    got = sorted((r.extra["model"], r.name, r.extra["engine"], r.extra["start"],
                  r.extra["end"]) for r in run.layers)
    assert got == sorted((d["model"], d["name"], d["engine"], d["start"], d["end"])
                         for d in sched["layers"])
    # the two chains overlap: some layer of b runs while one of a does
    spans = {m: [(r.extra["start"], r.extra["end"]) for r in run.layers
                 if r.extra["model"] == m and r.where == "engine"] for m in "ab"}
    assert any(s0 < e1 and s1 < e0 for s0, e0 in spans["a"] for s1, e1 in spans["b"])


def test_pods_refuse_what_their_programs_cannot_do(net):
    """estimate and run agree: a residual add needs features.preload, per-channel
    requantization features.lane_quant, on pods as on one array."""
    import dataclasses

    from hwgen.lib.errors import WorkloadError
    q, _ = net
    for feature, layer in (("preload", "pw"), ("lane_quant", "conv")):
        cfg = pods()
        cfg = cfg.replace(features=dataclasses.replace(cfg.features, **{feature: False}))
        with pytest.raises(WorkloadError, match=f"layer {layer}: .*features.{feature}"):
            so.plan_pods(cfg, q)
