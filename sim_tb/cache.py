"""The build cache of simulations: one directory per build key under
``$HWGEN_SIM_CACHE`` (default ``~/.cache/hwgen/sim``). A build happens in a private
temporary directory that is renamed into place only once it is complete, under a file
lock, so that concurrent processes (pytest-xdist workers) build each key once and nobody
sees half a build; a failed build is kept under ``NAME.failed`` for its log."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .simulators import SimError, tool_versions

# Bump when the build recipe changes so that old cache entries are not reused.
BUILD_RECIPE = 2


_LOG_TAIL_LINES = 40


def default_build_root() -> Path:
    env = os.environ.get("HWGEN_SIM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hwgen" / "sim"


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _dead(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


_STALE_BUILD = re.compile(r"^\.(.+)\.(\d+)-[^.]+$")


def clean_stale_builds(build_root: Path) -> None:
    """Remove the temporary build directories of other keys whose process is gone (a
    killed build); the next build of their key starts afresh and never reuses one."""
    try:
        entries = list(build_root.iterdir())
    except OSError:
        return
    for path in entries:
        m = _STALE_BUILD.match(path.name)
        if m and path.is_dir() and _dead(int(m.group(2))):
            shutil.rmtree(path, ignore_errors=True)


_STALE_RUN = re.compile(r"^[a-z]+-(\d+)-[^.]+$")


def clean_stale_runs(runs: Path) -> None:
    """Remove run directories whose process is gone without finishing (killed runs); a
    failed run's directory is kept (renamed ``*.failed``)."""
    try:
        entries = list(runs.iterdir())
    except OSError:
        return
    for path in entries:
        m = _STALE_RUN.match(path.name)
        if m and path.is_dir() and _dead(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)


class _BuildFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _cached_build(build_root: Path, name: str, sim: str, build, meta: dict) -> Path:
    """``build_root / name``, complete, built with ``build(tmp_dir)`` if it is not there.

    The build happens in a private directory renamed into place at the end, under a file
    lock, so concurrent processes build each key once and nobody sees half a build."""
    final = build_root / name
    marker = final / "build.json"
    if marker.is_file():
        return final
    build_root.mkdir(parents=True, exist_ok=True)
    with _file_lock(build_root / f".{final.name}.lock"):
        if marker.is_file():  # another process finished it while we waited
            return final
        if final.exists():  # not ours to trust: it lacks the completion marker
            shutil.rmtree(final)
        # Only the lock holder builds this key, so these are left by killed builds.
        for stale in build_root.glob(f".{final.name}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        clean_stale_builds(build_root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}-", dir=build_root))
        try:
            build(tmp)
        except BaseException as e:
            # Keep the failed build for inspection under a name no lookup will match.
            failed = build_root / f"{final.name}.failed"
            shutil.rmtree(failed, ignore_errors=True)
            try:
                tmp.rename(failed)
            except OSError:
                failed = tmp
            if isinstance(e, _BuildFailed):
                raise SimError(f"{sim} build failed ({e.reason}); see {failed / 'build.log'}; "
                               f"last lines:\n{_log_tail(failed / 'build.log')}") from None
            raise
        tmp.chmod(0o755)
        (tmp / "build.json").write_text(json.dumps({**meta, "tools": tool_versions()},
                                                   indent=1))
        os.rename(tmp, final)
    return final
