"""Golden model of the Gaussian random number generators (``grng:``), written from the
mathematics; the units in :mod:`hwgen.units.grng` produce the same codes, beat for beat.

Every generator is a stream of beats, ``lanes`` signed codes each; :func:`generator`
returns an object whose ``take(n)`` gives the next n beats as an (n, lanes) int64 array,
so a consumer (the Bayesian layer's model) can draw from one stream across calls.

Trinomial sequences (:mod:`hwgen.lib.gfsr`)
    a_k = a_{k-p} XOR a_{k-q}. For the table's degrees 2^p - 1 is a Mersenne prime
    (checked by the Lucas-Lehmer test, :func:`is_mersenne_prime`) and x^p + x^q + 1 is
    irreducible (checked by x^(2^p) = x mod the polynomial, :func:`is_irreducible_trinomial`;
    for prime p this is Rabin's test, a trinomial having no root in GF(2)), hence
    primitive: every nonzero start has period 2^p - 1.

Bit source (clt, icdf, and the Wallace pass parameters)
    A register holds the window a_t .. a_{t+p-1}; a beat uses the B oldest bits
    a_t .. a_{t+B-1} (bit i of the beat is a_{t+i}) and the window moves on B bits. The B
    new bits need only bits of the window when B <= q.

rlf (RAM-based linear feedback, after VIBNN's RLF-GRNG)
    Words w_k of ``lanes`` bits follow w_k = w_{k-p} XOR w_{k-q} from the seed words
    w_0 .. w_{p-1}; beat n of lane j is 2 C_j(n) - p with C_j(n) the ones of bit j over
    w_{ns} .. w_{ns+p-1} (s = ``shift``). Column j is an m-sequence, so over one period the
    p-bit window takes every nonzero value once: C is binomial(p, 1/2) conditioned on
    C > 0 (:func:`rlf_distribution`), mean p/2 + O(2^-p), and beat n + 2^p - 1 equals
    beat n (s is a power of two, coprime with 2^p - 1). Beats n and n + d share p - d s
    of their p bits, so the correlation of a lane with itself at lag d is
    max(0, 1 - d s / p) (the price of updating a count instead of summing afresh).

wallace
    Four banks of M = pool/4 values per group of four lanes. Pass P takes block P of the
    group's pass bit source: an odd stride a (a fixed 1 below bank_bits - 1 random bits)
    and start addresses o_0..o_3; step i of the pass reads x_b = bank_b[(o_b + a i) mod M]
    for b = 0..3, writes back y = H x / 2 (H = [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],
    [1,-1,-1,1]], orthogonal since H H^T = 4 I) when x_0 + x_1 + x_2 + x_3 is even (then
    every row sum is even, so y is integer), else y = (x_1, x_2, x_3, -x_0). Both are
    orthogonal and integer, so the pool's sum of squares is exactly invariant
    (:func:`wallace_step`). Within a pass the addresses of a bank are a permutation, so
    the steps of one pass are independent and are computed together. The beat of step
    i of every ``passes``-th pass is y (lane 4 g + b gets y_b), saturated to ``bits``.

clt
    K uniforms u_k of w bits per lane and beat (bits k w .. k w + w - 1 of the beat's
    source bits, least significant first); the code is 2 sum u_k - K (2^w - 1): the
    Irwin-Hall sum, centred, with variance K (4^w - 1) / 3.

icdf
    Source bit 0 is the sign (1: negative), bits 1 .. u the magnitude M. Its octave
    o = u - bitlength(M) and the s = log2(segments) bits below its leading one pick table
    entry (base, slope) (:meth:`hwgen.config.grng.GrngConfig.icdf_table`, the half-normal
    quantile at the segment ends in ``table_frac`` fraction bits); the next t bits
    (``interp_bits``; zeros where M has fewer) are the fraction f, and the magnitude is
    (base 2^t + slope f + 2^(t+g-1)) >> (t + g), g = table_frac - frac_bits.
"""
from __future__ import annotations

import math

import numpy as np

from ..config.grng import TRANSFORM, GrngConfig, GrngKind
from ..lib.gfsr import TRINOMIALS

# ----------------------------------------------------------------------------- algebra


def is_mersenne_prime(p: int) -> bool:
    """2^p - 1 is prime (Lucas-Lehmer; p an odd prime, or 2)."""
    if p == 2:
        return True
    if p < 2 or any(p % d == 0 for d in range(2, math.isqrt(p) + 1)):
        return False
    m, s = (1 << p) - 1, 4
    for _ in range(p - 2):
        s = (s * s - 2) % m
    return s == 0


