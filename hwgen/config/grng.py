"""Configuration of the Gaussian random number generators: the ``grng:`` section.

Every generator gives ``lanes`` samples of ``bits``-bit signed codes per cycle (the
Wallace generator ``lanes / passes``); a code ``c`` stands for the standard normal value
``c / scale`` (:attr:`GrngConfig.scale`). The four kinds (docs/grng.md has the
mathematics, :mod:`hwgen.models.grng` the golden model):

``rlf``
    RAM-based linear feedback, after VIBNN's RLF-GRNG: a GFSR of ``degree`` p words of
    ``lanes`` bits (``w_k = w_{k-p} XOR w_{k-q}``, x^p + x^q + 1 primitive) in a RAM;
    lane j counts the ones C_j of its bit column over the p words the RAM holds, which
    is binomial(p, 1/2) (exactly, over a period, but for the all-zero window). The code
    is ``2 C - p``, so ``scale = sqrt(p)``. Each sample moves the window ``shift`` words
    on (a count update of ``shift`` bits in and out per lane): consecutive samples of a
    lane share ``p - shift`` bits.
``wallace``
    Wallace's method: a pool of ``pool`` integer Gaussian values per four lanes, in four
    banks; every cycle one value is read from each bank and the four are replaced by an
    orthogonal transform of themselves (``H/2`` with H the 4x4 Hadamard matrix when
    their sum is even, a signed cyclic permutation when it is odd), so the pool's sum of
    squares never changes. Each pass visits every bank address once in an order drawn
    from a trinomial bit source; outputs are the new values of every ``passes``-th pass.
    ``frac = bits - 4`` fraction bits (range +-8 sigma).
``clt``
    The central limit theorem: the sum of ``uniforms`` K uniform w-bit numbers from a
    trinomial bit source, ``w = bits - 1 - ceil(log2 K)``; the code is
    ``2 sum - K (2^w - 1)`` (Irwin-Hall, ``scale = sqrt(K (4^w - 1) / 3)``).
``icdf``
    The inverse normal CDF, piecewise linear: a sign bit and an ``uniform_bits``-bit
    magnitude M from a trinomial bit source; the octave of M (its leading one) and the
    next log2(``segments``) bits select a table segment, the bits below interpolate.
    ``frac = bits - 4`` fraction bits.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist
from typing import Any, Optional

from ..lib.gfsr import TRINOMIALS, seed_bits, seed_words, trinomial_for
from .check import Checker, Choice, parse_section


class GrngKind(Choice):
    RLF = "rlf"
    WALLACE = "wallace"
    CLT = "clt"
    ICDF = "icdf"


KINDS = tuple(m.value for m in GrngKind)
LANES_MAX = 64
BITS_MIN, BITS_MAX = 4, 24
#: Output fraction bits below ``bits`` for the Wallace and ICDF generators (+-8 sigma).
RANGE_BITS = 4
#: The transform size of the Wallace generator.
TRANSFORM = 4
#: Fraction bits of the ICDF table above the output's.
ICDF_GUARD = 4
#: Seed streams (hwgen.lib.gfsr.seed_words) of the parts of a generator.
STREAM_RLF, STREAM_POOL, STREAM_PASS, STREAM_LANE = 0, 0x100, 0x200, 0x300

#: Kind-specific keys: key -> (kind, default).
KIND_KEYS = {
    "degree": (GrngKind.RLF, 127),
    "shift": (GrngKind.RLF, 1),
    "pool": (GrngKind.WALLACE, 1024),
    "passes": (GrngKind.WALLACE, 1),
    "uniforms": (GrngKind.CLT, 12),
    "segments": (GrngKind.ICDF, 16),
    "uniform_bits": (GrngKind.ICDF, 32),
}


def _log2(v: int) -> int:
    return v.bit_length() - 1


@dataclass(frozen=True)
class GrngConfig:
    """The ``grng:`` section (see the module docstring); checks itself on construction.
    The kind-specific keys are None for the other kinds and take their default for the
    configured one."""
    kind: GrngKind = GrngKind.RLF
    lanes: int = 4
    bits: int = 12
    seed: int = 1
    degree: Optional[int] = None        # rlf: GFSR length p, the bits each lane sums
    shift: Optional[int] = None         # rlf: window step per sample, in words
    pool: Optional[int] = None          # wallace: values per four lanes
    passes: Optional[int] = None        # wallace: transform passes per output pass
    uniforms: Optional[int] = None      # clt: uniforms summed
    segments: Optional[int] = None      # icdf: interpolation segments per octave
    uniform_bits: Optional[int] = None  # icdf: magnitude bits of the uniform

    ROOT = "grng"

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        kind = ck.choice("kind", GrngKind)
        ck.int_("lanes", 1, LANES_MAX)
        ck.int_("bits", BITS_MIN, BITS_MAX)
        ck.int_("seed", 0, (1 << 64) - 1)
        for key, (owner, default) in KIND_KEYS.items():
            if kind is None:
                continue
            if owner != kind:
                if getattr(self, key) is not None:
                    ck.fail(key, f"applies to kind {owner} only (kind is {kind})")
            elif getattr(self, key) is None:
                object.__setattr__(self, key, default)
        if kind == GrngKind.RLF:
            self._check_rlf(ck)
        elif kind == GrngKind.WALLACE:
            self._check_wallace(ck)
        elif kind == GrngKind.CLT:
            self._check_clt(ck)
        elif kind == GrngKind.ICDF:
            self._check_icdf(ck)
        ck.done()

    def _check_rlf(self, ck: Checker) -> None:
        degree = ck.int_("degree", min(TRINOMIALS), max(TRINOMIALS))
        if degree is not None and degree not in TRINOMIALS:
            ck.fail("degree", "must be one of " + ", ".join(map(str, TRINOMIALS))
                    + f" (degrees of the primitive trinomials in the table), got {degree}")
            degree = None
        shift = ck.int_("shift", 1, 1 << 10)
        if shift is not None and shift & (shift - 1):
            ck.fail("shift", f"must be a power of two, got {shift}")
        elif shift is not None and degree is not None and 2 * shift > TRINOMIALS[degree]:
            q = TRINOMIALS[degree]
            ck.fail("shift", f"at most {q // 2} for degree {degree} (two steps of shift "
                    f"words must fit below the tap at {q}), got {shift}")
        if degree is not None and ck.ok("bits"):
            need = degree.bit_length() + 1
            if self.bits < need:
                ck.fail("bits", f"rlf of degree {degree} needs at least {need} bits "
                        f"(2 C - p spans +-{degree}), got {self.bits}")

    def _check_wallace(self, ck: Checker) -> None:
        if ck.ok("lanes") and self.lanes % TRANSFORM:
            ck.fail("lanes", f"wallace needs a multiple of {TRANSFORM} (one pool serves "
                    f"{TRANSFORM} lanes), got {self.lanes}")
        pool = ck.int_("pool", 16, 1 << 16)
        if pool is not None and pool % TRANSFORM:
            ck.fail("pool", f"must be a multiple of the transform size {TRANSFORM}, got {pool}")
        elif pool is not None and (pool // TRANSFORM) & (pool // TRANSFORM - 1):
            ck.fail("pool", f"must be {TRANSFORM} times a power of two ({TRANSFORM} banks "
                    f"of 2^k values), got {pool}")
        ck.int_("passes", 1, 16)
        if ck.ok("bits") and self.bits < 6:
            ck.fail("bits", f"wallace needs at least 6 bits ({RANGE_BITS} integer bits "
                    f"and 2 fraction bits), got {self.bits}")

    def _check_clt(self, ck: Checker) -> None:
        k = ck.int_("uniforms", 1, 64)
        if k is None or not ck.ok("bits"):
            return
        if self.uniform_width < 1:
            ck.fail("bits", f"clt with {k} uniforms needs at least {2 + (k - 1).bit_length()} "
                    f"bits (one per uniform, plus sign and sum), got {self.bits}")
        elif self.source_bits > max(TRINOMIALS.values()):
            ck.fail("uniforms", f"{k} uniforms of {self.uniform_width} bits need "
                    f"{self.source_bits} random bits per sample, more than the "
                    f"{max(TRINOMIALS.values())} the largest bit source gives")

    def _check_icdf(self, ck: Checker) -> None:
        seg = ck.int_("segments", 1, 64)
        if seg is not None and seg & (seg - 1):
            ck.fail("segments", f"must be a power of two, got {seg}")
        ck.int_("uniform_bits", 8, 62)
        if ck.ok("bits") and self.bits < 6:
            ck.fail("bits", f"icdf needs at least 6 bits ({RANGE_BITS} integer bits and 2 "
                    f"fraction bits), got {self.bits}")

    def replace(self, **kw) -> "GrngConfig":
        """A copy with ``kw`` changed; changing ``kind`` drops the old kind's keys."""
        if "kind" in kw and kw["kind"] != self.kind:
            kw = {**{k: None for k in KIND_KEYS if k not in kw}, **kw}
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def frac_bits(self) -> Optional[int]:
        """Fraction bits of the code (wallace, icdf); None where the scale is not a power
        of two (rlf, clt)."""
        return self.bits - RANGE_BITS if self.kind in (GrngKind.WALLACE, GrngKind.ICDF) else None

    @property
    def scale(self) -> float:
        """Codes per standard deviation of the ideal output."""
        if self.kind == GrngKind.RLF:
            return math.sqrt(self.degree)
        if self.kind == GrngKind.CLT:
            k, w = self.uniforms, self.uniform_width
            return math.sqrt(k * ((1 << 2 * w) - 1) / 3)
        return float(1 << self.frac_bits)

    @property
    def code_max(self) -> int:
        """Largest magnitude a code can have."""
        if self.kind == GrngKind.RLF:
            return self.degree
        if self.kind == GrngKind.CLT:
            return self.uniforms * ((1 << self.uniform_width) - 1)
        return (1 << (self.bits - 1)) - 1

    @property
    def samples_per_cycle(self) -> float:
        return self.lanes / self.passes if self.kind == GrngKind.WALLACE else float(self.lanes)

    # rlf
    @property
    def tap(self) -> int:
        """rlf: the tap q of the GFSR recurrence w_k = w_{k-p} XOR w_{k-q}."""
        return TRINOMIALS[self.degree]

    @property
    def rlf_rows(self) -> int:
        """rlf: rows of each RAM bank (``shift`` banks, one word each per row)."""
        return -(-self.degree // self.shift)

    def rlf_seed(self) -> list[int]:
        """rlf: the initial words w_0 .. w_{p-1} (``lanes`` bits each): SplitMix64 words;
        a lane whose bit column would be all zero gets a one in w_0."""
        mask = (1 << self.lanes) - 1
        words = [w & mask for w in seed_words(self.seed, STREAM_RLF, self.degree)]
        used = 0
        for w in words:
            used |= w
        words[0] |= mask & ~used
        return words

    # wallace
    @property
    def groups(self) -> int:
        """wallace: pools (four lanes each)."""
        return self.lanes // TRANSFORM

    @property
    def bank_depth(self) -> int:
        """wallace: values per bank (pool / 4)."""
        return self.pool // TRANSFORM

    @property
    def bank_bits(self) -> int:
        """wallace: address bits of a bank."""
        return _log2(self.bank_depth)

    @property
    def pass_bits(self) -> int:
        """wallace: random bits that define one pass: an odd stride (bank_bits - 1 bits
        above a fixed 1) and four start addresses."""
        return max(self.bank_bits - 1, 0) + TRANSFORM * self.bank_bits

    @property
    def pass_degree(self) -> int:
        """wallace: degree of the trinomial bit source of the pass parameters."""
        return trinomial_for(max(self.pass_bits, 1))

    def pass_seed(self, group: int) -> int:
        """wallace: the initial state (``pass_degree`` bits) of pool ``group``'s pass
        bit source."""
        return seed_bits(self.seed, STREAM_PASS + group, self.pass_degree)

    def wallace_pool(self, group: int) -> list[list[int]]:
        """wallace: initial banks of pool ``group``, ``[bank][address]``: the pool values
        are c 2^frac Phi^-1((i + 1/2) / pool) rounded (c sets the sum of squares to
        pool 4^frac as nearly as rounding allows), shuffled by Fisher-Yates with
        SplitMix64 draws; value i of the shuffled pool goes to bank i mod 4, address
        i div 4."""
        return self._pools[group]

    @cached_property
    def _pools(self) -> list[list[list[int]]]:
        n, one = self.pool, 1 << self.frac_bits
        z = [NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)]
        c = math.sqrt(n / math.fsum(v * v for v in z))
        base = [round(c * one * v) for v in z]
        pools = []
        for g in range(self.groups):
            vals = list(base)
            draws = seed_words(self.seed, STREAM_POOL + g, n)
            for i in range(n - 1, 0, -1):
                j = draws[i] % (i + 1)
                vals[i], vals[j] = vals[j], vals[i]
            pools.append([vals[b::TRANSFORM] for b in range(TRANSFORM)])
        return pools

    @property
    def pool_sum_squares(self) -> int:
        """wallace: sum of squares of a pool (the same for every pool, and constant)."""
        return sum(v * v for bank in self.wallace_pool(0) for v in bank)

    @property
    def pool_bits(self) -> int:
        """wallace: width of a pool value. An orthogonal transform of four values gives
        values no larger than their norm, which is at most sqrt(sum of squares), so this
        width never overflows."""
        return (math.isqrt(self.pool_sum_squares) + 1).bit_length() + 1

    # clt and icdf: a trinomial bit source per lane
    @property
    def uniform_width(self) -> int:
        """clt: bits of each uniform, w = bits - 1 - ceil(log2 K)."""
        return self.bits - 1 - (self.uniforms - 1).bit_length()

    @property
    def source_bits(self) -> int:
        """clt, icdf: random bits each lane uses per sample."""
        if self.kind == GrngKind.CLT:
            return self.uniforms * self.uniform_width
        if self.kind == GrngKind.ICDF:
            return 1 + self.uniform_bits
        raise AttributeError(f"source_bits: no per-lane bit source for kind {self.kind}")

    @property
    def source_degree(self) -> int:
        """clt, icdf: degree of each lane's trinomial bit source."""
        return trinomial_for(self.source_bits)

    def lane_seed(self, lane: int) -> int:
        """clt, icdf: the initial state (``source_degree`` bits) of lane ``lane``'s bit
        source."""
        return seed_bits(self.seed, STREAM_LANE + lane, self.source_degree)

    # icdf
    @property
    def segment_bits(self) -> int:
        """icdf: bits below the leading one that select a segment, log2(segments)."""
        return _log2(self.segments)

    @property
    def interp_bits(self) -> int:
        """icdf: bits of the interpolation fraction (the output's fraction bits)."""
        return self.frac_bits

    @property
    def table_frac(self) -> int:
        """icdf: fraction bits of the table entries."""
        return self.frac_bits + ICDF_GUARD

    def icdf_table(self) -> list[tuple[int, int]]:
        """icdf: (base, slope) of every segment, indexed ``octave * segments + sub``
        (see :meth:`icdf_segment`); both in ``table_frac`` fraction bits."""
        return self._icdf_table

    def icdf_target(self, m: int) -> float:
        """icdf: the magnitude the code of M = m approximates: the half-normal quantile
        at the middle of m's bin, Phi^-1(1 - (m + 1/2) / 2^(uniform_bits + 1))."""
        return NormalDist().inv_cdf(1.0 - (m + 0.5) / (1 << (self.uniform_bits + 1)))

    def icdf_segment(self, octave: int, sub: int) -> tuple[int, int]:
        """icdf: the first magnitude M0 and the width (a power of two) of the segment
        ``sub`` of ``octave``. Octave o holds M in [2^(u-1-o), 2^(u-o)) (u =
        uniform_bits), o = u holds M = 0; its segment ``sub`` starts at
        (2^(u-1) + sub 2^(u-1-s)) / 2^o, s = segment_bits."""
        u, s = self.uniform_bits, self.segment_bits
        if octave == u:
            return 0, 1
        start = ((1 << (u - 1)) + (sub << (u - 1 - s))) >> octave
        return start, 1 << max(u - 1 - octave - s, 0)

    @cached_property
    def _icdf_table(self) -> list[tuple[int, int]]:
        u, one = self.uniform_bits, 1 << self.table_frac
        out = []
        for octave in range(u + 1):
            for sub in range(self.segments):
                m0, width = self.icdf_segment(octave, sub)
                z0 = self.icdf_target(m0)
                z1 = self.icdf_target(m0 + width) if octave < u else z0
                base = round(z0 * one)
                out.append((base, round(z1 * one) - base))
        return out


KEYS = tuple(f.name for f in dataclasses.fields(GrngConfig))


def parse_grng(data: Any, source: str = "<config>", root: str = "grng") -> GrngConfig:
    """Validate a ``grng:`` mapping (found at ``root``); raise ConfigError with one line
    per problem (``source: grng.<key>: rule``)."""
    return parse_section(GrngConfig, data, root, source)
