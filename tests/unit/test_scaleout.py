"""Scale-out designs: the pods: and subaccelerators: sections, the partitioner that cuts
each layer's GEMMs across pods (hwgen.compiler.scaleout) with the exact cycle model, and
the list scheduler of layers onto sub-accelerators."""
import numpy as np
import pytest

from hwgen.compiler import scaleout as so
from hwgen.compiler.mapping import default_mapping
from hwgen.compiler.network import plan_layer
from hwgen.compiler.program import Quant, emit_gemm_program
from hwgen.config import (AcceleratorConfig, ArrayConfig, BufferConfig, BuffersConfig,
                          ConfigError, HostConfig, PrecisionConfig, config_from_dict,
                          config_hash)
from hwgen.config.scaleout import PodsConfig
from hwgen.config.schema import SubAcceleratorConfig
from hwgen.lib.errors import WorkloadError
from hwgen.lib.protocol import cmd_sync
from hwgen.models.network import QLayer, QNet, QTensor
from hwgen.models.perf import gemm_timing, program_timing

PREC = PrecisionConfig(in_bits=8, out_bits=8, max_k=4096)
BUFS = BuffersConfig(BufferConfig(1024), BufferConfig(1024), BufferConfig(1024))


def pods(P, edge, kind="butterfly", tiling="sosa", df="os"):
    return AcceleratorConfig(name="p", array=ArrayConfig(edge, edge, df), precision=PREC,
                             buffers=BUFS, host=HostConfig(edge),
                             pods=PodsConfig(P, kind, tiling))


def net(rng):
    """conv 3x3 (8 -> 24 channels, 12x12) -> depthwise 3x3 -> pointwise (residual of
    the first) -> maxpool -> flatten -> linear."""
    t = {n: QTensor(n, s, 0.1) for n, s in [("x", (8, 12, 12)), ("a", (24, 12, 12)),
                                             ("b", (24, 12, 12)), ("c", (24, 12, 12)),
                                             ("d", (24, 6, 6)), ("f", (864,)), ("y", (10,))]}
    q = {"mult": None, "shift": None, "lo": 0, "hi": 127}

    def quant(o):
        return dict(q, mult=np.full(o, 1 << 14), shift=np.full(o, 20),
                    bias=np.zeros(o, np.int64))
    layers = [
        QLayer("conv", "conv", ("x",), "a", weight=rng.integers(-9, 9, (24, 8, 3, 3)),
               padding=(1, 1, 1, 1), **quant(24)),
        QLayer("dw", "conv", ("a",), "b", weight=rng.integers(-9, 9, (24, 1, 3, 3)),
               padding=(1, 1, 1, 1), groups=24, **quant(24)),
        QLayer("pw", "conv", ("b", "a"), "c", weight=rng.integers(-9, 9, (24, 24, 1, 1)),
               residual="a", preload=np.ones(24, np.int64), **quant(24)),
        QLayer("mp", "maxpool", ("c",), "d", kernel=(2, 2), stride=(2, 2), lo=-128, hi=127),
        QLayer("fl", "flatten", ("d",), "f"),
        QLayer("fc", "linear", ("f",), "y", weight=rng.integers(-9, 9, (10, 864)),
               **quant(10)),
    ]
    return QNet("n", t["x"], tuple(t.values()), tuple(layers), ("y",))


@pytest.fixture(scope="module")
def qnet():
    return net(np.random.default_rng(3))


# ---- config ------------------------------------------------------------------------------
def test_pods_section_checks_itself():
    assert PodsConfig(12, "crossbar").count == 12
    with pytest.raises(ConfigError, match=r"pods.count: a butterfly of 2x2 switches needs "
                       "a power of two of at least 2 ports, got 12"):
        PodsConfig(12)
    with pytest.raises(ConfigError, match="pods.tiling: must be one of sosa, uniform"):
        PodsConfig(4, tiling="even")
    with pytest.raises(ConfigError, match="pods.count: must be between 1 and 64, got 65"):
        PodsConfig(65, "bus")


