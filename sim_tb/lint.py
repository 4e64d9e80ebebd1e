"""``verilator --lint-only -Wall`` on generated Verilog."""
from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import rtl_templates

from .simulators import SimError, _search_path, _tool



def lint(verilog: str, waivers: str | Path | Sequence[str | Path] | None = None, *,
         file_name: str = "hwgen_top.v",
         top: str | None = None, extra: dict[str, str] | None = None) -> list[str]:
    """Run `verilator --lint-only -Wall` on the design.

    The design is checked as a file named ``file_name`` (default ``hwgen_top.v``, the name
    ``hwgen generate`` gives the accelerator) with top module ``top`` (default: the file
    name without ``.v``), so waivers -- Verilator `.vlt` configuration files, each the
    name of one in ``rtl_templates/lint`` or a path; one or a list -- scope themselves to
    it with ``-file "*<file_name>"``. ``extra`` adds further files ({name: text}, e.g.
    models of vendor primitives) checked alongside. Returns the warning and error lines;
    an empty list means clean.
    """
    if os.sep in file_name or not file_name.endswith(".v"):
        raise ValueError(f"file_name must be a plain Verilog file name, got {file_name!r}")
    top = top or file_name[:-2]
    exe = _tool("verilator")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hwgen-lint-"))
        Path(tmp, file_name).write_text(verilog)
        for name, text in (extra or {}).items():
            Path(tmp, name).write_text(text)
        cmd = [str(exe), "--lint-only", "-Wall", "--top-module", top]
        if waivers is None:
            waivers = []
        elif isinstance(waivers, (str, Path)):
            waivers = [waivers]
        for w in waivers:
            if isinstance(w, str) and os.sep not in w:
                cmd.append(str(stack.enter_context(rtl_templates.as_file(f"lint/{w}"))))
            else:
                cmd.append(str(Path(w).resolve()))
        cmd += [file_name, *(extra or {})]
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
