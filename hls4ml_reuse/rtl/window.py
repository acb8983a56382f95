"""The sliding-window generator of the RTL convolution: a ring of input rows, and from it one window per clock,
gathered in (h, w, c) order -- Keras' kernel order -- as gather_window does in hls4ml_reuse_conv2d.h.

Pixels arrive one per beat (all n_chan channels, channels last), row by row, image after image. A window is
gathered once the last input row it needs is in (the firmware's completing_row), straight into the evaluation
core's x_next while the core evaluates the previous window; the ring keeps receiving meanwhile. So the ring holds
more than the filt_height rows a window reads: `ring_rows` adds the rows the next output row brings (stride_height)
and, at an image's end, the rows the next image's first windows need, so that loading never holds up a core slower
than the stream. A pixel is taken only into a slot whose row no window still to be gathered reads.

Windows are visited in raster order over the output pixels the unit evaluates: all of them, or, with a max pooling
absorbed, the ones Keras' pooling keeps. Positions outside the image are 0 ('same' padding): a fixed-point input
stores 0; a binary one (its bit has no 0) clears its bit of `present`, which the core's lanes read as "adds
nothing" -- one bit per position, the cheapest exact mark, and no clock more.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed

from ..plan.unit import ConvGeometry, Pooling
from .dense import Loaded


def evaluated_region(geometry: ConvGeometry, pooling: Pooling) -> tuple[int, int]:
    """(rows, columns) of the convolution's output that the unit evaluates (an absorbed pooling drops the rest)."""
    if pooling.absorbed:
        return pooling.pooled_height * pooling.pool_height, pooling.pooled_width * pooling.pool_width
    return geometry.out_height, geometry.out_width


def ring_rows(geometry: ConvGeometry, rows: int) -> int:
    """Input rows the ring holds: an output row's and the next one's, or at an image's end, the rows from its last
    evaluated output row's first to the image's last, and the next image's first window's."""
    g = geometry
    within = g.filt_height + g.stride_height
    last_top = max((rows - 1) * g.stride_height - g.pad_top, 0)
    across = g.in_height - last_top + min(g.filt_height - g.pad_top, g.in_height)
    return max(within, across)


def can_pad(geometry: ConvGeometry, rows: int, columns: int) -> bool:
    """Whether some evaluated window reaches outside the image."""
    g = geometry
    bottom = (rows - 1) * g.stride_height + g.filt_height - g.pad_top > g.in_height
    right = (columns - 1) * g.stride_width + g.filt_width - g.pad_left > g.in_width
    return bool(g.pad_top or g.pad_left or bottom or right)


def marks_padding(geometry: ConvGeometry, pooling: Pooling, binary: bool) -> bool:
    """Whether the windows carry `present` bits: a binary input (no 0 to pad with) and a window reaching outside."""
    return binary and can_pad(geometry, *evaluated_region(geometry, pooling))


def add_modulo(value, constant: int, modulus: int):
    """(value + constant) mod modulus for value in [0, modulus): one adder and one compare."""
    constant %= modulus
    total = value + constant
    return Mux(total >= modulus, total - modulus, total)


