"""PLL settings: the divider values that bring a board oscillator closest to a requested
clock, within the frequency ranges of each family's datasheet.

All arithmetic is exact (``Fraction``); frequencies are in MHz. A solver enumerates the
two dividers that set the phase detector and the output divider and computes the best
feedback divider directly, so every valid setting is considered without a triple loop.
``tests/unit/test_fpga_pll.py`` checks the solvers against a brute force over the full
divider space.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache


class ClockOutOfRange(ValueError):
    """The requested clock is outside what the board's PLL can make (one-line message)."""


@dataclass(frozen=True)
class PllLimits:
    """Datasheet ranges of one PLL, in MHz (inclusive)."""
    primitive: str
    f_in: tuple
    f_pfd: tuple
    f_vco: tuple
    f_out: tuple
    source: str  # where the numbers come from


#: iCE40 sysCLOCK PLL (iCE40 UltraPlus datasheet, FPGA-DS-02008; iCE40 sysCLOCK PLL
#: design guide, TN1251). SIMPLE feedback: f_vco = f_in / (DIVR + 1) * (DIVF + 1),
#: f_out = f_vco / 2**DIVQ; DIVR 0..15, DIVF 0..127, DIVQ 1..6.
ICE40 = PllLimits("SB_PLL40_PAD", (10, 133), (10, 133), (533, 1066), (16, 275),
                  "iCE40 UltraPlus datasheet FPGA-DS-02008, TN1251")
#: ECP5 EHXPLLL (ECP5 family datasheet FPGA-DS-02012, sysCLOCK guide TN1263). Feedback
#: from CLKOP: f_out = f_in / CLKI_DIV * CLKFB_DIV, f_vco = f_out * CLKOP_DIV; each
#: divider 1..128.
ECP5 = PllLimits("EHXPLLL", (8, 400), (Fraction(25, 8), 400), (400, 800), (Fraction(25, 8), 400),
                 "ECP5 datasheet FPGA-DS-02012, TN1263")
#: Gowin GW1NR-9 rPLL, speed grade C6/I5 (GW1N series datasheet DS117). Internal
#: feedback: f_out = f_in / (IDIV_SEL + 1) * (FBDIV_SEL + 1), f_vco = f_out * ODIV_SEL;
#: IDIV_SEL, FBDIV_SEL 0..63, ODIV_SEL one of 2, 4, 8, 16, 32, 48, ..., 128.
GOWIN_GW1NR9 = PllLimits("rPLL", (3, 400), (3, 400), (400, 1200), (Fraction(25, 8), 600),
                         "Gowin GW1N series datasheet DS117 (C6/I5)")

LIMITS = {"ice40": ICE40, "ecp5": ECP5, "gowin": GOWIN_GW1NR9}

GOWIN_ODIV = (2, 4, 8, 16, 32, 48, 64, 80, 96, 112, 128)


@dataclass(frozen=True)
class PllSetting:
    """One PLL setting and the frequencies it gives (MHz, exact)."""
    family: str
    f_in: Fraction
    f_pfd: Fraction
    f_vco: Fraction
    f_out: Fraction
    params: dict = field(compare=False)  # the primitive's divider parameters

    @property
    def primitive(self) -> str:
        return LIMITS[self.family].primitive

    def describe(self) -> dict:
        """For the build report."""
        return {"primitive": self.primitive, "params": dict(self.params),
                "input_mhz": float(self.f_in), "pfd_mhz": round(float(self.f_pfd), 6),
                "vco_mhz": round(float(self.f_vco), 6), "output_mhz": round(float(self.f_out), 6)}


def _inside(value, rng) -> bool:
    return rng[0] <= value <= rng[1]


def ice40_filter_range(f_pfd) -> int:
    """The loop filter setting for a phase-detector frequency (TN1251's table, as
    Lattice's PLL tools apply it)."""
    for bound, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if f_pfd < bound:
            return value
    return 6


def _nearest_multipliers(target, f_pfd, step, vco_per_mul, mul_max, limits):
    """Feedback multipliers m (1..mul_max) with f_out = m * step and f_vco = m * vco_per_mul
    inside the limits: the valid m form an interval, so the nearest to ``target`` is one
    of the two around ``target / step``, clamped to it."""
    lo = max(1, _ceil(limits.f_out[0] / step), _ceil(limits.f_vco[0] / vco_per_mul))
    hi = min(mul_max, _floor(limits.f_out[1] / step), _floor(limits.f_vco[1] / vco_per_mul))
    if lo > hi:
        return []
    m = _floor(target / step)
    return sorted({min(max(c, lo), hi) for c in (m, m + 1)})


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def ice40_settings(f_in, target):
    """Every iCE40 setting that may be nearest ``target`` (SIMPLE feedback)."""
    f_in, target = Fraction(f_in), Fraction(target)
    for divr in range(16):
        f_pfd = f_in / (divr + 1)
        if not _inside(f_pfd, ICE40.f_pfd):
            continue
        for divq in range(1, 7):
            step = f_pfd / 2 ** divq
            for mul in _nearest_multipliers(target, f_pfd, step, f_pfd, 128, ICE40):
                yield PllSetting("ice40", f_in, f_pfd, f_pfd * mul, step * mul, {
                    "FEEDBACK_PATH": "SIMPLE", "DIVR": divr, "DIVF": mul - 1, "DIVQ": divq,
                    "FILTER_RANGE": ice40_filter_range(f_pfd)})


