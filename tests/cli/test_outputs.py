"""Output directories, progress and the parser, as a user meets them: nothing the user
owns is replaced, every refusal is one line with exit 2, progress goes to stderr (plain
lines when it is not a terminal, nothing with --quiet)."""
import io
import json
import os
import time
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from hwgen.cli import main
from hwgen.config import preset_names
from hwgen.lib import outdir
from hwgen.lib.progress import PLAIN, QUIET, Progress, nextpnr_log, sim_cycles, yosys_log


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


# ---- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize("cmd", [
    ["generate", "tiny"],
    ["fpga", "ice40", "--board", "icebreaker"],
    ["asic", "asic2", "--pdk", "osu018", "--clock-ns", "10"],
])
def test_users_directory_and_file_are_refused(capsys, tmp_path, cmd):
    users = tmp_path / "users"
    users.mkdir()
    (users / "thesis.tex").write_text("years of work\n")
    afile = tmp_path / "afile"
    afile.write_text("data\n")
    before = tree(tmp_path)
    code, out, err = run(capsys, *cmd, "-o", str(users))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"hwgen: {users}: the directory holds files hwgen did not write ('thesis.tex'); choose "
        "another directory, or pass --force to write into it (only the files hwgen writes are "
        "replaced)"]
    code, _, err = run(capsys, *cmd, "-o", str(afile))
    assert code == 2 and err.splitlines() == [
        f"hwgen: {afile}: exists and is not a directory; hwgen writes a directory of files "
        "there (choose another path)"]
    code, _, err = run(capsys, *cmd, "-o", str(afile / "below"))
    assert code == 2 and err.splitlines() == [
        f"hwgen: {afile / 'below'}: {afile} is a file, not a directory"]
    code, _, err = run(capsys, *cmd, "-o", "/proc/hwgen-test")
    assert code == 2 and err.splitlines() == [
        "hwgen: /proc/hwgen-test: cannot make a directory in /proc: No such file or directory"]
    assert tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "users"]


def test_generate_force_replaces_only_its_own_names(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (out / "params.json").write_text("my params, same name as hwgen's\n")
    code, _, err = run(capsys, "generate", "tiny", "-o", str(out), "--force", "--quiet")
    assert code == 0 and err == ""
    assert (out / "notes.txt").read_text() == "mine\n"
    assert json.loads((out / "params.json").read_text())["ROWS"] == 4
    rec = json.loads((out / outdir.RECORD).read_text())
    assert rec["complete"] and "notes.txt" not in rec["files"]
    assert sorted(rec["files"]) == sorted(p.name for p in out.iterdir()
                                          if p.name not in ("notes.txt", outdir.RECORD))
    # The directory is hwgen's now: later runs need no --force, and keep the notes.
    (out / "more-notes.txt").write_text("also mine\n")
    assert run(capsys, "generate", "tiny", "-o", str(out), "-q")[0] == 0
    assert (out / "notes.txt").read_text() == "mine\n"
    assert (out / "more-notes.txt").read_text() == "also mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_new_name_taken_by_the_user_is_not_replaced(tmp_path):
    """In hwgen's own directory, a file the user made under a name hwgen writes only now
    is refused (before anything moves), unless forced."""
    out = tmp_path / "out"
    t = outdir.target(out)
    with t.staged() as w:
        (w / "a").write_text("1")
        t.publish(w)
    (out / "b").write_text("the user's b")
    t = outdir.target(out)
    with pytest.raises(outdir.OutputError, match="'b' not written by hwgen"):
        with t.staged() as w:
            (w / "a").write_text("2")
            (w / "b").write_text("hwgen's b")
            t.publish(w)
    assert (out / "b").read_text() == "the user's b" and (out / "a").read_text() == "1"
    t = outdir.target(out, force=True)
    with t.staged(keep_failed=False) as w:
        (w / "b").write_text("hwgen's b")
        t.publish(w)
    assert (out / "b").read_text() == "hwgen's b" and not (out / "a").exists()


def test_stale_temporaries_of_a_killed_run_go(tmp_path):
    out = tmp_path / "out"
    dead = 2 ** 22 + 12345  # beyond pid_max on most systems: no such process
    stale = tmp_path / f".out.hwgen-tmp-{dead}-0badc0de"
    stale.mkdir()
    (stale / "hwgen_top.v").write_text("half")
    live = tmp_path / f".out.hwgen-tmp-{os.getppid()}-0badc0de"  # a running process's
    live.mkdir()
    outdir.target(out)
    assert not stale.exists() and live.exists()


def test_name_too_long_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "generate", "tiny", "-o", "n" * 5000)
    assert code == 2 and len(err.splitlines()) == 1 and "name too long" in err


