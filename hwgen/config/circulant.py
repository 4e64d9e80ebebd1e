"""Configuration of the block-circulant FFT units and the compressed layer built on them.

A block-circulant layer splits an m x n weight matrix into k x k circulant blocks, each
defined by one length-k vector, and computes every block product as
``IFFT(FFT(w) * FFT(x))``. The YAML section is ``circulant:``; :func:`parse_circulant`
checks it completely and reports one line per problem, ``file: circulant.key: rule``.

Word lengths
------------
``in_bits``
    Signed width of each real and imaginary input sample.
``out_bits``
    Signed width of each output component. With ``per_stage`` and ``block_float`` scaling
    every butterfly stage is ``out_bits`` wide and the input enters at the top of that
    word (``out_bits - in_bits`` guard bits below it). With ``none`` stage s (0-based) is
    ``in_bits + s + 1`` bits wide, enough for the worst-case growth, so ``out_bits`` must
    be at least ``in_bits + log2(k) + 1``.
``tw_bits``
    Signed width of a twiddle factor component, with ``tw_bits - 2`` fraction bits so
    that +1 and -1 are exact.
``w_bits``
    Signed width of a frequency-domain weight component held in the layer's weight
    buffer. The complex multiply-accumulate over the ``n / k`` input blocks is exact in
    ``acc_bits = out_bits + w_bits + ceil(log2(n / k))`` bits; ``shift`` is the
    round-half-up right shift that brings it back to ``out_bits`` before the IFFT.

:class:`FftConfig` holds the transform's fields alone (what an FFT unit needs; it also
allows ``block_float``); :class:`CirculantConfig` is the layer, an ``FftConfig`` plus the
layer's fields and rules. Both check themselves on construction.

The layer (``hwgen generate`` writes it as ``hwgen_circulant_layer`` for the ``parallel``
architecture) needs ``per_stage`` or ``none`` scaling in the forward FFT: a block exponent
per input block cannot share one accumulator, so the section rejects ``block_float``
(the stand-alone :class:`~hwgen.units.fft.CirculantFft` still offers it). The
layer's IFFT always uses ``per_stage`` scaling (the 1/k of the inverse). With the
``streaming`` architecture ``hwgen generate`` writes
:class:`~hwgen.units.circulant_sdf_layer.CirculantSdfLayer`, the same layer on
single-path delay-feedback FFTs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .check import Checker, Choice, parse_section


class Scaling(Choice):
    PER_STAGE = "per_stage"
    BLOCK_FLOAT = "block_float"
    NONE = "none"


class Architecture(Choice):
    PARALLEL = "parallel"
    STREAMING = "streaming"


SCALINGS = tuple(m.value for m in Scaling)
ARCHITECTURES = tuple(m.value for m in Architecture)

K_MIN, K_MAX = 4, 64
#: Smallest k of the real transforms on a k/2-point core (the core needs 4 points).
K_MIN_REAL = 8
BITS_MAX = 32
TW_BITS_MAX = 27
DIM_MAX = 1 << 16
W_BITS_MAX = 24
ACC_BITS_MAX = 62   # the golden model accumulates in int64


def _log2(k: int) -> int:
    return k.bit_length() - 1


@dataclass(frozen=True)
class FftConfig:
    """One fixed-point FFT (or IFFT) of ``k`` points: the transform's fields only.

    Parameters
    ----------
    k : int
        FFT length, a power of two from 4 to 64.
    in_bits, out_bits, tw_bits : int
        Word lengths (see the module docstring).
    scaling : Scaling
        ``per_stage`` (every stage divides by 2, so the FFT gives X/k), ``block_float``
        (a stage divides by 2 only when some value of the block would overflow; the
        number of halvings leaves as an exponent) or ``none`` (the word grows).
    architecture : Architecture
        ``parallel`` (k samples per cycle, log2 k pipelined butterfly stages) or
        ``streaming`` (radix-2 single-path delay feedback, one sample per cycle).
    real_input : bool
        The transform only ever sees real samples, so the imaginary input is dropped.
    """
    k: int = 16
    in_bits: int = 12
    out_bits: int = 16
    tw_bits: int = 16
    scaling: Scaling = Scaling.PER_STAGE
    architecture: Architecture = Architecture.PARALLEL
    real_input: bool = True

    ROOT = "fft"

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        self._check_fields(ck)
        self._check_rules(ck)
        ck.done()

    def _check_fields(self, ck: Checker) -> None:
        k = ck.int_("k", K_MIN, K_MAX)
        if k is not None and k & (k - 1):
            ck.fail("k", f"must be a power of two, got {k}")
        ck.int_("in_bits", 2, BITS_MAX)
        ck.int_("out_bits", 2, BITS_MAX)
        ck.int_("tw_bits", 3, TW_BITS_MAX)
        ck.choice("scaling", Scaling)
        ck.choice("architecture", Architecture)
        ck.flag("real_input")

    def _check_rules(self, ck: Checker) -> None:
        if not ck.ok("k", "in_bits", "out_bits", "scaling"):
            return
        if self.scaling == "none":
            need = self.in_bits + _log2(self.k) + 1
            if self.out_bits < need:
                ck.fail("out_bits", f"{self.out_bits} bits overflow a {self.k}-point FFT of "
                        f"{self.in_bits}-bit inputs without scaling; needs at least {need} "
                        "(or use per_stage or block_float)")
        elif self.out_bits < self.in_bits:
            ck.fail("out_bits", f"must be at least in_bits={self.in_bits} with "
                    f"{self.scaling} scaling, got {self.out_bits}")

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)

    def transform(self, **changes) -> "FftConfig":
        """This config's transform fields as an :class:`FftConfig`, with ``changes``."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(FftConfig)}
        return FftConfig(**{**fields, **changes})

    # ---- derived facts -------------------------------------------------------------
    @property
    def stages(self) -> int:
        return _log2(self.k)

    @property
    def tw_frac(self) -> int:
        """Fraction bits of a twiddle component."""
        return self.tw_bits - 2

    @property
    def guard_bits(self) -> int:
        """Left shift that places an input sample in the first stage's word."""
        return 0 if self.scaling == "none" else self.out_bits - self.in_bits

    def stage_bits(self, s: int) -> int:
        """Width of the values entering stage ``s`` (``s == stages``: the output)."""
        if self.scaling == "none":
            return self.in_bits + s + (1 if s else 0)
        return self.out_bits

    @property
    def exp_bits(self) -> int:
        """Width of the block-floating-point exponent (0..stages)."""
        return max(1, self.stages.bit_length())

    @property
    def bins(self) -> int:
        """Frequency bins a layer on this transform computes: ``k/2 + 1`` with
        ``real_input``, else k."""
        return self.k // 2 + 1 if self.real_input else self.k

    @property
    def spectrum_words(self) -> int:
        """Real numbers that describe one block's spectrum in the layer: the real parts of
        all bins and the imaginary parts of those that can be non-zero (with
        ``real_input`` bins 0 and k/2 of a real vector's spectrum are real): k or 2k."""
        return self.k if self.real_input else 2 * self.k

    def inverse(self) -> "FftConfig":
        """The IFFT that takes this transform's ``out_bits``-wide frequency samples."""
        return self.transform(in_bits=self.out_bits, real_input=False)

    # ---- the transforms on a k/2-point core (models.real_fft, models.real_ifft) ----
    def check_half_size(self, what: str, instead: str, wide: str) -> None:
        """The conditions shared by the transforms on a k/2-point core: a one-line
        ValueError naming ``what``, with ``instead`` the unit to use for k=4 and ``wide``
        the width the core widens by a bit."""
        k = self.k
        if not K_MIN_REAL <= k:
            raise ValueError(f"k={k}: the {what} needs a power of two from {K_MIN_REAL} to "
                             f"{K_MAX} (its k/2-point core FFT needs at least 4 points); use "
                             f"{instead} for k=4")
        if self.scaling != "per_stage":
            raise ValueError(f"the {what} supports per_stage scaling only, "
                             f"not {str(self.scaling)!r}")
        bits = getattr(self, wide)
        if bits + 1 > BITS_MAX:
            raise ValueError(f"{wide}={bits}: the k/2-point core needs {wide} + 1 <= "
                             f"{BITS_MAX} bits")

    def check_real_fft(self) -> None:
        """Raise a one-line ValueError if the real-input FFT cannot be built."""
        self.check_half_size("real-input FFT", "CirculantFft", "in_bits")

    def check_real_ifft(self) -> None:
        """Raise a one-line ValueError if the real-output IFFT cannot be built."""
        self.check_half_size("real-output IFFT", "CirculantFft(inverse=True)", "out_bits")

    def real_fft_core(self) -> "FftConfig":
        """The k/2-point complex FFT of the real-input FFT's packed samples."""
        self.check_real_fft()
        return self.transform(k=self.k // 2, in_bits=self.in_bits + 1,
                              out_bits=max(self.out_bits, self.in_bits + 1),
                              real_input=False, architecture="parallel")

    def real_fft_post_shift(self) -> int:
        """Right shift of the real-input FFT's split stage: ``F + 1 + d``."""
        return self.tw_frac + 1 + (self.real_fft_core().out_bits - self.out_bits)

    def real_ifft_core(self) -> "FftConfig":
        """The k/2-point complex IFFT of the real-output IFFT's merged spectrum."""
        self.check_real_ifft()
        return self.transform(k=self.k // 2, in_bits=self.in_bits + 1,
                              out_bits=self.out_bits + 1, real_input=False,
                              scaling="per_stage", architecture="parallel")