def ecp5_settings(f_in, target):
    """Every ECP5 setting that may be nearest ``target`` (feedback from CLKOP)."""
    f_in, target = Fraction(f_in), Fraction(target)
    for clki in range(1, 129):
        f_pfd = f_in / clki
        if not _inside(f_pfd, ECP5.f_pfd):
            continue
        for clkop in range(1, 129):
            for fb in _nearest_multipliers(target, f_pfd, f_pfd, f_pfd * clkop, 128, ECP5):
                yield PllSetting("ecp5", f_in, f_pfd, f_pfd * fb * clkop, f_pfd * fb, {
                    "CLKI_DIV": clki, "CLKFB_DIV": fb, "CLKOP_DIV": clkop,
                    "CLKOP_CPHASE": clkop - 1, "FEEDBK_PATH": "CLKOP"})


def gowin_settings(f_in, target):
    """Every GW1NR-9 rPLL setting that may be nearest ``target`` (internal feedback)."""
    f_in, target = Fraction(f_in), Fraction(target)
    for idiv in range(64):
        f_pfd = f_in / (idiv + 1)
        if not _inside(f_pfd, GOWIN_GW1NR9.f_pfd):
            continue
        for odiv in GOWIN_ODIV:
            for mul in _nearest_multipliers(target, f_pfd, f_pfd, f_pfd * odiv, 64, GOWIN_GW1NR9):
                yield PllSetting("gowin", f_in, f_pfd, f_pfd * mul * odiv, f_pfd * mul, {
                    "IDIV_SEL": idiv, "FBDIV_SEL": mul - 1, "ODIV_SEL": odiv})


SETTINGS = {"ice40": ice40_settings, "ecp5": ecp5_settings, "gowin": gowin_settings}


def _preference(family, target):
    # Nearest frequency first; among equals the highest phase-detector frequency (less
    # jitter), then the VCO nearest the middle of its range (margin to both ends), then
    # the parameters, so that the choice is deterministic.
    lo, hi = LIMITS[family].f_vco
    mid = (Fraction(lo) + Fraction(hi)) / 2

    def key(s: PllSetting):
        return (abs(s.f_out - target), -s.f_pfd, abs(s.f_vco - mid), sorted(s.params.items()))
    return key


def output_range(family: str, f_in) -> tuple[Fraction, Fraction]:
    """(lowest, highest) output frequency the family's PLL makes from ``f_in`` MHz."""
    return _output_range(family, Fraction(f_in))


@lru_cache(maxsize=64)
def _output_range(family: str, f_in: Fraction) -> tuple[Fraction, Fraction]:
    lo_hi = []
    for goal in (Fraction(0), Fraction(10 ** 6)):
        found = list(SETTINGS[family](f_in, goal))
        if not found:
            raise ClockOutOfRange(f"the {LIMITS[family].primitive} cannot use a "
                                  f"{float(f_in):g} MHz input")
        lo_hi.append(min(found, key=_preference(family, goal)).f_out)
    return lo_hi[0], lo_hi[1]


def _mhz(value) -> str:
    return f"{float(value):.6g}"


def _check_input(family: str, f_in):
    """The family's limits; ClockOutOfRange if ``f_in`` is not an input its PLL takes."""
    limits = LIMITS[family]
    if not _inside(Fraction(f_in), limits.f_in):
        raise ClockOutOfRange(f"the {limits.primitive} takes a {_mhz(limits.f_in[0])}-"
                              f"{_mhz(limits.f_in[1])} MHz input, got {_mhz(f_in)} MHz")
    return limits


def solve(family: str, f_in, target) -> PllSetting:
    """The setting whose output is nearest ``target`` MHz; ClockOutOfRange if ``target``
    lies outside the range the PLL can make from ``f_in``."""
    target = Fraction(target)
    limits = _check_input(family, f_in)
    lo, hi = output_range(family, f_in)
    if not lo <= target <= hi:
        raise ClockOutOfRange(f"{_mhz(target)} MHz is out of range: the {limits.primitive} "
                              f"makes {_mhz(lo)}-{_mhz(hi)} MHz from {_mhz(f_in)} MHz")
    return min(SETTINGS[family](f_in, target), key=_preference(family, target))


def solve_below(family: str, f_in, limit) -> PllSetting:
    """The setting with the highest output at or below ``limit`` MHz (for a clock that
    must not exceed a reached Fmax); ClockOutOfRange if the PLL makes nothing that slow.

    For each pair of dividers the valid feedback multipliers form an interval, and
    :func:`SETTINGS` yields the one at or just below ``limit`` among its candidates, so
    filtering them finds the highest output under the limit."""
    limit = Fraction(limit)
    limits = _check_input(family, f_in)
    lo, _ = output_range(family, f_in)
    found = [s for s in SETTINGS[family](f_in, limit) if s.f_out <= limit]
    if not found:
        raise ClockOutOfRange(f"nothing at or below {_mhz(limit)} MHz: the {limits.primitive} "
                              f"makes {_mhz(lo)} MHz and up from {_mhz(f_in)} MHz")
    return min(found, key=_preference(family, limit))
