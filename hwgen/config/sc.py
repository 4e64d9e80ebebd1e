"""Configuration of the stochastic-computing (SC) units: the ``sc:`` section.

A value is carried as the probability of a 1 in a bitstream of ``length`` bits. A binary
operand is a ``value_bits``-wide unsigned code ``x``; its stream has P(1) = x / 2^value_bits
(unipolar, the value itself) or encodes 2 P(1) - 1 (bipolar, values in [-1, 1]).

Decisions taken here:

* ``length`` is a power of two, 32 to 4096. The stream counters then wrap exactly at the
  end of a stream, and the van der Corput source (a bit-reversed counter of
  log2(length) bits) visits every code exactly once per stream.
* With the ``lfsr`` generator the codes are ``lfsr_width`` bits wide and the LFSR period
  (2^lfsr_width - 1) must cover the stream; with ``vdc`` (alias ``sobol``: the first Sobol
  dimension is the base-2 van der Corput sequence) they are log2(length) bits wide.
* The MUX adder picks one of ``fan_in`` product streams each cycle with the low
  log2(fan_in) bits of its own LFSR, so ``fan_in`` must be a power of two there.
* ``sign`` and ``relu`` need bipolar streams: a unipolar value is never negative.
* ``parallelism`` P (a power of two, at most ``length``) replicates the datapath P times:
  cycle t produces stream bits P t .. P t + P - 1, so the result is the same as with
  P = 1 after length / P cycles.
* ``sharing`` says which operands share a random source. ``layer`` (the default): one
  source for the whole layer, every input stream compares with the same random number
  and every weight stream with its partner (docs/stochastic.md). ``per_operand``: input
  position i has a source of its own (an LFSR started i d steps into the m-sequence,
  d = (2^w - 1) // fan_in, or a van der Corput pair with its own digital shifts), which
  the weights of position i in every neuron pair with; that needs at least fan_in
  distinct LFSR phases.
* ``stanh`` is an activation computed on the stream: a saturating up/down counter with
  ``fsm_states`` states (even) steps by the bipolar value of each adder output bit and
  emits a stream whose ones are counted; it needs bipolar encoding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..lib.arith import bits_for
from ..lib.lfsr import LFSR_WIDTH_MAX, LFSR_WIDTH_MIN, lfsr_jump, lfsr_sequence
from .check import Checker, Choice, parse_section


class Encoding(Choice):
    UNIPOLAR = "unipolar"
    BIPOLAR = "bipolar"


class Generator(Choice):
    LFSR = "lfsr"
    VDC = "vdc"

    @classmethod
    def aliases(cls) -> dict:
        return {"sobol": "vdc"}


class Adder(Choice):
    MUX = "mux"
    COUNTER = "counter"

    @classmethod
    def aliases(cls) -> dict:
        return {"apc": "counter"}


class Activation(Choice):
    NONE = "none"
    SIGN = "sign"
    RELU = "relu"
    STANH = "stanh"


class Sharing(Choice):
    LAYER = "layer"
    PER_OPERAND = "per_operand"


ENCODINGS = tuple(m.value for m in Encoding)
GENERATORS = tuple(m.value for m in Generator)
ADDERS = tuple(m.value for m in Adder)
ACTIVATIONS = tuple(m.value for m in Activation)
SHARINGS = tuple(m.value for m in Sharing)
FSM_STATES_MAX = 1 << 16
LENGTH_MIN, LENGTH_MAX = 32, 4096
FAN_IN_MAX = 1024
NEURONS_MAX = 1024
PARALLELISM_MAX = 64


def default_sel_seed(seed: int, width: int) -> int:
    """Seed of the MUX adder's select LFSR when none is given: the operand seed rotated
    by half the width, so the two LFSRs start far apart in the same m-sequence."""
    mask = (1 << width) - 1
    h = width // 2
    s = ((seed << h) | (seed >> (width - h))) & mask
    return s if s != seed else (seed ^ 1) or 2


@dataclass(frozen=True)
class ScConfig:
    """The ``sc:`` section (see the module docstring); checks itself on construction."""
    length: int = 256
    encoding: Encoding = Encoding.BIPOLAR
    generator: Generator = Generator.LFSR
    lfsr_width: int = 8
    seed: int = 1
    sel_seed: Optional[int] = None      # None: default_sel_seed(seed, lfsr_width)
    adder: Adder = Adder.COUNTER
    fan_in: int = 16
    neurons: int = 1
    parallelism: int = 1                # stream bits per cycle
    activation: Activation = Activation.SIGN
    counter_bits: Optional[int] = None  # None: derived from fan_in and length
    sharing: Sharing = Sharing.LAYER
    fsm_states: int = 16                # stanh only

    def __post_init__(self):
        ck = Checker(self, "sc")
        length = ck.int_("length", LENGTH_MIN, LENGTH_MAX)
        ck.pow2("length")
        encoding = ck.choice("encoding", Encoding)
        generator = ck.choice("generator", Generator)
        lfsr_width = ck.int_("lfsr_width", 1, 64)
        if lfsr_width is not None and not LFSR_WIDTH_MIN <= lfsr_width <= LFSR_WIDTH_MAX:
            ck.fail("lfsr_width", f"no maximal-length taps for width {lfsr_width} "
                    f"(the table covers {LFSR_WIDTH_MIN} to {LFSR_WIDTH_MAX})")
        seed = ck.int_("seed", 0, (1 << 64) - 1)
        sel_seed = ck.int_("sel_seed", 0, (1 << 64) - 1, optional=True)
        if ck.ok("lfsr_width", "generator"):
            # The operand seed starts the lfsr_width-bit operand LFSR, or with the vdc
            # generator the 32-bit LFSR that draws the per-operand digital shifts; the
            # select seed always starts an lfsr_width-bit LFSR (the MUX adder's).
            for key, v in (("seed", seed), ("sel_seed", sel_seed)):
                width = 32 if key == "seed" and generator == "vdc" else lfsr_width
                mask = (1 << width) - 1
                if v is None or not ck.ok(key):
                    continue
                if v == 0:
                    ck.fail(key, "must not be 0 (an all-zero LFSR never leaves zero)")
                elif v > mask:
                    ck.fail(key, f"must fit the {width}-bit LFSR (at most {mask}), got {v}")
        if sel_seed is not None and sel_seed == seed and ck.ok("seed", "sel_seed"):
            ck.fail("sel_seed", "must differ from sc.seed, or the MUX select follows the "
                    "operand streams")
        adder = ck.choice("adder", Adder)
        fan_in = ck.int_("fan_in", 1, FAN_IN_MAX)
        ck.int_("neurons", 1, NEURONS_MAX)
        parallelism = ck.int_("parallelism", 1, PARALLELISM_MAX)
        ck.pow2("parallelism")
        activation = ck.choice("activation", Activation)
        counter_bits = ck.int_("counter_bits", 1, 48, optional=True)
        sharing = ck.choice("sharing", Sharing)
        fsm_states = ck.int_("fsm_states", 2, FSM_STATES_MAX)
        if fsm_states is not None and fsm_states % 2:
            ck.fail("fsm_states", f"must be even (the output is 1 in the upper half), "
                    f"got {fsm_states}")

        if (generator == "lfsr" and ck.ok("length", "lfsr_width")
                and lfsr_width < self.length_log2):
            ck.fail("lfsr_width", f"a {lfsr_width}-bit LFSR repeats after "
                    f"{(1 << lfsr_width) - 1} bits, shorter than sc.length={length}; needs "
                    f"at least {self.length_log2} bits")
        if adder == "mux" and ck.ok("adder", "fan_in"):
            if fan_in & (fan_in - 1):
                ck.fail("fan_in", f"the mux adder selects with log2(fan_in) random bits, so "
                        f"fan_in must be a power of two, got {fan_in}")
            elif ck.ok("lfsr_width") and self.sel_bits > lfsr_width:
                ck.fail("fan_in", f"the mux adder needs {self.sel_bits} select bits, more "
                        f"than sc.lfsr_width={lfsr_width}")
        if (sharing == "per_operand" and generator == "lfsr"
                and ck.ok("sharing", "generator", "lfsr_width", "fan_in")
                and self.phase_step < 1):
            ck.fail("sharing", f"per_operand needs {fan_in} distinct phases of the "
                    f"{lfsr_width}-bit LFSR (period {(1 << lfsr_width) - 1}); raise "
                    "sc.lfsr_width or use sharing: layer")
        if (activation in ("sign", "relu", "stanh") and encoding == "unipolar"
                and ck.ok("activation", "encoding")):
            ck.fail("activation", f"{activation} needs bipolar encoding (a unipolar value "
                    "is never negative)")
        if (parallelism is not None and parallelism > 1 and ck.ok("parallelism", "length")
                and parallelism > length):
            ck.fail("parallelism", f"must not exceed sc.length={length}, got {parallelism}")
        if counter_bits is not None and ck.ok("counter_bits", "fan_in", "length", "adder"):
            need = bits_for(self.ones_max)
            if counter_bits < need:
                what = (f"{fan_in} inputs x {length} bits" if adder == "counter"
                        else f"{length} bits")
                ck.fail("fan_in", f"{what} = {self.ones_max} ones need a {need}-bit "
                        f"counter, sc.counter_bits is {counter_bits}")
        ck.done()

    @property
    def fsm_bits(self) -> int:
        """Width of the stanh state register (states 0 .. fsm_states - 1)."""
        return max(1, (self.fsm_states - 1).bit_length())

    @property
    def phase_step(self) -> int:
        """Distance in the m-sequence between the sources of consecutive input positions
        with ``sharing: per_operand`` and the LFSR generator."""
        return ((1 << self.lfsr_width) - 1) // self.fan_in

    @property
    def length_log2(self) -> int:
        return self.length.bit_length() - 1

    @property
    def value_bits(self) -> int:
        """Width of a binary operand code (and of the random numbers it is compared with)."""
        return self.lfsr_width if self.generator == "lfsr" else self.length_log2

    @property
    def sel_bits(self) -> int:
        return (self.fan_in - 1).bit_length()

    @property
    def select_seed(self) -> int:
        return self.sel_seed if self.sel_seed is not None else default_sel_seed(self.seed, self.lfsr_width)

    @property
    def ones_max(self) -> int:
        """Most ones the output counter sees in one stream."""
        return self.length * (self.fan_in if self.adder == "counter" else 1)

    @property
    def count_width(self) -> int:
        return self.counter_bits if self.counter_bits is not None else bits_for(self.ones_max)

    @property
    def cycles(self) -> int:
        """Clock cycles per stream."""
        return self.length // self.parallelism

    def operand_seeds(self) -> list[int]:
        """Start states of the per-position LFSRs (``sharing: per_operand``, lfsr):
        position i starts i * phase_step steps after ``seed``."""
        return [lfsr_jump(self.seed, self.lfsr_width, i * self.phase_step)
                for i in range(self.fan_in)]

    def vdc_shifts(self) -> tuple[list[int], list[int]]:
        """Digital shifts (h_i, g_i) of the A and B operands of position i (``sharing:
        per_operand``, vdc): the top k bits of states 32 (2i + 1) and 32 (2i + 2) of the
        32-bit LFSR seeded with ``seed``."""
        k = self.value_bits
        s = lfsr_sequence(32, self.seed, 64 * self.fan_in + 1)
        top = s >> (32 - k)
        n = self.fan_in
        return ([int(top[32 * (2 * i + 1)]) for i in range(n)],
                [int(top[32 * (2 * i + 2)]) for i in range(n)])


KEYS = tuple(ScConfig.__dataclass_fields__)


def parse_sc(data: Any, source: str = "<config>") -> ScConfig:
    """Validate the ``sc:`` mapping of ``source``; raise ConfigError with one line per
    problem (``source: sc.<key>: rule``)."""
    return parse_section(ScConfig, data, "sc", source)
