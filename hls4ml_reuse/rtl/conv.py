"""Convolution units in RTL (Amaranth), behind AXI4-Stream ports: conv2d_folded and conv2d_unrolled of
hls4ml_reuse_conv2d.h, ours and the stock twin.

Folded (FoldedConv):

A sliding-window generator (rtl/window.py: a ring in memory read a pixel per clock, or in registers) gathers each
window of the pixel stream into the folded dense core's x_next (rtl/dense.py, unchanged: the same steps, tiles, early
exit, inclusion test and zero skipping) while the core evaluates the previous window. So a window takes what a dense
vector takes, and an image, clock for clock,

    image_cycles = counted tiles + evaluated windows * (n_kernels + FLUSH_CYCLES)

where the tiles are those the C simulation's counters (and sim/graph.conv_windows / conv_pooled) count over the
image, and the evaluated windows are every output pixel or, with a max pooling absorbed, those Keras' pooling keeps.
The stock twin's windows each take n_out * ceil(K / tile) tiles and n_out steps.

An absorbed max pooling (thresholded units only): a bit per channel and pooling window of the row (`seen`, a
LUT RAM), ORed over its pixels in raster order, written after its last pixel as one beat of the pooled map. The
pool exit is the firmware's: at each pixel, a channel already 1 in its pooling window whose children are all known
too is skipped -- one clock for its step, no tile, written as 1 (reuse_vector's ReuseLoop walks every step). Each
step row carries the output channels of its kernel's subtree (its dependants), so a step is skipped where none of
them is unknown: an AND-OR over n_out bits a clock, where computing every kernel's need at once took 0.8 k LUTs on
cnv-mnist's conv1. The stock twin ORs without skipping.

Ports: one input beat per pixel (n_chan values, as FoldedDense takes them: a binary input as 1 bit, 1 = +1; a
fixed-point one as its raw integer); one output beat per output pixel (of the pooled map when pooling is absorbed),
n_out values packed as FoldedDense packs them, tlast on the image's last.

Unrolled (UnrolledConv): the same window generator feeding the unrolled datapath, one window per clock, so an image
takes max(its pixels, its windows) clocks at a stream of one pixel per clock. `conv_rtl` picks the shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from ..plan.stages import plan_stages
from ..plan.thresholds import AT_MOST
from ..plan.unit import ConvGeometry, Design, OutputEncoding, Shape, UnitSpec
from ..plan.windows import reads_from_memory
from ..synth.rtl import StageRegisters, datapath
from ..plan.folding import FLUSH_CYCLES, value_width
from .dense import FoldedDense, Loaded, output_width, stored_shape
from .window import MemoryWindows, SlidingWindows
from .stream import stream_ports


def conv_rtl(
    unit: UnitSpec, design: Design, shape: Shape, lut_cells: bool = True, lut_levels: int | None = None
) -> wiring.Component:
    """The RTL of one convolution unit in the given shape (unrolled: `lut_cells` and `lut_levels` as UnrolledDense
    takes them)."""
    if Shape(shape) is Shape.UNROLLED:
        return UnrolledConv(unit, design, lut_cells=lut_cells, lut_levels=lut_levels)
    return FoldedConv(unit, design)


def image_cycles(counted_tiles: int, windows: int, n_kernels: int) -> int:
    """Clocks of one image's evaluation: per evaluated window a step per kernel and the flush, plus every tile."""
    return counted_tiles + windows * (n_kernels + FLUSH_CYCLES)


