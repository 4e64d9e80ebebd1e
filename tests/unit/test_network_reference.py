"""The quantized-network IR and its integer reference against independent, slow
implementations written from the arithmetic (Python loops, Python integers), and
against the GEMM golden model's requantization."""
import math
import random

import numpy as np
import pytest

from hwgen.lib.fixed import round_shift_half_even
from hwgen.models.gemm import requantize as gemm_requantize
from hwgen.models.network import (
    NetworkError,
    QLayer,
    QNet,
    QTensor,
    choose_add_mults,
    choose_mult_shift,
    pool_as_conv,
    requantize,
    shift_round_half_even,
)

# ---- requantization ---------------------------------------------------------------------

def test_shift_round_half_even_matches_the_scalar_rule():
    rng = random.Random(1)
    ps = [rng.randrange(-(1 << 40), 1 << 40) for _ in range(400)]
    ps += [k * (1 << s) + (1 << (s - 1)) for k in range(-5, 5) for s in range(1, 6)]  # ties
    shifts = [rng.randrange(0, 45) for _ in ps]
    got = shift_round_half_even(np.array(ps), np.array(shifts))
    assert got.tolist() == [round_shift_half_even(p, s) for p, s in zip(ps, shifts)]


def test_shift_round_half_even_python_ints_beyond_int64():
    ps = [(1 << 80) + (1 << 69), -(1 << 90) - (1 << 9), 3 << 70, -(3 << 70)]
    shifts = [70, 10, 71, 71]
    got = shift_round_half_even(np.array(ps, dtype=object), np.array(shifts))
    assert list(got) == [round_shift_half_even(p, s) for p, s in zip(ps, shifts)]


@pytest.mark.parametrize("out_bits,mult_bits,acc_bits", [(8, 16, 32), (4, 8, 20), (16, 32, 48)])
def test_requantize_equals_the_gemm_golden_model(out_bits, mult_bits, acc_bits):
    rng = np.random.default_rng(out_bits)
    lo_acc, hi_acc = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    acc = rng.integers(lo_acc, hi_acc, size=(7, 12), endpoint=True)
    acc[0, :4] = [lo_acc, hi_acc, 0, -1]
    acc[1] = rng.integers(-999, 999, size=12)
    bias = rng.integers(-(1 << 20), 1 << 20, size=12)
    bias[:2] = 0
    for mult, shift in [(0, 0), (1, 0), (1, 2), ((1 << mult_bits) - 1, acc_bits + 3),
                        (int(rng.integers(1 << mult_bits)), 17), (3, 1)]:
        for relu in (False, True):
            want = gemm_requantize(acc, bias, mult, shift, out_bits, relu)
            lo = 0 if relu else -(1 << (out_bits - 1))
            got = requantize(acc + bias, mult, shift, lo, (1 << (out_bits - 1)) - 1)
            assert got.dtype == np.int64
            assert got.tolist() == want.tolist(), (mult, shift, relu)


def test_requantize_ties_and_saturation():
    # 6/4 = 1.5 -> 2, 10/4 = 2.5 -> 2, -6/4 -> -2, -10/4 -> -2
    assert requantize(np.array([6, 10, -6, -10]), 1, 2, -128, 127).tolist() == [2, 2, -2, -2]
    assert requantize(np.array([10 ** 6, -10 ** 6]), 1, 0, -128, 127).tolist() == [-128 + 255,
                                                                                  -128]
    # per-channel multipliers and shifts broadcast along the channel axis
    acc = np.arange(-8, 8).reshape(2, 8)
    got = requantize(acc, np.array([[3], [5]]), np.array([[1], [2]]), -100, 100)
    want = [[round_shift_half_even(int(v) * m, s) for v in row]
            for row, m, s in zip(acc, (3, 5), (1, 2))]
    assert got.tolist() == want


