"""The folded dense unit in RTL (rtl/dense.py), ours and the stock twin, in Amaranth's simulator.

Outputs equal the Python reference (sim/unit.py, itself exact against QKeras and the C simulation) on every
vector, and ours takes, clock for clock, what the C simulation's counters predict: a step per kernel, the tiles it
walked (early exit, inclusion, zero skipping included), one flush. Stock takes a step and ceil(K / tile) tiles per
channel. With random stalls on both streams the outputs stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from rtl_stream import simulate

from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.folding import vector_cycles
from hls4ml_reuse.plan.spanning_tree import plan_reuse
from hls4ml_reuse.plan.stages import plan_stages, smallest_budget
from hls4ml_reuse.plan.steiner import steiner_plan
from hls4ml_reuse.plan.thresholds import Thresholds
from hls4ml_reuse.plan.unit import Design, Folding, InputFormat, Shape, UnitSpec
from hls4ml_reuse.rtl.dense import FoldedDense
from hls4ml_reuse.rtl.network import input_beats, output_values
from hls4ml_reuse.rtl.unrolled import UnrolledDense, latency_cycles
from hls4ml_reuse.sim.unit import evaluate, plain_dense

FORMATS = {
    'binary': InputFormat.bits(),
    'unsigned': InputFormat(binary=False, frac_bits=8, width=8),
    'signed': InputFormat(binary=False, frac_bits=4, width=6, signed=True),
}


@dataclass(frozen=True)
class Case:
    inputs: str
    n: int
    k: int
    tile: int = 8
    thresholded: bool = True
    zero_skip: bool = False
    steiner: bool = False
    bipolar: bool = False
    early_exit: bool = True
    banked: bool = False  # lane i reads only positions k = i mod tile

    @property
    def id(self):
        flags = [f for f in ('thresholded', 'zero_skip', 'steiner', 'bipolar', 'banked') if getattr(self, f)]
        return '-'.join(
            [self.inputs, f'{self.n}x{self.k}', f'tile{self.tile}', *flags] + ([] if self.early_exit else ['no-exit'])
        )


CASES = [
    Case('binary', 6, 24),
    Case('binary', 6, 40, thresholded=False, steiner=True),
    Case('binary', 5, 70, tile=16, bipolar=True),
    Case('unsigned', 5, 30, zero_skip=True),
    Case('unsigned', 4, 36, tile=16, thresholded=False, zero_skip=True),
    Case('signed', 5, 40, early_exit=False),
    Case('signed', 6, 33, zero_skip=True, steiner=True),
    Case('binary', 6, 24, banked=True),
    Case('binary', 6, 40, thresholded=False, steiner=True, banked=True),
    Case('binary', 5, 70, tile=16, bipolar=True, banked=True),
    Case('signed', 5, 40, early_exit=False, banked=True),
    Case('unsigned', 4, 6, banked=True),  # fewer inputs than lanes
    Case('unsigned', 5, 30, zero_skip=True, banked=True),
    Case('unsigned', 4, 36, tile=16, thresholded=False, zero_skip=True, banked=True),
    Case('signed', 6, 33, zero_skip=True, steiner=True, banked=True),
    Case('unsigned', 4, 13, zero_skip=True, banked=True),  # a bank one slot short
]
VECTORS = 10


def related_kernels(rng, n, k):
    base = rng.random(k) < 0.5
    kernels = np.array([base ^ (rng.random(k) < 0.2) for _ in range(n)])
    kernels[-1] = kernels[0]  # an identical pair: a child with nothing to walk
    return kernels


def build_unit(case: Case, seed=0) -> UnitSpec:
    rng = np.random.default_rng(seed)
    fmt = FORMATS[case.inputs]
    kernels = related_kernels(rng, case.n, case.k)
    cost = OperationCost(fmt.width, 16)
    all_kernels, plan = steiner_plan(kernels, cost) if case.steiner else (kernels, plan_reuse(kernels, cost))
    thresholds = None
    if case.thresholded:
        spread = case.k * fmt.bound // 4
        thresholds = Thresholds(value=rng.integers(-spread, spread, case.n), mode=rng.integers(0, 2, case.n))
    return UnitSpec(
        all_kernels, plan, fmt, Folding(tile=case.tile, banked=case.banked), thresholds, case.early_exit, cost,
        n_outputs=case.n, zero_skip=case.zero_skip, bipolar_output=case.bipolar,
    )  # fmt: skip


def vectors(unit: UnitSpec, m: int, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fmt = unit.input_format
    if fmt.binary:
        return np.where(rng.random((m, unit.n_in)) < 0.5, 1, -1)
    x = rng.integers(fmt.low, fmt.high, (m, unit.n_in), endpoint=True)
    x = np.where(x == 0, 1, x)
    zeros = np.linspace(0, 0.8, m)[rng.permutation(m), None]  # some vectors dense, most with zeros to skip
    return np.where(rng.random(x.shape) < zeros, 0, x)


def expected_outputs(unit: UnitSpec, design: Design, x: np.ndarray) -> np.ndarray:
    if design is Design.REUSE:
        return evaluate(unit, x)[0]
    sums = plain_dense(unit.kernels[: unit.n_out], x)
    return sums if unit.thresholds is None else unit.thresholds.apply(sums).astype(np.int64)


def expected_cycles(unit: UnitSpec, design: Design, x: np.ndarray) -> list[int]:
    """Clocks per vector: ours from the reference's tile counts (the C simulation's counters), stock's static."""
    if design is Design.STOCK:
        return [vector_cycles(unit.n_out * -(-unit.n_in // unit.tile), unit.n_out)] * len(x)
    return [vector_cycles(evaluate(unit, x[i : i + 1])[1].tiles, unit.n_kernels) for i in range(len(x))]


@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize('case', CASES, ids=lambda case: case.id)
def test_outputs_and_cycles_equal_the_reference(case, design):
    unit = build_unit(case)
    x = vectors(unit, VECTORS)
    trace = simulate(FoldedDense(unit, design), input_beats(unit, x), len(x))
    assert np.array_equal(output_values(unit, trace.outputs), expected_outputs(unit, design, x))
    cycles = expected_cycles(unit, design, x)
    loading = 2 + (-(-unit.n_in // unit.tile) if case.zero_skip and design is Design.REUSE else 0)
    assert min(cycles) > loading, 'the case must be compute-bound for its intervals to be its evaluations'
    assert np.diff(trace.produced_at).tolist() == cycles[1:]


@pytest.mark.parametrize('case', [c for c in CASES if c.zero_skip], ids=lambda case: case.id)
def test_zero_skipping_cases_walk_the_non_zero_inputs_on_some_vectors_only(case):
    """Both walks are exercised: some vectors' non-zero inputs take fewer rows than a planned walk, others not."""
    unit = build_unit(case)
    x = vectors(unit, VECTORS)
    planned_only = replace(unit, zero_skip=False)
    differs = [evaluate(unit, v[None])[1].tiles != evaluate(planned_only, v[None])[1].tiles for v in x]
    assert any(differs) and not all(differs)


@pytest.mark.parametrize('design', list(Design))
def test_stalls_on_both_streams_keep_outputs_exact(design):
    case = Case('unsigned', 5, 30, zero_skip=True, steiner=True)
    unit = build_unit(case, seed=5)
    x = vectors(unit, VECTORS, seed=6)
    trace = simulate(FoldedDense(unit, design), input_beats(unit, x), len(x), stall_seed=7)
    assert np.array_equal(output_values(unit, trace.outputs), expected_outputs(unit, design, x))


def test_a_wrong_table_is_caught():
    """The comparison compares something: one flipped weight in the spec the RTL is built from."""
    unit = build_unit(Case('binary', 6, 24, thresholded=False))
    x = vectors(unit, VECTORS)
    kernels = unit.kernels.copy()
    kernels[0, 3] = ~kernels[0, 3]
    wrong = UnitSpec(kernels, unit.plan, unit.input_format, unit.folding, unit.thresholds, False, unit.cost)
    trace = simulate(FoldedDense(wrong, Design.STOCK), input_beats(unit, x), len(x))
    assert not np.array_equal(output_values(unit, trace.outputs), expected_outputs(unit, Design.STOCK, x))


def unrolled(unit: UnitSpec) -> UnitSpec:
    return UnitSpec(
        unit.kernels, unit.plan, unit.input_format, Folding(Shape.UNROLLED, unit.tile), unit.thresholds, False,
        unit.cost, n_outputs=unit.n_out, bipolar_output=unit.bipolar_output,
    )  # fmt: skip


@pytest.mark.parametrize('tight', [False, True], ids=['stock-depth', 'smallest-budget'])
@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize('case', [CASES[0], CASES[2], CASES[4], Case('binary', 12, 60)], ids=lambda case: case.id)
def test_unrolled_unit_is_exact_one_vector_per_clock(case, design, tight):
    """At stock's depth and at the smallest LUT-level budget (ours cut into stages along the plan tree)."""
    unit = unrolled(build_unit(case))
    top = UnrolledDense(unit, design, lut_cells=False, lut_levels=smallest_budget(unit, design) if tight else None)
    x = vectors(unit, VECTORS)
    trace = simulate(top, input_beats(unit, x), len(x))
    assert np.array_equal(output_values(unit, trace.outputs), expected_outputs(unit, design, x))
    assert np.diff(trace.produced_at).tolist() == [1] * (len(x) - 1)
    assert trace.produced_at[0] - trace.accepted_at[0] == latency_cycles(top.stages)


def test_the_smallest_budget_cuts_a_plan_chain_into_stages():
    """So that the test above runs registered stages (a case whose plan has chains)."""
    unit = unrolled(build_unit(Case('binary', 12, 60)))
    assert plan_stages(unit, Design.REUSE, smallest_budget(unit, Design.REUSE)).stages > 2
