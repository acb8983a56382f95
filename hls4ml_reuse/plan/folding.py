"""The folded shape's LUTs and cycles, charged for what each variant instantiates.

A folded unit has `tile` lanes; per clock each lane reads one input, adds or subtracts it, and the lanes' sum
goes into an accumulator. What differs is how a lane reaches its input:

- stock hls4ml walks its K inputs in order: lane i only ever reads positions i, i + tile, ...: a (K/tile):1
  multiplexer per lane, K/3 LUTs per input bit over all lanes;
- ours, gathered (the firmware's synth_tile_sums): a lane reads any planned position: a K:1 multiplexer per
  lane, tile times stock's;
- ours, banked (a variant, not built): inputs stored in `tile` banks by position modulo tile, lane i reading only
  bank i, so its multiplexer is stock's; a kernel then needs as many clocks as its most loaded bank holds
  planned positions, instead of ceil(planned / tile).

A K:1 multiplexer costs K/3 LUTs per bit (LUT6 with the F7/F8 muxes: 4:1 per LUT, 16:1 per 4 LUTs plus the
tree). Cycles here are static (every planned term, no early exit), one extra clock per kernel for its add or
compare, so the variants compare on equal terms; the firmware's counted cycles are in hardware.py.
"""

from __future__ import annotations

import math

import numpy as np

from .unit import FoldedVariant

MUX_INPUTS_PER_LUT = 3  # a K:1 multiplexer costs about K/3 LUTs per bit


def mux_lut(inputs: int, bits: int) -> float:
    """LUTs of one `inputs`:1 multiplexer of `bits`-bit values."""
    return bits * inputs / MUX_INPUTS_PER_LUT if inputs > 1 else 0.0


def lanes_lut(tile: int, inputs_per_lane: int, input_bits: int, accum_bits: int) -> float:
    """`tile` lanes, each a multiplexer, a sign select and its share of the adder tree, and the accumulator."""
    return tile * (mux_lut(inputs_per_lane, input_bits) + input_bits + 1) + 2 * accum_bits


def bank_loads(mask: np.ndarray, tile: int) -> np.ndarray:
    """(kernels, tile): how many planned positions of each kernel fall in each bank (position modulo tile)."""
    k = mask.shape[1]
    banks = np.arange(k) % tile
    return np.stack([mask[:, banks == b].sum(axis=1) for b in range(tile)], axis=1)


def folded_variants(unit) -> dict:
    """LUTs and static cycles per image of stock, ours gathered and ours banked, for one unit."""
    cost, k, tile, n, windows = unit.cost, unit.n_in, unit.tile, unit.n_out, unit.windows
    mask = unit.plan.mask
    planned = mask.sum(axis=1)
    steps = unit.n_kernels  # one add or compare per kernel
    return {
        FoldedVariant.STOCK: {
            'lut': lanes_lut(tile, math.ceil(k / tile), cost.input_bits, cost.accum_bits),
            'cycles': (n * math.ceil(k / tile) + n) * windows,
        },
        FoldedVariant.GATHERED: {
            'lut': lanes_lut(tile, k, cost.input_bits, cost.accum_bits),
            'cycles': (int(np.ceil(planned / tile).sum()) + steps) * windows,
        },
        FoldedVariant.BANKED: {
            'lut': lanes_lut(tile, math.ceil(k / tile), cost.input_bits, cost.accum_bits),
            'cycles': (int(bank_loads(mask, tile).max(axis=1).sum()) + steps) * windows,
        },
    }


def pipeline_variants(per_layer: dict[str, dict], clock_mhz: float) -> dict:
    """Per variant over the pipeline: LUTs (sum), cycles per image (slowest layer), images/s and images/s per LUT."""
    totals = {}
    for variant in FoldedVariant:
        lut = sum(layer[variant]['lut'] for layer in per_layer.values())
        cycles = max(layer[variant]['cycles'] for layer in per_layer.values())
        rate = clock_mhz * 1e6 / cycles
        totals[variant] = {'lut': lut, 'cycles': cycles, 'images_per_s': rate, 'images_per_s_per_lut': rate / lut}
    return totals
