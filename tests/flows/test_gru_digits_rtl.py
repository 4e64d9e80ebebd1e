"""A block-circulant GRU cell trained on the digits rows (hwgen.nn.circulant_gru),
quantized with quantize_gru, on the generated Verilog (hwgen_gru): for a few test images
read row by row the RTL's hidden states equal gru_fixed's bit for bit, and (the slow run,
trained to its accuracy) the classifier on the RTL's last hidden states is as accurate
on the sample as the float cell and the fixed-point model; the default run trains two
epochs only, for its weights."""
import numpy as np
import pytest
import torch

from hwgen.config.gru import GruConfig
from hwgen.models.circulant_gru import gru_fixed
from hwgen.nn.circulant_gru import BlockCirculantGRU, gru_fixed_accuracy, quantize_gru
from hwgen.nn.circulant_lstm import RowClassifier, digits_rows, rows_accuracy, train_rows
from sim_tb.circulant_gru import run_gru_rtl

SEED = 6


@pytest.mark.parametrize("hidden,k,epochs,images,sim", [
    (8, 4, 2, 2, "icarus"),
    pytest.param(32, 8, 30, 40, "verilator", marks=pytest.mark.slow)])
def test_trained_gru_on_rtl(hidden, k, epochs, images, sim, tmp_path):
    data = digits_rows()
    torch.manual_seed(0)
    model = RowClassifier(BlockCirculantGRU(8, hidden, k, pwl=True), hidden)
    train_rows(model, data, epochs=epochs)
    fx, wx, wh, b = quantize_gru(model.rnn)
    cfg = GruConfig(input_size=8, hidden_size=hidden, block_size=k, frac=fx.frac,
                    w_frac=fx.w_frac, w_bits=fx.w_bits, state_bits=fx.state_bits)
    xf, y = data["x_test"][:images], data["y_test"][:images]
    x = np.round(xf.astype(np.float64) * (1 << cfg.frac)).astype(np.int64)
    got, _ = run_gru_rtl(cfg, wx, wh, b, x, sim, tmp_path, SEED)
    want = gru_fixed(fx, wx, wh, b, x)
    assert np.array_equal(got, want), f"{sim}: first difference at (image, row, unit) " \
        f"{np.argwhere(got != want)[0]}"
    if epochs >= 30:
        with torch.no_grad():
            pred = model.fc(torch.as_tensor(got[:, -1] / float(1 << cfg.frac),
                                            dtype=torch.float32)).argmax(1).numpy()
        rtl = (pred == y).mean()
        assert rtl == gru_fixed_accuracy(model, xf, y)   # the same hidden states
        assert rtl >= 0.9 and rtl >= rows_accuracy(model, xf, y) - 0.05