def test_requantize_wide_products_exact():
    acc = np.array([(1 << 47) - 1, -(1 << 47), 12345678901234], dtype=np.int64)
    mult, shift = (1 << 31) + 7, 70
    got = requantize(acc, mult, shift, -(1 << 31), (1 << 31) - 1)
    assert got.tolist() == [min(max(round_shift_half_even(int(a) * mult, shift), -(1 << 31)),
                                (1 << 31) - 1) for a in acc]


def test_choose_mult_shift_is_the_closest_pair():
    rng = np.random.default_rng(3)
    ratios = np.concatenate([10.0 ** rng.uniform(-7, 1.5, 300), [0.5, 1.0, 0.0, 2 ** -20]])
    mult_bits, max_shift = 10, 30
    m, s = choose_mult_shift(ratios, mult_bits, max_shift)
    assert m.max() < (1 << mult_bits) and 0 <= s.min() and s.max() <= max_shift
    for r, mm, ss in zip(ratios, m, s):
        best = min(abs(k / 2 ** t - r) for t in range(max_shift + 1)
                   for k in {max(0, math.floor(r * 2 ** t)), math.ceil(r * 2 ** t)}
                   if k < (1 << mult_bits))
        assert abs(mm / 2 ** ss - r) <= best * (1 + 1e-12)
    assert choose_mult_shift(0.5, 16, 40) == (np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="needs a multiplier of 8 bits"):
        choose_mult_shift(300.0, 8, 20)


def test_choose_add_mults():
    ma, mb, s = choose_add_mults(0.75, 1.3, 16, 40)
    assert max(ma, mb) < 1 << 16 and abs(ma / 2 ** s - 0.75) < 2 ** -15
    assert abs(mb / 2 ** s - 1.3) < 2 ** -14


# ---- a slow reference written from the definitions --------------------------------------

