"""Single-cycle multiply-add cones: the logic ABC may not finish mapping.

ABC maps a register-to-register cone that sums several products very slowly once the
partial products to add up in that cycle are many. What predicts it is the height of
that sum, the rows of partial products: a product of an a-bit and a b-bit operand adds
min(a, b) rows. At OSU 0.18 µm with a 10 ns target (``benchmarks/abc_cones.py``,
BENCHMARKS.md "ABC and single-cycle multiply-add cones"), sums of up to 48 rows (six
8×8 products, four 12×12, three 16×16) took seconds to two and a half minutes, and of
56 rows or more (seven or eight 8×8, six 12×12, four 16×16, two 32×32) did not finish
in 300 s, but for five 12×12 products (60 rows, 42 s). Before the long synthesis starts, :func:`check` elaborates the design
coarsely (``proc``, ``flatten``, ``wreduce``: multipliers are still ``$mul`` cells of
their real operand widths), follows every combinational path back to the registers and
inputs it starts from, and finds the cone with the most rows; :func:`warning` turns one
of :data:`ROWS_WARN` rows or more into one line that names the register it ends in.

A cone is followed cell by cell, not bit by bit: a cell belongs to the cone of every
cell it feeds, so a multiplexer that picks one of two products counts both (ABC maps
both into the same cycle too).
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.tools import run_capped

from .tools import Tool, yosys_command

SCRIPT = "cones.ys"
JSON = "cones.json"
LOG = "cones.log"

#: Partial-product rows in one single-cycle cone from which :func:`warning` warns.
ROWS_WARN = 56
#: A product counts when both operands are at least this wide (narrower ones are a few
#: AND gates and an adder; constants are not products at all).
MIN_OPERAND_BITS = 4

_MULTIPLIERS = ("$mul", "$macc", "$macc_v2")


@dataclass(frozen=True)
class Cone:
    """The largest single-cycle cone of a design: ``products`` multipliers (``rows``
    rows and ``product_bits`` bits of partial products in all) reach ``sink`` (a
    register, or an output port) without a register between."""
    products: int
    rows: int
    product_bits: int
    sink: str
    widest: str  #: the widest product's operand widths, "AxB"

    def as_dict(self) -> dict:
        return {"products": self.products, "rows": self.rows,
                "product_bits": self.product_bits,
                "sink": self.sink, "widest": self.widest}


def script(verilog_file: str, top: str) -> str:
    """The Yosys script that writes the coarse netlist :func:`largest_cone` reads."""
    return "\n".join([
        "# Coarse netlist for the multiply-add cone check (asic_flow/cones.py):",
        "# multipliers stay $mul cells with their operand widths reduced.",
        f"read_verilog -sv {verilog_file}",
        f"hierarchy -top {top}",
        "proc", "flatten", "opt_clean", "wreduce", "opt_clean",
        f"write_json {JSON}", ""])


def _int(v) -> int:
    return int(v, 2) if isinstance(v, str) else int(v)


def _sequential(kind: str) -> bool:
    """Cells that start and end a cone: flip-flops, latches, memories, and instances of
    modules left as black boxes."""
    if not kind.startswith("$"):
        return True
    k = kind.lstrip("$_").lower()
    return ("dff" in k or "latch" in k or k.startswith(("mem", "ff", "sr", "dlatch"))
            or k in ("sr", "ff"))


def _product_bits(cell: dict) -> list[tuple[int, int]]:
    """(a, b) operand widths of each non-constant product of a multiplier cell."""
    p, conn = cell.get("parameters", {}), cell.get("connections", {})
    if cell["type"] == "$mul":
        a, b = conn.get("A", []), conn.get("B", [])
        if all(isinstance(x, str) for x in a) or all(isinstance(x, str) for x in b):
            return []  # a constant operand: shifts and adds
        return [(_int(p.get("A_WIDTH", len(a))), _int(p.get("B_WIDTH", len(b))))]
    # $macc: count the multiplications of its configuration by their widths is not
    # exposed uniformly across Yosys versions; one product of the A and B widths each.
    return [(len(conn.get("A", [])), len(conn.get("B", [])) or 1)]


def largest_cone(netlist: dict, top: str) -> Optional[Cone]:
    """The cone with the most partial-product rows in module ``top`` of a flattened
    Yosys JSON netlist (ties: the most products, then bits); None without products."""
    mod = netlist["modules"][top]
    cells = mod.get("cells", {})
    names = {}
    for name, net in mod.get("netnames", {}).items():
        hidden = name.startswith("$") or net.get("hide_name", 0)
        for bit in net["bits"]:
            if isinstance(bit, int) and (bit not in names or (not hidden and names[bit][0])):
                names[bit] = (hidden, name)
    driver, comb, products = {}, {}, {}
    for cname, cell in cells.items():
        dirs = cell.get("port_directions", {})
        seq = _sequential(cell["type"])
        if not seq:
            comb[cname] = cell
        for port, bits in cell.get("connections", {}).items():
            if dirs.get(port) == "output":
                for bit in bits:
                    if isinstance(bit, int):
                        driver[bit] = cname
        if cell["type"] in _MULTIPLIERS:
            prods = [ab for ab in _product_bits(cell)
                     if min(ab) >= MIN_OPERAND_BITS]
            if prods:
                products[cname] = prods
    index = {c: i for i, c in enumerate(sorted(products))}

    def fanin(cell: dict) -> set:
        dirs = cell.get("port_directions", {})
        out = set()
        for port, bits in cell.get("connections", {}).items():
            if dirs.get(port) != "output":
                for bit in bits:
                    d = driver.get(bit) if isinstance(bit, int) else None
                    if d is not None and d in comb:
                        out.add(d)
        return out

    fan = {c: sorted(fanin(cell)) for c, cell in comb.items()}
    mask: dict[str, int] = {}
    for start in fan:  # iterative post-order: cones can be thousands of cells deep
        if start in mask:
            continue
        stack = [(start, iter(fan[start]))]
        on_stack = {start}
        while stack:
            cname, it = stack[-1]
            nxt = next((d for d in it if d not in mask and d not in on_stack), None)
            if nxt is not None:
                on_stack.add(nxt)
                stack.append((nxt, iter(fan[nxt])))
                continue
            stack.pop()
            on_stack.discard(cname)
            m = 1 << index[cname] if cname in index else 0
            for d in fan[cname]:
                m |= mask.get(d, 0)  # a combinational loop is cut where it closes
            mask[cname] = m
    if not products:
        return None
    flat = {i: products[c] for c, i in index.items()}

    def weight(m: int) -> tuple[int, int, int]:
        prods = [ab for i, ps in flat.items() if m >> i & 1 for ab in ps]
        return sum(min(ab) for ab in prods), len(prods), sum(a * b for a, b in prods)

    best, best_sink = None, ""
    # Sinks: what registers (and outputs) take from the combinational cells.
    sinks = [(n, c) for n, c in cells.items() if n not in comb]
    for cname, cell in sinks:
        m = 0
        for d in fanin(cell):
            m |= mask[d]
        q = [b for p, bits in cell.get("connections", {}).items()
             if cell.get("port_directions", {}).get(p) == "output" for b in bits]
        label = _name(names, q) or cname
        best, best_sink = _better(best, best_sink, weight(m), m, label)
    for pname, port in mod.get("ports", {}).items():
        if port["direction"] == "output":
            m = 0
            for bit in port["bits"]:
                d = driver.get(bit) if isinstance(bit, int) else None
                if d in comb:
                    m |= mask[d]
            best, best_sink = _better(best, best_sink, weight(m), m, pname)
    if best is None or best[0][0] == 0:
        return None
    (rows, count, bits), m = best
    widest = max((ab for i, ps in flat.items() if m >> i & 1 for ab in ps),
                 key=lambda ab: ab[0] * ab[1])
    return Cone(products=count, rows=rows, product_bits=bits, sink=best_sink,
                widest=f"{widest[0]}x{widest[1]}")


def _name(names: dict, bits: list) -> str:
    found = [names[b] for b in bits if isinstance(b, int) and b in names]
    visible = [n for hidden, n in found if not hidden]
    return (visible or [n for _, n in found] or [""])[0]


def _better(best, best_sink, w, m, label):
    if best is None or w > best[0] or (w == best[0] and label < best_sink):
        return (w, m), label
    return best, best_sink


def check(tool: Tool, verilog: str, top: str, work: Path, timeout: float = 600,
          source: Optional[str] = None) -> Optional[Cone]:
    """Elaborate ``verilog`` coarsely with Yosys in ``work`` and return its largest
    multiply-add cone. ``source`` names a file in ``work`` that already holds the text
    (the synthesis input); without it the text is written to ``cones.v`` for the check.
    None when there are no products, and also when Yosys cannot elaborate the design
    within ``timeout`` seconds: the check only advises, and the synthesis that follows
    reports what is wrong with the design or the tool (``cones.log`` stays in ``work``)."""
    src = work / (source or "cones.v")
    if source is None:
        src.write_text(verilog)
    (work / SCRIPT).write_text(script(src.name, top))
    try:
        proc = run_capped(yosys_command(tool, SCRIPT, LOG), cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
        if proc.returncode != 0 or not (work / JSON).is_file():
            return None
        return largest_cone(json.loads((work / JSON).read_text()), top)
    except subprocess.TimeoutExpired:
        return None
    finally:
        (work / JSON).unlink(missing_ok=True)  # large, and only read here
        if source is None:
            src.unlink(missing_ok=True)


def warning(cone: Optional[Cone]) -> Optional[str]:
    """One line when ``cone`` is deep enough that ABC may not finish it, else None."""
    if cone is None or cone.rows < ROWS_WARN:
        return None
    return (f"{cone.products} products ({cone.rows} partial-product rows, the widest "
            f"{cone.widest}) are summed in one cycle into {cone.sink}: ABC may not finish "
            f"mapping it (seven 8x8 or four 16x16 products did not finish in 300 s); "
            f"register the products or part-sums, or give synthesis more time "
            f"(--synth-timeout)")
