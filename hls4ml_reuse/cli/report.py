"""``hls4ml-reuse report``: the cost model's table, JSON and per-layer chart (ours beside stock)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plan import folding, hardware
from ..report import reference
from ..sim import counters


def run(target, images: int, out_dir: str, settings: dict | None = None) -> dict:
    """Convert with ReusePruning (and the ReusePruning keys in `settings`), C-simulate `images` test images for the
    folded averages, cost both.

    NoReuseUnitError when no layer became a unit: there would be nothing to cost.
    """
    hls_model = target.convert(target.reuse_config(**(settings or {})), str(Path(out_dir) / 'reuse'))
    units = counters.require_units(hls_model, target.name)
    x = np.ascontiguousarray(target.x[:images])
    counters.reset(hls_model)
    hls_model.predict(x)
    costs = [hardware.layer_cost(layer, counters.read(hls_model, layer), len(x)) for layer in units]
    result = hardware.pipeline(costs, 1000.0 / target.clock_period_ns)
    lanes = sorted({'banked' if layer.get_attr('unit').banked else 'gathered' for layer in units})
    result.update(model=target.name, images=len(x), part=target.part, tiles=sorted({c.tile for c in costs}), lanes=lanes)
    per_layer = {layer['name']: layer['folded_variants'] for layer in result['layers']}
    result['folded_variants'] = folding.pipeline_variants(per_layer, result['clock_mhz'])  # per layer: in 'layers'
    for shape in result['shapes'].values():
        shape['images_per_s_per_lut'] = reference.per_lut(shape['fps_at_clock'], shape['lut_estimate'])
    result['reference'] = reference.reference_for(result)
    return result
