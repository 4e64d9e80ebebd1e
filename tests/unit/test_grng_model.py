"""The generator and Bayesian-layer golden models against the mathematics: primitive
trinomials, exact periods and distributions over a period, the Wallace invariant, the
Irwin-Hall moments, the inverse CDF, and the layer's sums written out term by term."""
import math
from collections import Counter
from statistics import NormalDist

import numpy as np
import pytest

from hwgen.config.bayesian import BayesianConfig
from hwgen.config.grng import GrngConfig
from hwgen.lib.gfsr import TRINOMIALS, seed_bits
from hwgen.models import bayesian as bm
from hwgen.models import grng as gm


def test_table_trinomials_are_primitive():
    for p, q in TRINOMIALS.items():
        assert gm.is_mersenne_prime(p), p
        assert gm.is_primitive_trinomial(p, q), (p, q)
        assert gm.is_primitive_trinomial(p, p - q), (p, p - q)   # the reciprocal
    assert not gm.is_mersenne_prime(11) and not gm.is_mersenne_prime(9)
    assert not gm.is_irreducible_trinomial(7, 2) and not gm.is_irreducible_trinomial(127, 2)


def test_bit_source_recurrence_and_period():
    src = gm.BitSource(7, [seed_bits(3, 0, 7), 0b1000000], 3)
    bits = src.take(200).reshape(2, -1)                 # (sources, 600 bits)
    a = bits[0]
    assert all(a[k] == a[k - 7] ^ a[k - 4] for k in range(7, 600))
    assert np.array_equal(bits[:, :127], bits[:, 127:254])   # period 2^7 - 1 bits
    one = gm.BitSource(7, [1], 1)
    seq = one.take(300)[0, :, 0]
    assert min(d for d in range(1, 200) if np.array_equal(seq[:100], seq[d:d + 100])) == 127
    # taking in pieces gives the same stream
    a, b = gm.BitSource(89, [5], 40), gm.BitSource(89, [5], 40)
    assert np.array_equal(a.take(100), np.concatenate([b.take(37), b.take(63)], 1))
    with pytest.raises(ValueError, match="1 to 4 bits"):
        gm.BitSource(7, [1], 5)


@pytest.mark.parametrize("shift", [1, 2])
def test_rlf_is_binomial_over_a_period(shift):
    cfg = GrngConfig(kind="rlf", degree=7, shift=shift, lanes=3, bits=5, seed=9)
    beats = gm.samples(cfg, 2 * 127)
    assert np.array_equal(beats[:127], beats[127:])             # period 2^p - 1
    assert all(not np.array_equal(beats[:20], beats[d:d + 20]) for d in range(1, 127))
    want = {2 * c - 7: math.comb(7, c) for c in range(1, 8)}    # binomial, no all-zero window
    for lane in range(3):
        assert Counter(beats[:127, lane].tolist()) == want
    # consecutive windows share all but `shift` words
    assert np.abs(np.diff(beats, axis=0)).max() <= 2 * shift
    assert np.allclose(gm.rlf_distribution(7) * 127, [0] + [math.comb(7, c) for c in range(1, 8)])
    assert gm.period(cfg) == 127


def test_rlf_counts_the_gfsr_words():
    cfg = GrngConfig(kind="rlf", degree=17, shift=4, lanes=5, bits=6, seed=3)
    w = cfg.rlf_seed()
    for k in range(17, 17 + 4 * 30):
        w.append(w[k - 17] ^ w[k - 11])
    beats = gm.samples(cfg, 30)
    for n in range(30):
        for j in range(5):
            c = sum((w[k] >> j) & 1 for k in range(4 * n, 4 * n + 17))
            assert beats[n, j] == 2 * c - 17


def test_wallace_step_is_orthogonal_and_integer():
    rng = np.random.default_rng(1)
    x = rng.integers(-3000, 3000, size=(10000, 4))
    y = gm.wallace_step(x)
    assert np.array_equal((x * x).sum(1), (y * y).sum(1))
    even = x.sum(1) % 2 == 0
    h = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    assert np.array_equal(2 * y[even], x[even] @ h.T)
    assert np.array_equal(y[~even], np.stack([x[~even, 1], x[~even, 2], x[~even, 3],
                                              -x[~even, 0]], 1))


