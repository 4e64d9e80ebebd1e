"""The cost model on scale-out designs against the measured ``hwgen asic`` runs.

    python benchmarks/scaleout_cost.py [--fit]

``--fit``: fit the interconnect term (area per bit of word and clock period of each kind
against the port count) on the measured syntheses of the interconnects alone
(``results/scaleout.json``, part ``asic``: ``hwgen_interconnect``, 32-bit words, OSU
0.18 um, written by ``benchmarks/scaleout.py --part asic``) and write it to
``hwgen/models/cost_data/interconnect-osu018.json``. Then (always): the model's area and
clock of every scale-out design measured through ``hwgen asic``
(``results/scaleout_flows.json``, part ``asic``) beside the measurement, into
``results/scaleout_cost.json``.
"""
import argparse
import json
import shlex

from common import RESULTS, ROOT, save, table

from hwgen.config.loader import load_config
from hwgen.models import cost, cost_scaleout

PDK = "osu018"
WIDTH = 32   # the word width benchmarks/scaleout.py synthesizes the interconnects at


def measured_rows() -> list[dict]:
    with open(RESULTS / "scaleout_flows.json") as f:
        return json.load(f)["results"]["asic"]


def config_of(row: dict) -> str:
    """The config file of a measured row's command (``hwgen asic CONFIG ...``)."""
    return shlex.split(row["command"])[2]


def compare_all(coef, rows=None) -> list[dict]:
    out = []
    for row in rows if rows is not None else measured_rows():
        opts = shlex.split(row["command"])
        memories = opts[opts.index("--memories") + 1] if "--memories" in opts else "flops"
        cfg = load_config(str(ROOT / config_of(row)))
        out.append({"command": row["command"], "design": row["design"],
                    "compare": cost_scaleout.compare_measured(cfg, coef, row, memories)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit the interconnect term again")
    args = ap.parse_args()
    if args.fit:
        with open(RESULTS / "scaleout.json") as f:
            rows = [{**r, "width_bits": WIDTH} for r in json.load(f)["results"]["asic"]]
        net = cost_scaleout.fit_interconnect(
            rows, "benchmarks/results/scaleout.json results.asic: hwgen_interconnect alone, "
            f"{WIDTH}-bit words, OSU 0.18 um, Yosys + ABC at 10 ns, OpenSTA "
            "(benchmarks/scaleout.py --part asic); fitted by benchmarks/scaleout_cost.py --fit")
        path = cost_scaleout.interconnect_path(PDK)
        path.write_text(json.dumps(net, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
        for kind in cost_scaleout.NET_TERMS:
            print(kind, net["area"][kind]["fit"], net["period_ns"][kind]["fit"])
    coef = cost.load(pdk=PDK)
    res = compare_all(coef)
    flat = []
    for r in res:
        for q, (m, v, e) in r["compare"].items():
            flat.append({"design": r["design"], "quantity": q, "model": m, "measured": v,
                         "error": f"{100 * e:+.1f}%"})
    print(table(flat))
    save("scaleout_cost", res)


if __name__ == "__main__":
    main()
