"""PLL dividers (fpga/pll.py): the solvers against a brute force over every divider
setting, the datasheet ranges, the one-line out-of-range errors, and the board top built
around each family's PLL primitive."""
from fractions import Fraction

import numpy as np
import pytest

from fpga import pll
from fpga.boards import BOARDS, get_board
from fpga.flow import plan_clock
from sim_tb.amaranth_sim import simulate

#: family -> (board oscillators, MHz)
OSCILLATORS = {"ice40": (12,), "ecp5": (25, 48), "gowin": (27,)}
TARGETS = (16.5, 20, 27, 33.333, 48, 50, 60, 75.5, 100, 133, 150, 200, 266)


def formula(setting):
    """f_out and f_vco from the dividers, by each datasheet's formula."""
    p = setting.params
    f = setting.f_in
    if setting.family == "ice40":
        vco = f / (p["DIVR"] + 1) * (p["DIVF"] + 1)
        return vco / 2 ** p["DIVQ"], vco
    if setting.family == "ecp5":
        out = f / p["CLKI_DIV"] * p["CLKFB_DIV"]
        return out, out * p["CLKOP_DIV"]
    out = f / (p["IDIV_SEL"] + 1) * (p["FBDIV_SEL"] + 1)
    return out, out * p["ODIV_SEL"]


def all_outputs(family, f_in):
    """Every output frequency a valid setting gives, by brute force over the whole divider
    space (numpy, float64: exact enough to compare errors to 1e-9 MHz)."""
    L = pll.LIMITS[family]
    lo = lambda r: float(r[0]) - 1e-9
    hi = lambda r: float(r[1]) + 1e-9
    if family == "ice40":
        r, f, q = np.meshgrid(np.arange(1, 17), np.arange(1, 129), 2.0 ** np.arange(1, 7),
                              indexing="ij")
        pfd = f_in / r
        vco = pfd * f
        out = vco / q
    elif family == "ecp5":
        i, fb, op = np.meshgrid(np.arange(1, 129), np.arange(1, 129), np.arange(1, 129),
                                indexing="ij")
        pfd = f_in / i
        out = pfd * fb
        vco = out * op
    else:
        i, fb, od = np.meshgrid(np.arange(1, 65), np.arange(1, 65), np.array(pll.GOWIN_ODIV),
                                indexing="ij")
        pfd = f_in / i
        out = pfd * fb
        vco = out * od
    ok = ((pfd >= lo(L.f_pfd)) & (pfd <= hi(L.f_pfd)) & (vco >= lo(L.f_vco))
          & (vco <= hi(L.f_vco)) & (out >= lo(L.f_out)) & (out <= hi(L.f_out)))
    return np.unique(out[ok])


def check_setting(s, family, f_in):
    L = pll.LIMITS[family]
    out, vco = formula(s)
    assert out == s.f_out and vco == s.f_vco
    assert s.f_pfd == {"ice40": lambda: f_in / (s.params["DIVR"] + 1),
                       "ecp5": lambda: f_in / s.params["CLKI_DIV"],
                       "gowin": lambda: f_in / (s.params["IDIV_SEL"] + 1)}[family]()
    for name in ("f_pfd", "f_vco", "f_out"):
        lo, hi = getattr(L, name)
        assert lo <= getattr(s, name) <= hi, (name, s)
    p = s.params
    if family == "ice40":
        assert 0 <= p["DIVR"] <= 15 and 0 <= p["DIVF"] <= 127 and 1 <= p["DIVQ"] <= 6
        assert p["FILTER_RANGE"] == pll.ice40_filter_range(s.f_pfd)
    elif family == "ecp5":
        assert all(1 <= p[k] <= 128 for k in ("CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV"))
        assert p["CLKOP_CPHASE"] == p["CLKOP_DIV"] - 1
    else:
        assert 0 <= p["IDIV_SEL"] <= 63 and 0 <= p["FBDIV_SEL"] <= 63
        assert p["ODIV_SEL"] in pll.GOWIN_ODIV


