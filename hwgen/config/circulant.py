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

The layer (``hwgen generate`` writes it as ``hwgen_circulant_layer`` for the ``parallel``
architecture) needs ``per_stage`` or ``none`` scaling in the forward FFT: a block exponent
per input block cannot share one accumulator, so the section rejects ``block_float``
(the stand-alone :class:`~hwgen.units.circulant_fft.CirculantFft` still offers it). The
layer's IFFT always uses ``per_stage`` scaling (the 1/k of the inverse). With the
``streaming`` architecture ``hwgen generate`` writes
:class:`~hwgen.units.circulant_sdf_layer.CirculantSdfLayer`, the same layer on
single-path delay-feedback FFTs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SCALINGS = ("per_stage", "block_float", "none")
ARCHITECTURES = ("parallel", "streaming")
KEYS = {"k", "in_bits", "out_bits", "tw_bits", "scaling", "architecture", "real_input",
        "real_fft", "real_fft_stages", "m", "n", "w_bits", "shift"}

K_MIN, K_MAX = 4, 64
BITS_MAX = 32
TW_BITS_MAX = 27
DIM_MAX = 1 << 16
W_BITS_MAX = 24
ACC_BITS_MAX = 62   # the golden model accumulates in int64


def _log2(k: int) -> int:
    return k.bit_length() - 1


