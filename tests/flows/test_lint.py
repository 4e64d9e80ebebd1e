"""Verilator ``--lint-only -Wall`` on every design hwgen writes, each under the file name
and top module it is written as, with the waivers of ``rtl_templates/lint``: zero
warnings. The designs are those of ``tests/golden/designs.py`` (every preset's
accelerator, the special units of the configs in ``tests/golden/configs``, the int8
baselines, the dense stream layer, the FPGA board tops) plus ``tiny`` at int2/int4/int16
and weight-stationary. Board tops are linted as the FPGA flow builds them: the RTLIL
``fpga.flow.elaborate`` writes, turned into Verilog by Amaranth's Yosys, with
``rtl_templates/lint/fpga_cells.v`` standing in for the vendor primitives.

Every waiver names one rule, the file it applies to and a ``-match`` pattern (a kind of
message or the names of signals), after a comment that says why.

``python -m tests.flows.test_lint [--raw] [NAME ...]`` prints the warnings of each design
by rule (``--raw``: without waivers).
"""
from __future__ import annotations

import collections
import re
import sys
from functools import lru_cache
from pathlib import Path

import pytest

import rtl_templates
from sim_tb.runner import ToolMissing, lint

from ..golden.designs import BOARD_TOPS, CONFIGS

TOP_WAIVERS = "hwgen_top.vlt"
BOARD_WAIVERS = [TOP_WAIVERS, "hwgen_board.vlt"]
UNIT_WAIVERS = {"hwgen_sc_layer": "hwgen_sc.vlt", "hwgen_circulant_layer": "hwgen_circulant.vlt",
                "hwgen_grng": "hwgen_grng.vlt", "hwgen_bayesian_layer": "hwgen_bayesian.vlt",
                "hwgen_pattern_conv": "hwgen_pattern_conv.vlt", "hwgen_lstm": "hwgen_lstm.vlt",
                "hwgen_gru": "hwgen_gru.vlt"}
INT8_CLASSES = ("Int8Layer", "Int8PipelinedLayer", "Int8SerialLayer", "Int8SerialHeldLayer")


def _presets() -> list[str]:
    from hwgen.config import preset_names
    return list(preset_names())


def _units() -> list[tuple[str, str]]:
    """(config stem, unit module) of every special unit of the golden configs, read from
    the sections present (no elaboration)."""
    from hwgen.config import load_config
    from hwgen.units import (BAYESIAN_TOP_NAME, CIRCULANT_TOP_NAME, GRNG_TOP_NAME,
                             GRU_TOP_NAME, LSTM_TOP_NAME, PATTERN_CONV_TOP_NAME,
                             SC_TOP_NAME)
    out = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        cfg = load_config(str(path))
        for section, module in (("sc", SC_TOP_NAME), ("circulant", CIRCULANT_TOP_NAME),
                                ("grng", GRNG_TOP_NAME), ("bayesian", BAYESIAN_TOP_NAME),
                                ("pattern_conv", PATTERN_CONV_TOP_NAME),
                                ("lstm", LSTM_TOP_NAME), ("gru", GRU_TOP_NAME)):
            if getattr(cfg, section) is not None:
                out.append((path.stem, module))
    return out


def design_names() -> list[str]:
    """The names of the designs, as ``tests/golden/designs.py`` spells them, plus the
    ``tiny`` variants."""
    names = [f"preset/{p}" for p in _presets()]
    names += [f"tiny/{v}" for v in ("int2", "int4", "int16", "weight_stationary")]
    names += [f"unit/{stem}/{module}" for stem, module in _units()]
    names += [f"int8/{c}" for c in INT8_CLASSES] + ["dense/DenseStreamLayer"]
    for cfg_name, board_name, mhz in BOARD_TOPS:
        names.append(f"board/{cfg_name}-{board_name}" + (f"-pll{mhz:g}" if mhz else ""))
    return names


def _board_verilog(cfg_name: str, board_name: str, mhz) -> str:
    from amaranth.back.verilog import _convert_rtlil_text  # Amaranth's own RTLIL -> Verilog

    from fpga.boards import get_board
    from fpga.flow import elaborate, plan_clock
    from hwgen.config import load_config
    board = get_board(board_name)
    files = elaborate(load_config(cfg_name), board, pll=plan_clock(board, mhz)["pll"])
    return _convert_rtlil_text(files["top.il"], strip_internal_attrs=True)