class FoldedConv(FoldedDense):
    """One folded convolution unit, ours or the stock twin (`design`), for the spec `unit` (its geometry)."""

    def __init__(self, unit: UnitSpec, design: Design = Design.REUSE):
        if unit.geometry is None:
            raise ValueError('a convolution unit needs the spec of a convolution (UnitSpec.geometry)')
        if unit.window_reuse and Design(design) is Design.REUSE:
            raise NotImplementedError(
                'the RTL convolution unit has no window-reuse datapath yet (lever window_reuse); '
                'convert with ReusePruningWindowReuse: false to build it without'
            )
        if unit.absorbs_pooling and not unit.thresholded:
            raise ValueError('only a thresholded unit absorbs max pooling (its outputs are bits)')
        super().__init__(unit, design, values_per_beat=unit.geometry.n_chan)
        self.pool_exit = unit.absorbs_pooling and not self.stock
        # the fewest clocks a window takes (a step per output channel), ours or stock: both read windows alike
        memory = reads_from_memory(unit.geometry, unit.n_out + FLUSH_CYCLES)
        windows = MemoryWindows if memory else SlidingWindows
        self.windows = windows(unit.geometry, unit.pooling, self.value_shape, unit.input_format.binary)

    @property
    def evaluated_windows(self) -> int:
        return self.windows.rows * self.windows.columns

    @property
    def window_cycles(self) -> int | None:
        """The stock twin's clocks per window (static); None for ours (data-dependent: image_cycles)."""
        if not self.stock:
            return None
        unit = self.unit
        return unit.n_out * -(-unit.n_in // unit.tile) + unit.n_out + FLUSH_CYCLES

    # The core's hooks (rtl/dense.py)
    def load(self, m: Module, take) -> Loaded:
        windows, unit = self.windows, self.unit
        loaded = windows.elaborate(m, self.s_axis_tdata, self.s_axis_tvalid, self.s_axis_tready, take)
        if unit.absorbs_pooling:
            # per pooling window of the row, its OR so far: a memory (LUT RAM), read where the evaluated window's
            # cell is (and, with pool exit, the taken one's), written as a window's results leave
            m.submodules.seen = seen = Memory(shape=unit.n_out, depth=max(windows.cells, 2), init=[])
            self.seen_write, self.seen_read = seen.write_port(), seen.read_port(domain='comb')
            m.d.comb += self.seen_read.addr.eq(windows.cell)
            self.pooled = Signal(unit.n_out)  # driven in FLUSH only: the evaluated window's pooling window so far
            self.flushing = Signal()
        if self.pool_exit:
            self.known_read = seen.read_port(domain='comb')
            self.known = Signal(unit.n_out)  # per output channel: 1 already in the evaluated window's pooling window
        return loaded

    def started(self, m: Module) -> None:
        """What the new window's pooling window knows (the one just flushed, if it is the same, through `pooled`)."""
        if not self.pool_exit:
            return
        windows = self.windows
        first, cell = windows.loaded['first'], windows.loaded['cell']
        same = self.flushing & (cell == windows.cell)
        m.d.comb += self.known_read.addr.eq(cell)
        m.d.sync += self.known.eq(Mux(first, 0, Mux(same, self.pooled, self.known_read.data)))

    def skipped(self, row):
        """A step none of whose dependants (the output channels in its subtree, a mask in its step row) is unknown:
        the firmware's mark_needed, read a step at a time instead of computed for every kernel at once."""
        return ~(row.dependants & ~self.known).any() if self.pool_exit else None

    def output_beat(self, m: Module, results) -> tuple:
        windows = self.windows
        if not self.unit.absorbs_pooling:
            return Const(1), Cat(*results), windows.image_last
        bits = Cat(*(self.bit_of(result) for result in results))
        m.d.comb += self.pooled.eq(Mux(windows.first, 0, self.seen_read.data) | bits)
        return windows.last, Cat(*(self.encoded(self.pooled[j]) for j in range(self.unit.n_out))), windows.image_last

    def flushed(self, m: Module, results) -> None:
        if self.unit.absorbs_pooling:
            write = self.seen_write
            m.d.comb += [write.addr.eq(self.windows.cell), write.data.eq(self.pooled), write.en.eq(1)]
            m.d.comb += self.flushing.eq(1)

    # Encodings of a thresholded output
    def bit_of(self, result):
        return ~result[1] if self.unit.output_encoding is OutputEncoding.BIPOLAR else result[0]

    def encoded(self, bit):
        return Mux(bit, 1, 0b11) if self.unit.output_encoding is OutputEncoding.BIPOLAR else bit


class UnrolledConv(wiring.Component):
    """One unrolled convolution unit, ours or the stock twin: the unrolled dense datapath (synth/rtl.py) on one
    window per clock, as conv2d_unrolled. Absorbs no pooling; window reuse is a folded lever (the datapath has every
    planned term of a window at once).

    The window register (the generator's x_next), the datapath's stages (plan/stages.py, as UnrolledDense's; the
    window's tags travel with them) and the output register are its stages. A binary input has no
    0 for padding: padded positions enter the datapath as +1, and each channel's sum is corrected by what they
    added, a constant per class of border window (which kernel rows and columns lie outside), read from a table.
    """

    def __init__(self, unit: UnitSpec, design: Design = Design.REUSE, lut_cells: bool = True, lut_levels: int = None):
        if unit.geometry is None:
            raise ValueError('a convolution unit needs the spec of a convolution (UnitSpec.geometry)')
        if unit.absorbs_pooling:
            raise ValueError('the unrolled convolution absorbs no pooling (conv2d_unrolled evaluates every channel)')
        self.unit, self.design, self.lut_cells = unit, Design(design), lut_cells
        self.value_width, self.out_width = value_width(unit), output_width(unit)
        self.windows = SlidingWindows(unit.geometry, unit.pooling, stored_shape(unit), unit.input_format.binary)
        self.stages = plan_stages(unit, self.design, lut_levels, padded=self.windows.padded)
        super().__init__(stream_ports(unit.geometry.n_chan * self.value_width, unit.n_out * self.out_width))

    def elaborate(self, platform):
        m = Module()
        unit, windows = self.unit, self.windows
        out, out_valid, out_last = Signal(len(self.m_axis_tdata)), Signal(), Signal()
        advance, take = Signal(), Signal()
        loaded = windows.elaborate(m, self.s_axis_tdata, self.s_axis_tvalid, self.s_axis_tready, take)
        m.d.comb += [advance.eq(~out_valid | self.m_axis_tready), take.eq(advance & loaded.full)]
        m.submodules.sums = sums = datapath(unit, self.design, lut_cells=self.lut_cells, stages=self.stages)
        # a binary input (one bit a value) outside the image enters as +1: its bit set
        inputs = loaded.x if loaded.present is None else loaded.x | ~loaded.present
        m.d.comb += [sums.x.eq(inputs), sums.enable.eq(advance)]
        registers, boundaries = StageRegisters(m, advance), self.stages.boundaries
        tags = {
            name: registers.delayed(windows.loaded[name], 0, boundaries, name) for name in ('row', 'column', 'image_last')
        }
        width = unit.sum_width
        values = [sums.y[j * width : (j + 1) * width].as_signed() for j in range(unit.n_out)]
        if loaded.present is not None:
            values = self.corrected(m, values, tags['row'], tags['column'])
        m.d.comb += [self.m_axis_tdata.eq(out), self.m_axis_tvalid.eq(out_valid), self.m_axis_tlast.eq(out_last)]
        valid = registers.delayed(loaded.full, 0, boundaries, 'valid')
        with m.If(advance):
            m.d.sync += [out.eq(Cat(*self.encoded(values))), out_valid.eq(valid), out_last.eq(tags['image_last'])]
        return m

    def corrected(self, m: Module, values: list, row, column) -> list:
        """Each channel's sum less what the window's padded positions (by its output `row` and `column`), entered
        as +1, added to it."""
        unit, windows = self.unit, self.windows
        rows, columns = padding_classes(unit.geometry, windows.rows, windows.columns)
        row_class = Array(Const(c) for c in rows.of)[row]
        column_class = Array(Const(c) for c in columns.of)[column]
        signs = np.where(unit.kernels[: unit.n_out], 1, -1).reshape(unit.n_out, unit.geometry.filt_height, -1)
        width = unit.sum_width + 1
        fixed = []
        for j, value in enumerate(values):
            table = []
            for outside_rows in rows.patterns:
                for outside_columns in columns.patterns:
                    table.append(Const(padded_sum(signs[j], outside_rows, outside_columns, unit.geometry), width))
            correction = Signal(signed(width), name=f'padding_correction{j}')
            m.d.comb += correction.eq(Array(table)[row_class * len(columns.patterns) + column_class])
            fixed.append(value - correction)
        return fixed

    def encoded(self, values: list) -> list:
        """Each channel's output from its sum: the sum, or its threshold bit (hls4ml's 0/1, or -1/+1)."""
        unit = self.unit
        if not unit.thresholded:
            return [value[: unit.sum_width] for value in values]
        bits = []
        for j, value in enumerate(values):
            threshold = int(unit.thresholds.value[j])
            bit = value <= threshold if unit.thresholds.mode[j] == AT_MOST else value >= threshold
            bits.append(Mux(bit, 1, 0b11) if unit.output_encoding is OutputEncoding.BIPOLAR else bit)
        return bits


@dataclass(frozen=True)
class PaddingClasses:
    """Along one axis: the distinct sets of kernel offsets that lie outside the image, and each output's."""

    patterns: list  # tuples of offsets
    of: list  # per evaluated output row (or column): the index of its pattern


def padding_classes(geometry: ConvGeometry, rows: int, columns: int) -> tuple[PaddingClasses, PaddingClasses]:
    g = geometry
    axes = (
        (rows, g.filt_height, g.stride_height, g.pad_top, g.in_height),
        (columns, g.filt_width, g.stride_width, g.pad_left, g.in_width),
    )
    classes = []
    for count, filt, stride, pad, size in axes:
        outside = [tuple(i for i in range(filt) if not 0 <= out * stride - pad + i < size) for out in range(count)]
        patterns = sorted(set(outside))
        classes.append(PaddingClasses(patterns, [patterns.index(pattern) for pattern in outside]))
    return classes[0], classes[1]


def padded_sum(signs: np.ndarray, outside_rows: tuple, outside_columns: tuple, geometry: ConvGeometry) -> int:
    """What +1 at every padded position of a window adds to a channel: its weights' signs there (signs: fh, fw*C)."""
    c = geometry.n_chan
    padded = np.zeros(signs.shape, dtype=bool)
    padded[list(outside_rows), :] = True
    for kw in outside_columns:
        padded[:, kw * c : (kw + 1) * c] = True
    return int(signs[padded].sum())


# Beats: images to pixel words
def pixel_beats(unit: UnitSpec, images: np.ndarray) -> list[int]:
    """One beat per pixel of raw images (m, height, width, n_chan), row by row: channel c at bits [c*b, (c+1)*b), a
    binary input as 1 for +1 (rtl/network.input_beats' packing of a vector)."""
    width = value_width(unit)
    pixels = np.asarray(images, dtype=np.int64).reshape(-1, unit.geometry.n_chan)
    values = (pixels == 1).astype(np.int64) if unit.input_format.binary else pixels & ((1 << width) - 1)
    return [sum(int(value) << (c * width) for c, value in enumerate(pixel)) for pixel in values.tolist()]