def test_yaml_sections_and_their_errors():
    base = {"array": {"rows": 8, "cols": 8}}
    cfg = config_from_dict({**base, "pods": {"count": 8, "interconnect": "bus"}}, "c.yaml")
    assert cfg.pods == PodsConfig(8, "bus", "sosa") and cfg.pod.pods is None
    assert config_hash(config_from_dict(base, "c.yaml")) == config_hash(
        AcceleratorConfig(name="c", array=ArrayConfig(8, 8), host=HostConfig(4)))
    assert config_hash(cfg) != config_hash(cfg.pod)
    het = config_from_dict({**base, "subaccelerators": [
        {"name": "w", "array": {"rows": 4, "cols": 8, "dataflow": "ws"}},
        {"name": "o", "array": {"rows": 8, "cols": 4}, "buffers": {"acc": {"depth": 64}}}]},
        "h.yaml")
    (n0, e0), (n1, e1) = het.engines
    assert (n0, e0.array, e0.buffers) == ("w", ArrayConfig(4, 8, "ws"), het.buffers)
    assert (n1, e1.buffers.acc.depth, e1.buffers.input) == ("o", 64, het.buffers.input)
    for data, line in [
        ({"pods": {"count": 6}}, "c.yaml: pods.count: a butterfly of 2x2 switches needs a "
         "power of two"),
        ({"subaccelerators": []}, "c.yaml: subaccelerators: must be a list of 1 to 8"),
        ({"subaccelerators": [{"array": {}}]}, "c.yaml: subaccelerators[0].name: every "
         "engine needs a name"),
        ({"subaccelerators": [{"name": "a"}, {"name": "a"}]},
         "c.yaml: subaccelerators[1].name: 'a' names two engines"),
        ({"subaccelerators": [{"name": "a", "array": {"rows": 8, "dataflow": "ws"},
                               "buffers": {"weight": {"depth": 4}}}]},
         "c.yaml: subaccelerators[0].buffers: too small for even one array tile: weight "
         "buffer needs 8 words"),
        ({"subaccelerators": [{"name": "a"}], "pods": {"count": 2}},
         "c.yaml: pods: a design has pods or subaccelerators, not both"),
    ]:
        with pytest.raises(ConfigError) as e:
            config_from_dict({**base, **data}, "c.yaml")
        assert any(p.startswith(line) for p in e.value.problems), e.value.problems
    with pytest.raises(ConfigError, match="pods: hwgen sim takes one array; a multi-pod "
                       "design runs with hwgen generate, sim, run"):
        cfg.single_array("sim")
    one = config_from_dict({**base, "pods": {"count": 1}}, "c.yaml")
    with pytest.raises(ConfigError, match="pods.count: 1 pod is the array itself; leave out "
                       "the pods: section for hwgen estimate --workload"):
        one.single_array("estimate --workload")


# ---- cutting GEMMs across pods -------------------------------------------------------------
@pytest.mark.parametrize("total,parts,unit", [(100, 3, 8), (7, 4, 1), (64, 8, 8), (5, 8, 8),
                                              (1000, 16, 1)])
def test_slices_cover_the_dimension(total, parts, unit):
    s = so.slices(total, parts, unit)
    assert sum(s) == total and len(s) <= parts
    assert all(x % unit == 0 for x in s[:-1]) and max(s) - min(s[:-1] or s) <= unit


def test_a_slice_costs_what_its_program_takes():
    """One pod's slice: the exact model's cycles are those of the program the compiler
    emits for it and a SYNC (the replay the RTL is checked against); slices one after
    another add up."""
    pod = pods(1, 8).pod
    both = []
    for M, K, N in [(100, 72, 24), (8, 300, 8), (33, 9, 70)]:
        mp = default_mapping(pod, M, K, N)
        got = so.slice_cycles(pod, 1, M, K, N, True, True, False)
        prog = emit_gemm_program(pod, M, K, N, mp, quant=Quant(
            raw=False, mult=(1,) * N, shift=(0,) * N, bias=(0,) * N, lo=0, hi=127))
        assert got == program_timing(pod, prog.cmds + [cmd_sync()]).cycles
        assert got > gemm_timing(pod, M, K, N, mp, raw=False, per_lane=True, clamp=True).cycles
        both += prog.cmds + [cmd_sync()]
    assert program_timing(pod, both).cycles == sum(
        so.slice_cycles(pod, 1, *s, True, True, False)
        for s in [(100, 72, 24), (8, 300, 8), (33, 9, 70)])


def test_a_shared_bus_slows_the_streams():
    pod = pods(1, 8).pod
    one = so.slice_cycles(pod, 1, 64, 256, 64, True, False, False)
    four = so.slice_cycles(pod, 4, 64, 256, 64, True, False, False)
    assert four > 1.5 * one


def test_one_pod_is_the_whole_gemm(qnet):
    plan = so.plan_pods(pods(1, 16, "crossbar"), qnet)
    pod = pods(1, 16).pod
    for lp, layer in zip(plan.layers, qnet.layers):
        g = so.layer_gemms(qnet, layer, 1, 16)
        if g is None:
            assert lp.where == "host" and lp.cycles == 0
            continue
        want = sum(so.slice_cycles(pod, 1, *p, g.per_lane, g.clamp, g.preload)
                   for p in g.parts)
        assert (lp.cycles, lp.pods_used, lp.grid) == (want, 1, (1, 1))