def test_wallace_preserves_the_pool_sum_of_squares_exactly():
    cfg = GrngConfig(kind="wallace", lanes=8, pool=256, bits=10, seed=4)
    model = gm.WallaceModel(cfg)
    s0 = [(model.banks[g] ** 2).sum() for g in range(2)]
    assert s0 == [cfg.pool_sum_squares] * 2
    assert abs(cfg.pool_sum_squares / (256 * 4 ** cfg.frac_bits) - 1) < 1e-3
    for _ in range(50):
        before = np.sort(model.banks.reshape(2, -1), 1)
        model.run_pass()
        assert [(model.banks[g] ** 2).sum() for g in range(2)] == s0
    assert not np.array_equal(before, np.sort(model.banks.reshape(2, -1), 1))
    assert np.abs(model.banks).max() < 1 << (cfg.pool_bits - 1)
    # a pass visits every address of every bank once
    stride, starts = gm.wallace_pass_params(cfg, model.params.take(5))
    assert (stride % 2 == 1).all()
    for g in range(2):
        for p in range(5):
            for b in range(4):
                addr = (starts[g, p, b] + stride[g, p] * np.arange(64)) % 64
                assert sorted(addr) == list(range(64))


def test_wallace_beats_are_every_passes_th_pass():
    cfg = GrngConfig(kind="wallace", lanes=4, pool=64, bits=8, passes=3, seed=2)
    ref = gm.WallaceModel(cfg)
    want = []
    for p in range(9):
        y = ref.run_pass().reshape(16, 4)
        if p % 3 == 2:
            want.append(np.clip(y, -127, 127))
    g = gm.generator(cfg)
    assert np.array_equal(np.concatenate([g.take(5), g.take(43)]), np.concatenate(want))


