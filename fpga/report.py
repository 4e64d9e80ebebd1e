"""The build report: typed (:class:`FpgaReport`), as JSON (``report.json``), read from
the Yosys and nextpnr output, and printed.

:meth:`FpgaReport.as_dict` is the JSON object of ``report.json``, key for key and in
the same order as before the report was typed (scripts read those keys; the file is
not sorted). :func:`format_table` and :func:`fpga.program.program` work on that
object, so they also take a ``report.json`` read back.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional


# ---- the report, typed --------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    """How much of one resource the design uses of what the device has."""
    used: int
    available: int

    def as_dict(self) -> dict:
        return {"used": self.used, "available": self.available}


@dataclass(frozen=True)
class ClockReport:
    """What clocks the design (key ``clock``)."""
    source: str  #: "oscillator" or "pll"
    requested_mhz: Optional[float]  #: None: the oscillator, nothing asked for
    achieved_mhz: float
    uart_divisor: int
    uart_baud: float
    #: the PLL's setting (:meth:`fpga.pll.PllSetting.describe`) when it makes the clock
    pll: Optional[dict] = None

    def as_dict(self) -> dict:
        out = {"source": self.source, "requested_mhz": self.requested_mhz,
               "achieved_mhz": self.achieved_mhz, "uart_divisor": self.uart_divisor,
               "uart_baud": self.uart_baud}
        if self.pll is not None:
            out["pll"] = self.pll
        return out


@dataclass(frozen=True)
class CriticalPath:
    """The path that sets Fmax, summarised from nextpnr's ``--report`` (key
    ``critical_path``): where it starts and ends and how its delay splits."""
    clock: str  #: the clock net as nextpnr names it
    delay_ns: float
    logic_ns: float  #: clock-to-output, cells and setup
    routing_ns: float
    cells: int  #: cells the path passes through (not counting its two ends)
    carry_cells: int  #: of those, entered through a carry input (a carry chain)
    #: the register (or RAM, DSP) the path starts from: its output net, or its cell
    source: str
    sink: str  #: ``cell.port`` where it ends
    #: the deepest level of the design hierarchy that holds both ends ("" at the top)
    block: str

    def as_dict(self) -> dict:
        return {"clock": self.clock, "delay_ns": self.delay_ns, "logic_ns": self.logic_ns,
                "routing_ns": self.routing_ns, "cells": self.cells,
                "carry_cells": self.carry_cells, "source": self.source, "sink": self.sink,
                "block": self.block}


@dataclass(frozen=True)
class FpgaReport:
    """What :func:`fpga.build` returns; :meth:`as_dict` is ``report.json``."""
    board: str
    family: str
    device: str
    package: str
    config: str
    params: dict
    oscillator_mhz: float
    clock: ClockReport
    constraint_mhz: float  #: the timing target given to nextpnr
    #: "dsp"; "mixed" when the DSP blocks were too few for all and the smallest
    #: multipliers were built from logic cells; "logic" when all were
    multipliers: str
    #: "sync" -> MHz for the design's one clock domain (or every clock net nextpnr saw
    #: when it reports more than one)
    fmax_mhz: dict[str, float]
    fmax_nets: dict[str, float]  #: clock net as nextpnr names it -> MHz
    timing_met: bool
    resources: dict[str, Resource]  #: LUT, FF, BRAM, DSP (and IO, ...)
    nextpnr_utilisation: dict[str, Resource]  #: per nextpnr bel type
    yosys_cells: dict[str, int]
    bitstream: str  #: its path
    bitstream_bytes: int
    bitstream_sha256: str
    seed: int
    tools: dict[str, str]  #: tool -> version
    seconds: dict[str, float]  #: step -> wall-clock seconds
    #: the path that sets Fmax (None when nextpnr's report has none)
    critical_path: Optional[CriticalPath] = None
    #: with ``auto_clock``: the builds tried and the one kept (:func:`fpga.flow.build`)
    clock_search: Optional[dict] = None

    def as_dict(self) -> dict:
        """The JSON object of ``report.json`` (a fresh one: changing it changes nothing
        here)."""
        out = {
            "board": self.board,
            "family": self.family,
            "device": self.device,
            "package": self.package,
            "config": self.config,
            "params": self.params,
            "oscillator_mhz": self.oscillator_mhz,
            "clock": self.clock.as_dict(),
            "constraint_mhz": self.constraint_mhz,
            "multipliers": self.multipliers,
            "fmax_mhz": self.fmax_mhz,
            "fmax_nets": self.fmax_nets,
            "timing_met": self.timing_met,
            "resources": {k: r.as_dict() for k, r in self.resources.items()},
            "nextpnr_utilisation": {k: r.as_dict() for k, r in self.nextpnr_utilisation.items()},
            "yosys_cells": self.yosys_cells,
            "bitstream": self.bitstream,
            "bitstream_bytes": self.bitstream_bytes,
            "bitstream_sha256": self.bitstream_sha256,
            "seed": self.seed,
            "tools": self.tools,
            "seconds": self.seconds,
        }
        if self.critical_path is not None:
            out["critical_path"] = self.critical_path.as_dict()
        if self.clock_search is not None:
            out["clock_search"] = self.clock_search
        return json.loads(json.dumps(out))

    def to_json(self) -> str:
        """The text of ``report.json`` (without its final newline)."""
        return json.dumps(self.as_dict(), indent=2)

#: nextpnr bel types -> report resource names, per family.
NEXTPNR_NAMES = {
    "ice40": {"ICESTORM_LC": "LUT", "ICESTORM_RAM": "BRAM", "ICESTORM_DSP": "DSP",
              "SB_IO": "IO"},
    "ecp5": {"TRELLIS_COMB": "LUT", "TRELLIS_FF": "FF", "DP16KD": "BRAM",
             "MULT18X18D": "DSP", "TRELLIS_IO": "IO"},
    # Gowin: a LUT4 bel in carry mode is an ALU; both take one of the 8640 LUTs (see
    # resources()). DSP counts 18x18 multipliers; a 9x9 is half of one.
    "gowin": {"LUT4": "LUT", "ALU": "LUT", "DFF": "FF", "BSRAM": "BRAM",
              "MULT18X18": "DSP", "MULT9X9": "DSP", "IOB": "IO"},
}

#: Gowin bels that are half of an 18x18 multiplier (each 18x18 block splits into two 9x9).
_GOWIN_HALF_DSP = {"MULT9X9"}

#: Gowin block-RAM cells as synth_gowin writes them.
_GOWIN_BRAM_CELLS = {"SP", "SPX9", "SDP", "SDPX9", "SDPB", "SDPX9B", "DP", "DPX9", "DPB",
                     "DPX9B", "pROM", "pROMX9", "ROM"}
_GOWIN_IO_CELLS = ("IBUF", "OBUF", "TBUF", "IOBUF")
_GOWIN_DSP_CELLS = {"MULT18X18": 2, "MULT9X9": 1, "MULT36X36": 8, "MULTALU18X18": 2,
                    "MULTADDALU18X18": 4, "MULTALU36X18": 4}  # in halves of an 18x18

_UTIL_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.M)
_FMAX_LINE = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((PASS|FAIL) at ([\d.]+) MHz\)")


def yosys_cells(stat: dict) -> dict:
    """Cell counts of the top design from ``stat -json`` output."""
    design = stat.get("design") or {}
    cells = design.get("num_cells_by_type")
    if cells is None:  # older layout: per module only
        cells = {}
        for mod in stat.get("modules", {}).values():
            for k, v in mod.get("num_cells_by_type", {}).items():
                cells[k] = cells.get(k, 0) + v
    return {k: int(v) for k, v in cells.items()}


def estimate_from_cells(family: str, cells: dict) -> dict:
    """Lower bounds of what placement will need, from the synthesised cells."""
    def total(prefix):
        return sum(v for k, v in cells.items() if k.startswith(prefix))

    if family == "ice40":
        return {"LUT": max(total("SB_LUT4"), total("SB_DFF")), "FF": total("SB_DFF"),
                "BRAM": total("SB_RAM40_4K"), "DSP": total("SB_MAC16")}
    if family == "gowin":
        halves = sum(n * cells.get(c, 0) for c, n in _GOWIN_DSP_CELLS.items())
        return {"LUT": total("LUT") + total("ALU"), "FF": total("DFF"),
                "BRAM": sum(cells.get(c, 0) for c in _GOWIN_BRAM_CELLS),
                "DSP": (halves + 1) // 2}
    return {"LUT": total("LUT4") + 2 * total("CCU2C") + 2 * total("TRELLIS_DPR16X4"),
            "FF": total("TRELLIS_FF"), "BRAM": total("DP16KD"), "DSP": total("MULT18X18D")}


def overflow(use: dict, capacity: dict) -> list[tuple]:
    """(resource, needed, available) for every resource above the capacity."""
    return [(k, n, capacity[k]) for k, n in use.items() if k in capacity and n > capacity[k]]


def nextpnr_utilisation(log: str) -> dict:
    """{bel type: (used, available)} from the last utilisation table in a nextpnr log."""
    found = {}
    for m in _UTIL_LINE.finditer(log):
        found[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return found


def nextpnr_fmax(log: str) -> dict:
    """{clock: (achieved MHz, constraint MHz)} from the last timing summary in a log."""
    found = {}
    for m in _FMAX_LINE.finditer(log):
        found[m.group(1)] = (float(m.group(2)), float(m.group(4)))
    return found


def resources(family: str, utilisation: dict, cells: dict, capacity: dict) -> dict:
    """Report resources: LUT (logic cells on iCE40), FF, BRAM, DSP (and IO)."""
    names = NEXTPNR_NAMES[family]
    if family == "gowin":
        return _gowin_resources(utilisation, cells, capacity)
    out = {}
    for bel, (used, avail) in utilisation.items():
        if bel in names:
            out[names[bel]] = {"used": used, "available": avail}
    if "FF" not in out:  # iCE40 flip-flops live in the logic cells; count them from Yosys
        out["FF"] = {"used": estimate_from_cells(family, cells)["FF"],
                     "available": capacity["FF"]}
    for k in ("LUT", "FF", "BRAM", "DSP"):
        out.setdefault(k, {"used": 0, "available": capacity[k]})
    return dict(sorted(out.items()))


def _gowin_resources(utilisation: dict, cells: dict, capacity: dict) -> dict:
    """nextpnr-himbaechel lists LUT4 and ALU bels separately (an ALU is a LUT in carry
    mode) and every multiplier size separately (a 9x9 is half an 18x18). Its IOB line
    leaves out the output buffers, so IO counts the buffers Yosys instantiated.
    ``SSRAM`` is distributed RAM (RAM16SDP4), which is not in the LUT count."""
    def used(bel):
        return utilisation.get(bel, (0, 0))[0]

    out = {"LUT": used("LUT4") + used("ALU"), "FF": used("DFF"), "BRAM": used("BSRAM"),
           "DSP": used("MULT18X18") + (used("MULT9X9") + 1) // 2}
    res = {k: {"used": v, "available": capacity[k]} for k, v in out.items()}
    if "IOB" in utilisation:
        res["IO"] = {"used": sum(cells.get(c, 0) for c in _GOWIN_IO_CELLS),
                     "available": utilisation["IOB"][1]}
    if "RAM16SDP4" in utilisation:
        res["SSRAM"] = {"used": used("RAM16SDP4"), "available": utilisation["RAM16SDP4"][1]}
    return dict(sorted(res.items()))


def read_nextpnr_report(text: str) -> tuple[dict, dict]:
    """(utilisation, fmax) from nextpnr's ``--report`` JSON."""
    data = json.loads(text)
    util = {k: (int(v["used"]), int(v["available"])) for k, v in data.get("utilization", {}).items()}
    fmax = {k: (float(v["achieved"]), float(v["constraint"])) for k, v in data.get("fmax", {}).items()}
    return util, fmax