# ---- the parser -------------------------------------------------------------------------------
def test_version_and_presets_in_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("hwgen ")
    for cmd in ("check", "generate", "estimate", "sim", "fpga", "asic"):
        code, out, _ = run(capsys, cmd, "--help")
        assert code == 0
        text = " ".join(out.split())
        for name in preset_names():
            assert name in text, (cmd, name)


@pytest.mark.parametrize("argv,message", [
    (["sim", "tiny", "--workload", "gemm:2x2x2", "--seed", "-1"],
     "hwgen: argument --seed: expected a seed from 0 to 4294967295, got '-1'"),
    (["sim", "tiny", "--workload", "gemm:2x2x2", "--seed", str(2 ** 64)],
     "hwgen: argument --seed: expected a seed from 0 to 4294967295, got '18446744073709551616'"),
    (["sim", "tiny", "--workload", "gemm:2x2x2", "--max-cycles", "0"],
     "hwgen: argument --max-cycles: expected a cycle count from 1 to 4294967295, got '0'"),
    (["estimate", "tiny", "--workload", "gemm:٤x٤x٤"],
     "hwgen: argument --workload: 'gemm:٤x٤x٤' is not gemm:MxKxN with positive integers, "
     "e.g. gemm:64x64x64"),
    (["sim", "tiny", "--sim", "amaranth", "--workload", "gemm:1000000000x1x1"],
     "hwgen: gemm:1000000000x1x1: A (M x K) has 1000000000 elements; a simulation takes at "
     "most 2^22 (4194304) per matrix"),
    (["estimate", "tiny", "--workload", "gemm:99999999999999999999999x1x1"],
     "hwgen: argument --workload: gemm:99999999999999999999999x1x1: 99999999999999999999999 "
     "multiply-accumulates; at most 2^63-1 (9223372036854775807), what a 64-bit count holds"),
    (["fpga", "ice40", "--board", "icebreaker", "--clock-mhz", "nan"],
     "hwgen: argument --clock-mhz: expected a frequency (MHz) above 0 up to 10000 or auto, "
     "got 'nan'"),
    (["fpga", "ice40"], "hwgen: the following arguments are required: --board"),
    (["frobnicate"], "hwgen: argument COMMAND: invalid choice: 'frobnicate' (choose from "
                     "'check', 'generate', 'estimate', 'calibrate', 'sim', 'run', 'compile', "
                     "'search', 'cosearch', 'fpga', 'asic')"),
    (["check", "/dev/zero"], "hwgen: argument CONFIG: '/dev/zero': not a regular file (a "
                             "device, pipe or socket); a config is a YAML file or a preset name"),
])
def test_bad_options_one_line_exit_2(capsys, argv, message):
    t0 = time.monotonic()
    code, out, err = run(capsys, *argv)
    assert (code, out, len(err.splitlines())) == (2, "", 1)
    assert err.startswith(message), err
    assert time.monotonic() - t0 < 1


