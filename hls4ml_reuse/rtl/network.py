"""A converted network as an RTL pipeline: its reuse units in stream order, each one's output beats the next one's
input beats (every unit buffers one vector or window while it evaluates the previous one, so no FIFO is needed).

Covered: dense and convolution units (Input, ReuseDense, ReuseConv2D with its absorbed pooling, and reshapes
between them: a Flatten after a convolution passes its pixel beats on, which the dense unit takes n_chan values per
beat), in either design and shape. A convolution's input is one pixel per beat, as hls4ml's io_stream; a dense
unit's first input is one vector per beat. What follows the last unit in the hls4ml graph (an output scaling) stays
in software: ``graph.forward_from`` applies it with the Python reference's own step, so the pipeline's outputs
compare with QKeras as the C simulation's do. Not covered (UnsupportedNetwork names the layer): pooling or other
layers hls4ml keeps between units, window reuse (no RTL datapath yet), an unrolled dense unit after a convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring

from ..ir.layers import ReuseUnitLayer
from ..plan.unit import Design, OutputEncoding, Shape, UnitSpec
from ..sim import graph
from .conv import conv_rtl, pixel_beats
from ..plan.folding import value_width
from .dense import FoldedDense, output_width
from .unrolled import UnrolledDense
from .stream import stream_ports


class UnsupportedNetwork(ValueError):
    """The converted graph holds a layer the RTL pipeline does not build (yet)."""


@dataclass(frozen=True)
class Stage:
    name: str
    unit: UnitSpec
    values_per_beat: int | None = None  # a dense unit fed by a convolution: its channels per pixel beat

    @property
    def output_beats(self) -> int:
        """Output beats per image: one per (pooled) output pixel of a convolution, one for a dense unit."""
        pooling = self.unit.pooling
        return 1 if pooling is None else pooling.pooled_height * pooling.pooled_width


def stages(hls_model) -> list[Stage]:
    """The units of a converted graph in stream order; UnsupportedNetwork names the first layer it cannot build."""
    found, after_last = [], None
    for layer in list(hls_model.get_layers())[1:]:
        if isinstance(layer, ReuseUnitLayer):
            if after_last is not None:
                raise UnsupportedNetwork(
                    f'layer {after_last!r}: the RTL pipeline has no unit for it, and unit {layer.name!r} follows it'
                )
            if layer.get_attr('unit').window_reuse:
                raise UnsupportedNetwork(
                    f'layer {layer.name!r}: window reuse has no RTL datapath yet; convert with '
                    'ReusePruningWindowReuse: false'
                )
            found.append(_stage(layer, found[-1] if found else None))
        elif not isinstance(layer, graph.RESHAPES):
            after_last = layer.name  # an output scaling, if nothing follows: applied in software after the pipeline
    if not found:
        raise UnsupportedNetwork('the converted graph has no reuse unit to build in RTL')
    return found


def _stage(layer, before: Stage | None) -> Stage:
    unit = layer.get_attr('unit')
    if before is None:
        return Stage(layer.name, unit)
    if not unit.input_format.binary or before.output_beats * before.unit.n_out != values_in(unit):
        raise UnsupportedNetwork(f'layer {layer.name!r}: its input is not the binary output of {before.name!r}')
    if unit.geometry is not None:
        if unit.geometry.n_chan != before.unit.n_out:
            raise UnsupportedNetwork(f'layer {layer.name!r}: {unit.geometry.n_chan} channels in, {before.unit.n_out} out')
        return Stage(layer.name, unit)
    return Stage(layer.name, unit, values_per_beat=before.unit.n_out if before.output_beats > 1 else None)


def values_in(unit: UnitSpec) -> int:
    """Input values per image: a convolution's input map, a dense unit's vector."""
    g = unit.geometry
    return unit.n_in if g is None else g.in_height * g.in_width * g.n_chan


def unit_rtl(
    stage_or_unit, design: Design, shape: Shape, lut_cells: bool = True, lut_levels: int | None = None
) -> wiring.Component:
    """The RTL of one stage (or of a unit on its own) in the given shape (unrolled: `lut_cells` and the stages'
    `lut_levels` budget as UnrolledDense takes them)."""
    stage = stage_or_unit if isinstance(stage_or_unit, Stage) else Stage('unit', stage_or_unit)
    unit, unrolled = stage.unit, Shape(shape) is Shape.UNROLLED
    if unrolled and stage.values_per_beat is not None and unit.geometry is None:
        raise UnsupportedNetwork(f'layer {stage.name!r}: an unrolled dense unit after a convolution (no deserializer)')
    try:
        if unit.geometry is not None:
            return conv_rtl(unit, design, shape, lut_cells, lut_levels)
        if unrolled:
            return UnrolledDense(unit, design, lut_cells=lut_cells, lut_levels=lut_levels)
    except ValueError as err:  # a LUT-level budget this layer cannot meet
        raise UnsupportedNetwork(f'layer {stage.name!r} ({design}): {err}') from err
    return FoldedDense(unit, design, values_per_beat=stage.values_per_beat)


class Pipeline(wiring.Component):
    """The units of `stages` chained stream to stream, ours or the stock twin, in one shape."""

    def __init__(
        self, stages_: list[Stage], design: Design, shape: Shape, lut_cells: bool = True, lut_levels: int | None = None
    ):
        self.stages, self.design, self.shape = stages_, Design(design), Shape(shape)
        self.units = [unit_rtl(stage, self.design, self.shape, lut_cells, lut_levels) for stage in stages_]
        first, last = self.units[0], self.units[-1]
        super().__init__(stream_ports(len(first.s_axis_tdata), len(last.m_axis_tdata)))

    def elaborate(self, platform):
        m = Module()
        for stage, unit in zip(self.stages, self.units):
            m.submodules[stage.name] = unit
        first, last = self.units[0], self.units[-1]
        m.d.comb += [
            first.s_axis_tdata.eq(self.s_axis_tdata),
            first.s_axis_tvalid.eq(self.s_axis_tvalid),
            first.s_axis_tlast.eq(self.s_axis_tlast),
            self.s_axis_tready.eq(first.s_axis_tready),
            self.m_axis_tdata.eq(last.m_axis_tdata),
            self.m_axis_tvalid.eq(last.m_axis_tvalid),
            self.m_axis_tlast.eq(last.m_axis_tlast),
            last.m_axis_tready.eq(self.m_axis_tready),
        ]
        for before, after in zip(self.units, self.units[1:]):
            m.d.comb += [
                after.s_axis_tdata.eq(before.m_axis_tdata),
                after.s_axis_tvalid.eq(before.m_axis_tvalid),
                after.s_axis_tlast.eq(before.m_axis_tlast),
                before.m_axis_tready.eq(after.s_axis_tready),
            ]
        return m


# Beats: vectors to stream words and back
def image_beats(hls_model, first: Stage, x: np.ndarray) -> list[list[int]]:
    """Per image, the pipeline's input beats: its pixels for a convolution, its vector for a dense unit."""
    if first.unit.geometry is not None:
        maps = graph.unit_input_map(hls_model, x, first.name)
        pixels = first.unit.geometry.in_height * first.unit.geometry.in_width
        beats = pixel_beats(first.unit, maps)
        return [beats[i * pixels : (i + 1) * pixels] for i in range(len(x))]
    return [[beat] for beat in input_beats(first.unit, graph.unit_inputs(hls_model, x, first.name))]


