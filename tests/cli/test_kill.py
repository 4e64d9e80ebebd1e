"""Killing real runs: ``hwgen generate``, ``hwgen sim --sim verilator`` and ``hwgen asic``
are started in a subprocess and sent SIGINT, SIGTERM or SIGKILL after a random delay.
Then: the user's files (beside and inside the output) are intact, the output is either
the previous complete one or a new complete one, no process the run started survives
(every process carries a marker in its environment; /proc is scanned for it), and after
the next run no temporary file or directory is left anywhere.

``HWGEN_KILL_SEED`` picks the delays (printed with ``-s``, with the number of kill
points tried and of files lost).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hwgen.tools import find
from sim_tb.simulators import _TOOLS

SEED = int(os.environ.get("HWGEN_KILL_SEED", "7"))
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
TALLY = {"kill_points": 0, "files_lost": 0, "with_tools_running": 0}


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """Live processes (not zombies) whose environment carries ``marker``."""
    found = []
    needle = f"HWGEN_KILL_TEST={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes():
                continue
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append((int(entry.name), cmd[:200]))
    return found


def start(argv, cwd: Path, marker: str) -> subprocess.Popen:
    env = {**os.environ, "HWGEN_KILL_TEST": marker, "HWGEN_SIM_CACHE": str(cwd / "simcache"),
           "PYTHONWARNINGS": ""}
    return subprocess.Popen([sys.executable, "-m", "hwgen", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run_to_end(argv, cwd: Path, marker: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = start(argv, cwd, marker)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def kill_after(argv, cwd: Path, delay: float, sig: int) -> tuple[int, int, str]:
    """Start a run, send ``sig`` to hwgen after ``delay`` seconds; (exit code, its process
    id, stderr). Fails if any process of the run is still there a few seconds later."""
    marker = uuid.uuid4().hex
    proc = start(argv, cwd, marker)
    try:
        proc.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        if [p for p, _ in marked_processes(marker) if p != proc.pid]:
            TALLY["with_tools_running"] += 1  # a tool (and the guard) runs: it must go too
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    TALLY["kill_points"] += 1
    deadline = time.monotonic() + 10
    left = marked_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = marked_processes(marker)
    assert not left, f"{signal.Signals(sig).name} after {delay:.1f} s left running: {left}"
    return proc.returncode, proc.pid, err


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def leftovers(*dirs: Path) -> list[str]:
    """Temporary files and directories of hwgen's anywhere below ``dirs``."""
    bad = []
    for d in dirs:
        for p in d.rglob("*"):
            n = p.name
            if (".hwgen-tmp-" in n or ".hwgen-old-" in n or n.startswith(".hwgen-probe")
                    or ".tmp-" in n or n.endswith(".partial")):
                bad.append(str(p.relative_to(d)))
    return bad


def check_user_files(users: dict[Path, bytes]) -> None:
    for path, data in users.items():
        if not path.is_file() or path.read_bytes() != data:
            TALLY["files_lost"] += 1
            raise AssertionError(f"the user's file {path} was lost or changed")


def check_complete_generate(out: Path) -> None:
    """A generate output is the previous complete one or a new complete one."""
    man = json.loads((out / "manifest.json").read_text())
    for name, digest in man["files"].items():
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != digest:
            TALLY["files_lost"] += 1
            raise AssertionError(f"{name} does not match the manifest")


@pytest.fixture(scope="module", autouse=True)
def report_tally():
    yield
    print(f"\nkilling real runs (seed {SEED}): {TALLY['kill_points']} kill points tried "
          f"({TALLY['with_tools_running']} while external tools ran), "
          f"{TALLY['files_lost']} files lost")