def test_sosa_beats_uniform_and_uses_small_pods(qnet):
    mono = so.plan_pods(pods(1, 16, "crossbar"), qnet).report()
    sosa = so.plan_pods(pods(4, 8), qnet).report()
    uni = so.plan_pods(pods(4, 8, tiling="uniform"), qnet).report()
    assert sosa["cycles"] < uni["cycles"]
    assert sosa["cycles"] < mono["cycles"]
    assert sosa["macs"] == mono["macs"] == uni["macs"]
    dw = {d["name"]: d for d in sosa["layers"]}["dw"]
    assert dw["parts"] == 3 and dw["pods_used"] >= 3     # channel tiles side by side
    by = {d["name"]: d for d in uni["layers"]}
    assert by["conv"]["grid"] == "2x2" and by["fc"]["grid"] == "2x2"


def test_interconnect_latency_and_bus(qnet):
    fly = so.plan_pods(pods(8, 8, "butterfly"), qnet)
    xbar = so.plan_pods(pods(8, 8, "crossbar"), qnet)
    bus = so.plan_pods(pods(8, 8, "bus"), qnet)
    before = so.commands_before_load(True, True)     # the net's layers clamp
    same = 0
    for f, x in zip(fly.layers, xbar.layers):
        if f.where == "pods" and f.grid == x.grid and f.groups == x.groups:
            same += 1
            assert f.cycles - x.cycles == (so.interconnect_cycles(3, before)
                                           - so.interconnect_cycles(1, before))
    assert same >= 2
    assert [so.interconnect_cycles(L, 0) for L in range(1, 7)] == [0, 0, 1, 3, 5, 7]
    assert [so.interconnect_cycles(L, 2) for L in range(1, 7)] == [0, 0, 0, 1, 2, 3]
    assert bus.report()["cycles"] > 2 * fly.report()["cycles"]


def test_networks_side_by_side_on_the_pods(qnet):
    assert so.tenant_splits("butterfly", 8, 2) == [
        (1, 1), (1, 2), (1, 4), (2, 1), (2, 2), (2, 4), (4, 1), (4, 2), (4, 4)]
    assert len(so.tenant_splits("crossbar", 6, 2)) == 15
    cfg = pods(8, 8)
    rep = so.plan_tenants(cfg, [("a", qnet), ("b", qnet)])
    assert rep["split"] == {"a": 4, "b": 4}
    assert rep["cycles"] == max(t["cycles"] for t in rep["tenants"])
    # each tenant's pods are timed with the whole network's latency
    alone = so.plan_pods(pods(4, 8), qnet).report()["cycles"]
    four = so.plan_pods(pods(4, 8), qnet, net=so.interconnect_of(cfg)).report()["cycles"]
    assert rep["cycles"] == four >= alone
    assert rep["cycles"] < 2 * so.plan_pods(cfg, qnet).report()["cycles"]


# ---- sub-accelerators --------------------------------------------------------------------
def het(*engines):
    return AcceleratorConfig(name="h", precision=PREC, buffers=BUFS, host=HostConfig(8),
                             subaccelerators=tuple(SubAcceleratorConfig(n, ArrayConfig(r, c, d))
                                                   for n, r, c, d in engines))


def test_schedule_respects_dependencies_and_engines(qnet):
    cfg = het(("w", 8, 8, "ws"), ("o", 8, 8, "os"))
    s = so.schedule_layers(cfg, [("a", qnet), ("b", qnet)])
    engines = dict(cfg.engines)
    end = {(sl.model, sl.name): sl.end for sl in s.layers}
    assert len(s.layers) == 2 * len(qnet.layers)
    for sl in s.layers:
        layer = qnet.layer(sl.name)
        for t in list(layer.inputs) + ([layer.residual] if layer.residual else []):
            prod = [x for x in qnet.layers if x.output == t]
            if prod:
                assert sl.start >= end[(sl.model, prod[0].name)]
        if sl.engine != "host":
            assert sl.end - sl.start == plan_layer(engines[sl.engine], qnet, layer).cycles
    for name in engines:
        runs = sorted((sl.start, sl.end) for sl in s.layers if sl.engine == name)
        assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:]))
    # two models on two engines finish before one engine runs both
    one = so.schedule_layers(het(("o", 8, 8, "os")), [("a", qnet), ("b", qnet)])
    assert one.makespan == sum(sl.end - sl.start for sl in one.layers)
    assert s.makespan < one.makespan * 0.9
    assert s.schedule_seconds < 0.1


def test_a_layer_no_engine_can_run_is_named(qnet):
    small = AcceleratorConfig(name="h", precision=PrecisionConfig(max_k=64), host=HostConfig(4),
                              subaccelerators=(SubAcceleratorConfig("o"),))
    with pytest.raises(WorkloadError, match="a layer fc: no sub-accelerator can run it"):
        so.schedule_layers(small, [("a", qnet)])
