"""Per-net switching activity from a gate-level simulation, for OpenSTA's power report.

The mapped netlist (Yosys output) runs the workload in Icarus together with the
library's cell models (``osu018_stdcells.v``), so every net of the netlist exists in
the value-change dump under the name the netlist gives it. This module

1. reads the dump as a stream (:func:`read_net_vcd`): per bit of every net of the top
   module and of the block modules (cell models' internal nets are skipped), the
   transitions and the time at 1, inside a window of clock cycles. Values are compared
   once per time step, so zero-delay glitches of the event-driven simulation do not
   count; x and z read as 0.
2. maps each cell pin of the netlist to the net it is connected to
   (:func:`pin_activities`): activity = transitions per clock cycle, duty = share of
   the window at 1. Pins on the clock net are left to OpenSTA (it derives the clock's
   activity from the SDC clock); pins tied to a constant get activity 0.
3. writes the annotation as Tcl batches of ``sta::set_power_pin_activity`` calls
   (:func:`write_tcl`). The ``set_power_activity -pins`` command of OpenSTA 2.0.17
   cannot be used: its Tcl calls an undefined ``get_pins_error`` and then loops over
   an unset variable. The per-pin call it was meant to make works: each pin's activity
   is used for that pin alone (an output pin's for switching and output internal power,
   an input pin's for its input's internal power), so every pin of a net is annotated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .vcd import BadVcd, count_bits, read_header, unescape

DUT_SCOPE = ("hwgen_tb", "dut")
CLOCK = "clk"
#: Pins per Tcl file; each file is one ``source``.
BATCH_PINS = 20000


@dataclass
class NetDump:
    """Transition counts and high times per bit of the nets in a dump."""
    bits: dict[tuple[str, str], tuple[int, int, int]]
    """(scope below the design, net name) -> (id index, msb, lsb)."""
    toggles: list[list[int]]
    high: list[list[int]]
    cycles: float
    """Clock periods in the window (its length over the clock period)."""
    duration: int
    """Window length in the dump's time unit."""
    window: tuple[int, int] = (0, 0)
    """(first, last) dump time of the window."""
    nets: int = 0
    skipped_scopes: int = 0

    def bit(self, scope: str, name: str, index: Optional[int]) -> Optional[tuple[float, float]]:
        """(transitions per cycle, duty) of one net bit, None if not in the dump."""
        e = self.bits.get((scope, name))
        if e is None:
            return None
        k, msb, lsb = e
        width = abs(msb - lsb) + 1
        if index is None:
            if width != 1:
                return None
            pos = 0
        else:
            pos = index - lsb if msb >= lsb else lsb - index
            if not 0 <= pos < width:
                return None
        return (self.toggles[k][pos] / self.cycles,
                self.high[k][pos] / self.duration if self.duration else 0.0)


def read_net_vcd(path: Path, keep_scopes: Iterable[str], *, first_cycle: int = 0,
                 max_cycles: Optional[int] = None, clock: str = CLOCK) -> NetDump:
    """Stream ``path``; count per bit of each net declared directly in the design scope
    (``""``) or in one of ``keep_scopes`` (block instance names below it).

    The window starts at the ``first_cycle``-th rising clock edge (0: the start of the
    dump) and ends after ``max_cycles`` rising edges (None: the end of the dump);
    transitions at the closing edge belong to the next cycle and are not counted.
    """
    keep = {"", *keep_scopes}
    depth = len(DUT_SCOPE)
    with open(path, "r", errors="replace") as f:
        header = read_header(f, path)
        skipped = sum(1 for sc in header.scopes if len(sc) == depth + 1
                      and sc[:depth] == DUT_SCOPE and sc[depth] not in keep)
        ids: dict[str, int] = {}  # VCD identifier -> index
        widths: list[int] = []
        bits: dict[tuple[str, str], tuple[int, int, int]] = {}
        clk_id: Optional[str] = None
        for v in header.vars:
            if v.scope[:depth] != DUT_SCOPE:
                continue
            scope = ".".join(v.scope[depth:])
            if scope not in keep:
                continue
            if v.ident not in ids:
                ids[v.ident] = len(widths)
                widths.append(v.width)
            bits.setdefault((scope, v.name), (ids[v.ident], v.msb, v.lsb))
            if scope == "" and v.name == clock:
                clk_id = v.ident
        if clk_id is None:
            raise BadVcd(f"{path}: no clock {'.'.join(DUT_SCOPE)}.{clock} in the dump")
        c = count_bits(f, ids, widths, ids[clk_id], first_cycle=first_cycle,
                       max_cycles=max_cycles)
    if c.start is None:
        raise BadVcd(f"{path}: the dump ends before clock cycle {first_cycle}")
    if c.period is None or c.period <= 0 or c.end <= c.start:
        raise BadVcd(f"{path}: fewer than two rising clock edges, or an empty window")
    return NetDump(bits, c.toggles, c.high, (c.end - c.start) / c.period, c.end - c.start,
                   (c.start, c.end), nets=len(bits), skipped_scopes=skipped)


# ---- the netlist side ------------------------------------------------------------------
_INST = re.compile(r"^\s*(\\\S+|[\w$]+)\s+(\\\S+|[\w$]+)\s*\(\s*$")
_PIN = re.compile(r"\.(\\\S+\s|[\w$]+)\s*\((.*?)\)\s*,?\s*$")
_NET = re.compile(r"^(\\\S+|[\w$]+)\s*(?:\[(-?\d+)\])?$")
_CONST = re.compile(r"^\d*'[bB]([01xXzZ])$")
#: Instance names ``get_pins`` takes literally (no glob or bracket characters).
_PLAIN = re.compile(r"^[\w$./]+$")


