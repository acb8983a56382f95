"""Hardware cost model of the dataflow pipeline, ours beside stock hls4ml on the same model.

Estimates, not synthesis results; every assumption is listed in ASSUMPTIONS and in the JSON.
One window per image for a dense layer, one per output pixel for a convolution. Two shapes:

- unrolled: every planned term has its own adder input (plan masks are constants, so synthesis
  drops the rest); one window per cycle; LUTs from calibration.py's model, fitted to Yosys' counts of
  synthesized slices (counting LUTs, adder-tree bits and delta-add bits, as synth/rtl.py builds both designs).
- folded: `tile` lanes per layer, one tile of gathered positions per cycle; early exit
  shortens the loop, so the average comes from the C-simulation tile counters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..ir.constants import PLAN_ROW
from . import calibration, folding
from .unit import Design, FoldedVariant, Shape

ASSUMPTIONS = [
    'adder bits (product_bits, adder_bits): a sum of m inputs of b bits costs m*(b+1) full-adder bits, a delta add '
    "the accumulator width (plan/cost.py; the planner's measure, not the LUT estimate)",
    calibration.ASSUMPTION,
    'a threshold comparison costs one LUT per accumulator bit; stock thresholds are 16 bits wide (fixed<16,6>)',
    'unrolled: initiation interval 1 window per cycle (a convolution takes out_height * out_width cycles per image), latency = adder-tree depth (+1 cycle per delta along the plan tree)',
    'folded: `tile` lanes, one tile per cycle, plus one cycle per kernel (virtual ones included) for its add/compare; stock folded walks '
    'ceil(K/tile) tiles for every channel',
    "folded, zero skipping (fixed-point inputs): the window's non-zero inputs are listed as it streams in (no extra "
    'cycles; the K-entry index buffer is not counted), and a step walks the shorter of that list and its planned '
    'positions, so its cycles come from the tile counters like the rest',
    'folded, window reuse (binary convolutions): the changed positions are listed as the window is gathered (no extra '
    'cycles); the previous window (K bits) and every kernel value (n_kernels accumulators) are kept in registers, '
    'not counted; unrolled figures ignore it (the unrolled shape evaluates every window from scratch)',
    'folded LUTs, FFs and block RAM (plan/folding.py folded_resources): the whole folded unit as the RTL twin builds '
    'it (rtl/dense.py FoldedDense), structure by structure (input registers, lane multiplexers: K:1 for our gathered '
    "lanes, K/tile:1 for stock's in-order ones, tables in logic or block RAM by Yosys' own rule, accumulator, bounds, "
    'compare, output registers), constants fitted to Yosys syntheses of whole units (plan/folded_calibration_data.json); '
    'a banked-input variant of ours (lane i reads positions i mod tile) is costed beside them',
    'folded cycles: per window a step per kernel, the tiles walked and one flush to the output register '
    '(plan/folding.py vector_cycles)',
    'dataflow pipeline: images per second = clock / cycles of the slowest layer; latency = sum of layer latencies',
    'memory bits: weights N*K, plus for ours the gathered positions (bit length of K each, as the tables are written), '
    '32-bit plan rows and the thresholds',
]


@dataclass
class LayerCost:
    name: str
    n: int
    k: int
    windows: int  # windows per image: 1 for a dense layer, out_height * out_width for a convolution
    tile: int  # lanes of its folded shape
    product_bits_reuse: int  # XNORs (binary inputs) or sign-selects (fixed point) instantiated, unrolled
    product_bits_stock: int
    adder_bits_reuse: float  # full-adder bits of the popcount/adder trees and delta adds, unrolled
    adder_bits_stock: float
    accumulator_width: int  # widest partial sum of the unit
    unrolled_lut_reuse: float
    unrolled_lut_stock: float
    unrolled_latency_reuse: int
    unrolled_latency_stock: int
    folded_cycles_reuse: float  # per image, average over the simulated images
    folded_cycles_stock: int  # per image
    folded_lut_reuse: float  # the whole folded unit, ours (plan/folding.py folded_resources)
    folded_lut_stock: float  # the stock twin's
    folded_resources: dict  # per design: lut, ff, bram18, bram36, lutram of the folded unit (plan/folding.py)
    folded_variants: dict  # stock, ours gathered, ours banked: LUTs and static cycles (plan/folding.py)
    memory_bits_reuse: int
    memory_bits_stock: int


def tree_depth(inputs: int) -> int:
    return max(1, math.ceil(math.log2(max(inputs, 2))))


def plan_latency(unit) -> int:
    """Cycles along the deepest chain of deltas: each delta's tree, then one add."""
    plan = unit.plan
    depth = {}
    for j in plan.order:
        j = int(j)
        own = tree_depth(int(plan.n_positions[j]))
        parent = int(plan.parent[j])
        depth[j] = own if parent < 0 else depth[parent] + own + 1
    return max(depth.values()) + 1  # + threshold compare / output register


