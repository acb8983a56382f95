"""``hls4ml-reuse report``: the cost model's table, JSON and per-layer chart (ours beside stock)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ir.layers import reuse_units
from ..report import folded, hardware, reference
from ..sim import counters


def run(target, images: int, out_dir: str) -> dict:
    """Convert with ReusePruning, C-simulate `images` test images for the folded averages, cost both.

    NoReuseUnitError when no layer became a unit: there would be nothing to cost.
    """
    hls_model = target.convert(target.reuse_config(), str(Path(out_dir) / 'reuse'))
    units = counters.require_units(hls_model, target.name)
    x = np.ascontiguousarray(target.x[:images])
    counters.reset(hls_model)
    hls_model.predict(x)
    costs = [hardware.layer_cost(layer, counters.read(hls_model, layer), len(x)) for layer in units]
    result = hardware.pipeline(costs, 1000.0 / target.clock_period_ns)
    result.update(model=target.name, images=len(x), part=target.part, tile=hls_model_tile(hls_model))
    variants = {layer.name: folded.folded_variants(layer.get_attr('unit'), layer.windows_per_image()) for layer in units}
    result['folded_variants'] = {'layers': variants, 'pipeline': folded.pipeline_variants(variants, result['clock_mhz'])}
    variant_luts = result['folded_variants']['pipeline']
    # the folded LUTs of what is built: our gathered lanes, stock's in-order lanes (each with its own multiplexers)
    result['shapes']['folded']['lut_estimate'] = {
        'reuse': variant_luts['gathered']['lut'],
        'stock': variant_luts['stock']['lut'],
    }
    for shape in result['shapes'].values():
        shape['images_per_s_per_lut'] = reference.per_lut(shape['fps_at_clock'], shape['lut_estimate'])
    result['reference'] = reference.reference_for(result)
    return result


def hls_model_tile(hls_model) -> int:
    return reuse_units(hls_model)[0].get_attr('tile')