#: ports through which a cell is entered from a carry chain (iCE40, ECP5, Gowin)
_CARRY_PORTS = {"CIN", "FCI", "CI"}


def _hierarchy(name: str) -> list[str]:
    """The hierarchy levels of a cell or net name (``a.b.c_LC`` -> ``[a, b]``); the part
    after the last dot is the cell's own name, and ``$``-names are Yosys's."""
    parts = name.split("$", 1)[0].split(".")
    return parts[:-1]


def critical_path(text: str) -> Optional[CriticalPath]:
    """The path that sets Fmax, from nextpnr's ``--report`` JSON: of the clock-to-same-
    clock paths, the one of the slowest clock (nextpnr's own ``$PACKER_`` nets aside)."""
    data = json.loads(text)
    fmax = {k: float(v["achieved"]) for k, v in data.get("fmax", {}).items()
            if not k.startswith("$PACKER_")}
    best = None
    for cp in data.get("critical_paths", []):
        clk = cp.get("from", "").split(" ", 1)[-1]
        if cp.get("from") != cp.get("to") or clk not in fmax or not cp.get("path"):
            continue
        if best is None or fmax[clk] < fmax[best[0]]:
            best = (clk, cp["path"])
    if best is None:
        return None
    clk, path = best
    routing = sum(s["delay"] for s in path if s["type"] == "routing")
    total = sum(s["delay"] for s in path)
    logic = [s for s in path if s["type"] == "logic"]
    nets = [s["net"] for s in path if s["type"] == "routing" and s.get("net")]
    end = path[-1]["to"]
    # The first net names the register it leaves when it is that register's output
    # (``x.shift[1]`` out of ``x.shift_SB_DFFESR_Q_4_DFFLC``); a net that Yosys named
    # after the logic it feeds does not, and the register's cell names the start instead.
    start = path[0]["from"]["cell"]
    if nets and start.startswith(nets[0].split("[", 1)[0]):
        start = nets[0]
    a = _hierarchy(start)
    b = _hierarchy(end["cell"])
    common = []
    for x, y in zip(a, b):
        if x != y:
            break
        common.append(x)
    return CriticalPath(
        clock=clk, delay_ns=round(total, 2), logic_ns=round(total - routing, 2),
        routing_ns=round(routing, 2), cells=len(logic),
        carry_cells=sum(1 for s in logic if s["from"]["port"] in _CARRY_PORTS),
        source=start,
        sink=f"{end['cell']}.{end['port']}", block=".".join(common))


