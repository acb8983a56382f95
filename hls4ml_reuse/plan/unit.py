"""The unit specification: one planned binary unit, described once for every backend.

A unit is dense or convolutional alike: a convolution evaluates the same unit on every window. The first ``n_out``
kernels are the layer's output channels; any after them are virtual (Steiner) kernels that only serve as parents.
The pass builds the spec once (passes/binary_unit.py); the layer's attributes and tables (ir/layers.py), the HLS
templates, the Python reference (sim/unit.py), the cost and cycle models (plan/hardware.py, plan/folding.py) and
the RTL (synth/) all read it, and each width or format below is derived here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from ..ir.constants import TILES
from .cost import OperationCost
from .spanning_tree import ROOT, ReusePlan
from .thresholds import Thresholds


class Design(StrEnum):
    """Whose datapath: our reuse plan, or our model of stock hls4ml's (every kernel from scratch)."""

    REUSE = 'reuse'
    STOCK = 'stock'


class Shape(StrEnum):
    """FOLDED: `tile` lanes, one tile of positions per clock (the levers apply); UNROLLED: every planned term, one
    window per clock."""

    FOLDED = 'folded'
    UNROLLED = 'unrolled'


class FoldedVariant(StrEnum):
    """How a folded lane reaches its input (plan/folding.py): stock's in-order lanes, ours gathered, ours banked."""

    STOCK = 'stock'
    GATHERED = 'gathered'
    BANKED = 'banked'


class OutputEncoding(StrEnum):
    """What a unit writes per channel: its raw sum, hls4ml's threshold bit (1 = +1, 0 = -1), or -1/+1."""

    SUMS = 'sums'
    BITS = 'bits'
    BIPOLAR = 'bipolar'


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

    @property
    def raw_width(self) -> int:
        """Signed bits of one raw input in the firmware: its value, or 0 for a convolution's padding."""
        return self.width + 1

    def sum_width(self, n_in: int) -> int:
        """Two's-complement bits of a raw sum of n_in inputs: |y| <= n_in * bound."""
        return signed_width(n_in * self.bound)

    def representable(self, vectors: np.ndarray) -> np.ndarray:
        """Which rows of raw inputs the format holds (a binary input has no 0: a `same` convolution's padding)."""
        if self.binary:
            return np.all(np.abs(vectors) == 1, axis=1)
        return np.all((vectors >= self.low) & (vectors <= self.high), axis=1)


@dataclass(frozen=True)
class Folding:
    """How the unit is laid out in time: the shape and, folded, its `tile` lanes (positions per clock) and how
    they reach their inputs: gathered (lane i reads any position) or banked (lane i reads only bank i, the
    positions k with k mod tile == i: stock's lane multiplexer, at a clock per row of the busiest bank).

    Per-layer parallelism (several kernels per clock, issue 20) belongs here too.
    """

    shape: Shape = Shape.FOLDED
    tile: int = 8
    banked: bool = False

    def __post_init__(self):
        if self.tile not in TILES:
            raise ValueError(f'tile {self.tile} is not one the units implement: {", ".join(map(str, TILES))}')
        object.__setattr__(self, 'shape', Shape(self.shape))


@dataclass(frozen=True)
class ConvGeometry:
    """A 2-D convolution's geometry (channels last), as hls4ml's Conv2D has it; padded positions are 0."""

    in_height: int
    in_width: int
    n_chan: int
    filt_height: int
    filt_width: int
    stride_height: int
    stride_width: int
    pad_top: int
    pad_left: int
    out_height: int
    out_width: int

    @property
    def window(self) -> int:
        """Inputs per window: the unit's K."""
        return self.filt_height * self.filt_width * self.n_chan

    @property
    def windows(self) -> int:
        """Windows per image: one per output pixel."""
        return self.out_height * self.out_width


@dataclass(frozen=True)
class Pooling:
    """A max pooling the convolution absorbs (no padding, stride = pool), writing the pooled map."""

    pool_height: int
    pool_width: int
    pooled_height: int
    pooled_width: int

    @classmethod
    def none(cls, geometry: ConvGeometry) -> Pooling:
        return cls(1, 1, geometry.out_height, geometry.out_width)

    @property
    def absorbed(self) -> bool:
        return self.pool_height * self.pool_width > 1


def accumulator_width(n_in: int, fmt: InputFormat) -> int:
    """Bits of the unit's sums and early-exit bounds: they reach 3 * K * B (a child from a negated parent)."""
    return signed_width(3 * n_in * fmt.bound)


