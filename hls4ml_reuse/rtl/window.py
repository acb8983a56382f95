"""The sliding-window generators of the RTL convolution: a ring of input rows, and from it windows gathered in
(h, w, c) order -- Keras' kernel order -- as gather_window does in hls4ml_reuse_conv2d.h. Two of them, one
behaviour at the ports:

- SlidingWindows keeps the ring in registers and gathers a whole window in one clock: what the unrolled unit (a
  window per clock) and a folded unit that evaluates a window in fewer clocks than it has positions need. Each
  position is a multiplexer over a row of the ring, and each row one over the ring's rows: on cnv-mnist's conv1
  (26 x 26 x 64) that is most of the layer's 22 k LUTs.
- MemoryWindows keeps the ring in a memory (LUT RAM or block RAM) and reads the window one pixel per clock into a
  staging register, copied to the core in one clock when it takes a window, as FINN's ConvolutionInputGenerator
  reads its buffer. A folded core spends at least a clock per kernel on each window, so where the window has
  fewer positions than that (less GATHER_LATENCY), the reading hides behind the evaluation: the same clocks.

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

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib.memory import Memory

from ..plan.unit import ConvGeometry, Pooling
from ..plan.windows import can_pad, count_width, evaluated_region, marks_padding, ring_rows
from .dense import Loaded, times_constant


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
        self.count_width = count_width(geometry, self.ring_rows)  # row counters that wrap
        self.column_bits = max(1, (geometry.in_width - 1).bit_length())  # a column within a row of the ring
        self.first, self.last = Signal(name='window_first'), Signal(name='window_last')
        self.cell, self.image_last = Signal(range(max(self.cells, 2)), name='window_cell'), Signal(name='image_last')
        self.row, self.column = Signal(range(max(self.rows, 2)), name='window_row'), Signal(range(max(self.columns, 2)))
        names = ('first', 'last', 'cell', 'image_last', 'row', 'column')
        self.loaded = {name: Signal.like(getattr(self, name), name=f'loaded_{name}') for name in names}

    def elaborate(self, m: Module, tdata, tvalid, tready, take) -> Loaded:
        g, ring_rows = self.geometry, self.ring_rows
        pixel_bits = g.n_chan * self.value_width
        ring = Array(Signal(g.in_width * pixel_bits, name=f'ring{r}') for r in range(ring_rows))
        at = _Position(self)

        # Receiving: rows received since reset, the slot and column of the next pixel
        received = Signal(self.count_width, name='received')
        in_slot, in_column = Signal(range(ring_rows)), Signal(range(max(g.in_width, 2)))
        arrived = self.flow_control(m, at, received, tready)
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
        full, x_next, present = self.window_registers()
        tags = _Tags(self, at.row, at.column)
        with m.If(take):
            m.d.sync += full.eq(0)
        with m.If((~full | take) & arrived):
            m.d.sync += full.eq(1)
            self.gather(m, ring, at, x_next, present)
            m.d.sync += [self.loaded[name].eq(value) for name, value in tags.values.items()]
            self.advance(m, at, tags)
        return Loaded(x_next, full, present, self.tag_pairs())

    def flow_control(self, m: Module, at: _Position, received, tready):
        """tready while the ring has a slot no window still to be gathered reads; whether the window `at` has all
        its rows in (received counts rows since reset)."""
        g, width = self.geometry, self.count_width
        oldest = Signal(width, name='oldest')  # the first row a window still to gather reads
        m.d.comb += oldest.eq(at.image_base + Mux(at.top < 0, 0, at.top))
        m.d.comb += tready.eq((received - oldest)[:width].as_signed() < self.ring_rows)
        bottom = Signal(signed(width), name='bottom')  # its last input row inside the image
        last_row = at.top + g.filt_height - 1
        m.d.comb += bottom.eq(Mux(last_row > g.in_height - 1, g.in_height - 1, last_row))
        return (received - at.image_base - bottom)[:width].as_signed() > 0

    def window_registers(self):
        """full, x_next and present (None where no window pads) of the window handed to the core."""
        g = self.geometry
        full = Signal(name='window_full')
        # one word, value k at bits [k*b, (k+1)*b) as the core's x: a list of K signals joined costs Verilator
        # O(K^2) word copies every clock
        x_next = Signal(g.window * self.value_width, name='x_next')
        # all present from reset: a position no window pads stays a constant 1, which synthesis drops
        present = Signal(g.window, name='present_next', init=(1 << g.window) - 1) if self.padded else None
        return full, x_next, present

    def tag_pairs(self) -> list:
        return [(loaded, getattr(self, name)) for name, loaded in self.loaded.items()]

    def gather(self, m, ring, at: _Position, x_next, present):
        """x_next (and present) <- the window at rows top ..., columns left ...: 0 / absent outside the image."""
        g, top, left, top_slot = self.geometry, at.top, at.left, at.top_slot
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
                m.d.comb += pixel.eq(row_bits.word_select(in_column[: self.column_bits], pixel_bits))
                # the pixel's channels are the window's values (kh * filt_width + kw) * n_chan + c, c = 0 ...
                position = kh * g.filt_width + kw
                m.d.sync += x_next.word_select(position, pixel_bits).eq(Mux(inside, pixel, 0))
                if present is not None:
                    m.d.sync += present.word_select(position, g.n_chan).eq(inside.replicate(g.n_chan))

    def advance(self, m, at: _Position, tags):
        """To the next window in raster order over the evaluated outputs, and after an image's last, the next image."""
        g, ring_rows = self.geometry, self.ring_rows
        with m.If(at.column != self.columns - 1):
            m.d.sync += [at.column.eq(at.column + 1), at.left.eq(at.left + g.stride_width)]
            tags.next_column(m)
        with m.Else():
            m.d.sync += [at.column.eq(0), at.left.eq(-g.pad_left)]
            tags.first_column(m)
            with m.If(at.row != self.rows - 1):
                m.d.sync += [at.row.eq(at.row + 1), at.top.eq(at.top + g.stride_height)]
                m.d.sync += at.top_slot.eq(add_modulo(at.top_slot, g.stride_height, ring_rows))
                tags.next_row(m)
            with m.Else():
                next_slot = Signal(range(ring_rows), name='next_image_slot')
                m.d.comb += next_slot.eq(add_modulo(at.image_slot, g.in_height, ring_rows))
                m.d.sync += [at.row.eq(0), at.top.eq(-g.pad_top), at.image_base.eq(at.image_base + g.in_height)]
                m.d.sync += [at.image_slot.eq(next_slot), at.top_slot.eq(add_modulo(next_slot, -g.pad_top, ring_rows))]
                tags.first_row(m)


