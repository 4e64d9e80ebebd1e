"""qflow driving without qflow: a stand-in script checks the time cap, the progress
notes and how far a capped run got (graywolf's iteration lines)."""
import stat

import pytest

from asic_flow import ToolFailed, pnr

# Prints qflow's step lines; "places" by writing iteration lines and then sleeping.
FAKE_QFLOW = """\
#!/bin/sh
for module; do :; done
echo "Running yosys for verilog parsing and synthesis"
echo "Running GrayWolf placement"
mkdir -p layout
printf 'Iter T        fds    Wire     Penal  Time\\n -1: 0.00e+00      0 -1304132720 1145882 0\\n' > layout/$module.out
printf '  0: 5.00e+05 100 200 0.50\\n  1: 4.00e+05 90 180 0.45\\n  2: 3.00e+05 80 170 0.40\\n' >> layout/$module.out
sleep ${FAKE_SLEEP:-0}
echo "Running qrouter"
exit ${FAKE_EXIT:-0}
"""


@pytest.fixture
def fake(tmp_path, monkeypatch):
    exe = tmp_path / "qflow"
    exe.write_text(FAKE_QFLOW)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    proj = tmp_path / "p"
    proj.mkdir()
    return str(exe), proj


def test_graywolf_progress(tmp_path):
    assert pnr.graywolf_progress(tmp_path / "none.out") is None
    f = tmp_path / "x.out"
    f.write_text("The number of nets with 2 pins is 17374\nblock:1 desire:124798\n"
                 "Iter T        fds    Wire     Penal  Time\n"
                 " -1: 0.00e+00      0 -1304132720 1145882 0       999999 0.00 1.00\n"
                 " 12: 4.50e+03    3 41 0 12 9 0.1\nbdxlen:125088  bdylen:93600\n"
                 " 13: 4.00e+03    3 40 0 13 9 0.1\n")
    assert pnr.graywolf_progress(f) == {"iterations": 14, "out_bytes": len(f.read_text())}
    f.write_text("Iter T        fds    Wire     Penal  Time\n -1: 0.00e+00      0 -13 11 0\n")
    assert pnr.graywolf_progress(f)["iterations"] == 0


def test_run_qflow_steps_and_notes(fake, monkeypatch):
    exe, proj = fake
    notes = []
    monkeypatch.setenv("FAKE_SLEEP", "3")
    secs = pnr._run_qflow(exe, "osu018", proj, "hwgen_top", 60, notes.append, report_every=1)
    assert list(secs) == ["yosys", "GrayWolf", "qrouter"]
    assert secs["GrayWolf"] >= 2.5
    assert notes[0].startswith("qflow: Running yosys")
    assert any("GrayWolf running for" in n and "3 annealing iterations" in n for n in notes), notes
    assert (proj / "qflow.log").read_text().count("Running") == 3


def test_run_qflow_cap_says_how_far(fake, monkeypatch):
    exe, proj = fake
    monkeypatch.setenv("FAKE_SLEEP", "30")
    with pytest.raises(pnr.QflowTimeout, match=r"stopped in GrayWolf after \d+ s of it "
                                                r"\(3 annealing iterations written\)") as e:
        pnr._run_qflow(exe, "osu018", proj, "hwgen_top", 2, lambda m: None)
    p = e.value.progress
    assert p["step"] == "GrayWolf" and p["steps_done"] == ["yosys"]
    assert p["graywolf"]["iterations"] == 3 and 1.5 <= p["seconds"] < 20


def test_run_qflow_failure(fake, monkeypatch):
    exe, proj = fake
    monkeypatch.setenv("FAKE_EXIT", "3")
    with pytest.raises(ToolFailed, match="qflow failed \\(exit 3\\)"):
        pnr._run_qflow(exe, "osu018", proj, "hwgen_top", 60, lambda m: None)


def test_place_and_route_scope_checked(tmp_path):
    with pytest.raises(ValueError, match="scope must be one of array, design"):
        pnr.place_and_route(None, "osu018", tmp_path / "o", scope="chip")
