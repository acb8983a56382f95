"""Python reference of the planned unit (DESIGN.md sections 2 and 5.1): bit-exact with a plain dot product."""

from dataclasses import dataclass, replace

import numpy as np
import pytest
from models import related_kernels
from hypothesis import given, settings
from hypothesis import strategies as st

from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.spanning_tree import ROOT, plan_reuse
from hls4ml_reuse.plan.unit import Folding, InputFormat, UnitSpec
from hls4ml_reuse.sim.unit import evaluate, evaluate_values, evaluate_window_change, needed_channels, plain_dense
from hls4ml_reuse.plan.thresholds import AT_LEAST, AT_MOST, Thresholds

TILES = (8, 16, 32, 64)


@dataclass(frozen=True)
class InputType:
    low: int
    high: int
    bound: int  # largest |x|
    input_bits: int
    format: InputFormat  # the unit's view of it

    def sample(self, rng, shape, extreme):
        """Raw inputs; extreme draws only the end points, the worst case for the early-exit bound."""
        if self.low == -1 and self.high == 1:
            return rng.choice([-1, 1], size=shape)
        if extreme:
            return rng.choice([self.low, self.high], size=shape)
        return rng.integers(self.low, self.high, endpoint=True, size=shape)


BINARY = InputType(-1, 1, 1, 1, InputFormat.bits())
UNSIGNED = InputType(0, 255, 255, 8, InputFormat(False, 0, 8, signed=False))
SIGNED = InputType(-128, 127, 128, 8, InputFormat(False, 0, 8, signed=True))
INPUT_TYPES = {'binary': BINARY, 'unsigned': UNSIGNED, 'signed': SIGNED}


def constant_threshold(mode, value, k, bound):
    """Threshold that makes [y >= t] (or [y <= t]) equal to value for every y in [-k*bound, k*bound]."""
    if mode == AT_LEAST:
        return -k * bound if value else k * bound + 1
    return k * bound if value else -k * bound - 1


def random_thresholds(rng, y_plain, k, bound):
    """Mixed modes; values on reachable sums (and one off), anywhere in range, or constant channels."""
    n = y_plain.shape[1]
    mode = rng.choice([AT_LEAST, AT_MOST], size=n)
    value = np.empty(n, dtype=np.int64)
    for j in range(n):
        kind = rng.choice(['reachable', 'range', 'constant'], p=[0.5, 0.3, 0.2])
        if kind == 'reachable':
            value[j] = y_plain[rng.integers(len(y_plain)), j] + rng.choice([-1, 0, 0, 1])
        elif kind == 'range':
            value[j] = rng.integers(-k * bound - 2, k * bound + 2, endpoint=True)
        else:
            value[j] = constant_threshold(mode[j], bool(rng.integers(2)), k, bound)
    return Thresholds(value=value, mode=mode.astype(np.int64))


@dataclass(frozen=True)
class Case:
    kernels: np.ndarray
    x_raw: np.ndarray
    input_type: InputType
    tile: int
    cost: OperationCost
    rng: np.random.Generator


