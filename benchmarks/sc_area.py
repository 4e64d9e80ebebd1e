"""Area and throughput of an SC layer against binary int8 layers of the same shape.

All designs are datapaths of an n-input, m-neuron fully connected layer with ReLU and
registered results, operands on ports (8-bit codes; the SC codes are 8 bits wide too).
The weight storage is left out: it is the same 8 n m flip-flops in every design.

* ``sc L=256 P=1`` / ``P=8``: ``hwgen.units.stochastic.ScLayer``, bipolar, 8-bit LFSR,
  L = 256 bit streams, parallel-counter adder, count-based ReLU, P stream bits per cycle.
  One result vector every L / P + 1 cycles (the start cycle reloads the LFSR).
* ``int8 parallel, pipelined``: :class:`hwgen.units.int8_layer.Int8PipelinedLayer`, n signed 8x8 multipliers
  per neuron with registered products, then a balanced adder tree, ReLU and the result
  register: one vector per cycle, latency 2 cycles.
* ``int8 serial``: :class:`Int8SerialLayer`, one 8x8 multiplier (product registered) and
  one accumulator per neuron; input x_i and the m weights of column i arrive together on
  ports, one column per cycle, so a vector takes n cycles (latency n + 1). Its operands
  are a stream, as a weight store that shifts or is read one column per cycle gives them.
* ``int8 serial, operands held``: :class:`Int8SerialHeldLayer`, the same with all
  operands held on ports for the vector, as the SC layer takes them, and n:1
  multiplexers picking column i.
* ``int8 combinational``: :class:`Int8Layer`, multipliers and adder tree in one cycle.
  Its standard-cell synthesis does not finish in reasonable time (ABC stalls on each
  neuron's single-cycle cone of 16 multipliers and the tree); ``--asic-timeout`` bounds
  it, and the row then records the time it had and no cell area.

Each int8 neuron is a module of its own, as the SC layer's counters are, so the
standard-cell synthesis below keeps it as a block. Every int8 design is checked against
numpy on the Amaranth simulator before it is synthesised (:func:`check`).

Each design is mapped to generic 4-input LUTs (Yosys ``synth -lut 4``, no DSPs, no carry
chains: see :func:`lut4`) and synthesised for OSU018 standard cells with the asic_flow
synthesis (Yosys + ABC with a 10 ns delay target, the same script as ``hwgen asic``),
whose netlist OpenSTA times for the achievable clock. Throughput is result vectors per
second at that clock.

    python benchmarks/sc_area.py [--quick] [--designs sc1,serial,...] [--lut-only]
                                 [--asic-timeout SECONDS]
        updates benchmarks/results/sc_area.json (rows of designs or shapes not run are kept)

Also recorded per design: the achievable clock's critical path (registers at either
end, cell stages) and the area by block kind (``top`` is what lies outside the blocks).
"""
import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from common import RESULTS, save, table  # noqa: E402

from asic_flow import pdks, sta, synth, tools  # noqa: E402
from asic_flow.errors import ToolFailed  # noqa: E402
from hwgen.config import ScConfig  # noqa: E402
from hwgen.units.int8_layer import (Int8Layer, Int8PipelinedLayer, Int8SerialHeldLayer,  # noqa: E402
                                    Int8SerialLayer)
from hwgen.units.stochastic import ScLayer  # noqa: E402
from sim_tb.int8_layer_tb import check  # noqa: E402

CLOCK_NS = 10.0
TOP = "layer"


def sc_layer(n: int, m: int, P: int) -> ScLayer:
    return ScLayer(ScConfig(length=256, lfsr_width=8, seed=0x5B, fan_in=n, neurons=m,
                            activation="relu", parallelism=P))


# --designs key: (row name, constructor(n, m))
DESIGNS = {
    "sc1": ("sc L=256 P=1", lambda n, m: sc_layer(n, m, 1)),
    "sc8": ("sc L=256 P=8", lambda n, m: sc_layer(n, m, 8)),
    "serial": ("int8 serial", Int8SerialLayer),
    "held": ("int8 serial, operands held", Int8SerialHeldLayer),
    "pipe": ("int8 parallel, pipelined", Int8PipelinedLayer),
    "comb": ("int8 combinational", Int8Layer),
}
ORDER = [name for name, _ in DESIGNS.values()]


def timing(dut) -> tuple[int, int]:
    """(cycles per result vector back to back, latency in cycles)."""
    if isinstance(dut, ScLayer):
        return dut.cfg.cycles + 1, dut.cfg.cycles + 1
    return dut.cycles_per_vector, dut.latency


def lut4(v: str, work: Path, yosys) -> dict:
    """4-input LUTs and flip-flops of ``v`` from Yosys's generic LUT mapping (``synth
    -noabc``, then classic ABC with a short script: strash, dc2, if -K 4). No carry
    chains, so adders cost more LUTs than on an iCE40 or ECP5 with its carry logic; the
    same holds for all designs.
    (``synth_ice40``, whose ABC9 mapping gives tighter counts, did not finish the int8
    16 x 10 layer in 17 minutes on the shared build machine.)"""
    (work / "design.v").write_text(v)
    (work / "lut.ys").write_text(f"read_verilog design.v\nsynth -top {TOP} -flatten -noabc\n"
                                 "abc -lut 4 -script +strash;dc2;if,-K,4\nopt_clean\n"
                                 "tee -q -o stat.json stat -json\n")
    proc = subprocess.run(tools.yosys_command(yosys, "lut.ys", "lut.log"), cwd=work,
                          capture_output=True, text=True)
    if proc.returncode or not (work / "stat.json").is_file():
        raise RuntimeError(f"yosys LUT mapping failed: {proc.stderr[-2000:]}")
    cells = json.loads((work / "stat.json").read_text())["design"]["num_cells_by_type"]
    return {"lut4": int(cells.get("$lut", 0)),
            "ff": sum(int(c) for k, c in cells.items() if "dff" in k.lower())}


