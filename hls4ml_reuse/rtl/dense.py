"""A folded dense unit in RTL (Amaranth): the firmware's tile loop, clock by clock, behind AXI4-Stream ports.

Ours follows dense_folded / reuse_vector (hls4ml_reuse_unit.h): kernels in plan order, one clock per step (its
parent's value, the inclusion test), then one clock per tile of `tile` lanes, each lane gathering one planned
position; a thresholded leaf stops after the tile that settles its side of the threshold. With zero skipping a
step walks the vector's non-zero inputs instead where they are fewer, looking its weights and planned positions up
at each. So a vector takes, clock for clock, one cycle per kernel plus the tiles the C simulation counts, plus one
(FLUSH) to hand its outputs to the output register.

The stock twin is our model of hls4ml's folded architecture, not Vivado's output: the same machine with every
channel from scratch in channel order, `tile` in-order lanes (lane i reads positions i, i + tile, ...), no early
exit, no zero skipping.

Ports (rtl/verilator.py's convention): one input beat carries `values_per_beat` inputs (K / values_per_beat beats
per vector: hls4ml's data_T::size); one output beat carries the vector's n_out outputs (tlast on it). Input values
are the firmware's: a binary input as one bit (1 = +1), a fixed-point one as its raw integer. Outputs: a bit per
channel (hls4ml's 0/1), -1/+1 as 2-bit integers (bipolar), or raw sums of sum_width bits.

While a vector is evaluated the next one is loaded (and, with zero skipping, its non-zero inputs listed, one input
per clock, into the other bank of the list), so a steady stream takes max(evaluation, loading) clocks per vector.

The convolution unit (rtl/conv.py) is this core with other hooks: its vectors come from a window generator
(`load`, with a mask of the positions inside the image), and with a max pooling absorbed it skips known channels
(`started`, `skipped`) and writes one beat per pooling window (`output_beat`, `flushed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from ..plan.folding import value_width
from ..plan.unit import Design, OutputEncoding, UnitSpec
from .layout import FoldedLayout, index_bits
from .stream import stream_ports


@dataclass
class Loaded:
    """A vector being loaded for the evaluation: its inputs, whether it is whole, and what it brings along."""

    x: Value  # its n_in inputs as stored, one word: value k at bits [k*b, (k+1)*b)
    full: Signal  # set once the vector is whole; cleared when the evaluation takes it
    present: Signal | None = None  # a bit per input: 0 where a convolution's window lies outside the image
    tags: list = field(default_factory=list)  # (loaded, current) signal pairs copied when it is taken


def output_width(unit: UnitSpec) -> int:
    """Bits of one output value on the stream."""
    encoding = unit.output_encoding
    return {OutputEncoding.BITS: 1, OutputEncoding.BIPOLAR: 2}.get(encoding, unit.sum_width)


def stored_shape(unit: UnitSpec):
    """One input as stored: a bit, or the fixed-point format's raw integer."""
    fmt = unit.input_format
    return unsigned(1) if fmt.binary else (signed(fmt.width) if fmt.signed else unsigned(fmt.width))


def times_constant(value, constant: int):
    """value * constant as shifted adds: a product by a constant is wiring and adders, never a DSP block."""
    terms = [value << bit for bit in range(constant.bit_length()) if constant >> bit & 1]
    return sum(terms[1:], terms[0]) if terms else 0


