"""Golden model of the stochastic-computing units, written from the mathematics.

Random sources
    * Fibonacci LFSR of width w with tap set T (1-based bit positions, w in T): the state
      s shifts left by one each cycle and the new bit 0 is the XOR of bits t-1, t in T.
      The bit sequence obeys a_{k+w} = XOR_{t in T} a_{k+w-t}, whose characteristic
      polynomial is x^w + sum_{t in T} x^(w-t); when that polynomial is primitive the
      state visits all 2^w - 1 nonzero values (maximal length). :func:`is_primitive`
      checks this algebraically for every table entry.
    * van der Corput (base 2) over k bits: the cycle counter t with its k bits reversed,
      i.e. the radical inverse, which spreads every prefix of the sequence evenly over
      [0, 2^k).

Number generation: bit_t = (x > r_t) for a k-bit code x and k-bit random r_t, so over
codes uniform on [0, 2^k) P(1) = x / 2^k. An LFSR never produces 0, so over one full
period it gives max(x - 1, 0) ones in 2^k - 1 bits: a bias below 1/2^k, left in on
purpose (removing it costs an adder per source) and visible in benchmarks/sc_accuracy.py.

Decorrelating the two operands of a multiplier (the rule the hardware follows):
    * lfsr: operand A compares with the LFSR state s_t, operand B with s_t bit-reversed.
    * vdc: operand A with the radical inverse rev(t), operand B with t itself; the pairs
      (t, rev(t)) / 2^k form the Hammersley point set, so AND / XNOR of the two streams
      is accurate to O(k / 2^k) instead of O(1/sqrt(L)).
The MUX adder selects with the low log2(n) bits of its own LFSR (same taps, ``sel_seed``).

Generator sharing (``sc.sharing``):
    * layer: the rule above with one source for the layer; every input stream compares
      with the same r_a, every weight stream with the same r_b.
    * per_operand: input position i (and the weight of position i in every neuron) gets a
      source of its own, so the n products of a neuron are no longer driven by one random
      number and their errors stop adding up in step.
      - lfsr: source i is the LFSR started i d steps after ``seed`` in its m-sequence,
        d = (2^w - 1) // n (equally spaced phases, :func:`lfsr_jump`); A_i compares with
        its state, B_i with the state bit-reversed.
      - vdc: A_i compares with rev(t) XOR h_i and B_i with t XOR g_i, k-bit digital shifts
        taken from the top k bits of states 32 (2i + 1) and 32 (2i + 2) of the 32-bit LFSR
        seeded with ``seed`` (32 steps apart, so no two shifts share bits). A digital shift
        keeps every aligned block of 2^k values a permutation, so each stream still has
        exactly x ones per 2^k bits; the shifted pairs form a randomised Hammersley set.

Stream activation ``stanh``: a saturating up/down counter with N states (N even), starting
at N/2. For stream bit t the adder's bipolar output d_t (2 b_t - 1 for the MUX, 2 c_t - n
for the parallel counter with c_t ones among the n products) moves the state:
S_{t+1} = min(max(S_t + d_t, 0), N - 1); the output bit is o_t = [S_t >= N/2] (the state
before the step). y is the number of ones of o over the stream, so 2 y / L - 1 is the
bipolar output value, a tanh-like squashing of the dot product.
"""
from __future__ import annotations

import numpy as np

from ..config import ScConfig
from ..lib.lfsr import LFSR_TAPS, lfsr_sequence, lfsr_step

# ----------------------------------------------------------------------------- sources


def lfsr_period(width: int, seed: int = 1) -> int:
    """Steps until the LFSR first returns to ``seed``."""
    s, n = lfsr_step(seed, width), 1
    while s != seed:
        s, n = lfsr_step(s, width), n + 1
    return n


