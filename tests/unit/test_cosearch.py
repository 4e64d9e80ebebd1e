"""Network-accelerator co-search: the network family, the super-network's shared weights,
the inner hardware search and the differentiable surrogate against hwgen's models, and
``hwgen cosearch`` end to end on a small budget."""
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwgen.cosearch.netspace import Arch, NetSpace, parse_netspace  # noqa: E402
from hwgen.cosearch.search import (HardwareSearch, _crowding, _nondominated_ranks,  # noqa: E402
                                   nsga2)
from hwgen.cosearch.supernet import SuperNet  # noqa: E402
from hwgen.lib.errors import BadInput  # noqa: E402
from hwgen.search.fast import layer_cycles  # noqa: E402
from hwgen.search.space import make_space  # noqa: E402

SMALL_HW = {"array": {"rows": [2, 4, 8], "cols": [2, 4, 8], "dataflow": ["ws", "os"]},
            "precision": {"in_bits": [4, 8]},
            "buffers": {"input": {"depth": 256}, "weight": {"depth": 256},
                        "acc": {"depth": 256}},
            "host": {"beat_elems": [2, 4]}}


def test_genes_round_trip_and_bad_spaces():
    ns = NetSpace()
    rng = np.random.default_rng(0)
    for g in ns.random(rng, 200):
        a = ns.decode(g)
        assert ns.decode(ns.encode(a)) == a
        assert 1 <= a.depth <= 3 and all(4 <= w <= 48 for w in a.widths)
        assert ns.canonical(g) == ns.encode(a)
    assert ns.sizes().tolist() == [3, 45, 45, 45, 3, 3, 3, 2]
    for bad in ({"widths": {"min": 9, "max": 3}}, {"kernels": [7]}, {"max_depth": 4},
                {"bits": [1]}, {"depth": 2}, {"widths": [4, 8]}, "wide"):
        with pytest.raises(BadInput):
            parse_netspace(bad, "digits")
    with pytest.raises(BadInput):
        NetSpace(task="imagenet")


def test_arch_layers_are_the_quantized_networks_gemms(tmp_path):
    """The shapes the screen and the surrogate price are the GEMMs hwgen's compiler runs
    for the exported, quantized network."""
    from hwgen.config import PrecisionConfig
    from hwgen.cosearch.run import _export_onnx
    from hwgen.frontend import load_model
    ns = NetSpace()
    sn = SuperNet(ns, 0)
    for arch in (Arch((12, 20, 7), (3, 5, 1), 8), Arch((9,), (5,), 4), Arch((6, 30), (1, 3), 8)):
        path = tmp_path / f"{arch.name()}.onnx"
        _export_onnx(sn.extract(arch), arch, path)
        q = load_model(str(path), precision=PrecisionConfig(in_bits=arch.bits, max_k=1200))
        got = [(L.name, q.gemm_shape(L, 1)) for L in q.layers
               if L.op in ("conv", "linear", "avgpool")]
        want = arch.layers()
        assert len(got) == len(want)
        for (_, (M, K, N)), layer in zip(got, want):
            assert (M, K, N) == (layer.M, layer.K, layer.N), (arch.name(), layer)
        macs = sum(M * K * N * (L.groups if L.op == "conv" else 1)
                   for L in q.layers if L.op in ("conv", "linear")
                   for M, K, N in [q.gemm_shape(L, 1)])
        assert macs == arch.macs()


def test_extracted_network_computes_what_the_supernet_does():
    ns = NetSpace()
    sn = SuperNet(ns, 3)
    x = torch.randn(16, 1, 8, 8)
    for arch in (Arch((12, 20, 7), (3, 5, 1), 8), Arch((48,), (1,), 4), ns.largest()):
        sn.recalibrate(x, arch)
        with torch.no_grad():
            a = sn.forward(x, arch)
            b = sn.extract(arch)(x)
        assert torch.allclose(a, b, atol=1e-5)


