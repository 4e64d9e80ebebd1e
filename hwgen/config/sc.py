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


ENCODINGS = ("unipolar", "bipolar")
GENERATORS = ("lfsr", "vdc")
ADDERS = ("mux", "counter")
ACTIVATIONS = ("none", "sign", "relu", "stanh")
SHARINGS = ("layer", "per_operand")
FSM_STATES_MAX = 1 << 16
#: LFSR widths with a maximal-length tap set in hwgen.units.stochastic.LFSR_TAPS.
LFSR_WIDTH_MIN, LFSR_WIDTH_MAX = 3, 32
LENGTH_MIN, LENGTH_MAX = 32, 4096
FAN_IN_MAX = 1024
NEURONS_MAX = 1024
PARALLELISM_MAX = 64


def _bits_for(n: int) -> int:
    return max(1, int(n).bit_length())


def default_sel_seed(seed: int, width: int) -> int:
    """Seed of the MUX adder's select LFSR when none is given: the operand seed rotated
    by half the width, so the two LFSRs start far apart in the same m-sequence."""
    mask = (1 << width) - 1
    h = width // 2
    s = ((seed << h) | (seed >> (width - h))) & mask
    return s if s != seed else (seed ^ 1) or 2


@dataclass(frozen=True)
class ScConfig:
    length: int = 256
    encoding: str = "bipolar"
    generator: str = "lfsr"
    lfsr_width: int = 8
    seed: int = 1
    sel_seed: Optional[int] = None      # None: default_sel_seed(seed, lfsr_width)
    adder: str = "counter"
    fan_in: int = 16
    neurons: int = 1
    parallelism: int = 1                # stream bits per cycle
    activation: str = "sign"
    counter_bits: Optional[int] = None  # None: derived from fan_in and length
    sharing: str = "layer"
    fsm_states: int = 16                # stanh only

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
        return self.counter_bits if self.counter_bits is not None else _bits_for(self.ones_max)

    @property
    def cycles(self) -> int:
        """Clock cycles per stream."""
        return self.length // self.parallelism


def _kind(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            float: "a number", type(None): "nothing"}.get(type(v), type(v).__name__)