@pytest.mark.parametrize("family,f_in", [(f, x) for f, xs in OSCILLATORS.items() for x in xs])
def test_nearest_against_brute_force(family, f_in):
    outs = all_outputs(family, f_in)
    lo, hi = pll.output_range(family, f_in)
    assert float(lo) == pytest.approx(outs.min(), abs=1e-9)
    assert float(hi) == pytest.approx(outs.max(), abs=1e-9)
    for target in TARGETS:
        if not lo <= Fraction(str(target)) <= hi:
            continue
        s = pll.solve(family, f_in, Fraction(str(target)))
        check_setting(s, family, Fraction(f_in))
        best = np.abs(outs - target).min()
        assert abs(float(s.f_out) - target) == pytest.approx(best, abs=1e-9), (family, target)


@pytest.mark.parametrize("family,f_in", [(f, x) for f, xs in OSCILLATORS.items() for x in xs])
def test_below_against_brute_force(family, f_in):
    """solve_below: the highest output at or below the limit, of every setting."""
    outs = all_outputs(family, f_in)
    for limit in (*TARGETS, 24.78, 65.63, 16.125):
        fits = outs[outs <= limit + 1e-9]
        if not len(fits):
            with pytest.raises(pll.ClockOutOfRange):
                pll.solve_below(family, f_in, Fraction(str(limit)))
            continue
        s = pll.solve_below(family, f_in, Fraction(str(limit)))
        check_setting(s, family, Fraction(f_in))
        assert s.f_out <= Fraction(str(limit))
        assert float(s.f_out) == pytest.approx(fits.max(), abs=1e-9), (family, limit)
    with pytest.raises(pll.ClockOutOfRange) as e:
        pll.solve_below(family, f_in, Fraction(1, 10))
    assert str(e.value).startswith("nothing at or below 0.1 MHz: the ")


def test_exact_frequencies():
    # Frequencies the dividers make exactly (worked out by hand from the formulas).
    s = pll.solve("ice40", 12, 48)  # 12 * 64 / 2**4
    assert (s.f_out, s.f_vco, s.params["DIVF"], s.params["DIVQ"]) == (48, 768, 63, 4)
    s = pll.solve("ecp5", 25, 60)  # 25 / 5 * 12, VCO 600 (mid-range) with CLKOP_DIV 10
    assert (s.f_out, s.params["CLKI_DIV"], s.params["CLKFB_DIV"], s.params["CLKOP_DIV"]) == (60, 5, 12, 10)
    s = pll.solve("ecp5", 48, 48)  # the input passed through, from the highest PFD
    assert (s.f_out, s.f_pfd, s.params["CLKI_DIV"], s.params["CLKFB_DIV"]) == (48, 48, 1, 1)
    s = pll.solve("gowin", 27, 54)  # 27 * 2
    assert s.f_out == 54 and s.f_pfd == 27 and (s.params["IDIV_SEL"], s.params["FBDIV_SEL"]) == (0, 1)
    # Not exact: 50 MHz from 27 MHz is 27 * 13 / 7 at best (the nearest of all settings).
    s = pll.solve("gowin", 27, 50)
    assert s.f_out == Fraction(27 * 13, 7)


def test_ranges():
    assert pll.output_range("ice40", 12) == (Fraction(129, 8), 270)  # 12*86/64 .. 12*45/2
    assert pll.output_range("gowin", 27) == (Fraction(27, 8), 594)   # 27*1/8, 27*22
    assert pll.output_range("ecp5", 25) == (Fraction(25, 8), 400)


def test_filter_range_table():
    assert [pll.ice40_filter_range(f) for f in (10, 16.9, 17, 25.9, 26, 43.9, 44, 65.9, 66,
                                                100.9, 101, 133)] == \
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


@pytest.mark.parametrize("family,f_in,target,message", [
    ("ice40", 12, 8, "8 MHz is out of range: the SB_PLL40_PAD makes 16.125-270 MHz from 12 MHz"),
    ("ice40", 12, 300, "300 MHz is out of range: the SB_PLL40_PAD makes 16.125-270 MHz from 12 MHz"),
    ("ecp5", 25, 401, "401 MHz is out of range: the EHXPLLL makes 3.125-400 MHz from 25 MHz"),
    ("gowin", 27, 600, "600 MHz is out of range: the rPLL makes 3.375-594 MHz from 27 MHz"),
    ("ice40", 5, 50, "the SB_PLL40_PAD takes a 10-133 MHz input, got 5 MHz"),
])
def test_out_of_range(family, f_in, target, message):
    with pytest.raises(pll.ClockOutOfRange) as e:
        pll.solve(family, f_in, target)
    assert str(e.value) == message


