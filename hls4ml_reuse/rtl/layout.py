"""The ROM contents of a folded RTL unit, derived from its UnitSpec (the HLS tables' facts, laid out for lanes).

The HLS firmware reads a concatenated position table at any offset; an RTL lane bank reads one row per clock, so
here every step's planned positions are cut into rows of `tile` entries (the last one padded), each entry the
position and the kernel's weight bit there. Banked lanes (lane i reads only positions k with k mod tile = i) take
a kernel's planned positions bank by bank instead: row r holds, in lane i, the r-th planned position of bank i as
its slot k // tile (the lane supplies k mod tile), or no entry (valid 0) where bank i has fewer. Step rows follow the plan's evaluation order and carry what a step
needs: its kernel, parent, flags, first tile row, threshold. Stock's twin has every kernel as a root, in channel
order, over every position (`root_plan`), so one row layout serves both designs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from ..plan.spanning_tree import ROOT, ReusePlan
from ..plan.thresholds import AT_MOST
from ..plan.unit import UnitSpec


def index_bits(count: int) -> int:
    """Bits of an unsigned index into `count` entries (at least 1)."""
    return max(1, (count - 1).bit_length())


def root_plan(kernels: np.ndarray) -> ReusePlan:
    """Stock's schedule as a plan: every channel from scratch, in channel order."""
    n, k = kernels.shape
    return ReusePlan(
        order=np.arange(n), parent=np.full(n, ROOT), negate=np.zeros(n, dtype=bool), mask=np.ones((n, k), dtype=bool)
    )