class SlidingWindows:
    """Windows of `geometry` (visiting `pooling`'s kept outputs) from a pixel stream, into a core's x_next.

    Tags travel with each window: `first` and `last` of its pooling window, its pooling `cell` in the row,
    `image_last` (the image's last window: its output beat carries tlast), and its output `row` and `column`.
    `loaded` has the loaded window's tags by name; the attributes of the same names are the evaluated window's,
    which the core copies from them when it takes the window (Loaded.tags).
    """

    def __init__(self, geometry: ConvGeometry, pooling: Pooling, value_shape, binary: bool):
        self.geometry, self.pooling = geometry, pooling
        self.value_shape, self.binary = value_shape, binary
        self.value_width = value_shape.width
        self.rows, self.columns = evaluated_region(geometry, pooling)
        self.ring_rows = ring_rows(geometry, self.rows)
        self.padded = marks_padding(geometry, pooling, binary)
        self.cells = self.columns // pooling.pool_width
        # Row counters that wrap: differences of them, taken as signed, stay within half their range
        self.count_width = (2 * geometry.in_height + self.ring_rows + geometry.filt_height).bit_length() + 1
        self.first, self.last = Signal(name='window_first'), Signal(name='window_last')
        self.cell, self.image_last = Signal(range(max(self.cells, 2)), name='window_cell'), Signal(name='image_last')
        self.row, self.column = Signal(range(max(self.rows, 2)), name='window_row'), Signal(range(max(self.columns, 2)))
        names = ('first', 'last', 'cell', 'image_last', 'row', 'column')
        self.loaded = {name: Signal.like(getattr(self, name), name=f'loaded_{name}') for name in names}

    def elaborate(self, m: Module, tdata, tvalid, tready, take) -> Loaded:
        g, ring_rows, width = self.geometry, self.ring_rows, self.count_width
        pixel_bits = g.n_chan * self.value_width
        ring = Array(Signal(g.in_width * pixel_bits, name=f'ring{r}') for r in range(ring_rows))

        # Gathering: the next window's output pixel, where its rows and columns start, where its rows lie
        row, column = Signal(range(max(self.rows, 2))), Signal(range(max(self.columns, 2)))
        top = Signal(signed(width), init=-g.pad_top)  # its first input row (negative: padding)
        left = Signal(signed(width), init=-g.pad_left)
        image_base = Signal(width)  # rows received before the gathered image's first, counted since reset
        image_slot = Signal(range(ring_rows))  # the ring slot of that first row
        top_slot = Signal(range(ring_rows), init=(-g.pad_top) % ring_rows)  # the slot of row `top`

        # Receiving: rows received since reset, the slot and column of the next pixel
        received = Signal(width)
        in_slot, in_column = Signal(range(ring_rows)), Signal(range(max(g.in_width, 2)))
        oldest = Signal(width)  # the first row a window still to gather reads
        m.d.comb += oldest.eq(image_base + Mux(top < 0, 0, top))
        m.d.comb += tready.eq((received - oldest)[:width].as_signed() < ring_rows)
        with m.If(tvalid & tready):
            with m.Switch(in_slot):
                for slot in range(ring_rows):
                    with m.Case(slot):
                        m.d.sync += ring[slot].word_select(in_column, pixel_bits).eq(tdata)
            with m.If(in_column == g.in_width - 1):
                m.d.sync += [in_column.eq(0), in_slot.eq(add_modulo(in_slot, 1, ring_rows)), received.eq(received + 1)]
            with m.Else():
                m.d.sync += in_column.eq(in_column + 1)

        # The window: ready once its last row is in; gathered in one clock when x_next is free or being taken
        full = Signal(name='window_full')
        bottom = Signal(signed(width))
        m.d.comb += bottom.eq(Mux(top + g.filt_height - 1 > g.in_height - 1, g.in_height - 1, top + g.filt_height - 1))
        arrived = (received - image_base - bottom)[:width].as_signed() > 0
        # one word, value k at bits [k*b, (k+1)*b) as the core's x: a list of K signals joined costs Verilator
        # O(K^2) word copies every clock
        x_next = Signal(g.window * self.value_width, name='x_next')
        # all present from reset: a position no window pads stays a constant 1, which synthesis drops
        present = Signal(g.window, name='present_next', init=(1 << g.window) - 1) if self.padded else None
        tags = _Tags(self, row, column)
        with m.If(take):
            m.d.sync += full.eq(0)
        with m.If((~full | take) & arrived):
            m.d.sync += full.eq(1)
            self.gather(m, ring, top, left, top_slot, x_next, present)
            m.d.sync += [self.loaded[name].eq(value) for name, value in tags.values.items()]
            self.advance(m, row, column, top, left, top_slot, image_base, image_slot, tags)
        pairs = [(loaded, getattr(self, name)) for name, loaded in self.loaded.items()]
        return Loaded(x_next, full, present, pairs)

    def gather(self, m, ring, top, left, top_slot, x_next, present):
        """x_next (and present) <- the window at rows top ..., columns left ...: 0 / absent outside the image."""
        g = self.geometry
        pixel_bits = g.n_chan * self.value_width
        for kh in range(g.filt_height):
            in_row = Signal(signed(top.shape().width + 1), name=f'gather_row{kh}')
            row_bits = Signal(g.in_width * pixel_bits, name=f'gather_bits{kh}')
            m.d.comb += [in_row.eq(top + kh), row_bits.eq(ring[add_modulo(top_slot, kh, self.ring_rows)])]
            row_inside = (in_row >= 0) & (in_row < g.in_height)
            for kw in range(g.filt_width):
                in_column = Signal(signed(left.shape().width + 1), name=f'gather_column{kh}_{kw}')
                m.d.comb += in_column.eq(left + kw)
                inside = Signal(name=f'gather_inside{kh}_{kw}')
                m.d.comb += inside.eq(row_inside & (in_column >= 0) & (in_column < g.in_width))
                # in a signal: read once per window position (as an expression, each channel's slice re-selects
                # the row, and Verilator evaluates every copy each clock)
                pixel = Signal(pixel_bits, name=f'gather_pixel{kh}_{kw}')
                m.d.comb += pixel.eq(row_bits.word_select(in_column[: max(1, (g.in_width - 1).bit_length())], pixel_bits))
                # the pixel's channels are the window's values (kh * filt_width + kw) * n_chan + c, c = 0 ...
                position = kh * g.filt_width + kw
                m.d.sync += x_next.word_select(position, pixel_bits).eq(Mux(inside, pixel, 0))
                if present is not None:
                    m.d.sync += present.word_select(position, g.n_chan).eq(inside.replicate(g.n_chan))

    def advance(self, m, row, column, top, left, top_slot, image_base, image_slot, tags):
        """To the next window in raster order over the evaluated outputs, and after an image's last, the next image."""
        g, ring_rows = self.geometry, self.ring_rows
        with m.If(column != self.columns - 1):
            m.d.sync += [column.eq(column + 1), left.eq(left + g.stride_width)]
            tags.next_column(m)
        with m.Else():
            m.d.sync += [column.eq(0), left.eq(-g.pad_left)]
            tags.first_column(m)
            with m.If(row != self.rows - 1):
                m.d.sync += [row.eq(row + 1), top.eq(top + g.stride_height)]
                m.d.sync += top_slot.eq(add_modulo(top_slot, g.stride_height, ring_rows))
                tags.next_row(m)
            with m.Else():
                next_slot = Signal(range(ring_rows), name='next_image_slot')
                m.d.comb += next_slot.eq(add_modulo(image_slot, g.in_height, ring_rows))
                m.d.sync += [row.eq(0), top.eq(-g.pad_top), image_base.eq(image_base + g.in_height)]
                m.d.sync += [image_slot.eq(next_slot), top_slot.eq(add_modulo(next_slot, -g.pad_top, ring_rows))]
                tags.first_row(m)


