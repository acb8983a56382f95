"""The folded shape's resources and cycles, charged for what each variant instantiates.

A folded unit has `tile` lanes; per clock each lane reads one input, adds or subtracts it, and the lanes' sum
goes into an accumulator. What differs is how a lane reaches its input:

- stock hls4ml walks its K inputs in order: lane i only ever reads positions i, i + tile, ...: a (K/tile):1
  multiplexer per lane;
- ours, gathered (the firmware's synth_tile_sums, the RTL twin's FoldedDense): a lane reads any planned position:
  a K:1 multiplexer per lane, tile times stock's;
- ours, banked (unit.banked, ReusePruningLanes: banked; in HLS and RTL): inputs stored in `tile` banks by position modulo tile,
  lane i reading only bank i, so its multiplexer is stock's; a kernel then needs as many clocks as its most
  loaded bank holds planned positions, instead of ceil(planned / tile); zero skipping lists each bank's non-zero
  inputs in its own column.

Resources (folded_resources) are a structural model of the whole unit as rtl/dense.py builds it -- input
registers, lane multiplexers, tables, accumulator, bounds and compare, output registers, control -- each
structure counted from the spec (table sizes as rtl/layout.py lays them out; plan/ does not import rtl/),
memories placed in logic, LUTRAM or block RAM by Yosys' own rule, and one fitted constant per structure
(fit_folded, on whole units synthesized with Yosys: folded_calibration_data.json, cli/folded_calibration.py).
A convolution (rtl/conv.py FoldedConv) adds its window generator (window_features, window_terms: counters and ring
addresses fitted, its staging register counted in window_registers, its ring placed by Yosys' rule), the absorbed
pooling's bits in LUTRAM and, ours, the pool exit; cnv-mnist's nine units, both designs, are in the fit.
Cycles here are static (every planned term, no early exit), a clock per kernel for its add or compare and one
flush per window, so the variants compare on equal terms; the firmware's counted cycles are in hardware.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import windows
from .thresholds import AT_MOST
from .unit import Design, FoldedVariant, OutputEncoding


def bank_loads(mask: np.ndarray, tile: int) -> np.ndarray:
    """(kernels, tile): how many planned positions of each kernel fall in each bank (position modulo tile)."""
    k = mask.shape[1]
    banks = np.arange(k) % tile
    return np.stack([mask[:, banks == b].sum(axis=1) for b in range(tile)], axis=1)


FLUSH_CYCLES = 1  # per window, beyond its steps and tiles: the outputs to the output register (rtl/dense.py)


def vector_cycles(tiles: float, n_kernels: int) -> float:
    """Clocks of one vector's (window's) evaluation: a step per kernel, the tiles it walked, the flush."""
    return tiles + n_kernels + FLUSH_CYCLES


def folded_variants(unit) -> dict:
    """LUTs and static cycles per image of stock, ours gathered and ours banked, for one unit: LUTs from the
    structural model of the whole unit (folded_resources); banked as its RTL is built: without window reuse."""
    k, tile, n, windows = unit.n_in, unit.tile, unit.n_out, unit.windows
    mask = unit.plan.mask
    planned = mask.sum(axis=1)
    steps = unit.n_kernels  # one add or compare per kernel
    ours = folded_features(gathered_variant(unit), Design.REUSE)
    return {
        FoldedVariant.STOCK: {
            'lut': folded_resources(unit, Design.STOCK)['lut'],
            'cycles': vector_cycles(n * math.ceil(k / tile), n) * windows,
        },
        FoldedVariant.GATHERED: {
            'lut': estimate_from_features(ours)['lut'],
            'cycles': vector_cycles(int(np.ceil(planned / tile).sum()), steps) * windows,
        },
        FoldedVariant.BANKED: {
            'lut': folded_resources(banked_variant(unit), Design.REUSE)['lut'],
            'cycles': vector_cycles(int(bank_loads(mask, tile).max(axis=1).sum()), steps) * windows,
        },
    }


def gathered_variant(unit):
    """The unit with gathered lanes (a banked unit keeps window reuse off)."""
    return replace(unit, folding=replace(unit.folding, banked=False))


def banked_variant(unit):
    """The unit with banked lanes, as the RTL builds them (no window reuse: it walks changed inputs, not banks)."""
    return replace(unit, folding=replace(unit.folding, banked=True), window_reuse=False)


def pipeline_variants(per_layer: dict[str, dict], clock_mhz: float) -> dict:
    """Per variant over the pipeline: LUTs (sum), cycles per image (slowest layer), images/s and images/s per LUT."""
    totals = {}
    for variant in FoldedVariant:
        lut = sum(layer[variant]['lut'] for layer in per_layer.values())
        cycles = max(layer[variant]['cycles'] for layer in per_layer.values())
        rate = clock_mhz * 1e6 / cycles
        totals[variant] = {'lut': lut, 'cycles': cycles, 'images_per_s': rate, 'images_per_s_per_lut': rate / lut}
    return totals


# The whole folded unit (rtl/dense.py FoldedDense), structure by structure, as Yosys maps it to the 7-series.
# Table sizes mirror rtl/layout.py (FoldedLayout) from the spec alone: plan/ does not import rtl/.
FOLDED_DATA = Path(__file__).with_name('folded_calibration_data.json')


def index_bits(count: int) -> int:
    """Bits of an unsigned index into `count` entries (rtl/layout.py index_bits)."""
    return max(1, (count - 1).bit_length())


LUT_INPUTS = 6


def counter_bits(top: int) -> int:
    """Bits of a Signal(range(top + 1)): a counter that reaches `top`."""
    return max(1, top.bit_length())


def folded_tables(unit, design) -> dict:
    """Depth and width of every memory FoldedDense instantiates (rtl/layout.py's step, tile and walk rows; the
    value memory of ours; zero skipping's column memories), and whether it is a ROM."""
    stock = Design(design) is Design.STOCK
    k, tile = unit.n_in, unit.tile
    if stock:  # every output channel from scratch over every position; a tile row holds only weights
        steps, tile_rows, entry = unit.n_out, unit.n_out * -(-k // tile), 1
    else:
        steps = unit.n_kernels
        tile_rows = max(1, int(walk_rows(unit).sum()))
        entry = (
            index_bits(-(-k // tile)) + 2 if unit.banked else index_bits(k) + 1
        )  # slot, weight, valid; or position, weight
    rows = -(-k // tile)
    step_width = (
        (counter_bits(rows) if walks_rows(unit, design) else 0)  # rows of its planned walk
        + 2 * index_bits(steps)  # kernel, parent
        + 4  # child, negate, exits, output
        + k.bit_length()  # length
        + unit.sum_bound.bit_length()  # length_bound
        + index_bits(tile_rows)  # tile_row
        + unit.threshold_width
        + 1  # at_most
        + (unit.n_out if pool_exits(unit, design) else 0)  # dependants: the output channels in its subtree
    )
    tables = {'steps': (steps, step_width, True), 'tiles': (tile_rows, tile * entry, True)}
    if not stock:
        tables['values'] = (steps, unit.accum_width, False)  # every kernel's value, for its children
        if unit.zero_skip:
            tables['walks'] = (steps, 2 * k, True)  # weights and planned positions as K-bit masks
            for column in range(tile):  # the non-zero list, two halves: positions, or banked, slots
                tables[f'nonzero{column}'] = (2 * rows, index_bits(rows) if unit.banked else index_bits(k), False)
    return tables


def pool_exits(unit, design) -> bool:
    """Ours absorbing a max pooling: a step row holds its dependants (rtl/layout.py FoldedLayout.pool_exit)."""
    return unit.absorbs_pooling and Design(design) is not Design.STOCK


def walks_rows(unit, design) -> bool:
    """Banked with zero skipping: a step row holds its planned walk's rows (rtl/layout.py walks_rows)."""
    return unit.banked and unit.zero_skip and Design(design) is not Design.STOCK


def walk_rows(unit) -> np.ndarray:
    """Per kernel, the tile rows of its walk over its planned positions (rtl/layout.py tiles_of)."""
    return unit.planned_rows()


# ROM contents, bit for bit as rtl/layout.py packs them (Amaranth struct layouts: first field in the low bits), so
# that a ROM in logic is charged for what it holds: Yosys and ABC share identical 64-word blocks and drop constant
# ones, so in-order positions (a root's walk) cost little where scattered ones (a child's) and random weights do not.
def _pack(fields: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """(rows, sum of widths) bits of integer columns packed low field first; each (values, width)."""
    columns = []
    for values, width in fields:
        values = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
        columns.append((values[:, None] >> np.arange(width)) & 1)
    return np.concatenate(columns, axis=1).astype(bool)


def step_rom(unit, design) -> np.ndarray:
    """The step rows (rtl/layout.py step_rows under step_layout), one row of bits per step."""
    k, tile = unit.n_in, unit.tile
    if Design(design) is Design.STOCK:  # every output channel from scratch, in channel order
        order = np.arange(unit.n_out)
        parent = np.full(unit.n_out, -1)
        negate = np.zeros(unit.n_out, dtype=bool)
        positions = np.full(unit.n_out, k)
        exits = np.zeros(unit.n_out, dtype=bool)
    else:
        order, parent, negate = unit.plan.order, unit.plan.parent, unit.plan.negate
        positions = unit.plan.n_positions
        exits = np.array([unit.may_exit(j) for j in range(unit.n_kernels)], dtype=bool)
    steps = len(order)
    tiles = -(-positions[order] // tile) if Design(design) is Design.STOCK else walk_rows(unit)[order]
    tile_rows = max(1, int(tiles.sum()))
    thresholded = np.array([unit.thresholds is not None and j < unit.n_out for j in order])
    threshold = np.array([int(unit.thresholds.value[j]) if t else 0 for j, t in zip(order, thresholded)])
    at_most = np.array([bool(t) and unit.thresholds.mode[j] == AT_MOST for j, t in zip(order, thresholded)])
    rows = [(tiles, counter_bits(-(-k // tile)))] if walks_rows(unit, design) else []
    packed = _pack(
        rows
        + [
            (order, index_bits(steps)),  # kernel
            (np.maximum(parent[order], 0), index_bits(steps)),  # parent
            (parent[order] != -1, 1),  # child
            (negate[order], 1),
            (exits[order], 1),
            (order < unit.n_out, 1),  # output
            (positions[order], k.bit_length()),  # length
            (positions[order] * unit.input_bound, unit.sum_bound.bit_length()),  # length_bound
            (np.concatenate([[0], np.cumsum(tiles)[:-1]]), index_bits(tile_rows)),  # tile_row
            (threshold, unit.threshold_width),
            (at_most, 1),
        ]
    )
    if pool_exits(unit, design):  # the last field, up to n_out bits wide: past an integer column
        packed = np.concatenate([packed, unit.dependants()[order]], axis=1)
    return packed


def tile_rom(unit, design) -> np.ndarray:
    """The tile rows (rtl/layout.py tile_rows under tile_layout): `tile` entries per row, entry 0 lowest."""
    k, tile = unit.n_in, unit.tile
    if Design(design) is Design.STOCK:  # weights only, lane i at position t * tile + i
        padded = np.zeros((unit.n_out, -(-k // tile) * tile), dtype=bool)
        padded[:, :k] = unit.kernels[: unit.n_out]
        return padded.reshape(-1, tile)
    if unit.banked:
        return _banked_tile_rom(unit)
    ib = index_bits(k)
    rows = []
    for j in unit.plan.order:
        positions = np.flatnonzero(unit.plan.mask[j])
        entries = np.zeros(-(-len(positions) // tile) * tile, dtype=np.int64)  # padding: position 0, weight 0
        entries[: len(positions)] = positions | (unit.kernels[j, positions].astype(np.int64) << ib)
        rows.append(entries.reshape(-1, tile))
    entries = np.concatenate(rows) if rows else np.zeros((1, tile), dtype=np.int64)
    return _pack([(entries[:, lane], ib + 1) for lane in range(tile)])


def _banked_tile_rom(unit) -> np.ndarray:
    """Banked tile rows: row r, lane i holds the r-th planned position k of bank i as slot k // tile, its weight and
    valid = 1 (rtl/layout.py _banked_rows); an empty lane is all zeros."""
    tile = unit.tile
    slot_bits = index_bits(-(-unit.n_in // tile))
    rows = []
    for j, n_rows in zip(unit.plan.order, walk_rows(unit)[unit.plan.order]):
        positions = np.flatnonzero(unit.plan.mask[j])
        entries = np.zeros((n_rows, tile), dtype=np.int64)
        weight = unit.kernels[j, positions].astype(np.int64)
        entries[unit.rows_of(positions), positions % tile] = positions // tile | weight << slot_bits | 1 << slot_bits + 1
        rows.append(entries)
    entries = np.concatenate(rows) if rows else np.zeros((1, tile), dtype=np.int64)
    return _pack([(entries[:, lane], slot_bits + 2) for lane in range(tile)])


def walk_rom(unit, design=None) -> np.ndarray:  # design: ours only; taken as step_rom and tile_rom take it
    """The walk rows (rtl/layout.py walk_rows): a step's weights, then its planned positions, K bits each."""
    order = unit.plan.order
    return np.concatenate([unit.kernels[order], unit.plan.mask[order]], axis=1).astype(bool)


def rom_luts(bits: np.ndarray) -> int:
    """LUTs of a ROM in logic from its contents: per distinct non-constant 64-word block of an output bit a LUT6
    (identical blocks and identical output bits shared), and per output bit spanning several blocks a tree of 4:1
    LUT multiplexers over them."""
    depth, width = bits.shape
    blocks = -(-depth // 64)
    padded = np.zeros((blocks * 64, width), dtype=bool)
    padded[:depth] = bits
    columns = {padded[:, c].tobytes() for c in range(width)}
    functions, tree = set(), 0
    for column in columns:
        words = np.frombuffer(column, dtype=bool).reshape(blocks, 64)
        varying = [w.tobytes() for w in words if w.any() and not w.all()]
        functions.update(varying)
        if blocks > 1 and (varying or len({w.any() for w in words}) > 1):
            tree += -(-(blocks - 1) // 3)
    return len(functions) + tree


# Yosys' memory_libmap picks, per memory, the cheapest of soft logic and the library's RAMs (share/xilinx/
# brams_xc4v.txt, lutrams_xc5v.txt): synth_xilinx charges a ROM in logic 1/64 per bit (-logic-cost-rom 0.015625),
# a block RAM 129 (RAMB18) or 257 (RAMB36) per cell, plus 0.5 per bit of the multiplexer joining cells stacked in
# depth, plus 2 for emulating our read port's behaviour (its debug log: "emulation score: 1"). ROMs never go to
# LUTRAM (prune_rom).
LOGIC_COST_ROM = 1 / 64
BRAM_EMULATION_COST = 2
BRAM_SHAPES = {  # cell: (cost, [(depth, width), ...]) over its true and simple dual-port modes
    'bram18': (129, [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)]),
    'bram36': (257, [(32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72)]),
}


def bram_mapping(depth: int, width: int) -> tuple[float, str, int, int]:
    """(cost, cell, cells, cells stacked in depth) of the cheapest block RAM shape for a depth x width memory."""
    best = None
    for cell, (cost, shapes) in BRAM_SHAPES.items():
        for cell_depth, cell_width in shapes:
            stacked = -(-depth // cell_depth)
            cells = stacked * -(-width // cell_width)
            total = cost * cells + 0.5 * (stacked - 1) * width + BRAM_EMULATION_COST
            if best is None or total < best[0]:
                best = (total, cell, cells, stacked)
    return best


def rom_in_bram(depth: int, width: int) -> bool:
    """Whether Yosys puts a ROM with a registered read in block RAM rather than logic."""
    return bram_mapping(depth, width)[0] < int(depth * width * LOGIC_COST_ROM)


def table_in_bram(name: str, depth: int, width: int, pool_exit: bool) -> bool:
    """Whether a table is in block RAM: by Yosys' rule, or the step table of a unit with pool exit, which the RTL
    marks for block RAM (rtl/layout.py step_attrs)."""
    return (name == 'steps' and bool(pool_exit)) or rom_in_bram(depth, width)


def lutram_cells(depth: int, width: int) -> int:
    """Distributed RAM cells of a RAM: RAM32M (32 x 6) up to 32 deep, else RAM64M (64 x 3) stacked."""
    if depth <= 32:
        return -(-width // 6)
    return -(-depth // 64) * -(-width // 3)


def lutram_luts(depth: int, width: int) -> int:
    """SLICEM LUTs of a RAM in distributed RAM: four a cell."""
    return 4 * lutram_cells(depth, width)


def mux_luts(inputs: int) -> float:
    """LUTs of an inputs:1 multiplexer of one bit: a tree of LUT6s as 4:1 multiplexers."""
    return max(0, inputs - 1) / 3


FOLDED_FEATURES = (
    'stock', 'k', 'n_out', 'steps', 'tile', 'value_width', 'accum_width', 'output_width', 'sum_bound',
    'thresholded', 'zero_skip', 'tile_rows', 'step_width', 'tile_width', 'step_rom_luts', 'tile_rom_luts',
    'walk_rom_luts',
)  # fmt: skip


def folded_features(unit, design) -> dict:
    """What the folded model reads of a unit, as integers: sizes, widths and table shapes (folded_tables)."""
    stock = Design(design) is Design.STOCK
    tables = folded_tables(unit, design)
    encoding = unit.output_encoding
    return {
        'stock': int(stock),
        'k': unit.n_in,
        'n_out': unit.n_out,
        'steps': tables['steps'][0],
        'tile': unit.tile,
        'value_width': value_width(unit),
        'accum_width': unit.accum_width,
        'output_width': {OutputEncoding.BITS: 1, OutputEncoding.BIPOLAR: 2}.get(encoding, unit.sum_width),
        'sum_bound': unit.sum_bound,
        'thresholded': int(unit.thresholded),
        'zero_skip': int(unit.zero_skip and not stock),
        **({'banked': 1} if unit.banked and not stock else {}),  # only where set (older stored features lack it)
        'tile_rows': tables['tiles'][0],
        **rom_features(unit, design, tables),
        'step_width': tables['steps'][1],
        'tile_width': tables['tiles'][1],
        **(window_features(unit, design) if unit.geometry is not None else {}),  # a convolution's only
    }


def value_width(unit) -> int:
    """Bits of one stored input: a binary input as one bit, a fixed-point one as its word."""
    return 1 if unit.input_format.binary else unit.input_format.width


def window_features(unit, design) -> dict:
    """What a folded convolution adds to the core (rtl/conv.py FoldedConv, rtl/window.py): its window generator
    (which ring, its counters' and address's widths, the pixel it writes), the absorbed pooling's cells and, ours,
    the pool exit."""
    g, pooling = unit.geometry, unit.pooling
    rows, columns = windows.evaluated_region(g, pooling)
    ring = windows.ring_rows(g, rows)
    return {
        'window_memory': int(windows.reads_from_memory(g, unit.n_out + FLUSH_CYCLES)),
        'window_positions': g.filt_height * g.filt_width,
        'window_count_bits': windows.count_width(g, ring),
        'ring_depth': ring * g.in_width,
        'ring_rows': ring,
        'in_width': g.in_width,
        'pixel_bits': g.n_chan * value_width(unit),
        'padded': int(windows.marks_padding(g, pooling, unit.input_format.binary)),
        'pool_cells': columns // pooling.pool_width if unit.absorbs_pooling else 0,
        'pool_exit': int(pool_exits(unit, design)),
    }


def rom_features(unit, design, tables: dict) -> dict:
    """LUTs of each ROM from its contents (rom_luts) where Yosys keeps it in logic; 0 in block RAM."""
    roms = {'step': ('steps', step_rom), 'tile': ('tiles', tile_rom), 'walk': ('walks', walk_rom)}
    features = {}
    for name, (table, contents) in roms.items():
        in_logic = table in tables and not table_in_bram(table, *tables[table][:2], pool_exits(unit, design))
        features[f'{name}_rom_luts'] = rom_luts(contents(unit, design)) if in_logic else 0
    return features


def feature_tables(f: dict) -> dict:
    """folded_tables rebuilt from the features: name -> (depth, width, rom)."""
    tables = {'steps': (f['steps'], f['step_width'], True), 'tiles': (f['tile_rows'], f['tile_width'], True)}
    if not f['stock']:
        tables['values'] = (f['steps'], f['accum_width'], False)
        if f['zero_skip']:
            tables['walks'] = (f['steps'], 2 * f['k'], True)
            rows = -(-f['k'] // f['tile'])
            entry = index_bits(rows) if f.get('banked', 0) else index_bits(f['k'])
            for column in range(f['tile']):
                tables[f'nonzero{column}'] = (2 * rows, entry, False)
    return tables


def folded_terms(f: dict) -> dict:
    """The structures of one folded unit (rtl/dense.py FoldedDense), each in its own unit -- LUTs before
    synthesis, or bits -- from folded_features: what the fitted constants multiply."""
    k, tile, w, acc = f['k'], f['tile'], f['value_width'], f['accum_width']
    rows = -(-k // tile)
    in_logic = {
        name: t
        for name, t in feature_tables(f).items()
        if t[2] and not table_in_bram(name, t[0], t[1], f.get('pool_exit', 0))
    }
    in_order = f['stock'] or f.get('banked', 0)  # stock's (and banked) lane i reads i, i + tile, ...
    lane_inputs = rows if in_order else k  # ours gathered: any position
    lane_bits = w + 2 * f['zero_skip']  # zero skipping also looks the weight and planned bit up at a listed position
    return {
        # tile_sum: per lane x[position] (a lane_inputs:1 multiplexer per value bit), its sign select, the adder tree
        'lane_mux': (1 - f['zero_skip']) * tile * w * mux_luts(lane_inputs),
        'lane_mux_listed': f['zero_skip'] * tile * lane_bits * mux_luts(lane_inputs),
        'lane_decode': tile * lane_inputs,  # a lane's select decoded once for all its bits
        'lane_select': tile * (w + 2),  # Mux(weight, x, -x), Mux(active, ..., 0) and the lanes' sum
        # new_partial, value = base + scaled(...), settled()'s bounds and clamps, threshold_bit: accumulator-wide
        'datapath': acc * (1 + f['thresholded']),
        # the steps, tiles and walks memories where Yosys keeps them in logic, from their contents (rom_luts)
        'rom_steps': f['step_rom_luts'],
        'rom_tiles': f['tile_rom_luts'],
        # the tile table's address, first row + tile index (+ 1) or the first row, is folded into the table: the
        # narrower the index, the more copies (1024 x 8 random bits, alone 168 LUTs: 711 behind a 3-bit index,
        # 411 behind a 5-bit one)
        'rom_tiles_indexed': f['tile_rom_luts'] * max(0, LUT_INPUTS - counter_bits(rows)),
        'rom_walks': f['walk_rom_luts'],
        'results': f['n_out'],  # results[row.kernel]: a write enable per output register
        'result_bits': f['n_out'] * f['output_width'],  # ... and its data, per bit
        # _NonzeroList: the loaded vector's non-zero flags, and each column's write select over a clock's entries
        # (banked: none, a bank takes one input of a clock's group, but a count per bank)
        'listing': f['zero_skip']
        * (k * -(-w // LUT_INPUTS) + (tile * counter_bits(rows) if in_order else tile * tile * index_bits(k))),
        'control': 1,  # the state machine and the stream handshakes
        # flip-flops
        'ff_inputs': 2 * k * w,  # x_next and x
        'ff_outputs': 2 * f['n_out'] * f['output_width'],  # results and out_data
        'ff_rom_registers': sum(width for _, width, _ in in_logic.values()),  # a table in logic keeps its read register
        'ff_state': 2 * acc  # base, partial; left, left_bound, step, t
        + counter_bits(k) + counter_bits(f['sum_bound']) + counter_bits(f['steps']) + counter_bits(rows)
        + f['zero_skip'] * (  # counts of the evaluated and the listed vector, the listing group, the column reads
            2 * (counter_bits(k) + counter_bits(f['sum_bound'])) + counter_bits(rows)
            + tile * (3 * counter_bits(rows) if in_order else index_bits(k))  # banked: its counts and slot reads
        ),
        **window_terms(f),
    }  # fmt: skip


def window_terms(f: dict) -> dict:
    """A folded convolution's structures beyond the core (window_features; all 0 for a dense unit)."""
    conv = 'window_memory' in f
    memory = f.get('window_memory', 0)
    pooled = int(f.get('pool_cells', 0) > 0)
    return {
        # MemoryWindows: the row counters, the window's position and flow control, the ring's read and write
        # addresses (its values move through registers with enables: no LUT)
        'window_control': memory * (f['window_count_bits'] + index_bits(f['ring_depth'])) if conv else 0,
        'pooled': pooled * f['n_out'],  # a channel's OR over its pooling window, from the seen memory
        'pool_exit': f.get('pool_exit', 0) * f['n_out'],  # a step's dependants against the known channels
        # flip-flops (beside the staging register, counted in window_registers): the counters and tags
        'ff_window_counters': f['window_count_bits'] if conv else 0,
        'ff_window_outputs': f['n_out'] if conv else 0,  # per channel beyond the dense core's (fitted, not traced)
        'ff_pool_exit': f.get('pool_exit', 0) * f['n_out'],  # the known channels, registered per window
    }


def window_registers(f: dict) -> dict:
    """A convolution's window registers, counted structurally, not fitted: MemoryWindows' staging register (a
    flip-flop a bit; its enables need no LUT) and a padded window's present bits; or SlidingWindows' ring in
    registers with its one-clock gather (each window position a multiplexer over a ring row's columns, then over
    the ring's rows, as LUT6 4:1 trees), which no synthesized unit in the data has."""
    if 'window_memory' not in f:
        return {'lut': 0.0, 'ff': 0.0}
    # present_next, the core's and staged: a bit per value, equal over a position's channels (Yosys merges them)
    present = f['padded'] * f['window_positions'] * (2 + f['window_memory'])
    if f['window_memory']:
        return {'lut': 0.0, 'ff': f['k'] * f['value_width'] + present}
    bits = f['window_positions'] * f['pixel_bits']
    return {
        'lut': bits * (mux_luts(f['in_width']) + mux_luts(f['ring_rows'])),
        'ff': f['ring_depth'] * f['pixel_bits'] + present,
    }


def folded_memory(f: dict) -> dict:
    """Block RAM cells and LUTRAM LUTs (SLICEM LUTs used as memory, beside the logic LUTs) of one folded unit, by
    Yosys' mapping rule: the value memory and the non-zero columns (written, so never ROMs) in LUTRAM, the
    tables in block RAM when that is cheaper than logic; a convolution's ring of input rows in LUTRAM or block
    RAM, whichever costs Yosys less, and its pooling windows' bits in LUTRAM, once per read port."""
    result = {'bram18': 0, 'bram36': 0, 'lutram': 0}
    for name, (depth, width, rom) in feature_tables(f).items():
        if not rom:
            result['lutram'] += lutram_luts(depth, width) if ram_in_lutram(depth, width) else 0
        elif table_in_bram(name, depth, width, f.get('pool_exit', 0)):
            _add_bram(result, depth, width)
    if f.get('window_memory', 0):
        depth, width = f['ring_depth'], f['pixel_bits']
        if ram_in_bram(depth, width):
            _add_bram(result, depth, width)
        else:
            result['lutram'] += lutram_luts(depth, width)
    if f.get('pool_cells', 0):
        result['lutram'] += (1 + f['pool_exit']) * lutram_luts(max(f['pool_cells'], 2), f['n_out'])
    return result


def _add_bram(result: dict, depth: int, width: int) -> None:
    _, cell, cells, _ = bram_mapping(depth, width)
    result[cell] += cells


LUTRAM_COST = 8  # Yosys' lutrams_xc5v.txt: a simple dual-port LUTRAM cell (64 x 3 or 32 x 6)
LOGIC_COST_RAM = 1  # memory_libmap's default: a RAM bit in flip-flops


def lutram_cost(depth: int, width: int) -> int:
    return LUTRAM_COST * lutram_cells(depth, width)


def ram_in_lutram(depth: int, width: int) -> bool:
    """Whether Yosys puts a small RAM in LUTRAM rather than in flip-flops (a 4 x 1 non-zero column is cheaper as
    four flip-flops, which the model leaves uncounted)."""
    return lutram_cost(depth, width) <= depth * width * LOGIC_COST_RAM


def ram_in_bram(depth: int, width: int) -> bool:
    """Whether Yosys puts a RAM (written, read registered) in block RAM rather than LUTRAM: the cheaper by its
    costs, a LUTRAM cell 8, a block RAM as bram_mapping charges it."""
    return bram_mapping(depth, width)[0] < lutram_cost(depth, width)


LUT_TERMS = (
    'lane_mux', 'lane_mux_listed', 'lane_decode', 'lane_select', 'datapath', 'rom_steps', 'rom_tiles',
    'rom_tiles_indexed', 'rom_walks', 'results', 'result_bits', 'listing', 'window_control', 'pooled', 'pool_exit',
)  # fmt: skip
FF_TERMS = (
    'ff_inputs', 'ff_outputs', 'ff_rom_registers', 'ff_state', 'control', 'ff_window_counters', 'ff_window_outputs',
    'ff_pool_exit',
)  # fmt: skip

# What fit_folded() gives on folded_calibration_data.json (cli/folded_calibration.py prints it; the test checks
# it): each constant multiplies one structure of folded_terms; a structure the fit leaves out of a design (a
# non-negative least-squares fit drops it) is absorbed by its neighbours there.
BANKED = 'banked'  # ours with banked lanes: its lanes and lists are laid out otherwise, so its constants are its own
DESIGNS = (str(Design.REUSE), str(Design.STOCK), BANKED)


def model_design(f: dict) -> str:
    """Whose constants a unit's features take: the stock twin's, ours banked or ours gathered."""
    return str(Design.STOCK) if f['stock'] else BANKED if f.get('banked', 0) else str(Design.REUSE)


FOLDED_CONSTANTS = {
    'reuse': {
        'lut': {
            'lane_mux': 1.727,  # Yosys' K:1 lane multiplexers: 1.7 times a LUT6 4:1 tree (abc9 leaves MUXF7/8 unused)
            'lane_mux_listed': 1.574,  # zero skipping's: value, weight and planned bit at a listed position
            'lane_decode': 0.07,  # a lane's select decoded: 0.07 LUT per input
            'datapath': 8.26,  # accumulator-wide adds, bounds, clamps and compares: 8 LUTs per bit (twice thresholded)
            'rom_steps': 1.397,  # the step table in logic, per LUT its contents need
            'rom_tiles': 0.082,  # the tile table: its cost is in the indexed term below
            'rom_tiles_indexed': 0.991,  # ... about one copy per bit the tile index leaves free of a LUT's 6 inputs
            'rom_walks': 4.531,  # zero skipping's walk table in logic, read at a listed position (its K-bit rows)
            'result_bits': 1.797,  # an output register bit: its write enable and data select
            'listing': 0.514,  # zero skipping's non-zero flags and column writes
        },
        'ff': {
            'ff_inputs': 1.007,  # x_next and x: exactly one flip-flop a bit
            'ff_outputs': 1.001,  # results and out_data
            'ff_rom_registers': 0.965,  # a table in logic keeps its read register (a few constant bits dropped)
            'ff_state': 0.701,  # counters and bounds (some narrower than their range once Yosys sees the tables)
            'control': 1.957,  # the state machine's
        },
    },
    'stock': {
        'lut': {
            'lane_mux': 2.783,  # in-order lanes: (K/tile):1 multiplexers with the tile's address arithmetic
            'lane_decode': 0.074,  # the tile index decoded
            'lane_select': 2.355,  # a lane's sign select and adder-tree share
            'rom_steps': 0.559,  # the step table in logic
            'rom_tiles': 1.872,  # the weight table in logic: random bits, read at first row + tile index
            'rom_tiles_indexed': 0.991,  # ... and a copy per bit the tile index leaves free
            'results': 1.464,  # an output register's write enable
            'window_control': 7.244,  # a convolution's window generator: 7 LUTs per counter and address bit
            'pooled': 1.621,  # an absorbed pooling's OR per channel
        },
        'ff': {
            'ff_inputs': 1.004,
            'ff_outputs': 0.995,
            'ff_rom_registers': 0.469,  # a table in logic keeps part of its read register
            'ff_state': 0.316,  # stock's counters
            'control': 9.856,
            'ff_window_counters': 5.365,  # the generator's counters, positions and tags: 5 per counter bit
            'ff_window_outputs': 0.683,
        },
    },
    'banked': {
        'lut': {
            'lane_mux': 1.835,  # (K/tile):1 lane multiplexers, as stock's, plus the slot's arithmetic
            'lane_decode': 0.349,  # a lane's slot decoded (a bank's K/tile inputs)
            'lane_select': 1.689,  # sign select, valid gate and the lanes' sum
            'datapath': 9.091,  # accumulator-wide adds, bounds, clamps and compares
            'rom_steps': 1.837,  # the step table in logic
            'rom_tiles': 2.145,  # the slot table in logic: slots, weights and valid bits
            'rom_tiles_indexed': 0.329,  # ... and the copies its computed address costs
            'results': 1.798,  # an output register's write enable (its data select absorbed)
            'listing': 5.531,  # zero skipping per bank: non-zero flags, counts and the walks' lookups it absorbs
            'window_control': 23.627,  # the window generator, and what the core's conv-sized misfit leaves here
            'pooled': 1.743,  # an absorbed pooling's OR per channel ...
            'pool_exit': 1.743,  # ... and the pool exit's test of its dependants (the two always come together)
        },
        'ff': {
            'ff_inputs': 1.001,
            'ff_outputs': 1.0,
            'ff_rom_registers': 0.919,
            'ff_state': 0.822,
            'control': 2.531,
            'ff_window_counters': 11.232,  # the generator's counters, positions and tags
            'ff_window_outputs': 0.412,
            'ff_pool_exit': 1.45,  # the known channels, registered per window
        },
    },
}


def estimate_from_features(f: dict, constants: dict | None = None) -> dict:
    """LUT (logic), FF, block RAM cells and LUTRAM LUTs of one folded unit, from folded_features."""
    constants = (FOLDED_CONSTANTS if constants is None else constants)[model_design(f)]
    terms, window = folded_terms(f), window_registers(f)
    return {
        'lut': sum(constants['lut'].get(name, 0.0) * terms[name] for name in LUT_TERMS) + window['lut'],
        'ff': sum(constants['ff'].get(name, 0.0) * terms[name] for name in FF_TERMS) + window['ff'],
        **folded_memory(f),
    }


def folded_resources(unit, design, constants: dict | None = None) -> dict:
    """The folded unit's resources as Yosys maps FoldedDense (ours or the stock twin) to the 7-series."""
    return estimate_from_features(folded_features(unit, design), constants)


def load_folded() -> dict:
    return json.loads(FOLDED_DATA.read_text())


def _nonnegative_least_squares(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0: refit without the most negative one until none is."""
    active = [column for column in range(a.shape[1]) if a[:, column].any()]  # a structure absent everywhere: 0
    while True:
        solution = np.zeros(a.shape[1])
        solution[active] = np.linalg.lstsq(a[:, active], y, rcond=None)[0]
        if solution.min() >= 0:
            return solution
        active.remove(int(np.argmin(solution)))


def fit_folded(data: dict | None = None) -> dict:
    """Constants per design and resource minimizing the relative error over the stored syntheses (the stock twin
    lays its tables and lanes out otherwise: its constants are its own)."""
    data = load_folded() if data is None else data
    constants = {}
    for design in DESIGNS:
        units = [u for u in data['units'] if model_design(u['features']) == design]
        constants[design] = {}
        for resource, names in (('lut', LUT_TERMS), ('ff', FF_TERMS)):
            y = np.array([u['resources'][resource] for u in units], float)
            a = np.array([[folded_terms(u['features'])[n] for n in names] for u in units], float)
            counted = np.array([window_registers(u['features'])[resource] for u in units])  # not fitted
            solution = _nonnegative_least_squares(a / y[:, None], 1 - counted / y)
            rounded = {n: round(float(v), 3) for n, v in zip(names, solution)}
            constants[design][resource] = {n: v for n, v in rounded.items() if v > 0}
    return constants