@dataclass(frozen=True)
class CirculantConfig(FftConfig):
    """One block-circulant layer and the FFT units that compute it.

    Parameters
    ----------
    (the transform's, see :class:`FftConfig`), and:
    real_fft : bool
        With ``real_input``, ``per_stage`` scaling and the ``parallel`` architecture
        (k >= 8): the layer's forward FFT of a real block and its IFFT to a real block
        each run as one k/2-point complex transform plus a split (or merge) stage
        (:mod:`hwgen.models.real_fft`, :mod:`hwgen.models.real_ifft`): half the
        butterflies, the same latency; the results differ from the k-point transforms'
        by rounding only.
    real_fft_stages : int
        Register stages of the split (forward) and merge (inverse) steps with
        ``real_fft``: 1, or 2 for a register after their constant products (a shorter
        critical path; each transform one cycle longer).
    m, n : int
        Layer shape (outputs x inputs), multiples of k.
    w_bits : int
        Width of a frequency-domain weight component.
    shift : int
        Requantization right shift after the multiply-accumulate (rounding half up).
    """
    real_fft: bool = False
    real_fft_stages: int = 1
    m: int = 64
    n: int = 64
    w_bits: int = 12
    shift: int = 11

    ROOT = "circulant"

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        self._check_fields(ck)
        real_fft = ck.flag("real_fft")
        stages = ck.int_("real_fft_stages", 1, 2)
        if stages is not None and stages != 1 and real_fft is False:
            ck.fail("real_fft_stages", "applies to real_fft: true only (the split and "
                    "merge stages of the k/2-point transforms)")
        m = ck.int_("m", 1, DIM_MAX)
        n = ck.int_("n", 1, DIM_MAX)
        for key, v in (("m", m), ("n", n)):
            if v is not None and ck.ok("k") and v % self.k:
                ck.fail(key, f"must be a multiple of k={self.k}, got {v}")
        ck.int_("w_bits", 2, W_BITS_MAX)
        ck.int_("shift", 0, ACC_BITS_MAX)
        if self.scaling == "block_float":
            ck.fail("scaling", "block_float gives every input block its own exponent, "
                    "which the layer cannot accumulate; use per_stage or none (block_float "
                    "is available on the stand-alone CirculantFft unit)")
        if ck.ok("out_bits", "w_bits", "n", "k"):
            acc = self.out_bits + self.w_bits + (max(self.n // self.k, 1) - 1).bit_length()
            if acc > ACC_BITS_MAX:
                ck.fail("w_bits", f"the layer's accumulator would need {acc} bits "
                        f"(out_bits + w_bits + log2(n/k)), more than {ACC_BITS_MAX}; "
                        "use narrower words")
        self._check_rules(ck)
        if real_fft and ck.ok("real_input", "scaling", "architecture", "k", "out_bits"):
            needs = [(not self.real_input, "real_input: true"),
                     (self.scaling != "per_stage", "per_stage scaling"),
                     (self.architecture != "parallel", "the parallel architecture"),
                     (self.k < K_MIN_REAL, "k >= 8 (a k/2-point core of at least 4 points)"),
                     (self.out_bits + 1 > BITS_MAX,
                      f"out_bits <= {BITS_MAX - 1} (the cores are one bit wider)")]
            missing = [what for bad, what in needs if bad]
            if missing:
                ck.fail("real_fft", "the k/2-point real transforms need "
                        + ", ".join(missing) + "; set real_fft: false or change those")
        ck.done()

    # ---- derived facts -------------------------------------------------------------
    @property
    def transform_latency(self) -> int:
        """Cycles through the layer's parallel FFT or IFFT: ``log2 k``, plus one with a
        two-stage split and merge (``real_fft_stages: 2``)."""
        return self.stages + (self.real_fft_stages - 1 if self.real_fft else 0)

    @property
    def blocks_out(self) -> int:
        return self.m // self.k

    @property
    def blocks_in(self) -> int:
        return self.n // self.k

    @property
    def acc_bits(self) -> int:
        """Exact width of the layer's complex multiply-accumulate."""
        return self.out_bits + self.w_bits + (self.blocks_in - 1).bit_length()

    def forward_transform(self) -> FftConfig:
        """The layer's forward FFT: real input blocks, the section's scaling."""
        return self.transform(real_input=True, architecture="parallel")

    def inverse_transform(self) -> FftConfig:
        """The layer's IFFT: ``out_bits``-wide complex input, ``per_stage`` scaling."""
        return self.transform(in_bits=self.out_bits, real_input=False,
                              scaling="per_stage", architecture="parallel")

    def params(self) -> dict:
        return {
            "CIRC_K": self.k,
            "CIRC_IN_BITS": self.in_bits,
            "CIRC_OUT_BITS": self.out_bits,
            "CIRC_TW_BITS": self.tw_bits,
            "CIRC_SCALING": SCALINGS.index(self.scaling),
            "CIRC_PARALLEL": int(self.architecture == "parallel"),
            "CIRC_REAL_INPUT": int(self.real_input),
            "CIRC_REAL_FFT": int(self.real_fft),
            "CIRC_REAL_FFT_STAGES": self.real_fft_stages,
            "CIRC_M": self.m,
            "CIRC_N": self.n,
            "CIRC_EXP_BITS": self.exp_bits,
            "CIRC_W_BITS": self.w_bits,
            "CIRC_SHIFT": self.shift,
            "CIRC_ACC_BITS": self.acc_bits,
        }


KEYS = tuple(f.name for f in dataclasses.fields(CirculantConfig))


def parse_circulant(data: Any, source: str = "<config>") -> CirculantConfig:
    """Validate the ``circulant:`` section (a mapping) into a :class:`CirculantConfig`.

    Raises :class:`hwgen.config.ConfigError` with one line per problem.
    """
    return parse_section(CirculantConfig, data, "circulant", source)
