"""The shared Amaranth stream bench stops with a message, not a hang, when the unit under
test never takes its input."""
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from sim_tb.amaranth_sim import run_weights_then_items


class Stuck(wiring.Component):
    """Never ready for a weight word."""
    w_in: In(stream.Signature(8))
    x_in: In(stream.Signature(8))
    y_out: Out(stream.Signature(8))
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.w_in.ready.eq(0)
        m.d.sync += Signal(name="tick").eq(1)   # a clock domain for the simulator
        return m


def test_a_unit_that_never_takes_its_input_fails_the_bench():
    with pytest.raises(AssertionError, match="a weight word not taken after 100 cycles"):
        run_weights_then_items(Stuck(), [1, 2], [[1]], 1, max_cycles=100)
