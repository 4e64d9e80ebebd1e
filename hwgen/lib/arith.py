"""Integer helpers used on every side."""
from __future__ import annotations


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def bits_for(n: int) -> int:
    """Unsigned bits needed to hold values 0 .. n (at least 1)."""
    return max(1, int(n).bit_length())


def signed_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a ``bits``-bit two's complement number."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def dot_acc_bits(in_bits: int, w_bits: int, n: int) -> int:
    """Signed bits that hold any sum of ``n`` products of ``in_bits`` x ``w_bits`` signed
    numbers: a product is at most ``2^(in_bits + w_bits - 2)`` in magnitude (both
    operands at their most negative), n of them at most ``n`` times that."""
    return in_bits + w_bits + (n - 1).bit_length()
