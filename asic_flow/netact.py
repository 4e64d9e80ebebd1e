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

from .activity import BadVcd, _unescape

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


def _bits_value(text: str) -> int:
    return int(text.translate(_XZ) or "0", 2)


_XZ = str.maketrans("xXzZ", "0000")


def read_net_vcd(path: Path, keep_scopes: Iterable[str], *, first_cycle: int = 0,
                 max_cycles: Optional[int] = None, clock: str = CLOCK) -> NetDump:
    """Stream ``path``; count per bit of each net declared directly in the design scope
    (``""``) or in one of ``keep_scopes`` (block instance names below it).

    The window starts at the ``first_cycle``-th rising clock edge (0: the start of the
    dump) and ends after ``max_cycles`` rising edges (None: the end of the dump);
    transitions at the closing edge belong to the next cycle and are not counted.
    """
    keep = {"", *keep_scopes}
    ids: dict[str, int] = {}  # VCD identifier -> index
    widths: list[int] = []
    bits: dict[tuple[str, str], tuple[int, int, int]] = {}
    stack: list[str] = []
    skipped = 0
    clk_id: Optional[str] = None
    depth = len(DUT_SCOPE)
    with open(path, "r", errors="replace") as f:
        # --- header ---
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "$scope":
                stack.append(_unescape(words[2]))
                if stack[:depth] == list(DUT_SCOPE) and len(stack) > depth:
                    sub = ".".join(stack[depth:])
                    if sub not in keep and len(stack) == depth + 1:
                        skipped += 1
            elif words[0] == "$upscope":
                stack.pop()
            elif words[0] == "$var":
                if stack[:depth] != list(DUT_SCOPE):
                    continue
                scope = ".".join(stack[depth:])
                if scope not in keep:
                    continue
                width, ident, name = int(words[2]), words[3], _unescape(words[4])
                msb, lsb = width - 1, 0
                if len(words) > 5:
                    r = re.fullmatch(r"\[(-?\d+)(?::(-?\d+))?\]", words[5])
                    if r:
                        msb = int(r.group(1))
                        lsb = int(r.group(2)) if r.group(2) is not None else msb
                if ident not in ids:
                    ids[ident] = len(widths)
                    widths.append(width)
                bits.setdefault((scope, name), (ids[ident], msb, lsb))
                if scope == "" and name == clock:
                    clk_id = ident
            elif words[0] == "$enddefinitions":
                break
        else:
            raise BadVcd(f"{path}: no $enddefinitions: not a complete VCD")
        if clk_id is None:
            raise BadVcd(f"{path}: no clock {'.'.join(DUT_SCOPE)}.{clock} in the dump")
        clk_k = ids[clk_id]
        n = len(widths)
        toggles = [[0] * w for w in widths]
        high = [[0] * w for w in widths]
        value: list[Optional[int]] = [None] * n
        since = [0] * n
        pending: dict[int, int] = {}
        win_start: Optional[int] = None
        win_end: Optional[int] = None
        rising = 0
        edges: list[int] = []  # times of the first two rising edges: the period
        now = 0
        t_first: Optional[int] = None

        def commit(t: int) -> bool:
            """Apply the changes of time ``t``; False once the window has closed."""
            nonlocal rising, win_start, win_end
            new_clk = pending.get(clk_k)
            if new_clk is not None and value[clk_k] == 0 and new_clk & 1:
                rising += 1
                if len(edges) < 2:
                    edges.append(t)
                if win_start is None and rising == first_cycle:
                    win_start = t
                if max_cycles is not None and win_start is not None \
                        and rising == first_cycle + max_cycles:
                    win_end = t
                    return False
            for k, new in pending.items():
                old = value[k]
                if old is None:
                    value[k], since[k] = new, t
                    continue
                if new == old:
                    continue
                if win_start is not None:
                    span = t - max(since[k], win_start)
                    tg, hi = toggles[k], high[k]
                    if widths[k] == 1:
                        tg[0] += 1
                        if old:
                            hi[0] += span
                    else:
                        changed, o, pos = old ^ new, old, 0
                        while changed or o:
                            if changed & 1:
                                tg[pos] += 1
                            if o & 1:
                                hi[pos] += span
                            changed >>= 1
                            o >>= 1
                            pos += 1
                value[k], since[k] = new, t
            pending.clear()
            return True

        # --- value changes ---
        for line in f:
            c = line[:1]
            if c == "#":
                if not commit(now):
                    break
                now = int(line[1:])
                if t_first is None:
                    t_first = now
                    if first_cycle == 0:
                        win_start = now
            elif c in "01xzXZ":
                k = ids.get(line[1:].strip())
                if k is not None:
                    pending[k] = 1 if c == "1" else 0
            elif c in "bB":
                val, _, ident = line[1:].partition(" ")
                k = ids.get(ident.strip())
                if k is not None:
                    pending[k] = _bits_value(val)
        else:
            commit(now)
    end = win_end if win_end is not None else now
    if win_start is None:
        raise BadVcd(f"{path}: the dump ends before clock cycle {first_cycle}")
    for k in range(n):  # time at 1 from the last change to the end of the window
        v = value[k]
        if not v:
            continue
        span = end - max(since[k], win_start)
        if span <= 0:
            continue
        pos = 0
        while v:
            if v & 1:
                high[k][pos] += span
            v >>= 1
            pos += 1
    if len(edges) < 2 or edges[1] <= edges[0] or end <= win_start:
        raise BadVcd(f"{path}: fewer than two rising clock edges, or an empty window")
    cycles = (end - win_start) / (edges[1] - edges[0])
    return NetDump(bits, toggles, high, cycles, end - win_start, (win_start, end),
                   nets=len(bits), skipped_scopes=skipped)


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
            name = _unescape(m.group(1)) if m else None
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
