"""Per-block switching activity from an RTL simulation (``--activity-method block``).

The default method is per net (:mod:`asic_flow.netact`: a gate-level simulation and
every pin annotated). This one is coarser and cheaper: no gate-level simulation and no
cell models needed, so it also works with any ``--liberty``.

1. A GEMM runs on the generated RTL in Icarus (``sim_tb.runner.run_program(vcd=...)``),
   which dumps every signal of ``hwgen_top``.
2. :func:`read_vcd` counts, per bit, the transitions and the time spent high. Values are
   compared once per time step, so zero-delay glitches of the event-driven simulation do
   not count. Activity is transitions per clock cycle (rising edges of ``clk``), the unit
   of ``set_power_activity``; duty is the share of the dump's time the bit was 1.
3. :func:`block_activities` matches the flip-flops of the synthesized netlist to RTL
   registers by name (Yosys names a flip-flop's Q net after the register it holds,
   e.g. ``array/mesh.pe_0_0.acc[3]``) and averages the measured activity and duty
   over each block's matched flip-flops.
4. OpenSTA then reports power block by block: ``set_power_activity -global`` with that
   block's mean, ``report_power -instances`` on its cells (``sta.analyze_power_by_block``).

Limits: every cell of a block, combinational or not, gets the block's mean flip-flop
activity. Icarus does not dump memory arrays, so buffer words (their flip-flops) are
not measured; a buffer block's mean comes from its few named registers (read data,
addresses), which toggle more often than stored words do, so buffer power is
overstated. The dump includes the reset cycles. No glitches: activity is counted per
clock cycle on the RTL, not on the gates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .vcd import BadVcd, count_bits, read_header

DUT_SCOPE = "hwgen_tb.dut"
CLOCK = "clk"


@dataclass
class Signal:
    name: str
    """Path below the design scope, dot-separated, without VCD escapes."""
    width: int
    msb: int
    lsb: int
    toggles: list[int] = field(default_factory=list)
    high_time: list[int] = field(default_factory=list)
    index: int = -1
    """The dump variable holding it (aliases share one)."""

    def bit_position(self, index: int) -> int | None:
        """Position in the value (0 = last character of the VCD vector) of RTL bit
        ``index``, or None when the signal has no such bit."""
        pos = index - self.lsb if self.msb >= self.lsb else self.lsb - index
        return pos if 0 <= pos < self.width else None


@dataclass
class Activity:
    signals: dict[str, Signal]
    cycles: int
    """Rising edges of the clock in the dump."""
    duration: int
    """Dump time span, in the VCD's time unit."""

    def bit(self, name: str, index: int | None) -> tuple[float, float] | None:
        """(toggles per cycle, duty) of one bit, or None if the dump does not have it."""
        sig = self.signals.get(name)
        if sig is None:
            return None
        if index is None:
            if sig.width != 1:
                return None
            pos = 0
        else:
            pos = sig.bit_position(index)
            if pos is None:
                return None
        return (sig.toggles[pos] / self.cycles,
                sig.high_time[pos] / self.duration if self.duration else 0.0)


def read_vcd(path: Path, scope: str = DUT_SCOPE, clock: str = CLOCK) -> Activity:
    """Per-bit transition counts and high times of every signal below ``scope``."""
    root = tuple(scope.split("."))
    with open(path, "r", errors="replace") as f:
        header = read_header(f, path)
        index: dict[str, int] = {}
        widths: list[int] = []
        signals: dict[str, Signal] = {}
        for v in header.vars:
            if v.scope[:len(root)] != root:
                continue
            name = ".".join([*v.scope[len(root):], v.name])
            if v.ident not in index:
                index[v.ident] = len(widths)
                widths.append(v.width)
            if name not in signals:
                signals[name] = Signal(name, v.width, v.msb, v.lsb, index=index[v.ident])
        clk = signals.get(clock)
        if clk is None:
            raise BadVcd(f"{path}: no clock {scope}.{clock} in the dump")
        counts = count_bits(f, index, widths, clk.index)
    if counts.rising == 0:
        raise BadVcd(f"{path}: the clock never rises in the dump")
    for sig in signals.values():  # aliases (one identifier) share their counts
        sig.toggles, sig.high_time = counts.toggles[sig.index], counts.high[sig.index]
    return Activity(signals, counts.rising, counts.end - counts.start)


_BIT = re.compile(r"^(.*)\[(\d+)\]$")


def _split_bit(name: str) -> tuple[str, int | None]:
    m = _BIT.match(name)
    return (m.group(1), int(m.group(2))) if m else (name, None)


def block_activities(act: Activity, registers: dict[str, str]) -> dict:
    """Mean measured activity and duty of the flip-flops of each block.

    ``registers`` maps flip-flop instance paths to their register names
    (:func:`asic_flow.sta.register_names`): ``array/_123_`` -> ``array/mesh.pe_0_0.acc[3]``;
    a flip-flop counts as measured when that register bit is in the dump. Blocks are the
    netlist's top-level instances; ``top`` holds the flip-flops of the top module itself.
    ``all`` is the mean over every measured flip-flop.
    """
    sums: dict[str, list] = {}
    for inst, reg in sorted(registers.items()):
        block, _, rest = inst.partition("/") if "/" in inst else ("top", "", inst)
        name = reg.split("/", 1)[1] if "/" in inst else reg
        rtl = f"{block}.{name}" if block != "top" else name
        s = sums.setdefault(block, [0, 0, 0.0, 0.0])
        s[0] += 1
        a = act.bit(*_split_bit(rtl))
        if a is not None:
            s[1] += 1
            s[2] += a[0]
            s[3] += a[1]
    out = {}
    n = sum(s[1] for s in sums.values())
    for block, (flops, measured, a_sum, d_sum) in sorted(sums.items()):
        out[block] = {"flops": flops, "flops_measured": measured,
                      "activity": round(a_sum / measured, 6) if measured else None,
                      "duty": round(d_sum / measured, 6) if measured else None}
    out["all"] = {"flops": sum(s[0] for s in sums.values()), "flops_measured": n,
                  "activity": round(sum(s[2] for s in sums.values()) / n, 6) if n else None,
                  "duty": round(sum(s[3] for s in sums.values()) / n, 6) if n else None}
    return out
