"""Python reference of the planned computation (reuse, early exit, inclusion) with op counts.

It follows the firmware step by step: kernels in plan order; each kernel walks its planned
positions in ascending order (with ``zero_skip``, the sample's non-zero inputs where those are
fewer), ``tile`` entries per tile; early-exit checks before the first tile (inclusion) and after
every tile. Counts are the firmware's: inputs summed, tiles evaluated, and one word addition per
child that is not settled before its first tile. Channels whose max-pooling window already holds
a 1 are skipped (``known_one``) unless an unknown channel starts from them. Window reuse has its
own step, ``evaluate_window_change``.
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
    tiles: int = 0  # tile rows evaluated (cycles of a folded unit)

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


def from_parent(plan: ReusePlan, j: int, values: np.ndarray) -> np.ndarray:
    """Kernel j's start: its parent's column of values (or changes), negated in the complement form."""
    parent = values[:, int(plan.parent[j])]
    return -parent if plan.negate[j] else parent


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
    _, outputs, counts = evaluate_values(unit, x_raw, known_one)
    return outputs, counts


def evaluate_values(unit: UnitSpec, x_raw: np.ndarray, known_one: np.ndarray | None = None):
    """evaluate(), and every kernel's value (m, n_kernels): exact where the kernel did not stop early."""
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
    return y, outputs[:, : unit.n_out], counts