def format_table(report: dict) -> str:
    """The report for people: one line per fact, resources as used / available."""
    lines = [f"board      {report['board']} ({report['device']}), config {report.get('config', '?')}"]
    clock = report.get("clock")
    if clock:
        if clock["source"] == "pll":
            lines.append(f"clock      {clock['achieved_mhz']:g} MHz from the {clock['pll']['primitive']} "
                         f"(requested {clock['requested_mhz']:g} MHz; oscillator "
                         f"{report['oscillator_mhz']:g} MHz); UART divisor {clock['uart_divisor']}")
        else:
            lines.append(f"clock      {clock['achieved_mhz']:g} MHz oscillator; "
                         f"UART divisor {clock['uart_divisor']}")
    for clk, mhz in report.get("fmax_mhz", {}).items():
        lines.append(f"fmax       {mhz:.2f} MHz on {clk} (constraint {report['constraint_mhz']:g} MHz, "
                     f"{'met' if report['timing_met'] else 'NOT met'})")
    cp = report.get("critical_path")
    if cp:
        lines.append(f"path       {cp['delay_ns']:.2f} ns in {cp['block'] or 'the top'}: "
                     f"{cp['source']} -> {cp['sink']}, {cp['cells']} cells "
                     f"({cp['carry_cells']} in carry chains), {cp['logic_ns']:.2f} ns logic, "
                     f"{cp['routing_ns']:.2f} ns routing")
    search = report.get("clock_search")
    if search:
        lines.append("clock auto " + "; ".join(
            f"{x['name']} {x['clock_mhz']:g} MHz: Fmax "
            + (f"{x['fmax_mhz']:.2f}" if x["fmax_mhz"] is not None else "?")
            + (" met" if x["timing_met"] else " NOT met")
            + (" (kept)" if x["name"] == search["chosen"] else "") for x in search["builds"]))
    if report.get("multipliers") in ("logic", "mixed"):
        lines.append(("multipliers" if report["multipliers"] == "logic" else "some multipliers")
                     + " in logic cells (the DSP blocks were too few)")
    lines.append(f"{'resource':<10} {'used':>8} {'available':>10} {'%':>6}")
    for name, r in report.get("resources", {}).items():
        pct = 100.0 * r["used"] / r["available"] if r["available"] else 0.0
        lines.append(f"{name:<10} {r['used']:>8} {r['available']:>10} {pct:>5.1f}%")
    lines.append(f"bitstream  {report['bitstream']} ({report['bitstream_bytes']} bytes, "
                 f"sha256 {report['bitstream_sha256'][:16]}...)")
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.get("seconds", {}).items())
    lines.append(f"time       {steps}")
    return "\n".join(lines)