def naive_conv(x, w, stride, pad, dil, groups):
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    t, l, b, r = pad
    Ho = (H + t + b - dil[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (W + l + r - dil[1] * (kw - 1) - 1) // stride[1] + 1
    og = O // groups
    out = np.zeros((N, O, Ho, Wo), dtype=object)
    for n in range(N):
        for o in range(O):
            g = o // og
            for yo in range(Ho):
                for xo in range(Wo):
                    s = 0
                    for c in range(Cg):
                        for ky in range(kh):
                            for kx in range(kw):
                                yi = yo * stride[0] - t + ky * dil[0]
                                xi = xo * stride[1] - l + kx * dil[1]
                                if 0 <= yi < H and 0 <= xi < W:
                                    s += int(x[n, g * Cg + c, yi, xi]) * int(w[o, c, ky, kx])
                    out[n, o, yo, xo] = s
    return out


def naive_pool(x, k, stride, pad, kind, dil=(1, 1)):
    N, C, H, W = x.shape
    t, l, b, r = pad
    Ho = (H + t + b - dil[0] * (k[0] - 1) - 1) // stride[0] + 1
    Wo = (W + l + r - dil[1] * (k[1] - 1) - 1) // stride[1] + 1
    out = np.zeros((N, C, Ho, Wo), dtype=object)
    for n, c, yo, xo in np.ndindex(N, C, Ho, Wo):
        vals = []
        for ky in range(k[0]):
            for kx in range(k[1]):
                yi, xi = yo * stride[0] - t + ky * dil[0], xo * stride[1] - l + kx * dil[1]
                inside = 0 <= yi < H and 0 <= xi < W
                vals.append(int(x[n, c, yi, xi]) if inside else None)
        if kind == "max":
            out[n, c, yo, xo] = max(v for v in vals if v is not None)
        else:
            out[n, c, yo, xo] = sum(v or 0 for v in vals)
    return out


def rq(acc, mult, shift, lo, hi):
    return min(max(round_shift_half_even(int(acc) * int(mult), int(shift)), lo), hi)


def conv_net(C, H, W, O, k, stride, pad, dil, groups, rng, residual=False, act=(-128, 127)):
    w = rng.integers(-127, 128, size=(O, C // groups) + k)
    bias = rng.integers(-5000, 5000, size=O)
    mult = rng.integers(1, 1 << 16, size=O)
    shift = rng.integers(16, 26, size=O)
    x = QTensor("x", (C, H, W), 0.02)
    Ho = (H + pad[0] + pad[2] - dil[0] * (k[0] - 1) - 1) // stride[0] + 1
    Wo = (W + pad[1] + pad[3] - dil[1] * (k[1] - 1) - 1) // stride[1] + 1
    tensors = [x]
    layers = []
    ins = ("x",)
    kw = {}
    if residual:
        r = QTensor("r", (O, Ho, Wo), 0.05)
        tensors.append(r)
        layers.append(QLayer("mkr", "conv", ("x",), "r", weight=rng.integers(
            -127, 128, size=(O, C) + k), bias=np.zeros(O, np.int64), stride=stride,
            padding=pad, dilation=dil, mult=np.full(O, 1), shift=np.full(O, 10),
            lo=-128, hi=127))
        ins = ("x", "r")
        kw = dict(residual="r", preload=rng.integers(0, 500, size=O))
    y = QTensor("y", (O, Ho, Wo), 0.1)
    tensors.append(y)
    layers.append(QLayer("conv", "conv", ins, "y", weight=w, bias=bias, stride=stride,
                         padding=pad, dilation=dil, groups=groups, mult=mult, shift=shift,
                         lo=act[0], hi=act[1], **kw))
    return QNet("t", x, tensors, layers, ("y",))


CONV_CASES = [
    # C, H, W, O, kernel, stride, padding (t, l, b, r), dilation, groups
    (3, 7, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (4, 9, 8, 6, (3, 2), (2, 1), (0, 1, 2, 0), (1, 1), 2),
    (5, 8, 8, 5, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 5),       # depthwise
    (6, 7, 9, 8, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),       # pointwise
    (2, 10, 9, 3, (3, 3), (1, 2), (2, 2, 2, 2), (2, 3), 1),      # dilated
    (4, 5, 5, 8, (5, 5), (3, 3), (0, 0, 1, 1), (1, 1), 4),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_reference_matches_the_definition(case):
    C, H, W, O, k, stride, pad, dil, groups = case
    rng = np.random.default_rng(sum(case[:4]))
    net = conv_net(C, H, W, O, k, stride, pad, dil, groups, rng, act=(-20, 100))
    x = rng.integers(-128, 128, size=(2, C, H, W))
    layer = net.layer("conv")
    acc = naive_conv(x, layer.weight, stride, pad, dil, groups)
    want = np.vectorize(lambda a, o: rq(a + int(layer.bias[o]), layer.mult[o], layer.shift[o],
                                        -20, 100), otypes=[object])(
        acc, np.arange(O).reshape(1, O, 1, 1))
    got = net.run(x)["y"]
    assert got.tolist() == want.tolist()
    # the GEMM view: A[g] @ B[g] in the documented order gives the accumulators
    A, B = net.im2col(layer, x), net.weight_matrix(layer)
    M, K, N = net.gemm_shape(layer, n_images=2)
    assert A.shape == (groups, M, K) and B.shape == (groups, K, N)
    prod = np.einsum("gmk,gkn->gmn", A.astype(object), B.astype(object))
    Ho, Wo = got.shape[2:]
    for g in range(groups):
        for n in range(N):
            assert prod[g, :, n].tolist() == acc[:, g * N + n].reshape(-1).tolist()
    # column k of A is (ky, kx, c), c fastest; row m is (image, y, x), x fastest
    cg = C // groups
    m, ky, kx, c = 1 * Ho * Wo + 0 * Wo + (Wo - 1), k[0] - 1, 0, cg - 1
    kcol = (ky * k[1] + kx) * cg + c
    yi, xi = 0 * stride[0] - pad[0] + ky * dil[0], (Wo - 1) * stride[1] - pad[1] + kx * dil[1]
    inside = 0 <= yi < H and 0 <= xi < W
    assert A[groups - 1, m, kcol] == (x[1, (groups - 1) * cg + c, yi, xi] if inside else 0)
    assert B[0, kcol, 0] == layer.weight[0, c, ky, kx]


def test_conv_with_residual_preload():
    rng = np.random.default_rng(7)
    net = conv_net(4, 6, 6, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, rng, residual=True,
                   act=(0, 127))
    x = rng.integers(-128, 128, size=(2, 4, 6, 6))
    env = net.run(x)
    layer = net.layer("conv")
    acc = naive_conv(x, layer.weight, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    r = env["r"]
    want = np.empty(acc.shape, dtype=object)
    for n, o, i, j in np.ndindex(*acc.shape):
        want[n, o, i, j] = rq(acc[n, o, i, j] + int(layer.bias[o]) + int(r[n, o, i, j]) *
                              int(layer.preload[o]), layer.mult[o], layer.shift[o], 0, 127)
    assert env["y"].tolist() == want.tolist()
    assert net.layer("conv").runs_on == ("array", "output_path")


def small_net(rng):
    """Input -> maxpool -> avgpool -> host add with a clamp -> concat -> flatten ->
    linear (with residual) -> reshape."""
    C = 3
    t = {n: QTensor(n, s, sc) for n, s, sc in [
        ("x", (C, 8, 8), 0.1), ("mp", (C, 4, 4), 0.1), ("ap", (C, 4, 4), 0.07),
        ("ad", (C, 4, 4), 0.09), ("cl", (C, 4, 4), 0.09), ("cat", (2 * C, 4, 4), 0.09),
        ("fl", (2 * C * 16,), 0.09), ("fc", (2 * C * 16,), 0.2), ("rs", (6, 4, 4), 0.2)]}
    F = 2 * C * 16
    layers = [
        QLayer("mp", "maxpool", ("x",), "mp", kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1),
               lo=-128, hi=127),
        QLayer("ap", "avgpool", ("mp",), "ap", kernel=(3, 3), stride=(1, 1),
               padding=(1, 1, 1, 1), mult=np.array([40000]), shift=np.array([18]), lo=-128,
               hi=127),
        QLayer("ad", "add", ("mp", "ap"), "ad", mult=np.array([1000, 3000]), shift=np.array([11]),
               lo=-50, hi=127),
        QLayer("cl", "clamp", ("ad",), "cl", lo=0, hi=60),
        QLayer("cat", "concat", ("ad", "cl"), "cat"),
        QLayer("fl", "flatten", ("cat",), "fl"),
        QLayer("fc", "linear", ("fl", "fl"), "fc", weight=rng.integers(-127, 128, size=(F, F)),
               bias=rng.integers(-100, 100, size=F), mult=rng.integers(1, 1 << 16, size=F),
               shift=np.full(F, 21), lo=-128, hi=127, residual="fl",
               preload=rng.integers(0, 300, size=F)),
        QLayer("rs", "reshape", ("fc",), "rs", shape=(6, 4, 4)),
    ]
    return QNet("small", t["x"], tuple(t.values()), tuple(layers), ("rs",))


def test_pools_add_clamp_concat_linear_reshape():
    rng = np.random.default_rng(11)
    net = small_net(rng)
    x = rng.integers(-128, 128, size=(2, 3, 8, 8))
    env = net.run(x)
    mp = naive_pool(x, (3, 3), (2, 2), (1, 1, 1, 1), "max")
    assert env["mp"].tolist() == mp.tolist()
    ap = np.vectorize(lambda a: rq(a, 40000, 18, -128, 127), otypes=[object])(
        naive_pool(mp, (3, 3), (1, 1), (1, 1, 1, 1), "sum"))
    assert env["ap"].tolist() == ap.tolist()
    ad = np.vectorize(lambda a, b: rq(a * 1000 + b * 3000, 1, 11, -50, 127), otypes=[object])(
        mp, ap)
    assert env["ad"].tolist() == ad.tolist()
    assert env["cl"].tolist() == np.clip(ad.astype(np.int64), 0, 60).tolist()
    cat = np.concatenate([env["ad"], env["cl"]], axis=1)
    assert env["cat"].tolist() == cat.tolist()
    fl = cat.reshape(2, -1)
    assert env["fl"].tolist() == fl.tolist()
    layer = net.layer("fc")
    want = [[rq(sum(int(a) * int(w) for a, w in zip(row, layer.weight[o])) + int(layer.bias[o])
                + int(row[o]) * int(layer.preload[o]), layer.mult[o], layer.shift[o], -128, 127)
             for o in range(fl.shape[1])] for row in fl]
    assert env["fc"].tolist() == want
    assert env["rs"].tolist() == np.asarray(want).reshape(2, 6, 4, 4).tolist()
    assert [l.runs_on[0] for l in net.layers] == ["pool", "array", "host", "output_path",
                                                  "host", "host", "array", "host"]
    assert net.run(x, keep="outputs").keys() == {"rs"}


def test_avgpool_is_a_depthwise_conv_with_unit_weights():
    rng = np.random.default_rng(12)
    net = small_net(rng)
    layer = net.layer("ap")
    conv = pool_as_conv(layer, 3)
    x = rng.integers(-128, 128, size=(2, 3, 4, 4))
    assert net.run_layer(conv, [x]).tolist() == net.run_layer(layer, [x]).tolist()
    assert net.gemm_shape(layer, 2) == (32, 9, 1)


def test_save_load_digest(tmp_path):
    net = small_net(np.random.default_rng(13))
    path = net.save(tmp_path / "n.npz")
    back = QNet.load(path)
    assert back.digest() == net.digest()
    x = np.random.default_rng(0).integers(-128, 128, size=(1, 3, 8, 8))
    assert back.run(x)["rs"].tolist() == net.run(x)["rs"].tolist()
    other = small_net(np.random.default_rng(14))
    assert other.digest() != net.digest()


def test_acc_bound():
    net = conv_net(3, 5, 5, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1,
                   np.random.default_rng(2))
    layer = net.layer("conv")
    want = max(int(np.abs(layer.weight[o]).sum()) * 128 + abs(int(layer.bias[o]))
               for o in range(2))
    assert net.acc_bound(layer) == want


def test_quantize_input_and_dequantize():
    net = small_net(np.random.default_rng(0))
    x = np.array([[[[0.05, 0.31, -0.26, 100.0, -100.0] + [0.0] * 3] * 8] * 3])
    xq = net.quantize_input(x)
    assert xq[0, 0, 0, :5].tolist() == [0, 3, -3, 127, -128]   # half to even, saturated
    assert np.array_equal(net.quantize_input(x[0]), xq)
    assert net.dequantize("ap", np.array([3]))[0] == pytest.approx(0.21)


# ---- the IR's own checks ----------------------------------------------------------------

def test_invalid_networks_are_one_line_errors():
    rng = np.random.default_rng(0)
    x = QTensor("x", (2, 4, 4), 0.1)
    y = QTensor("y", (2, 2, 2), 0.1)
    ok = dict(kernel=(2, 2), stride=(2, 2), lo=-128, hi=127)
    QNet("n", x, (x, y), (QLayer("p", "maxpool", ("x",), "y", **ok),), ("y",))
    cases = [
        (lambda: QNet("n", x, (x, QTensor("y", (2, 3, 3), 0.1)),
                      (QLayer("p", "maxpool", ("x",), "y", **ok),), ("y",)),
         "layer p: computes shape (2, 2, 2), tensor y is declared (2, 3, 3)"),
        (lambda: QNet("n", x, (x, QTensor("y", (2, 2, 2), 0.2)),
                      (QLayer("p", "maxpool", ("x",), "y", **ok),), ("y",)),
         "maxpool keeps the scale"),
        (lambda: QNet("n", x, (x, y), (QLayer("p", "maxpool", ("z",), "y", **ok),), ("y",)),
         "input z is not computed before it"),
        (lambda: QLayer("c", "conv", ("x",), "y", weight=np.ones((2, 2, 1, 1), np.int64),
                        bias=np.zeros(3, np.int64), mult=np.ones(2), shift=np.ones(2), lo=0,
                        hi=1), "bias must have 2 entries"),
        (lambda: QLayer("c", "sigmoid", ("x",), "y"), "unknown op 'sigmoid'"),
        (lambda: QLayer("p", "maxpool", ("x",), "y", kernel=(2, 2), padding=(2, 0, 0, 0),
                        lo=0, hi=1), "padding (2, 0, 0, 0) larger than half the kernel"),
        (lambda: QTensor("t", (2, 3), 0.1), "shape must be (C, H, W) or (F,)"),
        (lambda: QTensor("t", (2,), -1.0), "scale must be finite and > 0"),
    ]
    w = rng.integers(-127, 128, size=(2, 2, 3, 3))
    w[0, 0, 0, 0] = -128
    conv = QLayer("c", "conv", ("x",), "y", weight=w, bias=np.zeros(2, np.int64),
                  mult=np.ones(2, np.int64), shift=np.ones(2, np.int64), stride=(2, 2),
                  padding=(1, 1, 0, 0), lo=-128, hi=127)
    cases.append((lambda: QNet("n", x, (x, y), (conv,), ("y",)),
                  "weights outside +-127 (8-bit symmetric)"))
    big = QLayer("c", "conv", ("x",), "y", weight=w // 2, bias=np.zeros(2, np.int64),
                 mult=np.full(2, 1 << 16), shift=np.ones(2, np.int64), stride=(2, 2),
                 padding=(1, 1, 0, 0), lo=-128, hi=127)
    cases.append((lambda: QNet("n", x, (x, y), (big,), ("y",)),
                  "multiplier of more than 16 bits"))
    for make, msg in cases:
        with pytest.raises(NetworkError, match=msg.replace("(", r"\(").replace(")", r"\)")
                           .replace("+", r"\+")) as e:
            make()
        assert "\n" not in str(e.value)


def test_run_checks_its_input():
    net = small_net(np.random.default_rng(0))
    with pytest.raises(NetworkError, match=r"input shape \(3, 8, 7\) does not match"):
        net.run(np.zeros((1, 3, 8, 7), np.int64))
    with pytest.raises(NetworkError, match="outside the 8-bit range"):
        net.run(np.full((1, 3, 8, 8), 128))
    with pytest.raises(NetworkError, match="run takes integers"):
        net.run(np.zeros((1, 3, 8, 8)))


def test_dilated_maxpool_and_exact_products_of_any_width():
    from hwgen.models.network import _exact_matmul
    rng = np.random.default_rng(21)
    x = QTensor("x", (2, 9, 9), 0.1)
    y = QTensor("y", (2, 4, 4), 0.1)
    layer = QLayer("p", "maxpool", ("x",), "y", kernel=(3, 2), stride=(2, 2),
                   padding=(1, 0, 1, 1), dilation=(2, 3), lo=-100, hi=100)
    net = QNet("n", x, (x, y), (layer,), ("y",))
    xi = rng.integers(-128, 128, size=(3, 2, 9, 9))
    want = naive_pool(xi, (3, 2), (2, 2), (1, 0, 1, 1), "max", dil=(2, 3))
    assert net.run(xi)["y"].tolist() == np.clip(want.astype(np.int64), -100, 100).tolist()
    # float64 BLAS while exact, then int64, then Python integers
    for bits in (8, 26, 34):
        a = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(5, 40))
        b = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(40, 3))
        want = [[sum(int(p) * int(q) for p, q in zip(row, col)) for col in b.T] for row in a]
        assert [[int(v) for v in row] for row in _exact_matmul(a, b)] == want
