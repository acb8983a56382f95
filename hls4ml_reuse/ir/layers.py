"""The hls4ml layers of the plugin: the planned binary units (reuse-delta + early exit), dense and 2-D convolution,
and the streamed max pooling that hls4ml's io_stream pooling cannot compute."""

from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np
from hls4ml.model.attributes import Attribute, ChoiceAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import IntegerPrecisionType

from ..plan.unit import ConvGeometry, Pooling, UnitSpec
from .constants import FLAG_EXIT, FLAG_NEGATE, TILES
from .tables import index_type, plan_table, position_table

CONV2D_GEOMETRY = tuple(f.name for f in fields(ConvGeometry))
POOLING = tuple(f.name for f in fields(Pooling))  # an absorbed max pooling (1 x 1: none)


def unit_attributes(unit: UnitSpec) -> dict:
    """The layer attributes of a unit, all read from its spec: what the config templates write out."""
    fmt = unit.input_format
    attrs = {
        'unit': unit,
        'n_in': unit.n_in,
        'n_out': unit.n_out,
        'n_kernels': unit.n_kernels,
        'tile': unit.tile,
        'banked': unit.banked,
        'binary_input': fmt.binary,
        'input_frac_bits': fmt.frac_bits,
        'input_bound': fmt.bound,
        'raw_width': fmt.raw_width,
        'thresholded': unit.thresholded,
        'bipolar_output': unit.bipolar_output,
        'early_exit': unit.early_exit,
        'zero_skip': unit.zero_skip,
        'window_reuse': unit.window_reuse,
        'unrolled': unit.unrolled,
        'accum_width': unit.accum_width,
        'threshold_width': unit.threshold_width,
    }
    if unit.geometry is not None:
        attrs.update(asdict(unit.geometry), **asdict(unit.pooling))
    return attrs


class ReuseUnitLayer(Layer):
    """A binary-weight layer computed by a reuse plan, optionally fused with its threshold.

    ``unit`` is the UnitSpec; the other attributes below are derived from it (unit_attributes) for the templates.
    The conversion pass also sets ``result_precision``. Subclasses give the output shape.
    """

    _expected_attributes = [
        Attribute('n_in', description='K: inputs per output channel'),
        Attribute('n_out', description='N: output channels'),
        Attribute('n_kernels', description='kernels evaluated: the N output channels, then virtual (Steiner) ones'),
        ChoiceAttribute('tile', TILES, configurable=False, description='positions per tile'),
        Attribute('banked', value_type=bool, description='lane i reads only the positions k with k mod tile == i'),
        Attribute('binary_input', value_type=bool, description='inputs are bits (1 = +1), not fixed point'),
        Attribute('input_frac_bits', description='raw input = x * 2^input_frac_bits'),
        Attribute('input_bound', description='largest |raw input|'),
        Attribute('raw_width', description='bits of one raw input'),
        Attribute('thresholded', value_type=bool, description='outputs are threshold bits'),
        Attribute('bipolar_output', value_type=bool, description='threshold bits written as -1/+1'),
        Attribute('early_exit', value_type=bool, description='childless thresholded channels may stop early'),
        Attribute('zero_skip', value_type=bool, description='only non-zero inputs enter the sums'),
        Attribute('window_reuse', value_type=bool, description="a window from its left neighbour's values"),
        Attribute('unrolled', value_type=bool, description='unrolled shape: every planned term, one window per clock'),
        Attribute('accum_width', description='bits of raw sums and bounds'),
        Attribute('threshold_width', description='bits of a raw threshold'),
        Attribute('unit', value_type=UnitSpec, description='the planned unit'),
    ]

    def output_shape(self) -> list[int]:
        raise NotImplementedError

    def initialize(self):
        unit = self.get_attr('unit')
        self.add_output_variable(self.output_shape(), precision=self.get_attr('result_precision'))
        bit = IntegerPrecisionType(width=1, signed=False)
        self.add_weights_variable('reuse_kernels', var_name='rk{index}', precision=bit, data=unit.kernels.reshape(-1))
        positions, offsets = position_table(unit)
        self.set_attr('n_positions', len(positions))
        position_t = index_type(unit.n_in, 16)
        self.add_weights_variable('reuse_positions', var_name='rq{index}', precision=position_t, data=positions)
        largest_entry = max(len(positions), unit.n_in, unit.n_kernels + 1, FLAG_NEGATE | FLAG_EXIT)
        plan = plan_table(unit, offsets)
        self.add_weights_variable('reuse_plan', var_name='rp{index}', precision=index_type(largest_entry, 32), data=plan)
        self._add_threshold_tables(unit, bit)

    def _add_threshold_tables(self, unit: UnitSpec, bit) -> None:
        """Raw thresholds and their comparison sense (zeros when the layer outputs its sums)."""
        none = np.zeros(unit.n_out, dtype=np.int64)
        value, mode = (none, none) if unit.thresholds is None else (unit.thresholds.value, unit.thresholds.mode)
        threshold_t = IntegerPrecisionType(unit.threshold_width, signed=True)
        self.add_weights_variable('reuse_thresholds', var_name='rt{index}', precision=threshold_t, data=value)
        self.add_weights_variable('reuse_at_most', var_name='ra{index}', precision=bit, data=mode)


