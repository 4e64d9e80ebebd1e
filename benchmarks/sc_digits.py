"""A small MLP on scikit-learn's 8x8 digits, run on SC layers at stream lengths 32..4096,
next to the float network and its int8 quantisation.

The network is 64-32-10, bias-free, ReLU, trained in torch (seeded, one thread). Both
layers run as SC layers (hwgen.nn.stochastic.ScMlp, bit-exact with the golden model and
the RTL): weights divided by their largest magnitude into bipolar codes, inputs and
hidden activations by a calibrated scale (99.9th percentile on the training set) into
[0, 1]; the hidden layer uses the count-based ReLU, the host requantises its outputs into
the next layer's codes, and the class is the argmax of the output layer's ones counts.
Every combination of generator (lfsr 16-bit / vdc), sharing (layer / per_operand) and
adder (counter / mux) is run on the 360 test images. The int8 network uses symmetric
per-tensor quantisation of weights and activations with int32 accumulation.

    python benchmarks/sc_digits.py [--quick]
        writes benchmarks/results/sc_digits.json and docs/img/sc_digits.png
"""
import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from common import save, save_figure, table  # noqa: E402

from hwgen.config.sc import ScConfig  # noqa: E402
from hwgen.nn.stochastic import (ScMlp, digits_data, int8_mlp_forward,  # noqa: E402
                                 train_digits_mlp)

LFSR_WIDTH, SEED = 16, 0xACE1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="three lengths only")
    args = ap.parse_args()
    data = digits_data()
    t0 = time.perf_counter()
    net = train_digits_mlp(data)
    train_s = time.perf_counter() - t0
    xte, yte = data["x_test"], data["y_test"]
    with torch.no_grad():
        fl = net(torch.tensor(xte, dtype=torch.float32)).numpy()
    float_acc = float((fl.argmax(1) == yte).mean())
    ref = ScMlp.from_torch(net, data["x_train"], ScConfig())
    int8_acc = float((int8_mlp_forward(ref.weights, ref.act_scales, xte).argmax(1) == yte).mean())
    print(f"float {float_acc:.4f}  int8 {int8_acc:.4f}  (trained in {train_s:.1f} s)")

    lengths = [32, 256, 2048] if args.quick else [32, 64, 128, 256, 512, 1024, 2048, 4096]
    rows = []
    for gen in ("lfsr", "vdc"):
        for sharing in ("layer", "per_operand"):
            for adder in ("counter", "mux"):
                for L in lengths:
                    base = ScConfig(length=L, generator=gen, lfsr_width=LFSR_WIDTH, seed=SEED,
                                    sharing=sharing, adder=adder)
                    mlp = ScMlp.from_torch(net, data["x_train"], base)
                    t = time.perf_counter()
                    out = mlp.forward(xte)
                    acc = float((out["logits"].argmax(1) == yte).mean())
                    rows.append({"generator": gen, "sharing": sharing, "adder": adder, "L": L,
                                 "value_bits": mlp.layer_cfg(0).value_bits, "accuracy": acc,
                                 "model_s": round(time.perf_counter() - t, 2)})
                    print(rows[-1], flush=True)
    print(table(rows))
    save("sc_digits", {"network": "64-32-10 ReLU, bias-free", "test_images": int(len(yte)),
                       "float_accuracy": float_acc, "int8_accuracy": int8_acc,
                       "train_s": round(train_s, 2), "lfsr_width": LFSR_WIDTH, "seed": SEED,
                       "sc": rows})

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, adder in zip(axes, ("counter", "mux")):
        for i, (gen, sharing) in enumerate([(g, s) for g in ("lfsr", "vdc")
                                            for s in ("layer", "per_operand")]):
            pts = [(r["L"], r["accuracy"]) for r in rows
                   if (r["generator"], r["sharing"], r["adder"]) == (gen, sharing, adder)]
            ax.semilogx(*zip(*pts), marker="o", ms=3, color=f"C{i}", label=f"{gen}/{sharing}",
                        base=2)
        ax.axhline(float_acc, color="k", lw=1, label="float")
        ax.axhline(int8_acc, color="k", ls="--", lw=1, label="int8")
        ax.set_title(f"SC 64-32-10 on digits, {adder} adder")
        ax.set_xlabel("stream length L")
        ax.grid(True, which="both", lw=0.3)
    axes[0].set_ylabel("test accuracy (360 images)")
    axes[0].legend(fontsize=7, loc="lower right")
    save_figure(fig, "sc_digits")


if __name__ == "__main__":
    main()