class _Tags:
    """The tags of the window being gathered (`values`, by name); where it lies in its pooling window."""

    def __init__(self, windows: SlidingWindows, row, column):
        pool = self.pool = windows.pooling
        self.row_phase = Signal(range(max(pool.pool_height, 2)), name='pool_row')  # row within the pooling window
        self.column_phase = Signal(range(max(pool.pool_width, 2)), name='pool_column')
        self.cell = Signal.like(windows.cell, name='gather_cell')
        self.values = {
            'first': (self.row_phase == 0) & (self.column_phase == 0),
            'last': (self.row_phase == pool.pool_height - 1) & (self.column_phase == pool.pool_width - 1),
            'cell': self.cell,
            'image_last': (row == windows.rows - 1) & (column == windows.columns - 1),
            'row': row,
            'column': column,
        }

    def next_column(self, m):
        wrap = self.column_phase == self.pool.pool_width - 1
        m.d.sync += self.column_phase.eq(Mux(wrap, 0, self.column_phase + 1))
        m.d.sync += self.cell.eq(Mux(wrap, self.cell + 1, self.cell))

    def first_column(self, m):
        m.d.sync += [self.column_phase.eq(0), self.cell.eq(0)]

    def next_row(self, m):
        wrap = self.row_phase == self.pool.pool_height - 1
        m.d.sync += self.row_phase.eq(Mux(wrap, 0, self.row_phase + 1))

    def first_row(self, m):
        m.d.sync += self.row_phase.eq(0)