def test_clt_is_irwin_hall():
    # over one period of a degree-7 source (4 bits a beat, gcd(127, 4) = 1) every 4-bit
    # pattern appears 8 times but 0000, which appears 7 times
    cfg = GrngConfig(kind="clt", uniforms=2, bits=4, lanes=2, seed=5)
    assert (cfg.uniform_width, cfg.source_bits, cfg.source_degree) == (2, 4, 7)
    beats = gm.samples(cfg, 127)
    want = Counter()
    for v in range(16):
        want[2 * ((v & 3) + (v >> 2)) - 2 * 3] += 7 if v == 0 else 8
    for lane in range(2):
        assert Counter(beats[:, lane].tolist()) == want
    # the moments of the sum of K uniform w-bit numbers
    cfg = GrngConfig(kind="clt", uniforms=4, bits=10, lanes=4, seed=1)
    x = gm.samples(cfg, 100_000).ravel() / cfg.scale
    n2 = (1 << cfg.uniform_width) ** 2
    kurt = -6 * (n2 + 1) / (5 * (n2 - 1)) / 4
    assert abs(x.mean()) < 0.01 and abs(x.var() - 1) < 0.01
    assert abs(((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3 - kurt) < 0.03


def test_icdf_follows_the_inverse_cdf():
    cfg = GrngConfig(kind="icdf", uniform_bits=12, segments=8, bits=10, lanes=1)
    m = np.arange(1 << 12)
    got = gm.icdf_magnitude(cfg, m)
    one = 1 << cfg.frac_bits
    ideal = np.array([round(NormalDist().inv_cdf(1 - (v + 0.5) / (1 << 13)) * one) for v in m])
    assert np.abs(got - ideal).max() <= 1
    assert (got == ideal).mean() > 0.95
    assert (np.diff(got) <= 0).all()                       # monotone in M
    # table nodes are exact: the first value of each segment is the rounded quantile
    for octave in range(12):
        for sub in range(8):
            m0, _ = cfg.icdf_segment(octave, sub)
            assert abs(got[m0] - ideal[m0]) <= 1
    # the sign bit: symmetric codes
    beats = gm.samples(cfg.replace(lanes=2), 50_000)
    assert abs((beats < 0).mean() - 0.5) < 0.01 and abs(beats.mean() / one) < 0.02


def test_every_kind_takes_in_pieces_like_at_once():
    for kw in (dict(kind="rlf", shift=4), dict(kind="wallace", pool=64),
               dict(kind="clt", uniforms=3), dict(kind="icdf", segments=4)):
        cfg = GrngConfig(lanes=4, bits=10, seed=11, **kw)
        g = gm.generator(cfg)
        assert np.array_equal(gm.samples(cfg, 500),
                              np.concatenate([g.take(1), g.take(199), g.take(300)])), kw
        assert gm.samples(cfg, 10).dtype == np.int64


def test_isqrt_exact():
    v = np.array([0, 1, 2, 3, 4, 15, 16, 17, (1 << 62) - 1, (1 << 31) ** 2 - 1, 10 ** 18])
    assert bm.isqrt(v).tolist() == [math.isqrt(int(x)) for x in v]


@pytest.mark.parametrize("lrt", [False, True])
@pytest.mark.parametrize("average", [False, True])
def test_bayesian_layer_term_by_term(lrt, average):
    g = GrngConfig(kind="clt", lanes=3, bits=8, uniforms=4)
    cfg = BayesianConfig(inputs=5, outputs=4, samples=3, in_bits=6, weight_bits=5,
                         local_reparam=lrt, average=average, activation="relu", grng=g)
    rng = np.random.default_rng(3)
    mu = rng.integers(-16, 16, size=(4, 5))
    sg = rng.integers(0, 32, size=(4, 5))
    xs = rng.integers(-32, 32, size=(2, 5))
    eps = rng.integers(-100, 100, size=(2 * cfg.eps_per_vector, 3))
    sh, half = cfg.eps_shift, 1 << (cfg.eps_shift - 1)
    got = bm.layer(cfg, mu, sg, xs, eps)
    beats = iter(eps.tolist())
    for v in range(2):
        y = {}
        for grp in range(2):
            for s in range(3):
                if lrt:
                    e = next(beats)
                for i in range(1 if lrt else 5):
                    if not lrt:
                        e = next(beats)
                    for lane in range(3):
                        j = grp * 3 + lane
                        if j >= 4:
                            continue
                        if lrt:
                            a = sum(int(mu[j, k]) * int(xs[v, k]) for k in range(5))
                            b = sum((int(sg[j, k]) * int(xs[v, k])) ** 2 for k in range(5))
                            y[s, j] = a + ((math.isqrt(b) * e[lane] + half) >> sh)
                        else:
                            w = int(mu[j, i]) + ((int(sg[j, i]) * e[lane] + half) >> sh)
                            y[s, j] = y.get((s, j), 0) + w * int(xs[v, i])
        act = {k: max(val, 0) for k, val in y.items()}
        if average:
            want = [sum(act[s, j] for s in range(3)) for j in range(4)]
        else:
            want = [act[s, j] for grp in range(2) for s in range(3)
                    for j in range(grp * 3, min(grp * 3 + 3, 4))]
        assert got[v].tolist() == want
    assert np.abs(bm.draws(cfg, mu, sg, xs, eps)).max() <= cfg.y_max


def test_bayesian_operand_checks():
    cfg = BayesianConfig(inputs=2, outputs=1, samples=1, weight_bits=4,
                         grng=GrngConfig(lanes=1))
    eps = np.zeros((2, 1))
    with pytest.raises(ValueError, match="sigma codes must lie in 0 .. 15"):
        bm.layer(cfg, [[0, 0]], [[0, 16]], [[0, 0]], eps)
    with pytest.raises(ValueError, match=r"mu and sigma must be \(1, 2\)"):
        bm.layer(cfg, [[0, 0, 0]], [[0, 0]], [[0, 0]], eps)
    with pytest.raises(ValueError, match=r"eps must be \(2, 1\) beats"):
        bm.layer(cfg, [[0, 0]], [[0, 0]], [[0, 0]], np.zeros((3, 1)))
