"""Cost model: area, clock, power and energy in standard cells, and FPGA resources and
clock, predicted from a design's parameters in microseconds, for one design or a whole
population at once (numpy).

The model's *form* is here: per-component terms of the parameters (the PE array by
operand and accumulator width and dataflow, the buffers by bits, words and word width,
the controller, the host interface and its requantizers, ...), each a column of a
linear model. Its *coefficients* come from hwgen's own flows: ``hwgen calibrate``
(:mod:`hwgen.calibration`) runs ``hwgen asic`` / ``hwgen fpga`` on a designed set of
configs, fits the coefficients here (:func:`fit`) and writes them, together with every
measured point and which points fixed which coefficients, to a JSON file per target in
``hwgen/models/cost_data/`` (package data; :func:`load`). docs/cost_model.md describes
the terms, the fit and the measured error.

The search-facing API is :func:`cost_batch` (dicts of numpy arrays in, dicts of arrays
out); :func:`estimate` is the per-config convenience wrapper the command line uses.
Nothing here imports hardware or flows (the layer rule of docs/architecture.md): the
SRAM macro model's numbers and the boards' capacities arrive in the data file, written
by the calibration from :mod:`asic_flow.macros` and :mod:`fpga.boards`.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..config import AcceleratorConfig, Dataflow
from ..lib.protocol import BIAS_BITS_MAX, PRELOAD_BITS, SHIFT_BITS

DATA_DIR = Path(__file__).resolve().with_name("cost_data")
#: Version of the data file's layout (``format`` in the file).
FORMAT = 1
PDKS = ("osu018", "osu035", "osu050")
#: FPGA coefficient files cover a device family at one speed grade; the boards on one.
BOARD_GROUPS = {
    "ice40-up5k": {"family": "ice40", "boards": ("icebreaker",), "calibrate_on": "icebreaker"},
    "ecp5-6": {"family": "ecp5", "boards": ("ulx3s-25f", "ulx3s-85f"),
               "calibrate_on": "ulx3s-85f"},
    "ecp5-8": {"family": "ecp5", "boards": ("orangecrab-25f",),
               "calibrate_on": "orangecrab-25f"},
    "gowin-gw1n9": {"family": "gowin", "boards": ("tangnano9k",),
                    "calibrate_on": "tangnano9k"},
}
#: The design's parameters, in the order of :func:`params_of`.
PARAMS = ("rows", "cols", "dataflow", "in_bits", "acc_bits", "mult_bits", "out_bits",
          "depth_in", "depth_w", "depth_acc", "banks_in", "banks_w", "banks_acc", "beat",
          "im2col", "preload", "lane_quant")
#: Counts of a workload (:func:`gemm_activity`, :func:`network_activity`).
ACTIVITY = ("cycles", "compute_cycles", "macs", "in_beats", "w_beats", "out_beats",
            "in_writes", "w_writes", "acc_writes", "in_reads", "w_reads", "acc_reads")
BUFFERS = ("input", "weight", "acc")
#: Rows of the FIFO on the read path (hwgen.lib.schedule.READ_FIFO_DEPTH).
_FIFO = 8


class CostModelError(ValueError):
    """Bad input to the cost model (one line): no coefficients for a target, a
    parameter outside the calibrated range under ``strict``."""


class NoCoefficients(CostModelError):
    """The target has no calibrated coefficients (names it and how to calibrate it)."""


# ---- targets and files -------------------------------------------------------------------
def board_group(board: str) -> Optional[str]:
    """The coefficient group (device family and speed grade) of a board; None if unknown."""
    for g, d in BOARD_GROUPS.items():
        if board in d["boards"]:
            return g
    return None


def boards_of(groups) -> list[str]:
    return [b for g in groups for b in BOARD_GROUPS[g]["boards"]]


def data_path(target: str) -> Path:
    """The shipped data file of a target (``osu018``, ``ecp5-6``, ...)."""
    return DATA_DIR / f"{target}.json"


def empty_data(target: str, kind: str) -> dict:
    return {"format": FORMAT, "target": target, "kind": kind, "version": 0, "points": []}


def read_data(path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise CostModelError(f"{path}: not a cost-model data file (expected the JSON "
                             "hwgen calibrate writes)")
    if data.get("format") != FORMAT:
        raise CostModelError(f"{path}: cost data format {data.get('format')!r}, this hwgen "
                             f"reads format {FORMAT}; recalibrate")
    return data


def write_data(path, data: dict) -> None:
    """Write atomically (a reader never sees half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


#: Source files that decide what the flows measure, relative to the directory holding the
#: ``hwgen`` package: the hardware generators and the formulas they share, and each
#: flow's scripts and report readers (the config's derived widths are in each point's
#: resolved config, hence in its key). Their digest (:func:`rtl_digest`) is stored with
#: every calibration point (a point measured on other sources is run again) and with
#: the coefficients.
RTL_SOURCES = ("hwgen/pe", "hwgen/array", "hwgen/mem", "hwgen/ctrl", "hwgen/top.py",
               "hwgen/emit.py", "hwgen/lib/arith.py", "hwgen/lib/beats.py",
               "hwgen/lib/fixed.py", "hwgen/lib/protocol.py", "hwgen/lib/schedule.py",
               "hwgen/lib/framing.py")
FLOW_SOURCES = {"asic": ("asic_flow/synth.py", "asic_flow/sta.py", "asic_flow/pdks.py",
                         "asic_flow/macros.py", "asic_flow/netact.py", "asic_flow/workload.py",
                         "rtl_templates/asic"),
                "fpga": ("hwgen/board", "fpga/flow.py", "fpga/report.py", "fpga/boards.py",
                         "rtl_templates/fpga")}


@functools.lru_cache(maxsize=4)
def rtl_digest(kind: str) -> str:
    """A digest of :data:`RTL_SOURCES` and the ``kind`` flow's :data:`FLOW_SOURCES` as
    installed (and of the Amaranth version, which pins its Yosys): what a calibration
    point was measured on. Reads the files; imports nothing."""
    import hashlib
    from importlib import metadata
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256(metadata.version("amaranth").encode())
    for src in (*RTL_SOURCES, *FLOW_SOURCES[kind]):
        base = root / src
        files = sorted(base.rglob("*")) if base.is_dir() else [base]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _how_to(target: str, kind: str) -> str:
    opt = f"--pdk {target}" if kind == "asic" else \
        f"--board {BOARD_GROUPS[target]['calibrate_on']}"
    return f"hwgen calibrate {opt}"


def load(pdk: Optional[str] = None, board: Optional[str] = None,
         path: Optional[Path] = None) -> "Coefficients":
    """The calibrated coefficients of ``pdk`` or ``board`` (from ``path`` if given, else
    the shipped file). NoCoefficients when there are none."""
    if pdk is not None:
        if pdk not in PDKS:
            raise CostModelError(f"unknown PDK {pdk!r} (known: {', '.join(PDKS)})")
        target, kind, what = pdk, "asic", f"PDK {pdk}"
    else:
        target, kind, what = board_group(board), "fpga", f"board {board}"
        if target is None:
            raise CostModelError(f"unknown board {board!r} (known: "
                                 f"{', '.join(sorted(boards_of(BOARD_GROUPS)))})")
    p = Path(path) if path is not None else data_path(target)
    if not p.is_file():
        raise NoCoefficients(f"no cost-model coefficients for {what}: calibrate them with "
                             f"'{_how_to(target, kind)}' (runs the real flows; see "
                             "docs/cost_model.md)")
    data = read_data(p)
    if not data.get("model"):
        raise NoCoefficients(f"{p} holds measured points for {what} but no fitted "
                             f"coefficients: run '{_how_to(target, kind)}' to fit them")
    if data.get("kind") != kind or data.get("target") != target:
        raise CostModelError(f"{p} is for {data.get('kind')} target {data.get('target')!r}, "
                             f"not {what}")
    return Coefficients(target, kind, data, p, board=board)


@dataclass
class Coefficients:
    """A loaded data file: ``model`` (coefficients by part), ``ranges``, provenance."""
    target: str
    kind: str
    data: dict
    path: Path
    board: Optional[str] = None

    @property
    def model(self) -> dict:
        return self.data["model"]

    @property
    def version(self) -> int:
        return int(self.data.get("version", 0))

    def describe(self) -> dict:
        """Where the figures come from (the estimate's ``cost_model`` key)."""
        out = {"target": self.target, "version": self.version,
               "calibrated": self.data.get("calibrated"),
               "rtl_matches": self.data.get("rtl_digest") == rtl_digest(self.kind),
               "points": sum(1 for p in self.data.get("points", []) if p["role"] == "fit"
                             and p.get("measured")),
               "file": self.path.name}
        if self.board:
            out["board"] = self.board
        return out


# ---- parameters ----------------------------------------------------------------------------
#: The ``dataflow`` parameter: 0 output-, 1 weight-, 2 input-stationary. An
#: input-stationary design is the weight-stationary hardware (PEs, mesh, engine) with
#: the input and weight buffers' word widths exchanged (C and R elements), and is priced
#: so: its terms are the weight-stationary ones (no input-stationary design was among
#: the calibration points).
DATAFLOW_CODE = {Dataflow.OS: 0, Dataflow.WS: 1, Dataflow.IS: 2}


def params_of(cfg: AcceleratorConfig) -> dict:
    """The model's parameters of one config (plain numbers)."""
    b = cfg.buffers
    f = cfg.features
    return {"rows": cfg.R, "cols": cfg.C, "dataflow": DATAFLOW_CODE[cfg.dataflow],
            "in_bits": cfg.precision.in_bits, "acc_bits": cfg.acc_bits,
            "mult_bits": cfg.precision.mult_bits, "out_bits": cfg.precision.out_bits,
            "depth_in": b.input.depth, "depth_w": b.weight.depth, "depth_acc": b.acc.depth,
            "banks_in": b.input.banks, "banks_w": b.weight.banks, "banks_acc": b.acc.banks,
            "beat": cfg.host.beat_elems, "im2col": int(f.im2col), "preload": int(f.preload),
            "lane_quant": int(f.lane_quant)}


def stack(rows: list[dict]) -> dict:
    """Parameter dicts of several designs as one dict of arrays."""
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}


