"""Pattern-pruned convolution: accuracy against sparsity on the digits CNN, the pruned
layer on the generated unit (bit-exact, cycles), cycles and weight storage against
dense on ResNet-18's 3x3 layers, and the unit's FPGA cost against its dense
configuration.

* accuracy: the zoo's digits CNN (hwgen.frontend.zoo.digits_cnn) with conv2 and conv3
  pruned to the built-in library of eight 4-of-9 patterns and ``keep`` percent of
  their kernels (conv1, one input channel, is left alone): ADMM (10 epochs, rho 0.01)
  then hard pruning, or hard pruning of the trained weights (projected gradient, the
  baseline); both fine-tuned 10 epochs with the masks held and the pruned layers'
  weights fake-quantized to 8 bits (hwgen.nn.pattern). Test accuracy right after hard
  pruning and after fine-tuning.
* the layer on the unit: conv3 of the ADMM network at 50 % (32 -> 32 channels, 4x4,
  8-bit weight codes as fine-tuned, 8-bit input codes with the scale of the largest
  training activation); its integer convolution replaces conv3 in the network for the
  "int8 conv3" accuracy; the first ``--rtl-images`` test images run on Verilator
  through the sparse unit and through the dense configuration of the same unit (one
  pattern of all nine positions, every kernel stored, zero or not) with the same
  weights; both
  must equal hwgen.models.pattern_conv bit for bit; cycles from the last input to the
  last result as measured.
* ResNet-18: every 3x3 convolution of the zoo's resnet18 (seeded weights) at 224x224,
  projected to 8 patterns and 50 % of the kernels: kernel words (the count
  hwgen.models.pattern_conv.compress gives), cycles of the unit's schedule (checked
  against the simulators by the tests) and weight bits, against the dense
  configuration (9 multipliers, every kernel).
* FPGA: the sparse and dense units for the conv3 shape, synth_ecp5 + nextpnr-ecp5
  (LFE5U-25F), as in benchmarks/grng_cost.py.
* ASIC: a 16 -> 16 layer on the sparse unit and the dense configuration in OSU 0.18 um
  (Yosys + ABC at 10 ns, RAMs as flip-flops, OpenSTA Fmax and power at its default
  activity): area, and energy per image as power x cycles (an estimate).

    python benchmarks/pattern_conv.py [--rtl-images 8] [--no-rtl] [--no-fpga] [--fpga-only]
                                      [--asic-only]
        writes benchmarks/results/pattern_conv.json (--fpga-only, --asic-only: add the
        FPGA, or OSU018 area and energy, figures to the saved results)
"""
import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import save, table

from hwgen.config.pattern_conv import LIBRARY, PatternConvConfig
from hwgen.frontend.zoo import digits_cnn, digits_data, resnet18
from hwgen.models import pattern_conv as pm
from hwgen.nn.pattern import PatternPruner, accuracy, pattern_masks, project, quantize_weight

KEEPS = (100, 50, 25, 12)
ADMM_EPOCHS, FINETUNE_EPOCHS = 10, 10
DENSE3 = [["111", "111", "111"]]


def prune(net, data, keep: int, method: str):
    m = copy.deepcopy(net)
    pr = PatternPruner(m, {"conv2": keep, "conv3": keep}, pattern_masks(LIBRARY))
    t = time.perf_counter()
    if method == "admm":
        pr.admm(data, epochs=ADMM_EPOCHS)
    masks = pr.prune()
    hard = accuracy(m, data["x_test"], data["y_test"])
    pr.finetune(data, masks, epochs=FINETUNE_EPOCHS, weight_bits=8)
    sp = pr.sparsity()
    return m, {"keep_percent": keep, "method": method, "after_hard_prune": round(hard, 4),
               "after_finetune_int8_weights": round(accuracy(m, data["x_test"], data["y_test"]), 4),
               "conv3_kernels_kept": sp["conv3"]["kernels_kept"],
               "conv3_weights_kept": sp["conv3"]["weights_kept"],
               "conv2_kernels_kept": sp["conv2"]["kernels_kept"],
               "seconds": round(time.perf_counter() - t, 1)}


def conv3_codes(net, x):
    """conv3's input activations for images x."""
    with torch.no_grad():
        h = net.relu(net.bn1(net.conv1(torch.as_tensor(x))))
        return net.relu(net.bn2(net.conv2(h)))


