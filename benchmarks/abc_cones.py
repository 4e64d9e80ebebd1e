"""How long the ASIC synthesis takes on a single-cycle sum of products, against the
number and width of the products: the measurements behind the warning of
asic_flow/cones.py.

Each design registers n pairs of signed operands and, in one cycle, the sum of their n
products (the cone that ABC maps); it goes through the flow's synthesis (Yosys + ABC to
OSU 0.18 um at a 10 ns target, :func:`asic_flow.synth.synthesize`) with a time cap. A
row records the cone the check found, the seconds synthesis took (or that it did not
finish within the cap) and the area.

    python benchmarks/abc_cones.py [--points 8x1,8x2,...] [--cap 300]
        writes benchmarks/results/abc_cones.json and prints a Markdown table
"""
import argparse
import tempfile
import time
from pathlib import Path

from common import save, table

from amaranth import Module, Signal, signed
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from asic_flow import cones, pdks, synth, tools
from asic_flow.errors import ToolFailed

POINTS = "8x1,8x2,8x3,8x4,8x5,8x6,8x7,8x8,12x4,12x5,12x6,16x1,16x2,16x3,16x4,32x1,32x2,64x1"


class SumOfProducts(wiring.Component):
    def __init__(self, bits: int, n: int):
        self.bits, self.n = bits, n
        super().__init__({"a": In(signed(bits)).array(n), "b": In(signed(bits)).array(n),
                          "y": Out(signed(2 * bits + n.bit_length()))})

    def elaborate(self, platform):
        m = Module()
        total = 0
        for i in range(self.n):
            a, b = Signal(signed(self.bits)), Signal(signed(self.bits))
            m.d.sync += [a.eq(self.a[i]), b.eq(self.b[i])]
            total = total + a * b
        m.d.sync += self.y.eq(total)
        return m


def measure(bits: int, n: int, cap: float, yosys, lib) -> dict:
    v = verilog.convert(SumOfProducts(bits, n), name="sop")
    row = {"operands": f"{bits}x{bits}", "products": n}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        try:
            st = synth.synthesize(yosys, lib, v, "sop", "sop", 10.0, Path(tmp), timeout=cap)
            seconds, area = round(time.monotonic() - t0, 1), round(st["area_um2"])
        except ToolFailed:
            seconds, area, st = None, None, {"cone": None}
        if st["cone"] is None:  # the cone of a run that timed out: check again
            c = cones.check(yosys, v, "sop", Path(tmp))
            st["cone"] = None if c is None else c.as_dict()
    cone = st["cone"] or {}
    row.update(rows=cone.get("rows"), product_bits=cone.get("product_bits"),
               synth_s=seconds if seconds is not None else f"> {cap:g}",
               area_um2=area if area is not None else "-")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default=POINTS,
                    help="comma-separated BITSxN: N products of BITS-bit operands")
    ap.add_argument("--cap", type=float, default=300.0, help="seconds per synthesis")
    args = ap.parse_args()
    yosys, lib = tools.find_yosys(), pdks.find_pdk("osu018")
    rows = []
    for p in args.points.split(","):
        bits, n = (int(x) for x in p.split("x"))
        rows.append(measure(bits, n, args.cap, yosys, lib))
        print(rows[-1], flush=True)
    save("abc_cones", {"yosys": yosys.version, "cap_s": args.cap, "rows": rows})
    # Whether the flow warns follows the rows, with the threshold of today's check.
    print(table([{**r, "warns": r["rows"] is not None and r["rows"] >= cones.ROWS_WARN}
                 for r in rows]))


if __name__ == "__main__":
    main()