def _arr(p: dict) -> dict:
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(p[k], dtype=np.float64))
                                 for k in PARAMS))
    return dict(zip(PARAMS, arrs))


def _bits_for(n):
    """Unsigned bits for 0..n (at least 1), vectorised (hwgen.lib.arith.bits_for)."""
    n = np.asarray(n, dtype=np.float64)
    return np.maximum(1.0, np.floor(np.log2(np.maximum(n, 1))) + 1)


def derive(p: dict) -> dict:
    """Everything the terms use, from the parameters (arrays)."""
    p = _arr(p)
    R, C, b, a, m = p["rows"], p["cols"], p["in_bits"], p["acc_bits"], p["mult_bits"]
    os_ = (p["dataflow"] == 0).astype(np.float64)
    ws = 1.0 - os_   # (input-stationary included: the same array and engine)
    is_ = p["dataflow"] == 2
    d = dict(p)
    d.update(R=R, C=C, pes=R * C, os=os_, ws=ws, b=b, a=a, m=m, o=p["out_bits"],
             e=p["beat"], im2col=p["im2col"], preload=p["preload"], lq=p["lane_quant"],
             one=np.ones_like(R), pbits=a + m + 2, lanes_q=np.where(p["lane_quant"] > 0, C, 1),
             maxrc=np.maximum(R, C), pair=p["im2col"] * os_)
    d["buf"] = {}
    for name, width, depth, banks in (("input", np.where(is_, C, R) * b, p["depth_in"],
                                       p["banks_in"]),
                                      ("weight", np.where(is_, R, C) * b, p["depth_w"],
                                       p["banks_w"]),
                                      ("acc", C * a, p["depth_acc"], p["banks_acc"])):
        d["buf"][name] = {"width": width, "depth": depth, "banks": banks,
                          "bits": width * depth * banks, "addr": _bits_for(depth - 1),
                          "one": np.ones_like(R),
                          "pair": d["pair"] if name == "input" else np.zeros_like(R),
                          "is_acc": np.full_like(R, name == "acc", dtype=np.float64),
                          "preload": p["preload"] if name == "acc" else np.zeros_like(R)}
    return d


# ---- terms ------------------------------------------------------------------------------------
#: name -> (function of the derived values, what it stands for). A block's model is a
#: non-negative combination of some of these (chosen by the fit; see :func:`fit_linear`).
TERMS: dict[str, tuple[Callable, str]] = {
    # PE array
    "pe_mult": (lambda d: d["pes"] * d["b"] ** 2, "per PE: the b x b multiplier"),
    "pe_b_os": (lambda d: d["pes"] * d["b"] * d["os"], "per PE, OS: operand registers"),
    "pe_b_ws": (lambda d: d["pes"] * d["b"] * d["ws"], "per PE, WS: operand and two weight "
                "registers"),
    "pe_acc_os": (lambda d: d["pes"] * d["a"] * d["os"], "per PE, OS: adder, accumulator "
                  "and drain registers"),
    "pe_acc_ws": (lambda d: d["pes"] * d["a"] * d["ws"], "per PE, WS: adder and partial-sum "
                  "register"),
    "pe": (lambda d: d["pes"], "per PE: control"),
    "skew_in": (lambda d: d["R"] * (d["R"] - 1) / 2 * d["b"], "edge: input skew triangle"),
    "const": (lambda d: d["one"], "fixed"),
    "skew_w_os": (lambda d: d["C"] * (d["C"] - 1) / 2 * d["b"] * d["os"],
                  "edge, OS: the weights' skew triangle"),
    "skew_ps_ws": (lambda d: d["C"] * (d["C"] - 1) / 2 * d["a"] * d["ws"],
                   "edge, WS: the partial sums' deskew triangle"),
    # controller
    "os": (lambda d: d["os"], "OS schedule"),
    "im2col": (lambda d: d["im2col"], "convolution address generator"),
    "im2col_shift": (lambda d: d["pair"] * d["R"] * d["b"], "OS im2col: lane shifter of "
                     "two words"),
    "wb_add": (lambda d: d["C"] * d["a"], "per column: accumulator write-back adder / "
               "result word"),
    "addr": (lambda d: d["buf"]["input"]["addr"] + d["buf"]["weight"]["addr"]
             + d["buf"]["acc"]["addr"], "address counters"),
    "pipe": (lambda d: (d["R"] + d["C"]) * d["buf"]["acc"]["addr"],
             "descriptor pipeline through the array latency"),
    "edge": (lambda d: d["R"] + d["C"], "array edge"),
    # host interface and requantizers
    "rq_mul": (lambda d: d["C"] * (d["a"] + 2) * (d["m"] + 1),
               "per column: the requantizer's (acc+bias) x mult product"),
    "rq_out": (lambda d: d["C"] * d["o"], "per column: requantizer rounding, saturation, "
               "clamp"),
    "col_acc": (lambda d: d["C"] * d["a"], "per column: requantizer registers, bias, read "
                "FIFO word, output serializer"),
    "lane_regs": (lambda d: d["lanes_q"] * (d["m"] + SHIFT_BITS), "multiplier and shift "
                  "registers (per column with lane_quant, else one)"),
    "beats": (lambda d: d["e"] * (d["b"] + d["a"]), "beat packing of din and dout"),
    "loader": (lambda d: d["maxrc"] * d["b"], "loader word assembly"),
    "preload_mul": (lambda d: d["preload"] * d["C"] * d["b"] * PRELOAD_BITS,
                    "LOAD_ACC: per column the operand x preload-factor product"),
    # buffers (evaluated per buffer)
    "bits": (lambda d: d["bits"], "storage bits"),
    "words": (lambda d: d["banks"] * d["depth"], "word select (write decode)"),
    "width_banks": (lambda d: d["banks"] * d["width"], "per bank: read data and bank select"),
    "width": (lambda d: d["width"], "read data register"),
    "pair_bits": (lambda d: d["pair"] * d["bits"], "pair read (even/odd halves)"),
    "pair_width": (lambda d: d["pair"] * d["width"] * d["banks"], "pair read: joining the "
                   "halves' words"),
    "acc_width": (lambda d: d["is_acc"] * d["width"] * d["banks"], "accumulator buffer: a "
                  "second read client"),
    "preload_width": (lambda d: d["preload"] * d["width"] * d["banks"], "accumulator "
                      "buffer: a second write client (LOAD_ACC)"),
    # FPGA (whole design)
    "logic_mult": (lambda d: d["mult_logic_bits"], "partial-product bits of multipliers "
                   "in logic cells: pieces too small for a DSP block, or every product when "
                   "the DSP blocks are too few"),
    "lutram_bits": (lambda d: d["lutram_bits"], "memories in LUTs / flip-flops (too small "
                    "for block RAM)"),
    "pes_acc": (lambda d: d["pes"] * d["a"], "per PE: accumulator"),
    "pes_b": (lambda d: d["pes"] * d["b"], "per PE: operand registers"),
    "pes_b_ws": (lambda d: d["pes"] * d["b"] * d["ws"], "per PE, WS: weight registers"),
    "pes_acc_os": (lambda d: d["pes"] * d["a"] * d["os"], "per PE, OS: drain registers"),
    "lq": (lambda d: d["lq"] * d["C"] * (d["m"] + SHIFT_BITS), "lane_quant registers"),
    "preload_c": (lambda d: d["preload"] * d["C"] * (d["a"] + PRELOAD_BITS), "LOAD_ACC path"),
    "bias": (lambda d: d["C"] * np.minimum(d["a"], BIAS_BITS_MAX), "per column bias"),
}

#: ASIC area (and sequential area) terms per block; the buffer model is shared by the
#: three buffers (one row per buffer in the fit).
ASIC_BLOCKS = {
    "array": ["pe_mult", "pe_b_os", "pe_b_ws", "pe_acc_os", "pe_acc_ws", "pe", "skew_in",
              "const", "skew_w_os", "skew_ps_ws"],
    "buffer": ["bits", "words", "width_banks", "width", "pair_bits", "acc_width",
               "preload_width", "const"],
    "engine": ["const", "os", "im2col", "im2col_shift", "wb_add", "addr", "pipe", "edge"],
    "host": ["const", "rq_mul", "rq_out", "col_acc", "lane_regs", "beats", "loader",
             "preload_mul", "preload_c", "im2col"],
    "top": ["const", "edge"],
}
#: The buffer logic around SRAM macros (no storage bits).
MACRO_LOGIC_TERMS = ["words", "width_banks", "width", "pair_width", "acc_width",
                     "preload_width", "const"]
#: Which flow block each model block is measured as (asic_flow.flow.ROLES).
FLOW_BLOCK = {"array": "array", "engine": "engine", "host": "host", "top": "top",
              "input": "input_buf", "weight": "weight_buf", "acc": "acc_buf"}