class MemoryWindows(SlidingWindows):
    """SlidingWindows' windows, tags and flow control, from a ring in memory read one pixel per clock.

    A window is read, position by position, into `staged` once its last row is in and the staging register is
    free (or being copied); its tags are kept beside it. The core's x_next takes it whole when free or taken, as it
    takes SlidingWindows' gathered window. The window being read holds its rows in the ring until its last read.
    """

    def elaborate(self, m: Module, tdata, tvalid, tready, take) -> Loaded:
        g, width = self.geometry, self.count_width
        pixel_bits, depth = g.n_chan * self.value_width, self.ring_rows * g.in_width
        m.submodules.ring = ring = Memory(shape=pixel_bits, depth=depth, init=[])
        write, read = ring.write_port(), ring.read_port()
        at = _Position(self)

        # Receiving: pixel after pixel into the ring, row r of the stream at slot r mod ring_rows
        received, in_address = Signal(width, name='received'), Signal(range(depth), name='in_address')
        in_column = Signal(range(max(g.in_width, 2)), name='in_column')
        arrived = self.flow_control(m, at, received, tready)  # `at` is the window being read until its last read
        m.d.comb += [write.addr.eq(in_address), write.data.eq(tdata), write.en.eq(tvalid & tready)]
        with m.If(tvalid & tready):
            m.d.sync += in_address.eq(add_modulo(in_address, 1, depth))
            with m.If(in_column == g.in_width - 1):
                m.d.sync += [in_column.eq(0), received.eq(received + 1)]
            with m.Else():
                m.d.sync += in_column.eq(in_column + 1)

        # Reading: position (kh, kw) at the slot of row top + kh, column left + kw; its data a clock later
        reading, staged_full = Signal(name='reading'), Signal(name='staged_full')
        kh, kw = Signal(range(max(g.filt_height, 2))), Signal(range(max(g.filt_width, 2)))
        row_address = Signal(range(depth))  # the ring address of row top + kh's first pixel
        landing, landing_last = Signal(), Signal()  # read.data is a position's (the window's last)
        landing_inside = Signal()
        staged = Signal(g.window * self.value_width, name='staged')
        staged_present = Signal(g.window, init=(1 << g.window) - 1) if self.padded else None
        tags = _Tags(self, at.row, at.column)
        staged_tags = {name: Signal.like(loaded, name=f'staged_{name}') for name, loaded in self.loaded.items()}

        # Copying to the core: as SlidingWindows' gather, when x_next is free or being taken
        full, x_next, present = self.window_registers()
        copy = staged_full & (~full | take)
        with m.If(take):
            m.d.sync += full.eq(0)
        with m.If(copy):
            m.d.sync += [full.eq(1), staged_full.eq(0), x_next.eq(staged)]
            m.d.sync += [self.loaded[name].eq(staged_tags[name]) for name in self.loaded]
            if present is not None:
                m.d.sync += present.eq(staged_present)

        pads = can_pad(g, self.rows, self.columns)
        in_row, in_column_read = Signal(signed(width + 1)), Signal(signed(width + 1))
        m.d.comb += [in_row.eq(at.top + kh), in_column_read.eq(at.left + kw)]
        inside = (in_row >= 0) & (in_row < g.in_height) & (in_column_read >= 0) & (in_column_read < g.in_width)
        column_bits = in_column_read[: self.column_bits]
        if pads:  # a padded position reads its row's first pixel, not past the ring
            column_bits = Mux(inside, column_bits, 0)
        m.d.comb += [read.addr.eq(row_address + column_bits), read.en.eq(reading)]
        m.d.sync += [landing.eq(reading), landing_inside.eq(inside), landing_last.eq(0)]
        with m.If(~reading & ~landing_last & (~staged_full | copy) & arrived):  # staged free, its last data in
            m.d.sync += [reading.eq(1), kh.eq(0), kw.eq(0), row_address.eq(times_constant(at.top_slot, g.in_width))]
        with m.If(reading):
            with m.If(kw != g.filt_width - 1):
                m.d.sync += kw.eq(kw + 1)
            with m.Else():
                m.d.sync += [kw.eq(0), kh.eq(kh + 1), row_address.eq(add_modulo(row_address, g.in_width, depth))]
                with m.If(kh == g.filt_height - 1):  # the window's last read: on to the next window
                    m.d.sync += [reading.eq(0), landing_last.eq(1)]
                    m.d.sync += [staged_tags[name].eq(value) for name, value in tags.values.items()]
                    self.advance(m, at, tags)

        value = Mux(landing_inside, read.data, 0) if pads else read.data
        with m.If(landing):
            m.d.sync += staged.eq(Cat(staged[pixel_bits:], value))  # position 0, read first, ends at the bottom
            if staged_present is not None:
                m.d.sync += staged_present.eq(Cat(staged_present[g.n_chan :], landing_inside.replicate(g.n_chan)))
        with m.If(landing_last):
            m.d.sync += staged_full.eq(1)
        return Loaded(x_next, full, present, self.tag_pairs())


class _Position:
    """Where the next window lies: its output pixel (row, column), its first input row and column (negative:
    padding), the rows received before its image's first (counted since reset), and the ring slots of that row and
    of row `top`."""

    def __init__(self, windows: SlidingWindows):
        g, ring_rows, width = windows.geometry, windows.ring_rows, windows.count_width
        self.row = Signal(range(max(windows.rows, 2)), name='next_window_row')
        self.column = Signal(range(max(windows.columns, 2)), name='next_window_column')
        self.top = Signal(signed(width), init=-g.pad_top, name='top')
        self.left = Signal(signed(width), init=-g.pad_left, name='left')
        self.image_base = Signal(width, name='image_base')
        self.image_slot = Signal(range(ring_rows), name='image_slot')
        self.top_slot = Signal(range(ring_rows), init=(-g.pad_top) % ring_rows, name='top_slot')


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
