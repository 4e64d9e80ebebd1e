"""Output directories: hwgen writes what a command makes without ever losing a file it
did not write.

* :func:`target` checks the directory before any work: a path where a file (or
  anything but a directory) is in the way, or a directory that holds files hwgen did not
  write, is refused with one line (:class:`OutputError`, exit code 2). ``force`` lets
  hwgen write into such a directory; even then only the names hwgen writes are
  replaced, nothing else there is touched.
* The work happens in a staging directory, a hidden sibling of the output
  (``.NAME.hwgen-tmp-PID-XXXX``), which :meth:`Target.publish` moves into place at the
  end: in one rename when the output does not exist yet, else name by name, the
  completeness markers (``manifest.json``, ``report.json``) last.
* Every output directory holds :data:`RECORD` (``.hwgen.json``), the names hwgen wrote
  there: the next run replaces those and leaves everything else alone. While names are
  moved, the record lists the old and the new ones, so an interrupted publish never makes
  hwgen's own files look like the user's.
* Interrupted (SIGINT, or SIGTERM through ``hwgen.tools.ending_tools_on_signals``), the
  staging directory is removed; failed, it is kept as ``NAME.failed`` for its logs. A
  run killed with SIGKILL leaves its staging directory behind; the next run for the same
  output removes it (its process is gone) and never reuses it.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from .errors import BadInput

#: The file in every output directory that lists what hwgen wrote there.
RECORD = ".hwgen.json"
#: Characters of the output's name used in the names of its temporaries.
STEM = 64
#: Longest file name and path (bytes) an output may have (Linux's NAME_MAX, PATH_MAX).
NAME_MAX, PATH_MAX = 255, 4095
_INNER_TEMP = re.compile(r"^\.hwgen-(?:tmp|old)-(\d+)-[0-9a-f]+$")
#: Temporaries older versions of hwgen left inside an output (``generate``'s files).
_LEGACY_INNER_TEMP = re.compile(r"^\..+\.tmp-(\d+)$")
#: Staging directories made by this process that are still in use.
_ACTIVE: set[str] = set()


class OutputError(BadInput):
    """An output path hwgen cannot or must not write to (one line, exit code 2)."""


def _few(names, n: int = 3) -> str:
    names = sorted(names)
    shown = ", ".join(repr(x if len(x) <= 40 else x[:37] + "...") for x in names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _shown(path) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:60] + "..." + text[-50:]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def read_record(directory: Path) -> Optional[dict]:
    """The record of an output directory (None when it has no valid one)."""
    try:
        path = directory / RECORD
        if not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    files = rec.get("files") if isinstance(rec, dict) else None
    if not isinstance(files, list) or not all(
            isinstance(f, str) and f and "/" not in f and f not in (".", "..") for f in files):
        return None
    return rec


def owned_names(directory: Path) -> Optional[set[str]]:
    """Names in ``directory`` hwgen wrote (None: hwgen wrote none of it). A manifest of
    ``hwgen generate`` from before the record counts for the files it lists."""
    rec = read_record(directory)
    if rec is not None:
        return set(rec["files"]) | {RECORD}
    try:
        man = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if isinstance(man, dict) and "config_hash" in man and isinstance(man.get("files"), dict):
        return {f for f in man["files"] if isinstance(f, str) and "/" not in f} | {
            "manifest.json"}
    return None


def _write_record(directory: Path, command: str, files, complete: bool,
                  failed: bool = False) -> None:
    rec = {"written_by": "hwgen", "command": command, "complete": complete,
           "files": sorted(set(files) - {RECORD})}
    if failed:
        rec["failed"] = True
    tmp = directory / f"{RECORD}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(rec, indent=1) + "\n")
    os.replace(tmp, directory / RECORD)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the body is done (a publish is short, and
    half of one is worth less than all of it)."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _move(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:  # the output is a mount point of its own
            raise
        shutil.move(str(src), str(dst))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


class Target:
    """An output directory a command is about to fill (made by :func:`target`)."""

    def __init__(self, path: Path, shown: str, force: bool, command: str, last: tuple):
        self.path = path
        self.shown = shown
        self.force = force
        self.command = command
        self.last = tuple(last)
        self.failed: Optional[Path] = None

    # ---- the staging directory -----------------------------------------------------------
    def _stem(self) -> str:
        return self.path.name[:STEM]

    def new_work(self) -> Path:
        """A new, empty staging directory beside the output."""
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            while True:
                work = parent / f".{self._stem()}.hwgen-tmp-{os.getpid()}-{secrets.token_hex(4)}"
                try:
                    os.mkdir(work)
                    break
                except FileExistsError:
                    continue
        except OSError as e:
            raise OutputError(f"{self.shown}: cannot write in {_shown(parent)}: "
                              f"{e.strerror or e}") from None
        _ACTIVE.add(str(work))
        return work

    def discard(self, work: Path) -> None:
        _ACTIVE.discard(str(work))
        shutil.rmtree(work, ignore_errors=True)

    def keep_failed(self, work: Path) -> Path:
        """Keep a failed run's ``work`` as ``NAME.failed`` (replacing an older failed run
        of hwgen's there, never anything else); its path."""
        _ACTIVE.discard(str(work))
        base = self.path.with_name(self.path.name + ".failed")
        failed, n = base, 1
        while os.path.lexists(failed):
            rec = read_record(failed) if failed.is_dir() and not failed.is_symlink() else None
            if rec is not None and rec.get("failed"):
                shutil.rmtree(failed, ignore_errors=True)
                if not os.path.lexists(failed):
                    break
            n += 1
            failed = base.with_name(f"{base.name}.{n}")
        try:
            names = os.listdir(work)
            _write_record(work, self.command, names, complete=False, failed=True)
            os.rename(work, failed)
        except OSError:
            return work
        return failed

    @contextmanager
    def staged(self, keep_failed: bool = True) -> Iterator[Path]:
        """A staging directory for the body, which ends with :meth:`publish`. Interrupted
        (KeyboardInterrupt, which SIGTERM becomes), the directory goes; on another error
        it is kept as ``NAME.failed`` (``self.failed``) when ``keep_failed``."""
        work = self.new_work()
        try:
            yield work
        except KeyboardInterrupt:
            self.discard(work)
            raise
        except BaseException:
            if keep_failed and work.is_dir():
                self.failed = self.keep_failed(work)
            else:
                self.discard(work)
            raise
        finally:
            _ACTIVE.discard(str(work))
        if work.exists():  # the body did not publish
            self.discard(work)

    # ---- publishing ----------------------------------------------------------------------
    def publish(self, work: Path) -> None:
        """Move what ``work`` holds into the output directory and record it there; the
        names hwgen wrote before and does not write now go, nothing else is touched.
        Raises OutputError when a name to write is taken by a file hwgen did not write
        (and ``force`` is off)."""
        out = self.path
        names = sorted(set(os.listdir(work)) - {RECORD})
        with _signals_held():
            if not os.path.lexists(out):
                _write_record(work, self.command, names, complete=True)
                try:
                    os.rename(work, out)  # fails if a directory with files appeared there
                except OSError as e:
                    if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
                else:
                    self._drop_failed()
                    _ACTIVE.discard(str(work))
                    return
            if not out.is_dir():
                raise OutputError(f"{self.shown}: something that is not a directory appeared "
                                  "there while hwgen worked; the results are in "
                                  f"{_shown(work)}")
            owned = owned_names(out)
            present = set(os.listdir(out))
            foreign = [n for n in present if n != RECORD and not _INNER_TEMP.match(n)]
            if owned is None and foreign and not self.force:  # appeared while hwgen worked
                raise OutputError(f"{self.shown}: files hwgen did not write appeared there "
                                  f"while it worked ({_few(foreign)}); not writing into it "
                                  "(--force writes the files hwgen writes)")
            owned = owned or set()
            taken = [n for n in names if n in present and n not in owned]
            if taken and not self.force:
                raise OutputError(f"{self.shown}: {_few(taken)} not written by hwgen; not "
                                  "replacing (--force replaces the files hwgen writes)")
            _write_record(out, self.command, (owned | set(names)) - {RECORD}, complete=False)
            trash = out / f".hwgen-old-{os.getpid()}-{secrets.token_hex(4)}"
            os.mkdir(trash)
            _ACTIVE.add(str(trash))
            try:
                for n in self.last:  # the completeness markers go first ...
                    if os.path.lexists(out / n) and (n in owned or n in names):
                        os.rename(out / n, trash / n)
                order = ([n for n in names if n not in self.last]
                         + [n for n in names if n in self.last])  # ... and come back last
                for n in order:
                    if os.path.lexists(out / n):
                        os.rename(out / n, trash / n)
                    _move(work / n, out / n)
                for n in sorted(owned - set(names) - {RECORD}):
                    if os.path.lexists(out / n):
                        os.rename(out / n, trash / n)
                _write_record(out, self.command, names, complete=True)
            finally:
                _ACTIVE.discard(str(trash))
                shutil.rmtree(trash, ignore_errors=True)
            self.discard(work)
            self._drop_failed()

    def _drop_failed(self) -> None:
        """A successful run removes the failed run of hwgen's kept beside it."""
        failed = self.path.with_name(self.path.name + ".failed")
        if failed.is_dir() and not failed.is_symlink():
            rec = read_record(failed)
            if rec is not None and rec.get("failed"):
                shutil.rmtree(failed, ignore_errors=True)

    # ---- leftovers -----------------------------------------------------------------------
    def clean_stale(self) -> list[Path]:
        """Remove what killed runs for this output left (their process is gone): staging
        directories beside it and, in a directory of hwgen's, publish leftovers and the
        temporary files of older versions."""
        removed = []
        sibling = re.compile(rf"^\.{re.escape(self._stem())}\.hwgen-(?:tmp|old)-(\d+)-[0-9a-f]+$")
        legacy = re.compile(rf"^\.{re.escape(self.path.name)}\.tmp-(\d+)$")  # asic, before
        places = [(self.path.parent, (sibling, legacy), None)]
        if self.path.is_dir() and not self.path.is_symlink():
            owned = owned_names(self.path)
            if owned is not None:
                places.append((self.path, (_INNER_TEMP, _LEGACY_INNER_TEMP), owned))
        for where, patterns, owned in places:
            try:
                entries = os.listdir(where)
            except OSError:
                continue
            for name in entries:
                for pat in patterns:
                    m = pat.match(name)
                    if not m or str(where / name) in _ACTIVE:
                        continue
                    if pat is _LEGACY_INNER_TEMP and name[1:].rsplit(".tmp-", 1)[0] not in owned:
                        continue
                    pid = int(m.group(1))
                    if pid == os.getpid() or not _alive(pid):
                        _remove(where / name)
                        removed.append(where / name)
                    break
        return removed


