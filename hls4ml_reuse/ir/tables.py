"""The layouts of a unit's weight tables: what hls4ml writes as weights and the firmware reads."""

from __future__ import annotations

import numpy as np
from hls4ml.model.types import IntegerPrecisionType

from ..plan.spanning_tree import ROOT, ReusePlan
from .constants import FLAG_EXIT, FLAG_NEGATE


def position_table(plan: ReusePlan) -> tuple[np.ndarray, np.ndarray]:
    """Every kernel's planned positions (ascending), concatenated in evaluation order, and their offsets."""
    lists = [np.flatnonzero(plan.mask[j]) for j in plan.order]
    offsets = np.zeros(plan.n_kernels, dtype=np.int64)
    offsets[plan.order] = np.cumsum([0] + [len(p) for p in lists[:-1]])
    table = np.concatenate(lists) if sum(len(p) for p in lists) else np.zeros(1, dtype=np.int64)
    return table.astype(np.int64), offsets


def plan_table(plan: ReusePlan, may_exit: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The firmware's plan rows (constants.PLAN_FIELDS), in evaluation order."""
    rows = []
    for j in plan.order:
        parent = int(plan.parent[j])
        flags = (FLAG_NEGATE if plan.negate[j] else 0) | (FLAG_EXIT if may_exit[j] else 0)
        rows.append([j, 0 if parent == ROOT else parent + 1, flags, int(plan.n_positions[j]), int(offsets[j])])
    return np.array(rows, dtype=np.int64).reshape(-1)


def index_type(largest: int, max_width: int) -> IntegerPrecisionType:
    """Unsigned type that holds 0..largest; positions fit 16 bits (the C-simulation copy), plan entries 32."""
    width = max(1, int(largest).bit_length())
    if width > max_width:
        raise ValueError(f'a table entry of {largest} exceeds the {max_width}-bit format of the reuse unit')
    return IntegerPrecisionType(width, signed=False)
