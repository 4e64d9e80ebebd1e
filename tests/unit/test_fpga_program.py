"""fpga.program with fake programmers on PATH that record their arguments."""
import hashlib
import json
import stat

import pytest

from fpga import FlowError, ToolMissing, UnknownBoard
from fpga.program import find_programmer, program

FAKE = """#!/bin/sh
printf '%s\\n' "$(basename "$0")" "$@" > "{log}"
echo "{name}: programming"
if [ -n "$FAKE_FAIL" ]; then echo "{name}: no device found" >&2; exit 2; fi
"""


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("iceprog", "openFPGALoader"):
        exe = bindir / name
        exe.write_text(FAKE.format(log=tmp_path / f"{name}.args", name=name))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.delenv("ICEPROG", raising=False)
    monkeypatch.delenv("OPENFPGALOADER", raising=False)
    monkeypatch.delenv("FAKE_FAIL", raising=False)

    def args(name):
        return (tmp_path / f"{name}.args").read_text().splitlines()
    return args


def fake_build(tmp_path, board, name):
    out = tmp_path / f"build-{board}"
    out.mkdir()
    bit = out / name
    bit.write_bytes(b"\xff\x00fake\x00\xff")
    report = {"board": board, "bitstream": str(bit),
              "bitstream_sha256": hashlib.sha256(bit.read_bytes()).hexdigest()}
    (out / "report.json").write_text(json.dumps(report))
    return out, report


def test_ice40_report_dict_and_flash(tmp_path, fake_tools):
    out, report = fake_build(tmp_path, "icebreaker", "top.bin")
    res = program(report)
    assert res["tool"] == "iceprog" and "programming" in res["output"]
    assert fake_tools("iceprog") == ["iceprog", "-S", str(out / "top.bin")]
    program(out, flash=True)  # the build directory
    assert fake_tools("iceprog") == ["iceprog", str(out / "top.bin")]


@pytest.mark.parametrize("board,loader_name", [("ulx3s-25f", "ulx3s"), ("ulx3s-85f", "ulx3s"),
                                               ("orangecrab-25f", "orangecrab")])
def test_ecp5_boards(tmp_path, fake_tools, board, loader_name):
    out, _ = fake_build(tmp_path, board, "top.bit")
    program(out / "report.json")
    assert fake_tools("openFPGALoader") == ["openFPGALoader", "-b", loader_name,
                                            str(out / "top.bit")]
    program(out / "top.bit", board, flash=True)  # a bare bitstream
    assert fake_tools("openFPGALoader")[3] == "-f"


def test_moved_build_dir_and_env_override(tmp_path, fake_tools, monkeypatch):
    out, _ = fake_build(tmp_path, "icebreaker", "top.bin")
    moved = out.rename(tmp_path / "elsewhere")
    (tmp_path / "bin" / "iceprog").rename(tmp_path / "my-iceprog")
    monkeypatch.setenv("ICEPROG", str(tmp_path / "my-iceprog"))
    assert find_programmer("ice40") == [str(tmp_path / "my-iceprog")]
    program(moved)
    assert fake_tools("iceprog") == ["my-iceprog", "-S", str(moved / "top.bin")]


def test_missing_programmer(tmp_path, monkeypatch):
    _, report = fake_build(tmp_path, "icebreaker", "top.bin")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("ICEPROG", raising=False)
    with pytest.raises(ToolMissing, match=r"iceprog not found .*set \$ICEPROG or apt-get install -y "
                                          "fpga-icestorm") as e:
        program(report)
    assert "\n" not in str(e.value)
    monkeypatch.setenv("OPENFPGALOADER", "/nowhere/openFPGALoader")
    with pytest.raises(ToolMissing, match=r"\$OPENFPGALOADER=/nowhere/openFPGALoader is not an "
                                          "executable.*apt-get install -y openfpgaloader"):
        find_programmer("ecp5")


def test_failures(tmp_path, fake_tools, monkeypatch):
    out, report = fake_build(tmp_path, "icebreaker", "top.bin")
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(FlowError, match=r"iceprog failed \(exit 2\) programming icebreaker: "
                                        r"iceprog: no device found"):
        program(report)
    monkeypatch.delenv("FAKE_FAIL")
    with pytest.raises(FlowError, match="built for icebreaker, not ulx3s-25f"):
        program(report, "ulx3s-25f")
    with pytest.raises(FlowError, match="which board"):
        program(out / "top.bin")
    with pytest.raises(FlowError, match="takes a .bit bitstream"):
        program(out / "top.bin", "ulx3s-25f")
    with pytest.raises(UnknownBoard):
        program(out / "top.bin", "nosuchboard")
    (out / "top.bin").write_bytes(b"changed")
    with pytest.raises(FlowError, match="differs from the one its report describes"):
        program(report)
    with pytest.raises(FlowError, match="not found"):
        program(tmp_path / "nothing-here")
