"""Every design hwgen generates, as text, for the golden file ``designs.json``: the GEMM
accelerator of each preset, the special units of the configs in ``configs/``, the int8
baselines, the dense stream layer and the FPGA board tops.

``python -m tests.golden.update`` (``make golden``) rewrites ``designs.json``; the test
compares every design with it, so any change to generated hardware shows up in a review
as a change of that file.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from fpga.boards import get_board
from fpga.flow import elaborate, plan_clock
from hwgen.config import load_config, preset_names
from hwgen.emit import TOP_NAME, component_verilog, generate_unit_verilog, generate_verilog
from hwgen.outputs import top_ports
from hwgen.units.dense_stream import DenseStreamLayer
from hwgen.units.int8_layer import (Int8Layer, Int8PipelinedLayer, Int8SerialHeldLayer,
                                    Int8SerialLayer)

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "designs.json"
CONFIGS = HERE / "configs"
#: (config, board, PLL clock in MHz or None) of the board tops.
BOARD_TOPS = [("ice40", "icebreaker", None), ("ice40", "tangnano9k", None),
              ("tiny", "ulx3s-85f", None), ("tiny", "ulx3s-85f", 60.0)]


def _without_src(text: str) -> str:
    """RTLIL without Amaranth's source-location attributes (they name files on the
    machine that elaborated it)."""
    return "\n".join(ln for ln in text.splitlines() if not re.match(r"\s*attribute \\src ", ln))


def designs() -> dict[str, tuple[str, str]]:
    """Design name -> (text, top module) for every design, in a fixed order."""
    out = {}
    for preset in preset_names():
        cfg = load_config(preset)
        out[f"preset/{preset}"] = (generate_verilog(cfg), TOP_NAME)
    for path in sorted(CONFIGS.glob("*.yaml")):
        for module, text in generate_unit_verilog(load_config(str(path))).items():
            out[f"unit/{path.stem}/{module}"] = (text, module)
    for cls in (Int8Layer, Int8PipelinedLayer, Int8SerialLayer, Int8SerialHeldLayer):
        out[f"int8/{cls.__name__}"] = (component_verilog(cls(8, 4), "layer"), "layer")
    out["dense/DenseStreamLayer"] = (component_verilog(DenseStreamLayer(8, 16, 16), "dense"),
                                     "dense")
    for cfg_name, board_name, mhz in BOARD_TOPS:
        board = get_board(board_name)
        clock = plan_clock(board, mhz)
        files = elaborate(load_config(cfg_name), board, pll=clock["pll"])
        text = "\n".join(f"-- {name}\n{_without_src(body)}" for name, body in sorted(files.items()))
        tag = f"-pll{mhz:g}" if mhz else ""
        out[f"board/{cfg_name}-{board_name}{tag}"] = (text, "")
    return out


def summary(name: str, text: str, top: str) -> dict:
    entry = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "lines": text.count("\n")}
    if top:
        entry["ports"] = [f"{p['direction']} {p['width']} {p['name']}"
                          for p in top_ports(text, top)]
    return entry


def current() -> dict:
    return {name: summary(name, text, top) for name, (text, top) in designs().items()}


def load() -> dict:
    return json.loads(GOLDEN.read_text())


def write(data: dict) -> None:
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
