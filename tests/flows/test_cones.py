"""The multiply-add cone check before logic synthesis (asic_flow/cones.py): designs
whose cones are known by construction, elaborated by the flow's own Yosys."""
from __future__ import annotations

import shutil

import pytest
from amaranth import Module, Signal, signed
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from asic_flow import cones, pdks, synth, tools
from asic_flow.errors import ToolFailed


class Dot(wiring.Component):
    """Registered operands; ``y`` the registered sum of ``n`` products, computed in one
    cycle, or (``staged``) from registered products. ``pick``: ``y`` is the product
    chosen by a select input instead of the sum."""

    def __init__(self, n: int, bits: int = 8, staged: bool = False, pick: bool = False):
        self.n, self.bits, self.staged, self.pick = n, bits, staged, pick
        super().__init__({"a": In(signed(bits)).array(n), "b": In(signed(bits)).array(n),
                          "sel": In(range(n)), "y": Out(signed(2 * bits + 8))})

    def elaborate(self, platform):
        m = Module()
        ra = [Signal(signed(self.bits), name=f"ra{i}") for i in range(self.n)]
        rb = [Signal(signed(self.bits), name=f"rb{i}") for i in range(self.n)]
        for i in range(self.n):
            m.d.sync += [ra[i].eq(self.a[i]), rb[i].eq(self.b[i])]
        prods = [x * y for x, y in zip(ra, rb)]
        if self.staged:
            regs = [Signal(signed(2 * self.bits), name=f"p{i}") for i in range(self.n)]
            m.d.sync += [r.eq(p) for r, p in zip(regs, prods)]
            prods = regs
        if self.pick:
            with m.Switch(self.sel):
                for i, p in enumerate(prods):
                    with m.Case(i):
                        m.d.sync += self.y.eq(p)
        else:
            m.d.sync += self.y.eq(sum(prods))
        return m


class Scaled(wiring.Component):
    """Products by a constant and of 2-bit operands only: no product ABC minds."""

    def __init__(self):
        super().__init__({"a": In(signed(8)), "c": In(2), "d": In(2), "y": Out(16)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.a * 3 + self.c * self.d)
        return m


@pytest.fixture(scope="module")
def yosys():
    return tools.find_yosys()


def _cone(yosys, dut, tmp_path):
    return cones.check(yosys, verilog.convert(dut, name="dut"), "dut", tmp_path)


def test_products_summed_in_one_cycle_warn(yosys, tmp_path):
    c = _cone(yosys, Dot(8), tmp_path)
    assert (c.products, c.rows, c.product_bits, c.widest, c.sink) == (8, 64, 512, "8x8", "y")
    msg = cones.warning(c)
    assert msg.startswith("8 products (64 partial-product rows, the widest 8x8) are summed "
                          "in one cycle into y:")
    assert "\n" not in msg and "--synth-timeout" in msg
    assert not (tmp_path / cones.JSON).exists() and not (tmp_path / "cones.v").exists()


def test_few_products_do_not_warn(yosys, tmp_path):
    c = _cone(yosys, Dot(6), tmp_path)
    assert (c.products, c.rows) == (6, 48) and cones.warning(c) is None
    assert cones.warning(_cone(yosys, Dot(7), tmp_path)) is not None
    wide = _cone(yosys, Dot(3, bits=16), tmp_path)
    assert (wide.products, wide.rows, wide.product_bits, wide.widest) == (3, 48, 768, "16x16")
    assert cones.warning(wide) is None
    assert cones.warning(_cone(yosys, Dot(4, bits=16), tmp_path)) is not None


def test_registered_products_end_the_cone(yosys, tmp_path):
    c = _cone(yosys, Dot(8, staged=True), tmp_path)
    assert c.products == 1 and c.sink.startswith("p") and cones.warning(c) is None


def test_a_multiplexer_counts_every_product_it_picks_from(yosys, tmp_path):
    assert _cone(yosys, Dot(3, pick=True), tmp_path).products == 3


def test_constant_and_narrow_operands_are_not_products(yosys, tmp_path):
    assert _cone(yosys, Scaled(), tmp_path) is None


def test_cone_through_a_combinational_loop_terminates():
    """A loop (which synthesis would reject) does not hang the search; a product in it
    is counted once."""
    def cell(kind, a, b, y, **par):
        return {"type": kind, "parameters": par, "port_directions":
                {"A": "input", "B": "input", "Y": "output"},
                "connections": {"A": a, "B": b, "Y": y}}
    net = {"modules": {"t": {
        "ports": {"o": {"direction": "output", "bits": [5]}},
        "netnames": {"o": {"bits": [5], "hide_name": 0}},
        "cells": {
            "m": cell("$mul", [2, 3, 4, 6], [2, 3, 4, 6], [5, 7], A_WIDTH=4, B_WIDTH=4),
            "x": cell("$add", [5], [7], [6]),
        }}}}
    c = cones.largest_cone(net, "t")
    assert (c.products, c.rows, c.product_bits, c.sink) == (1, 4, 16, "o")


def test_synthesis_warns_before_it_runs(tmp_path, monkeypatch):
    """The warning reaches the caller before Yosys's long run starts (here a tool that
    fails at once), and a failed check does not stop synthesis."""
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' command")
    got = []
    deep = cones.Cone(products=9, rows=72, product_bits=576, sink="acc", widest="8x8")
    monkeypatch.setattr(cones, "check", lambda *a, **k: deep)
    lib = pdks.find_pdk("osu018")
    with pytest.raises(ToolFailed, match="yosys failed"):
        synth.synthesize(tools.Tool("yosys", (false,), "none"), lib,
                         verilog.convert(Dot(2), name="dut"), "dut", "dut", 10.0, tmp_path,
                         warn=got.append)
    assert len(got) == 1 and got[0].startswith("9 products")
    monkeypatch.undo()
    # The real check with the failing tool: no cone, no warning, the same failure.
    with pytest.raises(ToolFailed, match="yosys failed"):
        synth.synthesize(tools.Tool("yosys", (false,), "none"), lib,
                         verilog.convert(Dot(2), name="dut"), "dut", "dut", 10.0, tmp_path,
                         warn=got.append)
    assert len(got) == 1