@dataclass(frozen=True)
class CirculantConfig:
    """One block-circulant layer and the FFT units that compute it.

    Parameters
    ----------
    k : int
        Block size and FFT length, a power of two from 4 to 64.
    in_bits, out_bits, tw_bits : int
        Word lengths (see the module docstring).
    scaling : str
        ``per_stage`` (every stage divides by 2, so the FFT gives X/k), ``block_float``
        (a stage divides by 2 only when some value of the block would overflow; the
        number of halvings leaves as an exponent) or ``none`` (the word grows).
    architecture : str
        ``parallel`` (k samples per cycle, log2 k pipelined butterfly stages) or
        ``streaming`` (radix-2 single-path delay feedback, one sample per cycle).
    real_input : bool
        The forward transform only ever sees real samples (the layer's activations), so
        the imaginary input is dropped. The layer then keeps only the ``k/2 + 1``
        non-redundant frequency bins (conjugate symmetry): half the weight buffer, the
        X buffer and the complex multipliers.
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
    k: int = 16
    in_bits: int = 12
    out_bits: int = 16
    tw_bits: int = 16
    scaling: str = "per_stage"
    architecture: str = "parallel"
    real_input: bool = True
    real_fft: bool = False
    real_fft_stages: int = 1
    m: int = 64
    n: int = 64
    w_bits: int = 12
    shift: int = 11

    def replace(self, **kw) -> CirculantConfig:
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def stages(self) -> int:
        return _log2(self.k)

    @property
    def transform_latency(self) -> int:
        """Cycles through the layer's parallel FFT or IFFT: ``log2 k``, plus one with a
        two-stage split and merge (``real_fft_stages: 2``)."""
        return self.stages + (self.real_fft_stages - 1 if self.real_fft else 0)

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
    def blocks_out(self) -> int:
        return self.m // self.k

    @property
    def blocks_in(self) -> int:
        return self.n // self.k

    @property
    def bins(self) -> int:
        """Frequency bins the layer computes: ``k/2 + 1`` with ``real_input``, else k."""
        return self.k // 2 + 1 if self.real_input else self.k

    @property
    def spectrum_words(self) -> int:
        """Real numbers that describe one block's spectrum in the layer: the real parts of
        all bins and the imaginary parts of those that can be non-zero (with
        ``real_input`` bins 0 and k/2 of a real vector's spectrum are real): k or 2k."""
        return self.k if self.real_input else 2 * self.k

    @property
    def acc_bits(self) -> int:
        """Exact width of the layer's complex multiply-accumulate."""
        return self.out_bits + self.w_bits + (self.blocks_in - 1).bit_length()

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


def parse_circulant(data, source: str = "<config>") -> CirculantConfig:
    """Validate the ``circulant:`` section (a mapping) into a :class:`CirculantConfig`.

    Raises :class:`hwgen.config.ConfigError` with one line per problem.
    """
    # imported here so that the loader may import this module at its top
    from .loader import ConfigError, _Checker, _kind

    ck = _Checker(source)
    path = "circulant"
    if data is not None and not isinstance(data, dict):
        ck.fail(path, f"must be a mapping, got {_kind(data)}")
        raise ConfigError(ck.problems)
    d = ck.section(data, path, KEYS)
    base = CirculantConfig()
    k = ck.int_(d, path, "k", base.k, K_MIN, K_MAX)
    if k & (k - 1):
        ck.fail(f"{path}.k", f"must be a power of two, got {k}")
        k = base.k
    in_bits = ck.int_(d, path, "in_bits", base.in_bits, 2, BITS_MAX)
    out_bits = ck.int_(d, path, "out_bits", base.out_bits, 2, BITS_MAX)
    tw_bits = ck.int_(d, path, "tw_bits", base.tw_bits, 3, TW_BITS_MAX)
    scaling = ck.choice(d, path, "scaling", base.scaling, SCALINGS)
    arch = ck.choice(d, path, "architecture", base.architecture, ARCHITECTURES)
    flags = {}
    for key in ("real_input", "real_fft"):
        flags[key] = getattr(base, key)
        if key in d:
            if isinstance(d[key], bool):
                flags[key] = d[key]
            else:
                ck.fail(f"{path}.{key}", f"must be true or false, got {_kind(d[key])} {d[key]!r}")
    real_input, real_fft = flags["real_input"], flags["real_fft"]
    real_fft_stages = ck.int_(d, path, "real_fft_stages", base.real_fft_stages, 1, 2)
    if "real_fft_stages" in d and real_fft_stages != 1 and not real_fft:
        ck.fail(f"{path}.real_fft_stages", "applies to real_fft: true only (the split and "
                "merge stages of the k/2-point transforms)")
    m = ck.int_(d, path, "m", base.m, 1, DIM_MAX)
    n = ck.int_(d, path, "n", base.n, 1, DIM_MAX)
    for key, v in (("m", m), ("n", n)):
        if key in d and v % k:
            ck.fail(f"{path}.{key}", f"must be a multiple of k={k}, got {v}")
    w_bits = ck.int_(d, path, "w_bits", base.w_bits, 2, W_BITS_MAX)
    shift = ck.int_(d, path, "shift", base.shift, 0, ACC_BITS_MAX)
    if scaling == "block_float":
        ck.fail(f"{path}.scaling", "block_float gives every input block its own exponent, "
                "which the layer cannot accumulate; use per_stage or none (block_float "
                "is available on the stand-alone CirculantFft unit)")
    acc = out_bits + w_bits + (max(n // k, 1) - 1).bit_length()
    if acc > ACC_BITS_MAX:
        ck.fail(f"{path}.w_bits", f"the layer's accumulator would need {acc} bits "
                f"(out_bits + w_bits + log2(n/k)), more than {ACC_BITS_MAX}; "
                "use narrower words")

    if scaling == "none":
        need = in_bits + _log2(k) + 1
        if out_bits < need:
            ck.fail(f"{path}.out_bits",
                    f"{out_bits} bits overflow a {k}-point FFT of {in_bits}-bit inputs "
                    f"without scaling; needs at least {need} (or use per_stage or block_float)")
    elif out_bits < in_bits:
        ck.fail(f"{path}.out_bits",
                f"must be at least in_bits={in_bits} with {scaling} scaling, got {out_bits}")

    if real_fft:
        needs = [(not real_input, "real_input: true"), (scaling != "per_stage",
                 "per_stage scaling"), (arch != "parallel", "the parallel architecture"),
                 (k < 8, "k >= 8 (a k/2-point core of at least 4 points)"),
                 (out_bits + 1 > BITS_MAX, f"out_bits <= {BITS_MAX - 1} (the cores are one "
                                            "bit wider)")]
        missing = [what for bad, what in needs if bad]
        if missing:
            ck.fail(f"{path}.real_fft", "the k/2-point real transforms need "
                    + ", ".join(missing) + "; set real_fft: false or change those")

    if ck.problems:
        raise ConfigError(ck.problems)
    return CirculantConfig(k=k, in_bits=in_bits, out_bits=out_bits, tw_bits=tw_bits,
                           scaling=scaling, architecture=arch, real_input=real_input,
                           real_fft=real_fft, real_fft_stages=real_fft_stages, m=m, n=n,
                           w_bits=w_bits, shift=shift)
