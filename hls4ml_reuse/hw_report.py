"""``hls4ml-reuse report``: the cost model's table, JSON and per-layer chart (ours beside stock)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import costmodel, counters, report


def run(target, images: int, out_dir: str) -> dict:
    """Convert with ReusePruning, C-simulate `images` test images for the folded averages, cost both.

    NoReuseUnitError when no layer became a unit: there would be nothing to cost.
    """
    hls_model = target.convert(target.reuse_config(), str(Path(out_dir) / 'reuse'))
    counters.require_units(hls_model, target.name)
    x = np.ascontiguousarray(target.x[:images])
    counters.reset(hls_model)
    hls_model.predict(x)
    costs = [
        costmodel.layer_cost(layer, counters.read(hls_model, layer), len(x)) for layer in report.reuse_layers(hls_model)
    ]
    result = costmodel.pipeline(costs, 1000.0 / target.clock_period_ns)
    result.update(model=target.name, images=len(x), part=target.part, tile=hls_model_tile(hls_model))
    return result


def hls_model_tile(hls_model) -> int:
    return report.reuse_layers(hls_model)[0].get_attr('tile')


def format_table(result: dict) -> str:
    header = (
        f"{'layer':<9}{'N x K':>11}{'fold cyc ours':>15}{'fold cyc stock':>15}"
        f"{'LUT unrolled ours':>19}{'LUT unrolled stock':>20}"
    )
    lines = [
        f"{result['model']} on {result['part']} at {result['clock_mhz']:.0f} MHz "
        f"(tile {result['tile']}, folded averages over {result['images']} images)",
        '',
        header,
        '-' * len(header),
    ]
    for layer in result['layers']:
        lines.append(
            f"{layer['name']:<9}{str(layer['n']) + 'x' + str(layer['k']):>11}{layer['folded_cycles_reuse']:>15.0f}"
            f"{layer['folded_cycles_stock']:>15}{layer['unrolled_lut_reuse']:>19.0f}{layer['unrolled_lut_stock']:>20.0f}"
        )
    folded, unrolled = result['shapes']['folded'], result['shapes']['unrolled']
    lines += [
        '',
        f"{'':<40}{'ours':>14}{'stock':>14}",
        f"{'folded: cycles per image (bottleneck)':<40}{folded['cycles_per_image']['reuse']:>14.0f}"
        f"{folded['cycles_per_image']['stock']:>14.0f}",
        f"{'folded: images/s at clock':<40}{folded['fps_at_clock']['reuse']:>14.0f}{folded['fps_at_clock']['stock']:>14.0f}",
        f"{'folded: bottleneck layer':<40}{folded['bottleneck_layer']['reuse']:>14}{folded['bottleneck_layer']['stock']:>14}",
        f"{'folded: LUT estimate':<40}{folded['lut_estimate']['reuse']:>14.0f}{folded['lut_estimate']['stock']:>14.0f}",
        f"{'unrolled: LUT estimate (II = 1)':<40}{unrolled['lut_estimate']['reuse']:>14.0f}"
        f"{unrolled['lut_estimate']['stock']:>14.0f}",
        f"{'unrolled: latency cycles':<40}{unrolled['latency_cycles']['reuse']:>14}{unrolled['latency_cycles']['stock']:>14}",
        f"{'memory bits (weights and tables)':<40}{result['memory_bits']['reuse']:>14}{result['memory_bits']['stock']:>14}",
        '',
        'assumptions:',
    ]
    lines += [f'  - {text}' for text in result['assumptions']]
    return '\n'.join(lines)
