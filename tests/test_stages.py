"""Register stages of the unrolled datapath (plan/stages.py): cut along the plan tree within the LUT-level budget.

The RTL built from these stages is checked exact in tests/test_rtl_dense.py and test_rtl_conv.py; here, what the
plan promises: every value within its stage's budget, a child in its parent's stage or the next, and a value kept
in registers exactly as long as it is read.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from amaranth.back import rtlil
from test_rtl_dense import Case, build_unit

from hls4ml_reuse.plan.spanning_tree import ROOT
from hls4ml_reuse.plan.stages import (
    child_levels,
    count_levels,
    default_budget,
    output_levels,
    plan_stages,
    smallest_budget,
    stock_levels,
    value_widths,
)
from hls4ml_reuse.plan.unit import Design, Folding, Shape
from hls4ml_reuse.rtl.unrolled import UnrolledDense
from hls4ml_reuse.synth import yosys

CASES = [Case('binary', 24, 256), Case('binary', 12, 60, steiner=True), Case('signed', 10, 40, thresholded=False)]


def unrolled(case: Case):
    unit = build_unit(case)
    return replace(unit, folding=Folding(Shape.UNROLLED, unit.tile), early_exit=False, zero_skip=False)


def test_count_levels_follow_the_sum_trees():
    unit = unrolled(CASES[0])
    # 256 binary positions: 43 counters of 6, a 6-level adder tree over them, the counting LUTs' level
    assert count_levels(unit, 256) == 7
    assert count_levels(unit, 6) == 1 and count_levels(unit, 7) == 2 and count_levels(unit, 0) == 0
    fixed = unrolled(CASES[2])
    assert count_levels(fixed, 40) == 6 and count_levels(fixed, 1) == 0


@pytest.mark.parametrize('case', CASES, ids=lambda case: case.id)
@pytest.mark.parametrize('slack', [0, 2])
def test_every_value_fits_its_stage_and_children_follow_parents(case, slack):
    unit = unrolled(case)
    budget = smallest_budget(unit, Design.REUSE) + slack
    stages = plan_stages(unit, Design.REUSE, budget)
    room, add = budget - output_levels(unit), child_levels(unit)
    assert stages.level.max() <= room
    for j in range(unit.n_kernels):
        parent = int(unit.plan.parent[j])
        positions = int(unit.plan.mask[j].sum())
        if parent == ROOT:
            assert (stages.stage[j], stages.level[j]) == (0, count_levels(unit, positions))
            continue
        if stages.stage[j] == stages.stage[parent]:
            assert stages.level[j] == max(stages.level[parent], count_levels(unit, positions)) + add <= room
        else:  # cut: its parent's value would take it past the budget
            assert stages.stage[j] == stages.stage[parent] + 1
            assert max(stages.level[parent], count_levels(unit, positions)) + add > room
            assert stages.level[j] == count_levels(unit, positions) + add


@pytest.mark.parametrize('case', CASES, ids=lambda case: case.id)
def test_values_are_registered_as_long_as_they_are_read(case):
    unit = unrolled(case)
    stages = plan_stages(unit, Design.REUSE, smallest_budget(unit, Design.REUSE))
    last = stages.stages - 1
    for j in range(unit.n_kernels):
        readers = [int(c) for c in np.flatnonzero(unit.plan.parent[: unit.n_kernels] == j)]
        expected = max([int(stages.stage[j])] + [int(stages.stage[c]) for c in readers] + ([last] if j < unit.n_out else []))
        assert stages.needed_until[j] == expected
    widths = value_widths(unit, Design.REUSE)
    assert stages.value_register_bits(widths) == sum(
        w * (u - s) for w, u, s in zip(widths, stages.needed_until, stages.stage)
    )


def test_a_budget_too_small_names_the_least_one():
    unit = unrolled(CASES[0])
    least = smallest_budget(unit, Design.REUSE)
    plan_stages(unit, Design.REUSE, least)
    with pytest.raises(ValueError, match=f'at least {least}'):
        plan_stages(unit, Design.REUSE, least - 1)


def test_stock_is_one_stage_at_its_own_depth_and_so_is_the_default():
    unit = unrolled(CASES[0])
    assert stock_levels(unit) == 9
    assert plan_stages(unit, Design.STOCK).stages == 1
    assert plan_stages(unit, Design.REUSE).budget == stock_levels(unit) == default_budget(unit)
    assert plan_stages(unit, Design.REUSE).stages > 1  # a plan with chains is cut at stock's depth


@pytest.mark.parametrize('slack', [0, 3])
def test_the_synthesized_stages_are_no_deeper_than_the_budget(tmp_path, slack):
    """The level model against the netlist (cells.lut_levels) on a unit whose combinational datapath is deeper."""
    unit = unrolled(Case('binary', 16, 128))
    budget = smallest_budget(unit, Design.REUSE) + slack

    def deepest(lut_levels, name):
        (tmp_path / name).mkdir()
        top = UnrolledDense(unit, Design.REUSE, lut_levels=lut_levels)
        (tmp_path / name / 'design.il').write_text(rtlil.convert(top, name='top'))
        return yosys.resources(yosys.synthesize(tmp_path / name))['lut_levels'], top.stages.stages

    levels, stages = deepest(budget, 'staged')
    assert stages > 1 and levels <= budget
    unstaged, one = deepest(10**6, 'combinational')
    assert one == 1 and unstaged > budget


def test_the_default_budget_holds_a_child_deeper_than_stock():
    """24 inputs: stock's popcount is 3 levels deep; a child over 20 of them is 3 + its add."""
    unit = unrolled(Case('binary', 6, 24))
    assert default_budget(unit) == smallest_budget(unit, Design.REUSE) > stock_levels(unit)
    assert plan_stages(unit, Design.STOCK).stages == 1
