"""Steiner plans (plan/steiner.py): virtual kernels that lower adder bits, and plans that stay exact."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from models import related_kernels

from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.spanning_tree import ROOT, plan_cost, plan_reuse
from hls4ml_reuse.plan.steiner import majority, steiner_plan
from hls4ml_reuse.plan.unit import Folding, InputFormat, UnitSpec
from hls4ml_reuse.sim.unit import evaluate, plain_dense

COST = OperationCost(1, 12)


def star_around_a_centre(k=60, arms=3, flips=12, seed=0):
    """`arms` kernels, each the same hidden centre with its own disjoint `flips` positions flipped."""
    rng = np.random.default_rng(seed)
    centre = rng.random(k) < 0.5
    kernels = np.tile(centre, (arms, 1))
    for arm, positions in enumerate(np.split(rng.permutation(k)[: arms * flips], arms)):
        kernels[arm, positions] = ~kernels[arm, positions]
    return kernels, centre


def test_the_hidden_centre_of_a_star_is_found_and_pays():
    kernels, centre = star_around_a_centre()
    extended, plan = steiner_plan(kernels, COST)
    assert len(extended) == 4 and np.array_equal(extended[3], centre)
    assert np.array_equal(extended[:3], kernels)
    assert plan_cost(plan, COST) < plan_cost(plan_reuse(kernels, COST), COST)
    # from scratch once (60 inputs), then three deltas of 12 positions: 60*2 + 3*(12*2 + 12)
    assert plan_cost(plan, COST) == 60 * 2 + 3 * (12 * 2 + 12)


def test_majority_orients_by_the_complement_form():
    kernels = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 0, 0]], dtype=bool)
    # the second is nearer the first complemented (distance 1) than as it is (distance 5)
    assert majority(kernels, (0, 1, 2)).tolist() == [True, True, False, False, False, False]


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 14), st.integers(4, 48), st.integers(0, 2**32 - 1))
def test_steiner_plans_are_valid_never_costlier_and_exact(n, k, seed):
    kernels = related_kernels(np.random.default_rng(seed), n, k)
    extended, plan = steiner_plan(kernels, COST)
    assert np.array_equal(extended[:n], kernels)
    assert plan_cost(plan, COST) <= plan_cost(plan_reuse(kernels, COST), COST)
    position = {int(j): i for i, j in enumerate(plan.order)}
    assert sorted(position) == list(range(len(extended)))
    assert all(plan.parent[j] == ROOT or position[int(plan.parent[j])] < position[j] for j in range(len(extended)))
    children = np.bincount(plan.parent[plan.parent != ROOT], minlength=len(extended))
    assert (children[n:] >= 2).all(), 'a virtual kernel must feed at least two others'
    x = np.random.default_rng(seed + 1).choice([-1, 1], size=(20, k))
    outputs, _ = evaluate(UnitSpec(extended, plan, InputFormat.bits(), Folding(tile=8), None, True, COST), x)
    assert np.array_equal(outputs[:, :n], plain_dense(kernels, x))
