"""The one tool-finding rule shared by the simulators and the flows."""
import stat

import pytest

from hwgen import tools
from hwgen.tools import ToolMissing, ToolSpec

SPEC = ToolSpec("frob", "frobbing netlists", "apt-get install -y frob", env="FROB",
                commands=("frob-fast", "frob"))


def _exe(path, text="#!/bin/sh\necho 'Frob version 1.2.3'\n"):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_search_order_and_preference(tmp_path, monkeypatch):
    monkeypatch.delenv("FROB", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    plain = _exe(tmp_path / "frob")
    assert tools.find(SPEC) == plain
    fast = _exe(tmp_path / "frob-fast")
    assert tools.find(SPEC) == fast
    other = tmp_path / "other"
    other.mkdir()
    first = _exe(other / "frob-fast")
    assert tools.find(SPEC, extra_dirs=[other]) == first


def test_env_var_wins_and_a_wrong_one_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _exe(tmp_path / "frob")
    custom = _exe(tmp_path / "my-frob")
    monkeypatch.setenv("FROB", str(custom))
    assert tools.find(SPEC) == custom
    monkeypatch.setenv("FROB", "my-frob")  # a command name on PATH works too
    assert tools.find(SPEC) == custom
    monkeypatch.setenv("FROB", str(tmp_path / "nowhere"))
    with pytest.raises(ToolMissing) as e:
        tools.find(SPEC)
    msg = str(e.value)
    assert "\n" not in msg and "$FROB=" in msg and "apt-get install -y frob" in msg


def test_missing_names_purpose_and_install(tmp_path, monkeypatch):
    monkeypatch.delenv("FROB", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(tools, "VENV_BIN", tmp_path)

    class Mine(ToolMissing):
        pass
    with pytest.raises(Mine) as e:
        tools.find(SPEC, error=Mine)
    assert str(e.value) == ("frob not found (needed for frobbing netlists); "
                            "set $FROB or apt-get install -y frob")


def test_version_of(tmp_path):
    exe = _exe(tmp_path / "frob")
    assert tools.version_of([str(exe)], r"version (\S+)") == "1.2.3"
    assert tools.version_of([str(exe)]) == "Frob version 1.2.3"
    assert tools.version_of([str(exe)], r"nomatch") is None
    assert tools.version_of([str(tmp_path / "absent")]) is None


def test_simulator_errors_are_tool_missing():
    from sim_tb.runner import ToolMissing as SimToolMissing
    assert issubclass(SimToolMissing, ToolMissing)


def test_run_capped_kills_the_tools_children(tmp_path):
    """At the time limit the tool and what it started are gone (a Yosys run leaves no
    ``yosys-abc`` behind); within it, it behaves like ``subprocess.run``."""
    import os
    import subprocess
    import time
    from pathlib import Path

    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        tools.run_capped(["sh", "-c", script], timeout=1.0)
    assert time.monotonic() - t0 < 30
    child = int(pid_file.read_text())
    def running(pid):  # a killed child not yet reaped by init is a zombie: not running
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            stat_line = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat_line.rsplit(")", 1)[1].split()[0] != "Z"

    for _ in range(50):  # the kill is asynchronous
        if not running(child):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the tool's child {child} still runs")
    done = tools.run_capped(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