class FoldedDense(wiring.Component):
    """One folded dense unit, ours or the stock twin (`design`), for the spec `unit` (folding.tile lanes)."""

    def __init__(self, unit: UnitSpec, design: Design = Design.REUSE, values_per_beat: int | None = None):
        self.unit, self.design = unit, Design(design)
        self.stock = self.design is Design.STOCK
        self.layout = FoldedLayout.of(unit, stock=self.stock)
        self.values_per_beat = values_per_beat or unit.n_in
        if unit.n_in % self.values_per_beat:
            raise ValueError(f'{unit.n_in} inputs do not split into beats of {self.values_per_beat}')
        self.zero_skip = unit.zero_skip and not self.stock
        self.banked = self.layout.banked
        self.value_width = value_width(unit)
        self.out_width = output_width(unit)
        super().__init__(stream_ports(self.values_per_beat * self.value_width, unit.n_out * self.out_width))

    @property
    def value_shape(self):
        return stored_shape(self.unit)

    def stored(self, word):
        """One input as stored, from its bits in x."""
        fmt = self.unit.input_format
        return word.as_signed() if not fmt.binary and fmt.signed else word

    def raw(self, value):
        """The raw integer of one stored input: a bit as -1/+1, a fixed-point value as itself."""
        return Mux(value, 1, -1) if self.unit.input_format.binary else value

    # What a subclass (rtl/conv.py) changes: where vectors come from and what an evaluated vector writes
    def load(self, m: Module, take) -> Loaded:
        """The next vector from the input stream, `values_per_beat` inputs per beat; `take` empties it."""
        x_next = Signal(self.unit.n_in * self.value_width, name='x_next')
        beats = self.unit.n_in // self.values_per_beat
        beat = Signal(range(max(beats, 2)))
        next_full = Signal()  # x_next holds a whole vector
        m.d.comb += self.s_axis_tready.eq(~next_full)
        with m.If(self.s_axis_tvalid & ~next_full):
            m.d.sync += x_next.word_select(beat, len(self.s_axis_tdata)).eq(self.s_axis_tdata)
            m.d.sync += beat.eq(Mux(beat == beats - 1, 0, beat + 1))
            with m.If(beat == beats - 1):
                m.d.sync += next_full.eq(1)
        with m.If(take):
            m.d.sync += next_full.eq(0)
        return Loaded(x_next, next_full)

    def started(self, m: Module) -> None:
        """The clock the evaluation takes the loaded vector (comb context)."""

    def skipped(self, row):
        """Whether the step `row` is skipped (its output known to be 1), or None: no step is."""
        return None

    def output_beat(self, m: Module, results) -> tuple:
        """(emit, tdata, tlast) of the evaluated vector's output beat: every vector writes its n_out results."""
        return Const(1), Cat(*results), 1

    def flushed(self, m: Module, results) -> None:
        """The clock the evaluated vector's results leave (comb context)."""

    def elaborate(self, platform):
        m = Module()
        unit, layout = self.unit, self.layout
        acc = signed(unit.accum_width)
        n_in, tile = unit.n_in, unit.tile

        # Input: the vector being loaded (x_next, by `load`) and the one being evaluated (x), each one wide word,
        # value k at bits [k*b, (k+1)*b): lanes index x with word_select, a binary multiplexer tree, which Yosys maps
        # as well as a case per position and Verilator compiles to a shift (a case per position took gigabytes to
        # build), and a vector moves as one word (a concatenation of K values cost Verilator O(K^2) word copies per
        # clock).
        take = Signal()  # the evaluation takes the loaded vector this clock
        loaded = self.load(m, take)
        x_next, next_full = loaded.x, loaded.full
        x = Signal(n_in * self.value_width)
        present = None if loaded.present is None else Signal.like(loaded.present, name='present')
        next_ready = Signal()  # x_next is loaded and its non-zero inputs are listed
        if not self.zero_skip:
            m.d.comb += next_ready.eq(next_full)
        with m.If(take):
            m.d.sync += x.eq(x_next)
            m.d.sync += [current.eq(following) for following, current in loaded.tags]
            if present is not None:
                m.d.sync += present.eq(loaded.present)
            if self.zero_skip:
                m.d.sync += next_ready.eq(0)

        list_rows = -(-n_in // tile)  # rows of `tile` entries: a walk's tiles
        nonzero = None
        if self.zero_skip:
            nonzero = (_BankedNonzeroLists if self.banked else _NonzeroList)(unit, list_rows)
        if nonzero is not None:
            nonzero.elaborate(m, x_next, next_full, next_ready, take)
        lists = [] if nonzero is None else nonzero.ports

        # Tables
        steps = Memory(shape=layout.step_layout, depth=layout.n_steps, init=layout.step_rows(), attrs=layout.step_attrs)
        tiles = Memory(shape=layout.tile_layout, depth=layout.n_tile_rows, init=layout.tile_rows())
        m.submodules.steps, m.submodules.tiles = steps, tiles
        step_read, tile_read = steps.read_port(), tiles.read_port()
        row = step_read.data
        entries = tile_read.data
        walk_read = None
        if self.zero_skip:
            walks = Memory(shape=layout.walk_layout, depth=layout.n_steps, init=layout.walk_rows())
            m.submodules.walks = walks
            walk_read = walks.read_port()
        values = None
        if not self.stock:  # every kernel's value, for its children
            values = Memory(shape=acc, depth=layout.n_steps, init=[])
            m.submodules['values'] = values
            value_write, value_read = values.write_port(), values.read_port(domain='comb')
            m.d.comb += value_read.addr.eq(row.parent)

        # Evaluation state
        step = Signal(range(layout.n_steps + 1))
        t = Signal(range(list_rows + 1))
        base, partial = Signal(acc), Signal(acc)
        left = Signal(range(n_in + 1))  # entries of the walk not yet summed
        left_bound = Signal(range(unit.sum_bound + 1))  # left * B: the most they can add
        over_nonzero = Signal()
        results = Array(Signal(self.out_width, name=f'result{n}') for n in range(unit.n_out))
        out_data = Signal(unit.n_out * self.out_width)
        out_valid, out_last = Signal(), Signal(init=1)
        m.d.comb += [self.m_axis_tdata.eq(out_data), self.m_axis_tvalid.eq(out_valid), self.m_axis_tlast.eq(out_last)]
        with m.If(self.m_axis_tready & out_valid):
            m.d.sync += out_valid.eq(0)

        limit = n_in * unit.input_bound  # every value lies in [-K*B, K*B]

        def scaled(value):
            """A child adds twice its sum."""
            return Mux(row.child, value << 1, value)

        def settled(value, spread):
            """(settled, bit): [y >= t] or [y <= t] for every y in [value - spread, value + spread] within +-limit."""
            lo = Mux(value - spread < -limit, -limit, value - spread)
            hi = Mux(value + spread > limit, limit, value + spread)
            at_least, at_most = lo >= row.threshold, hi <= row.threshold
            decided = Mux(row.at_most, at_most | (lo > row.threshold), at_least | (hi < row.threshold))
            return decided, Mux(row.at_most, at_most, at_least)

        def threshold_bit(value):
            return Mux(row.at_most, value <= row.threshold, value >= row.threshold)

        def finish(value, early, early_bit):
            """The step's last clock: keep its value, write its output, fetch the next step."""
            if values is not None:
                m.d.comb += [value_write.addr.eq(row.kernel), value_write.data.eq(value), value_write.en.eq(1)]
            if unit.thresholded:
                bit = Mux(early, early_bit, threshold_bit(value))
                encoded = Mux(bit, 1, 0b11) if unit.output_encoding is OutputEncoding.BIPOLAR else bit
            else:
                encoded = value
            with m.If(row.output):
                m.d.sync += results[row.kernel].eq(encoded)
            with m.If(step == layout.n_steps - 1):
                m.next = 'FLUSH'
            with m.Else():
                m.d.comb += [step_read.addr.eq(step + 1), step_read.en.eq(1)]
                if walk_read is not None:
                    m.d.comb += [walk_read.addr.eq(step + 1), walk_read.en.eq(1)]
                m.d.sync += step.eq(step + 1)
                m.next = 'STEP'

        def fetch_tile(index):
            """Read tile `index` of the step's walk for the next clock."""
            m.d.comb += [tile_read.addr.eq(row.tile_row + index), tile_read.en.eq(1)]
            for _, read in lists:
                m.d.comb += [read.addr.eq(nonzero.bank * list_rows + index), read.en.eq(1)]

        def start(m):
            m.d.comb += take.eq(1)
            self.started(m)
            m.d.comb += [step_read.addr.eq(0), step_read.en.eq(1)]
            if walk_read is not None:
                m.d.comb += [walk_read.addr.eq(0), walk_read.en.eq(1)]
            m.d.sync += step.eq(0)
            m.next = 'STEP'

        m.d.comb += [step_read.en.eq(0), tile_read.en.eq(0)]
        if walk_read is not None:
            m.d.comb += walk_read.en.eq(0)
        for _, read in lists:
            m.d.comb += read.en.eq(0)

        with m.FSM():
            with m.State('IDLE'):
                with m.If(next_ready):
                    start(m)
            with m.State('STEP'):
                parent = value_read.data if values is not None else 0
                step_base = Signal(acc)
                m.d.comb += step_base.eq(Mux(row.child, Mux(row.negate, -parent, parent), 0))
                length, length_bound = Signal(range(n_in + 1)), Signal(range(unit.sum_bound + 1))
                walk_nonzero = Signal()
                if self.zero_skip:  # the shorter walk: fewer entries, or banked, fewer rows
                    shorter = nonzero.busiest < row.rows if self.banked else nonzero.count < row.length
                    m.d.comb += walk_nonzero.eq(shorter)
                m.d.comb += length.eq(Mux(walk_nonzero, nonzero.count, row.length) if nonzero else row.length)
                m.d.comb += length_bound.eq(
                    Mux(walk_nonzero, nonzero.count_bound, row.length_bound) if nonzero else row.length_bound
                )
                early, early_bit = settled(step_base, scaled(length_bound))
                early = row.exits & early
                skipped = self.skipped(row)
                if skipped is not None:  # a channel known to be 1 (its pooling window): settled as 1 at once
                    early, early_bit = early | skipped, early_bit | skipped
                with m.If(early | (length == 0)):  # the inclusion test, or nothing to walk
                    finish(step_base, early, early_bit)
                with m.Else():
                    fetch_tile(0)
                    m.d.sync += [base.eq(step_base), partial.eq(0), left.eq(length), left_bound.eq(length_bound)]
                    m.d.sync += t.eq(0)
                    m.d.sync += over_nonzero.eq(walk_nonzero)
                    m.next = 'TILE'
            with m.State('TILE'):
                banks = self.banked_lanes(m, entries, lists, walk_read, nonzero, t, over_nonzero)
                tile_sum = self.tile_sum(m, x, entries, lists, walk_read, t, left, over_nonzero, present, banks)
                new_partial, value = Signal(acc), Signal(acc)
                rest, rest_bound = Signal(range(n_in + 1)), Signal(range(unit.sum_bound + 1))
                m.d.comb += [new_partial.eq(partial + tile_sum), value.eq(base + scaled(new_partial))]
                if self.banked:  # a row walks its valid entries, as few as one
                    walked = Signal(range(tile + 1), name='row_entries')
                    m.d.comb += walked.eq(sum(lane.walked for lane in banks))
                    m.d.comb += [
                        rest.eq(left - walked),
                        rest_bound.eq(left_bound - times_constant(walked, unit.input_bound)),
                    ]
                else:
                    tile_bound = tile * unit.input_bound
                    m.d.comb += [
                        rest.eq(Mux(left > tile, left - tile, 0)),
                        rest_bound.eq(Mux(left_bound > tile_bound, left_bound - tile_bound, 0)),
                    ]
                early, early_bit = settled(value, scaled(rest_bound))
                with m.If((row.exits & early) | (rest == 0)):
                    finish(value, row.exits & early, early_bit)
                with m.Else():
                    fetch_tile(t + 1)
                    m.d.sync += [partial.eq(new_partial), left.eq(rest), left_bound.eq(rest_bound), t.eq(t + 1)]
            with m.State('FLUSH'):
                emit, beat, last = self.output_beat(m, results)
                with m.If(~emit | ~out_valid | self.m_axis_tready):
                    with m.If(emit):
                        m.d.sync += [out_data.eq(beat), out_valid.eq(1), out_last.eq(last)]
                    self.flushed(m, results)
                    with m.If(next_ready):
                        start(m)
                    with m.Else():
                        m.next = 'IDLE'
        return m

    def banked_lanes(self, m, entries, lists, walk_read, nonzero, t, over_nonzero) -> list[BankedLane]:
        """Banked: each lane's entry this clock, from the tile row or, walking the non-zero inputs, row t of its
        bank's list; weight and planned bit are then looked up among its bank's K / tile positions only."""
        if not self.banked:
            return []
        lanes = []
        for lane in range(min(self.unit.tile, self.unit.n_in)):
            entry = entries[lane]
            slot = Signal.like(entry.slot, name=f'lane{lane}_slot')
            weight, walked, adds = (Signal(name=f'lane{lane}_{n}') for n in ('weight', 'walked', 'adds'))
            if nonzero is None:
                m.d.comb += [slot.eq(entry.slot), weight.eq(entry.weight), walked.eq(entry.valid), adds.eq(entry.valid)]
            else:
                listed, walk, tile = lists[lane][1].data, walk_read.data, self.unit.tile
                listed_walked = t < nonzero.counts[lane]
                planned = walk.planned[lane::tile].bit_select(listed, 1)
                m.d.comb += [
                    slot.eq(Mux(over_nonzero, listed, entry.slot)),
                    weight.eq(Mux(over_nonzero, walk.weights[lane::tile].bit_select(listed, 1), entry.weight)),
                    walked.eq(Mux(over_nonzero, listed_walked, entry.valid)),
                    adds.eq(Mux(over_nonzero, listed_walked & planned, entry.valid)),
                ]
            lanes.append(BankedLane(slot, weight, walked, adds))
        return lanes

    def tile_sum(self, m, x, entries, lists, walk_read, t, left, over_nonzero, present=None, banks=()):
        """The sum of this clock's lanes: each adds or subtracts one input of the walk (none where `present`, the
        window's mask of positions inside the image, is 0)."""
        unit, tile = self.unit, self.unit.tile
        terms = []
        for lane in range(tile):
            active = Signal(name=f'lane{lane}_active')
            weight = Signal(name=f'lane{lane}_weight')
            position = Signal(range(unit.n_in), name=f'lane{lane}_position')
            in_walk = lane < left
            if self.stock:  # in-order: position t * tile + lane, its weight from the row
                m.d.comb += [position.eq(t * tile + lane), weight.eq(entries[lane].weight), active.eq(in_walk)]
            elif self.banked:  # bank `lane`: position slot * tile + lane, a multiplexer as narrow as stock's
                if lane >= unit.n_in:
                    continue
                bank = banks[lane]
                m.d.comb += [position.eq(bank.slot * tile + lane), weight.eq(bank.weight), active.eq(bank.adds)]
            elif self.zero_skip:
                listed = lists[lane][1].data
                walk = walk_read.data
                m.d.comb += position.eq(Mux(over_nonzero, listed, entries[lane].position))
                m.d.comb += weight.eq(Mux(over_nonzero, walk.weights.bit_select(listed, 1), entries[lane].weight))
                m.d.comb += active.eq(in_walk & (~over_nonzero | walk.planned.bit_select(listed, 1)))
            else:
                m.d.comb += [position.eq(entries[lane].position), weight.eq(entries[lane].weight), active.eq(in_walk)]
            value = self.raw(self.stored(x.word_select(position, self.value_width)))
            if present is not None:
                active = active & present.bit_select(position, 1)
            terms.append(Mux(active, Mux(weight, value, -value), 0))
        total = Signal(signed(self.unit.accum_width), name='tile_sum')
        m.d.comb += total.eq(sum(terms[1:], terms[0]))
        return total


@dataclass
class BankedLane:
    """A banked lane's entry this clock: its position is slot * tile + lane."""

    slot: Signal
    weight: Signal
    walked: Signal  # an entry of the walk: it counts against the entries left
    adds: Signal  # it enters the sum: walked, and a planned position


class _NonzeroList:
    """Zero skipping: the loaded vector's non-zero inputs listed in ascending order, `tile` inputs per clock.

    Entry e of the list lies in column memory e % tile, row e // tile, so a walk reads one tile of it per clock, and
    the (at most `tile`) entries one clock appends fall in distinct columns. Two banks: the vector being evaluated
    reads one while the next one is listed into the other.
    """

    def __init__(self, unit: UnitSpec, rows: int):
        self.unit, self.rows = unit, rows
        n_in = unit.n_in
        self.count = Signal(range(n_in + 1), name='nonzero_count')  # of the vector being evaluated
        self.count_bound = Signal(range(unit.sum_bound + 1), name='nonzero_bound')  # count * B
        self.bank = Signal(name='nonzero_bank')  # the evaluated vector's bank
        self.columns = [Memory(shape=unsigned(index_bits(n_in)), depth=2 * rows, init=[]) for _ in range(unit.tile)]
        self.writes = [column.write_port() for column in self.columns]
        self.ports = [(write, column.read_port()) for write, column in zip(self.writes, self.columns)]

    def elaborate(self, m: Module, x_next, next_full, next_ready, take):
        unit, tile, rows = self.unit, self.unit.tile, self.rows
        for i, column in enumerate(self.columns):
            m.submodules[f'nonzero{i}'] = column
        load_bank = Signal(name='listing_bank')
        group = Signal(range(rows + 1), name='listing_group')  # inputs group * tile ... + tile - 1 this clock
        listed = Signal(range(unit.n_in + 1), name='listed')
        listed_bound = Signal(range(unit.sum_bound + 1), name='listed_bound')
        width = len(x_next) // unit.n_in
        padding = (rows * tile - unit.n_in) * width
        padded = Cat(x_next, Const(0, padding)) if padding else x_next  # zeros past the last input
        inputs = Signal(tile * width, name='listing_inputs')  # this clock's group
        m.d.comb += inputs.eq(padded.word_select(group, tile * width))
        flags = Signal(tile, name='listing_nonzero')
        m.d.comb += flags.eq(Cat(*(inputs.word_select(i, width) != 0 for i in range(tile))))
        ranks = [sum((flags[j] for j in range(i)), 0) for i in range(tile)]  # entries before input i of the group
        found = Signal(range(tile + 1), name='listing_found')
        m.d.comb += found.eq(sum(flags[i] for i in range(tile)))
        with m.If(next_full & ~next_ready):
            for column, write in enumerate(self.writes):
                rank = (column - listed) % tile  # the entry of this clock that falls in this column
                hits = [flags[i] & (ranks[i] == rank) for i in range(tile)]
                m.d.comb += [
                    write.addr.eq(load_bank * rows + ((listed + rank) // tile)),
                    write.data.eq(sum((Mux(hit, group * tile + i, 0) for i, hit in enumerate(hits)), 0)),
                    write.en.eq(Cat(*hits).any()),
                ]
            m.d.sync += [listed.eq(listed + found), listed_bound.eq(listed_bound + times_constant(found, unit.input_bound))]
            m.d.sync += group.eq(group + 1)
            with m.If(group == rows - 1):
                m.d.sync += next_ready.eq(1)
        with m.If(take):
            m.d.sync += [self.count.eq(listed), self.count_bound.eq(listed_bound), listed.eq(0), listed_bound.eq(0)]
            m.d.sync += [group.eq(0), self.bank.eq(load_bank), load_bank.eq(~load_bank)]


class _BankedNonzeroLists:
    """Zero skipping over banked lanes: the loaded vector's non-zero inputs of each bank (positions k = b mod tile)
    listed in ascending order as slots k // tile, in bank b's own column memory, so a lane reads only its bank.

    One clock lists one group of `tile` consecutive inputs, one per bank: each bank appends at most one slot. Row t
    of a walk is entry t of every bank's list (valid where the bank has more than t). Two halves per column: the
    vector being evaluated reads one while the next one is listed into the other.
    """

    def __init__(self, unit: UnitSpec, rows: int):
        self.unit, self.rows = unit, rows
        n_in, tile = unit.n_in, unit.tile
        self.count = Signal(range(n_in + 1), name='nonzero_count')  # of the vector being evaluated
        self.count_bound = Signal(range(unit.sum_bound + 1), name='nonzero_bound')  # count * B
        self.counts = [Signal(range(rows + 1), name=f'nonzero_count{b}') for b in range(tile)]  # per bank
        self.busiest = Signal(range(rows + 1), name='nonzero_busiest')  # rows of the walk over them
        self.bank = Signal(name='nonzero_half')  # the evaluated vector's half of every column
        self.columns = [Memory(shape=unsigned(index_bits(rows)), depth=2 * rows, init=[]) for _ in range(tile)]
        self.writes = [column.write_port() for column in self.columns]
        self.ports = [(write, column.read_port()) for write, column in zip(self.writes, self.columns)]

    def elaborate(self, m: Module, x_next, next_full, next_ready, take):
        unit, tile, rows = self.unit, self.unit.tile, self.rows
        for b, column in enumerate(self.columns):
            m.submodules[f'nonzero{b}'] = column
        load_half = Signal(name='listing_half')
        group = Signal(range(rows + 1), name='listing_group')  # inputs group * tile ... + tile - 1 this clock
        listing = [Signal(range(rows + 1), name=f'listing_count{b}') for b in range(tile)]
        listed_bound = Signal(range(unit.sum_bound + 1), name='listed_bound')
        width = len(x_next) // unit.n_in
        padding = (rows * tile - unit.n_in) * width
        padded = Cat(x_next, Const(0, padding)) if padding else x_next  # zeros past the last input
        inputs = Signal(tile * width, name='listing_inputs')  # this clock's group: input b in bank b
        m.d.comb += inputs.eq(padded.word_select(group, tile * width))
        flags = [inputs.word_select(b, width) != 0 for b in range(tile)]
        found = Signal(range(tile + 1), name='listing_found')
        m.d.comb += found.eq(sum(flags))
        with m.If(next_full & ~next_ready):
            for b, write in enumerate(self.writes):
                m.d.comb += [write.addr.eq(load_half * rows + listing[b]), write.data.eq(group), write.en.eq(flags[b])]
                m.d.sync += listing[b].eq(listing[b] + flags[b])
            m.d.sync += [listed_bound.eq(listed_bound + times_constant(found, unit.input_bound)), group.eq(group + 1)]
            with m.If(group == rows - 1):
                m.d.sync += next_ready.eq(1)
        with m.If(take):
            m.d.sync += [counted.eq(listed) for counted, listed in zip(self.counts, listing)]
            m.d.sync += [self.count.eq(sum(listing)), self.count_bound.eq(listed_bound), self.busiest.eq(_largest(listing))]
            m.d.sync += [listed.eq(0) for listed in listing] + [listed_bound.eq(0)]
            m.d.sync += [group.eq(0), self.bank.eq(load_half), load_half.eq(~load_half)]


def _largest(values: list) -> Value:
    """The largest of `values`, as a tree of comparisons."""
    while len(values) > 1:
        pairs = [Mux(a > b, a, b) for a, b in zip(values[::2], values[1::2])]
        values = pairs + values[len(pairs) * 2 :]
    return values[0]
