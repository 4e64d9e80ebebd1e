"""Configuration of a multi-pod design: the ``pods:`` section.

``pods: {count: P, interconnect: butterfly|crossbar|bus, tiling: sosa|uniform}`` makes the
design P pods, each the array that ``array:`` describes with its own ``buffers:``, joined
to the shared banks by an interconnect (:mod:`hwgen.lib.scaleout`). ``tiling`` is how a
layer's GEMM is cut across the pods (:mod:`hwgen.compiler.scaleout`): ``uniform`` cuts
every GEMM into the same grid of equal slices, ``sosa`` chooses per layer the grid and
slice sizes (multiples of the pod's tile, fewer pods when more would only add idle PEs)
that finish first.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..lib.scaleout import INTERCONNECTS, PORTS_MAX, interconnect_problem
from .check import Checker, Choice

__all__ = ["PodsConfig", "Tiling", "Interconnect"]


class Interconnect(Choice):
    """How pods reach the shared banks (:data:`hwgen.lib.scaleout.INTERCONNECTS`)."""
    BUTTERFLY = "butterfly"
    CROSSBAR = "crossbar"
    BUS = "bus"


assert tuple(m.value for m in Interconnect) == INTERCONNECTS


class Tiling(Choice):
    """How a GEMM is cut across pods."""
    SOSA = "sosa"
    UNIFORM = "uniform"


@dataclass(frozen=True)
class PodsConfig:
    """The ``pods:`` section (see the module docstring); checks itself on construction."""
    count: int = 4
    interconnect: Interconnect = Interconnect.BUTTERFLY
    tiling: Tiling = Tiling.SOSA

    def __post_init__(self):
        ck = Checker(self, "pods")
        ck.int_("count", 1, PORTS_MAX)
        ck.choice("interconnect", Interconnect)
        ck.choice("tiling", Tiling)
        if ck.ok("count", "interconnect") and self.count > 1:
            why = interconnect_problem(self.interconnect.value, self.count)
            if why is not None:
                ck.fail("count", why)
        ck.done()