# ---- progress ---------------------------------------------------------------------------------
def test_plain_progress_lines_and_quiet(tmp_path, monkeypatch):
    log = tmp_path / "nextpnr.log"
    log.write_text("")
    err = io.StringIO()
    with Progress(PLAIN, stream=err, every=0.2) as p:
        p.stage("pnr: nextpnr-ice40 at 12 MHz, seed 1")
        with p.watch(log, nextpnr_log()):
            with open(log, "a") as f:
                f.write("Info: Routing 11736 arcs.\n")
                f.flush()
                time.sleep(0.6)
                f.write("Info:      16000 |     4647      10640 |  468   519 |      2328|"
                        "       0.57       6.83|\n")
                f.flush()
                time.sleep(0.6)
    lines = err.getvalue().splitlines()
    assert lines[0] == "hwgen: pnr: nextpnr-ice40 at 12 MHz, seed 1"
    assert any(ln.startswith("hwgen: ... ") and "routing: iteration 16000, 2328 of 11736 arcs "
               "left" in ln for ln in lines[1:]), lines
    quiet = io.StringIO()
    with Progress(QUIET, stream=quiet, every=0.1) as p:
        p.stage("synth")
        time.sleep(0.3)
    assert quiet.getvalue() == ""


def test_live_progress_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    term = Tty()
    with Progress(None, stream=term) as p:
        p.stage("synth: yosys")
        p.detail("yosys: ABC9 pass (2.52)")
        time.sleep(0.6)
    text = term.getvalue()
    assert "hwgen: synth: yosys" in text and "ABC9 pass" in text


def test_log_parsers():
    y = yosys_log()
    assert y("2.52. Executing ABC9 pass.") == "yosys: ABC9 pass (2.52)"
    assert y("Parsing Verilog") is None
    n = nextpnr_log()
    assert n("Info:     iter=3 wires=1234 overused=56 overuse=78 archfail=NA") == (
        "routing: iteration 3, 56 overused wires of 1234")
    assert n("Info:   at iteration #5: temp = 0.000000, timing cost = 1484, wirelen = 20448") == (
        "placement (annealing): iteration 5, wirelength 20448")
    assert sim_cycles(1000)("250\n") == "simulated 250 of ~1,000 cycles (25%)"


def test_generate_progress_and_quiet(capsys, tmp_path):
    code, _, err = run(capsys, "generate", "tiny", "-o", str(tmp_path / "a"))
    assert code == 0 and err.splitlines()[0].startswith("hwgen: elaborating tiny")
    code, _, err = run(capsys, "generate", "tiny", "-o", str(tmp_path / "b"), "--quiet")
    assert code == 0 and err == ""


def test_terminated_run_removes_its_staging_directory(tmp_path, monkeypatch):
    """SIGTERM during the write phase: Terminated unwinds, the staging directory goes,
    the exit code is 143."""
    import signal

    import hwgen.outputs as outputs
    real = outputs.c_header

    def slow(cfg, digest):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
        return real(cfg, digest)

    monkeypatch.setattr(outputs, "c_header", slow)
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["generate", "tiny", "-o", str(tmp_path / "out")])
    assert code == 143 and err.getvalue().splitlines()[-1] == "hwgen: terminated (signal 15)"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    import hwgen.outputs as outputs

    def full(cfg, digest):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(outputs, "c_header", full)
    code, _, err = run(capsys, "generate", "tiny", "-o", str(tmp_path / "out"), "-q")
    assert code == 1 and err.splitlines() == [
        f"hwgen: No space left on device ({tmp_path / 'x'})"]
    assert list(tmp_path.iterdir()) == []


def test_files_appearing_while_hwgen_works_are_not_written_over(tmp_path):
    out = tmp_path / "x"
    t = outdir.target(out)
    with pytest.raises(outdir.OutputError, match="appeared there while it worked"):
        with t.staged() as w:
            (w / "a.txt").write_text("1")
            out.mkdir()
            (out / "user").write_text("u")
            t.publish(w)
    assert sorted(p.name for p in out.iterdir()) == ["user"]
    assert (t.failed / "a.txt").read_text() == "1"
