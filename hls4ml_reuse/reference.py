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

from .planner import ROOT, ReusePlan
from .thresholds import AT_MOST, Thresholds


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


@dataclass(frozen=True)
class DenseUnit:
    kernels: np.ndarray  # bool (n, k), True = +1
    plan: ReusePlan
    input_bound: int  # largest |x| of the raw input type (1 for binary)
    tile: int = 8
    thresholds: Thresholds | None = None  # None: the layer outputs its raw sums
    early_exit: bool = True

    def may_exit(self, j: int) -> bool:
        return self.thresholds is not None and self.early_exit and not self.plan.has_children[j]


def plain_dense(kernels: np.ndarray, x_raw: np.ndarray) -> np.ndarray:
    """y = x . w for +-1 kernels (n, k) and raw integer inputs (m, k)."""
    return x_raw.astype(np.int64) @ np.where(kernels, 1, -1).T.astype(np.int64)


def _decided(lo, hi, threshold, mode):
    """(known, value) of [y >= t] (or [y <= t]) for y in [lo, hi]."""
    if mode == AT_MOST:
        return (hi <= threshold) | (lo > threshold), hi <= threshold
    return (lo >= threshold) | (hi < threshold), lo >= threshold


def needed_channels(plan: ReusePlan, known_one: np.ndarray) -> np.ndarray:
    """(m, n): a channel is needed where its output is not known, or where a needed channel starts from it."""
    needed = ~np.asarray(known_one, dtype=bool)
    for j in plan.order[::-1]:  # children follow their parents in the plan
        parent = int(plan.parent[j])
        if parent != ROOT:
            needed[:, parent] |= needed[:, j]
    return needed


def evaluate(unit: DenseUnit, x_raw: np.ndarray, known_one: np.ndarray | None = None) -> tuple[np.ndarray, Counts]:
    """Outputs (m, n) -- raw sums, or bits when thresholded -- and the op counts over all m samples.

    ``known_one`` (m, n) marks outputs already known to be 1 (their max-pooling window holds a 1):
    a thresholded channel skips those samples and outputs 1, unless a channel it is the parent of is needed.
    """
    x_raw = np.asarray(x_raw, dtype=np.int64)
    m, k = x_raw.shape
    n = unit.kernels.shape[0]
    y = np.zeros((m, n), dtype=np.int64)
    bits = np.zeros((m, n), dtype=bool)
    counts = Counts()
    y_limit = k * unit.input_bound
    needed = None if known_one is None or unit.thresholds is None else needed_channels(unit.plan, known_one)
    for j in unit.plan.order:
        j = int(j)
        weights = np.where(unit.kernels[j], 1, -1).astype(np.int64)
        p = int(unit.plan.parent[j])
        base = np.zeros(m, dtype=np.int64) if p == ROOT else (-y[:, p] if unit.plan.negate[j] else y[:, p])
        scale = 1 if p == ROOT else 2
        partial = np.zeros(m, dtype=np.int64)
        remaining = np.full(m, int(unit.plan.n_positions[j]), dtype=np.int64)
        active = np.ones(m, dtype=bool)
        if needed is not None:
            active = needed[:, j].copy()
            bits[~active, j] = True
        exits = unit.may_exit(j)

        def settle():
            spread = scale * remaining * unit.input_bound
            value = base + scale * partial
            # Every output also lies in [-K*B, K*B]: this settles constant children at zero cost.
            lo, hi = np.maximum(value - spread, -y_limit), np.minimum(value + spread, y_limit)
            known, bit = _decided(lo, hi, unit.thresholds.value[j], unit.thresholds.mode[j])
            now = active & known
            bits[now, j] = bit[now]
            active[now] = False

        if exits:
            settle()
        if p != ROOT:
            counts.word_adds += int(active.sum())
        planned = np.flatnonzero(unit.plan.mask[j])
        for start in range(0, planned.size, unit.tile):
            if not active.any():
                break
            positions = planned[start : start + unit.tile]
            counts.tiles += int(active.sum())
            partial[active] += x_raw[np.ix_(active, positions)] @ weights[positions]
            remaining[active] -= positions.size
            counts.inputs += positions.size * int(active.sum())
            if exits:
                settle()
        y[:, j] = base + scale * partial
        if unit.thresholds is not None:
            bit = unit.thresholds.apply_channel(j, y[:, j])
            bits[active, j] = bit[active]
    return (bits.astype(np.int64) if unit.thresholds is not None else y), counts
