"""Configuration of the Bayesian linear layer: the ``bayesian:`` section.

The layer holds, for every weight, a mean ``mu`` (signed ``weight_bits``) and a standard
deviation ``sigma`` (unsigned ``weight_bits``) and draws the weights it uses from the
Gaussian random number generator of its ``grng`` key (a ``grng:`` mapping; without it,
the config's top-level ``grng:`` section, else the defaults). For an input vector x
(signed ``in_bits`` codes) it computes ``samples`` N draws of the outputs:

* plain: every weight gets its own eps each draw,
  ``w = mu + ((sigma * eps + 2^(sh-1)) >> sh)``, ``y_j = sum_i w_ji x_i``;
* ``local_reparam: true`` (local reparameterisation): the pre-activation is drawn
  instead of the weights, ``y_j = A_j + ((S_j * eps + 2^(sh-1)) >> sh)`` with
  ``A_j = sum_i mu_ji x_i`` and ``S_j = isqrt(sum_i (sigma_ji x_i)^2)``, one eps per
  output and draw; A and S are computed once per input vector.

``sh`` = :attr:`BayesianConfig.eps_shift` = floor(log2(grng.scale)), so a sigma code of
``2^sh / scale`` times the real sigma, in the units of mu, gives ``w ~ N(mu, sigma^2)``.
``activation: relu`` clamps each draw at zero. With ``average: true`` (the default) the
layer outputs, per output j, the sum over the N draws (the mean times N); with
``average: false`` every draw's outputs (N m results per input vector).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

from .check import Checker, Choice, ConfigError, brief, check_mapping, kind, parse_section
from .grng import GrngConfig

DIM_MAX = 4096
SAMPLES_MAX = 1024
WIDTH_MAX = 62   # the golden model computes in int64


class Activation(Choice):
    NONE = "none"
    RELU = "relu"


def _signed_bits(magnitude: int) -> int:
    """Signed width that holds -magnitude .. magnitude."""
    return magnitude.bit_length() + 1


@dataclass(frozen=True)
class BayesianConfig:
    """The ``bayesian:`` section (see the module docstring); checks itself."""
    inputs: int = 64
    outputs: int = 10
    in_bits: int = 8
    weight_bits: int = 8
    samples: int = 8
    local_reparam: bool = False
    activation: Activation = Activation.NONE
    average: bool = True
    grng: GrngConfig = GrngConfig()

    ROOT = "bayesian"

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        ck.int_("inputs", 1, DIM_MAX)
        ck.int_("outputs", 1, DIM_MAX)
        ck.int_("in_bits", 2, 16)
        ck.int_("weight_bits", 2, 16)
        ck.int_("samples", 1, SAMPLES_MAX)
        ck.flag("local_reparam")
        ck.choice("activation", Activation)
        ck.flag("average")
        if not isinstance(self.grng, GrngConfig):
            ck.fail("grng", f"must be a grng mapping, got {kind(self.grng)} {brief(self.grng)}")
        if ck.ok("inputs", "in_bits", "weight_bits", "samples", "local_reparam", "grng"):
            widest = max(self.out_bits, self.b_bits if self.local_reparam else 0)
            if widest > WIDTH_MAX:
                ck.fail("weight_bits", f"the layer's widest value would need {widest} bits, "
                        f"more than {WIDTH_MAX}; use narrower words or fewer inputs")
        ck.done()

    def replace(self, **kw) -> "BayesianConfig":
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def lanes(self) -> int:
        """Outputs computed side by side (one per generator lane)."""
        return self.grng.lanes

    @property
    def groups(self) -> int:
        """Groups of ``lanes`` outputs, computed one after the other."""
        return -(-self.outputs // self.lanes)

    @property
    def eps_shift(self) -> int:
        """sh: the right shift of sigma * eps, floor(log2(grng.scale))."""
        return max(int(math.floor(math.log2(self.grng.scale))), 0)

    @property
    def sigma_gain(self) -> float:
        """What a sigma code is worth in the units of mu: ``scale / 2^sh`` codes of eps
        per standard deviation, so sigma_code = sigma * 2^sh / scale (in mu units)."""
        return self.grng.scale / (1 << self.eps_shift)

    @property
    def x_max(self) -> int:
        return 1 << (self.in_bits - 1)

    @property
    def mu_max(self) -> int:
        return 1 << (self.weight_bits - 1)

    @property
    def sigma_max(self) -> int:
        return (1 << self.weight_bits) - 1

    def _shifted_max(self, product_max: int) -> int:
        sh = self.eps_shift
        return ((product_max + ((1 << sh) >> 1)) >> sh) + 1

    @property
    def noise_max(self) -> int:
        """plain: largest |(sigma * eps + half) >> sh|."""
        return self._shifted_max(self.sigma_max * self.grng.code_max)

    @property
    def w_bits(self) -> int:
        """plain: width of a drawn weight mu + noise."""
        return _signed_bits(self.mu_max + self.noise_max)

    @property
    def a_bits(self) -> int:
        """local_reparam: width of A = sum mu x."""
        return _signed_bits(self.inputs * self.mu_max * self.x_max)

    @property
    def sx_max(self) -> int:
        return self.sigma_max * self.x_max

    @property
    def b_bits(self) -> int:
        """local_reparam: width of B = sum (sigma x)^2 (unsigned)."""
        return (self.inputs * self.sx_max * self.sx_max).bit_length()

    @property
    def s_bits(self) -> int:
        """local_reparam: width of S = isqrt(B) (unsigned)."""
        return (math.isqrt(self.inputs * self.sx_max * self.sx_max)).bit_length()

    @property
    def y_max(self) -> int:
        """Largest |y| of one draw."""
        if self.local_reparam:
            s = math.isqrt(self.inputs * self.sx_max * self.sx_max)
            return self.inputs * self.mu_max * self.x_max + self._shifted_max(s * self.grng.code_max)
        return self.inputs * (self.mu_max + self.noise_max) * self.x_max

    @property
    def y_bits(self) -> int:
        """Width of one draw's result (the accumulator)."""
        return _signed_bits(self.y_max)

    @property
    def out_bits(self) -> int:
        """Width of a result on the output stream."""
        return _signed_bits(self.y_max * (self.samples if self.average else 1))

    @property
    def results_per_vector(self) -> int:
        return self.outputs * (1 if self.average else self.samples)

    @property
    def eps_per_vector(self) -> int:
        """Generator beats (``lanes`` samples each) the layer takes per input vector."""
        per_group = self.samples * (1 if self.local_reparam else self.inputs)
        return self.groups * per_group

    # ---- the layer's schedule (hwgen.units.bayesian; the tests check it) -------------
    @property
    def sqrt_steps(self) -> int:
        """local_reparam: cycles of the layer's bit-serial square root, ceil(b_bits / 2)."""
        return (self.b_bits + 1) // 2

    @property
    def latency(self) -> int:
        """Cycles of :class:`hwgen.units.bayesian.BayesianLayer` from the last input beat
        of a vector to its last result, with no back-pressure, when the output register
        drains in the shadow of the work that follows (plain draws: inputs >= lanes;
        local_reparam: inputs + 2 + sqrt_steps >= lanes)."""
        L, n, G, N = self.lanes, self.inputs, self.groups, self.samples
        lanes = [min(L, self.outputs - g * L) for g in range(G)]
        if not self.local_reparam:
            return G * N * n + 2 + lanes[-1]
        k = self.sqrt_steps
        if self.average:       # a draw a cycle, the sums load the output register once
            return sum(n + 2 + k + N for _ in lanes) + lanes[-1]
        # every draw fills the output register, the next waits until it drains
        return sum(n + 2 + k + (N - 1) * lg + 1 for lg in lanes) + lanes[-1]

    @property
    def cycles_per_vector(self) -> int:
        """Cycles per vector back to back: the inputs, one a cycle, then
        :attr:`latency`, then one cycle for the layer to become idle."""
        return self.inputs + self.latency + 1


KEYS = tuple(f.name for f in dataclasses.fields(BayesianConfig))


def parse_bayesian(data: Any, source: str = "<config>",
                   default_grng: Optional[GrngConfig] = None) -> BayesianConfig:
    """Validate the ``bayesian:`` mapping; its ``grng`` key is a ``grng:`` mapping
    (checked as ``bayesian.grng``), else ``default_grng`` (the top-level section), else
    the defaults. Raises ConfigError with one line per problem."""
    problems: list[str] = []
    root = BayesianConfig.ROOT
    where = (lambda p: f"{source}: {p}") if source else (lambda p: p)
    if data is not None and not isinstance(data, dict):
        raise ConfigError([where(f"{root}: must be a mapping, got {kind(data)}")], root)
    d = check_mapping(data, root, KEYS, problems)
    grng = default_grng if default_grng is not None else GrngConfig()
    if "grng" in d:
        try:
            grng = parse_section(GrngConfig, d["grng"], f"{root}.grng")
        except ConfigError as e:
            problems += e.problems
    d["grng"] = grng
    try:
        cfg = BayesianConfig(**d)
    except ConfigError as e:
        problems += e.under(root).problems
        cfg = None
    if problems:
        raise ConfigError([where(p) for p in problems], root)
    return cfg
