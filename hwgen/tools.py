"""Finding the external tools every flow needs, checked before any work starts.

One rule for all of them (simulators, FPGA and ASIC tools, programmers):

1. If the tool's environment variable is set (``IVERILOG``, ``YOSYS``, ``STA``, ...), its
   value names the tool, as a path or as a command on PATH. A value that names nothing
   executable is an error: the user asked for that tool, a silent fall-back would hide it.
2. Otherwise the tool's commands are looked for, in order, in the running interpreter's
   ``bin`` directory (the venv, where the pip-installed tools live) and then on PATH.

A missing tool raises :class:`ToolMissing` with one line: the tool, what it is needed for
and how to install it (or which variable to fix).
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

__all__ = ["Terminated", "ToolMissing", "ToolSpec", "data_dirs", "end_all_tools", "end_group",
           "ending_tools_on_signals", "find", "find_argv", "find_optional", "finished",
           "run_capped", "search_path", "spawn", "version_of"]

VENV_BIN = Path(sys.executable).parent


class ToolMissing(Exception):
    """A tool a flow needs is not installed, or its environment variable is wrong.

    The flows subclass it (together with their own error base) so that one ``except``
    catches a missing tool wherever it is needed."""

    def __str__(self):
        return str(self.args[0]) if self.args else "a tool is missing"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    """The tool as the user knows it (``iverilog``, ``nextpnr-ecp5``)."""
    purpose: str
    """What it is needed for, completing "needed for ..."."""
    install: str
    """How to get it, completing a sentence: "apt-get install -y iverilog"."""
    env: Optional[str] = None
    """Environment variable that overrides the search."""
    commands: tuple[str, ...] = ()
    """Command names to look for, in order of preference; default: ``name``."""


def search_path(*extra_dirs: str | Path) -> str:
    """The search path: ``extra_dirs``, the interpreter's bin directory, then PATH."""
    return os.pathsep.join([*(str(d) for d in extra_dirs), str(VENV_BIN),
                            os.environ.get("PATH", os.defpath)])


def find(spec: ToolSpec, *, extra_dirs: Sequence[str | Path] = (),
         error: type[ToolMissing] = ToolMissing) -> Path:
    """Absolute path of the tool ``spec`` names, or ``error`` (a ToolMissing subclass)."""
    if spec.env and os.environ.get(spec.env):
        value = os.environ[spec.env]
        found = shutil.which(str(Path(value).expanduser()) if os.sep in value else value)
        if found is None:
            raise error(f"{spec.name} (for {spec.purpose}): ${spec.env}={value} is not an "
                        f"executable; fix ${spec.env} or unset it, or {spec.install}")
        return Path(found).absolute()
    path = search_path(*extra_dirs)
    for command in spec.commands or (spec.name,):
        found = shutil.which(command, path=path)
        if found is not None:
            return Path(found).absolute()
    hint = f"set ${spec.env} or {spec.install}" if spec.env else spec.install
    raise error(f"{spec.name} not found (needed for {spec.purpose}); {hint}")


def find_argv(spec: ToolSpec, *, error: type[ToolMissing] = ToolMissing) -> list[str]:
    """Like :func:`find`, but the environment variable may carry arguments after the
    command (``ICEPROG="sudo iceprog"``): returns the command line as a list."""
    if spec.env and os.environ.get(spec.env):
        value = os.environ[spec.env]
        words = shlex.split(value)
        found = shutil.which(words[0]) if words else None
        if found is None:
            raise error(f"{spec.name} (for {spec.purpose}): ${spec.env}={value} is not an "
                        f"executable; fix ${spec.env} or unset it, or {spec.install}")
        return [str(Path(found).absolute()), *words[1:]]
    return [str(find(spec, error=error))]


def find_optional(spec: ToolSpec, *, extra_dirs: Sequence[str | Path] = ()) -> Optional[Path]:
    """:func:`find`, or None when the tool is not there (for tools a flow can do
    without, such as OpenROAD)."""
    try:
        return find(spec, extra_dirs=extra_dirs)
    except ToolMissing:
        return None


def data_dirs(env: str, defaults: Sequence[str | Path]) -> list[Path]:
    """Where a flow looks for installed data (standard-cell libraries): the directory
    ``$env`` names, if set, else ``defaults`` in order."""
    value = os.environ.get(env)
    return [Path(value).expanduser()] if value else [Path(d) for d in defaults]