def input_beats(unit: UnitSpec, raw: np.ndarray) -> list[int]:
    """One beat per vector of raw inputs (m, K): value k at bits [k*b, (k+1)*b), a binary input as 1 for +1."""
    width = value_width(unit)
    values = (raw == 1).astype(np.int64) if unit.input_format.binary else raw.astype(np.int64) & ((1 << width) - 1)
    return [_pack(row, width) for row in values]


def output_values(unit: UnitSpec, beats: list[int]) -> np.ndarray:
    """(m, n_out) as the reference's evaluate() gives them: bits as 0/1, bipolar as -1/+1, sums as integers."""
    width = output_width(unit)
    words = np.array([[(beat >> (j * width)) & ((1 << width) - 1) for j in range(unit.n_out)] for beat in beats])
    if unit.output_encoding is OutputEncoding.BITS:
        return words.reshape(len(beats), unit.n_out)
    signed = np.where(words >> (width - 1), words - (1 << width), words).reshape(len(beats), unit.n_out)
    return (signed == 1).astype(np.int64) if unit.output_encoding is OutputEncoding.BIPOLAR else signed


def _pack(values: np.ndarray, width: int) -> int:
    word = 0
    for k, value in enumerate(values.tolist()):
        word |= int(value) << (k * width)
    return word
