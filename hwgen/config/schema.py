"""The typed configuration tree.

Frozen dataclasses that check themselves on construction (``__post_init__``, with the
one :class:`~hwgen.config.check.Checker`), so no invalid config exists anywhere:
``cfg.replace(array=ArrayConfig(rows=0))`` raises :class:`ConfigError` with the same
line the YAML loader prints. Every choice is an enum (:class:`Dataflow`). Derived facts
(accumulator width, address widths, buffer words a GEMM chunk needs) are properties
computed here, in one place, and exported to Verilog, ``params.json`` and the C header
from the same object.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Optional

from ..lib.arith import bits_for, ceil_div
from ..lib.framing import LinkShape
from ..lib.protocol import ADDR_BITS as ADDR_BITS_MAX
from ..lib.protocol import DIM_BITS
from ..lib.scaleout import interconnect_latency
from ..lib.schedule import DEFAULT_REQUANT_STAGES, default_pe_stages
from .bayesian import BayesianConfig
from .check import Checker, Choice, ConfigError, brief, kind
from .circulant import CirculantConfig
from .grng import GrngConfig
from .gru import GruConfig
from .lstm import LstmConfig
from .pattern_conv import PatternConvConfig
from .sc import ScConfig
from .scaleout import PodsConfig

__all__ = ["Dataflow", "WS", "OS", "IS", "DATAFLOWS", "ArrayConfig", "PrecisionConfig",
           "BufferConfig", "BuffersConfig", "HostConfig", "MappingConfig", "FeaturesConfig",
           "PipelineConfig", "AcceleratorConfig", "acc_bits_needed", "requant_product_bits",
           "ceil_div", "bits_for", "DIM_BITS", "ADDR_BITS_MAX", "ROWS_MAX", "NAME_CHARS",
           "SubAcceleratorConfig", "SUBACCELERATORS_MAX"]


class Dataflow(Choice):
    """Which operand stays in the PEs while the others stream past: the weights
    (``ws``), the outputs (``os``) or the input activations (``is``, the weights'
    schedule with the roles of A and B exchanged: C^T = B^T . A^T with A^T held in the
    PEs)."""
    WS = "weight_stationary"
    OS = "output_stationary"
    IS = "input_stationary"

    @classmethod
    def aliases(cls) -> dict:
        return {"ws": cls.WS.value, "os": cls.OS.value, "is": cls.IS.value}

    @property
    def short(self) -> str:
        """``ws``, ``os`` or ``is``."""
        return {"weight_stationary": "ws", "output_stationary": "os",
                "input_stationary": "is"}[self.value]


WS, OS, IS = Dataflow.WS, Dataflow.OS, Dataflow.IS
DATAFLOWS = tuple(Dataflow)

#: Largest array edge.
ROWS_MAX = 64
#: Longest design name (it becomes part of file and directory names).
NAME_CHARS = 64
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def acc_bits_needed(in_bits: int, max_k: int) -> int:
    """Smallest signed width that holds any sum of ``max_k`` products of two signed
    ``in_bits`` operands. The largest magnitude is K * 2^(2b-2) (both operands at
    -2^(b-1)), which is positive, so it sets the width."""
    peak = max_k * (1 << (2 * in_bits - 2))
    return peak.bit_length() + 1


def requant_product_bits(acc_bits: int, mult_bits: int) -> int:
    """Width of (acc + bias) * mult in the read path: acc + bias needs one bit more than
    the accumulator; the unsigned multiplier adds mult_bits + 1 as a signed operand."""
    return acc_bits + 1 + mult_bits + 1


def _typed(ck: Checker, key: str, cls: type, optional: bool = False) -> bool:
    v = getattr(ck.obj, key)
    if (optional and v is None) or isinstance(v, cls):
        return True
    ck.fail(key, f"must be a {cls.__name__}, got {kind(v)} {brief(v)}")
    return False


@dataclass(frozen=True)
class ArrayConfig:
    """PE array shape and dataflow (``array:``)."""
    rows: int = 4
    cols: int = 4
    dataflow: Dataflow = Dataflow.OS

    def __post_init__(self):
        ck = Checker(self, "array")
        ck.int_("rows", 1, ROWS_MAX)
        ck.int_("cols", 1, ROWS_MAX)
        ck.choice("dataflow", Dataflow)
        ck.done()

    @property
    def pes(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class PrecisionConfig:
    """Operand, accumulator and output widths (``precision:``)."""
    in_bits: int = 8
    out_bits: int = 8
    max_k: int = 1024
    acc_bits: Optional[int] = None  # None: derived from in_bits and max_k
    mult_bits: int = 16  # requantization multiplier (unsigned)

    def __post_init__(self):
        ck = Checker(self, "precision")
        ck.int_("in_bits", 2, 16)
        ck.int_("out_bits", 2, 32)
        ck.int_("max_k", 1, (1 << DIM_BITS) - 1)
        ck.int_("acc_bits", 4, 64, optional=True)
        ck.int_("mult_bits", 1, 32)
        if ck.ok("in_bits", "max_k", "acc_bits"):
            need = acc_bits_needed(self.in_bits, self.max_k)
            if self.acc_bits is not None and self.acc_bits < need:
                ck.fail("acc_bits", f"{self.acc_bits} bits overflow for max_k={self.max_k} "
                        f"with {self.in_bits}-bit operands; needs at least {need} (or leave "
                        "it out to derive it)")
            if need > 64 and self.acc_bits is None:
                ck.fail("max_k", f"needs a {need}-bit accumulator, more than 64; lower "
                        "max_k or in_bits")
        if ck.ok("in_bits", "max_k", "acc_bits", "out_bits") and self.out_bits > self.acc_width:
            ck.fail("out_bits", f"must not exceed the accumulator width {self.acc_width}, "
                    f"got {self.out_bits}")
        ck.done()

    @property
    def acc_width(self) -> int:
        return self.acc_bits if self.acc_bits is not None else acc_bits_needed(self.in_bits, self.max_k)


@dataclass(frozen=True)
class BufferConfig:
    """One scratchpad (``buffers.input`` / ``weight`` / ``acc``)."""
    depth: int = 256  # words per bank
    banks: int = 2    # 2 = double-buffered

    def __post_init__(self):
        ck = Checker(self, "buffer")
        ck.int_("depth", 1, 1 << ADDR_BITS_MAX)
        ck.int_("banks", 1, 2)
        ck.done()

    @property
    def addr_bits(self) -> int:
        return bits_for(self.depth - 1)


@dataclass(frozen=True)
class BuffersConfig:
    """The three scratchpads (``buffers:``)."""
    input: BufferConfig = BufferConfig()
    weight: BufferConfig = BufferConfig()
    acc: BufferConfig = BufferConfig()

    def __post_init__(self):
        ck = Checker(self, "buffers")
        for key in ("input", "weight", "acc"):
            _typed(ck, key, BufferConfig)
        ck.done()


@dataclass(frozen=True)
class HostConfig:
    """The host interface (``host:``)."""
    beat_elems: int = 4  # elements per beat on the data streams

    def __post_init__(self):
        ck = Checker(self, "host")
        ck.int_("beat_elems", 1, 64)
        ck.done()


@dataclass(frozen=True)
class FeaturesConfig:
    """Hardware for running networks (``features:``), each optional because it costs
    area on a small device:

    * ``im2col``: the engine's convolution address generator (convolutions read their
      input once per layer; on an output-stationary design the input buffer is split
      into even and odd halves and the operand goes through a lane shifter;
      docs/host_protocol.md);
    * ``preload``: LOAD_ACC, accumulators preloaded with a residual times a per-lane
      factor (residual adds in the accumulator);
    * ``lane_quant``: a multiplier and shift per column (per-channel requantization);
      without it SET_QUANT sets every lane.
    * ``maxpool``: the pooling unit beside the compute engine (POOL: max pooling from
      the input buffer into the accumulators); its window registers are the address
      generator's, so it needs ``im2col``.
    """
    im2col: bool = True
    preload: bool = True
    lane_quant: bool = True
    maxpool: bool = False

    def __post_init__(self):
        ck = Checker(self, "features")
        for key in ("im2col", "preload", "lane_quant", "maxpool"):
            ck.flag(key)
        if self.maxpool is True and self.im2col is False:
            ck.fail("maxpool", "needs features.im2col (the pooling unit reads its window "
                    "registers from CONV_SET); set features.im2col: true or "
                    "features.maxpool: false")
        ck.done()


#: ``pipeline.requant`` range: register stages of a requantizer lane.
REQUANT_STAGES = (3, 6)
#: ``pipeline.pe`` range: registers after a PE's multiplier.
PE_STAGES = (0, 2)


@dataclass(frozen=True)
class PipelineConfig:
    """Register stages that cost area and buy clock (``pipeline:``); the rest of the
    design's pipeline registers are always there (docs/gemm_accelerator.md, "Pipeline").

    * ``requant``: registers in each lane of the read path's requantizer, 3 to 6
      (:class:`hwgen.ctrl.host_if.Requantizer`): 3 puts the shift, rounding and
      saturation in one stage and the clamp after the last register; 4 registers the
      clamp; 5 registers the rounding decision before the saturation; 6 (the default)
      splits the product into two registered partial products (of the low and the high
      half of ``acc + bias``). Each stage adds a cycle to every READ.
    * ``pe``: registers after each PE's multiplier, 0 to 2 (:class:`hwgen.pe.WsPE`,
      :class:`hwgen.pe.OsPE`): 1 takes the multiplier and the accumulating adder apart;
      2 also splits the multiplier into two registered partial products (of the low and
      the high half of one operand) summed in the next stage. Each adds a cycle to every
      COMPUTE.

    Left out (None), each takes the design's default (:attr:`AcceleratorConfig.requant_stages`,
    :attr:`AcceleratorConfig.pe_stages`).
    """
    requant: Optional[int] = None
    pe: Optional[int] = None

    def __post_init__(self):
        ck = Checker(self, "pipeline")
        ck.int_("requant", *REQUANT_STAGES, optional=True)
        ck.int_("pe", *PE_STAGES, optional=True)
        ck.done()


LOOPS = ("m", "n", "k")
#: Most sub-accelerators on one chip.
SUBACCELERATORS_MAX = 8


@dataclass(frozen=True)
class SubAcceleratorConfig:
    """One engine of a heterogeneous design (an item of ``subaccelerators:``): its own
    array (shape and dataflow) and buffers (None: the design's); precision, host
    interface and features are the design's."""
    name: str = "engine"
    array: ArrayConfig = ArrayConfig()
    buffers: Optional[BuffersConfig] = None

    def __post_init__(self):
        ck = Checker(self, "")
        if (not isinstance(self.name, str) or len(self.name) > NAME_CHARS
                or not _NAME.fullmatch(self.name)):
            ck.fail("name", f"must be a word of at most {NAME_CHARS} letters, digits, '_' "
                    f"or '-' (ASCII), got {brief(self.name)}")
        _typed(ck, "array", ArrayConfig)
        _typed(ck, "buffers", BuffersConfig, optional=True)
        ck.done()


@dataclass(frozen=True)
class MappingConfig:
    """A GEMM mapping as a co-search emits it: chunk sizes held on chip and the loop
    order over chunks (outermost first; k must be innermost so partial sums stay in
    the accumulator buffer)."""
    tile_m: int
    tile_k: int
    tile_n: int
    order: tuple = ("m", "n", "k")

    def __post_init__(self):
        ck = Checker(self, "mapping")
        lim = (1 << DIM_BITS) - 1
        for key in ("tile_m", "tile_k", "tile_n"):
            ck.int_(key, 1, lim, label=f"tile.{key[-1]}")
        order = self.order
        if isinstance(order, list):
            order = tuple(order)
            object.__setattr__(self, "order", order)
        if (not isinstance(order, tuple) or len(order) != 3
                or not all(isinstance(x, str) for x in order) or set(order) != set(LOOPS)):
            ck.fail("order", f"must be a permutation of [m, n, k], got {brief(self.order)}")
        elif order[-1] != "k":
            ck.fail("order", "k must be innermost (partial sums stay in the accumulator "
                    f"buffer), got {list(order)!r}")
        ck.done()

    @property
    def tile(self) -> tuple[int, int, int]:
        return self.tile_m, self.tile_k, self.tile_n


@functools.lru_cache(maxsize=65536)
def _chunk_words(R: int, C: int, df: str, m: int, k: int, n: int) -> tuple:
    """(buffer, words) of :meth:`AcceleratorConfig.chunk_words` (cached: a mapping
    search asks for the same chunks many times). Input-stationary: the weight-stationary
    layout with A and B exchanged (A^T's tiles are the stationary words, B's columns
    stream, C^T's rows accumulate)."""
    if df == "input_stationary":
        return (("input", ceil_div(k, R) * R * ceil_div(m, C)), ("weight", ceil_div(k, R) * n),
                ("acc", ceil_div(m, C) * n))
    if df == "weight_stationary":
        return (("input", ceil_div(k, R) * m), ("weight", ceil_div(k, R) * R * ceil_div(n, C)),
                ("acc", ceil_div(n, C) * m))
    return (("input", ceil_div(m, R) * k), ("weight", ceil_div(n, C) * k),
            ("acc", ceil_div(m, R) * R * ceil_div(n, C)))


@dataclass(frozen=True)
class AcceleratorConfig:
    """The whole design: a GEMM accelerator and optional special-unit sections."""
    name: str = "hwgen"
    array: ArrayConfig = ArrayConfig()
    precision: PrecisionConfig = PrecisionConfig()
    buffers: BuffersConfig = BuffersConfig()
    host: HostConfig = HostConfig()
    mapping: Optional[MappingConfig] = None
    features: FeaturesConfig = FeaturesConfig()
    pipeline: PipelineConfig = PipelineConfig()
    sc: Optional[ScConfig] = None  # stochastic-computing layer (hwgen/units/stochastic.py)
    circulant: Optional[CirculantConfig] = None  # block-circulant FFT layer
    grng: Optional[GrngConfig] = None  # Gaussian random number generator (hwgen/units/grng.py)
    bayesian: Optional[BayesianConfig] = None  # Bayesian linear layer (hwgen/units/bayesian.py)
    # pattern-pruned sparse convolution (hwgen/units/pattern_conv.py)
    pattern_conv: Optional[PatternConvConfig] = None
    lstm: Optional[LstmConfig] = None  # block-circulant LSTM cell (hwgen/units/circulant_lstm.py)
    gru: Optional[GruConfig] = None  # block-circulant GRU cell (hwgen/units/circulant_gru.py)
    # P pods of `array` with an interconnect (hwgen/compiler/scaleout.py)
    pods: Optional[PodsConfig] = None
    # engines of their own shape and dataflow (a tuple of SubAcceleratorConfig)
    subaccelerators: Optional[tuple] = None

    def __post_init__(self):
        ck = Checker(self, "")
        name = self.name
        if not isinstance(name, str) or len(name) > NAME_CHARS or not _NAME.fullmatch(name):
            ck.fail("name", f"must be a word of at most {NAME_CHARS} letters, digits, '_' "
                    f"or '-' (ASCII), got {brief(name)}")
        sections = [("array", ArrayConfig, False), ("precision", PrecisionConfig, False),
                    ("buffers", BuffersConfig, False), ("host", HostConfig, False),
                    ("features", FeaturesConfig, False),
                    ("pipeline", PipelineConfig, False),
                    ("mapping", MappingConfig, True), ("sc", ScConfig, True),
                    ("circulant", CirculantConfig, True), ("grng", GrngConfig, True),
                    ("bayesian", BayesianConfig, True),
                    ("pattern_conv", PatternConvConfig, True), ("lstm", LstmConfig, True),
                    ("gru", GruConfig, True),
                    ("pods", PodsConfig, True)]
        typed = all([_typed(ck, key, cls, opt) for key, cls, opt in sections])
        typed = self._check_subaccelerators(ck) and typed
        if typed:
            self._check_input_stationary(ck)
            # The smallest chunk (one array tile, K = 1) must fit every buffer.
            small = self.chunk_fits(1, 1, 1)
            if small is not None:
                ck.fail("buffers", f"too small for even one array tile: {small}")
            mp = self.mapping
            if mp is not None and small is None:
                why = self.chunk_fits(*mp.tile)
                if why is not None:
                    ck.fail("mapping.tile", f"does not fit the buffers: {why}; shrink the "
                            "tile or deepen the buffers")
                elif mp.tile_k > self.precision.max_k:
                    ck.fail("mapping.tile.k", f"exceeds precision.max_k={self.precision.max_k}")
        ck.done()

    def _check_input_stationary(self, ck: Checker) -> None:
        """What an input-stationary design does not have (yet): the on-chip im2col
        (its address generator walks the streamed operand, which is the weights here),
        pods and sub-accelerators (their compilers schedule ws and os arrays)."""
        if self.array.dataflow is not Dataflow.IS:
            if any(s.array.dataflow is Dataflow.IS for s in self.subaccelerators or ()):
                ck.fail("subaccelerators", "an engine cannot be input_stationary (only a "
                        "single-array design can); use ws or os for the engines")
            return
        if self.features.im2col:
            ck.fail("features.im2col", "an input_stationary array has no on-chip im2col "
                    "(convolutions are lowered with im2col on the host); set "
                    "features.im2col: false")
        if self.pods is not None:
            ck.fail("pods", "an input_stationary array cannot be a pod yet; use ws or os "
                    "for a multi-pod design")

    def _check_subaccelerators(self, ck: Checker) -> bool:
        subs = self.subaccelerators
        if subs is None:
            return True
        if isinstance(subs, list):
            subs = tuple(subs)
            object.__setattr__(self, "subaccelerators", subs)
        if (not isinstance(subs, tuple) or not 1 <= len(subs) <= SUBACCELERATORS_MAX
                or not all(isinstance(s, SubAcceleratorConfig) for s in subs)):
            ck.fail("subaccelerators", f"must be a list of 1 to {SUBACCELERATORS_MAX} "
                    f"engines (name, array, buffers), got {brief(subs)}")
            return False
        names = [s.name for s in subs]
        for i, nm in enumerate(names):
            if nm in names[:i]:
                ck.fail(f"subaccelerators[{i}].name", f"{nm!r} names two engines")
        if self.pods is not None:
            ck.fail("pods", "a design has pods or subaccelerators, not both")
        for i, sub in enumerate(subs):
            try:
                self.engine(sub)
            except ConfigError as e:
                ck.problems += [f"subaccelerators[{i}].{line}" for line in e.problems]
                ck.bad.add("subaccelerators")
        return ck.ok("subaccelerators")

    def engine(self, sub: "SubAcceleratorConfig") -> "AcceleratorConfig":
        """The single-array design of one sub-accelerator (the design's precision,
        host interface and features with the engine's array and buffers)."""
        return dataclasses.replace(self, name=f"{self.name}-{sub.name}"[:NAME_CHARS],
                                   array=sub.array, buffers=sub.buffers or self.buffers,
                                   mapping=None,
                                   pods=None, subaccelerators=None)

    @property
    def engines(self) -> list:
        """(name, single-array design) of every sub-accelerator."""
        return [(s.name, self.engine(s)) for s in self.subaccelerators or ()]

    def single_array(self, command: str) -> "AcceleratorConfig":
        """This design, when it is one array; ConfigError naming the section when it has
        pods or sub-accelerators, which ``hwgen command`` does not take (the commands
        that do dispatch them before asking)."""
        if self.pods is not None and self.pods.count == 1:
            raise ConfigError([f"pods.count: 1 pod is the array itself; leave out the "
                               f"pods: section for hwgen {command}"])
        for key, what in (("pods", "multi-pod"), ("subaccelerators", "heterogeneous")):
            if getattr(self, key) is not None:
                raise ConfigError([f"{key}: hwgen {command} takes one array; a {what} "
                                   "design runs with hwgen generate, sim, run, compile, "
                                   "estimate --model, fpga and asic"])
        return self

    @property
    def organisation(self) -> str:
        """The design in a few words: "16x16 weight_stationary", "4 pods of 8x8
        output_stationary (butterfly)", "2 engines: ws 8x8 weight_stationary, ..."."""
        if self.subaccelerators:
            return f"{len(self.subaccelerators)} engines: " + ", ".join(
                f"{name} {e.R}x{e.C} {e.array.dataflow}" for name, e in self.engines)
        one = f"{self.R}x{self.C} {self.array.dataflow}"
        if self.pods is not None and self.pods.count > 1:
            return f"{self.pods.count} pods of {one} ({self.pods.interconnect})"
        return one

    @property
    def pod(self) -> "AcceleratorConfig":
        """One pod of a multi-pod design (the design without ``pods:``)."""
        return dataclasses.replace(self, pods=None)

    @property
    def port_designs(self) -> list:
        """The single-array design behind each port of the top: one per pod, one per
        engine, or the design itself."""
        if self.subaccelerators:
            return [e for _, e in self.engines]
        if self.pods is not None:
            return [self.pod] * self.pods.count
        return [self]

    def replace(self, **kw) -> "AcceleratorConfig":
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def R(self) -> int:
        return self.array.rows

    @property
    def C(self) -> int:
        return self.array.cols

    @property
    def dataflow(self) -> Dataflow:
        return self.array.dataflow

    @property
    def acc_bits(self) -> int:
        return self.precision.acc_width

    @property
    def in_word_elems(self) -> int:
        """Elements per input-buffer word: a row vector at the array's left edge, or
        (input-stationary) one stationary row of the array, one element per column."""
        return self.array.cols if self.array.dataflow is Dataflow.IS else self.array.rows

    @property
    def pool_lanes(self) -> int:
        """Channels one POOL handles (``features.maxpool``): the lanes an input word and
        an accumulator word share."""
        return min(self.in_word_elems, self.array.cols)

    @property
    def w_word_elems(self) -> int:
        """Elements per weight-buffer word: one per column, or (input-stationary) a
        streamed vector along K, one per row."""
        return self.array.rows if self.array.dataflow is Dataflow.IS else self.array.cols

    @property
    def acc_word_elems(self) -> int:
        """Elements per accumulator word: one per array column (along N, or along M on
        an input-stationary design, whose accumulators hold C^T)."""
        return self.array.cols

    @property
    def acc_word_beats(self) -> int:
        """``dout`` (and LOAD_ACC ``din``) beats per accumulator word."""
        return self.beats_per_word(self.acc_word_elems)

    def beats_per_word(self, elems: int) -> int:
        return ceil_div(elems, self.host.beat_elems)

    @functools.cached_property
    def link(self) -> LinkShape:
        """Frame sizes of this design on the UART link (:mod:`hwgen.lib.framing`)."""
        beat = self.host.beat_elems
        return LinkShape(din_bytes=ceil_div(beat * self.precision.in_bits, 8),
                         dout_bytes=ceil_div(beat * self.acc_bits, 8),
                         in_word_beats=self.beats_per_word(self.in_word_elems),
                         w_word_beats=self.beats_per_word(self.w_word_elems))

    def chunk_words(self, m: int, k: int, n: int) -> dict:
        """Words of each buffer bank that one COMPUTE of an m x k x n chunk occupies."""
        return dict(_chunk_words(self.array.rows, self.array.cols,
                                 self.array.dataflow.value, m, k, n))

    def chunk_fits(self, m: int, k: int, n: int) -> Optional[str]:
        """None when the chunk fits every buffer bank, else the reason."""
        words = self.chunk_words(m, k, n)
        for buf, need in words.items():
            depth = getattr(self.buffers, buf).depth
            if need > depth:
                return f"{buf} buffer needs {need} words per bank for a {m}x{k}x{n} chunk, has {depth}"
        if max(m, k, n) >= (1 << DIM_BITS):
            return f"chunk dimension above {(1 << DIM_BITS) - 1}"
        return None

    @property
    def requant_stages(self) -> int:
        """Register stages of each requantizer lane: ``pipeline.requant``, by default
        :data:`hwgen.lib.schedule.DEFAULT_REQUANT_STAGES`."""
        p = self.pipeline.requant
        return DEFAULT_REQUANT_STAGES if p is None else p

    @property
    def pe_stages(self) -> int:
        """Registers after each PE's multiplier: ``pipeline.pe``, by default
        :func:`hwgen.lib.schedule.default_pe_stages` of the operand width."""
        p = self.pipeline.pe
        return default_pe_stages(self.precision.in_bits) if p is None else p

    @property
    def max_shift(self) -> int:
        """Largest requantization shift the read path supports."""
        return requant_product_bits(self.acc_bits, self.precision.mult_bits) - 2

    def params(self) -> dict:
        """Every parameter software needs, flat, for params.json and the C header. A
        multi-pod design adds its pod count (PODS; each pod is the array and buffers
        above) and its interconnect's latency; a heterogeneous one its engine count
        (ENGINES) and each engine's array and buffers as ENGINE<e>_<NAME>."""
        out = self._array_params()
        if self.pods is not None:
            out["PODS"] = self.pods.count
            out["INTERCONNECT_LATENCY"] = (0 if self.pods.count < 2 else interconnect_latency(
                self.pods.interconnect.value, self.pods.count))
        for e, (_, engine) in enumerate(self.engines):
            if e == 0:
                out["ENGINES"] = len(self.subaccelerators)
            for key in ("ROWS", "COLS", "DATAFLOW_OS", "INPUT_DEPTH", "INPUT_BANKS",
                        "WEIGHT_DEPTH", "WEIGHT_BANKS", "ACC_DEPTH", "ACC_BANKS"):
                out[f"ENGINE{e}_{key}"] = engine._array_params()[key]
        return out

    def _array_params(self) -> dict:
        return {
            "ROWS": self.R,
            "COLS": self.C,
            "DATAFLOW_OS": int(self.array.dataflow is Dataflow.OS),
            # input-stationary: input words of COLS elements, weight words of ROWS, C^T
            "DATAFLOW_IS": int(self.array.dataflow is Dataflow.IS),
            "IN_BITS": self.precision.in_bits,
            "OUT_BITS": self.precision.out_bits,
            "ACC_BITS": self.acc_bits,
            "MULT_BITS": self.precision.mult_bits,
            "MAX_K": self.precision.max_k,
            "BEAT_ELEMS": self.host.beat_elems,
            "CMD_BITS": 64,
            "DIN_BITS": self.host.beat_elems * self.precision.in_bits,
            "DOUT_BITS": self.host.beat_elems * self.acc_bits,
            "INPUT_DEPTH": self.buffers.input.depth,
            "INPUT_BANKS": self.buffers.input.banks,
            "WEIGHT_DEPTH": self.buffers.weight.depth,
            "WEIGHT_BANKS": self.buffers.weight.banks,
            "ACC_DEPTH": self.buffers.acc.depth,
            "ACC_BANKS": self.buffers.acc.banks,
            "DIM_BITS": DIM_BITS,
            "MAX_SHIFT": self.max_shift,
        }
