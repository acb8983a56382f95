"""A converted network as an RTL pipeline: its reuse units in stream order, each one's output beat the next one's
input beat (every unit buffers one vector while it evaluates the previous one, so no FIFO is needed between them).

Covered now: dense units only (Input, ReuseDense, and reshapes between them), in either design and shape. What follows the
last unit in the hls4ml graph (an output scaling) stays in software: ``outputs_as_model`` applies it with the
Python reference's own step, so the pipeline's outputs compare with QKeras as the C simulation's do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir.layers import ReuseConv2D, ReuseUnitLayer
from ..plan.unit import Design, OutputEncoding, Shape, UnitSpec
from ..sim import graph
from .dense import FoldedDense, input_width, output_width
from .unrolled import UnrolledDense


class UnsupportedNetwork(ValueError):
    """The converted graph holds a layer the RTL pipeline does not build (yet)."""


@dataclass(frozen=True)
class Stage:
    name: str
    unit: UnitSpec


def stages(hls_model) -> list[Stage]:
    """The units of a converted graph in stream order; UnsupportedNetwork names the first layer it cannot build."""
    found, after_last = [], False
    for layer in list(hls_model.get_layers())[1:]:
        if isinstance(layer, ReuseConv2D):
            raise UnsupportedNetwork(
                f'layer {layer.name!r}: convolutions are not in the RTL pipeline yet (dense units only)'
            )
        if isinstance(layer, ReuseUnitLayer):
            if after_last:
                raise UnsupportedNetwork(f'layer {layer.name!r}: a unit after a layer the pipeline leaves to software')
            found.append(Stage(layer.name, layer.get_attr('unit')))
        elif not isinstance(layer, graph.RESHAPES):
            after_last = True  # an output scaling: applied in software after the pipeline
    if not found:
        raise UnsupportedNetwork('the converted graph has no reuse unit to build in RTL')
    for before, after in zip(found, found[1:]):
        if before.unit.n_out != after.unit.n_in or not after.unit.input_format.binary:
            raise UnsupportedNetwork(f'layer {after.name!r}: its input is not the binary output of {before.name!r}')
    return found


def unit_rtl(unit: UnitSpec, design: Design, shape: Shape, lut_cells: bool = True) -> wiring.Component:
    """The RTL of one unit in the given shape (unrolled: `lut_cells` as UnrolledDense takes it)."""
    if Shape(shape) is Shape.UNROLLED:
        return UnrolledDense(unit, design, lut_cells=lut_cells)
    return FoldedDense(unit, design)


class Pipeline(wiring.Component):
    """The units of `stages` chained stream to stream, ours or the stock twin, in one shape."""

    def __init__(self, stages_: list[Stage], design: Design, shape: Shape, lut_cells: bool = True):
        self.stages, self.design, self.shape = stages_, Design(design), Shape(shape)
        self.units = [unit_rtl(stage.unit, self.design, self.shape, lut_cells) for stage in stages_]
        first, last = self.units[0], self.units[-1]
        super().__init__(
            {
                's_axis_tdata': In(len(first.s_axis_tdata)),
                's_axis_tvalid': In(1),
                's_axis_tready': Out(1),
                's_axis_tlast': In(1),
                'm_axis_tdata': Out(len(last.m_axis_tdata)),
                'm_axis_tvalid': Out(1),
                'm_axis_tready': In(1),
                'm_axis_tlast': Out(1),
            }
        )

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
def input_beats(unit: UnitSpec, raw: np.ndarray) -> list[int]:
    """One beat per vector of raw inputs (m, K): value k at bits [k*b, (k+1)*b), a binary input as 1 for +1."""
    width = input_width(unit)
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


def outputs_as_model(hls_model, last_unit: str, values: np.ndarray) -> np.ndarray:
    """The model's outputs from the last unit's (as output_values gives them), as hls4ml's predict returns them."""
    return graph.forward_from(hls_model, last_unit, values)
