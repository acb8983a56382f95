"""The layouts of a unit's weight tables: what hls4ml writes as weights and the firmware reads."""

from __future__ import annotations

import numpy as np
from hls4ml.model.types import IntegerPrecisionType

from ..plan.spanning_tree import ROOT
from ..plan.unit import UnitSpec
from .constants import FLAG_EXIT, FLAG_NEGATE


def position_table(unit: UnitSpec) -> tuple[np.ndarray, np.ndarray]:
    """Every kernel's walk over its planned positions, concatenated in evaluation order, and their offsets.

    Gathered lanes: the planned positions, ascending. Banked lanes: `tile` slots per row of the walk, lane i of row r
    holding the r-th planned position k of bank i as k // tile, or n_slots where the bank has no more
    (hls4ml_reuse_tables.h lane_position).
    """
    plan = unit.plan
    walks = [_banked_walk(unit, j) if unit.banked else np.flatnonzero(plan.mask[j]) for j in plan.order]
    offsets = np.zeros(plan.n_kernels, dtype=np.int64)
    offsets[plan.order] = np.cumsum([0] + [len(walk) for walk in walks[:-1]])
    table = np.concatenate(walks) if sum(len(walk) for walk in walks) else np.zeros(1, dtype=np.int64)
    return table.astype(np.int64), offsets


def n_slots(unit: UnitSpec) -> int:
    """Inputs per bank: the slot that marks a spent bank."""
    return -(-unit.n_in // unit.tile)


def _banked_walk(unit: UnitSpec, j: int) -> np.ndarray:
    positions = np.flatnonzero(unit.plan.mask[j])
    rows = np.full((int(unit.planned_rows()[j]), unit.tile), n_slots(unit), dtype=np.int64)
    rows[unit.rows_of(positions), positions % unit.tile] = positions // unit.tile
    return rows.reshape(-1)


def plan_table(unit: UnitSpec, offsets: np.ndarray) -> np.ndarray:
    """The firmware's plan rows (constants.PLAN_FIELDS), in evaluation order."""
    plan, rows = unit.plan, unit.planned_rows()
    table = []
    for j in plan.order:
        parent = int(plan.parent[j])
        flags = (FLAG_NEGATE if plan.negate[j] else 0) | (FLAG_EXIT if unit.may_exit(j) else 0)
        parent_field = 0 if parent == ROOT else parent + 1
        table.append([j, parent_field, flags, int(plan.n_positions[j]), int(offsets[j]), int(rows[j])])
    return np.array(table, dtype=np.int64).reshape(-1)


def index_type(largest: int, max_width: int) -> IntegerPrecisionType:
    """Unsigned type that holds 0..largest; positions fit 16 bits (the C-simulation copy), plan entries 32."""
    width = max(1, int(largest).bit_length())
    if width > max_width:
        raise ValueError(f'a table entry of {largest} exceeds the {max_width}-bit format of the reuse unit')
    return IntegerPrecisionType(width, signed=False)
