"""Configuration of the pattern-pruned sparse convolution unit: the ``pattern_conv:``
section.

A 3x3 (in general ``kernel`` x ``kernel``) convolution of ``in_channels`` C input
planes of ``height`` x ``width`` into ``out_channels`` F output planes (stride 1 or 2,
zero padding ``kernel // 2``) whose weights were pruned the way PatDNN prunes them:

* pattern pruning: every kernel keeps the positions of one pattern of a small library
  (``patterns``), all patterns with the same number E of positions;
* connectivity pruning: whole kernels are removed; at most ``connectivity`` percent of
  the F C kernels are kept, which sets the depth of the weight memory.

The unit stores only the kept kernels, one word each (channel, pattern id, E weights,
and a flag on a filter's last kernel), and takes one such word per cycle through E
multipliers, so an output value costs as many cycles as its filter keeps kernels. A
dense convolution on the same hardware is the one pattern of every position with
``connectivity: 100`` (docs/pattern_conv.md; :mod:`hwgen.models.pattern_conv` is the
golden model).

``patterns`` is a number n (the first n of :data:`LIBRARY`, 3x3 kernels only) or a list
of patterns, each ``kernel`` strings of ``kernel`` characters ``0``/``1`` (row by row).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Union

from .check import Checker, brief, is_int, kind, parse_section

#: The built-in 3x3 pattern library: four positions each, the centre among them (the
#: shape PatDNN's pattern selection settles on): the four T shapes (centre and three of
#: its four neighbours), then the four 2x2 squares that contain the centre.
LIBRARY = (
    ("010", "111", "000"), ("010", "110", "010"), ("010", "011", "010"), ("000", "111", "010"),
    ("110", "110", "000"), ("011", "011", "000"), ("000", "110", "110"), ("000", "011", "011"),
)
DENSE3 = (("111", "111", "111"),)
CHANNELS_MAX = 1024
SIZE_MAX = 256
PATTERNS_MAX = 64
KERNELS = (1, 3, 5, 7)


@dataclass(frozen=True)
class PatternConvConfig:
    """The ``pattern_conv:`` section (see the module docstring); checks itself on
    construction. ``patterns`` becomes a tuple of patterns (tuples of row strings)."""
    in_channels: int = 16
    out_channels: int = 16
    height: int = 8
    width: int = 8
    kernel: int = 3
    stride: int = 1
    patterns: Union[int, tuple] = 8
    connectivity: int = 50
    in_bits: int = 8
    weight_bits: int = 8

    ROOT = "pattern_conv"

    def __post_init__(self):
        ck = Checker(self, self.ROOT)
        ck.int_("in_channels", 1, CHANNELS_MAX)
        ck.int_("out_channels", 1, CHANNELS_MAX)
        ck.int_("height", 1, SIZE_MAX)
        ck.int_("width", 1, SIZE_MAX)
        k = ck.int_("kernel", 1, max(KERNELS))
        if k is not None and k not in KERNELS:
            ck.fail("kernel", f"must be one of {', '.join(map(str, KERNELS))} (odd, so the "
                    f"output is centred), got {k}")
            k = None
        ck.int_("stride", 1, 2)
        ck.int_("connectivity", 1, 100)
        ck.int_("in_bits", 2, 16)
        ck.int_("weight_bits", 2, 16)
        if k is not None:
            self._check_patterns(ck, k)
        ck.done()

    def _check_patterns(self, ck: Checker, k: int) -> None:
        p = self.patterns
        if is_int(p):
            if k != 3:
                ck.fail("patterns", f"a number picks from the built-in 3x3 library; kernel "
                        f"{k} needs a list of patterns ({k} strings of {k} '0'/'1' each)")
                return
            if not 1 <= p <= len(LIBRARY):
                ck.fail("patterns", f"must be between 1 and {len(LIBRARY)} (the built-in "
                        f"library) or a list of patterns, got {p}")
                return
            object.__setattr__(self, "patterns", LIBRARY[:p])
            return
        if not isinstance(p, (list, tuple)) or not p:
            ck.fail("patterns", f"must be a number or a non-empty list of patterns, got "
                    f"{kind(p)} {brief(p)}")
            return
        if len(p) > PATTERNS_MAX:
            ck.fail("patterns", f"at most {PATTERNS_MAX} patterns, got {len(p)}")
            return
        out = []
        for i, pat in enumerate(p):
            rows = tuple(pat) if isinstance(pat, (list, tuple)) else None
            if (rows is None or len(rows) != k or not all(
                    isinstance(r, str) and len(r) == k and set(r) <= {"0", "1"} for r in rows)):
                ck.fail(f"patterns[{i}]", f"must be {k} strings of {k} characters '0' or '1' "
                        f"(kernel is {k}x{k}), got {brief(pat)}", field="patterns")
                return
            out.append(rows)
        counts = {sum(r.count("1") for r in pat) for pat in out}
        if 0 in counts:
            ck.fail("patterns", "a pattern keeps no position")
        elif len(counts) > 1:
            ck.fail("patterns", "all patterns must keep the same number of positions (one "
                    f"multiplier each), got {sorted(counts)}")
        elif len(set(out)) < len(out):
            ck.fail("patterns", "the same pattern is listed twice")
        else:
            object.__setattr__(self, "patterns", tuple(out))

    def replace(self, **kw) -> "PatternConvConfig":
        return dataclasses.replace(self, **kw)

    # ---- derived facts -------------------------------------------------------------
    @property
    def pad(self) -> int:
        return self.kernel // 2

    @property
    def out_height(self) -> int:
        return (self.height - 1) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.width - 1) // self.stride + 1

    @property
    def entries(self) -> int:
        """E: positions every pattern keeps (the multipliers)."""
        return sum(r.count("1") for r in self.patterns[0])

    def offsets(self, pattern: int) -> list[tuple[int, int]]:
        """(dy, dx) of the positions of ``pattern``, row by row: slot k of a kernel word
        multiplies the input at (s y + dy - pad, s x + dx - pad)."""
        return [(dy, dx) for dy, row in enumerate(self.patterns[pattern])
                for dx, ch in enumerate(row) if ch == "1"]

    @property
    def pattern_bits(self) -> int:
        return max((len(self.patterns) - 1).bit_length(), 1)

    @property
    def channel_bits(self) -> int:
        return max((self.in_channels - 1).bit_length(), 1)

    @property
    def kernel_capacity(self) -> int:
        """Kernel words the weight memory holds: the kept kernels, at least one per
        filter (a filter without kernels stores one word of zero weights)."""
        kept = -(-self.connectivity * self.in_channels * self.out_channels // 100)
        return max(kept, self.out_channels)

    @property
    def input_words(self) -> int:
        return self.in_channels * self.height * self.width

    @property
    def acc_bits(self) -> int:
        """Width of the results: the largest sum of C E products of in_bits x
        weight_bits signed codes, (-2^(a-1))(-2^(w-1)) each."""
        top = self.in_channels * self.entries << (self.in_bits + self.weight_bits - 2)
        return top.bit_length() + 1

    @property
    def word_bits(self) -> int:
        """Bits of one kernel word: last flag, channel, pattern id, E weights."""
        return 1 + self.channel_bits + self.pattern_bits + self.entries * self.weight_bits

    @property
    def dense_weight_bits(self) -> int:
        """Bits a dense store of the same layer needs (every kernel, every position)."""
        return self.out_channels * self.in_channels * self.kernel ** 2 * self.weight_bits

    def cycles_per_image(self, kernel_words: int) -> int:
        """Cycles from the last input of an image to its last result, results taken at
        once: one kernel word per output position and cycle, plus the pipeline."""
        return self.out_height * self.out_width * kernel_words + LATENCY


#: Cycles the compute pipeline adds (weight read, input read, multiply and sum).
LATENCY = 3

KEYS = tuple(f.name for f in dataclasses.fields(PatternConvConfig))


def parse_pattern_conv(data: Any, source: str = "<config>",
                       root: str = "pattern_conv") -> PatternConvConfig:
    """Validate a ``pattern_conv:`` mapping (found at ``root``); raise ConfigError with
    one line per problem (``source: pattern_conv.<key>: rule``)."""
    return parse_section(PatternConvConfig, data, root, source)
