"""Cycles and ECP5 cells of the block-circulant GRU cell (hwgen.units.circulant_gru)
against the dense GRU cell of the same size on the same datapath and, with
``--lstm``, the LSTM cell (hwgen.units.circulant_lstm) measured in the same run.

Designs: the cell of the digits-rows task (D = 8 inputs, H = 32 hidden units; 8-bit
weight codes, 8 fraction bits, 16-bit state, 12-bit inputs, 24-bit biases) with block
size k = 8 and k = 4, and with k = 1: the dense int8 cell, every weight stored, one
multiply-accumulate lane. Numbers: cycles per step (``cycles_per_step`` of the config,
which the tests check on the simulators), weight bits stored, and ECP5 LUT4s,
flip-flops, block RAMs and DSPs from Yosys ``synth_ecp5`` ``stat`` (``fpga_stat`` of
benchmarks/circulant_area.py).

    python benchmarks/circulant_gru_area.py [--hidden 32] [--blocks 8,4,1] [--lstm 8]
        writes benchmarks/results/circulant_gru_area.json
"""
import argparse

from circulant_area import TOP, fpga_stat
from common import save, table

from hwgen.config.gru import GruConfig
from hwgen.config.lstm import LstmConfig
from hwgen.emit import component_verilog
from hwgen.units.circulant_gru import CirculantGru
from hwgen.units.circulant_lstm import CirculantLstm

#: multipliers of the gates besides the k lanes
GATE_MULTIPLIERS = {"GRU": 2, "LSTM": 3}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--blocks", default="8,4,1")
    ap.add_argument("--lstm", default="", help="block sizes of LSTM cells to measure too")
    args = ap.parse_args()
    rows, results = [], {"inputs": args.inputs, "hidden": args.hidden, "designs": {}}
    cells = [("GRU", GruConfig, CirculantGru, int(b)) for b in args.blocks.split(",")]
    cells += [("LSTM", LstmConfig, CirculantLstm, int(b))
              for b in args.lstm.split(",") if b]
    for kind, config, unit, k in cells:
        cfg = config(input_size=args.inputs, hidden_size=args.hidden, block_size=k)
        text = component_verilog(unit(cfg), TOP)
        name = f"{kind} " + ("dense int8 (k = 1)" if k == 1 else f"block-circulant k = {k}")
        r = {"cell": kind, "block_size": k, "multipliers": k + GATE_MULTIPLIERS[kind],
             "cycles_per_step": cfg.cycles_per_step,
             "weight_bits": cfg.weight_codes * cfg.w_bits, "ecp5": fpga_stat(text, "ecp5")}
        results["designs"][name] = r
        print(name, r, flush=True)
        e = r["ecp5"]
        rows.append({"design": name, "multipliers": r["multipliers"],
                     "cycles/step": r["cycles_per_step"], "weight bits": r["weight_bits"],
                     "ECP5 LUT4": e["luts"], "FFs": e["ffs"], "BRAM": e["brams"],
                     "DSP": e["dsps"]})
    save("circulant_gru_area", results)
    print(table(rows))


if __name__ == "__main__":
    main()
