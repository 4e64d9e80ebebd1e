"""Block-circulant LSTM (E-RNN) in torch on a small sequence task: scikit-learn's digits
read row by row (8 steps of 8 pixels), a one-layer LSTM of 32 hidden units and a linear
classifier on the last hidden state; dense against block-circulant gate matrices
(k = 4, 8), exact against piecewise-linear sigmoid/tanh (hwgen.nn.circulant_lstm).
Each model trained from scratch: 30 epochs of Adam (lr 0.01, batches of 64), seed 0 for
the initial weights and the batches, one thread; test accuracy on the 360 held-out
images, in float and with the cell in fixed point (hwgen.models.circulant_lstm: 8-bit
weights, 8 fraction bits, 16-bit state; cells with piecewise-linear gates only).

    python benchmarks/circulant_lstm.py
        writes benchmarks/results/circulant_lstm.json
"""
import time

import torch

from common import save, table

from hwgen.nn.circulant_lstm import (BlockCirculantLSTM, RowClassifier, digits_rows,
                                     fixed_accuracy, rows_accuracy, train_rows)

HIDDEN, EPOCHS = 32, 30
RUNS = [("dense", 1, False), ("dense", 1, True), ("block-circulant k = 4", 4, True),
        ("block-circulant k = 8", 8, True), ("block-circulant k = 8", 8, False)]


def main():
    data = digits_rows()
    rows = []
    for name, k, pwl in RUNS:
        t = time.perf_counter()
        torch.manual_seed(0)
        model = RowClassifier(BlockCirculantLSTM(8, HIDDEN, k, pwl), HIDDEN)
        train_rows(model, data, epochs=EPOCHS)
        r = {"cell": name, "block_size": k, "activations": "piecewise linear" if pwl else "exact",
             "test_accuracy": round(rows_accuracy(model, data["x_test"], data["y_test"]), 4),
             "fixed_point_accuracy": (round(fixed_accuracy(model, data["x_test"],
                                                           data["y_test"]), 4) if pwl else None),
             "cell_parameters": model.rnn.parameters_stored(),
             "train_seconds": round(time.perf_counter() - t, 1)}
        rows.append(r)
        print(r, flush=True)
    save("circulant_lstm", {"hidden": HIDDEN, "epochs": EPOCHS, "rows": rows})
    print(table(rows))


if __name__ == "__main__":
    main()
