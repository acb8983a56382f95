"""A folded convolution unit in RTL (Amaranth): conv2d_folded (hls4ml_reuse_conv2d.h) behind AXI4-Stream ports.

The sliding-window generator (rtl/window.py) gathers each window of the pixel stream into the folded dense core's
x_next (rtl/dense.py, unchanged: the same steps, tiles, early exit, inclusion test and zero skipping) while the core
evaluates the previous window. So a window takes what a dense vector takes, and an image, clock for clock,

    image_cycles = counted tiles + evaluated windows * (n_kernels + FLUSH_CYCLES)

where the tiles are those the C simulation's counters (and sim/graph.conv_windows / conv_pooled) count over the
image, and the evaluated windows are every output pixel or, with a max pooling absorbed, those Keras' pooling keeps.
The stock twin's windows each take n_out * ceil(K / tile) tiles and n_out steps.

An absorbed max pooling (thresholded units only): a bit per channel and pooling window (`seen`), ORed over its
pixels in raster order, written after its last pixel as one beat of the pooled map. The pool exit is the
firmware's: at each pixel, a channel already 1 in its pooling window whose children are all known too is skipped --
one clock for its step, no tile, written as 1 (reuse_vector's ReuseLoop walks every step). The stock twin ORs
without skipping.

Ports: one input beat per pixel (n_chan values, as FoldedDense takes them: a binary input as 1 bit, 1 = +1; a
fixed-point one as its raw integer); one output beat per output pixel (of the pooled map when pooling is absorbed),
n_out values packed as FoldedDense packs them, tlast on the image's last.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal

from ..plan.spanning_tree import ROOT
from ..plan.unit import Design, OutputEncoding, UnitSpec
from .dense import FLUSH_CYCLES, FoldedDense, Loaded, input_width
from .window import SlidingWindows


def image_cycles(counted_tiles: int, windows: int, n_kernels: int) -> int:
    """Clocks of one image's evaluation: per evaluated window a step per kernel and the flush, plus every tile."""
    return counted_tiles + windows * (n_kernels + FLUSH_CYCLES)


def dependants(unit: UnitSpec) -> list[list[int]]:
    """Per kernel, the output channels in its subtree of the plan (itself included): it is needed where one is."""
    plan, found = unit.plan, [[j] if j < unit.n_out else [] for j in range(unit.n_kernels)]
    for j in plan.order[::-1]:  # children follow their parents
        parent = int(plan.parent[j])
        if parent != ROOT:
            found[parent] += found[int(j)]
    return found


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
        self.windows = SlidingWindows(unit.geometry, unit.pooling, self.value_shape, unit.input_format.binary)

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
            self.seen = Array(Signal(unit.n_out, name=f'seen{c}') for c in range(max(windows.cells, 1)))
            self.pooled = Signal(unit.n_out)  # in FLUSH: the evaluated window's pooling window, ORed so far
            self.flushing = Signal()
        if self.pool_exit:
            self.needed = Signal(unit.n_kernels)  # per kernel, for the window being evaluated
            self.loaded_first, self.loaded_cell = loaded.tags[0][0], loaded.tags[2][0]
        return loaded

    def started(self, m: Module) -> None:
        """The new window's needed kernels, from what its pooling window knows (the one just flushed, if it is
        the same, through `pooled`)."""
        if not self.pool_exit:
            return
        windows = self.windows
        same = self.flushing & (self.loaded_cell == windows.cell)
        known = Mux(self.loaded_first, 0, Mux(same, self.pooled, self.seen[self.loaded_cell]))
        needed = [Cat(*(~known[d] for d in outputs)).any() if outputs else Const(0) for outputs in dependants(self.unit)]
        m.d.sync += self.needed.eq(Cat(*needed))

    def skipped(self, row):
        return ~self.needed.bit_select(row.kernel, 1) if self.pool_exit else None

    def output_beat(self, m: Module, results) -> tuple:
        windows = self.windows
        if not self.unit.absorbs_pooling:
            return Const(1), Cat(*results), windows.image_last
        bits = Cat(*(self.bit_of(result) for result in results))
        m.d.comb += self.pooled.eq(Mux(windows.first, 0, self.seen[windows.cell]) | bits)
        return windows.last, Cat(*(self.encoded(self.pooled[j]) for j in range(self.unit.n_out))), windows.image_last

    def flushed(self, m: Module, results) -> None:
        if self.unit.absorbs_pooling:
            m.d.sync += self.seen[self.windows.cell].eq(self.pooled)
            m.d.comb += self.flushing.eq(1)

    # Encodings of a thresholded output
    def bit_of(self, result):
        return ~result[1] if self.unit.output_encoding is OutputEncoding.BIPOLAR else result[0]

    def encoded(self, bit):
        return Mux(bit, 1, 0b11) if self.unit.output_encoding is OutputEncoding.BIPOLAR else bit


# Beats: images to pixel words
def pixel_beats(unit: UnitSpec, images: np.ndarray) -> list[int]:
    """One beat per pixel of raw images (m, height, width, n_chan), row by row: channel c at bits [c*b, (c+1)*b), a
    binary input as 1 for +1 (rtl/network.input_beats' packing of a vector)."""
    width = input_width(unit)
    pixels = np.asarray(images, dtype=np.int64).reshape(-1, unit.geometry.n_chan)
    values = (pixels == 1).astype(np.int64) if unit.input_format.binary else pixels & ((1 << width) - 1)
    return [sum(int(value) << (c * width) for c, value in enumerate(pixel)) for pixel in values.tolist()]
