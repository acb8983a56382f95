"""The unit specification: what the passes hand to the IR layer, the templates and the reference.

One planned binary unit, dense or convolutional alike: a convolution evaluates the same unit on
every window. The first ``n_out`` kernels are the layer's output channels; any after them are virtual
(Steiner) kernels that only serve as parents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cost import OperationCost
from .spanning_tree import ReusePlan
from .thresholds import Thresholds


def signed_width(bound: int) -> int:
    """Bits of a signed integer that holds every value in [-bound, bound]."""
    return max(2, math.ceil(math.log2(bound + 1)) + 1)


@dataclass(frozen=True)
class InputFormat:
    """One raw input of a unit: a -1/+1 bit, or a fixed-point value x as the integer x * 2^frac_bits.

    Every backend reads it from here: the HLS templates (raw type, scaling), the RTL ports, the cost model.
    """

    binary: bool  # one bit per input, 1 = +1, 0 = -1
    frac_bits: int = 0  # fixed point: raw integer = value * 2^frac_bits
    width: int = 1  # bits of one raw value
    signed: bool = False  # fixed point: two's complement

    @classmethod
    def bits(cls) -> InputFormat:
        return cls(binary=True)

    @property
    def low(self) -> int:
        return -1 if self.binary else (-(1 << (self.width - 1)) if self.signed else 0)

    @property
    def high(self) -> int:
        return 1 if self.binary else ((1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1)

    @property
    def bound(self) -> int:
        """Largest |raw value| (the early-exit bound B)."""
        return max(-self.low, self.high)

    def sum_width(self, n_in: int) -> int:
        """Two's-complement bits of a raw sum of n_in inputs: |y| <= n_in * bound."""
        return signed_width(n_in * self.bound)

    def representable(self, vectors: np.ndarray) -> np.ndarray:
        """Which rows of raw inputs the format holds (a binary input has no 0: a `same` convolution's padding)."""
        if self.binary:
            return np.all(np.abs(vectors) == 1, axis=1)
        return np.all((vectors >= self.low) & (vectors <= self.high), axis=1)


@dataclass(frozen=True)
class UnitSpec:
    kernels: np.ndarray  # bool (n, k), True = +1
    plan: ReusePlan
    input_format: InputFormat  # one raw input
    tile: int = 8
    thresholds: Thresholds | None = None  # None: the layer outputs its raw sums
    early_exit: bool = True
    cost: OperationCost | None = None  # how its terms and adder bits are counted
    n_outputs: int | None = None  # output channels: the first n_outputs kernels (None: all of them)
    zero_skip: bool = False  # only non-zero inputs enter the sums (fixed-point inputs)
    window_reuse: bool = False  # a convolution window from its left neighbour's values (nothing exits early)
    unrolled: bool = False  # the unrolled shape: every planned term, one window per clock (nothing exits early)

    @property
    def input_bound(self) -> int:
        """Largest |x| of a raw input (1 for binary)."""
        return self.input_format.bound

    @property
    def n_out(self) -> int:
        return self.kernels.shape[0] if self.n_outputs is None else self.n_outputs

    @property
    def n_kernels(self) -> int:
        """Output channels plus virtual kernels."""
        return self.kernels.shape[0]

    @property
    def n_in(self) -> int:
        return self.kernels.shape[1]

    def may_exit(self, j: int) -> bool:
        if self.window_reuse or self.unrolled:  # values reused by the next window; or everything evaluated
            return False
        return j < self.n_out and self.thresholds is not None and self.early_exit and not self.plan.has_children[j]
