"""Cycles and area of the block-circulant LSTM cell (hwgen.units.circulant_lstm) against
the dense cell of the same size on the same datapath.

Designs: the cell of the digits-rows task (D = 8 inputs, H = 32 hidden units; 8-bit
weight codes, 8 fraction bits, 16-bit state, 12-bit inputs, 24-bit biases) with
block size k = 8 and k = 4, and with k = 1: the dense int8 cell, whose every weight is
stored, on one multiply-accumulate lane. The time-domain circulant cell makes the same
4H (D + H) multiplies per step as a dense one, on k lanes at once; the k-fold saving is
in the weights stored and read (one weight code per cycle for k lanes).

Numbers: cycles per step (``LstmConfig.cycles_per_step``, which the tests check on the
simulators), weight bits stored, ECP5 LUT4s, flip-flops, block RAMs and DSPs from
Yosys ``synth_ecp5`` ``stat`` (the helper of benchmarks/circulant_area.py), and with
``--asic`` the OSU018 area and Fmax (memories as flip-flops, slow for the dense cell).

    python benchmarks/circulant_lstm_area.py [--asic] [--hidden 32] [--blocks 8,4,1]
        writes benchmarks/results/circulant_lstm_area.json
"""
import argparse

from circulant_area import TOP, asic_stat, fpga_stat
from common import save, table

from hwgen.config.lstm import LstmConfig
from hwgen.emit import component_verilog
from hwgen.units.circulant_lstm import CirculantLstm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--blocks", default="8,4,1")
    ap.add_argument("--asic", action="store_true")
    ap.add_argument("--clock-ns", type=float, default=10.0)
    args = ap.parse_args()
    rows, results = [], {"inputs": args.inputs, "hidden": args.hidden, "designs": {}}
    for k in (int(b) for b in args.blocks.split(",")):
        cfg = LstmConfig(input_size=args.inputs, hidden_size=args.hidden, block_size=k)
        text = component_verilog(CirculantLstm(cfg), TOP)
        name = "dense int8 (k = 1)" if k == 1 else f"block-circulant k = {k}"
        r = {"block_size": k, "multipliers": k + 3, "cycles_per_step": cfg.cycles_per_step,
             "weight_bits": cfg.weight_codes * cfg.w_bits, "ecp5": fpga_stat(text, "ecp5")}
        if args.asic:
            r["osu018"] = asic_stat(text, f"lstm_k{k}", args.clock_ns, 3600.0)
        results["designs"][name] = r
        print(name, r, flush=True)
        e = r["ecp5"]
        rows.append({"design": name, "cycles/step": r["cycles_per_step"],
                     "weight bits": r["weight_bits"], "ECP5 LUT4": e["luts"],
                     "FFs": e["ffs"], "BRAM": e["brams"], "DSP": e["dsps"],
                     "OSU018 mm2": r["osu018"]["area_mm2"] if "osu018" in r else "-",
                     "Fmax MHz": r["osu018"]["fmax_mhz"] if "osu018" in r else "-"})
    save("circulant_lstm_area", results)
    print(table(rows, ".3f"))


if __name__ == "__main__":
    main()