@st.composite
def cases(draw):
    input_type = INPUT_TYPES[draw(st.sampled_from(sorted(INPUT_TYPES)))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, k, m = draw(st.integers(1, 10)), draw(st.integers(1, 70)), draw(st.integers(1, 20))
    x_raw = input_type.sample(rng, (m, k), extreme=draw(st.booleans()))
    accum_bits = draw(st.sampled_from([2, 12, 20]))
    return Case(
        kernels=related_kernels(rng, n, k),
        x_raw=x_raw,
        input_type=input_type,
        tile=draw(st.sampled_from(TILES)),
        cost=OperationCost(input_type.input_bits, accum_bits),
        rng=rng,
    )


def unit_for(case, thresholds=None, early_exit=True, plan=None):
    plan = plan_reuse(case.kernels, case.cost) if plan is None else plan
    return UnitSpec(case.kernels, plan, case.input_type.format, Folding(tile=case.tile), thresholds, early_exit)


def full_counts(plan, m):
    """Inputs and word additions of the plan without any early exit, over m samples."""
    return m * int(plan.mask.sum()), m * int(np.count_nonzero(plan.parent != ROOT))


@settings(max_examples=120, deadline=None)
@given(case=cases(), early_exit=st.booleans())
def test_raw_sums_equal_plain_dense(case, early_exit):
    unit = unit_for(case, early_exit=early_exit)
    y, counts = evaluate(unit, case.x_raw)
    assert y.dtype == np.int64
    assert np.array_equal(y, plain_dense(case.kernels, case.x_raw))
    assert (counts.inputs, counts.word_adds) == full_counts(unit.plan, len(case.x_raw))


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_thresholded_outputs_equal_plain_dense(case):
    y_plain = plain_dense(case.kernels, case.x_raw)
    thresholds = random_thresholds(case.rng, y_plain, case.kernels.shape[1], case.input_type.bound)
    expected = thresholds.apply(y_plain).astype(np.int64)
    plan = plan_reuse(case.kernels, case.cost)
    full_inputs, full_adds = full_counts(plan, len(case.x_raw))

    bits, counts = evaluate(unit_for(case, thresholds, early_exit=False, plan=plan), case.x_raw)
    assert np.array_equal(bits, expected)
    assert (counts.inputs, counts.word_adds) == (full_inputs, full_adds)

    bits, counts = evaluate(unit_for(case, thresholds, early_exit=True, plan=plan), case.x_raw)
    assert np.array_equal(bits, expected)
    assert counts.inputs <= full_inputs and counts.word_adds <= full_adds


def constant_thresholds(rng, n, k, bound):
    """Constant channels with random modes; returns the thresholds and each channel's constant output."""
    mode = rng.choice([AT_LEAST, AT_MOST], size=n).astype(np.int64)
    value = rng.integers(2, size=n).astype(bool)
    thresholds = [constant_threshold(mode[j], value[j], k, bound) for j in range(n)]
    return Thresholds(value=np.array(thresholds, dtype=np.int64), mode=mode), value.astype(np.int64)


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_constant_leaves_cost_nothing(case):
    """Leaves with constant outputs settle before their first tile; parents still compute in full."""
    n, k = case.kernels.shape
    plan = plan_reuse(case.kernels, case.cost)
    thresholds, value = constant_thresholds(case.rng, n, k, case.input_type.bound)
    bits, counts = evaluate(unit_for(case, thresholds, plan=plan), case.x_raw)
    m = len(case.x_raw)
    assert np.array_equal(bits, np.tile(value, (m, 1)))
    parents = plan.has_children
    assert counts.inputs == m * int(plan.mask[parents].sum())
    assert counts.word_adds == m * int(np.count_nonzero(parents & (plan.parent != ROOT)))


@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_constant_root_leaves_cost_nothing(case):
    """A plan of roots only (word additions dearer than any row): constant channels cost nothing at all."""
    n, k = case.kernels.shape
    plan = plan_reuse(case.kernels, OperationCost(case.cost.input_bits, 10**6))
    assert (plan.parent == ROOT).all()
    thresholds, value = constant_thresholds(case.rng, n, k, case.input_type.bound)
    bits, counts = evaluate(unit_for(case, thresholds, plan=plan), case.x_raw)
    assert np.array_equal(bits, np.tile(value, (len(case.x_raw), 1)))
    assert (counts.inputs, counts.word_adds) == (0, 0)


@pytest.mark.parametrize('mode', [AT_LEAST, AT_MOST])
@pytest.mark.parametrize('value', [False, True])
def test_constant_child_leaf_costs_nothing(mode, value):
    """Smallest case: a child one position away from its parent, whose output is constant."""
    kernels = np.array([[True, True, True, True], [True, True, True, False]])
    plan = plan_reuse(kernels, OperationCost(1, 2))
    assert plan.parent.tolist() == [ROOT, 0] and plan.n_positions.tolist() == [4, 1]
    threshold = constant_threshold(mode, value, 4, 1)
    thresholds = Thresholds(value=np.array([5, threshold]), mode=np.array([AT_LEAST, mode]))  # channel 0: always 0
    bits, counts = evaluate(
        UnitSpec(kernels, plan, InputFormat.bits(), Folding(tile=8), thresholds, True),
        np.array([[-1, -1, -1, -1], [1, 1, 1, 1]]),
    )
    assert np.array_equal(bits, [[0, int(value)], [0, int(value)]])
    assert (counts.inputs, counts.word_adds) == (2 * 4, 0)


def fixed_case(kernels, x_raw, input_type=BINARY, tile=8, cost=OperationCost(1, 12)):
    return Case(np.asarray(kernels, dtype=bool), np.asarray(x_raw), input_type, tile, cost, np.random.default_rng(0))


def check_case(case):
    """Raw sums, and thresholds on every reachable value in both modes, with and without early exit."""
    y_plain = plain_dense(case.kernels, case.x_raw)
    for early_exit in (False, True):
        y, _ = evaluate(unit_for(case, early_exit=early_exit), case.x_raw)
        assert np.array_equal(y, y_plain)
    n = case.kernels.shape[0]
    for value in np.unique(y_plain):
        for mode in (AT_LEAST, AT_MOST):
            thresholds = Thresholds(value=np.full(n, value, dtype=np.int64), mode=np.full(n, mode, dtype=np.int64))
            expected = thresholds.apply(y_plain).astype(np.int64)
            for early_exit in (False, True):
                bits, _ = evaluate(unit_for(case, thresholds, early_exit), case.x_raw)
                assert np.array_equal(bits, expected)


@pytest.mark.parametrize('input_type', INPUT_TYPES.values(), ids=INPUT_TYPES.keys())
def test_identical_kernels(input_type):
    rng = np.random.default_rng(3)
    kernels = np.tile(rng.random(21) < 0.5, (3, 1))
    case = fixed_case(kernels, input_type.sample(rng, (12, 21), extreme=False), input_type, cost=OperationCost(1, 2))
    plan = plan_reuse(case.kernels, case.cost)
    assert plan.n_positions.tolist().count(0) == 2
    check_case(case)


@pytest.mark.parametrize('input_type', INPUT_TYPES.values(), ids=INPUT_TYPES.keys())
def test_complementary_kernels(input_type):
    rng = np.random.default_rng(4)
    base = rng.random(19) < 0.5
    case = fixed_case(np.stack([base, ~base, base]), input_type.sample(rng, (12, 19), extreme=False), input_type)
    plan = plan_reuse(case.kernels, case.cost)
    assert plan.negate.tolist() == [False, True, False] and plan.n_positions.tolist() == [19, 0, 0]
    check_case(case)


@pytest.mark.parametrize('input_type', INPUT_TYPES.values(), ids=INPUT_TYPES.keys())
def test_single_kernel(input_type):
    rng = np.random.default_rng(5)
    case = fixed_case(rng.random((1, 13)) < 0.5, input_type.sample(rng, (15, 13), extreme=True), input_type)
    check_case(case)


@pytest.mark.parametrize('tile', TILES)
@pytest.mark.parametrize('k', [1, 7, 9, 33, 65])
def test_k_not_multiple_of_tile(k, tile):
    rng = np.random.default_rng(k * 100 + tile)
    case = fixed_case(
        related_kernels(rng, 6, k), SIGNED.sample(rng, (10, k), extreme=False), SIGNED, tile, OperationCost(8, 20)
    )
    check_case(case)


@settings(max_examples=120, deadline=None)
@given(case=cases(), early_exit=st.booleans())
def test_known_ones_are_skipped_without_changing_the_pooled_result(case, early_exit):
    """Pool exit: outputs known to be 1 may be skipped; OR-ed with what is known, the result is unchanged.

    A known channel is still evaluated, with its true value, where an unknown channel starts from it.
    """
    y_plain = plain_dense(case.kernels, case.x_raw)
    thresholds = random_thresholds(case.rng, y_plain, case.kernels.shape[1], case.input_type.bound)
    expected = thresholds.apply(y_plain)
    known = case.rng.random(expected.shape) < case.rng.choice([0.0, 0.5, 1.0])
    unit = unit_for(case, thresholds, early_exit=early_exit)
    bits, counts = evaluate(unit, case.x_raw, known_one=known)
    _, counts_unknown = evaluate(unit, case.x_raw)
    assert np.array_equal(bits.astype(bool) | known, expected | known)
    needed = needed_channels(unit.plan, known)
    assert np.array_equal(bits[needed].astype(bool), expected[needed])  # what other channels start from is exact
    assert counts.inputs <= counts_unknown.inputs and counts.word_adds <= counts_unknown.word_adds
    if known.all():
        assert (counts.inputs, counts.word_adds, counts.tiles) == (0, 0, 0)


def sparse(case, zero_fraction):
    """The case's inputs with a fraction of them zero (fixed-point types only: binary inputs are never zero)."""
    x = case.x_raw * (case.rng.random(case.x_raw.shape) >= zero_fraction)
    return x[case.rng.permutation(len(x))]


def zero_skipping(unit):
    return UnitSpec(
        unit.kernels, unit.plan, unit.input_format, unit.folding, unit.thresholds, unit.early_exit, zero_skip=True
    )


@settings(max_examples=120, deadline=None)
@given(case=cases(), zero_fraction=st.sampled_from([0.0, 0.5, 0.9, 1.0]), thresholded=st.booleans())
def test_zero_skipping_keeps_outputs_and_counts_only_nonzero_inputs(case, zero_fraction, thresholded):
    """Same outputs; without early exit, exactly the non-zero planned inputs, in min(planned, non-zero) tiles."""
    if case.input_type is BINARY:
        return
    x = sparse(case, zero_fraction)
    y_plain = plain_dense(case.kernels, x)
    thresholds = random_thresholds(case.rng, y_plain, case.kernels.shape[1], case.input_type.bound)
    for early_exit in (True, False):
        plain = unit_for(case, thresholds if thresholded else None, early_exit=early_exit)
        skipping = zero_skipping(plain)
        (y_plain_unit, _), (y_skip, counts) = evaluate(plain, x), evaluate(skipping, x)
        assert np.array_equal(y_skip, y_plain_unit)
        if early_exit and thresholded:
            continue
        mask, nonzero = plain.plan.mask, x != 0
        assert counts.inputs == int((nonzero[:, None, :] & mask[None]).sum())
        walked = np.minimum(nonzero.sum(axis=1)[:, None], mask.sum(axis=1)[None])
        assert counts.tiles == int((-(-walked // case.tile)).sum())


def banked(unit, zero_skip):
    folding = replace(unit.folding, banked=True)
    return UnitSpec(
        unit.kernels, unit.plan, unit.input_format, folding, unit.thresholds, unit.early_exit, zero_skip=zero_skip
    )


def busiest_bank(walked, tile):
    """(m, n) of walks (bool (m, n, K)): the entries of the most loaded bank (positions k of k mod tile)."""
    banks = np.arange(walked.shape[-1]) % tile
    return np.stack([walked[..., banks == b].sum(axis=-1) for b in range(tile)], axis=-1).max(axis=-1)


@settings(max_examples=120, deadline=None)
@given(case=cases(), zero_fraction=st.sampled_from([0.0, 0.5, 1.0]), zero_skip=st.booleans())
def test_banked_lanes_keep_outputs_at_a_row_per_entry_of_the_busiest_bank(case, zero_fraction, zero_skip):
    """Banked lanes (lane i reads only positions k = i mod tile): the gathered outputs; without early exit, a row
    per entry of the walk's busiest bank, the walk being the planned positions or, zero skipping, the sample's
    non-zero inputs (the firmware's list of them) where their busiest bank is lighter."""
    x = sparse(case, zero_fraction) if case.input_type is not BINARY else case.x_raw
    y_plain = plain_dense(case.kernels, x)
    thresholds = random_thresholds(case.rng, y_plain, case.kernels.shape[1], case.input_type.bound)
    for early_exit, chosen in ((True, thresholds), (False, None)):
        gathered = unit_for(case, chosen, early_exit=early_exit)
        (y_gathered, _), (y_banked, counts) = evaluate(gathered, x), evaluate(banked(gathered, zero_skip), x)
        assert np.array_equal(y_banked, y_gathered)
    mask = gathered.plan.mask[None]
    rows = np.broadcast_to(busiest_bank(mask, case.tile), (len(x), len(mask[0])))
    if zero_skip:
        rows = np.minimum(rows, busiest_bank(x[:, None, :] != 0, case.tile))
    assert counts.tiles == int(rows.sum())


@settings(max_examples=120, deadline=None)
@given(case=cases(), change_rate=st.sampled_from([0.0, 0.1, 0.3, 1.0]), thresholded=st.booleans())
def test_window_change_gives_the_new_window_exactly(case, change_rate, thresholded):
    """From the previous window's values and the input change: the new values, counted over changed planned inputs."""
    previous = case.x_raw
    flips = case.rng.random(previous.shape) < change_rate
    x = np.where(flips, case.input_type.sample(case.rng, previous.shape, extreme=False), previous)
    if case.input_type is BINARY:  # padding: a few positions are 0 in either window
        x = np.where(case.rng.random(x.shape) < 0.05, 0, x)
    y_plain = plain_dense(case.kernels, x)
    thresholds = random_thresholds(case.rng, y_plain, case.kernels.shape[1], case.input_type.bound) if thresholded else None
    plan = plan_reuse(case.kernels, case.cost)
    unit = UnitSpec(case.kernels, plan, case.input_type.format, Folding(tile=case.tile), thresholds, window_reuse=True)
    y_previous, _, _ = evaluate_values(unit, previous)
    y, outputs, counts = evaluate_window_change(unit, x - previous, y_previous)
    assert np.array_equal(y, y_plain)
    assert np.array_equal(outputs, evaluate(unit, x)[0])
    changed, mask = x != previous, unit.plan.mask
    assert counts.inputs == int((changed[:, None, :] & mask[None]).sum())
    walked = np.minimum(changed.sum(axis=1)[:, None], mask.sum(axis=1)[None])
    assert counts.tiles == int((-(-walked // case.tile)).sum())
    children = int(np.count_nonzero(unit.plan.parent != ROOT))
    assert counts.word_adds == len(x) * (unit.n_kernels + children)