@dataclass
class Cell:
    path: str
    """Instance path as OpenSTA names it: ``array/_123_`` or ``_45_`` in the top."""
    scope: str
    """Scope of its nets in the dump: block instance name, ``""`` for the top."""
    pins: dict[str, str] = field(default_factory=dict)
    cell_type: str = ""


def netlist_cells(netlist: str, top: str, cell_types: set[str]) -> tuple[list[Cell], dict]:
    """Leaf cells of a Yosys netlist (top module and the block modules it instantiates
    once each), with each pin's net text, and ``{block module: instance name}``."""
    modules: dict[str, list[tuple[str, str, dict]]] = {}
    for chunk in re.split(r"^module\s+", netlist, flags=re.M)[1:]:
        name = chunk.split("(", 1)[0].strip().lstrip("\\")
        insts, cur = [], None
        for line in chunk.splitlines()[1:]:
            if cur is None:
                m = _INST.match(line)
                if m and m.group(1) not in ("module", "input", "output", "wire", "inout",
                                            "reg", "assign"):
                    cur = (m.group(1).lstrip("\\"), m.group(2).lstrip("\\").strip(), {})
                continue
            if line.strip() == ");":
                insts.append(cur)
                cur = None
                continue
            m = _PIN.search(line)
            if m:
                cur[2][m.group(1).strip().lstrip("\\")] = m.group(2).strip()
        modules[name] = insts
    blocks = {t: i for t, i, _ in modules.get(top, []) if t in modules}
    cells = []
    for mod, prefix in ((top, ""), *sorted(blocks.items())):
        for ctype, inst, pins in modules.get(mod, []):
            if ctype in cell_types:
                cells.append(Cell(f"{prefix}/{inst}" if prefix else inst, prefix, pins, ctype))
    return cells, blocks


@dataclass
class PinActivity:
    pins: list[tuple[str, float, float]]
    """(pin path, transitions per cycle, duty)."""
    clock_pins: int
    constant_pins: int
    missing: list[str]
    """Pins whose net is not in the dump (left at OpenSTA's default)."""
    unnamed: list[str]
    """Pins ``get_pins`` cannot name literally (left at the default)."""
    by_block: dict[str, dict]


def pin_activities(cells: list[Cell], dump: NetDump, clock: str = CLOCK) -> PinActivity:
    out, missing, unnamed = [], [], []
    n_clock = n_const = 0
    by_block: dict[str, list] = {}
    for c in cells:
        block = c.scope or "top"
        acc = by_block.setdefault(block, [0, 0, 0.0, 0.0])
        for pin, net in c.pins.items():
            if not net:
                continue
            path = f"{c.path}/{pin}"
            k = _CONST.match(net)
            if k:
                n_const += 1
                out.append((path, 0.0, 1.0 if k.group(1) == "1" else 0.0))
                continue
            m = _NET.match(net)
            name = unescape(m.group(1)) if m else None
            if name == clock:
                n_clock += 1
                continue
            if not _PLAIN.match(c.path) or not _PLAIN.match(pin):
                unnamed.append(path)
                continue
            a = dump.bit(c.scope, name, int(m.group(2)) if m and m.group(2) is not None
                         else None) if m else None
            if a is None:
                missing.append(path)
                continue
            out.append((path, a[0], a[1]))
            acc[0] += 1
            acc[2] += a[0]
            acc[3] += a[1]
        acc[1] += sum(1 for net in c.pins.values() if net)
    blocks = {b: {"pins": v[1], "pins_measured": v[0],
                  "activity": round(v[2] / v[0], 6) if v[0] else None,
                  "duty": round(v[3] / v[0], 6) if v[0] else None}
              for b, v in sorted(by_block.items())}
    return PinActivity(out, n_clock, n_const, missing, unnamed, blocks)


def write_tcl(pins: list[tuple[str, float, float]], work: Path, stem: str = "activity",
              batch: int = BATCH_PINS) -> list[str]:
    """Tcl files annotating ``pins``, at most ``batch`` pins each; pins with equal
    (activity, duty) share one call of the ``hwgen_pin_activity`` loop. Returns the
    file names, in ``source`` order (the first defines the procedure)."""
    names = []
    for i in range(0, max(len(pins), 1), batch):
        part = pins[i:i + batch]
        groups: dict[tuple[str, str], list[str]] = {}
        for path, a, d in part:
            groups.setdefault((f"{a:.6g}", f"{d:.6g}"), []).append(path)
        lines = []
        if i == 0:
            lines += ["# Per-pin switching activity measured in the gate-level simulation.",
                      "proc hwgen_pin_activity {activity duty pins} {",
                      "  foreach p $pins {",
                      "    sta::set_power_pin_activity [get_pins $p] $activity $duty",
                      "  }",
                      "}"]
        for (a, d), paths in sorted(groups.items()):
            lines.append(f"hwgen_pin_activity {a} {d} {{{' '.join(paths)}}}")
        name = f"{stem}_{i // batch:03d}.tcl"
        (Path(work) / name).write_text("\n".join(lines) + "\n")
        names.append(name)
    return names