def evaluate_window_change(unit: UnitSpec, change: np.ndarray, y_previous: np.ndarray):
    """Window reuse: every kernel's value from the previous window's (m, n_kernels) and the input change x - x'.

    A kernel's change is its parent's (negated in the complement form) plus twice the sum of its weights times the
    changes at its planned positions (a root: once, over every position); it walks the shorter of the changed
    positions and its planned ones, and counts only non-zero changes. Word additions: the parent's change and the
    previous value (one for a root). Returns the values, the outputs (as evaluate) and the counts.
    """
    change = np.asarray(change, dtype=np.int64)
    m, plan = len(change), unit.plan
    delta = np.zeros((m, unit.n_kernels), dtype=np.int64)
    changed = change != 0
    n_changed = changed.sum(axis=1)
    counts = Counts()
    for j in plan.order:
        planned = np.flatnonzero(plan.mask[j])
        walked = np.minimum(n_changed, planned.size)
        counts.tiles += int((-(-walked // unit.tile)).sum())
        counts.inputs += int(changed[:, planned].sum())
        own = change[:, planned] @ np.where(unit.kernels[j, planned], 1, -1)
        parent = int(plan.parent[j])
        if parent == ROOT:
            delta[:, j] = own
            counts.word_adds += m
        else:
            delta[:, j] = from_parent(plan, j, delta) + 2 * own
            counts.word_adds += 2 * m
    y = y_previous + delta
    if unit.thresholds is None:
        return y, y[:, : unit.n_out], counts
    bits = np.stack([unit.thresholds.apply_channel(j, y[:, j]) for j in range(unit.n_out)], axis=1)
    return y, bits.astype(np.int64), counts


class _Walk:
    """What one channel walks on each sample, row by row (hls4ml_reuse_walk.h): a row is a folded unit's clock.

    Its planned positions; with zero skipping, the sample's non-zero inputs instead where those are fewer (banked:
    where they take fewer rows), adding the planned ones. Gathered lanes cut the walked entries into rows of `tile`
    in order; banked lanes take each entry in its bank's lane (position mod tile), one row per rank in the bank. A
    walked zero takes the row of the next non-zero input of its walk; it adds nothing and is not counted.
    """

    def __init__(self, unit: UnitSpec, j: int, x_raw: np.ndarray):
        self.unit = unit
        planned = np.flatnonzero(unit.plan.mask[j])
        inputs = x_raw[:, planned]
        planned_rows = unit.rows_of(planned)
        self.n_tiles = int(planned_rows.max()) + 1 if planned.size else 0  # rows of the longest walk
        self.length = np.full(len(x_raw), planned.size)  # entries walked per sample
        self.rows = np.full(len(x_raw), self.n_tiles)
        row_of = np.broadcast_to(planned_rows, inputs.shape)
        self._loads = unit.bank_loads(unit.plan.mask[j][None, :]) if unit.banked else None  # entries per bank
        if unit.zero_skip:
            row_of = self._over_nonzero(x_raw != 0, planned, row_of)
        counted = inputs != 0 if unit.zero_skip else np.ones(inputs.shape, dtype=bool)
        products = inputs * np.where(unit.kernels[j, planned], 1, -1)
        m = len(x_raw)
        self.inputs = _per_tile(row_of, counted, m, self.n_tiles)  # (m, n_tiles): inputs each row adds
        self._sums = np.cumsum(_per_tile(row_of, products, m, self.n_tiles), axis=1)

    def _over_nonzero(self, nonzero: np.ndarray, planned: np.ndarray, row_of: np.ndarray) -> np.ndarray:
        """Switch the samples whose non-zero inputs make the shorter walk to it; the planned positions' rows."""
        unit, tile = self.unit, self.unit.tile
        n_nonzero = nonzero.sum(axis=1)
        if unit.banked:
            loads = unit.bank_loads(nonzero)
            rows = loads.max(axis=1)
            over = rows < self.n_tiles
            before = _nonzero_before_in_bank(nonzero, tile)
            self._loads = np.where(over[:, None], loads, self._loads)
        else:
            rows = -(-n_nonzero // tile)
            over = n_nonzero < planned.size
            before = (np.cumsum(nonzero, axis=1) - nonzero) // tile
        self.length = np.where(over, n_nonzero, self.length)
        self.rows = np.where(over, rows, self.rows)
        return np.where(over[:, None], before[:, planned], row_of)

    def walked_through(self, t: int) -> np.ndarray:
        """Entries walked in rows 0..t, per sample."""
        if self._loads is None:
            return np.minimum(self.length, (t + 1) * self.unit.tile)
        return np.minimum(self._loads, t + 1).sum(axis=1)

    def partial_after(self, t: int) -> np.ndarray:
        return self._sums[:, t]


def _nonzero_before_in_bank(nonzero: np.ndarray, tile: int) -> np.ndarray:
    """(m, K): the non-zero inputs before each position in its bank (positions k, k + tile, ... of k mod tile)."""
    before = np.zeros(nonzero.shape, dtype=np.int64)
    for bank in range(tile):
        column = nonzero[:, bank::tile]
        before[:, bank::tile] = np.cumsum(column, axis=1) - column
    return before


def _per_tile(tile_of: np.ndarray, values: np.ndarray, m: int, n_tiles: int) -> np.ndarray:
    """(m, n_tiles): the sum of each sample's values over each tile (exact: sums far below 2^53)."""
    flat = (np.arange(m)[:, None] * n_tiles + tile_of).ravel()
    sums = np.bincount(flat, weights=values.ravel().astype(np.float64), minlength=m * n_tiles)
    return np.rint(sums).astype(np.int64).reshape(m, n_tiles)


class _Channel:
    """One output channel over all samples, as the firmware evaluates it: base, tiles, early-exit checks."""

    def __init__(self, unit: UnitSpec, j: int, y: np.ndarray, m: int, active: np.ndarray | None):
        self.unit, self.j = unit, j
        self.is_child = int(unit.plan.parent[j]) != ROOT
        self.base = from_parent(unit.plan, j, y) if self.is_child else np.zeros(m, dtype=np.int64)
        self.scale = 2 if self.is_child else 1
        self.partial = np.zeros(m, dtype=np.int64)
        self.active = np.ones(m, dtype=bool) if active is None else active.copy()
        self.exits = unit.may_exit(j)
        self.settled = np.zeros(m, dtype=bool)  # stopped early, with its bit in self.early_bit
        self.early_bit = np.zeros(m, dtype=bool)
        self.y_limit = unit.n_in * unit.input_bound  # every output lies in [-K*B, K*B]

    def run(self, x_raw: np.ndarray, counts: Counts) -> None:
        walk = _Walk(self.unit, self.j, x_raw)
        self.remaining = walk.length.copy()  # entries not yet walked, per sample: the early-exit bound
        self._settle()  # the inclusion test, before the first tile
        if self.is_child:
            counts.word_adds += int(self.active.sum())
        for t in range(walk.n_tiles):
            in_tile = self.active & (walk.rows > t)
            if not in_tile.any():
                break
            counts.tiles += int(in_tile.sum())
            counts.inputs += int(walk.inputs[in_tile, t].sum())
            self.partial[in_tile] = walk.partial_after(t)[in_tile]
            self.remaining[in_tile] = (walk.length - walk.walked_through(t))[in_tile]
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