def int8_conv3(net, data, n_rtl: int):
    """conv3 as integer codes: (cfg, weight codes, input codes of the test images,
    accuracy with the integer convolution in the network)."""
    wq, sw = quantize_weight(net.conv3.weight, 8)
    h_train = conv3_codes(net, data["x_train"])
    sx = float(h_train.max()) / 127
    h = conv3_codes(net, data["x_test"])
    xq = torch.round(h / sx).clamp(-128, 127).to(torch.int64)
    with torch.no_grad():
        acc_int = torch.nn.functional.conv2d(xq.double(), wq.double(), padding=1)
        y3 = acc_int.float() * (sx * sw) + net.conv3.bias.view(1, -1, 1, 1)
        out = net.relu(net.bn3(y3) + h)
        logits = net.fc(torch.flatten(net.pool(out), 1))
    acc = float((logits.argmax(1).numpy() == data["y_test"]).mean())
    cfg = PatternConvConfig(in_channels=32, out_channels=32, height=4, width=4, patterns=8,
                            connectivity=50, in_bits=8, weight_bits=8)
    w = wq.numpy()
    # the float64 convolution is exact here; the golden model agrees on the RTL images
    for i in range(n_rtl):
        assert np.array_equal(pm.conv(cfg, w, xq[i].numpy()), acc_int[i].numpy().astype(np.int64))
    return cfg, w, xq.numpy(), acc


def rtl(cfg, w, xs, sim: str, every_kernel: bool = False):
    from sim_tb.pattern_conv import run_pattern_conv_rtl
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pconv-rtl-") as tmp:
        got, cycles = run_pattern_conv_rtl(cfg, w, xs, sim, Path(tmp), 1, stall=0.0,
                                           every_kernel=every_kernel)
    want = np.array([pm.results(cfg, w, x) for x in xs])
    words = len(pm.compress(cfg, w, every_kernel))
    return {"images": len(xs), "sim": sim, "bit_exact": bool(np.array_equal(got, want)),
            "cycles_per_image": sorted(set(cycles)), "words": words,
            "schedule_cycles": pm.cycles(cfg, words),
            "seconds": round(time.perf_counter() - t, 1)}


def resnet_layers(keep: int = 50):
    """(name, C, F, H, stride) of every 3x3 convolution of ResNet-18 at 224x224 and its
    projected words."""
    net, _ = resnet18()
    masks = pattern_masks(LIBRARY)
    sizes = {}
    hooks = [mod.register_forward_hook(lambda mod, i, o, n=name: sizes.__setitem__(n, i[0].shape))
             for name, mod in net.named_modules()
             if isinstance(mod, torch.nn.Conv2d) and mod.kernel_size == (3, 3)]
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    rows = []
    for name, mod in net.named_modules():
        if name not in sizes:
            continue
        C, H = sizes[name][1], sizes[name][2]
        F, s = mod.out_channels, mod.stride[0]
        w, _ = project(mod.weight, masks, keep)
        kept = (w != 0).flatten(2).any(-1).sum(1)                   # kernels per filter
        words = int(torch.clamp(kept, min=1).sum())
        sp = PatternConvConfig(in_channels=C, out_channels=F, height=H, width=H, stride=s,
                               patterns=8, connectivity=keep)
        de = sp.replace(patterns=DENSE3, connectivity=100)
        sparse_c, dense_c = sp.cycles_per_image(words), de.cycles_per_image(F * C)
        rows.append({"layer": name, "C": C, "F": F, "H": H, "stride": s, "words": words,
                     "sparse_cycles": sparse_c, "dense_cycles": dense_c,
                     "speedup": round(dense_c / sparse_c, 3),
                     "sparse_weight_bits": words * sp.word_bits,
                     "dense_weight_bits": de.dense_weight_bits,
                     "storage_ratio": round(de.dense_weight_bits / (words * sp.word_bits), 3)})
    tot = {k: sum(r[k] for r in rows) for k in ("sparse_cycles", "dense_cycles",
                                                 "sparse_weight_bits", "dense_weight_bits")}
    tot["speedup"] = round(tot["dense_cycles"] / tot["sparse_cycles"], 3)
    tot["storage_ratio"] = round(tot["dense_weight_bits"] / tot["sparse_weight_bits"], 3)
    return rows, tot


def fpga(cfg) -> dict:
    from grng_cost import ecp5

    from hwgen.emit import component_verilog
    from hwgen.units.pattern_conv import pattern_conv_top
    return ecp5(component_verilog(pattern_conv_top(cfg), "pconv"), "pconv")