def target(path, *, force: bool = False, command: str = "", last=()) -> Target:
    """Check ``path`` as an output directory before any work (see the module's doc);
    removes what killed runs for it left. Raises OutputError with one line."""
    shown = _shown(path)
    try:
        raw = Path(path).expanduser()
        if str(path) == "" or "\0" in str(path):
            raise OutputError(f"{shown!r}: not a directory name")
        out = raw.resolve()
        too_long = [c for c in out.parts if len(os.fsencode(c)) > NAME_MAX]
        if too_long or len(os.fsencode(str(out))) > PATH_MAX:
            raise OutputError(f"{shown}: name too long (at most {NAME_MAX} bytes a "
                              f"component and {PATH_MAX} in all)")
        if out.parent == out:
            raise OutputError(f"{shown}: not a directory hwgen can write its files into")
        above = out.parent
        while not os.path.lexists(above):
            above = above.parent
        if not above.is_dir():
            raise OutputError(f"{shown}: {_shown(above)} is a file, not a directory")
        if os.path.lexists(out):
            if not out.is_dir():
                raise OutputError(f"{shown}: exists and is not a directory; hwgen writes a "
                                  "directory of files there (choose another path)")
            owned = owned_names(out)
            foreign = [n for n in os.listdir(out) if n != RECORD and not _INNER_TEMP.match(n)]
            if foreign and owned is None and not force:
                raise OutputError(
                    f"{shown}: the directory holds files hwgen did not write "
                    f"({_few(foreign)}); choose another directory, or pass --force to write "
                    "into it (only the files hwgen writes are replaced)")
        else:  # can a directory be made there at all? (/proc, a read-only mount)
            probe = above / f".hwgen-probe-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.mkdir(probe)
            except OSError as e:
                raise OutputError(f"{shown}: cannot make a directory in {_shown(above)}: "
                                  f"{e.strerror or e}") from None
            os.rmdir(probe)
    except OSError as e:
        where = f" ({_shown(e.filename)})" if e.filename and str(e.filename) != str(path) else ""
        raise OutputError(f"{shown}: {e.strerror or e}{where}") from None
    except (ValueError, RuntimeError) as e:  # a NUL byte, a symlink loop
        raise OutputError(f"{shown}: not a usable path ({e})") from None
    t = Target(out, shown, force, command, last)
    try:
        t.clean_stale()
    except OSError:
        pass
    return t
