"""A Bayesian MLP on scikit-learn's digits on the Bayesian layers: accuracy and
calibration float against quantized against the RTL, and images per second and per
joule estimated on the generated design, beside VIBNN's published figures.

* float: hwgen.nn.bayesian.BayesMlp (64-32-10, ReLU, no biases) trained by Bayes by
  Backprop (prior N(0, 1), 1500 full-batch Adam steps, seed 0, one thread: seconds on a
  CPU); the predictive distribution averages N softmax outputs with torch's eps;
* quantized: hwgen.nn.bayesian.QuantBnn on two layers (8-bit mu, sigma and activations;
  N weight draws per image in the hidden layer, ReLU in hardware; the host requantises
  each draw for the output layer, which draws once per hidden vector), run on the golden
  models with the eps of each generator kind; every test image, generators from reset;
  "sigma = 0" is the same codes with every sigma set to zero (the mean network);
* RTL: the first ``--rtl-images`` test images through both generated layers on
  Verilator (sim_tb.grng.run_bnn_rtl): their results must equal the quantized model's
  bit for bit, so the quantized figures are the RTL's;
* throughput and energy: cycles per image from the layers' schedules (config
  properties the tests check against the simulator), each layer a unit of its own
  working on successive images (the slower sets the rate); the clock and power of each
  layer's generated Verilog from the OSU 0.18 um flow (Yosys + ABC, OpenSTA; power at
  OpenSTA's default activity, RAMs as flip-flops) and the ECP5 clock from nextpnr
  (LFE5U-85F, placed out of context: a layer's ports outnumber the package's pins and
  its multipliers the 25F's DSPs).
  These are estimates of this design, not measurements of a chip or a board; VIBNN's
  figures (321,543 images/s and 52,695 images/J, Cai et al., ASPLOS 2018) are for
  their own network and FPGA, quoted as published.

ECE: 15 equal-width confidence bins (hwgen.nn.bayesian.expected_calibration_error).

    python benchmarks/grng_digits.py [--samples 16] [--rtl-images 8] [--no-rtl] [--no-cost]
                                     [--cost-only]
        writes benchmarks/results/grng_digits.json (--cost-only: adds the cost to the
        saved accuracy figures; --no-cost keeps the saved cost)
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, save, table

from hwgen.config.bayesian import BayesianConfig
from hwgen.config.grng import GrngConfig
from hwgen.nn.bayesian import (QuantBnn, digits_data, expected_calibration_error,
                               predict_float, train_bayes_mlp)

VIBNN = {"images_per_s": 321_543, "images_per_j": 52_695}
#: generator kinds compared (hidden layer 16 lanes; output layer 10 lanes, Wallace 12)
GENERATORS = {
    "rlf p=127 s=1": dict(kind="rlf", degree=127, shift=1, bits=9),
    "rlf p=127 s=32": dict(kind="rlf", degree=127, shift=32, bits=9),
    "wallace pool=256": dict(kind="wallace", pool=256, bits=12),
    "clt K=12": dict(kind="clt", uniforms=12, bits=12),
    "icdf 16 seg/octave": dict(kind="icdf", segments=16, bits=12),
}
MAIN = "wallace pool=256"


def layer_configs(keys: dict, samples: int, local_reparam: bool = False):
    lanes2 = 12 if keys["kind"] == "wallace" else 10
    c1 = BayesianConfig(inputs=64, outputs=32, samples=samples, in_bits=8, weight_bits=8,
                        activation="relu", average=False, local_reparam=local_reparam,
                        grng=GrngConfig(lanes=16, seed=1, **keys))
    c2 = BayesianConfig(inputs=32, outputs=10, samples=1, in_bits=8, weight_bits=8,
                        average=False, local_reparam=local_reparam,
                        grng=GrngConfig(lanes=lanes2, seed=2, **keys))
    return c1, c2


def scores(probs, labels) -> dict:
    return {"accuracy": round(float((probs.argmax(1) == labels).mean()), 4),
            "ece": round(expected_calibration_error(probs, labels), 4)}


def cost(c1: BayesianConfig, c2: BayesianConfig) -> dict:
    """Cycles per image, clocks and power of both layers, images/s and images/J."""
    from grng_cost import ecp5, osu018

    from hwgen.emit import component_verilog
    from hwgen.units.bayesian import bayesian_top
    n = c1.samples
    cyc = {"layer1": c1.cycles_per_vector, "layer2": n * c2.cycles_per_vector}
    out = {"cycles_per_image": cyc}
    for name, cfg in (("layer1", c1), ("layer2", c2)):
        v = component_verilog(bayesian_top(cfg), "layer")
        t = time.perf_counter()
        out[name] = {"ecp5": ecp5(v, "layer", out_of_context=True, device="85k"),
                     "osu018": osu018(v, "layer", 7200)}
        print(name, out[name], round(time.perf_counter() - t), "s", flush=True)
    slow = max(cyc.values())
    for tech in ("ecp5", "osu018"):
        f = min(out[k][tech]["fmax_mhz"] for k in ("layer1", "layer2")) * 1e6
        out[f"{tech}_images_per_s"] = round(f / slow)
    # energy: both layers' power at the clock they run, per image at that rate
    f = min(out[k]["osu018"]["fmax_mhz"] for k in ("layer1", "layer2"))
    p_w = sum(out[k]["osu018"]["power_mw_at_10ns"] for k in ("layer1", "layer2")) \
        * 1e-3 * (f / 100.0)               # dynamic power scales with the clock
    out["osu018_power_w"] = round(p_w, 4)
    out["osu018_images_per_j"] = round(out["osu018_images_per_s"] / p_w)
    return out


def add_cost(res: dict, samples: int) -> None:
    res["cost"] = {MAIN: cost(*layer_configs(GENERATORS[MAIN], samples))}
    res["vibnn_published"] = VIBNN
    for name, c in res["cost"].items():
        print(name, {k: v for k, v in c.items() if k not in ("layer1", "layer2")}, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=16, help="weight draws per image")
    ap.add_argument("--rtl-images", type=int, default=8)
    ap.add_argument("--no-rtl", action="store_true")
    ap.add_argument("--no-cost", action="store_true")
    ap.add_argument("--cost-only", action="store_true")
    args = ap.parse_args()
    if args.cost_only:
        res = json.loads((RESULTS / "grng_digits.json").read_text())["results"]
        add_cost(res, args.samples)
        save("grng_digits", res)
        return
    kept = {}                      # --no-cost keeps the cost measured before
    saved = RESULTS / "grng_digits.json"
    if args.no_cost and saved.is_file():
        old = json.loads(saved.read_text())["results"]
        kept = {k: old[k] for k in ("cost", "vibnn_published") if k in old}
    data = digits_data(0)
    y = data["y_test"]
    t = time.perf_counter()
    model = train_bayes_mlp(data)
    res = {"train_seconds": round(time.perf_counter() - t, 1), "test_images": len(y),
           "samples": args.samples, "float": {}}
    for n in (1, 4, args.samples):
        res["float"][f"N={n}"] = scores(predict_float(model, data["x_test"], n), y)
    with torch.no_grad():
        logits = model(torch.tensor(data["x_test"], dtype=torch.float32), sample=False)
    res["float"]["mean weights"] = scores(torch.softmax(logits, -1).numpy(), y)
    print("float", res["float"], flush=True)
    rows, quants = [], {}
    for name, keys in GENERATORS.items():
        for lrt in (False, True):
            c1, c2 = layer_configs(keys, args.samples, lrt)
            q = QuantBnn.from_torch(model, data["x_train"], c1, c2)
            t = time.perf_counter()
            r = {"generator": name, "local_reparam": lrt,
                 **scores(q.predict(data["x_test"]), y),
                 "model_seconds": round(time.perf_counter() - t, 1)}
            rows.append(r)
            quants[name, lrt] = q
            print(r, flush=True)
    q0 = quants[MAIN, False]
    zero = QuantBnn(**{**vars(q0), "sigma1": q0.sigma1 * 0, "sigma2": q0.sigma2 * 0})
    res["quantized_sigma0"] = scores(zero.predict(data["x_test"]), y)
    res["quantized"] = rows
    if not args.no_rtl:
        from sim_tb.grng import run_bnn_rtl
        x = data["x_test"][:args.rtl_images]
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bnn-rtl-") as tmp:
            out = run_bnn_rtl(q0, x, "verilator", Path(tmp), 1)
        exact = (np.array_equal(out["y1"], out["model"]["y1"])
                 and np.array_equal(out["logits"], out["model"]["logits"]))
        res["rtl"] = {"generator": MAIN, "images": len(x), "sim": "verilator",
                      "bit_exact": bool(exact),
                      **scores(out["model"]["probs"] if exact else np.full((len(x), 10), 0.1),
                               data["y_test"][:len(x)]),
                      "seconds": round(time.perf_counter() - t, 1)}
        print("rtl", res["rtl"], flush=True)
    save("grng_digits", res)
    if not args.no_cost:
        add_cost(res, args.samples)
    else:
        res.update(kept)
    save("grng_digits", res)
    print(table([{k: r[k] for k in ("generator", "local_reparam", "accuracy", "ece")}
                 for r in rows]))


if __name__ == "__main__":
    main()
