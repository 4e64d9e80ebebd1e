"""The search's view of the cost model (:mod:`hwgen.models.cost`): area, power, energy,
clock and FPGA resources of a design running a workload, one design at a time
(:meth:`CostProvider.price`) or a whole population at once (:meth:`price_batch`).

:func:`cost_for` gives the provider for a target, or None when the search needs only
cycles (``--objective latency`` without area or power limits); an objective or limit
that needs the cost model on a target it has no coefficients for is refused in one line
naming how to calibrate it.
"""
from __future__ import annotations

from typing import Optional

from ..lib.errors import BadInput
from .evaluate import NEEDS_COST, Constraints, Target


def _model():
    """The cost model module when it offers the search's entry points, else None."""
    try:
        from ..models import cost
    except ImportError:
        return None
    return cost if hasattr(cost, "search_cost") and hasattr(cost, "search_cost_batch") else None


class CostProvider:
    """Prices designs for one target through :mod:`hwgen.models.cost`."""

    def __init__(self, model, target: Target):
        self.model, self.target = model, target

    def price(self, cfg, fig: dict, target: Target, memories: str) -> dict:
        return self.model.search_cost(cfg, fig, target.kind, target.name, target.clock_ns,
                                      memories)

    def price_batch(self, col: dict, cycles, workload, target: Target,
                    activity: Optional[dict] = None) -> dict:
        return self.model.search_cost_batch(col, cycles, workload.macs(), target.kind,
                                            target.name, target.clock_ns,
                                            col.get("memories", "flops"), activity)


def cost_for(target: Target, objective: str, constraints: Constraints) -> Optional[CostProvider]:
    needs = (objective in NEEDS_COST or constraints.max_area_um2 is not None
             or constraints.max_power_mw is not None or target.kind == "board")
    if target.kind == "board" and (objective in NEEDS_COST
                                   or constraints.max_area_um2 is not None
                                   or constraints.max_power_mw is not None):
        what = (f"--objective {objective}" if objective in NEEDS_COST else
                "an area or power limit")
        raise BadInput(f"{what} needs standard-cell area and power, which the cost model "
                       f"gives for a pdk:NAME@CLOCK_NS target, not for board {target.name} "
                       "(a board has LUTs, DSPs and block RAMs: --objective latency)")
    model = _model()
    if model is not None and model.has_coefficients(target.kind, target.name):
        return CostProvider(model, target)
    if needs:
        what = (f"--objective {objective}" if objective in NEEDS_COST else
                "a board target (fit and clock)" if target.kind == "board" else
                "an area or power limit")
        how = (f"hwgen calibrate --pdk {target.name}" if target.kind == "pdk"
               else f"hwgen calibrate --board {target.name}")
        raise BadInput(f"{what} needs the cost model, which has no coefficients for "
                       f"{target.kind} {target.name}; run {how}")
    return None
