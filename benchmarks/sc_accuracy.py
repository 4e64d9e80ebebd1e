"""Accuracy of stochastic multiplication and dot products against stream length.

Uses the golden model's own random sources (hwgen.models.stochastic), so the numbers are
those of the hardware bit for bit. Operand codes are random; the error is taken against
the exact product of the decoded codes, so input quantization is not counted.

Source pairings for the two operands of each multiplier:
    rule         what ScLayer builds: LFSR state and its bit reversal, or the van der
                 Corput value and the plain counter
    shared       both operands compare with the same random number (the mistake the
                 rule avoids)
    independent  a second LFSR of the same taps, seeded half a period away (LFSR only)

    python benchmarks/sc_accuracy.py [--quick]
        writes benchmarks/results/sc_accuracy.json and docs/img/sc_accuracy.png
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common import save, save_figure, table  # noqa: E402

from hwgen.models import stochastic as sc  # noqa: E402


def randoms(gen: str, pairing: str, L: int):
    """(r_a, r_b) for a stream of L bits with log2(L)-bit codes."""
    k = L.bit_length() - 1
    if gen == "lfsr":
        ra = sc.lfsr_sequence(k, 1, L)
        if pairing == "rule":
            rb = sc.bit_reverse(ra, k)
        elif pairing == "shared":
            rb = ra
        else:
            rb = sc.lfsr_sequence(k, int(ra[((1 << k) - 1) // 2]), L)
    else:
        ra = sc.vdc_sequence(k, L)
        rb = np.arange(L) if pairing == "rule" else ra
    return ra, rb


def multiply_error(gen, pairing, L, enc, rng, trials):
    k = L.bit_length() - 1
    ra, rb = randoms(gen, pairing, L)
    x = rng.integers(0, 1 << k, size=trials)
    w = rng.integers(0, 1 << k, size=trials)
    prod = sc.multiply(sc.sng(x, ra), sc.sng(w, rb), enc)
    p = prod.mean(axis=1)
    est = p if enc == "unipolar" else 2 * p - 1
    exact = sc.decode(x, k, enc) * sc.decode(w, k, enc)
    # theory: independent Bernoulli bits, var of the decoded estimate
    pe = exact if enc == "unipolar" else (exact + 1) / 2
    scale = 1 if enc == "unipolar" else 2
    theory = scale * np.sqrt(np.mean(pe * (1 - pe)) / L)
    return float(np.sqrt(np.mean((est - exact) ** 2))), float(theory)


def dot_error(gen, pairing, L, n, rng, trials):
    """Bipolar dot product of length n with the parallel counter, error per term
    (sum error / n), as ScLayer computes it."""
    k = L.bit_length() - 1
    ra, rb = randoms(gen, pairing, L)
    errs, theo = [], []
    for _ in range(trials):
        x = rng.integers(0, 1 << k, size=n)
        w = rng.integers(0, 1 << k, size=n)
        prod = sc.multiply(sc.sng(x, ra), sc.sng(w, rb), "bipolar")
        est = 2 * prod.sum() / L - n
        v = sc.decode(x, k, "bipolar") * sc.decode(w, k, "bipolar")
        errs.append((est - v.sum()) / n)
        theo.append(np.sum(1 - v ** 2) / L)  # independent terms
    return float(np.sqrt(np.mean(np.square(errs)))), float(np.sqrt(np.mean(theo)) / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer lengths and trials")
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    lengths = [32, 128, 512, 2048] if args.quick else [32, 64, 128, 256, 512, 1024, 2048, 4096]
    trials = 100 if args.quick else 400
    combos = [("lfsr", "rule"), ("lfsr", "independent"), ("lfsr", "shared"),
              ("vdc", "rule"), ("vdc", "shared")]
    rows = []
    for enc in ("unipolar", "bipolar"):
        for gen, pairing in combos:
            for L in lengths:
                rms, theory = multiply_error(gen, pairing, L, enc, rng, trials)
                rows.append({"op": f"mul/{enc}", "source": f"{gen}/{pairing}", "L": L,
                             "rms_error": rms, "theory_iid": theory})
    dot_trials = 20 if args.quick else 40
    for n in (16, 64, 256):
        for gen, pairing in combos:
            if pairing == "shared":
                continue
            for L in lengths:
                rms, theory = dot_error(gen, pairing, L, n, rng, dot_trials)
                rows.append({"op": f"dot{n}/bipolar", "source": f"{gen}/{pairing}", "L": L,
                             "rms_error": rms, "theory_iid": theory})
    print(table(rows))
    save("sc_accuracy", rows)

    ops = ["mul/unipolar", "mul/bipolar", "dot16/bipolar", "dot64/bipolar", "dot256/bipolar"]
    colors = {f"{g}/{p}": f"C{i}" for i, (g, p) in enumerate(combos)}
    fig, axes = plt.subplots(1, len(ops), figsize=(4 * len(ops), 3.6), sharey=True)
    for ax, op in zip(axes, ops):
        for src, color in colors.items():
            pts = [(r["L"], r["rms_error"]) for r in rows if r["op"] == op and r["source"] == src]
            if pts:
                ax.loglog(*zip(*pts), marker="o", ms=3, color=color, label=src)
        th = [(r["L"], r["theory_iid"]) for r in rows
              if r["op"] == op and r["source"] == "lfsr/rule"]
        ax.loglog(*zip(*th), "k--", lw=1, label="iid theory")
        ax.set_title(op)
        ax.set_xlabel("stream length L")
        ax.grid(True, which="both", lw=0.3)
    axes[0].set_ylabel("RMS error (per term)")
    axes[0].legend(fontsize=7)
    save_figure(fig, "sc_accuracy")


if __name__ == "__main__":
    main()