def _polymulmod(a: int, b: int, mod: int, deg: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if (a >> deg) & 1:
            a ^= mod
    return r


def _polypow(e: int, mod: int, deg: int) -> int:
    """x^e modulo the degree-``deg`` polynomial ``mod`` over GF(2)."""
    r, base = 1, 2 if deg > 1 else 2 ^ mod
    while e:
        if e & 1:
            r = _polymulmod(r, base, mod, deg)
        base = _polymulmod(base, base, mod, deg)
        e >>= 1
    return r


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def feedback_polynomial(width: int) -> int:
    """Characteristic polynomial of the tap set, as an integer (bit i = coefficient of x^i):
    a_{k+w} = XOR_t a_{k+w-t}  <=>  x^w + sum_t x^(w-t)."""
    p = 1 << width
    for t in LFSR_TAPS[width]:
        p ^= 1 << (width - t)
    return p


def is_primitive(width: int) -> bool:
    """The tap set's polynomial is primitive, i.e. x has order exactly 2^w - 1 modulo it
    (the LFSR then has maximal length)."""
    p, order = feedback_polynomial(width), (1 << width) - 1
    if _polypow(order, p, width) != 1:
        return False
    return all(_polypow(order // q, p, width) != 1 for q in _prime_factors(order))


def bit_reverse(v, bits: int):
    """Reverse the low ``bits`` bits of v (int or integer array)."""
    v = np.asarray(v, dtype=np.int64)
    r = np.zeros_like(v)
    for i in range(bits):
        r |= ((v >> i) & 1) << (bits - 1 - i)
    return r if r.ndim else int(r)


def vdc_sequence(bits: int, length: int, start: int = 0) -> np.ndarray:
    """Radical inverse (base 2) of t = start .. start+length-1 over ``bits`` bits."""
    t = (np.arange(length, dtype=np.int64) + start) & ((1 << bits) - 1)
    return bit_reverse(t, bits)


def operand_randoms(cfg: ScConfig, length: int | None = None):
    """(r_a, r_b, sel) for one stream: the random numbers the A and B operands are
    compared with and the MUX select, cycle by cycle. r_a and r_b have shape (L,) with
    ``sharing: layer`` and (fan_in, L) with ``per_operand`` (row i for position i)."""
    n = cfg.length if length is None else length
    k = cfg.value_bits
    if cfg.generator == "lfsr":
        if cfg.sharing == "layer":
            ra = lfsr_sequence(cfg.lfsr_width, cfg.seed, n)
        else:
            ra = np.stack([lfsr_sequence(cfg.lfsr_width, s, n) for s in cfg.operand_seeds()])
        rb = bit_reverse(ra, cfg.lfsr_width)
    else:
        ra = vdc_sequence(k, n)
        rb = np.arange(n, dtype=np.int64) & ((1 << k) - 1)
        if cfg.sharing == "per_operand":
            h, g = cfg.vdc_shifts()
            ra = ra[None, :] ^ np.asarray(h, dtype=np.int64)[:, None]
            rb = rb[None, :] ^ np.asarray(g, dtype=np.int64)[:, None]
    sel = lfsr_sequence(cfg.lfsr_width, cfg.select_seed, n) & ((1 << cfg.sel_bits) - 1)
    return ra, rb, sel


# ----------------------------------------------------------------------------- arithmetic


def sng(x, r) -> np.ndarray:
    """Comparator stochastic number generator: bit_t = x > r_t."""
    return (np.asarray(x, dtype=np.int64)[..., None] > np.asarray(r, dtype=np.int64)).astype(np.uint8)


def multiply(a: np.ndarray, b: np.ndarray, encoding: str) -> np.ndarray:
    """AND (unipolar) or XNOR (bipolar) of two streams."""
    return (a & b) if encoding == "unipolar" else (1 ^ a ^ b)


def decode(x, bits: int, encoding: str):
    """Real value of a ``bits``-wide code: x / 2^bits or 2 x / 2^bits - 1."""
    p = np.asarray(x, dtype=np.float64) / (1 << bits)
    return p if encoding == "unipolar" else 2 * p - 1


def stanh(deltas, states: int) -> np.ndarray:
    """Output bits of the saturating up/down counter with ``states`` states, started at
    states / 2, stepped by ``deltas`` (last axis = stream bit; other axes run in
    parallel): o_t = [S_t >= states / 2], S_{t+1} = clip(S_t + d_t, 0, states - 1)."""
    d = np.asarray(deltas, dtype=np.int64)
    s = np.full(d.shape[:-1], states // 2, dtype=np.int64)
    out = np.empty(d.shape, dtype=np.uint8)
    for t in range(d.shape[-1]):
        out[..., t] = s >= states // 2
        s = np.clip(s + d[..., t], 0, states - 1)
    return out


def activation(count: int, total: int, kind: str) -> int:
    """Activation on the ones count of a stream of ``total`` possible ones.

    none: the count; sign: 1 when the bipolar sum 2 count - total is >= 0;
    relu: max(0, 2 count - total) (the bipolar sum in units of 1/length, clipped at 0).
    (``stanh`` works on the stream itself, see :func:`stanh`.)"""
    if kind == "none":
        return count
    if kind == "sign":
        return int(2 * count >= total)
    return max(0, 2 * count - total)


def neuron(cfg: ScConfig, x, w) -> dict:
    """One SC neuron: streams of ``x`` (A operands) and ``w`` (B operands), products,
    the adder, the count and the activation, bit for bit as the hardware does it.

    Returns count (ones counted over the stream), y (activation of count), estimate
    (the real dot product the count encodes) and exact (the real dot product of the
    decoded codes; the MUX adder's result is scaled by 1/n in both)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    n, L = cfg.fan_in, cfg.length
    ra, rb, sel = operand_randoms(cfg)
    prod = multiply(sng(x, ra), sng(w, rb), cfg.encoding)  # n x L
    if cfg.adder == "counter":
        ones = prod.sum(axis=0)               # c_t, ones among the n products
        total = n * L
        scale = n
    else:
        ones = prod[sel, np.arange(L)]        # the selected product bit
        total = L
        scale = 1
    count = int(ones.sum())
    p = count / L
    estimate = p if cfg.encoding == "unipolar" else 2 * p - scale
    vb = cfg.value_bits
    exact = float(np.dot(decode(x, vb, cfg.encoding), decode(w, vb, cfg.encoding)))
    if cfg.adder == "mux":
        estimate, exact = estimate, exact / n
    if cfg.activation == "stanh":
        y = int(stanh(2 * ones.astype(np.int64) - scale, cfg.fsm_states).sum())
    else:
        y = activation(count, total, cfg.activation)
    mask = (1 << cfg.count_width) - 1
    return {"count": count & mask, "y": y & mask, "estimate": estimate, "exact": exact,
            "products": prod}


def layer(cfg: ScConfig, x, w) -> list[dict]:
    """``cfg.neurons`` neurons sharing the input streams; w is neurons x fan_in."""
    return [neuron(cfg, x, row) for row in np.asarray(w).reshape(cfg.neurons, cfg.fan_in)]