def test_relaxed_forward_with_one_hot_choices_is_that_network():
    ns = NetSpace(bits=(16,))
    sn = SuperNet(ns, 1)
    x = torch.randn(32, 1, 8, 8)
    arch = Arch((10, 23), (5, 3), 16)
    sn.recalibrate(x, arch)
    D = ns.max_depth
    probs = {"width": torch.zeros(D, ns.n_widths), "kernel": torch.zeros(D, 3),
             "depth": torch.zeros(D), "bits": torch.ones(1)}
    for i, (w, k) in enumerate(zip(arch.widths, arch.kernels)):
        probs["width"][i, w - ns.min_width] = 1
        probs["kernel"][i, ns.kernels.index(k)] = 1
    probs["width"][2, 0] = probs["kernel"][2, 0] = 1
    probs["depth"][arch.depth - 1] = 1
    with torch.no_grad():
        a = sn.forward(x, arch, quant=True)
        b = sn.forward_relaxed(x, probs)
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-3)


def test_inner_search_is_the_best_design_by_the_screen():
    space = make_space(SMALL_HW, max_k=1200)
    hw = HardwareSearch(space, max_pes=16)
    arch = Arch((16, 24), (3, 3), 8)
    cand, cyc, util, cost = hw.best(arch)
    # brute force over the same designs
    best = None
    for i, c in enumerate(hw.pop):
        v = space.values(c)
        if v["array.rows"] * v["array.cols"] > 16 or v["precision.in_bits"] != 8:
            continue
        col = {k: a[i:i + 1] for k, a in hw.col.items()}
        t = sum(int(layer_cycles(col, L)[0]) for L in arch.layers())
        key = (t, v["array.rows"] * v["array.cols"])
        if best is None or key < best[0]:
            best = (key, tuple(int(j) for j in c))
    assert cost == cyc == best[0][0] and cand == best[1]
    assert util == pytest.approx(arch.macs() / (cyc * best[0][1]))
    with pytest.raises(BadInput, match="no accelerator"):
        HardwareSearch(space, max_pes=1)
    with pytest.raises(BadInput, match="cost model"):
        HardwareSearch(space, energy=True)


def test_surrogate_tables_add_up_to_the_screen():
    """The differentiable co-search's latency tables, read at one network's choices, give
    the screen's cycles of that network on each design."""
    from hwgen.cosearch.search import CoSearch
    ns = NetSpace()
    space = make_space(SMALL_HW, max_k=1200)
    hw = HardwareSearch(space, max_pes=64)
    cs = CoSearch(ns, hw, SuperNet(ns, 0), {})
    idx = np.arange(0, len(hw.pop), 7)
    conv, tail = cs.latency_table(idx)
    for arch in (Arch((12, 20, 7), (3, 5, 1), 8), Arch((9,), (5,), 4), Arch((6, 30), (1, 3), 8)):
        w = [x - ns.min_width for x in arch.widths]
        k = [ns.kernels.index(x) for x in arch.kernels]
        total = conv[:, 0, 0, w[0], k[0]].copy()
        for i in range(1, arch.depth):
            total += conv[:, i, w[i - 1], w[i], k[i]]
        total += tail[:, arch.depth - 1, w[-1]]
        want = sum(layer_cycles({c: a[idx] for c, a in hw.col.items()}, L)
                   for L in arch.layers())
        assert np.array_equal(total, want)


def test_nondominated_sort_and_nsga_find_a_known_front():
    F = np.array([[1, 5], [2, 4], [3, 3], [2, 5], [4, 4], [5, 1], [5, 5]])
    assert _nondominated_ranks(F).tolist() == [0, 0, 0, 1, 1, 0, 2]
    assert np.isinf(_crowding(F[:3])[[0, 2]]).all()
    ns = NetSpace(max_depth=1, min_width=1, max_width=64, kernels=(3,), bits=(8,))

    def f(g):          # a front along width: (width, 64 - width) every point Pareto
        a = ns.decode(g)
        return (a.widths[0], (a.widths[0] - 40) ** 2)
    seen = nsga2(f, ns, np.random.default_rng(0), budget=40, pop_size=8)
    assert len(seen) == 40
    widths = sorted(ns.decode(g).widths[0] for g in seen)
    assert widths[0] <= 8 and any(30 <= w <= 40 for w in widths)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hwgen.cli", "cosearch", *args],
                          capture_output=True, text=True, timeout=900, cwd=cwd)