@dataclass(frozen=True)
class FoldedLayout:
    """The step and tile rows of one folded unit, and the field widths of both."""

    unit: UnitSpec
    plan: ReusePlan
    exits: np.ndarray  # bool per kernel: a thresholded leaf that may stop early
    in_order: bool = False  # stock: lane i reads positions i, i + tile, ...: a tile row holds only weights
    pool_exit: bool = False  # ours absorbing a max pooling: a step is skipped once its dependants are all known

    @classmethod
    def of(cls, unit: UnitSpec, stock: bool = False) -> FoldedLayout:
        if stock:
            plan = root_plan(unit.kernels[: unit.n_out])
            return cls(unit, plan, np.zeros(unit.n_out, dtype=bool), in_order=True)
        exits = np.array([unit.may_exit(j) for j in range(unit.n_kernels)], dtype=bool)
        return cls(unit, unit.plan, exits, pool_exit=unit.absorbs_pooling)

    @property
    def n_steps(self) -> int:
        return self.plan.n_kernels

    @property
    def step_attrs(self) -> dict | None:
        """The step table's memory attributes: with pool exit, block RAM. Its rows then hold n_out bits more, and
        Yosys' rule (a ROM in logic costs 1/64 LUT a bit) would keep the wide table in logic at a LUT or more a bit."""
        return {'rom_style': 'block'} if self.pool_exit else None

    @property
    def banked(self) -> bool:
        return self.unit.banked and not self.in_order

    def tiles_of(self, j: int) -> int:
        """Rows of kernel j's walk over its planned positions: ceil(n / tile), or banked, its busiest bank's load."""
        if self.banked:
            return int(self.unit.bank_loads(self.plan.mask[j][None, :]).max())
        return -(-int(self.plan.n_positions[j]) // self.unit.tile)

    @property
    def n_tile_rows(self) -> int:
        return max(1, sum(self.tiles_of(int(j)) for j in self.plan.order))

    # Layouts
    @property
    def walks_rows(self) -> bool:
        """Banked with zero skipping: a step compares its planned walk's rows with the non-zero inputs' rows."""
        return self.banked and self.unit.zero_skip

    @property
    def step_layout(self) -> data.StructLayout:
        unit = self.unit
        rows = {'rows': unsigned((-(-unit.n_in // unit.tile)).bit_length())} if self.walks_rows else {}
        return data.StructLayout(
            {
                **rows,  # its planned walk's rows (banked zero skipping only)
                'kernel': unsigned(index_bits(self.n_steps)),
                'parent': unsigned(index_bits(self.n_steps)),  # meaningful for children only
                'child': unsigned(1),
                'negate': unsigned(1),
                'exits': unsigned(1),
                'output': unsigned(1),  # an output channel (not a virtual kernel)
                'length': unsigned((unit.n_in).bit_length()),  # planned positions
                'length_bound': unsigned((unit.sum_bound).bit_length()),  # length * B: what they can add
                'tile_row': unsigned(index_bits(self.n_tile_rows)),  # its first row in the tile ROM
                'threshold': signed(unit.threshold_width),
                'at_most': unsigned(1),
                **({'dependants': unsigned(unit.n_out)} if self.pool_exit else {}),
            }
        )

    @property
    def entry_layout(self) -> data.StructLayout:
        if self.in_order:
            return data.StructLayout({'weight': unsigned(1)})
        if self.banked:
            slots = -(-self.unit.n_in // self.unit.tile)
            return data.StructLayout({'slot': unsigned(index_bits(slots)), 'weight': unsigned(1), 'valid': unsigned(1)})
        return data.StructLayout({'position': unsigned(index_bits(self.unit.n_in)), 'weight': unsigned(1)})

    @property
    def tile_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(self.entry_layout, self.unit.tile)

    # Contents
    def step_rows(self) -> list[dict]:
        rows, tile_row = [], 0
        thresholds = self.unit.thresholds
        dependants = self.unit.dependants() if self.pool_exit else None
        for j in self.plan.order:
            j = int(j)
            parent = int(self.plan.parent[j])
            thresholded = thresholds is not None and j < self.unit.n_out
            rows.append(
                {
                    **({'rows': self.tiles_of(j)} if self.walks_rows else {}),
                    'kernel': j,
                    'parent': max(parent, 0),
                    'child': int(parent != ROOT),
                    'negate': int(self.plan.negate[j]),
                    'exits': int(self.exits[j]),
                    'output': int(j < self.unit.n_out),
                    'length': int(self.plan.n_positions[j]),
                    'length_bound': int(self.plan.n_positions[j]) * self.unit.input_bound,
                    'tile_row': tile_row,
                    'threshold': int(thresholds.value[j]) if thresholded else 0,
                    'at_most': int(thresholded and thresholds.mode[j] == AT_MOST),
                    **({'dependants': _bits(dependants[j])} if self.pool_exit else {}),
                }
            )
            tile_row += self.tiles_of(j)
        return rows

    def tile_rows(self) -> list[list[dict]]:
        rows = []
        for j in self.plan.order:
            rows += self._banked_rows(int(j)) if self.banked else self._gathered_rows(int(j))
        return rows or [[self._entry(None, 0)] * self.unit.tile]

    def _gathered_rows(self, j: int) -> list[list[dict]]:
        tile, positions = self.unit.tile, np.flatnonzero(self.plan.mask[j])
        rows = []
        for start in range(0, len(positions), tile):
            entries = [self._entry(j, int(k)) for k in positions[start : start + tile]]
            rows.append(entries + [self._entry(None, 0)] * (tile - len(entries)))
        return rows

    def _banked_rows(self, j: int) -> list[list[dict]]:
        tile, positions = self.unit.tile, np.flatnonzero(self.plan.mask[j])
        rows = [[self._entry(None, 0)] * tile for _ in range(self.tiles_of(j))]
        for k, row in zip(positions, self.unit.rows_of(positions)):
            rows[int(row)][int(k) % tile] = self._entry(j, int(k))
        return rows

    def _entry(self, j: int | None, k: int) -> dict:
        """Kernel j's weight at position k (a padding entry when j is None: its lane is idle)."""
        weight = 0 if j is None else int(self.unit.kernels[j, k])
        if self.in_order:
            return {'weight': weight}
        if self.banked:
            return {'slot': k // self.unit.tile, 'weight': weight, 'valid': int(j is not None)}
        return {'position': k, 'weight': weight}

    def walk_rows(self) -> list[dict]:
        """Per step, its kernel's weights and planned positions as K-bit masks: a walk over the non-zero inputs
        looks both up at any position (zero skipping only)."""
        rows = []
        for j in self.plan.order:
            j = int(j)
            rows.append({'weights': _bits(self.unit.kernels[j]), 'planned': _bits(self.plan.mask[j])})
        return rows

    @property
    def walk_layout(self) -> data.StructLayout:
        return data.StructLayout({'weights': unsigned(self.unit.n_in), 'planned': unsigned(self.unit.n_in)})


def _bits(flags: np.ndarray) -> int:
    """An integer whose bit k is flags[k]."""
    return int(sum(1 << int(k) for k in np.flatnonzero(flags)))