#: Terms the fit keeps whatever the elimination says: the parts the estimate reports
#: on their own (the requantizers' products) or that the block is built around.
REQUIRED = {"host": ("rq_mul",), "array": ("pe_mult",), "buffer": ("bits",)}
#: Host-interface terms that are the requantizers (reported as their own block).
REQUANT_TERMS = ("rq_mul", "rq_out")

#: Energy per cycle (pJ) terms per block, on top of the area predictions: ``clk`` is the
#: block's sequential area (flip-flops clocked every cycle), the others activity rates
#: (counts per cycle) times the width they switch.
ENERGY_TERMS = {
    "array": ["clk", "busy", "mac", "clk_ws", "busy_ws", "clk_os", "busy_os"],
    "buffer": ["clk", "wr", "rd"],
    "engine": ["clk", "busy"],
    "host": ["clk", "beat_in", "beat_out", "rq"],
    "top": ["clk"],
}

#: FPGA LUT / FF terms (whole board top: UART bridge + accelerator).
FPGA_TERMS = {
    "luts": ["const", "pes_acc", "pes_b", "pes_b_ws", "pe", "wb_add", "rq_out", "loader",
             "beats", "im2col", "im2col_shift", "lq", "preload_c", "logic_mult",
             "lutram_bits", "edge"],
    "ffs": ["const", "pes_acc", "pes_b", "pes_b_ws", "pes_acc_os", "pe", "col_acc",
            "loader", "beats", "im2col", "im2col_shift", "lq", "preload_c", "lutram_bits",
            "edge", "bias"],
}


def features(names: list[str], d: dict) -> np.ndarray:
    """The columns of ``names`` for derived values ``d``: shape (candidates, terms)."""
    return np.stack([np.broadcast_to(TERMS[n][0](d), d["one"].shape) for n in names],
                    axis=-1)


def linear(model: dict, d: dict) -> np.ndarray:
    """A fitted block model (``features``, ``coef``) evaluated on ``d``."""
    if not model["features"]:
        return np.zeros_like(d["one"])
    return features(model["features"], d) @ np.asarray(model["coef"], dtype=np.float64)


# ---- activity -------------------------------------------------------------------------------
def gemm_activity(p: dict, M, K, N, mapping=None) -> dict:
    """Workload counts of an M x K x N GEMM on each candidate (exact, from
    :func:`hwgen.models.perf_batch.gemm_batch`). ``mapping`` is (tile_m, tile_k,
    tile_n, order) arrays; None: :func:`hwgen.models.perf_batch.fitting_mapping`."""
    from .perf_batch import fitting_mapping, gemm_batch
    if mapping is None:
        mapping = fitting_mapping(p, M, K, N)
    return gemm_batch(p, M, K, N, *mapping).as_dict()


def timing_activity(cfg: AcceleratorConfig, timing, chunks=()) -> dict:
    """Counts of a workload known by its :class:`~hwgen.models.perf.GemmTiming` (a GEMM,
    or a network's totals). Words written come from the beats (exact: LOAD_ACC's beats
    count as weight-buffer writes, an approximation for networks with residual
    preloads); the engine's reads from the chunk loops ``chunks``, each (M, K, N,
    tile_m, tile_k, tile_n, times) (exact, :func:`nest_reads`); without chunks they are
    estimated from the MACs as if every tile were full (docs/cost_model.md)."""
    R, C = cfg.R, cfg.C
    bpw_in, bpw_w = cfg.link.in_word_beats, cfg.link.w_word_beats
    os_ = cfg.dataflow is Dataflow.OS
    is_ = cfg.dataflow is Dataflow.IS
    if chunks:
        rd = {"in_reads": 0.0, "w_reads": 0.0, "acc_rmw": 0.0}
        for M, K, N, tm, tk, tn, times in chunks:
            if is_:   # weight-stationary's on B^T . A^T, the two buffers exchanged
                r = nest_reads(R, C, False, N, K, M, tn, tk, tm)
                r["in_reads"], r["w_reads"] = r["w_reads"], r["in_reads"]
            else:
                r = nest_reads(R, C, os_, M, K, N, tm, tk, tn)
            for k in rd:
                rd[k] += times * r[k]
    else:
        full = timing.macs / (R * C)
        rd = {"in_reads": full, "w_reads": full, "acc_rmw": full}
    out_words = timing.out_beats / cfg.acc_word_beats
    return {"cycles": float(timing.cycles), "compute_cycles": float(timing.compute_cycles),
            "macs": float(timing.macs), "in_beats": float(timing.in_beats),
            "w_beats": float(timing.w_beats), "out_beats": float(timing.out_beats),
            "in_writes": timing.in_beats / bpw_in, "w_writes": timing.w_beats / bpw_w,
            "in_reads": rd["in_reads"], "w_reads": rd["w_reads"],
            "acc_reads": rd["acc_rmw"] + out_words, "acc_writes": rd["acc_rmw"]}


