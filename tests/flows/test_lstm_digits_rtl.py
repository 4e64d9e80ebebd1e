"""A block-circulant LSTM cell trained on the digits rows (hwgen.nn.circulant_lstm),
quantized with quantize_cell, on the generated Verilog (hwgen_lstm): for a few test
images read row by row the RTL's hidden states equal lstm_fixed's bit for bit, and the
classifier on the RTL's last hidden states classifies the images (the slow run, trained
to its accuracy; the default one trains two epochs only, for its weights)."""
import numpy as np
import pytest
import torch

from hwgen.config.lstm import LstmConfig
from hwgen.models.circulant_lstm import lstm_fixed
from hwgen.nn.circulant_lstm import (BlockCirculantLSTM, RowClassifier, digits_rows,
                                     quantize_cell, train_rows)
from sim_tb.circulant_lstm import run_lstm_rtl

SEED = 4


def trained(hidden, k, epochs):
    data = digits_rows()
    torch.manual_seed(0)
    model = RowClassifier(BlockCirculantLSTM(8, hidden, k, pwl=True), hidden)
    train_rows(model, data, epochs=epochs)
    return model, data


@pytest.mark.parametrize("hidden,k,epochs,images,sim", [
    (8, 4, 2, 2, "icarus"),
    pytest.param(32, 8, 30, 20, "verilator", marks=pytest.mark.slow)])
def test_trained_cell_on_rtl(hidden, k, epochs, images, sim, tmp_path):
    model, data = trained(hidden, k, epochs)
    fx, wx, wh, b = quantize_cell(model.rnn)
    cfg = LstmConfig(input_size=8, hidden_size=hidden, block_size=k, frac=fx.frac,
                     w_frac=fx.w_frac, w_bits=fx.w_bits, state_bits=fx.state_bits)
    x = np.round(data["x_test"][:images].astype(np.float64) * (1 << cfg.frac)).astype(np.int64)
    got, _ = run_lstm_rtl(cfg, wx, wh, b, x, sim, tmp_path, SEED)
    want = lstm_fixed(fx, wx, wh, b, x)
    assert np.array_equal(got, want), f"{sim}: first difference at (image, row, unit) " \
        f"{np.argwhere(got != want)[0]}"
    if epochs >= 30:   # trained to its accuracy: the RTL's last hidden states classify
        with torch.no_grad():
            pred = model.fc(torch.as_tensor(got[:, -1] / float(1 << cfg.frac),
                                            dtype=torch.float32)).argmax(1).numpy()
        assert (pred == data["y_test"][:images]).mean() >= 0.8
