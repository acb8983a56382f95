"""Register stages of an unrolled unit: where its datapath is cut so that no stage is deeper than a LUT-level budget.

An unrolled child adds its correction to its parent's value, so a chain of the plan tree is a chain of adders: left
combinational, mlp-mnist fc1's deepest path is 95 LUT levels (synthesized), where stock's XNOR-popcount is 9. The
datapath is therefore cut along the plan tree: each kernel's value is computed in one stage, and a child whose
value would come too deep in its parent's stage is computed in the next one, from its parent's registered value.

The level model (checked against the synthesized netlist's deepest path, cells.lut_levels):
- a binary count over m positions: one level for its counting LUTs, one per level of the adder tree over its
  ceil(m / 6) counts; a fixed-point sum of m terms: one per level of its adder tree;
- a child's value: above the later of its parent's value and its count, one level for a fixed-point child's add,
  two for a binary one's (+-a_p + 2 * count + constant is a three-operand add: two adders);
- the output: OUTPUT_LEVELS more (2a - K and its threshold compare), plus one for a convolution's padding
  correction. Outputs are compared in the last stage, so every kernel's value must lie within
  budget - output levels of its stage.

The default budget is stock's depth (the stock twin, one popcount per kernel, is one stage deep at it), or where a
child of ours alone is deeper, that; both designs get the same budget, so they run at the same clock. Registers: every stage boundary registers the inputs still read after it and each
value still needed after it (by a child, or as an output until the last stage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spanning_tree import ROOT
from .sum_tree import COUNTER_INPUTS, wire_shape
from .unit import Design, UnitSpec

OUTPUT_LEVELS = 2  # 2a - K (or the raw sum) and its compare with the threshold
PADDING_LEVELS = 1  # a convolution's padded-window correction, before the compare


def count_levels(unit: UnitSpec, positions: int) -> int:
    """LUT levels of one kernel's sum over `positions` inputs (the model above)."""
    if positions == 0:
        return 0
    if unit.input_format.binary:
        counts = -(-positions // COUNTER_INPUTS)
        return 1 + (counts - 1).bit_length()
    return (positions - 1).bit_length()


def child_levels(unit: UnitSpec) -> int:
    """LUT levels of a child's add to its parent's value (the model above)."""
    return 2 if unit.input_format.binary else 1


def output_levels(unit: UnitSpec, padded: bool = False) -> int:
    return OUTPUT_LEVELS + (PADDING_LEVELS if padded else 0)


def stock_levels(unit: UnitSpec, padded: bool = False) -> int:
    """The stock twin's depth: a whole kernel's sum and its output."""
    return count_levels(unit, unit.n_in) + output_levels(unit, padded)


def smallest_budget(unit: UnitSpec, design: Design, padded: bool = False) -> int:
    """The least budget at which every kernel fits a stage: its own sum, a child's add, the output."""
    if Design(design) is Design.STOCK:
        return stock_levels(unit, padded)
    plan = unit.plan
    deepest = max(
        count_levels(unit, int(plan.mask[j].sum())) + child_levels(unit) * (int(plan.parent[j]) != ROOT)
        for j in range(unit.n_kernels)
    )
    return deepest + output_levels(unit, padded)


def default_budget(unit: UnitSpec, padded: bool = False) -> int:
    """Stock's depth, or where one of our children is deeper on its own (its count and its add), that: the same
    budget for both designs."""
    return max(stock_levels(unit, padded), smallest_budget(unit, Design.REUSE, padded))


@dataclass(frozen=True)
class StagePlan:
    """Per kernel, the stage its value is computed in and its LUT level there (model); `stages` in all."""

    budget: int
    stage: np.ndarray
    level: np.ndarray
    needed_until: np.ndarray  # per kernel, the last stage that reads its value

    @property
    def stages(self) -> int:
        return int(self.stage.max()) + 1 if len(self.stage) else 1

    @property
    def boundaries(self) -> int:
        """Registers between stages (the input and output registers of the unit not counted)."""
        return self.stages - 1

    def value_register_bits(self, widths) -> int:
        """Flip-flops holding values across stage boundaries (widths: per kernel, its value's bits)."""
        return int(sum(w * (u - s) for w, u, s in zip(widths, self.needed_until, self.stage)))


def plan_stages(unit: UnitSpec, design: Design, budget: int | None = None, padded: bool = False) -> StagePlan:
    """Stages of `unit`'s unrolled datapath (ours or the stock twin's) at `budget` LUT levels (default_budget)."""
    budget = default_budget(unit, padded) if budget is None else budget
    room = budget - output_levels(unit, padded)  # deepest level a value may reach
    positions = unit.n_in if Design(design) is Design.STOCK else None
    n = unit.n_out if positions is not None else unit.n_kernels
    stage, level = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    order = range(n) if positions is not None else (int(j) for j in unit.plan.order)
    for j in order:
        count = count_levels(unit, positions if positions is not None else int(unit.plan.mask[j].sum()))
        parent = ROOT if positions is not None else int(unit.plan.parent[j])
        if parent == ROOT:
            stage[j], level[j] = 0, count
        else:
            stage[j], level[j] = stage[parent], max(level[parent], count) + child_levels(unit)
            if level[j] > room:  # from the parent's registered value, in the next stage
                stage[j], level[j] = stage[parent] + 1, count + child_levels(unit)
        if level[j] > room:
            raise ValueError(
                f'a LUT-level budget of {budget} is too small: kernel {j} alone takes {level[j]} levels and its output '
                f'{budget - room} more (the budget must be at least {level[j] + budget - room})'
            )
    return StagePlan(budget, stage, level, _needed_until(unit, design, stage))


def _needed_until(unit: UnitSpec, design: Design, stage: np.ndarray) -> np.ndarray:
    """Per kernel, the last stage reading its value: its children's, and the last stage for an output."""
    last = int(stage.max()) if len(stage) else 0
    until = stage.copy()
    until[: unit.n_out] = last
    if Design(design) is Design.REUSE:
        for j, parent in enumerate(unit.plan.parent[: len(stage)]):
            if int(parent) != ROOT:
                until[parent] = max(until[parent], stage[j])
    return until


def value_widths(unit: UnitSpec, design: Design) -> list[int]:
    """Bits of each kernel's carried value: binary agreements modulo 2^bits(K), or the raw sum."""
    n = unit.n_out if Design(design) is Design.STOCK else unit.n_kernels
    if unit.input_format.binary:
        return [wire_shape(0, (1 << unit.n_in.bit_length()) - 1)[0]] * n
    return [unit.sum_width] * n