def version_of(argv: Sequence[str], pattern: str = "", *, timeout: float = 60) -> Optional[str]:
    """The first match of ``pattern`` (or the first line) in what ``argv`` prints, or None
    when the tool cannot be run or prints nothing."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout + out.stderr
    if pattern:
        m = re.search(pattern, text)
        return m.group(m.lastindex or 0).strip() if m else None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else None


# ---- running tools -----------------------------------------------------------------------
#: The guard every tool runs under (``python -I -S guard.py PARENT_PID ARGV...``, see
#: hwgen/lib/guard.py): it leads a process group of its own, starts the tool in it and
#: waits for it; when hwgen dies, even by SIGKILL, it ends its whole group.
GUARD = Path(__file__).resolve().parent / "lib" / "guard.py"

#: Guarded tools still running: process group id -> Popen.
_RUNNING: dict[int, subprocess.Popen] = {}
_RUNNING_LOCK = threading.Lock()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C (temporary files go, tools are
    ended); ``signum`` is the signal."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _executable(argv0: str, cwd, env) -> bool:
    if os.sep in argv0:
        path = Path(argv0) if Path(argv0).is_absolute() else Path(cwd or ".") / argv0
        return os.access(path, os.X_OK) and path.is_file()
    search = (env or os.environ).get("PATH", os.defpath)
    return shutil.which(argv0, path=search) is not None


def spawn(argv: Sequence[str], **kw) -> subprocess.Popen:
    """``subprocess.Popen(argv, **kw)`` for an external tool, run under a guard in a
    process group of its own: :func:`end_group` (or hwgen's own death, by any signal)
    ends the tool and everything it started. A tool that cannot be executed raises
    FileNotFoundError as ``Popen`` would."""
    argv = [str(a) for a in argv]
    if not argv or not _executable(argv[0], kw.get("cwd"), kw.get("env")):
        raise FileNotFoundError(2, "No such file or directory", argv[0] if argv else "")
    kw.pop("start_new_session", None)
    guard = [sys.executable, "-I", "-S", str(GUARD), str(os.getpid()), *argv]
    proc = subprocess.Popen(guard, start_new_session=True, **kw)
    proc.args = argv
    with _RUNNING_LOCK:
        _RUNNING[proc.pid] = proc
    return proc


def end_group(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """End a tool :func:`spawn` started, with its whole process group: SIGTERM, and
    SIGKILL for what is left after ``grace`` seconds."""
    with _RUNNING_LOCK:
        _RUNNING.pop(proc.pid, None)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def finished(proc: subprocess.Popen) -> None:
    """Forget a tool :func:`spawn` started that has exited."""
    with _RUNNING_LOCK:
        _RUNNING.pop(proc.pid, None)


def end_all_tools() -> None:
    """End every tool still running (on the way out of an interrupted command)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING.values())
    for proc in procs:
        end_group(proc)


@contextlib.contextmanager
def ending_tools_on_signals():
    """For the command line: SIGTERM and SIGHUP raise :class:`Terminated` (SIGINT raises
    KeyboardInterrupt as usual), so that the command unwinds, removing its temporary
    files; on the way out every tool still running is ended with its children."""
    def raise_terminated(signum, frame):
        raise Terminated(signum)

    saved = {}
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGHUP):
            saved[s] = signal.signal(s, raise_terminated)
    try:
        yield
    finally:
        end_all_tools()
        for s, handler in saved.items():
            signal.signal(s, handler)


def run_capped(argv: Sequence[str], *, timeout: Optional[float], input=None,
               **kw) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, timeout=timeout, **kw)`` for an external tool, started by
    :func:`spawn`: at the time limit, on an interrupt or when hwgen dies the tool is
    ended together with every process it started, so no child (Yosys's ``yosys-abc``,
    make's jobs) keeps running after the flow has given up. Raises
    :class:`subprocess.TimeoutExpired` as ``run`` does."""
    if kw.pop("capture_output", False):
        kw["stdout"] = kw["stderr"] = subprocess.PIPE
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    proc = spawn(argv, **kw)
    with proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            end_group(proc, grace=0.5)
            proc.communicate()
            raise
        except BaseException:  # interrupted: do not leave the tool running either
            end_group(proc, grace=0.5)
            raise
    finished(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
