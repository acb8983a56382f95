"""The unit specification: what the passes hand to the IR layer, the templates and the reference.

One planned binary unit, dense or convolutional alike: a convolution evaluates the same unit on
every window. The first ``n_out`` kernels are the layer's output channels; any after them are virtual
(Steiner) kernels that only serve as parents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cost import OperationCost
from .spanning_tree import ReusePlan
from .thresholds import Thresholds


@dataclass(frozen=True)
class UnitSpec:
    kernels: np.ndarray  # bool (n, k), True = +1
    plan: ReusePlan
    input_bound: int  # largest |x| of the raw input type (1 for binary)
    tile: int = 8
    thresholds: Thresholds | None = None  # None: the layer outputs its raw sums
    early_exit: bool = True
    cost: OperationCost | None = None  # how its terms and adder bits are counted
    n_outputs: int | None = None  # output channels: the first n_outputs kernels (None: all of them)
    zero_skip: bool = False  # only non-zero inputs enter the sums (fixed-point inputs)
    window_reuse: bool = False  # a convolution window from its left neighbour's values (nothing exits early)
    unrolled: bool = False  # the unrolled shape: every planned term, one window per clock (nothing exits early)

    @property
    def n_out(self) -> int:
        return self.kernels.shape[0] if self.n_outputs is None else self.n_outputs

    @property
    def n_kernels(self) -> int:
        """Output channels plus virtual kernels."""
        return self.kernels.shape[0]

    @property
    def n_in(self) -> int:
        return self.kernels.shape[1]

    def may_exit(self, j: int) -> bool:
        if self.window_reuse or self.unrolled:  # values reused by the next window; or everything evaluated
            return False
        return j < self.n_out and self.thresholds is not None and self.early_exit and not self.plan.has_children[j]