def asic() -> dict:
    """OSU018 area, Fmax and energy per image of a 16 -> 16, 4x4 layer (8-bit, 8 patterns,
    50 % of the kernels, seeded random weights) on the sparse unit and on the dense
    configuration: power from OpenSTA at its default activity at 10 ns; dynamic power
    scales with the clock, so energy per image is P(10 ns) x cycles x 10 ns at any clock."""
    from grng_cost import osu018

    from hwgen.emit import component_verilog
    from hwgen.units.pattern_conv import pattern_conv_top
    cfg = PatternConvConfig(in_channels=16, out_channels=16, height=4, width=4, patterns=8,
                            connectivity=50, in_bits=8, weight_bits=8)
    g = torch.Generator().manual_seed(0)
    w, _ = project(torch.randn(16, 16, 3, 3, generator=g), pattern_masks(LIBRARY), 50)
    w = quantize_weight(w, 8)[0].numpy()
    out = {"shape": "16 -> 16, 4x4, 8-bit"}
    for name, c, every in (("sparse", cfg, False),
                           ("dense", cfg.replace(patterns=DENSE3, connectivity=100), True)):
        words = len(pm.compress(c, w, every))
        r = osu018(component_verilog(pattern_conv_top(c), "pconv"), "pconv", 7200)
        r["cycles_per_image"] = pm.cycles(c, words)
        r["energy_nj_per_image"] = round(r["power_mw_at_10ns"] * 1e-3 * r["cycles_per_image"]
                                         * 10e-9 * 1e9, 2)
        out[name] = r
        print(name, r, flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtl-images", type=int, default=8)
    ap.add_argument("--sim", default="verilator")
    ap.add_argument("--no-rtl", action="store_true")
    ap.add_argument("--no-fpga", action="store_true")
    ap.add_argument("--asic-only", action="store_true",
                    help="add the OSU018 area and energy figures to the saved results")
    ap.add_argument("--fpga-only", action="store_true",
                    help="add the FPGA figures to the saved results")
    args = ap.parse_args()
    if args.asic_only:
        import json

        from common import RESULTS
        res = json.loads((RESULTS / "pattern_conv.json").read_text())["results"]
        res["osu018"] = asic()
        print("osu018", res["osu018"], flush=True)
        save("pattern_conv", res)
        return
    if args.fpga_only:
        import json

        from common import RESULTS
        res = json.loads((RESULTS / "pattern_conv.json").read_text())["results"]
        cfg = PatternConvConfig(in_channels=32, out_channels=32, height=4, width=4,
                                patterns=8, connectivity=50, in_bits=8, weight_bits=8)
        res["ecp5"] = {"sparse": fpga(cfg),
                       "dense": fpga(cfg.replace(patterns=DENSE3, connectivity=100))}
        print("ecp5", res["ecp5"], flush=True)
        save("pattern_conv", res)
        return
    data = digits_data()
    net, meta = digits_cnn()
    res = {"float_accuracy": round(meta["float_test_accuracy"], 4), "pruning": []}
    nets = {}
    for keep in KEEPS:
        for method in ("projected", "admm"):
            m, r = prune(net, data, keep, method)
            nets[keep, method] = m
            res["pruning"].append(r)
            print(r, flush=True)
    cfg, w, xq, acc = int8_conv3(nets[50, "admm"], data, args.rtl_images)
    res["int8_conv3_accuracy"] = round(acc, 4)
    dense = cfg.replace(patterns=DENSE3, connectivity=100)
    res["layer"] = {"words": len(pm.compress(cfg, w)), "kernels": 32 * 32,
                    "sparse_word_bits": cfg.word_bits, "dense_word_bits": dense.word_bits,
                    "sparse_weight_bits": len(pm.compress(cfg, w)) * cfg.word_bits,
                    "dense_weight_bits": 32 * 32 * dense.word_bits}
    print("int8 conv3", acc, res["layer"], flush=True)
    if not args.no_rtl:
        xs = xq[:args.rtl_images]
        res["rtl"] = {"sparse": rtl(cfg, w, xs, args.sim), "dense": rtl(dense, w, xs, args.sim, True)}
        print("rtl", res["rtl"], flush=True)
    rows, tot = resnet_layers()
    res["resnet18"] = {"layers": rows, "total": tot}
    print(table([{k: r[k] for k in ("layer", "C", "F", "H", "stride", "speedup",
                                    "storage_ratio")} for r in rows]))
    print("total", tot, flush=True)
    if not args.no_fpga:
        res["ecp5"] = {"sparse": fpga(cfg), "dense": fpga(dense)}
        print("ecp5", res["ecp5"], flush=True)
    save("pattern_conv", res)
    print(table([{k: r[k] for k in ("keep_percent", "method", "after_hard_prune",
                                    "after_finetune_int8_weights")} for r in res["pruning"]]))


if __name__ == "__main__":
    main()