def layer_cost(layer, firmware_counts: dict, images: int) -> LayerCost:
    """The cost of a converted unit layer, its folded cycles from the firmware's tile counters over `images`."""
    return unit_cost(layer.name, layer.get_attr('unit'), firmware_counts['tiles'], images)


def unit_cost(name: str, unit, counted_tiles: float, images: int) -> LayerCost:
    """The cost of one unit (on its windows per image); `counted_tiles` counted over `images` images."""
    cost, n, k, windows = unit.cost, unit.n_out, unit.n_in, unit.windows
    inputs, adds = unit.plan.static_inputs_and_adds()
    compare_bits = n * cost.accum_bits if unit.thresholds is not None else 0
    unrolled_lut = calibration.unrolled_lut(unit)  # raw sums, as synthesized; the comparators are added below
    stock_compare_bits = n * 16 if unit.thresholds is not None else 0
    variants = folding.folded_variants(unit)
    folded = {design: folding.folded_resources(unit, design) for design in Design}
    positions_bits = int(unit.plan.mask.sum()) * max(1, int(k).bit_length())  # the position table's type
    return LayerCost(
        name=name,
        n=n,
        k=k,
        windows=windows,
        tile=unit.tile,
        product_bits_reuse=inputs,
        product_bits_stock=n * k,
        adder_bits_reuse=cost.adder_bits(inputs, adds),
        adder_bits_stock=cost.adder_bits(n * k, 0),
        accumulator_width=cost.accum_bits,
        unrolled_lut_reuse=unrolled_lut[Design.REUSE] + compare_bits,
        unrolled_lut_stock=unrolled_lut[Design.STOCK] + stock_compare_bits,
        unrolled_latency_reuse=plan_latency(unit),
        unrolled_latency_stock=tree_depth(k) + 1,
        # + a step per kernel and the flush, per window
        folded_cycles_reuse=counted_tiles / images + (unit.n_kernels + folding.FLUSH_CYCLES) * windows,
        folded_cycles_stock=variants[FoldedVariant.STOCK]['cycles'],
        folded_lut_reuse=folded[Design.REUSE]['lut'],
        folded_lut_stock=folded[Design.STOCK]['lut'],
        folded_resources={str(design): resources for design, resources in folded.items()},
        folded_variants=variants,
        memory_bits_reuse=unit.n_kernels * (k + PLAN_ROW * 32) + positions_bits + n * cost.accum_bits,
        memory_bits_stock=n * k + (n * 16 if unit.thresholds is not None else 0),
    )


def pipeline(costs: list[LayerCost], clock_mhz: float) -> dict:
    def total(field):
        return sum(getattr(c, field) for c in costs)

    folded = {
        Design.REUSE: max(c.folded_cycles_reuse for c in costs),
        Design.STOCK: max(c.folded_cycles_stock for c in costs),
    }
    bottleneck = {
        Design.REUSE: max(costs, key=lambda c: c.folded_cycles_reuse).name,
        Design.STOCK: max(costs, key=lambda c: c.folded_cycles_stock).name,
    }
    clock_hz = clock_mhz * 1e6
    max_windows = max(c.windows for c in costs)
    folded_shape = {
        'cycles_per_image': folded,
        'fps_at_clock': {key: clock_hz / value for key, value in folded.items()},
        'bottleneck_layer': bottleneck,
        'latency_cycles': {Design.REUSE: total('folded_cycles_reuse'), Design.STOCK: total('folded_cycles_stock')},
        'lut_estimate': {Design.REUSE: total('folded_lut_reuse'), Design.STOCK: total('folded_lut_stock')},
    }
    unrolled_shape = {
        'cycles_per_image': {Design.REUSE: max_windows, Design.STOCK: max_windows},
        'fps_at_clock': {Design.REUSE: clock_hz / max_windows, Design.STOCK: clock_hz / max_windows},
        'latency_cycles': {Design.REUSE: total('unrolled_latency_reuse'), Design.STOCK: total('unrolled_latency_stock')},
        'lut_estimate': {Design.REUSE: total('unrolled_lut_reuse'), Design.STOCK: total('unrolled_lut_stock')},
    }
    return {
        'clock_mhz': clock_mhz,
        # Headline figures: cycles where they differ (folded), LUTs where they differ (unrolled).
        'cycles_per_image': folded_shape['cycles_per_image'],
        'fps_at_clock': folded_shape['fps_at_clock'],
        'lut_estimate': unrolled_shape['lut_estimate'],
        'headline_shapes': {'cycles_per_image': Shape.FOLDED, 'fps_at_clock': Shape.FOLDED, 'lut_estimate': Shape.UNROLLED},
        'memory_bits': {Design.REUSE: total('memory_bits_reuse'), Design.STOCK: total('memory_bits_stock')},
        'shapes': {Shape.FOLDED: folded_shape, Shape.UNROLLED: unrolled_shape},
        'layers': [asdict(c) for c in costs],
        'assumptions': ASSUMPTIONS,
    }