def parse_sc(data: Any, source: str = "<config>") -> ScConfig:
    """Validate the ``sc:`` mapping of ``source``; raise ConfigError with one line per
    problem (``source: sc.<key>: rule``)."""
    # Imported here so that loader.py can import this module at its top.
    from .loader import ConfigError

    problems: list[str] = []

    def fail(key: str, rule: str):
        problems.append(f"{source}: sc{'.' + key if key else ''}: {rule}")

    if data is None:
        data = {}
    if not isinstance(data, dict):
        fail("", f"must be a mapping, got {_kind(data)}")
        raise ConfigError(problems)
    known = set(ScConfig.__dataclass_fields__)
    for k in data:
        if k not in known:
            fail(str(k), f"unknown key (known: {', '.join(sorted(known))})")

    d = ScConfig()
    bad: set[str] = set()

    def int_(key, lo, hi, optional=False):
        default = getattr(d, key)
        if key not in data or (optional and data[key] is None):
            return default
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int):
            fail(key, f"must be an integer, got {_kind(v)} {v!r}")
        elif not lo <= v <= hi:
            fail(key, f"must be between {lo} and {hi}, got {v}")
        else:
            return v
        bad.add(key)
        return default

    def choice(key, choices, aliases=None):
        default = getattr(d, key)
        if key not in data:
            return default
        v = data[key]
        v = (aliases or {}).get(v, v) if isinstance(v, str) else v
        if v not in choices:
            fail(key, f"must be one of {', '.join(choices)}, got {data[key]!r}")
            bad.add(key)
            return default
        return v

    def pow2(key, v):
        if key not in bad and v & (v - 1):
            fail(key, f"must be a power of two, got {v}")
            bad.add(key)

    length = int_("length", LENGTH_MIN, LENGTH_MAX)
    pow2("length", length)
    encoding = choice("encoding", ENCODINGS)
    generator = choice("generator", GENERATORS, {"sobol": "vdc"})
    lfsr_width = int_("lfsr_width", 1, 64)
    if "lfsr_width" not in bad and not LFSR_WIDTH_MIN <= lfsr_width <= LFSR_WIDTH_MAX:
        fail("lfsr_width", f"no maximal-length taps for width {lfsr_width} "
             f"(the table covers {LFSR_WIDTH_MIN} to {LFSR_WIDTH_MAX})")
        bad.add("lfsr_width")
    mask = (1 << lfsr_width) - 1
    seed = int_("seed", 0, (1 << 64) - 1)
    sel_seed = int_("sel_seed", 0, (1 << 64) - 1, optional=True)
    for key, v in (("seed", seed), ("sel_seed", sel_seed)):
        if v is None or key in bad or "lfsr_width" in bad:
            continue
        if v == 0:
            fail(key, "must not be 0 (an all-zero LFSR never leaves zero)")
        elif v > mask:
            fail(key, f"must fit the {lfsr_width}-bit LFSR (at most {mask}), got {v}")
    if (sel_seed is not None and sel_seed == seed and not {"seed", "sel_seed"} & bad):
        fail("sel_seed", "must differ from sc.seed, or the MUX select follows the operand streams")
    adder = choice("adder", ADDERS, {"apc": "counter"})
    fan_in = int_("fan_in", 1, FAN_IN_MAX)
    neurons = int_("neurons", 1, NEURONS_MAX)
    parallelism = int_("parallelism", 1, PARALLELISM_MAX)
    pow2("parallelism", parallelism)
    activation = choice("activation", ACTIVATIONS)
    counter_bits = int_("counter_bits", 1, 48, optional=True)
    sharing = choice("sharing", SHARINGS)
    fsm_states = int_("fsm_states", 2, FSM_STATES_MAX)
    if "fsm_states" not in bad and fsm_states % 2:
        fail("fsm_states", f"must be even (the output is 1 in the upper half), got {fsm_states}")
        bad.add("fsm_states")

    cfg = ScConfig(length=length, encoding=encoding, generator=generator,
                   lfsr_width=lfsr_width, seed=seed, sel_seed=sel_seed, adder=adder,
                   fan_in=fan_in, neurons=neurons, parallelism=parallelism,
                   activation=activation, counter_bits=counter_bits, sharing=sharing,
                   fsm_states=fsm_states)

    if generator == "lfsr" and not {"length", "lfsr_width"} & bad and lfsr_width < cfg.length_log2:
        fail("lfsr_width", f"a {lfsr_width}-bit LFSR repeats after {mask} bits, shorter than "
             f"sc.length={length}; needs at least {cfg.length_log2} bits")
    if adder == "mux" and not {"adder", "fan_in"} & bad:
        if fan_in & (fan_in - 1):
            fail("fan_in", f"the mux adder selects with log2(fan_in) random bits, so fan_in "
                 f"must be a power of two, got {fan_in}")
        elif "lfsr_width" not in bad and cfg.sel_bits > lfsr_width:
            fail("fan_in", f"the mux adder needs {cfg.sel_bits} select bits, more than "
                 f"sc.lfsr_width={lfsr_width}")
    if (sharing == "per_operand" and generator == "lfsr"
            and not {"sharing", "generator", "lfsr_width", "fan_in"} & bad and cfg.phase_step < 1):
        fail("sharing", f"per_operand needs {fan_in} distinct phases of the {lfsr_width}-bit "
             f"LFSR (period {mask}); raise sc.lfsr_width or use sharing: layer")
    if activation in ("sign", "relu", "stanh") and encoding == "unipolar" and not {"activation", "encoding"} & bad:
        fail("activation", f"{activation} needs bipolar encoding (a unipolar value is never negative)")
    if (parallelism > 1 and not {"parallelism", "length"} & bad and parallelism > length):
        fail("parallelism", f"must not exceed sc.length={length}, got {parallelism}")
    if counter_bits is not None and not {"counter_bits", "fan_in", "length"} & bad:
        need = _bits_for(cfg.ones_max)
        if counter_bits < need:
            what = f"{fan_in} inputs x {length} bits" if adder == "counter" else f"{length} bits"
            fail("fan_in", f"{what} = {cfg.ones_max} ones need a {need}-bit counter, "
                 f"sc.counter_bits is {counter_bits}")

    if problems:
        raise ConfigError(problems)
    return cfg
