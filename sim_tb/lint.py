"""``verilator --lint-only -Wall`` on generated Verilog."""
from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

import rtl_templates

from .simulators import SimError, _search_path, _tool

DUT_TOP = "hwgen_top"


def lint(verilog: str, waivers: str | Path | None = None) -> list[str]:
    """Run `verilator --lint-only -Wall` on the design (top `hwgen_top`).

    The design is checked as a file named `hwgen_top.v`, so waivers (a Verilator `.vlt`
    configuration file: the name of one in ``rtl_templates/lint``, or a path) should
    match it with `-file "*hwgen_top.v"` or omit `-file`. Returns the warning and error
    lines; an empty list means clean.
    """
    exe = _tool("verilator")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hwgen-lint-"))
        Path(tmp, "hwgen_top.v").write_text(verilog)
        cmd = [str(exe), "--lint-only", "-Wall", "--top-module", DUT_TOP]
        if isinstance(waivers, str) and os.sep not in waivers:
            cmd.append(str(stack.enter_context(rtl_templates.as_file(f"lint/{waivers}"))))
        elif waivers is not None:
            cmd.append(str(Path(waivers).resolve()))
        cmd.append("hwgen_top.v")
        env = dict(os.environ, PATH=os.pathsep.join([str(exe.parent), _search_path()]))
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    findings = [
        line for line in output.splitlines()
        if line.startswith("%Warning") or (line.startswith("%Error") and "Exiting due to" not in line)
    ]
    if proc.returncode != 0 and not findings:
        raise SimError(f"verilator --lint-only failed (exit {proc.returncode}):\n{output.strip()}")
    return findings
