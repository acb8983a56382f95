"""Steiner plans: virtual kernels that no output needs, inserted where they make the spanning tree cheaper.

Three kernels close to each other cost their pairwise deltas in the spanning tree; their bitwise majority
(their median in Hamming space, each oriented by the complement form when that is nearer) is at most as far
from each as they are from one another, so computing it once and deriving all three from it can cost fewer
adder bits. Candidates are majorities of a kernel and two of its nearest neighbours, and of a parent and two
of its children; each is kept when the minimum spanning tree with it is cheaper (Kruskal over the current
tree's edges plus the candidate's), first improvement first, round after round until a round gains nothing.
Virtual kernels left with fewer than two children are then dropped (by the triangle inequality they cannot
pay for their own word addition) and the final plan is the spanning tree over the kernels that remain.

Real kernels keep their indices 0..n-1; virtual ones follow.
"""

from __future__ import annotations

import numpy as np

from .cost import OperationCost
from .spanning_tree import ROOT, ReusePlan, hamming_distances, plan_reuse, plan_cost

NEIGHBOURS = 4  # nearest kernels whose majorities with a kernel are tried
MAX_ROUNDS = 8
_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)


class _Tree:
    """A spanning tree over kernels plus the virtual root, by parent pointers, with each kernel's edge cost."""

    def __init__(self, kernels: np.ndarray, cost: OperationCost):
        self.kernels, self.cost, self.k = kernels, cost, kernels.shape[1]
        self.packed = np.packbits(kernels, axis=1)
        self.parent = plan_reuse(kernels, cost).parent.copy()
        self.edge = self._edge_costs(self.parent)

    def distances_to(self, packed_vector: np.ndarray) -> np.ndarray:
        d = _POPCOUNT[self.packed ^ packed_vector].sum(axis=1)
        return np.minimum(d, self.k - d)  # the complement form makes K - d as cheap as d

    def _edge_costs(self, parent: np.ndarray) -> np.ndarray:
        costs = np.full(len(parent), self.cost.root_bits(self.k), dtype=np.int64)
        for j in np.flatnonzero(parent != ROOT):
            d = int(_POPCOUNT[self.packed[j] ^ self.packed[parent[j]]].sum())
            costs[j] = self.cost.child_bits(min(d, self.k - d))
        return costs

    def total(self) -> int:
        return int(self.edge.sum())

    def with_vertex(self, vector: np.ndarray) -> tuple[int, np.ndarray] | None:
        """Cost and parent pointers of the minimum spanning tree once `vector` joins; None if it is a kernel already."""
        packed = np.packbits(vector)
        distances = self.distances_to(packed)
        if distances.min() == 0:
            return None
        m, new, root = len(self.parent), len(self.parent), len(self.parent) + 1
        ends_a = np.concatenate([np.arange(m), np.full(m + 1, new)])
        ends_b = np.concatenate([np.where(self.parent == ROOT, root, self.parent), np.arange(m), [root]])
        costs = np.concatenate([self.edge, self.cost.child_bits(distances), [self.cost.root_bits(self.k)]])
        chosen, total = _kruskal(ends_a, ends_b, costs, m + 2)
        return total, _parents_from_edges(ends_a[chosen], ends_b[chosen], m + 1, root)

    def add(self, vector: np.ndarray, parent: np.ndarray) -> None:
        self.kernels = np.vstack([self.kernels, vector])
        self.packed = np.vstack([self.packed, np.packbits(vector)])
        self.parent, self.edge = parent, self._edge_costs(parent)


def _kruskal(ends_a, ends_b, costs, n_vertices) -> tuple[np.ndarray, int]:
    """Indices of the minimum spanning tree's edges (stable in cost ties) and its total cost."""
    root_of = list(range(n_vertices))

    def find(a):
        while root_of[a] != a:
            root_of[a] = root_of[root_of[a]]
            a = root_of[a]
        return a

    chosen, total = [], 0
    for e in np.argsort(costs, kind='stable'):
        ra, rb = find(int(ends_a[e])), find(int(ends_b[e]))
        if ra != rb:
            root_of[ra] = rb
            chosen.append(e)
            total += int(costs[e])
    return np.array(chosen, dtype=np.int64), total


