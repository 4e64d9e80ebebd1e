"""Loading a built bitstream onto a board: ``iceprog`` for iCE40, ``openFPGALoader`` for
ECP5 and Gowin. Neither comes from pip; ``$ICEPROG`` / ``$OPENFPGALOADER`` name them when they are
not on PATH.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from hwgen import tools as hwgen_tools
from hwgen.tools import ToolSpec

from .boards import Board, get_board
from .flow import FlowError, ToolMissing, _sha256
from .report import FpgaReport

#: family -> (tool, environment variable, install hint)
PROGRAMMERS = {
    "ice40": ("iceprog", "ICEPROG", "apt-get install -y fpga-icestorm"),
    "ecp5": ("openFPGALoader", "OPENFPGALOADER", "apt-get install -y openfpgaloader"),
    "gowin": ("openFPGALoader", "OPENFPGALOADER", "apt-get install -y openfpgaloader"),
}

#: family -> bitstream file suffix the programmer takes
BITSTREAM_SUFFIX = {"ice40": ".bin", "ecp5": ".bit", "gowin": ".fs"}

#: our board name -> openFPGALoader's ``-b`` name
OPENFPGALOADER_BOARDS = {
    "ulx3s-25f": "ulx3s",
    "ulx3s-85f": "ulx3s",
    "orangecrab-25f": "orangecrab",
    "tangnano9k": "tangnano9k",
}


def find_programmer(family: str) -> list[str]:
    """The programmer command for a family: ``$VAR`` if set (it may carry arguments, e.g.
    ``sudo iceprog``), else the tool on PATH; ToolMissing if absent."""
    tool, var, hint = PROGRAMMERS[family]
    return hwgen_tools.find_argv(ToolSpec(tool, "programming the board", hint, env=var),
                                 error=ToolMissing)


def _load_report(source) -> tuple[dict | None, Path]:
    """(report or None, bitstream path) from a report (typed, or its JSON object), a
    build directory, a ``report.json`` or a bitstream file."""
    if isinstance(source, FpgaReport):
        source = source.as_dict()
    if isinstance(source, dict):
        return source, Path(source["bitstream"])
    path = Path(source)
    if path.is_dir():
        path = path / "report.json"
    if not path.exists():
        raise FlowError(f"{path} not found")
    if path.suffix == ".json":
        report = json.loads(path.read_text())
        # The build directory may have moved since: look beside the report first.
        beside = path.parent / Path(report["bitstream"]).name
        return report, beside if beside.exists() else Path(report["bitstream"])
    return None, path


def program_command(bitstream: Path, board: Board, *, flash: bool = False) -> list[str]:
    """The command line (without the tool) that loads ``bitstream`` onto ``board``.
    ``flash`` writes the configuration flash (kept over power cycles) instead of the
    FPGA's configuration memory."""
    if board.family == "ice40":
        return ([] if flash else ["-S"]) + [str(bitstream)]
    return ["-b", OPENFPGALOADER_BOARDS[board.name]] + (["-f"] if flash else []) + [str(bitstream)]


def program(report_or_bitstream: FpgaReport | dict | str | Path, board: str | Board | None = None,
            *, flash: bool = False) -> dict:
    """Load a bitstream onto a board.

    ``report_or_bitstream`` is what :func:`fpga.build` returned (or its ``as_dict()``),
    its build directory, its ``report.json``, or a bitstream file (then ``board`` is
    needed). Returns ``{"tool", "command", "seconds", "output"}``; raises ToolMissing
    (one line, with the install hint) or FlowError (the programmer failed: its last
    output line).
    """
    report, bitstream = _load_report(report_or_bitstream)
    if board is None:
        if report is None:
            raise FlowError(f"which board is {bitstream} for? pass board=")
        board = report["board"]
    b = board if isinstance(board, Board) else get_board(board)
    if report is not None and report.get("board", b.name) != b.name:
        raise FlowError(f"{bitstream} was built for {report['board']}, not {b.name}")
    if not bitstream.is_file():
        raise FlowError(f"bitstream {bitstream} not found")
    want = (report or {}).get("bitstream_sha256")
    if want and _sha256(bitstream) != want:
        raise FlowError(f"{bitstream} differs from the one its report describes; rebuild")
    expected = BITSTREAM_SUFFIX[b.family]
    if bitstream.suffix != expected:
        raise FlowError(f"{b.name} takes a {expected} bitstream, got {bitstream.name}")

    tool = PROGRAMMERS[b.family][0]
    cmd = find_programmer(b.family) + program_command(bitstream, b, flash=flash)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        last = lines[-1] if lines else "no output"
        raise FlowError(f"{tool} failed (exit {proc.returncode}) programming {b.name}: {last}")
    return {"tool": tool, "command": cmd, "seconds": round(time.monotonic() - t0, 3),
            "output": output}