def _gf2_square(a: int) -> int:
    """a(x)^2 over GF(2): bit i moves to bit 2i."""
    out, i = 0, 0
    while a:
        byte = a & 0xFF
        spread = 0
        for b in range(8):
            if byte >> b & 1:
                spread |= 1 << (2 * b)
        out |= spread << (16 * i)
        a >>= 8
        i += 1
    return out


def _mod_trinomial(a: int, p: int, q: int) -> int:
    """a(x) mod x^p + x^q + 1."""
    mask = (1 << p) - 1
    while a >> p:
        hi = a >> p
        a = (a & mask) ^ hi ^ (hi << q)
    return a


def is_irreducible_trinomial(p: int, q: int) -> bool:
    """x^p + x^q + 1 is irreducible over GF(2), for prime p: x^(2^p) = x modulo it (its
    roots lie in GF(2^p), whose only subfield is GF(2), where a trinomial has no root)."""
    x = 2
    for _ in range(p):
        x = _mod_trinomial(_gf2_square(x), p, q)
    return x == 2


def is_primitive_trinomial(p: int, q: int) -> bool:
    """Primitive: irreducible of degree p with 2^p - 1 prime (every element but 1 of
    GF(2^p)* then has order 2^p - 1)."""
    return is_mersenne_prime(p) and is_irreducible_trinomial(p, q)


# ----------------------------------------------------------------------------- sources


#: Most terms one step of :func:`_extend` makes, and beats per chunk of work.
_STEP_MAX = 1 << 20
_CHUNK_BITS = 1 << 23


def _int_to_bits(v: int, n: int) -> np.ndarray:
    return np.array([(v >> i) & 1 for i in range(n)], dtype=np.uint8)


def _extend(a: np.ndarray, p: int, q: int, total: int) -> np.ndarray:
    """Rows of ``a`` (..., p) bits (or words) a_0 .. a_{p-1} extended to ``total`` with
    a_k = a_{k-p} ^ a_{k-q}. The sequence also obeys a_k = a_{k-2^e p} ^ a_{k-2^e q}
    (the square of a polynomial over GF(2) is the polynomial of the squares), whose
    2^e q newest terms depend only on older ones: once 2^e p terms exist, each step
    makes 2^e q of them."""
    out = np.empty(a.shape[:-1] + (total,), dtype=a.dtype)
    out[..., :p] = a
    k, e = p, 0
    while k < total:
        while (p << (e + 1)) <= k and (q << (e + 1)) <= _STEP_MAX:
            e += 1
        lp, lq = p << e, q << e
        c = min(lq, total - k)
        out[..., k:k + c] = out[..., k - lp:k - lp + c] ^ out[..., k - lq:k - lq + c]
        k += c
    return out


