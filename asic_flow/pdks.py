"""Standard-cell libraries: where the OSU cells live and what the flow needs from them.

Debian's ``qflow-tech-osu018`` / ``-osu035`` / ``-osu050`` packages install each library
under ``/usr/share/qflow/tech/<name>/`` with a ``<name>.sh`` file that names its Liberty
and LEF files and its buffer cell (``set libertyfile=...``, ``set bufcell=...``). The
flow reads that file instead of guessing file names (OSU 0.5 um ships
``osu05_stdcells.lib``, not ``osu050_...``). ``QFLOW_TECH_DIR`` points elsewhere.

Any other Liberty can be given directly; its buffer cell is then found from the cells'
functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hwgen.tools import data_dirs

from .errors import BadLiberty, UnknownPdk

#: PDK name -> Debian package providing it.
KNOWN_PDKS = {
    "osu018": "qflow-tech-osu018",
    "osu035": "qflow-tech-osu035",
    "osu050": "qflow-tech-osu050",
}
TECH_DIRS = (Path("/usr/share/qflow/tech"), Path("/usr/local/share/qflow/tech"))

#: Output load on every top-level output port, in fF (a few gate inputs).
DEFAULT_LOAD_FF = 20.0

_UNIT_NS = {"1ps": 1e-3, "10ps": 1e-2, "100ps": 0.1, "1ns": 1.0, "10ns": 10.0, "100ns": 100.0}
_CAP_FF = {"ff": 1.0, "pf": 1e3, "nf": 1e6}


@dataclass(frozen=True)
class Library:
    """A Liberty file and the facts the scripts need from it.

    Attributes
    ----------
    name : str
        PDK name, or the Liberty file's stem for ``--liberty``.
    liberty : Path
    lef : Path or None
        Cell abstracts, for place and route (not used by synthesis or STA).
    drive_cell, drive_pin : str
        Buffer that drives every input port (SDC and ABC constraints).
    time_unit_ns : float
        Liberty time unit in ns; SDC values are written in it.
    cap_unit_ff : float
        Liberty capacitance unit in fF.
    models : Path or None
        The cells' Verilog models, when found next to the Liberty file.
    """
    name: str
    liberty: Path
    lef: Optional[Path]
    drive_cell: str
    drive_pin: str
    time_unit_ns: float
    cap_unit_ff: float
    models: Optional[Path] = None
    """Verilog simulation models of the cells (the Liberty's stem with ``.v``), for the
    gate-level simulation behind per-net activity; None when there are none."""


def tech_dirs() -> list[Path]:
    return data_dirs("QFLOW_TECH_DIR", TECH_DIRS)


def _qflow_vars(sh: Path) -> dict[str, str]:
    """``set name=value`` lines of a qflow tech ``.sh`` file."""
    out = {}
    for line in sh.read_text(errors="replace").splitlines():
        m = re.match(r"\s*set\s+(\w+)\s*=\s*\"?([^\"\s;#]*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def find_pdk(name: str) -> Library:
    """The installed library of PDK ``name``; UnknownPdk if unknown or not installed."""
    known = ", ".join(sorted(KNOWN_PDKS))
    if name not in KNOWN_PDKS:
        raise UnknownPdk(f"unknown PDK {name!r} (known: {known}; or give --liberty FILE)")
    for base in tech_dirs():
        sh = base / name / f"{name}.sh"
        if sh.is_file():
            v = _qflow_vars(sh)
            lib = base / name / v.get("libertyfile", f"{name}_stdcells.lib")
            lef = base / name / v["leffile"] if v.get("leffile") else None
            info = read_liberty(lib, name)
            return Library(name=name, liberty=lib, lef=lef if lef and lef.is_file() else None,
                           drive_cell=v.get("bufcell") or info["buffer"][0],
                           drive_pin=v.get("bufpin_out") or info["buffer"][1],
                           time_unit_ns=info["time_unit_ns"], cap_unit_ff=info["cap_unit_ff"],
                           models=cell_models(lib))
    raise UnknownPdk(f"PDK {name!r} is not installed (looked in "
                     f"{', '.join(str(d) for d in tech_dirs())}); "
                     f"apt-get install -y {KNOWN_PDKS[name]}, or set QFLOW_TECH_DIR")


def from_liberty(path: Path) -> Library:
    """A library given as a Liberty file alone."""
    path = Path(path)
    info = read_liberty(path, path.stem)
    return Library(name=path.stem, liberty=path.resolve(), lef=None,
                   drive_cell=info["buffer"][0], drive_pin=info["buffer"][1],
                   time_unit_ns=info["time_unit_ns"], cap_unit_ff=info["cap_unit_ff"],
                   models=cell_models(path.resolve()))


def cell_models(liberty: Path) -> Optional[Path]:
    """``cells.v`` next to ``cells.lib`` (how the qflow tech packages ship them)."""
    v = Path(liberty).with_suffix(".v")
    return v if v.is_file() else None


def read_liberty(path: Path, what: str) -> dict:
    """Units, cell names and the smallest buffer of a Liberty file (a light scan, not a
    parser: the tools read the file properly). BadLiberty when it is unusable."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        raise BadLiberty(f"cannot read Liberty file {path} for {what}: {e.strerror or e}")
    if not re.search(r"^\s*library\s*\(", text, re.M):
        raise BadLiberty(f"{path} is not a Liberty file (no 'library (...)' group)")
    cells = _cells(text)
    if not cells:
        raise BadLiberty(f"{path}: no cells found in the Liberty file")
    if not any(c["ff"] for c in cells.values()):
        raise BadLiberty(f"{path}: no flip-flop cells (ff groups); cannot map registers")
    m = re.search(r"time_unit\s*:\s*\"?\s*([0-9]+\s*[pn]s)", text)
    time_unit = _UNIT_NS.get(m.group(1).replace(" ", "").lower(), 1.0) if m else 1.0
    m = re.search(r"capacitive_load_unit\s*\(\s*([0-9.]+)\s*,\s*(\w+)\s*\)", text)
    cap_unit = float(m.group(1)) * _CAP_FF.get(m.group(2).lower(), 1e3) if m else 1e3
    bufs = sorted((c["area"], n, c["buffer_pin"]) for n, c in cells.items() if c["buffer_pin"])
    if not bufs:
        raise BadLiberty(f"{path}: no buffer cell (one input, output function equal to it)")
    return {"cells": sorted(cells), "time_unit_ns": time_unit, "cap_unit_ff": cap_unit,
            "buffer": (bufs[0][1], bufs[0][2]),
            "min_ff_area": min(c["area"] for c in cells.values() if c["ff"])}


def _cells(text: str) -> dict[str, dict]:
    out = {}
    starts = [(m.start(), m.group(1))
              for m in re.finditer(r"^\s*cell\s*\(\s*\"?([\w$]+)\"?\s*\)", text, re.M)]
    for i, (pos, name) in enumerate(starts):
        body = text[pos: starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        am = re.search(r"\barea\s*:\s*([0-9.eE+-]+)", body)
        inputs = re.findall(r"pin\s*\(\s*\"?(\w+)\"?\s*\)\s*{[^{}]*?direction\s*:\s*\"?input", body)
        funcs = re.findall(
            r"pin\s*\(\s*\"?(\w+)\"?\s*\)\s*{[^{}]*?function\s*:\s*\"\s*(\w+)\s*\"", body)
        buffer_pin = None
        if len(inputs) == 1:
            for pin, fn in funcs:
                if fn == inputs[0]:
                    buffer_pin = pin
        out[name] = {"area": float(am.group(1)) if am else 0.0,
                     "ff": bool(re.search(r"^\s*ff\s*\(", body, re.M)),
                     "buffer_pin": buffer_pin}
    return out


def resolve(pdk: Optional[str], liberty: Optional[Path]) -> Library:
    if liberty is not None:
        lib = from_liberty(liberty)
        return lib if pdk is None else Library(**{**lib.__dict__, "name": pdk})
    if pdk is None:
        raise UnknownPdk(f"no PDK given (known: {', '.join(sorted(KNOWN_PDKS))}; "
                         "or give --liberty FILE)")
    return find_pdk(pdk)