def nest_reads(R, C, os_, M, K, N, tm, tk, tn) -> dict:
    """Engine buffer accesses of every COMPUTE of a chunk loop (per chunk as in
    :mod:`hwgen.models.perf_batch`), summed over its first, middle and last chunks."""
    def runs(T, t):
        n = -(-T // t)
        last = T - (n - 1) * t
        return [(t, 1), (t, max(n - 2, 0)), (last, 1 if n >= 2 else 0)]

    out = {"in_reads": 0.0, "w_reads": 0.0, "acc_rmw": 0.0}
    for mc, cm in runs(M, min(tm, M)):
        for kc, ck in runs(K, min(tk, K)):
            for nc, cn in runs(N, min(tn, N)):
                times = cm * ck * cn
                if not times:
                    continue
                if os_:
                    tiles = -(-mc // R) * -(-nc // C)
                    out["in_reads"] += times * tiles * kc
                    out["w_reads"] += times * tiles * kc
                    out["acc_rmw"] += times * tiles * R
                else:
                    tiles = -(-kc // R) * -(-nc // C)
                    out["in_reads"] += times * tiles * mc
                    out["w_reads"] += times * tiles * R
                    out["acc_rmw"] += times * tiles * mc
    return out


# ---- the model ---------------------------------------------------------------------------------
def _energy_feats(block: str, d: dict, area: dict, act: dict, buf: Optional[str] = None):
    """Energy-per-cycle terms of a block (candidates x terms) for activity ``act``."""
    cyc = np.maximum(act["cycles"], 1.0)
    rate = {k: np.asarray(act[k], dtype=np.float64) / cyc for k in ACTIVITY if k != "cycles"}
    seq, comb = area["seq"], np.maximum(area["area"] - area["seq"], 0.0)
    duty = rate["compute_cycles"]
    cols = {"clk": seq, "busy": comb * duty}
    if block == "array":
        cols["mac"] = rate["macs"] * (d["b"] ** 2 + d["a"])
        # weight-stationary PEs: partial sums move through every PE each cycle, the
        # weights stay (output-stationary: operands move, the sums stay)
        cols["clk_ws"] = seq * d["ws"]
        cols["busy_ws"] = comb * duty * d["ws"]
        cols["clk_os"] = seq * d["os"]
        cols["busy_os"] = comb * duty * d["os"]
    elif block == "buffer":
        bd = d["buf"][buf]
        wr = {"input": rate["in_writes"], "weight": rate["w_writes"],
              "acc": rate["acc_writes"]}[buf]
        rd = {"input": rate["in_reads"], "weight": rate["w_reads"],
              "acc": rate["acc_reads"]}[buf]
        cols["wr"] = wr * bd["width"]
        cols["rd"] = rd * bd["width"] * bd["addr"]
    elif block == "host":
        cols["beat_in"] = (rate["in_beats"] + rate["w_beats"]) * d["e"] * d["b"]
        cols["beat_out"] = rate["out_beats"] * d["e"] * d["a"]
        words = rate["out_beats"] / np.ceil(d["C"] / d["e"])
        cols["rq"] = words * d["C"] * (d["a"] + d["m"])
    return cols


def _asic(d: dict, coef: "Coefficients", act: Optional[dict], clock_ns,
          memories: str) -> dict:
    mdl = coef.model
    n = d["one"].shape
    areas, seqs = {}, {}
    for blk in ("array", "engine", "host", "top"):
        areas[blk] = linear(mdl["area"][blk], d)
        seqs[blk] = np.minimum(linear(mdl["seq_area"][blk], d), areas[blk])
    host_terms = mdl["area"]["host"]
    rq = np.zeros(n)
    for t, c in zip(host_terms["features"], host_terms["coef"]):
        if t in REQUANT_TERMS:
            rq = rq + c * TERMS[t][0](d)
    macro = mdl.get("macro")
    for b in BUFFERS:
        bd = d["buf"][b]
        if memories == "macro":
            logic_a, logic_s = _macro_logic(mdl, bd)
            areas[b] = logic_a + sum(c * _macro_area(macro, bits)
                                     for c, bits in _macro_shapes(bd))
            seqs[b] = logic_s
        else:
            areas[b] = linear(mdl["area"]["buffer"], bd)
            seqs[b] = np.minimum(linear(mdl["seq_area"]["buffer"], bd), areas[b])
    total = sum(areas.values())
    # clock: the slowest of the fitted paths
    period = np.zeros(n)
    for name, path in mdl["delay"].items():
        if name != "macro" or memories == "macro":
            period = np.maximum(period, linear(path, d))
    if memories == "macro" and "macro" not in mdl["delay"]:
        # uncalibrated: a macro's clock-to-output, then a PE's path
        pe_path = mdl["delay"].get("array", {"features": [], "coef": []})
        period = np.maximum(period, macro["clk_to_q_ns"] + linear(pe_path, d))
    out = {"area_um2": total,
           "area_pe_array_um2": areas["array"],
           "area_input_buffer_um2": areas["input"],
           "area_weight_buffer_um2": areas["weight"],
           "area_acc_buffer_um2": areas["acc"],
           "area_controller_um2": areas["engine"],
           "area_host_interface_um2": areas["host"] - rq,
           "area_requantizer_um2": rq,
           "area_top_glue_um2": areas["top"],
           "fmax_mhz": 1000.0 / np.maximum(period, 1e-3)}
    if act is None:
        return out
    T = np.asarray(clock_ns, dtype=np.float64)
    leak = mdl["leakage_mw_per_um2"] * total
    split = {"macs": np.zeros(n), "buffer_reads": np.zeros(n), "buffer_writes": np.zeros(n),
             "buffer_idle": np.zeros(n), "host_transfers": np.zeros(n),
             "control": np.zeros(n)}
    cycles = np.asarray(act["cycles"], dtype=np.float64)
    for blk in ("array", "engine", "host", "top", *BUFFERS):
        kind = "buffer" if blk in BUFFERS else blk
        em = mdl["energy"][kind]
        cols = _energy_feats(kind, d, {"area": areas[blk], "seq": seqs[blk]}, act,
                             blk if kind == "buffer" else None)
        parts = {t: c * cols[t] for t, c in zip(em["features"], em["coef"])}
        if kind == "buffer" and memories == "macro":
            parts = _macro_energy(macro, d["buf"][blk], act, blk,
                                  dict(zip(em["features"], em["coef"])).get("clk", 0.0)
                                  * seqs[blk])
        pj = sum(parts.values()) if parts else np.zeros(n)
        if kind == "array":
            split["macs"] += pj
        elif kind == "buffer":
            split["buffer_reads"] += parts.get("rd", 0.0)
            split["buffer_writes"] += parts.get("wr", 0.0)
            split["buffer_idle"] += parts.get("clk", 0.0)
        elif kind == "host":
            split["host_transfers"] += pj
        else:
            split["control"] += pj
    # per cycle (pJ) -> over the workload (uJ): x cycles x 1e-6
    energy = {k: v * cycles * 1e-6 for k, v in split.items()}
    seconds = cycles * T * 1e-9
    energy["leakage"] = leak * 1e-3 * seconds * 1e6   # mW x s -> uJ
    e_total = sum(energy.values())
    macs = np.asarray(act["macs"], dtype=np.float64)
    out.update({
        "power_mw": e_total / np.maximum(seconds, 1e-30) * 1e-6 * 1e3,
        "leakage_mw": leak,
        "energy_uj": e_total,
        "pj_per_mac": np.where(macs > 0, e_total * 1e6 / np.maximum(macs, 1), np.nan),
        **{f"energy_{k}_uj": v for k, v in energy.items()},
    })
    return out


def _pow2(n):
    """A macro's rows: the depth rounded up to a power of two, at least 2
    (asic_flow.macros.shape_of)."""
    return 2.0 ** np.maximum(1, np.ceil(np.log2(np.maximum(n, 1))))


def _macro_shapes(bd: dict) -> list:
    """(count, bits) of the macros of one buffer: a macro per bank, or with the OS pair
    read an even and an odd half per bank."""
    whole = (bd["banks"] * (1 - bd["pair"]), bd["width"] * _pow2(bd["depth"]))
    even = (bd["banks"] * bd["pair"], bd["width"] * _pow2(np.ceil(bd["depth"] / 2)))
    odd = (bd["banks"] * bd["pair"], bd["width"] * _pow2(np.maximum(1, np.floor(bd["depth"] / 2))))
    return [whole, even, odd]


def _macro_area(macro: dict, bits):
    return (macro["area_fixed_um2"] + macro["area_per_bit_um2"] * bits) * macro["scale"] ** 2


def _macro_access_pj(macro: dict, bits):
    return (macro["access_fixed_pj"] + macro["access_per_bit_pj"] * bits) * macro["scale"]


def _macro_logic(mdl: dict, bd: dict) -> tuple:
    """(area, sequential area) of a buffer's logic around its macros: the fitted model
    of macro runs, else (not calibrated on macro runs) the flip-flop buffer model
    without storage bits."""
    if "buffer_macro_logic" in mdl["area"]:
        a = linear(mdl["area"]["buffer_macro_logic"], bd)
        return a, np.minimum(linear(mdl["seq_area"]["buffer_macro_logic"], bd), a)
    logic = {**bd, "bits": np.zeros_like(bd["bits"])}
    a = linear(mdl["area"]["buffer"], logic)
    return a, np.minimum(linear(mdl["seq_area"]["buffer"], logic), a)


def _macro_energy(macro: dict, bd: dict, act: dict, name: str, logic_clk) -> dict:
    """Energy per cycle of a buffer built from SRAM macros (asic_flow.macros's model):
    every macro's idle energy each cycle, the access energy's extra on each read (both
    halves with the pair read) or write, and the clock of the logic around them."""
    cyc = np.maximum(act["cycles"], 1.0)
    rd = {"input": act["in_reads"], "weight": act["w_reads"], "acc": act["acc_reads"]}[name]
    wr = {"input": act["in_writes"], "weight": act["w_writes"], "acc": act["acc_writes"]}[name]
    shapes = _macro_shapes(bd)
    mems = sum(c for c, _ in shapes)
    idle = sum(c * _macro_access_pj(macro, b) * macro["idle_share"] for c, b in shapes)
    extra = sum(c * _macro_access_pj(macro, b) for c, b in shapes) / np.maximum(mems, 1) \
        * (1 - macro["idle_share"])
    return {"clk": idle + logic_clk,
            "rd": extra * np.asarray(rd) / cyc * (1 + bd["pair"]),
            "wr": extra * np.asarray(wr) / cyc}


# ---- FPGA ------------------------------------------------------------------------------------
def _bram_count(family: str, width, depth):
    """Block RAMs one memory of ``width`` x ``depth`` takes (the cheapest of the block's
    aspect ratios), or 0 where it stays in logic (see :func:`fpga_memories`)."""
    if family == "ice40":   # SB_RAM40_4K: 256x16, 512x8, 1024x4, 2048x2
        modes = ((16, 256), (8, 512), (4, 1024), (2, 2048))
    else:                   # DP16KD: 512x36 (one read, one write port), 1024x18, ...
        modes = ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))
    best = None
    for w, dp in modes:
        n = np.ceil(width / w) * np.ceil(depth / dp)
        best = n if best is None else np.minimum(best, n)
    return best


def fpga_memories(d: dict, family: str, rules: dict) -> tuple:
    """(block RAMs, bits kept in logic) of the board top's memories: the buffer banks
    (the OS im2col input buffer as even and odd halves), the read FIFO and the UART
    receive FIFO. A memory goes to block RAM when it holds at least ``rules['min_bits']``
    bits (and, on ECP5, is deeper than ``rules['lutram_depth']``), else to logic
    (LUT RAM or flip-flops)."""
    brams = np.zeros_like(d["one"])
    logic = np.zeros_like(d["one"])
    mems = []
    for name in BUFFERS:
        bd = d["buf"][name]
        pair = bd["pair"]
        for half, dd in ((0, np.where(pair > 0, np.ceil(bd["depth"] / 2), bd["depth"])),
                         (1, np.floor(bd["depth"] / 2))):
            count = bd["banks"] * (pair if half else 1)
            mems.append((bd["width"], dd, count))
    mems.append((d["C"] * d["a"], np.full_like(d["one"], _FIFO), d["one"]))
    mems.append((np.full_like(d["one"], 8), np.full_like(d["one"], rules["uart_fifo"]), d["one"]))
    for width, depth, count in mems:
        bits = width * depth
        to_bram = (bits >= rules["min_bits"]) & (depth > rules["lutram_depth"])
        n = _bram_count(family, width, depth)
        brams = brams + np.where(to_bram, n * count, 0)
        logic = logic + np.where(to_bram, 0, bits * count)
    return brams, logic


def _product_split(wa, wb, rule: dict):
    """(multiplier blocks, partial-product bits left to logic) of one wa x wb product:
    Yosys (mul2dsp) cuts each operand into pieces of the block's width, and a piece pair
    becomes a block when both pieces are at least ``min_width`` bits and their product
    at least ``min_product`` bits; smaller pairs stay in logic cells."""
    w = float(rule["width"])
    blocks = np.zeros_like(np.asarray(wa, dtype=np.float64))
    logic = np.zeros_like(blocks)
    na, nb = np.ceil(wa / w), np.ceil(wb / w)
    ra, rb = wa - (na - 1) * w, wb - (nb - 1) * w        # the last pieces' widths
    for a_n, a_w in ((na - 1, w), (1.0, ra)):
        for b_n, b_w in ((nb - 1, w), (1.0, rb)):
            ok = ((a_w >= rule["min_width"]) & (b_w >= rule["min_width"])
                  & (a_w + b_w >= rule["min_product"]))
            blocks = blocks + np.where(ok, a_n * b_n, 0.0)
            logic = logic + np.where(ok, 0.0, a_n * b_n * a_w * b_w)
    return blocks, logic


def _multipliers(d: dict, rule: dict) -> tuple:
    """(multiplier blocks, partial-product bits in logic) of the design's products:
    each PE's b x b, each requantizer's (acc + 1) x (mult + 1) and, with preload, each
    column's operand x preload factor (:func:`_product_split`)."""
    out = []
    for n, wa, wb in ((d["pes"], d["b"], d["b"]), (d["C"], d["a"] + 1, d["m"] + 1),
                      (d["preload"] * d["C"], d["b"], PRELOAD_BITS + 1.0)):
        blocks, logic = _product_split(wa, wb, rule)
        out.append((n * blocks, n * logic))
    return sum(b for b, _ in out), sum(lg for _, lg in out)


def _all_products(d: dict) -> np.ndarray:
    """Partial-product bits of every product (all of them in logic)."""
    return (d["pes"] * d["b"] ** 2 + d["C"] * (d["a"] + 1) * (d["m"] + 1)
            + d["preload"] * d["C"] * d["b"] * (PRELOAD_BITS + 1.0))


def _fpga(d: dict, coef: "Coefficients") -> dict:
    mdl = coef.model
    fam = mdl["family"]
    cap = mdl["capacity"][coef.board]
    brams, logic_bits = fpga_memories(d, fam, mdl["memory_rules"])
    d = {**d, "lutram_bits": logic_bits}
    need, small = _multipliers(d, mdl["dsp_rule"])
    # Only the DSP blocks overflow: the flow rebuilds every multiplier from logic.
    d_dsp = {**d, "mult_logic_bits": small}
    luts_dsp = linear(mdl["luts"], d_dsp)
    ffs = linear(mdl["ffs"], d_dsp)
    dsp_over = need > cap["DSP"]
    others_fit = (luts_dsp <= cap["LUT"]) & (ffs <= cap["FF"]) & (brams <= cap["BRAM"])
    logic = dsp_over & others_fit
    d_l = {**d, "mult_logic_bits": np.where(logic, _all_products(d), small)}
    luts = linear(mdl["luts"], d_l)
    dsps = np.where(logic, 0.0, need)
    dl = {**d_l, "log_luts": np.log2(np.maximum(luts, 1))}
    fmax = (1000.0 / np.maximum(linear(mdl["period_ns"], dl), 1e-3) if "period_ns" in mdl
            else linear(mdl["fmax"], dl))   # files fitted before the period model
    over = {"LUT": luts - cap["LUT"], "FF": ffs - cap["FF"], "BRAM": brams - cap["BRAM"],
            "DSP": dsps - cap["DSP"]}
    fits = np.ones_like(d["one"], dtype=bool)
    for v in over.values():
        fits &= v <= 0
    return {"luts": np.round(luts), "ffs": np.round(ffs), "dsps": dsps, "brams": brams,
            "fmax_mhz": fmax, "fits": fits, "logic_multipliers": logic,
            **{f"over_{k}": v for k, v in over.items()}}


TERMS["log_luts"] = (lambda d: d["log_luts"], "log2 of the LUTs (routing)")
TERMS["acc_bits"] = (lambda d: d["a"], "accumulator width")
TERMS["in_bits"] = (lambda d: d["b"], "operand width")
TERMS["mult_bits"] = (lambda d: d["m"], "requantizer multiplier width")
TERMS["pbits"] = (lambda d: d["pbits"], "requantizer product width")
TERMS["log_pbits"] = (lambda d: np.log2(d["pbits"]), "log2 of the product width")
TERMS["log_b"] = (lambda d: np.log2(d["b"]), "log2 of the operand width")
TERMS["addr_in"] = (lambda d: d["buf"]["input"]["addr"], "input buffer address bits")
TERMS["im2col_addr"] = (lambda d: d["im2col"] * d["buf"]["input"]["addr"],
                        "im2col address arithmetic")
TERMS["im2col_ws"] = (lambda d: d["im2col"] * d["ws"], "WS im2col address generator")
TERMS["im2col_os"] = (lambda d: d["im2col"] * d["os"], "OS im2col pair read and shifter")
TERMS["log_rows"] = (lambda d: np.log2(d["R"] + 1), "log2 of the rows (shifter depth)")
TERMS["im2col_os_b"] = (lambda d: d["im2col"] * d["os"] * d["b"],
                        "OS im2col: the lane shifter's and mask's operand width")


# ---- the API ------------------------------------------------------------------------------------
def cost_batch(params: dict, coef: "Coefficients", activity: Optional[dict] = None,
               clock_ns=None, memories: str = "flops") -> dict:
    """Costs of many candidates at once.

    Parameters
    ----------
    params : dict of arrays
        :data:`PARAMS` (``dataflow`` 0 output-, 1 weight-, 2 input-stationary; flags
        0/1), one entry
        per candidate (scalars broadcast).
    coef : Coefficients
        :func:`load` (a PDK's or a board's).
    activity : dict of arrays, optional
        :data:`ACTIVITY` counts of the workload on each candidate (:func:`gemm_activity`,
        :func:`timing_activity`); with it, ASIC power and energy are added.
    clock_ns : float or array
        ASIC: the clock the power is given at (default: each candidate's own fmax).
    memories : "flops" or "macro"
        ASIC buffers as flip-flop arrays (calibrated) or modelled SRAM macros.

    Returns a dict of arrays: for a PDK ``area_um2``, ``area_<block>_um2``,
    ``fmax_mhz`` and with activity ``power_mw``, ``leakage_mw``, ``energy_uj``,
    ``pj_per_mac``, ``energy_<part>_uj``; for a board ``luts``, ``ffs``, ``dsps``,
    ``brams``, ``fmax_mhz``, ``fits``, ``logic_multipliers``, ``over_<resource>``.
    """
    d = derive(params)
    if coef.kind == "fpga":
        return _fpga(d, coef)
    if memories not in ("flops", "macro"):
        raise CostModelError(f"memories must be flops or macro, not {memories!r}")
    if activity is not None and clock_ns is None:
        clock_ns = 1000.0 / _asic(d, coef, None, None, memories)["fmax_mhz"]
    return _asic(d, coef, activity, clock_ns, memories)


def out_of_range(params: dict, coef: "Coefficients", clock_ns=None) -> list[str]:
    """One line per parameter of the (first) candidate outside the calibrated range."""
    rng = coef.data.get("ranges", {})
    p = {k: float(np.ravel(np.asarray(v))[0]) for k, v in params.items()}
    p["pes"] = p["rows"] * p["cols"]
    if clock_ns is not None:
        p["clock_ns"] = float(clock_ns)
    out = []
    for k, (lo, hi) in rng.items():
        if k in p and not lo <= p[k] <= hi:
            out.append(f"{k} = {p[k]:g} is outside the calibrated range {lo:g}..{hi:g} of "
                       f"{coef.target}")
    return out


#: The config sections of the GEMM accelerator itself; any other section set is a special
#: unit (``sc:``, ``circulant:``, ...) generated beside it.
ACCELERATOR_SECTIONS = ("name", "array", "precision", "buffers", "host", "features",
                        "mapping", "pipeline")


def units_not_modelled(cfg: AcceleratorConfig) -> list[str]:
    """The special-unit sections a config sets (``sc``, ``circulant``, ...): the cost
    model has no terms or calibration points for them yet."""
    import dataclasses
    return [f.name for f in dataclasses.fields(cfg) if f.name not in ACCELERATOR_SECTIONS
            and getattr(cfg, f.name) is not None]


@dataclass
class Estimate:
    """:func:`estimate`'s answer: the figures (plain numbers) and warnings."""
    figures: dict
    warnings: list = field(default_factory=list)


def estimate(cfg: AcceleratorConfig, coef: "Coefficients", activity: Optional[dict] = None,
             clock_ns: Optional[float] = None, memories: str = "flops",
             strict: bool = False) -> Estimate:
    """The cost of one config (the command line's ``estimate``): ``activity`` a dict of
    :data:`ACTIVITY` numbers. Out-of-range parameters and special units the model has no
    terms for (:func:`units_not_modelled`) give warnings, or with ``strict`` raise
    CostModelError."""
    p = params_of(cfg)
    warn = out_of_range(p, coef, clock_ns if coef.kind == "asic" else None)
    warn += [f"the {u}: unit is not in the cost model (the figures are the GEMM "
             "accelerator's alone)" for u in units_not_modelled(cfg)]
    if cfg.dataflow is Dataflow.IS:
        warn.append("array.dataflow: input_stationary is priced with the weight-stationary "
                    "terms (the same array and engine, the buffers' word widths exchanged); "
                    "no input-stationary design was among the calibration points")
    if strict and warn:
        raise CostModelError(warn[0] + " (--strict)")
    act = None if activity is None else {k: np.asarray(activity[k], dtype=np.float64)
                                         for k in ACTIVITY}
    res = cost_batch(p, coef, act, clock_ns, memories)
    return Estimate(_figures(res, coef, clock_ns), warn)


def _num(v, digits: int = 6):
    """The first candidate's value as a plain number, to ``digits`` significant digits."""
    v = np.ravel(np.asarray(v))[0]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return float(f"{float(v):.{digits}g}")


def _figures(res: dict, coef: "Coefficients", clock_ns) -> dict:
    if coef.kind == "fpga":
        over = [{"resource": k, "needed": int(_num(res["over_" + k]) + coef.model[
                    "capacity"][coef.board][k]),
                 "available": coef.model["capacity"][coef.board][k],
                 "over_by": int(round(_num(res["over_" + k])))}
                for k in ("LUT", "FF", "BRAM", "DSP") if _num(res["over_" + k]) > 0]
        return {"luts": int(_num(res["luts"])), "ffs": int(_num(res["ffs"])),
                "dsps": int(_num(res["dsps"])), "brams": int(_num(res["brams"])),
                "fmax_mhz": round(_num(res["fmax_mhz"]), 2), "fits": bool(_num(res["fits"])),
                "overflow": over,
                "multipliers": "logic" if _num(res["logic_multipliers"]) else "dsp"}
    blocks = {k[len("area_"):-len("_um2")]: round(_num(v, 15), 1) for k, v in res.items()
              if k.startswith("area_") and k != "area_um2"}
    out = {"area_um2": round(_num(res["area_um2"], 15), 1), "area_by_block_um2": blocks,
           "fmax_mhz": round(_num(res["fmax_mhz"]), 2)}
    if "power_mw" in res:
        out.update({
            "clock_ns": clock_ns,
            "power_mw": round(_num(res["power_mw"]), 4),
            "leakage_mw": _num(res["leakage_mw"]),
            "energy_uj": _num(res["energy_uj"], 9),
            "pj_per_mac": _num(res["pj_per_mac"]),
            "energy_split_uj": {k[len("energy_"):-len("_uj")]: _num(v, 9)
                                for k, v in res.items()
                                if k.startswith("energy_") and k != "energy_uj"},
        })
    return out


# ---- fitting ---------------------------------------------------------------------------------
def _nnls(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls
    if X.shape[1] == 0:
        return np.zeros(0)
    return nnls(X, y, maxiter=50 * X.shape[1] + 100)[0]


def _rel_fit(X: np.ndarray, y: np.ndarray, base=None) -> np.ndarray:
    """Non-negative coefficients minimising the squared *relative* error of
    ``base + X @ coef`` against ``y`` (rows weighted by 1/y: a 1x1 array counts as much
    as an 8x8 one)."""
    base = np.zeros_like(y) if base is None else base
    w = 1.0 / np.maximum(np.abs(y), 1e-9)
    scale = np.maximum(np.abs(X).max(axis=0), 1e-12)   # columns of similar size
    return _nnls(X * w[:, None] / scale, (y - base) * w) / scale


def _rel_errors(pred, y) -> np.ndarray:
    return (np.asarray(pred) - y) / np.maximum(np.abs(y), 1e-9)


def _groups_loo(X, y, groups, base=None):
    """Leave-one-group-out relative errors (a group: the rows of one design)."""
    base = np.zeros_like(y) if base is None else base
    err = np.zeros_like(y, dtype=np.float64)
    for g in np.unique(groups):
        out = groups == g
        coef = _rel_fit(X[~out], y[~out], base[~out])
        err[out] = _rel_errors(base[out] + X[out] @ coef, y[out])
    return err


def fit_linear(names: list[str], X: np.ndarray, y: np.ndarray, groups: np.ndarray,
               point_names: list[str], min_terms: int = 1, required=(),
               given: Optional[dict] = None) -> dict:
    """Fit a block model and choose its terms: start from all of ``names``, drop the
    term whose removal lowers the leave-one-design-out RMS relative error most, while
    that helps (backward elimination; terms in ``required`` stay); report the kept
    terms, coefficients and errors, and the designs the fit used. ``given`` holds terms
    whose coefficients are known already (fixed by another block's fit) and stay as
    they are."""
    given = given or {}
    base = sum((X[:, names.index(t)] * c for t, c in given.items()), np.zeros_like(y))
    keep = [i for i, t in enumerate(names) if t not in given]
    fixed = {names.index(t) for t in required if t in names and t not in given}

    def loo(cols):
        if not cols and not given:
            return np.inf
        e = _groups_loo(X[:, cols], y, groups, base)
        return float(np.sqrt(np.mean(e ** 2)))

    best = loo(keep)
    while len(keep) > min_terms:
        trials = [(loo([c for c in keep if c != drop]), drop) for drop in keep
                  if drop not in fixed]
        if not trials:
            break
        score, drop = min(trials)
        if score > best * 1.0001:
            break
        best = score
        keep.remove(drop)
    coef = _rel_fit(X[:, keep], y, base)
    used = [i for i, c in zip(keep, coef) if c > 0]   # NNLS may zero a term: drop it
    coef = _rel_fit(X[:, used], y, base) if used else np.zeros(0)
    pred = base + (X[:, used] @ coef if used else 0.0)
    e = _rel_errors(pred, y)
    out = {"features": [*given, *(names[i] for i in used)],
           "coef": [float(c) for c in given.values()] + [float(c) for c in coef],
           "fit": {"points": sorted(set(point_names)), "rows": int(len(y)),
                   "rms_rel": round(float(np.sqrt(np.mean(e ** 2))), 5),
                   "max_rel": round(float(np.max(np.abs(e))), 5),
                   "loo_rms_rel": round(best, 5),
                   "terms_tried": list(names)}}
    if given:
        out["fit"]["given"] = dict(given)
    return out


def _rows(records: list[dict], role: Optional[str] = "fit") -> list[dict]:
    return [r for r in records if r.get("measured") and (role is None or r["role"] == role)]


def _params_of_record(r: dict) -> dict:
    from ..config import config_from_dict
    return params_of(config_from_dict(r["config"], source=r["name"]))


def _take(d: dict, rows) -> dict:
    """Candidates ``rows`` of derived values ``d``."""
    rows = np.asarray(list(rows), dtype=int)
    return {k: _take(v, rows) if isinstance(v, dict) else np.asarray(v)[rows]
            for k, v in d.items()}


def _block_table(recs: list[dict], d: dict, block: str, terms: list[str], what: str,
                 less_macros: bool = False):
    """(X, y, groups, names) of one ASIC block over the records (``what``: area_um2 or
    sequential_area_um2; ``less_macros``: the buffer blocks without their macros)."""
    X, y, g, names = [], [], [], []
    for i, r in enumerate(recs):
        blocks = r["measured"]["blocks"]
        di = _index(d, i)
        if block == "buffer":
            for b in BUFFERS:
                X.append(features(terms, di["buf"][b])[0])
                blk = blocks[FLOW_BLOCK[b]]
                y.append(blk[what] - (blk.get("macro_area_um2", 0.0)
                                      if less_macros and what == "area_um2" else 0.0))
                g.append(i)
                names.append(r["name"])
        else:
            X.append(features(terms, di)[0])
            y.append(blocks[FLOW_BLOCK[block]][what])
            g.append(i)
            names.append(r["name"])
    return np.array(X), np.array(y, dtype=np.float64), np.array(g), names


def _index(d: dict, i: int) -> dict:
    """Candidate i of derived values ``d``, as a batch of one."""
    out = {}
    for k, v in d.items():
        out[k] = _index(v, i) if isinstance(v, dict) else np.asarray(v)[i:i + 1]
    return out


def fit(kind: str, target: str, records: list[dict], options: Optional[dict] = None,
        extra: Optional[dict] = None) -> dict:
    """Fit the coefficients of ``target`` from measured records (the data file's
    ``points``, each with ``activity`` counts for ASIC points) and check them on the
    held-out ones. Returns the data file's ``model``, ``ranges`` and ``validation``.
    ``extra``: what the calibration adds from the flows (``macro``: the SRAM macro
    model's numbers; ``capacity`` and ``family``: the boards')."""
    fitrecs = _rows(records, "fit")
    if len(fitrecs) < 2:
        raise CostModelError(f"{target}: {len(fitrecs)} measured fit point(s); the fit needs "
                             "at least 2")
    extra = extra or {}
    model = (_fit_asic(fitrecs, extra) if kind == "asic" else
             _fit_fpga(fitrecs, extra))
    ranges = _ranges(fitrecs, options or {})
    coef = Coefficients(target, kind, {"model": model, "ranges": ranges}, Path("<fit>"),
                        board=(options or {}).get("board"))
    return {"model": model, "ranges": ranges,
            "validation": validate(coef, records)}


def _ranges(recs: list[dict], options: dict) -> dict:
    ps = [_params_of_record(r) for r in recs]
    out = {}
    for k in ("rows", "cols", "in_bits", "acc_bits", "mult_bits", "out_bits", "depth_in",
              "depth_w", "depth_acc", "beat"):
        vals = [p[k] for p in ps]
        out[k] = [min(vals), max(vals)]
    pes = [p["rows"] * p["cols"] for p in ps]
    out["pes"] = [min(pes), max(pes)]
    if "clock_ns" in options:
        out["clock_ns"] = [options["clock_ns"], options["clock_ns"]]
    return out


def _is_macro(r: dict) -> bool:
    return r["options"].get("memories") == "macro"


def _fit_asic(recs: list[dict], extra: dict) -> dict:
    d = derive(stack([_params_of_record(r) for r in recs]))
    flops = [i for i, r in enumerate(recs) if not _is_macro(r)]
    macro = [i for i, r in enumerate(recs) if _is_macro(r)]
    model = {"area": {}, "seq_area": {}, "energy": {}, "delay": {}}
    for block, terms in ASIC_BLOCKS.items():
        for key, what in (("area", "area_um2"), ("seq_area", "sequential_area_um2")):
            # the buffers with flip-flop storage only; the other blocks are the same
            # hardware with either memories
            use = flops if block == "buffer" else range(len(recs))
            X, y, g, names = _block_table([recs[i] for i in use], _take(d, use), block,
                                          terms, what)
            given = None
            if block == "host" and key == "area":
                # the requantizers' (acc+2) x (mult+1) products are array multipliers
                # like the PEs': their area per partial-product bit is the PE array's
                # (the calibration set varies the multiplier width too little to
                # separate them from the rest of the host interface)
                arr = model["area"]["array"]
                given = {"rq_mul": dict(zip(arr["features"], arr["coef"])).get("pe_mult",
                                                                                0.0)}
            model[key][block] = fit_linear(terms, X, y, g, names,
                                           required=REQUIRED.get(block, ()), given=given)
    if len(macro) >= 2:   # the logic around the macros: the buffer block less the macros
        terms = MACRO_LOGIC_TERMS
        for key, what in (("area", "area_um2"), ("seq_area", "sequential_area_um2")):
            X, y, g, names = _block_table([recs[i] for i in macro], _take(d, macro),
                                          "buffer", terms, what, less_macros=True)
            model[key]["buffer_macro_logic"] = fit_linear(terms, X, y, g, names)
    # leakage: proportional to the cell area
    area = np.array([r["measured"]["area_um2"] for r in recs])
    leak = np.array([r["measured"]["power"]["leakage_mw"] for r in recs])
    model["leakage_mw_per_um2"] = float(leak.sum() / area.sum())
    # energy per cycle of each block at its workload's activity, from the measured areas
    for block, terms in ENERGY_TERMS.items():
        X, y, g, names = [], [], [], []
        for i, r in enumerate(recs):
            if block == "buffer" and _is_macro(r):
                continue
            m = r["measured"]
            T = r["options"]["clock_ns"]
            act = {k: np.asarray([float(r["activity"][k])]) for k in ACTIVITY}
            di = _index(d, i)
            for b in (BUFFERS if block == "buffer" else (block,)):
                fb = FLOW_BLOCK[b]
                blk = m["blocks"][fb]
                ar = {"area": np.asarray([blk["area_um2"]]),
                      "seq": np.asarray([blk["sequential_area_um2"]])}
                cols = _energy_feats(block, di, ar, act, b if block == "buffer" else None)
                X.append([float(cols[t][0]) for t in terms])
                pw = m["power"]["blocks"][fb]
                y.append((pw["total_mw"] - pw["leakage_mw"]) * T)   # mW x ns = pJ/cycle
                g.append(i)
                names.append(r["name"])
        model["energy"][block] = fit_linear(terms, np.array(X), np.array(y), np.array(g),
                                            names)
    model["delay"] = _fit_delay(recs, d)
    model["memories_fitted"] = ["flops"] + (["macro"] if len(macro) >= 2 else [])
    if "macro" in extra:
        model["macro"] = extra["macro"]
    return model


#: Critical-path families: where the measured path starts -> the terms its delay uses.
DELAY_PATHS = {
    "host": ["const", "pbits", "log_pbits", "acc_bits"],
    "engine": ["const", "im2col_ws", "im2col_os", "im2col_addr", "addr_in", "log_rows",
               "im2col_os_b"],
    "array": ["const", "in_bits", "acc_bits", "log_b"],
    "macro": ["const", "in_bits", "acc_bits"],
}


def _path_of(start: str, macro: bool = False) -> str:
    s = start.split(".")[0]
    if macro and s.endswith("_buf"):
        return "macro"   # out of an SRAM macro
    if s in ("host", "engine", "array"):
        return s
    return "engine" if s.endswith("_buf") or s == "top" else "host"


def _fit_delay(recs: list[dict], d: dict) -> dict:
    """Each path family's period (ns) fitted on the designs whose measured critical
    path starts there; the model's period is the largest of them."""
    out = {}
    periods = np.array([1000.0 / r["measured"]["fmax_mhz"] for r in recs])
    fam = np.array([_path_of(r["measured"]["critical_start"], _is_macro(r)) for r in recs])
    for path, terms in DELAY_PATHS.items():
        rows = np.nonzero(fam == path)[0]
        if len(rows) == 0:
            continue
        X = np.stack([features(terms, _index(d, i))[0] for i in rows])
        y = periods[rows]
        names = [recs[i]["name"] for i in rows]
        if len(rows) < 3:
            out[path] = {"features": ["const"], "coef": [float(y.max())],
                         "fit": {"points": names, "rows": len(rows),
                                 "note": "too few designs for a slope: their longest period"}}
            continue
        out[path] = fit_linear(terms, X, y, np.arange(len(rows)), names)
    return out


def _fit_fpga(recs: list[dict], extra: dict) -> dict:
    fam = extra["family"]
    model = {"family": fam, "capacity": extra["capacity"],
             "memory_rules": dict(extra["memory_rules"]), "dsp_rule": dict(extra["dsp_rule"])}
    ok = [r for r in recs if r["measured"].get("fits")]
    d = derive(stack([_params_of_record(r) for r in ok]))
    model["memory_rules"] = _choose_memory_rules(d, fam, extra["memory_rules"], ok)
    _, logic_bits = fpga_memories(d, fam, model["memory_rules"])
    d["lutram_bits"] = logic_bits
    logic = np.array([r["measured"]["multipliers"] == "logic" for r in ok])
    _, small = _multipliers(d, model["dsp_rule"])
    d["mult_logic_bits"] = np.where(logic, _all_products(d), small)
    names = [r["name"] for r in ok]
    g = np.arange(len(ok))
    for key, col in (("luts", "luts"), ("ffs", "ffs")):
        terms = [t for t in FPGA_TERMS[key]]
        X = features(terms, d)
        y = np.array([float(r["measured"][col]) for r in ok])
        model[key] = fit_linear(terms, X, y, g, names)
    luts = np.array([float(r["measured"]["luts"]) for r in ok])
    d["log_luts"] = np.log2(luts)
    # the clock period (delays add up along a path: the accumulator's carry chain, the
    # routing of a fuller device), fmax its inverse
    fterms = ["const", "log_luts", "acc_bits", "in_bits"]
    y = np.array([1000.0 / float(r["measured"]["fmax_mhz"]) for r in ok])
    model["period_ns"] = fit_linear(fterms, features(fterms, d), y, g, names)
    return model


#: Thresholds tried for where Yosys puts a small memory (:func:`fpga_memories`).
_LUTRAM_DEPTHS = (0, 16, 32, 64, 128)
_MIN_BITS = (1, 256, 512, 1024, 2048, 4096)


def _choose_memory_rules(d: dict, fam: str, given: dict, recs: list[dict]) -> dict:
    """The block-RAM thresholds that reproduce the most measured block-RAM counts,
    preferring the given ones, then the smallest (a rule, not a fit: the counts are
    integers and must come out exact)."""
    measured = np.array([r["measured"]["brams"] for r in recs], dtype=np.float64)
    tried = [dict(given)] + [{**given, "lutram_depth": ld, "min_bits": mb}
                             for ld in _LUTRAM_DEPTHS for mb in _MIN_BITS]
    best, score = None, -1
    for rules in tried:
        brams, _ = fpga_memories(d, fam, rules)
        hits = int(np.sum(brams == measured))
        if hits > score:
            best, score = rules, hits
    return {**best, "fit": {"points": sorted(r["name"] for r in recs),
                            "exact": score, "of": len(recs),
                            "note": "thresholds chosen to reproduce the measured counts"}}


# ---- validation ----------------------------------------------------------------------------------
def predict_record(coef: "Coefficients", r: dict) -> dict:
    """The model's figures for a measured record (its config, workload, board)."""
    p = _params_of_record(r)
    if coef.kind == "fpga":
        c = Coefficients(coef.target, coef.kind, coef.data, coef.path, board=r["board"])
        return {k: float(np.ravel(v)[0]) for k, v in cost_batch(p, c).items()}
    act = {k: np.asarray([float(r["activity"][k])]) for k in ACTIVITY}
    res = cost_batch(p, coef, act, r["options"]["clock_ns"],
                     memories=r["options"].get("memories", "flops"))
    return {k: float(np.ravel(v)[0]) for k, v in res.items()}


def compare(coef: "Coefficients", r: dict) -> dict:
    """Predicted and measured quantities of one record (the accuracy table's rows)."""
    m = r["measured"]
    pr = predict_record(coef, r)
    if coef.kind == "asic":
        # the energy split as power, against the blocks the flow measured it in
        us = float(r["activity"]["cycles"]) * r["options"]["clock_ns"] * 1e-3
        blk = m["power"]["blocks"]

        def mw(*parts):
            return sum(pr[f"energy_{q}_uj"] for q in parts) / us * 1e3

        return {"area_um2": (pr["area_um2"], m["area_um2"]),
                "area_pe_array_um2": (pr["area_pe_array_um2"], m["blocks"]["array"]["area_um2"]),
                "fmax_mhz": (pr["fmax_mhz"], m["fmax_mhz"]),
                "power_mw": (pr["power_mw"], m["power"]["total_mw"]),
                "power_pe_array_mw": (mw("macs"), blk["array"]["total_mw"]),
                "power_buffers_mw": (mw("buffer_reads", "buffer_writes", "buffer_idle"),
                                     sum(blk[FLOW_BLOCK[b]]["total_mw"] for b in BUFFERS)),
                "power_host_mw": (mw("host_transfers"), blk["host"]["total_mw"])}
    out = {"fits": (bool(pr["fits"]), bool(m["fits"]))}
    if m["fits"]:
        out.update({"luts": (pr["luts"], m["luts"]), "ffs": (pr["ffs"], m["ffs"]),
                    "dsps": (pr["dsps"], m["dsps"]), "brams": (pr["brams"], m["brams"]),
                    "fmax_mhz": (pr["fmax_mhz"], m["fmax_mhz"])})
    return out


def validate(coef: "Coefficients", records: list[dict]) -> dict:
    """Errors of the model on the measured records, by role (fit, holdout) and
    quantity: mean and worst absolute relative error (exact-match counts for DSPs,
    BRAMs and fits), and each point's figures."""
    out = {}
    for role in ("fit", "holdout"):
        rows = _rows(records, role)
        per, table = {}, []
        for r in rows:
            c = compare(coef, r)
            row = {"name": r["name"], **{k: [round(v[0], 4) if isinstance(v[0], float)
                                             else v[0], v[1]] for k, v in c.items()}}
            if r["options"].get("memories", "flops") != "flops":
                row["memories"] = r["options"]["memories"]
            table.append(row)
            for q, (pv, mv) in c.items():
                per.setdefault(q, []).append((pv, mv))
        summary = {}
        for q, pairs in per.items():
            if q in ("fits", "dsps", "brams"):
                summary[q] = {"exact": sum(1 for a, b in pairs if a == b), "of": len(pairs)}
            else:
                e = [abs(a - b) / abs(b) for a, b in pairs if b]
                summary[q] = {"mean_abs_rel": round(float(np.mean(e)), 4),
                              "worst_abs_rel": round(float(np.max(e)), 4), "n": len(e)}
        out[role] = {"summary": summary, "points": table}
    return out


# ---- the search's entry points (hwgen.search.cost) ---------------------------------------------
def has_coefficients(kind: str, name: str) -> bool:
    """Whether the search target ``kind`` (``pdk`` or ``board``) ``name`` has coefficients
    (the shipped data file)."""
    try:
        _coef_for(kind, name)
    except CostModelError:
        return False
    return True


@functools.lru_cache(maxsize=16)
def _coef_for(kind: str, name: str) -> "Coefficients":
    """The shipped coefficients of a search target, read once per process."""
    return load(pdk=name) if kind == "pdk" else load(board=name)


def search_cost(cfg: AcceleratorConfig, fig: dict, kind: str, name: str,
                clock_ns: Optional[float], memories: str = "flops") -> dict:
    """One design's cost for a search record (:mod:`hwgen.search.evaluate`).

    ``fig`` is the workload's exact figures (:func:`hwgen.search.workload.exact`):
    ``cycles``, ``compute_cycles``, ``macs``, ``host_beats`` and ``activity``
    (:data:`ACTIVITY` counts; without it they are approximated from the others). On a
    PDK the power and energy are at the clock the design runs at: the target's period,
    or the model's fmax when that is slower (as the search times it). On a board:
    ``fits``, ``overflow`` (how far over, as a sum of each overflowing resource's excess
    over its capacity) and ``overflow_what`` (which, by how much). ``cost_extrapolates``
    names the parameters outside the calibrated ranges (and special units the model has
    no terms for)."""
    coef = _coef_for(kind, name)
    p = params_of(cfg)
    # where the figures extrapolate: the parameters outside the calibrated ranges
    outside = [line.split(" = ")[0] for line in out_of_range(p, coef)]
    outside += [f"{u}:" for u in units_not_modelled(cfg)]
    if kind != "pdk":
        res = cost_batch(p, coef)
        out = _figures(res, coef, None)
        out["cost_extrapolates"] = outside
        over = out.pop("overflow")
        out["overflow_by_resource"] = over
        out["overflow"] = float(sum(o["over_by"] / max(o["available"], 1) for o in over))
        out["overflow_what"] = ", ".join(f"{o['resource']} {o['needed']} of {o['available']}"
                                         for o in over)
        return out
    act = fig.get("activity") or _rough_activity(cfg.R, cfg.C, cfg.host.beat_elems, fig)
    act = {k: np.asarray(act[k], dtype=np.float64) for k in ACTIVITY}
    fmax = float(cost_batch(p, coef, None, None, memories)["fmax_mhz"][0])
    period = max(clock_ns or 10.0, 1000.0 / fmax)
    out = _figures(cost_batch(p, coef, act, period, memories), coef, period)
    out["cost_extrapolates"] = outside
    return out


def _rough_activity(R, C, beat, fig: dict) -> dict:
    """Counts from cycles, MACs and host beats only: engine reads as if every tile were
    full, the beats split evenly between the three streams."""
    macs = np.asarray(fig["macs"], dtype=np.float64)
    cycles = np.asarray(fig["cycles"], dtype=np.float64)
    beats = np.asarray(fig.get("host_beats", 0), dtype=np.float64)
    tiles = macs / (np.asarray(R) * np.asarray(C))
    in_b = np.asarray(fig.get("in_beats", beats / 3), dtype=np.float64)
    w_b = np.asarray(fig.get("w_beats", beats / 3), dtype=np.float64)
    out_b = np.asarray(fig.get("out_beats", beats / 3), dtype=np.float64)
    comp = np.asarray(fig.get("compute_cycles", np.minimum(cycles, tiles)), dtype=np.float64)
    bpw_in, bpw_w = np.ceil(np.asarray(R) / beat), np.ceil(np.asarray(C) / beat)
    return {"cycles": cycles, "compute_cycles": comp, "macs": macs, "in_beats": in_b,
            "w_beats": w_b, "out_beats": out_b, "in_writes": in_b / bpw_in,
            "w_writes": w_b / bpw_w, "acc_writes": tiles, "in_reads": tiles,
            "w_reads": tiles, "acc_reads": tiles + out_b / bpw_w}


def search_cost_batch(col: dict, cycles, macs, kind: str, name: str,
                      clock_ns: Optional[float], memories="flops",
                      activity: Optional[dict] = None) -> dict:
    """A population's cost for the search's screen (:meth:`hwgen.search.evaluate.
    Evaluator.screen`): ``col`` holds the screen's columns (``R``, ``C``, ``os``, ``beat``,
    ``din``, ``dw``, ``dacc``, ``in_bits``; optionally ``acc_bits``, ``mult_bits``,
    ``out_bits``, ``banks_in``, ``banks_w``, ``banks_acc``, ``im2col``, ``preload``,
    ``lane_quant``, else the config defaults: accumulators for max_k 1024, a 16-bit
    requantizer, two banks, every feature), the workload only its ``cycles`` (per
    candidate) and ``macs``. Returns arrays: on a PDK ``area_um2``, ``fmax_mhz``,
    ``power_mw`` and ``energy_uj`` at the clock each candidate runs at (the target's or
    its fmax, whichever is slower); on a board the FPGA figures (:func:`cost_batch`),
    ``overflow`` (as in :func:`search_cost`) and ``power_mw`` 0. ``memories``: how the
    buffers are priced, ``flops`` or ``macro``, one for all or an array of one per
    candidate (as :func:`search_cost` prices each). ``activity``: the :data:`ACTIVITY`
    counts of each candidate when the caller has them, else they are approximated from
    the cycles and MACs."""
    coef = _coef_for(kind, name)
    b = np.asarray(col["in_bits"], dtype=np.float64)
    acc = np.floor(np.log2(1024.0) + 2 * b - 2) + 2
    is_ = col.get("is", np.zeros_like(np.asarray(col["os"])))
    p = {"rows": col["R"], "cols": col["C"],
         "dataflow": np.where(col["os"], 0, np.where(is_, 2, 1)),
         "in_bits": b, "acc_bits": col.get("acc_bits", acc),
         "mult_bits": col.get("mult_bits", 16), "out_bits": col.get("out_bits", 8),
         "depth_in": col["din"], "depth_w": col["dw"], "depth_acc": col["dacc"],
         "banks_in": col.get("banks_in", 2), "banks_w": col.get("banks_w", 2),
         "banks_acc": col.get("banks_acc", 2), "beat": col["beat"],
         "im2col": col.get("im2col", 1), "preload": col.get("preload", 1),
         "lane_quant": col.get("lane_quant", 1)}
    if kind != "pdk":
        out = cost_batch(p, coef)
        out["power_mw"] = np.zeros_like(out["luts"])
        cap = coef.model["capacity"][coef.board]
        out["overflow"] = sum(np.maximum(out[f"over_{r}"], 0) / max(cap[r], 1)
                              for r in ("LUT", "FF", "BRAM", "DSP"))
        return out
    R, C = np.asarray(col["R"]), np.asarray(col["C"])
    if activity is None:
        act = _rough_activity(R, C, np.asarray(col["beat"]), {"cycles": cycles, "macs": macs})
    else:
        act = {k: np.asarray(activity[k], dtype=np.float64) for k in ACTIVITY}
    n = len(np.atleast_1d(R))
    mem = np.broadcast_to(np.asarray(memories, dtype=object), (n,))
    kinds = list(dict.fromkeys(mem.tolist()))
    if len(kinds) == 1:
        fmax = cost_batch(p, coef, None, None, kinds[0])["fmax_mhz"]
        period = np.maximum(clock_ns or 10.0, 1000.0 / fmax)
        return cost_batch(p, coef, act, period, kinds[0])
    full = {k: np.broadcast_to(np.asarray(v), (n,)) for k, v in p.items()}
    act = {k: np.broadcast_to(v, (n,)) for k, v in act.items()}
    out: dict = {}
    for kind_ in kinds:
        rows = np.flatnonzero(mem == kind_)
        part = _take(full, rows)
        fmax = cost_batch(part, coef, None, None, kind_)["fmax_mhz"]
        period = np.maximum(clock_ns or 10.0, 1000.0 / fmax)
        res = cost_batch(part, coef, _take(act, rows), period, kind_)
        for k, v in res.items():
            v = np.asarray(v)
            if v.ndim == 0:
                v = np.broadcast_to(v, (len(rows),))
            if k not in out:
                out[k] = np.zeros(n, dtype=np.result_type(v.dtype, np.float64))
            out[k][rows] = v
    return out