class BitSource:
    """Trinomial bit sources of degree ``p`` (tap from the table), one per row of
    ``seeds`` (integers, bit i = a_i), ``bits`` bits per beat."""

    def __init__(self, p: int, seeds, bits: int):
        self.p, self.q, self.bits = p, TRINOMIALS[p], bits
        if not 0 < bits <= self.q:
            raise ValueError(f"a degree-{p} source gives 1 to {self.q} bits per beat, "
                             f"not {bits}")
        self.window = np.stack([_int_to_bits(s, p) for s in seeds])   # (sources, p)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` beats of every source: (sources, n, bits) uint8."""
        step = max(1, _CHUNK_BITS // self.bits)
        if n > step:
            return np.concatenate([self.take(min(step, n - i)) for i in range(0, n, step)], 1)
        total = n * self.bits
        a = _extend(self.window, self.p, self.q, total + self.p)
        self.window = a[:, total:total + self.p].copy()
        return a[:, :total].reshape(len(a), n, self.bits)


def _bits_value(bits: np.ndarray) -> np.ndarray:
    """Integers of bit arrays (..., n), least significant first (n <= 62)."""
    packed = np.packbits(bits, axis=-1, bitorder="little")
    wide = np.zeros(bits.shape[:-1] + (8,), dtype=np.uint8)
    wide[..., :packed.shape[-1]] = packed
    return wide.view("<u8")[..., 0].astype(np.int64)


# ----------------------------------------------------------------------------- generators


class RlfModel:
    """The rlf generator (see the module docstring)."""

    def __init__(self, cfg: GrngConfig):
        self.cfg = cfg
        self.p, self.q, self.s = cfg.degree, cfg.tap, cfg.shift
        self.words = np.array(cfg.rlf_seed(), dtype=np.uint64)   # w_n s .. w_n s + p - 1

    def take(self, n: int) -> np.ndarray:
        p, q, s, lanes = self.p, self.q, self.s, self.cfg.lanes
        step = max(1, (_CHUNK_BITS // 8) // s)
        if n > step:
            return np.concatenate([self.take(min(step, n - i)) for i in range(0, n, step)])
        w = _extend(self.words, p, q, p + n * s)
        self.words = w[n * s:n * s + p].copy()
        start = np.arange(n) * s
        counts = np.empty((n, lanes), dtype=np.int64)
        for j in range(lanes):
            cs = np.zeros(len(w) + 1, dtype=np.int64)
            np.cumsum((w >> np.uint64(j)) & np.uint64(1), out=cs[1:])
            counts[:, j] = cs[start + p] - cs[start]
        return 2 * counts - p


def wallace_step(x: np.ndarray) -> np.ndarray:
    """The Wallace transform of quadruples x (..., 4): H x / 2 where the sum is even, the
    signed rotation (x1, x2, x3, -x0) where it is odd."""
    x0, x1, x2, x3 = (x[..., b] for b in range(4))
    even = ((x0 + x1 + x2 + x3) & 1) == 0
    h = np.stack([x0 + x1 + x2 + x3, x0 - x1 + x2 - x3,
                  x0 + x1 - x2 - x3, x0 - x1 - x2 + x3], axis=-1) >> 1
    rot = np.stack([x1, x2, x3, -x0], axis=-1)
    return np.where(even[..., None], h, rot)


def wallace_pass_params(cfg: GrngConfig, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(stride, start addresses (..., 4)) of passes from their parameter blocks
    (..., pass_bits) of bits."""
    mb = cfg.bank_bits
    lo = max(mb - 1, 0)
    stride = (_bits_value(block[..., :lo]) << 1 | 1) if lo else np.ones(block.shape[:-1], np.int64)
    starts = np.stack([_bits_value(block[..., lo + b * mb:lo + (b + 1) * mb])
                       for b in range(TRANSFORM)], axis=-1)
    return stride & (cfg.bank_depth - 1), starts


class WallaceModel:
    """The wallace generator (see the module docstring)."""

    def __init__(self, cfg: GrngConfig):
        self.cfg = cfg
        self.banks = np.array([cfg.wallace_pool(g) for g in range(cfg.groups)],
                              dtype=np.int64)                        # (groups, 4, M)
        self.params = BitSource(cfg.pass_degree, [cfg.pass_seed(g) for g in range(cfg.groups)],
                                max(cfg.pass_bits, 1))
        self.passes = 0
        self.pending = np.zeros((0, cfg.lanes), dtype=np.int64)

    def run_pass(self) -> np.ndarray:
        """One pass over every pool; returns the new values, (M, groups, 4)."""
        cfg = self.cfg
        M = cfg.bank_depth
        block = self.params.take(1)[:, 0]                          # (groups, pass_bits)
        stride, starts = wallace_pass_params(cfg, block)
        i = np.arange(M)
        addr = (starts[:, None, :] + stride[:, None, None] * i[None, :, None]) & (M - 1)
        g = np.arange(cfg.groups)[:, None, None]
        b = np.arange(TRANSFORM)[None, None, :]
        x = self.banks[g, b, addr]                                 # (groups, M, 4)
        y = wallace_step(x)
        self.banks[g, b, addr] = y
        self.passes += 1
        return y.transpose(1, 0, 2)

    def take(self, n: int) -> np.ndarray:
        cfg = self.cfg
        lim = (1 << (cfg.bits - 1)) - 1
        chunks = [self.pending]
        have = len(self.pending)
        while have < n:
            out = (self.passes % cfg.passes) == cfg.passes - 1
            y = self.run_pass()
            if out:
                beats = np.clip(y.reshape(len(y), cfg.lanes), -lim, lim)
                chunks.append(beats)
                have += len(beats)
        allb = np.concatenate(chunks)
        self.pending = allb[n:]
        return allb[:n]


class CltModel:
    """The clt generator (see the module docstring)."""

    def __init__(self, cfg: GrngConfig):
        self.cfg = cfg
        self.source = BitSource(cfg.source_degree, [cfg.lane_seed(j) for j in range(cfg.lanes)],
                                cfg.source_bits)

    def take(self, n: int) -> np.ndarray:
        k, w = self.cfg.uniforms, self.cfg.uniform_width
        bits = self.source.take(n)                                 # (lanes, n, K w)
        # sum_k u_k = sum_b 2^b (ones among bit b of the K uniforms)
        ones = bits.reshape(bits.shape[0], n, k, w).sum(axis=2, dtype=np.int64)
        total = ones @ (np.int64(1) << np.arange(w, dtype=np.int64))
        return (2 * total - k * ((1 << w) - 1)).T


def icdf_magnitude(cfg: GrngConfig, m: np.ndarray) -> np.ndarray:
    """The icdf generator's magnitude code for uniform magnitudes ``m`` (int64 array)."""
    u, s, t = cfg.uniform_bits, cfg.segment_bits, cfg.interp_bits
    g = cfg.table_frac - cfg.frac_bits
    m = np.asarray(m, dtype=np.int64)
    length = np.zeros_like(m)
    for step in (32, 16, 8, 4, 2, 1):
        big = (m >> (length + step)) > 0
        length = np.where(big, length + step, length)
    length = np.where(m > 0, length + 1, 0)
    octave = u - length
    norm = np.where(m > 0, m << np.minimum(octave, u - 1), 0)   # leading one at bit u-1
    below_bits = u - 1 - s
    sub = (norm >> below_bits) & ((1 << s) - 1)
    below = norm & ((1 << below_bits) - 1)
    frac = (below >> (below_bits - t)) if below_bits >= t else (below << (t - below_bits))
    table = np.array(cfg.icdf_table(), dtype=np.int64)
    idx = octave * cfg.segments + sub
    base, slope = table[idx, 0], table[idx, 1]
    mag = ((base << t) + slope * frac + (1 << (t + g - 1))) >> (t + g)
    return np.clip(mag, 0, (1 << (cfg.bits - 1)) - 1)


class IcdfModel:
    """The icdf generator (see the module docstring)."""

    def __init__(self, cfg: GrngConfig):
        self.cfg = cfg
        self.source = BitSource(cfg.source_degree, [cfg.lane_seed(j) for j in range(cfg.lanes)],
                                cfg.source_bits)

    def take(self, n: int) -> np.ndarray:
        bits = self.source.take(n)                                 # (lanes, n, 1 + u)
        mag = icdf_magnitude(self.cfg, _bits_value(bits[..., 1:]))
        return np.where(bits[..., 0] == 1, -mag, mag).T


_MODELS = {GrngKind.RLF: RlfModel, GrngKind.WALLACE: WallaceModel, GrngKind.CLT: CltModel,
           GrngKind.ICDF: IcdfModel}


def generator(cfg: GrngConfig):
    """A fresh model of the generator ``cfg`` (its stream from the start)."""
    return _MODELS[cfg.kind](cfg)


def samples(cfg: GrngConfig, n: int) -> np.ndarray:
    """The first ``n`` beats of ``cfg``'s generator, (n, lanes) int64 codes."""
    return generator(cfg).take(n)


# ----------------------------------------------------------------------------- facts


def rlf_distribution(p: int) -> np.ndarray:
    """P(C = c), c = 0 .. p, of a p-bit window of an m-sequence over one period:
    binomial(p, 1/2) without the all-zero window, C(p, c) / (2^p - 1) for c >= 1."""
    total = (1 << p) - 1
    return np.array([0.0] + [math.comb(p, c) / total for c in range(1, p + 1)])


def period(cfg: GrngConfig) -> int:
    """Beats after which the generator's output repeats (the period of its state):
    rlf 2^p - 1 (the window steps by a power of two, coprime with 2^p - 1); clt and icdf
    the source's (2^p - 1) / gcd(2^p - 1, B), B bits per beat; wallace is bounded by its
    state (pool and pass source) but not known in closed form, and None is returned."""
    if cfg.kind == GrngKind.RLF:
        return (1 << cfg.degree) - 1
    if cfg.kind in (GrngKind.CLT, GrngKind.ICDF):
        n = (1 << cfg.source_degree) - 1
        return n // math.gcd(n, cfg.source_bits)
    return None