def _parents_from_edges(ends_a, ends_b, n_nodes, root) -> np.ndarray:
    """Parent pointers of a tree given by its edges, walking from the virtual root."""
    neighbours = [[] for _ in range(n_nodes + 1)]
    for a, b in zip(ends_a.tolist(), ends_b.tolist()):
        neighbours[a].append(b)
        neighbours[b].append(a)
    parent = np.full(n_nodes, ROOT, dtype=np.int64)
    seen, stack = {root}, [root]
    while stack:
        a = stack.pop()
        for b in neighbours[a]:
            if b not in seen:
                seen.add(b)
                parent[b] = ROOT if a == root else a
                stack.append(b)
    return parent


def majority(kernels: np.ndarray, triple) -> np.ndarray:
    """Bitwise majority of three kernels, the second and third complemented when that brings them nearer the first."""
    first, *others = (kernels[i] for i in triple)
    k = kernels.shape[1]
    oriented = [other if np.count_nonzero(other != first) * 2 <= k else ~other for other in others]
    return (first.astype(np.int64) + oriented[0] + oriented[1]) >= 2


def candidate_triples(tree: _Tree) -> list[tuple]:
    """A kernel with two of its nearest neighbours; a parent with two consecutive children. Deduplicated, ordered."""
    m = len(tree.parent)
    distances = hamming_distances(tree.kernels)
    distances = np.minimum(distances, tree.k - distances)
    np.fill_diagonal(distances, np.iinfo(np.int64).max)
    triples = []
    for j in range(m):
        near = np.argsort(distances[j], kind='stable')[: min(NEIGHBOURS, m - 1)].tolist()
        triples += [(j, a, b) for i, a in enumerate(near) for b in near[i + 1 :]]
    children = [np.flatnonzero(tree.parent == p).tolist() for p in range(m)]
    for p, kids in enumerate(children):
        triples += [(p, a, b) for a, b in zip(kids, kids[1:])]
    return list(dict.fromkeys(tuple(sorted(t)) for t in triples))


def _improve(tree: _Tree) -> int:
    """One round: try every candidate, keep each that lowers the tree's cost. Returns how many were kept."""
    kept = 0
    for triple in candidate_triples(tree):
        result = tree.with_vertex(majority(tree.kernels, triple))
        if result is not None and result[0] < tree.total():
            tree.add(majority(tree.kernels, triple), result[1])
            kept += 1
    return kept


def _drop_idle_virtuals(kernels: np.ndarray, n_outputs: int, cost: OperationCost) -> tuple[np.ndarray, ReusePlan]:
    """Spanning tree over the kernels, after removing virtual kernels with fewer than two children, until none is."""
    while True:
        plan = plan_reuse(kernels, cost)
        children = np.bincount(plan.parent[plan.parent != ROOT], minlength=len(kernels))
        idle = [j for j in range(n_outputs, len(kernels)) if children[j] < 2]
        if not idle:
            return kernels, plan
        kernels = np.delete(kernels, idle, axis=0)


def steiner_plan(kernels: np.ndarray, cost: OperationCost) -> tuple[np.ndarray, ReusePlan]:
    """Kernels (the n given, then virtual ones) and their plan; never costlier than plan_reuse's spanning tree."""
    kernels = np.asarray(kernels, dtype=bool)
    n = len(kernels)
    if n < 3:
        return kernels, plan_reuse(kernels, cost)
    tree = _Tree(kernels, cost)
    for _ in range(MAX_ROUNDS):
        if not _improve(tree):
            break
    extended, plan = _drop_idle_virtuals(tree.kernels, n, cost)
    spanning = plan_reuse(kernels, cost)
    if plan_cost(plan, cost) >= plan_cost(spanning, cost):
        return kernels, spanning
    return extended, plan