def test_kill_generate(tmp_path):
    rng = random.Random(SEED)
    out = tmp_path / "out"
    beside = tmp_path / "beside.txt"
    beside.write_text("the user's file beside the output\n")
    assert run_to_end(["generate", "tiny", "-o", str(out)], tmp_path, "x").returncode == 0
    inside = out / "my-notes.txt"  # a file the user added to hwgen's output directory
    inside.write_text("the user's notes\n")
    users = {beside: beside.read_bytes(), inside: inside.read_bytes()}
    for i in range(9):
        sig = SIGNALS[i % 3]
        code, pid, err = kill_after(["generate", ("tiny", "os16")[i % 2], "-o", str(out)],
                                    tmp_path, rng.uniform(0.2, 4.0), sig)
        assert "Traceback" not in err, err
        if sig != signal.SIGKILL and code not in (0,):
            assert code == 128 + sig or (sig == signal.SIGINT and code == 130), (code, err)
        check_user_files(users)
        check_complete_generate(out)
        if sig != signal.SIGKILL:   # its own temporaries are gone; a killed run's wait
            own = [n for n in leftovers(tmp_path) if f"-{pid}-" in n or n.endswith(f"-{pid}")]
            assert not own, own     # for the next run that gets as far as cleaning them
    done = run_to_end(["generate", "tiny", "-o", str(out)], tmp_path, "x")
    assert done.returncode == 0, done.stderr
    check_user_files(users)
    check_complete_generate(out)
    assert not leftovers(tmp_path), leftovers(tmp_path)


def _tools_or_skip(*names):
    from hwgen.tools import ToolMissing
    for name in names:
        try:
            find(_TOOLS[name])
        except ToolMissing as e:
            pytest.skip(str(e))


def test_kill_sim_verilator(tmp_path):
    """Killed while Verilator and make compile (the first build of a design) or while it
    simulates: no make, compiler or simulator survives, and nothing half-built is used."""
    _tools_or_skip("verilator", "make", "g++")
    rng = random.Random(SEED + 1)
    argv = ["sim", "tiny", "--sim", "verilator", "--workload", "gemm:64x48x40"]
    for sig in SIGNALS:
        code, _, err = kill_after(argv, tmp_path, rng.uniform(3.0, 10.0), sig)
        assert "Traceback" not in err, err
    cache = tmp_path / "simcache"
    done = run_to_end(argv, tmp_path, "x")
    assert done.returncode == 0, done.stderr
    assert "correct              True" in done.stdout
    assert not [p.name for p in cache.iterdir() if p.is_dir() and p.name.startswith(".")]
    assert list((cache / "runs").iterdir()) == []
    # Killed while simulating (the build is cached now).
    for sig in SIGNALS:
        kill_after([*argv[:-1], "gemm:256x256x256"], tmp_path, rng.uniform(1.0, 3.0), sig)
    assert run_to_end(argv, tmp_path, "x").returncode == 0
    assert list((cache / "runs").iterdir()) == []


def test_kill_asic(tmp_path):
    """Killed in synthesis or timing: the previous report stays, Yosys and OpenSTA go."""
    from asic_flow import tools as asic_tools
    from asic_flow.errors import ToolMissing
    try:
        asic_tools.find_yosys(), asic_tools.find_sta()
    except ToolMissing as e:
        pytest.skip(str(e))
    rng = random.Random(SEED + 2)
    out = tmp_path / "asic"
    beside = tmp_path / "keep.txt"
    beside.write_text("the user's file\n")
    argv = ["asic", "asic2", "--pdk", "osu018", "--clock-ns", "50", "-o", str(out)]
    t0 = time.monotonic()
    first = run_to_end(argv, tmp_path, "x")
    full = time.monotonic() - t0
    assert first.returncode in (0, 1), first.stderr
    inside = out / "my-notes.txt"
    inside.write_text("notes\n")
    users = {beside: beside.read_bytes(), inside: inside.read_bytes()}
    before = snapshot(out)
    for sig in SIGNALS:
        code, _, err = kill_after(argv, tmp_path, rng.uniform(1.0, max(1.5, full * 0.8)), sig)
        assert "Traceback" not in err, err
        check_user_files(users)
        now = snapshot(out)
        if now != before:  # the run finished before the signal: a new complete output
            assert json.loads(now["report.json"])
            before = now
    done = run_to_end(argv, tmp_path, "x")
    assert done.returncode in (0, 1), done.stderr
    check_user_files(users)
    assert not leftovers(tmp_path), leftovers(tmp_path)
    assert not (tmp_path / "asic.failed").exists()


def test_signal_while_the_command_loads(tmp_path):
    """A signal during the command's imports ends it with 128 + signal, no traceback."""
    for i, delay in enumerate((0.15, 0.3, 0.5, 0.8)):
        sig = SIGNALS[i % 2]  # SIGINT, SIGTERM
        code, _, err = kill_after(["check", "tiny"], tmp_path, delay, sig)
        assert "Traceback" not in err, err
        assert code in (0, 128 + sig), (code, err)
