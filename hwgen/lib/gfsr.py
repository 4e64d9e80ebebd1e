"""Trinomial feedback sequences and seed expansion: the facts the Gaussian random number
generators (``grng:``) and their golden model share.

A trinomial sequence of degree p and tap q (0 < q < p) is the bit (or word) recurrence

    a_k = a_{k-p} XOR a_{k-q}        (k >= p),

whose characteristic polynomial is x^p + x^q + 1 (or its reciprocal x^p + x^(p-q) + 1,
which gives the same sequence read backwards). For every entry of :data:`TRINOMIALS`,
2^p - 1 is a Mersenne prime, so the polynomial is primitive as soon as it is
irreducible (the multiplicative group of GF(2^p) has prime order, so every element but 1
generates it); the golden model's ``is_primitive_trinomial`` checks irreducibility for
each entry, and any nonzero start then gives period 2^p - 1.

Words of such a recurrence (XOR applied to every bit position alike) form a generalised
feedback shift register (GFSR): each bit position runs its own copy of the bit sequence
from its own start. The B newest bits a_k .. a_{k+B-1} depend only on older bits when
B <= q, so B bits per cycle cost B XOR gates.

Seeds are expanded with SplitMix64 (Steele, Lea and Flood, 2014), defined here so that the
hardware's initial contents and the model's start from the same bits.
"""
from __future__ import annotations

#: Degree p -> tap q of primitive trinomials x^p + x^q + 1 with 2^p - 1 prime. q is
#: taken at or above p/2 (the reciprocal of the tabulated x^p + x^(p-q) + 1), since the
#: number of bits a step can produce is bounded by q.
TRINOMIALS: dict[int, int] = {
    7: 4, 17: 11, 31: 18, 89: 51, 127: 64, 521: 353, 607: 334, 1279: 861,
}

MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_STREAM = 0xD1B54A32D192ED03


def splitmix64(state: int) -> tuple[int, int]:
    """One SplitMix64 step: (next state, 64-bit output)."""
    state = (state + _GAMMA) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def seed_words(seed: int, stream: int, count: int) -> list[int]:
    """``count`` 64-bit words of SplitMix64 started at ``seed + stream * C`` (mod 2^64,
    C an odd constant): independent-looking streams for the lanes and pools of one
    generator from one seed."""
    state = (seed + stream * _STREAM) & MASK64
    out = []
    for _ in range(count):
        state, z = splitmix64(state)
        out.append(z)
    return out


def seed_bits(seed: int, stream: int, count: int) -> int:
    """``count`` bits (bit i of the result is bit i of the stream) from
    :func:`seed_words`, never all zero (bit 0 is set if they are)."""
    words = seed_words(seed, stream, (count + 63) // 64)
    v = 0
    for i, w in enumerate(words):
        v |= w << (64 * i)
    v &= (1 << count) - 1
    return v or 1


def trinomial_for(bits: int) -> int:
    """The smallest degree in :data:`TRINOMIALS` whose tap allows ``bits`` new bits per
    step (q >= bits); ValueError if none does."""
    for p, q in sorted(TRINOMIALS.items()):
        if q >= bits:
            return p
    raise ValueError(f"no trinomial in the table gives {bits} bits per step "
                     f"(at most {max(TRINOMIALS.values())})")


def trinomial_advance(state: int, p: int, bits: int) -> int:
    """The window of a degree-``p`` trinomial sequence (bit i = a_{t+i}) after ``bits``
    more terms (bit i = a_{t+bits+i}), for bits <= q."""
    q = TRINOMIALS[p]
    for _ in range(bits):
        new = (state ^ (state >> (p - q))) & 1     # a_{t+p} = a_t ^ a_{t+p-q}
        state = (state >> 1) | (new << (p - 1))
    return state