def test_plan_clock():
    ice = get_board("icebreaker")
    assert plan_clock(ice, None) == {"source": "oscillator", "requested_mhz": None,
                                     "achieved_mhz": 12.0, "pll": None}
    # The oscillator frequency itself needs no PLL (the iCE40 PLL cannot make 12 MHz).
    assert plan_clock(ice, 12.0)["pll"] is None
    plan = plan_clock(ice, 50)
    assert plan["source"] == "pll" and plan["achieved_mhz"] == 50.25
    with pytest.raises(pll.ClockOutOfRange) as e:
        plan_clock(ice, 300)
    assert str(e.value) == ("--clock-mhz 300 for icebreaker: 300 MHz is out of range: the "
                            "SB_PLL40_PAD makes 16.125-270 MHz from 12 MHz (or exactly 12 MHz, "
                            "the oscillator, without it)")
    with pytest.raises(pll.ClockOutOfRange, match=r"inf MHz is not a frequency"):
        plan_clock(ice, float("inf"))


def test_uart_divisor_follows_the_pll(monkeypatch):
    pytest.importorskip("amaranth_boards")
    from hwgen.board import top
    from hwgen.config import load_config

    seen = []
    real = top.BoardCore.__init__

    def spy(self, cfg, divisor, **kw):
        seen.append((divisor, kw.get("heartbeat_bit", 23)))
        real(self, cfg, divisor, **kw)

    monkeypatch.setattr(top.BoardCore, "__init__", spy)
    from fpga.flow import elaborate
    b = get_board("icebreaker")
    elaborate(load_config("ice40"), b)
    elaborate(load_config("ice40"), b, pll=plan_clock(b, 50)["pll"])
    # 12 MHz / 115200 -> 104; 50.25 MHz / 115200 = 436.2 -> 436
    assert seen == [(104, 23), (436, 25)]


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_top_with_pll_elaborates(board):
    pytest.importorskip("amaranth_boards")
    from fpga.flow import CONSTRAINTS, elaborate
    from hwgen.config import load_config

    b = get_board(board)
    plan = plan_clock(b, 40)
    files = elaborate(load_config("ice40"), b, pll=plan["pll"])
    il = files["top.il"]
    prim = pll.LIMITS[b.family].primitive
    assert f"cell \\{prim} " in il
    for name, value in plan["pll"].params.items():
        if isinstance(value, int) and name != "CLKOP_CPHASE":
            assert f"parameter \\{name} " in il
    cons = files[CONSTRAINTS[b.family]]
    assert "uart_0__rx" in cons and "uart_0__tx" in cons
    # The oscillator pin is still placed: the PLL's input.
    assert f"{b.platform().default_clk}_0__io" in cons


@pytest.mark.parametrize("cycles", [1, 5, 64])
def test_lock_reset(cycles):
    """Reset stays high from power-on until lock has been seen for ``cycles`` cycles (plus
    the two-stage synchroniser), and rises again the cycle after the lock drops through
    the synchroniser."""
    from hwgen.board import LockReset

    dut = LockReset(cycles)

    async def bench(ctx):
        for _ in range(20):
            assert ctx.get(dut.rst) == 1
            await ctx.tick()
        ctx.set(dut.locked, 1)
        n = 0
        while ctx.get(dut.rst):
            await ctx.tick()
            n += 1
        assert n == cycles + 2
        for _ in range(10):
            await ctx.tick()
            assert ctx.get(dut.rst) == 0
        ctx.set(dut.locked, 0)
        n = 0
        while not ctx.get(dut.rst):
            await ctx.tick()
            n += 1
        assert n == 3  # two synchroniser stages, then the counter clears
        ctx.set(dut.locked, 1)  # a second lock waits the full time again
        n = 0
        while ctx.get(dut.rst):
            await ctx.tick()
            n += 1
        assert n == cycles + 2

    simulate(dut, bench)


def test_lock_reset_rejects_bad_cycles():
    from hwgen.board import LockReset
    with pytest.raises(ValueError, match=r"^cycles must be a positive integer, got 0$"):
        LockReset(0)