def test_cli_refuses_bad_input(tmp_path):
    space = tmp_path / "space.yaml"
    for args, frag in (
            (["--budget", "0"], "--budget"),
            (["--methods", "evolution,annealing"], "--methods"),
            (["--target", "board:icebreaker", "--objective", "accuracy-energy"], "pdk:"),
            (["--max-pes", "1"], "no accelerator"),
            (["--space", str(space)], "widths"),
            (["--target", "pdk:osu018"], "clock period")):
        space.write_text("network: {widths: {min: 9, max: 3}}\n")
        r = _cli("--task", "digits", "-o", str(tmp_path / "out"), *args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and frag in lines[0], (args, r.stderr)
    assert not (tmp_path / "out").exists()


def test_cli_cosearch_small(tmp_path):
    """A whole co-search on a small budget: fronts made real (ONNX, hwgen's quantized
    network, exact cycles), the winner exported and its ONNX equal to the float module."""
    space = tmp_path / "space.yaml"
    space.write_text("network: {max_depth: 2, widths: {min: 4, max: 16}, kernels: [3], "
                     "bits: [8]}\naccelerator:\n  array: {rows: [2, 4], cols: [2, 4], "
                     "dataflow: [ws, os]}\n"
                     "  buffers: {input: {depth: 256}, weight: {depth: 256}, "
                     "acc: {depth: 256}}\n  host: {beat_elems: 4}\n")
    out = tmp_path / "cs"
    r = _cli("--task", "digits", "--space", str(space), "--epochs", "2", "--budget", "12",
             "--methods", "evolution,sequential", "--front-size", "2", "--finetune-epochs",
             "1", "--images", "0", "--no-flow", "-o", str(out), "--json", "-q")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert json.loads((out / "cosearch.json").read_text())["winner"] == s["winner"]
    assert s["networks_scored"] >= 12 and s["accelerators"] == 2 * 2 * 2 * 1
    w = s["winner"]
    assert w["network"]["depth"] <= 2 and all(4 <= x <= 16 for x in w["network"]["widths"])
    assert w["cycles"] > 0 and 0 < w["utilization"] <= 1
    assert 0.1 < w["quant_test_accuracy"] <= 1
    for f in s["fronts"]["co-search"] + s["fronts"]["sequential"]:
        assert (out / f["onnx"]).is_file()
    log = [json.loads(x) for x in (out / "search.log").read_text().splitlines()]
    assert {x["method"] for x in log} == {"evolution", "sequential"}
    assert (out / "report.md").is_file() and (out / "front.png").is_file()
    assert (out / "winner" / "config.yaml").is_file()
    ort = pytest.importorskip("onnxruntime")
    from hwgen.frontend import digits_data
    x = digits_data()["x_test"][:16]
    sess = ort.InferenceSession(str(out / "winner" / "model.onnx"))
    logits = sess.run(None, {"image": x})[0]
    assert logits.shape == (16, 10)


def test_inner_search_prices_the_buffers_the_winner_is_built_with():
    """The inner level's area limit and energy price the buffers as SRAM macros, as the
    co-search's report and the winner's flow do (it priced flip-flop buffers, several
    times the area, so an area limit excluded designs whose reported area met it)."""
    from hwgen.cosearch.search import MEMORIES
    from hwgen.models import cost as model
    from hwgen.search import Target
    from hwgen.search.cost import CostProvider
    space = make_space(SMALL_HW, max_k=1200)
    provider = CostProvider(model, Target("pdk", "osu018", 10.0))
    hw = HardwareSearch(space, cost=provider, max_area_um2=1e12)
    coef = model.load(pdk="osu018")
    for i in (0, len(hw.pop) // 2, len(hw.pop) - 1):
        cfg = space.config(hw.pop[i])
        want = model.cost_batch(model.params_of(cfg), coef, memories=MEMORIES)["area_um2"][0]
        assert hw.area[i] == pytest.approx(want, rel=1e-6)
