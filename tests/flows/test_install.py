"""hwgen from a built wheel, not from the source tree: the package data (presets, Verilog
testbench, templates, lint waivers, rules) is installed and found through
importlib.resources, and `hwgen asic` and `hwgen fpga` run from the installed copy with
the YoWASP and OSU tools."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel of this tree installed into a directory of its own; returns a function
    that runs ``hwgen ARGS`` from it, in a directory outside the source tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
                    str(ROOT)], check=True, capture_output=True, env=_env())
    wheels = list((tmp / "dist").glob("hwgen-*.whl"))
    assert len(wheels) == 1
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheels[0])],
                   check=True, capture_output=True, env=_env())
    deps = [p for p in sys.path if p.endswith("site-packages")]
    work = tmp / "work"
    work.mkdir()

    def run(*args, timeout=1200):
        # -S: no site processing, so the editable install of the source tree (a .pth
        # file) is not on the path; the dependencies come from this venv.
        env = _env(PYTHONPATH=os.pathsep.join([str(site), *deps]))
        code = "import sys, hwgen.cli; sys.exit(hwgen.cli.main(sys.argv[1:]))"
        return subprocess.run([sys.executable, "-S", "-c", code, *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=timeout)

    run.site, run.work = site, work
    return run


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONWARNINGS")}
    env.update(extra)
    return env


def test_the_wheel_carries_its_data(installed):
    names = {p.relative_to(installed.site).as_posix() for p in installed.site.rglob("*")
             if p.is_file()}
    for want in ("hwgen/config/presets/tiny.yaml", "sim_tb/hdl/hwgen_tb.sv",
                 "rtl_templates/asic/synth.ys.tmpl", "rtl_templates/fpga/synth.ys.tmpl",
                 "rtl_templates/lint/hwgen_top.vlt", "rtl_templates/verilog/sram_model.v.tmpl",
                 "asic_flow/rules.json", "fpga/rules.json",
                 "hwgen/models/cost_data/osu018.json",
                 "hwgen/models/cost_data/ice40-up5k.json"):
        assert want in names, want
    out = installed("check", "tiny")
    assert out.returncode == 0, out.stderr
    out = installed("estimate", "asic2", "--workload", "gemm:8x8x8", "--pdk", "osu018",
                    "--clock-ns", "10", "--json")   # the shipped coefficients are found
    assert out.returncode == 0 and json.loads(out.stdout)["area_um2"] > 0, out.stderr
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import hwgen, rtl_templates; print(hwgen.__file__); "
         "print(rtl_templates.read('fpga/synth.ys.tmpl').splitlines()[0])"],
        cwd=installed.work, capture_output=True, text=True,
        env=_env(PYTHONPATH=os.pathsep.join([str(installed.site)]
                                            + [p for p in sys.path if p.endswith("site-packages")])))
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines()[0].startswith(str(installed.site))
    assert probe.stdout.splitlines()[1] == "read_rtlil top.il"


def test_asic_from_the_wheel(installed):
    out = installed("asic", "asic2", "--pdk", "osu018", "--clock-ns", "10", "-o", "asic", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    rep = json.loads(out.stdout)
    assert rep["area_um2"] > 0 and (installed.work / "asic" / "report.json").is_file()


def test_fpga_from_the_wheel(installed):
    out = installed("fpga", "ice40", "--board", "icebreaker", "-o", "fpga", "--json")
    assert out.returncode in (0, 1), out.stderr[-2000:]  # 1: timing not met is a result too
    rep = json.loads(out.stdout)
    assert rep["resources"] and Path(installed.work / rep["bitstream"]).is_file()