class ReuseDense(ReuseUnitLayer):
    """Binary dense layer: one input vector of K = n_in values per sample."""

    def output_shape(self):
        return [self.get_attr('n_out')]


class ReuseConv2D(ReuseUnitLayer):
    """Binary 2-D convolution (channels last): one window of K = filt_height * filt_width * n_chan values per pixel.

    Its geometry is hls4ml's Conv2D's; padded positions are 0 inside the unit. With a max pooling absorbed,
    ``pool_height`` x ``pool_width`` > 1 and the output is the pooled map (``pooled_height`` x ``pooled_width``).
    """

    _expected_attributes = [Attribute(name) for name in CONV2D_GEOMETRY + POOLING]

    def output_shape(self):
        pooling = self.get_attr('unit').pooling
        return [pooling.pooled_height, pooling.pooled_width, self.get_attr('n_out')]


POOL2D_GEOMETRY = (
    'in_height', 'in_width', 'n_chan', 'pool_height', 'pool_width', 'stride_height', 'stride_width',
    'pad_top', 'pad_left', 'out_height', 'out_width',
)  # fmt: skip


class ReuseMaxPool2D(Layer):
    """Streamed 2-D max pooling (channels last) of any pool size, stride and padding.

    Stands for an hls4ml Pooling2D (Max) that hls4ml's io_stream pooling cannot compute (stride != pool size, or
    padding that pads). The maximum is over the window's positions inside the map (Keras pads max pooling with
    -inf); its output type is its input's, in which a maximum is exact (on bits, 0 = -1, it is an OR).
    It evaluates no terms: it is not a reuse unit and has no counters.
    """

    _expected_attributes = [Attribute(name) for name in POOL2D_GEOMETRY]

    def output_shape(self) -> list[int]:
        return [self.get_attr('out_height'), self.get_attr('out_width'), self.get_attr('n_chan')]

    def initialize(self):
        self.add_output_variable(self.output_shape(), precision=self.get_input_variable().type.precision)


class ReuseMaxPool1D(ReuseMaxPool2D):
    """Streamed 1-D max pooling (steps, channels): the 2-D one on a map of height 1, with a 2-D output."""

    def output_shape(self) -> list[int]:
        return [self.get_attr('out_width'), self.get_attr('n_chan')]


def reuse_units(hls_model) -> list[ReuseUnitLayer]:
    """The model's reuse units, in graph order."""
    return [layer for layer in hls_model.get_layers() if isinstance(layer, ReuseUnitLayer)]


def skipped_layers(hls_model) -> dict:
    """Layers that stayed stock hls4ml with the flag on, and why (the passes' ``reuse_pruning_skipped``)."""
    return {
        layer.name: layer.get_attr('reuse_pruning_skipped')
        for layer in hls_model.get_layers()
        if layer.get_attr('reuse_pruning_skipped') is not None
    }