def area_by_kind(blocks: dict) -> dict:
    """Block areas summed by kind, the digits of the name dropped (``count0`` ..
    ``count9`` -> ``count``); ``top`` is the cells outside the blocks: the SC layer's
    comparators and XNOR multipliers, the int8 layers' control and multiplexers."""
    out = {}
    for name, b in blocks.items():
        kind = name.rstrip("0123456789")
        out[kind] = out.get(kind, 0.0) + b["area_um2"] / 1e6
    return {k: round(v, 4) for k, v in sorted(out.items())}


def asic(v: str, work: Path, yosys, sta_tool, lib, timeout: float) -> dict:
    st = synth.synthesize(yosys, lib, v, TOP, TOP, CLOCK_NS, work, timeout=timeout)
    tm = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, TOP, CLOCK_NS, work)
    out = {"area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
           "period_ns": tm["achievable_period_ns"], "fmax_mhz": tm["fmax_mhz"],
           "area_by_block_mm2": area_by_kind(st["blocks"])}
    path = tm.get("critical_path")
    if path:  # named by the registers' nets, not the synthesized cell names
        regs = sta.register_names((work / synth.NETLIST).read_text(), TOP)
        out["critical_path"] = {"from": regs.get(path["startpoint"], path["startpoint"]),
                                "to": regs.get(path["endpoint"], path["endpoint"]),
                                "stages": path["stages"]}
    return out


def store(meta: dict, rows: list[dict]) -> None:
    """Merge ``rows`` into the results file (a row replaces the one of the same shape and
    design), so separate runs of this script, e.g. one per design, add up."""
    old = RESULTS / "sc_area.json"
    keep = []
    if old.is_file():
        done = {(r["n"], r["m"], r["design"]) for r in rows}
        keep = [r for r in json.loads(old.read_text())["results"]["rows"]
                if (r["n"], r["m"], r["design"]) not in done and r["design"] in ORDER]
    merged = sorted(keep + rows, key=lambda r: (r["n"], r["m"], ORDER.index(r["design"])))
    save("sc_area", meta | {"rows": merged})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 16 x 10 shape only")
    ap.add_argument("--shapes", help="comma-separated NxM shapes (e.g. 64x10)")
    ap.add_argument("--designs", default=",".join(DESIGNS),
                    help=f"comma-separated, from {', '.join(DESIGNS)} (default: all)")
    ap.add_argument("--lut-only", action="store_true",
                    help="skip the standard-cell runs (the rows written have no cell area)")
    ap.add_argument("--asic-timeout", type=float, default=3600.0,
                    help="seconds Yosys may take per design; a design that runs out is "
                    "recorded with the time it had and no cell area (default 3600)")
    args = ap.parse_args()
    shapes = [(16, 10)] if args.quick else [(16, 10), (64, 10), (64, 32)]
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    keys = args.designs.split(",")
    bad = [k for k in keys if k not in DESIGNS]
    if bad:
        ap.error(f"--designs: unknown {', '.join(bad)}; choose from {', '.join(DESIGNS)}")
    yosys, sta_tool, lib = tools.find_yosys(), tools.find_sta(), pdks.find_pdk("osu018")
    rng = np.random.default_rng(7)
    meta = {"clock_target_ns": CLOCK_NS, "pdk": "osu018", "yosys": yosys.version}
    rows = []
    for n, m in shapes:
        for key in keys:
            name, make = DESIGNS[key]
            dut = make(n, m)
            checked = 0 if isinstance(dut, ScLayer) else check(make(n, m), rng)
            cpv, lat = timing(dut)
            v = verilog.convert(dut, name=TOP, emit_src=False, strip_internal_attrs=True)
            t = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="sc-area-") as tmp:
                fp = lut4(v, Path(tmp), yosys)
            r = {"n": n, "m": m, "design": name, "cycles_per_vector": cpv,
                 "latency_cycles": lat, "lut4": fp["lut4"], "lut_ff": fp["ff"],
                 "outputs_per_cycle_per_klut": round(1000 * m / cpv / fp["lut4"], 4),
                 "lut_seconds": round(time.perf_counter() - t, 1)}
            if checked:
                r["vectors_checked_against_numpy"] = checked
            rows.append(r)
            print(r, flush=True)
            store(meta, rows)
            if args.lut_only:
                continue
            t = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="sc-area-") as tmp:
                try:
                    a = asic(v, Path(tmp), yosys, sta_tool, lib, args.asic_timeout)
                except ToolFailed as e:
                    r["asic_error"] = str(e).split(";")[0]
                    r["asic_seconds"] = round(time.perf_counter() - t, 1)
                    print(r, flush=True)
                    store(meta, rows)
                    continue
            vps = a["fmax_mhz"] * 1e6 / cpv
            r.update({"area_mm2": a["area_mm2"], "cells": a["cells"],
                      "area_by_block_mm2": a["area_by_block_mm2"],
                      "fmax_mhz": a["fmax_mhz"], "critical_path": a.get("critical_path"),
                      "vectors_per_s": round(vps),
                      "outputs_per_s_per_mm2": round(vps * m / a["area_mm2"]),
                      "asic_seconds": round(time.perf_counter() - t, 1)})
            print(r, flush=True)
            store(meta, rows)
    cols = ["n", "m", "design", "cycles_per_vector", "latency_cycles", "lut4", "area_mm2",
            "cells", "fmax_mhz", "vectors_per_s", "outputs_per_s_per_mm2", "asic_error"]
    print(table([{k: r.get(k, "") for k in cols} for r in rows]))


if __name__ == "__main__":
    main()
