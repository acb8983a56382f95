"""Reuse plans: which kernel each output channel is derived from (DESIGN.md section 2.1).

For a child kernel c and a parent p computed on the same input window, with D the
positions where they differ, ``y_c = y_p + 2*sum_{k in D} w_c[k]*x[k]`` (d terms) or
``y_c = -y_p + 2*sum_{k not in D} w_c[k]*x[k]`` (K-d terms). The cheapest single-parent
plan is a minimum spanning tree over the kernels plus a virtual root ("from scratch"),
found with Prim's algorithm on costs in adder bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cost import OperationCost

ROOT = -1


@dataclass(frozen=True)
class ReusePlan:
    order: np.ndarray  # kernel indices in evaluation order: every parent before its children
    parent: np.ndarray  # parent kernel of each kernel, ROOT when computed from scratch
    negate: np.ndarray  # bool: child starts from -y_parent (complement form)
    mask: np.ndarray  # bool (n, k): positions each kernel sums (all ones for roots)

    @property
    def n_kernels(self) -> int:
        return self.mask.shape[0]

    @property
    def has_children(self) -> np.ndarray:
        flags = np.zeros(self.n_kernels, dtype=bool)
        flags[self.parent[self.parent != ROOT]] = True
        return flags

    @property
    def n_positions(self) -> np.ndarray:
        return self.mask.sum(axis=1)

    def static_inputs_and_adds(self) -> tuple[int, int]:
        """Inputs summed and word additions the plan instantiates, per output position."""
        return int(self.mask.sum()), int(np.count_nonzero(self.parent != ROOT))


def hamming_distances(kernels: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances of boolean kernels (n, k), by popcount on packed words."""
    packed = np.packbits(kernels.astype(bool), axis=1)
    n = packed.shape[0]
    table = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)
    distances = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        distances[i] = table[packed[i] ^ packed].sum(axis=1)
    return distances


def edge_costs(kernels: np.ndarray, cost: OperationCost) -> tuple[np.ndarray, np.ndarray]:
    """Cost of deriving kernel j from kernel i, and whether the complement form is cheaper."""
    k = kernels.shape[1]
    d = hamming_distances(kernels)
    negate = (k - d) < d
    return cost.child_bits(np.minimum(d, k - d)), negate


def plan_reuse(kernels: np.ndarray, cost: OperationCost) -> ReusePlan:
    """Minimum-spanning-tree plan (Prim, O(n^2)) over kernels (n, k) of booleans (True = +1)."""
    kernels = np.asarray(kernels, dtype=bool)
    n, k = kernels.shape
    edge, negate_edge = edge_costs(kernels, cost)
    best = np.full(n, cost.root_bits(k), dtype=np.int64)  # cheapest known way to reach each kernel
    parent = np.full(n, ROOT, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    order = []
    for _ in range(n):
        candidates = np.where(done, np.iinfo(np.int64).max, best)
        j = int(np.argmin(candidates))  # ties: lowest index, deterministic
        done[j] = True
        order.append(j)
        closer = ~done & (edge[j] < best)
        best[closer] = edge[j][closer]
        parent[closer] = j
    negate = np.array([parent[j] != ROOT and negate_edge[parent[j], j] for j in range(n)], dtype=bool)
    mask = np.ones((n, k), dtype=bool)
    for j in range(n):
        if parent[j] != ROOT:
            differ = kernels[j] != kernels[parent[j]]
            mask[j] = ~differ if negate[j] else differ
    return ReusePlan(order=np.array(order, dtype=np.int64), parent=parent, negate=negate, mask=mask)


def plan_cost(plan: ReusePlan, cost: OperationCost) -> int:
    inputs, adds = plan.static_inputs_and_adds()
    return int(cost.adder_bits(inputs, adds))
