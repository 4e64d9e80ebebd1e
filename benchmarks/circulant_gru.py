"""Block-circulant GRU in torch on the digits rows (8 steps of 8 pixels), a one-layer
GRU of 32 hidden units and a linear classifier on the last hidden state, dense (k = 1)
and block-circulant (k = 4, 8), exact against piecewise-linear sigmoid/tanh
(hwgen.nn.circulant_gru), the LSTM's task and training (benchmarks/circulant_lstm.py).

Test accuracy on the 360 test images in float and with the cell in fixed point
(hwgen.models.circulant_gru.gru_fixed: 8-bit weight codes, 8 fraction bits, 16-bit
state; classifier in float), and for the piecewise-linear cells on the generated
Verilog (hwgen_gru on Verilator) for the first ``--rtl-images`` test images, whose
hidden states must equal the fixed-point model's bit for bit.

    python benchmarks/circulant_gru.py [--rtl-images 60] [--sim verilator]
        writes benchmarks/results/circulant_gru.json
"""
import argparse
import tempfile
import time

import numpy as np
import torch

from common import save, table

from hwgen.config.gru import GruConfig
from hwgen.models.circulant_gru import gru_fixed
from hwgen.nn.circulant_gru import BlockCirculantGRU, gru_fixed_accuracy, quantize_gru
from hwgen.nn.circulant_lstm import RowClassifier, digits_rows, rows_accuracy, train_rows
from sim_tb.circulant_gru import run_gru_rtl

HIDDEN, EPOCHS = 32, 30
RUNS = [("dense", 1, False), ("dense", 1, True), ("block-circulant k = 4", 4, True),
        ("block-circulant k = 8", 8, True), ("block-circulant k = 8", 8, False)]


def rtl_accuracy(model, k, data, images, sim):
    """(accuracy of the RTL's last hidden states on the first ``images`` test images,
    float accuracy on them, whether every hidden value equals gru_fixed's, cycles per
    step measured)."""
    fx, wx, wh, b = quantize_gru(model.rnn)
    cfg = GruConfig(input_size=8, hidden_size=HIDDEN, block_size=k, frac=fx.frac,
                    w_frac=fx.w_frac, w_bits=fx.w_bits, state_bits=fx.state_bits)
    xf, y = data["x_test"][:images], data["y_test"][:images]
    x = np.round(xf.astype(np.float64) * (1 << cfg.frac)).astype(np.int64)
    with tempfile.TemporaryDirectory() as work:
        got, cycles = run_gru_rtl(cfg, wx, wh, b, x, sim, work, seed=1, stall=0.0)
    exact = bool(np.array_equal(got, gru_fixed(fx, wx, wh, b, x)))
    with torch.no_grad():
        pred = model.fc(torch.as_tensor(got[:, -1] / float(1 << cfg.frac),
                                        dtype=torch.float32)).argmax(1).numpy()
    return (float((pred == y).mean()), rows_accuracy(model, xf, y),
            gru_fixed_accuracy(model, xf, y), exact, sorted(set(cycles)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtl-images", type=int, default=60)
    ap.add_argument("--sim", default="verilator")
    args = ap.parse_args()
    data = digits_rows()
    rows = []
    for name, k, pwl in RUNS:
        t = time.perf_counter()
        torch.manual_seed(0)
        model = RowClassifier(BlockCirculantGRU(8, HIDDEN, k, pwl), HIDDEN)
        train_rows(model, data, epochs=EPOCHS)
        r = {"cell": name, "block_size": k, "activations": "piecewise linear" if pwl else "exact",
             "test_accuracy": round(rows_accuracy(model, data["x_test"], data["y_test"]), 4),
             "fixed_point_accuracy": (round(gru_fixed_accuracy(model, data["x_test"],
                                                               data["y_test"]), 4)
                                      if pwl else None),
             "cell_parameters": model.rnn.parameters_stored(),
             "train_seconds": round(time.perf_counter() - t, 1)}
        if pwl and args.rtl_images:
            acc, flt, fixed, exact, cycles = rtl_accuracy(model, k, data, args.rtl_images,
                                                          args.sim)
            r.update({"sample_images": args.rtl_images, "sample_float": round(flt, 4),
                      "sample_fixed": round(fixed, 4), "sample_rtl": round(acc, 4),
                      "rtl_bit_exact": exact, "rtl_cycles_per_step": cycles})
        rows.append(r)
        print(r, flush=True)
    save("circulant_gru", {"hidden": HIDDEN, "epochs": EPOCHS, "sim": args.sim, "rows": rows})
    print(table(rows))


if __name__ == "__main__":
    main()