@dataclass(frozen=True)
class UnitSpec:
    kernels: np.ndarray  # bool (n, k), True = +1
    plan: ReusePlan
    input_format: InputFormat  # one raw input
    folding: Folding = field(default_factory=Folding)
    thresholds: Thresholds | None = None  # None: the layer outputs its raw sums
    early_exit: bool = True  # childless thresholded channels may stop early (never with window reuse or unrolled)
    cost: OperationCost | None = None  # how its terms and adder bits are counted
    n_outputs: int | None = None  # output channels: the first n_outputs kernels (None: all of them)
    zero_skip: bool = False  # only non-zero inputs enter the sums (fixed-point inputs)
    window_reuse: bool = False  # a convolution window from its left neighbour's values (nothing exits early)
    bipolar_output: bool = False  # thresholded bits written as -1/+1 (int<2>), not hls4ml's 0/1
    geometry: ConvGeometry | None = None  # a convolution's; None for a dense unit
    pooling: Pooling | None = None  # a convolution's absorbed max pooling; None: none

    def __post_init__(self):
        if self.window_reuse or self.unrolled:  # values reused by the next window; or everything evaluated
            object.__setattr__(self, 'early_exit', False)
        if self.banked and self.window_reuse:
            raise ValueError('banked lanes walk planned positions by bank; window reuse walks the changed inputs')
        if self.geometry is not None and self.pooling is None:
            object.__setattr__(self, 'pooling', Pooling.none(self.geometry))

    # Sizes
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

    @property
    def windows(self) -> int:
        """Input vectors the unit evaluates per image."""
        return 1 if self.geometry is None else self.geometry.windows

    @property
    def absorbs_pooling(self) -> bool:
        return self.pooling is not None and self.pooling.absorbed

    # Folding
    @property
    def tile(self) -> int:
        return self.folding.tile

    @property
    def unrolled(self) -> bool:
        return self.folding.shape is Shape.UNROLLED

    @property
    def banked(self) -> bool:
        return self.folding.banked and not self.unrolled

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        """The tile row (clock) of each entry of a walk over ascending `positions`: gathered, runs of `tile`
        entries; banked, its rank among the walk's positions in its bank (lane = position mod tile)."""
        positions = np.asarray(positions)
        if not self.banked:
            return np.arange(len(positions)) // self.tile
        return rank_in_bank(positions[None, :] % self.tile, self.tile)[0]

    def planned_rows(self) -> np.ndarray:
        """Per kernel, the rows (clocks of a folded unit) of its walk over its planned positions: ceil(n / tile), or
        banked, the load of its busiest bank."""
        if self.banked:
            return self.bank_loads(self.plan.mask).max(axis=1)
        return -(-self.plan.n_positions // self.tile)

    def bank_loads(self, walked: np.ndarray) -> np.ndarray:
        """(m, tile): how many of each row's walked positions (bool (m, K)) fall in each bank."""
        banks = np.arange(walked.shape[1]) % self.tile
        return np.stack([walked[:, banks == b].sum(axis=1) for b in range(self.tile)], axis=1)

    # Formats and widths
    @property
    def input_bound(self) -> int:
        """Largest |x| of a raw input (1 for binary)."""
        return self.input_format.bound

    @property
    def sum_bound(self) -> int:
        """Largest |raw sum|: K * B."""
        return self.n_in * self.input_format.bound

    @property
    def sum_width(self) -> int:
        """Bits of a raw sum: the RTL's output ports, a raw-output unit's result type."""
        return self.input_format.sum_width(self.n_in)

    @property
    def accum_width(self) -> int:
        return accumulator_width(self.n_in, self.input_format)

    @property
    def threshold_width(self) -> int:
        """Bits of a raw threshold: in [-K*B, K*B + 1]."""
        return signed_width(self.sum_bound + 1)

    @property
    def thresholded(self) -> bool:
        return self.thresholds is not None

    @property
    def output_encoding(self) -> OutputEncoding:
        if not self.thresholded:
            return OutputEncoding.SUMS
        return OutputEncoding.BIPOLAR if self.bipolar_output else OutputEncoding.BITS

    def may_exit(self, j: int) -> bool:
        return j < self.n_out and self.thresholded and self.early_exit and not self.plan.has_children[j]

    def dependants(self) -> np.ndarray:
        """(kernels, n_out) bool: the output channels in each kernel's subtree of the plan, itself included. With a
        max pooling absorbed, a kernel is needed while one of them is not known (the firmware's mark_needed)."""
        found = np.zeros((self.n_kernels, self.n_out), dtype=bool)
        outputs = np.arange(self.n_out)
        found[outputs, outputs] = True
        for j in self.plan.order[::-1]:  # children follow their parents
            parent = int(self.plan.parent[j])
            if parent != ROOT:
                found[parent] |= found[int(j)]
        return found


def rank_in_bank(banks: np.ndarray, tile: int) -> np.ndarray:
    """(m, n): for each entry, how many entries before it in its row share its bank."""
    ranks = np.zeros(banks.shape, dtype=np.int64)
    for bank in range(tile):
        in_bank = banks == bank
        ranks[in_bank] = (np.cumsum(in_bank, axis=1) - 1)[in_bank]
    return ranks
