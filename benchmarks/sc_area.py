"""Area and throughput of an SC layer against a binary int8 layer of the same shape.

Both are datapaths with their operands on ports (weights n x m and inputs n, 8 bits each;
the SC codes are 8 bits wide too) and registered results, so the comparison leaves out
the weight storage, which costs the same 8 n m flip-flops in both:

* SC: ``hwgen.units.stochastic.ScLayer``, bipolar, 8-bit LFSR, L = 256 bit streams,
  parallel-counter adder, count-based ReLU, P = 1 or 8 stream bits per cycle; one result
  vector every L / P cycles.
* int8: ``Int8Layer`` below, n signed 8x8 multipliers and a balanced adder tree per
  neuron, ReLU, one result vector per cycle (checked against numpy on the Amaranth
  simulator before synthesis).

Each is mapped to generic 4-input LUTs (Yosys ``synth -lut 4``, no DSPs, no carry
chains: see :func:`lut4`) and synthesised for OSU018 standard cells with the asic_flow synthesis (Yosys + ABC with a 10 ns
delay target, same script as ``hwgen asic``), whose netlist OpenSTA times for the
achievable clock. Throughput is result vectors per second at that clock.

    python benchmarks/sc_area.py [--quick]
        writes benchmarks/results/sc_area.json
"""
import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from common import RESULTS, save, table  # noqa: E402

from asic_flow import pdks, sta, synth, tools  # noqa: E402
from hwgen.config.sc import ScConfig  # noqa: E402
from hwgen.units.stochastic import ScLayer, tree_sum  # noqa: E402

CLOCK_NS = 10.0
TOP = "layer"


class Int8Layer(wiring.Component):
    """m neurons of n signed 8-bit products each, summed by a balanced tree, ReLU, and
    registered: y_q = max(0, sum_i x_i w_qi), one vector per cycle."""

    def __init__(self, n: int, m: int):
        self.n, self.m = n, m
        self.acc_bits = 16 + (n - 1).bit_length() + 1
        super().__init__({"x": In(8 * n), "w": In(8 * n * m), "y": Out(self.acc_bits * m)})

    def elaborate(self, platform):
        mod = Module()
        n, a = self.n, self.acc_bits
        xs = [self.x[8 * i:8 * (i + 1)].as_signed() for i in range(n)]
        for q in range(self.m):
            ws = [self.w[8 * (q * n + i):8 * (q * n + i + 1)].as_signed() for i in range(n)]
            s = Signal(signed(a), name=f"sum{q}")
            mod.d.comb += s.eq(tree_sum([x * w for x, w in zip(xs, ws)]))
            with mod.If(s > 0):
                mod.d.sync += self.y[q * a:(q + 1) * a].eq(s)
            with mod.Else():
                mod.d.sync += self.y[q * a:(q + 1) * a].eq(0)
        return mod


def check_int8(n, m, rng):
    dut = Int8Layer(n, m)
    x = rng.integers(-128, 128, size=(4, n))
    w = rng.integers(-128, 128, size=(m, n))
    wp = sum((int(v) & 0xFF) << (8 * i) for i, v in enumerate(w.ravel()))

    async def bench(ctx):
        ctx.set(dut.w, wp)
        for row in x:
            ctx.set(dut.x, sum((int(v) & 0xFF) << (8 * i) for i, v in enumerate(row)))
            await ctx.tick()
            got = ctx.get(dut.y)
            a = dut.acc_bits
            want = np.maximum(w @ row, 0)
            assert [(got >> (a * q)) & ((1 << a) - 1) for q in range(m)] == want.tolist()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def lut4(v: str, work: Path, yosys) -> dict:
    """4-input LUTs and flip-flops of ``v`` from Yosys's generic LUT mapping (``synth
    -noabc``, then classic ABC with a short script: strash, dc2, if -K 4). No carry
    chains, so adders cost more LUTs than on an iCE40 or ECP5 with its carry logic; the
    same holds for both designs.
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


def asic(v: str, work: Path, yosys, sta_tool, lib) -> dict:
    st = synth.synthesize(yosys, lib, v, TOP, TOP, CLOCK_NS, work)
    tm = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, TOP, CLOCK_NS, work)
    return {"area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
            "period_ns": tm["achievable_period_ns"], "fmax_mhz": tm["fmax_mhz"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 16 x 10 shape only")
    ap.add_argument("--shapes", help="comma-separated NxM shapes (e.g. 64x10); rows of "
                    "other shapes already in the results file are kept")
    ap.add_argument("--lut-only", action="store_true", help="skip the standard-cell runs")
    args = ap.parse_args()
    shapes = [(16, 10)] if args.quick else [(16, 10), (64, 10), (64, 32)]
    kept = []
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
        old = RESULTS / "sc_area.json"
        if old.is_file():
            kept = [r for r in json.loads(old.read_text())["results"]["rows"]
                    if (r["n"], r["m"]) not in shapes]
    yosys, sta_tool, lib = tools.find_yosys(), tools.find_sta(), pdks.find_pdk("osu018")
    rng = np.random.default_rng(7)
    rows = list(kept)
    todo = []
    meta = {"clock_target_ns": CLOCK_NS, "pdk": "osu018", "yosys": yosys.version}
    for n, m in shapes:
        check_int8(n, m, rng)
        designs = [("int8", Int8Layer(n, m), 1.0)]
        for P in (1, 8):
            cfg = ScConfig(length=256, lfsr_width=8, seed=0x5B, fan_in=n, neurons=m,
                           activation="relu", parallelism=P)
            designs.append((f"sc L=256 P={P}", ScLayer(cfg), P / cfg.length))
        for name, dut, vec_per_cycle in designs:
            v = verilog.convert(dut, name=TOP, emit_src=False, strip_internal_attrs=True)
            todo.append((v, len(rows)))
            t = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="sc-area-") as tmp:
                fp = lut4(v, Path(tmp), yosys)
            rows.append({
                "n": n, "m": m, "design": name, "lut4": fp["lut4"], "lut_ff": fp["ff"],
                "vectors_per_cycle": vec_per_cycle,
                "outputs_per_cycle_per_klut": round(1000 * vec_per_cycle * m / fp["lut4"], 4),
                "lut_seconds": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
            save("sc_area", meta | {"rows": rows})
    # The standard-cell runs take longer: all LUT counts first, then these.
    for v, i in ([] if args.lut_only else todo):
        r = rows[i]
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="sc-area-") as tmp:
            a = asic(v, Path(tmp), yosys, sta_tool, lib)
        vps = r["vectors_per_cycle"] * a["fmax_mhz"] * 1e6
        r.update({"area_mm2": a["area_mm2"], "cells": a["cells"], "fmax_mhz": a["fmax_mhz"],
                  "outputs_per_s": round(vps * r["m"]),
                  "outputs_per_s_per_mm2": round(vps * r["m"] / a["area_mm2"]),
                  "asic_seconds": round(time.perf_counter() - t, 1)})
        print(r, flush=True)
        save("sc_area", meta | {"rows": rows})
    print(table(rows))


if __name__ == "__main__":
    main()
