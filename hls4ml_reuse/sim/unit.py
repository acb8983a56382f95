"""Python reference of the planned computation (reuse, early exit, inclusion) with op counts.

It follows the firmware step by step: kernels in plan order; each kernel's planned positions,
in ascending order, gathered into tiles of ``tile`` positions; early-exit checks before the
first tile (inclusion) and after every tile. Counts are the firmware's: inputs summed, tiles
evaluated, and one word addition per child that is not settled before its first tile. Channels
whose max-pooling window already holds a 1 are skipped (``known_one``) unless an unknown channel
starts from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..plan.spanning_tree import ROOT, ReusePlan
from ..plan.thresholds import AT_MOST
from ..plan.unit import UnitSpec


@dataclass
class Counts:
    inputs: int = 0  # input values that entered an accumulation
    word_adds: int = 0  # deltas applied to a parent's value
    tiles: int = 0  # tiles of gathered positions evaluated (cycles of a folded unit)

    def __iadd__(self, other: Counts) -> Counts:
        self.inputs += other.inputs
        self.word_adds += other.word_adds
        self.tiles += other.tiles
        return self


def plain_dense(kernels: np.ndarray, x_raw: np.ndarray) -> np.ndarray:
    """y = x . w for +-1 kernels (n, k) and raw integer inputs (m, k)."""
    return x_raw.astype(np.int64) @ np.where(kernels, 1, -1).T.astype(np.int64)


def _decided(lo, hi, threshold, mode):
    """(known, value) of [y >= t] (or [y <= t]) for y in [lo, hi]."""
    if mode == AT_MOST:
        return (hi <= threshold) | (lo > threshold), hi <= threshold
    return (lo >= threshold) | (hi < threshold), lo >= threshold


def needed_channels(plan: ReusePlan, known_one: np.ndarray) -> np.ndarray:
    """(m, kernels): a channel is needed where its output is not known, or where a needed channel starts from it.

    ``known_one`` covers the output channels; a virtual kernel after them is needed only through its children.
    """
    known_one = np.asarray(known_one, dtype=bool)
    virtual = np.ones((len(known_one), plan.n_kernels - known_one.shape[1]), dtype=bool)
    needed = ~np.concatenate([known_one, virtual], axis=1)
    for j in plan.order[::-1]:  # children follow their parents in the plan
        parent = int(plan.parent[j])
        if parent != ROOT:
            needed[:, parent] |= needed[:, j]
    return needed


def evaluate(unit: UnitSpec, x_raw: np.ndarray, known_one: np.ndarray | None = None) -> tuple[np.ndarray, Counts]:
    """Outputs (m, n_out) -- raw sums, or bits when thresholded -- and the op counts over all m samples.

    Virtual kernels are evaluated (and counted) like the others, but are not outputs.
    ``known_one`` (m, n_out) marks outputs already known to be 1 (their max-pooling window holds a 1):
    a thresholded channel skips those samples and outputs 1, unless a channel it is the parent of is needed.
    """
    x_raw = np.asarray(x_raw, dtype=np.int64)
    m = len(x_raw)
    y = np.zeros((m, unit.n_kernels), dtype=np.int64)
    bits = np.zeros((m, unit.n_kernels), dtype=bool)
    counts = Counts()
    needed = None if known_one is None or unit.thresholds is None else needed_channels(unit.plan, known_one)
    for j in unit.plan.order:
        channel = _Channel(unit, int(j), y, m, active=None if needed is None else needed[:, j])
        bits[~channel.active, j] = needed is not None  # skipped: known to be 1
        channel.run(x_raw, counts)
        y[:, j] = channel.value()
        bits[:, j] = channel.bits(bits[:, j])
    outputs = bits.astype(np.int64) if unit.thresholds is not None else y
    return outputs[:, : unit.n_out], counts


class _Channel:
    """One output channel over all samples, as the firmware evaluates it: base, tiles, early-exit checks."""

    def __init__(self, unit: UnitSpec, j: int, y: np.ndarray, m: int, active: np.ndarray | None):
        self.unit, self.j = unit, j
        parent = int(unit.plan.parent[j])
        self.is_child = parent != ROOT
        self.base = (
            np.zeros(m, dtype=np.int64) if not self.is_child else (-y[:, parent] if unit.plan.negate[j] else y[:, parent])
        )
        self.scale = 2 if self.is_child else 1
        self.partial = np.zeros(m, dtype=np.int64)
        self.remaining = np.full(m, int(unit.plan.n_positions[j]), dtype=np.int64)
        self.active = np.ones(m, dtype=bool) if active is None else active.copy()
        self.exits = unit.may_exit(j)
        self.settled = np.zeros(m, dtype=bool)  # stopped early, with its bit in self.early_bit
        self.early_bit = np.zeros(m, dtype=bool)
        self.y_limit = unit.n_in * unit.input_bound  # every output lies in [-K*B, K*B]

    def run(self, x_raw: np.ndarray, counts: Counts) -> None:
        weights = np.where(self.unit.kernels[self.j], 1, -1).astype(np.int64)
        self._settle()  # the inclusion test, before the first tile
        if self.is_child:
            counts.word_adds += int(self.active.sum())
        planned = np.flatnonzero(self.unit.plan.mask[self.j])
        for start in range(0, planned.size, self.unit.tile):
            if not self.active.any():
                break
            positions = planned[start : start + self.unit.tile]
            counts.tiles += int(self.active.sum())
            counts.inputs += positions.size * int(self.active.sum())
            self.partial[self.active] += x_raw[np.ix_(self.active, positions)] @ weights[positions]
            self.remaining[self.active] -= positions.size
            self._settle()

    def _settle(self) -> None:
        """Stop the samples whose side of the threshold is certain (childless thresholded channels only)."""
        if not self.exits:
            return
        spread = self.scale * self.remaining * self.unit.input_bound
        value = self.value()
        lo, hi = np.maximum(value - spread, -self.y_limit), np.minimum(value + spread, self.y_limit)
        known, bit = _decided(lo, hi, self.unit.thresholds.value[self.j], self.unit.thresholds.mode[self.j])
        now = self.active & known
        self.early_bit[now], self.settled[now] = bit[now], True
        self.active[now] = False

    def value(self) -> np.ndarray:
        return self.base + self.scale * self.partial

    def bits(self, skipped: np.ndarray) -> np.ndarray:
        """Threshold bits: early where it stopped, from the full value where it ran, `skipped` elsewhere."""
        if self.unit.thresholds is None or self.j >= self.unit.n_out:
            return skipped
        full = self.unit.thresholds.apply_channel(self.j, self.value())
        return np.where(self.settled, self.early_bit, np.where(self.active, full, skipped))
