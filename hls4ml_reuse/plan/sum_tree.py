"""The unrolled sum trees, defined once: the RTL builds them (synth/rtl.py) and the LUT model counts them
(plan/calibration.py) from these same rules.

A sum of +-terms is a balanced tree of two-operand adds, positive terms first; binary agreements are counted
COUNTER_INPUTS inputs at a time by LUTs, whose counts are then added by such a tree. Every node carries its value
range, so each adder is exactly as wide as its range needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

COUNTER_INPUTS = 6  # a LUT6 computes one bit of the count of 6 product bits


@dataclass(frozen=True)
class Term:
    """A tree node holding a value in [lo, hi], contributed negated when `negative`; `value` is what a backend
    carries for it (an Amaranth wire, an adder's identity, or nothing when only ranges are counted)."""

    lo: int
    hi: int
    negative: bool = False
    value: object = None


def added_range(a: Term, b: Term) -> tuple[int, int]:
    """The range of a + b, or of a - b when their signs differ: a's sign stays outside, (+-a) + (+-b) = +-(a +- b)."""
    if a.negative == b.negative:
        return a.lo + b.lo, a.hi + b.hi
    return a.lo - b.hi, a.hi - b.lo


def subtracts(a: Term, b: Term) -> bool:
    return a.negative != b.negative


def added(a: Term, b: Term, value: object = None) -> Term:
    """The node of a's add with b (see added_range), carrying `value`."""
    lo, hi = added_range(a, b)
    return Term(lo, hi, a.negative, value)


def balanced_sum(nodes: list[Term], add: Callable[[Term, Term, int, int], Term]) -> Term | None:
    """Adds neighbours pairwise, level by level (an odd node out goes up as it is); add(a, b, level, index)
    builds one adder. The root, or None for no nodes."""
    level = 0
    while len(nodes) > 1:
        pairs = [nodes[i : i + 2] for i in range(0, len(nodes), 2)]
        nodes = [add(*pair, level, i) if len(pair) == 2 else pair[0] for i, pair in enumerate(pairs)]
        level += 1
    return nodes[0] if nodes else None


def positive_first(terms: list[Term]) -> list[Term]:
    """The order of a signed sum's leaves: the total is then positive unless every term is negative."""
    return [t for t in terms if not t.negative] + [t for t in terms if t.negative]


def counter_groups(m: int) -> list[int]:
    """Sizes of the groups whose agreements one counter (a set of LUTs) counts, over m positions in order."""
    return [min(COUNTER_INPUTS, m - start) for start in range(0, m, COUNTER_INPUTS)]


def counter_luts(inputs: int) -> int:
    """LUTs of one counter of `inputs` agreements: one per bit of the count."""
    return max(1, inputs.bit_length())


def wire_shape(lo: int, hi: int) -> tuple[int, bool]:
    """Bits and signedness of a wire holding [lo, hi] (as Amaranth's Shape.cast(range(lo, hi + 1)))."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    return max(int(-lo - 1).bit_length(), int(hi).bit_length()) + 1, True


def add_lut_bits(a: tuple[int, int], b: tuple[int, int]) -> int:
    """LUTs Yosys spends on a two-operand add of ranges a, b (lo, hi): a CARRY4 chain with one LUT per bit where
    both operands vary -- the narrower operand's width when it is unsigned, the wider one's when it is signed."""
    (wa, sa), (wb, sb) = wire_shape(*a), wire_shape(*b)
    narrow_signed = sa if wa <= wb else sb
    return max(wa, wb) if narrow_signed else min(wa, wb)
