"""A small network with a block-circulant layer on scikit-learn's 8x8 digits: accuracy of
the float network, of the fixed-point layer model and of the layer's RTL, compression and
operation counts against the dense layer.

Network: 64 pixels -> block-circulant 64 x 64 (block size k) + bias -> ReLU -> dense 10.
Pixels (0..16) enter the layer as 8-bit integers ``round(p * 127 / 16)``. The fixed-point
path replaces the block-circulant product by the bit-exact layer model
(:func:`hwgen.models.circulant_layer.layer_fixed`, weights exported with
:func:`hwgen.nn.circulant.export_frequency_weights`); bias, ReLU and the 10-way classifier
stay in float (the hardware covers the circulant layer only). The RTL path runs
the generated layer on Icarus Verilog (or Verilator) for the first test images and must
equal the model bit for bit. A dense 64 x 64 network trained the same way is the baseline.

    python benchmarks/circulant_digits.py [--rtl-images N] [--sim icarus|verilator]
        writes benchmarks/results/circulant_digits.json
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from common import save, table

from hwgen.config.circulant import CirculantConfig
from hwgen.models.circulant_layer import choose_shift, layer_fixed, layer_gain, op_counts
from hwgen.nn.circulant import BlockCirculantLinear, export_frequency_weights

SEED = 0
HIDDEN = 64
EPOCHS = 300
IN_BITS = 8
X_SCALE = 127 / 16          # pixel -> input integer


class Net(torch.nn.Module):
    def __init__(self, hidden_layer: torch.nn.Module):
        super().__init__()
        self.hidden = hidden_layer
        self.bias = torch.nn.Parameter(torch.zeros(HIDDEN))
        self.out = torch.nn.Linear(HIDDEN, 10)

    def features(self, h):
        return torch.relu(h + self.bias)

    def forward(self, x):                # x: input integers as float
        return self.out(self.features(self.hidden(x / 128.0)))


def train(make_hidden, xtr, ytr):
    torch.manual_seed(SEED)
    net = Net(make_hidden())
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr)
    for _ in range(EPOCHS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    return net


def accuracy(logits, y) -> float:
    return float((np.argmax(logits, axis=1) == y).mean())


def fixed_logits(net, cfg, words, frac, x_int):
    """The network with its block-circulant product computed by the fixed-point model."""
    y_int = layer_fixed(cfg, x_int, words)
    h = torch.tensor(y_int / layer_gain(cfg, frac) / 128.0, dtype=torch.float32)
    with torch.no_grad():
        return net.out(net.features(h)).numpy(), y_int


def evaluate(net, cfg, words, frac, xte, yte, args) -> dict:
    """Fixed-point accuracy of ``net`` with its layer on ``cfg``, and the RTL's outputs on
    the first test images (which must equal the model's)."""
    k = cfg.k
    logits, y_int = fixed_logits(net, cfg, words, frac, xte)
    agree = float((np.argmax(logits, axis=1) == np.argmax(
        net(torch.tensor(xte, dtype=torch.float32)).detach().numpy(), axis=1)).mean())
    entry = {"k": k, "config": {"k": k, "in_bits": IN_BITS, "out_bits": cfg.out_bits,
                                "tw_bits": cfg.tw_bits, "w_bits": cfg.w_bits,
                                "shift": cfg.shift, "m": cfg.m, "n": cfg.n,
                                "real_fft": cfg.real_fft},
             "weight_frac_bits": frac, "fixed_accuracy": accuracy(logits, yte),
             "fixed_float_agreement": agree, "ops": op_counts(cfg)}
    if args.rtl_images:
        from sim_tb.circulant import run_layer_rtl
        n_img = min(args.rtl_images, len(xte))
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="circ-digits-") as tmp:
            r = run_layer_rtl(cfg, words, xte[:n_img], Path(tmp), sim=args.sim,
                              p_valid=0.8, p_ready=0.8, seed=k)
        exact = bool((r["y"] == y_int[:n_img]).all())
        if not exact:
            raise SystemExit(f"k={k} real_fft={cfg.real_fft}: RTL differs from the model on "
                             f"{int((r['y'] != y_int[:n_img]).any(axis=1).sum())} images")
        entry["rtl"] = {"simulator": args.sim, "images": n_img, "bit_exact": exact,
                        # equal outputs give equal logits
                        "accuracy": accuracy(logits[:n_img], yte[:n_img]),
                        "seconds": round(time.perf_counter() - t, 1)}
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtl-images", type=int, default=20,
                    help="test images to run through the RTL (0: none)")
    ap.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    ap.add_argument("--blocks", default="8,16", help="block sizes k to try")
    args = ap.parse_args()
    torch.set_num_threads(1)    # the same sums in the same order on every run

    digits = load_digits()
    x_int = np.rint(digits.data * X_SCALE).astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x_int, digits.target, test_size=0.25,
                                          random_state=SEED, stratify=digits.target)
    rows, results = [], {"dataset": {"train": len(ytr), "test": len(yte)},
                         "network": f"64 -> {HIDDEN} (hidden) -> ReLU -> 10"}

    t = time.perf_counter()
    dense = train(lambda: torch.nn.Linear(64, HIDDEN, bias=False), xtr, ytr)
    with torch.no_grad():
        acc_dense = accuracy(dense(torch.tensor(xte, dtype=torch.float32)).numpy(), yte)
    results["dense"] = {"float_accuracy": acc_dense, "weights": 64 * HIDDEN,
                        "real_mults": 64 * HIDDEN, "train_s": round(time.perf_counter() - t, 2)}
    rows.append({"hidden layer": "dense 64x64", "float acc": acc_dense, "fixed acc": "-",
                 "RTL = model": "-", "weights": 64 * HIDDEN, "compression": "1x",
                 "real mults": 64 * HIDDEN})

    results["circulant"] = []
    for k in [int(v) for v in args.blocks.split(",")]:
        t = time.perf_counter()
        net = train(lambda: BlockCirculantLinear(64, HIDDEN, k, bias=False), xtr, ytr)
        train_s = time.perf_counter() - t
        with torch.no_grad():
            acc_float = accuracy(net(torch.tensor(xte, dtype=torch.float32)).numpy(), yte)
        base = CirculantConfig(k=k, in_bits=IN_BITS, out_bits=16, tw_bits=14, w_bits=12,
                               m=HIDDEN, n=64, real_input=True)
        words, frac = export_frequency_weights(net.hidden, base)
        # no frequency sample can saturate for any 8-bit input
        base = base.replace(shift=choose_shift(base, words))
        # the same trained weights on the k-point transforms and on the k/2-point ones
        for cfg in (base, base.replace(real_fft=True)):
            entry = evaluate(net, cfg, words, frac, xte, yte, args)
            entry.update(float_accuracy=acc_float, train_s=round(train_s, 2))
            results["circulant"].append(entry)
            ops = entry["ops"]
            rtl = f"yes ({entry['rtl']['images']} images)" if "rtl" in entry else "-"
            rows.append({"hidden layer": f"block-circulant k={k}"
                         + (", k/2-point FFTs" if cfg.real_fft else ""),
                         "float acc": acc_float, "fixed acc": entry["fixed_accuracy"],
                         "RTL = model": rtl, "weights": ops["weights_stored"],
                         "compression": f"{64 * HIDDEN / ops['weights_stored']:.0f}x",
                         "real mults": ops["total_real_mults"]})
    save("circulant_digits", results)
    print(table(rows, ".3f"))


if __name__ == "__main__":
    main()
