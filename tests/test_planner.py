"""MST reuse planner (DESIGN.md section 2.1): plan structure, masks, and optimality against brute force."""

import itertools

import numpy as np
import pytest
from models import related_kernels
from hypothesis import given, settings
from hypothesis import strategies as st

from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.spanning_tree import ROOT, hamming_distances, plan_cost, plan_reuse

COST_MODELS = [OperationCost(1, 2), OperationCost(1, 12), OperationCost(8, 20)]


@st.composite
def kernel_sets(draw, max_n=12, max_k=40):
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, max_k))
    return related_kernels(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), n, k)


def direct_distances(kernels):
    return (kernels[:, None, :] != kernels[None, :, :]).sum(axis=2)


def edge_bits(kernels, cost):
    """Cost of every child-from-parent edge, [parent, child], in adder bits."""
    k = kernels.shape[1]
    d = direct_distances(kernels)
    return np.vectorize(cost.child_bits)(np.minimum(d, k - d))


def is_acyclic(parents):
    """Every kernel reaches ROOT by following parents."""
    for start in range(len(parents)):
        node, steps = start, 0
        while node != ROOT:
            node, steps = parents[node], steps + 1
            if steps > len(parents):
                return False
    return True


def brute_force_cost(kernels, cost):
    """Cheapest plan over all acyclic parent assignments (each kernel: ROOT or any other kernel)."""
    n, k = kernels.shape
    edges = edge_bits(kernels, cost)
    best = None
    for parents in itertools.product([ROOT, *range(n)], repeat=n):
        if any(p == j for j, p in enumerate(parents)) or not is_acyclic(parents):
            continue
        total = sum(cost.root_bits(k) if p == ROOT else int(edges[p, j]) for j, p in enumerate(parents))
        best = total if best is None else min(best, total)
    return best


def check_plan_structure(kernels, plan):
    """Order is a topological permutation; masks and negation match the parent relation."""
    n, k = kernels.shape
    assert sorted(plan.order.tolist()) == list(range(n))
    position = {int(j): i for i, j in enumerate(plan.order)}
    assert plan.mask.shape == (n, k) and plan.mask.dtype == bool
    for j in range(n):
        p = int(plan.parent[j])
        if p == ROOT:
            assert not plan.negate[j]
            assert plan.mask[j].all()
            continue
        assert p != j and position[p] < position[j]
        differ = kernels[j] != kernels[p]
        expected = ~differ if plan.negate[j] else differ
        assert np.array_equal(plan.mask[j], expected)
        d = int(differ.sum())
        assert int(plan.mask[j].sum()) == min(d, k - d)


def own_cost(kernels, plan, cost):
    """Cost of the plan's own edges, recomputed from the kernels."""
    n, k = kernels.shape
    edges = edge_bits(kernels, cost)
    return sum(cost.root_bits(k) if plan.parent[j] == ROOT else int(edges[plan.parent[j], j]) for j in range(n))


@pytest.mark.parametrize('cost', COST_MODELS, ids=str)
@settings(max_examples=60, deadline=None)
@given(kernels=kernel_sets())
def test_plan_structure(kernels, cost):
    plan = plan_reuse(kernels, cost)
    check_plan_structure(kernels, plan)
    assert plan_cost(plan, cost) == own_cost(kernels, plan, cost)


@pytest.mark.parametrize('cost', COST_MODELS, ids=str)
@settings(max_examples=40, deadline=None)
@given(kernels=kernel_sets(max_n=5, max_k=24))
def test_plan_is_optimal(kernels, cost):
    plan = plan_reuse(kernels, cost)
    assert plan_cost(plan, cost) == brute_force_cost(kernels, cost)


@settings(max_examples=60, deadline=None)
@given(kernels=kernel_sets(max_n=12, max_k=70))
def test_hamming_distances(kernels):
    assert np.array_equal(hamming_distances(kernels), direct_distances(kernels))


def test_hamming_distances_of_integer_kernels():
    kernels = np.array([[1, 0, 1, 1, 0, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1, 1, 0, 0]])
    assert np.array_equal(hamming_distances(kernels), [[0, 4], [4, 0]])


@pytest.mark.parametrize('cost', COST_MODELS, ids=str)
def test_identical_kernels(cost):
    """Copies become children with no positions: one word addition each."""
    kernels = np.tile(np.random.default_rng(1).random(20) < 0.5, (4, 1))
    plan = plan_reuse(kernels, cost)
    check_plan_structure(kernels, plan)
    assert np.count_nonzero(plan.parent == ROOT) == 1
    assert not plan.negate.any()
    assert plan.n_positions.tolist() == [20 if p == ROOT else 0 for p in plan.parent]
    assert plan_cost(plan, cost) == cost.root_bits(20) + 3 * cost.child_bits(0)


@pytest.mark.parametrize('cost', COST_MODELS, ids=str)
def test_complementary_kernels(cost):
    """A complement is a negated child with no positions."""
    base = np.random.default_rng(2).random(17) < 0.5
    kernels = np.stack([base, ~base])
    plan = plan_reuse(kernels, cost)
    check_plan_structure(kernels, plan)
    assert plan.parent.tolist() == [ROOT, 0]
    assert plan.negate.tolist() == [False, True]
    assert plan.n_positions.tolist() == [17, 0]
    assert plan_cost(plan, cost) == cost.root_bits(17) + cost.child_bits(0)


@pytest.mark.parametrize('cost', COST_MODELS, ids=str)
def test_single_kernel(cost):
    kernels = np.array([[True, False, False, True, True]])
    plan = plan_reuse(kernels, cost)
    assert plan.order.tolist() == [0]
    assert plan.parent.tolist() == [ROOT]
    assert plan.negate.tolist() == [False]
    assert plan.mask.tolist() == [[True] * 5]
    assert plan_cost(plan, cost) == cost.root_bits(5)


@pytest.mark.parametrize('cost', [*COST_MODELS, OperationCost(4, 3)], ids=str)
def test_one_position(cost):
    """k = 1: every kernel equals or complements the first; a child costs a word addition only."""
    kernels = np.array([[True], [False], [True], [False]])
    plan = plan_reuse(kernels, cost)
    check_plan_structure(kernels, plan)
    children = plan.parent != ROOT
    if cost.child_bits(0) < cost.root_bits(1):
        assert children.sum() == 3
        assert plan.n_positions[children].tolist() == [0, 0, 0]
    else:
        assert not children.any()
    assert plan_cost(plan, cost) == brute_force_cost(kernels, cost)


def test_child_only_when_cheaper():
    """A word addition wider than the row it would save keeps the kernel a root."""
    kernels = np.array([[True, True, False], [True, True, False]])
    expensive = OperationCost(1, 7)  # child_bits(0) = 7 > root_bits(3) = 6
    assert plan_reuse(kernels, expensive).parent.tolist() == [ROOT, ROOT]
    cheap = OperationCost(1, 5)
    assert plan_reuse(kernels, cheap).parent.tolist() == [ROOT, 0]