def build(name: str) -> dict:
    """lint() arguments of design ``name``: the text and how it is checked."""
    from hwgen.config import WS, load_config
    from hwgen.emit import TOP_NAME, component_verilog, generate_unit_verilog, generate_verilog

    from ..fixtures import variant
    kind, _, rest = name.partition("/")
    if kind == "preset":
        return dict(verilog=generate_verilog(load_config(rest)), waivers=TOP_WAIVERS,
                    file_name=f"{TOP_NAME}.v")
    if kind == "tiny":
        cfg = (variant(dataflow=WS) if rest == "weight_stationary"
               else variant(in_bits=int(rest.removeprefix("int"))))
        return dict(verilog=generate_verilog(cfg), waivers=TOP_WAIVERS, file_name=f"{TOP_NAME}.v")
    if kind == "unit":
        stem, module = rest.split("/")
        text = generate_unit_verilog(load_config(str(CONFIGS / f"{stem}.yaml")))[module]
        return dict(verilog=text, waivers=UNIT_WAIVERS[module], file_name=f"{module}.v")
    if kind == "int8":
        from hwgen.units import int8_layer
        text = component_verilog(getattr(int8_layer, rest)(8, 4), "layer")
        return dict(verilog=text, waivers="hwgen_int8.vlt", file_name="layer.v")
    if kind == "dense":
        from hwgen.units.dense_stream import DenseStreamLayer
        text = component_verilog(DenseStreamLayer(8, 16, 16), "dense")
        return dict(verilog=text, waivers="hwgen_int8.vlt", file_name="dense.v")
    if kind == "board":
        for cfg_name, board_name, mhz in BOARD_TOPS:
            if rest == f"{cfg_name}-{board_name}" + (f"-pll{mhz:g}" if mhz else ""):
                return dict(verilog=_board_verilog(cfg_name, board_name, mhz),
                            waivers=BOARD_WAIVERS, file_name="top.v",
                            extra={"fpga_cells.v": rtl_templates.read("lint/fpga_cells.v")})
    raise KeyError(name)


def by_rule(findings: list[str]) -> dict[str, int]:
    rules = collections.Counter()
    for line in findings:
        m = re.match(r"%(?:Warning|Error)-(\w+)", line)
        rules[m.group(1) if m else "Error"] += 1
    return dict(sorted(rules.items()))


def test_every_golden_design_is_linted():
    """The designs here are the golden designs (``make golden``), plus the variants."""
    golden = set(__import__("json").loads((CONFIGS.parent / "designs.json").read_text()))
    assert golden <= set(design_names())


@pytest.mark.parametrize("name", design_names())
def test_lint_clean(name):
    args = build(name)
    try:
        findings = lint(**args)
    except ToolMissing as e:
        pytest.skip(str(e))
    assert findings == [], f"{name} ({args['file_name']}): {by_rule(findings)}\n" + "\n".join(
        findings[:20])


def test_waivers_leave_real_findings():
    """A signal nothing reads and a truncating assignment are still reported in a
    waived design (asic2), under names no waiver lists."""
    from hwgen.config import load_config
    from hwgen.emit import generate_verilog
    v = generate_verilog(load_config("asic2"))
    probe = "  wire [3:0] lint_trunc;\n  assign lint_trunc = compute_cycles;\n"
    head, sep, tail = v.partition("endmodule")
    try:
        findings = lint(head + probe + sep + tail, TOP_WAIVERS)
    except ToolMissing as e:
        pytest.skip(str(e))
    assert any("UNUSEDSIGNAL" in f and "'lint_trunc'" in f for f in findings), findings
    assert any("WIDTHTRUNC" in f and "ASSIGNW" in f for f in findings), findings


WAIVER_FILES = [n for n in rtl_templates.names("lint") if n.endswith(".vlt")]


@pytest.mark.parametrize("vlt", WAIVER_FILES)
def test_waivers_name_rule_file_and_pattern_with_a_reason(vlt):
    """Each ``lint_off`` names one rule, a file and a ``-match`` or ``-lines``
    restriction, and follows a comment (the reason) with no blank line between."""
    lines = rtl_templates.read(f"lint/{vlt}").splitlines()
    assert lines[0] == "`verilator_config"
    waivers = 0
    for i, line in enumerate(lines):
        if not line.startswith("lint_off"):
            assert line == "" or line.startswith("//") or i == 0, f"{vlt}:{i + 1}: {line}"
            continue
        waivers += 1
        assert re.fullmatch(r'lint_off -rule [A-Z]+ -file "[^"]+" '
                            r'(-match "[^"]*[^*"][^"]*"|-lines \d+(-\d+)?)', line), \
            f"{vlt}:{i + 1}: {line}"
        j = i - 1
        while lines[j].startswith("lint_off"):
            j -= 1
        assert lines[j].startswith("//") and len(lines[j]) > 10, \
            f"{vlt}:{i + 1}: no reason comment above {line}"
    assert waivers


def main(argv: list[str]) -> int:
    raw = "--raw" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    total = collections.Counter()
    for name in design_names():
        if wanted and not any(w in name for w in wanted):
            continue
        args = build(name)
        if raw:
            args["waivers"] = None
        rules = by_rule(lint(**args))
        total.update(rules)
        print(f"{name:45} {sum(rules.values()):6}  {rules}", flush=True)
    print(f"{'total':45} {sum(total.values()):6}  {dict(sorted(total.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
