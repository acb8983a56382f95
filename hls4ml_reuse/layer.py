"""The hls4ml layers that stand for planned binary units (reuse-delta + early exit): dense and 2-D convolution."""

from __future__ import annotations

import numpy as np
from hls4ml.model.layers import Layer
from hls4ml.model.types import IntegerPrecisionType

from .planner import ROOT, ReusePlan

PLAN_ROW = 5  # kernel, parent + 1, flags, positions, offset (hls4ml_reuse_unit.h: plan_field)
FLAG_NEGATE, FLAG_EXIT = 1, 2


def position_table(plan: ReusePlan) -> tuple[np.ndarray, np.ndarray]:
    """Every kernel's planned positions (ascending), concatenated in evaluation order, and their offsets."""
    lists = [np.flatnonzero(plan.mask[j]) for j in plan.order]
    offsets = np.zeros(plan.n_kernels, dtype=np.int64)
    offsets[plan.order] = np.cumsum([0] + [len(p) for p in lists[:-1]])
    table = np.concatenate(lists) if sum(len(p) for p in lists) else np.zeros(1, dtype=np.int64)
    return table.astype(np.int64), offsets


def plan_table(plan: ReusePlan, may_exit: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The firmware's plan rows, in evaluation order."""
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


class ReuseUnitLayer(Layer):
    """A binary-weight layer computed by a reuse plan, optionally fused with its threshold.

    Attributes set by the conversion pass: ``n_in`` (K), ``n_out`` (N), ``tile``, ``binary_input``,
    ``input_frac_bits``, ``input_bound``, ``raw_width``, ``thresholded``, ``bipolar_output``,
    ``early_exit``, ``accum_width``, ``threshold_width``, ``result_precision``, ``unit`` (the
    DenseUnit the reference evaluates) and ``cost`` (its CostModel). Subclasses give the output shape.
    """

    def output_shape(self) -> list[int]:
        raise NotImplementedError

    def initialize(self):
        unit = self.get_attr('unit')
        self.add_output_variable(self.output_shape(), precision=self.get_attr('result_precision'))
        bit = IntegerPrecisionType(width=1, signed=False)
        self.add_weights_variable(
            'reuse_kernels', var_name='rk{index}', precision=bit, data=unit.kernels.astype(np.int64).reshape(-1)
        )
        positions, offsets = position_table(unit.plan)
        self.set_attr('n_positions', len(positions))
        self.add_weights_variable(
            'reuse_positions', var_name='rq{index}', precision=index_type(self.get_attr('n_in'), 16), data=positions
        )
        may_exit = np.array([unit.may_exit(j) for j in range(self.get_attr('n_out'))])
        largest_entry = max(len(positions), self.get_attr('n_in'), self.get_attr('n_out') + 1, FLAG_NEGATE | FLAG_EXIT)
        self.add_weights_variable(
            'reuse_plan',
            var_name='rp{index}',
            precision=index_type(largest_entry, 32),
            data=plan_table(unit.plan, may_exit, offsets),
        )
        thresholds = unit.thresholds
        n = self.get_attr('n_out')
        self.add_weights_variable(
            'reuse_thresholds',
            var_name='rt{index}',
            precision=IntegerPrecisionType(self.get_attr('threshold_width'), signed=True),
            data=thresholds.value if thresholds is not None else np.zeros(n, dtype=np.int64),
        )
        self.add_weights_variable(
            'reuse_at_most',
            var_name='ra{index}',
            precision=bit,
            data=thresholds.mode if thresholds is not None else np.zeros(n, dtype=np.int64),
        )


class ReuseDense(ReuseUnitLayer):
    """Binary dense layer: one input vector of K = n_in values per sample."""

    def output_shape(self):
        return [self.get_attr('n_out')]


class ReuseConv2D(ReuseUnitLayer):
    """Binary 2-D convolution (channels last): one window of K = filt_height * filt_width * n_chan values per pixel.

    Extra attributes: the geometry of hls4ml's Conv2D (``in_height`` ... ``pad_left``, ``out_height``,
    ``out_width``); padded positions are 0 inside the unit. With a max pooling absorbed,
    ``pool_height`` x ``pool_width`` > 1 and the output is the pooled map (``pooled_height`` x ``pooled_width``).
    """

    def pools(self) -> bool:
        return self.get_attr('pool_height', 1) * self.get_attr('pool_width', 1) > 1

    def output_shape(self):
        if self.pools():
            return [self.get_attr('pooled_height'), self.get_attr('pooled_width'), self.get_attr('n_out')]
        return [self.get_attr('out_height'), self.get_attr('out_width'), self.get_attr('n_out')]
