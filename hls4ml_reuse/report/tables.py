"""The tables the commands print: bench (operations), report (hardware estimate), synth (Yosys counts)."""

from __future__ import annotations


def bench_table(result: dict) -> str:
    """Per layer: terms and adder bits (baseline, static, dynamic), the Steiner kernels the plan added, its levers."""
    stock = (
        'stock hls4ml not run' if result.get('stock_unavailable') else f"stock hls4ml on the first {result['stock_images']}"
    )
    lines = [f"{result['model']}: {result['images']} images ({stock})", '']
    header = (
        f"{'layer':<10}{'baseline':>11}{'static':>11}{'dynamic':>11}{'pruned':>9}{'bits base':>12}{'bits dyn':>11}"
        f"{'pruned':>9}{'virtual':>9}  levers"
    )
    lines += [header, '-' * len(header)]
    for layer in result['layers'] + [_total(result['layers'])]:
        lines.append(
            f"{layer['name']:<10}{layer['baseline']:>11.0f}{layer['static']:>11.0f}{layer['dynamic']:>11.0f}"
            f"{1 - layer['dynamic'] / layer['baseline']:>9.1%}{layer['baseline_adder_bits']:>12.0f}"
            f"{layer['dynamic_adder_bits']:>11.0f}{1 - layer['dynamic_adder_bits'] / layer['baseline_adder_bits']:>9.1%}"
            f"{layer.get('virtual_kernels', 0):>9.0f}  {','.join(layer.get('levers', ()))}".rstrip()
        )
    rate = result['csim_images_per_s']
    lines += [
        '',
        f"{'':<34}{'ReusePruning':>14}{'stock hls4ml':>14}",
        f"{'outputs differing from QKeras':<34}{result['mismatches']:>14}{_or_dash(result['stock_mismatches'], 'd'):>14}",
        _accuracy_line(result),
        f"{'C simulation images/s':<34}{rate['reuse']:>14.0f}{_or_dash(rate['stock'], '.0f'):>14}",
        f"{'speed-up':<34}{_speedup(result['speedup_vs_stock']):>14}",
        f"{'terms pruned static / dynamic':<34}{result['ops_pruned_static']:>13.1%} / {result['ops_pruned_dynamic']:.1%}",
        f"{'adder bits pruned static / dynamic':<34}{result['adder_bits_pruned_static']:>13.1%} / "
        f"{result['adder_bits_pruned_dynamic']:.1%}",
        _reference_line(result),
    ]
    if result.get('stock_unavailable'):
        lines.append(f"stock hls4ml not run: {result['stock_unavailable']}")
    for name, why in result['stock_layers'].items():
        lines.append(f'stock hls4ml kept for layer {name!r}: {why}')
    for name, notes in result['caveats'].items():
        lines += [f'caveat, layer {name!r}: {note}' for note in notes]
    return '\n'.join(lines)


def _reference_line(result: dict) -> str:
    if result['reference_unavailable']:
        return f"{'reference counts == firmware':<34}{'not checked':>14}  ({result['reference_unavailable']})"
    return (
        f"{'reference counts == firmware':<34}{str(result['reference_counts_equal_firmware']):>14}"
        f"  (first {result['reference_images']} images)"
    )


def _accuracy_line(result: dict) -> str:
    if result['keras_accuracy'] is None:
        return f"{'accuracy':<34}{'(no labels)':>14}"
    return (
        f"{'accuracy (QKeras ' + format(result['keras_accuracy'], '.4f') + ')':<34}"
        f"{result['csim_accuracy']:>14.4f}{_or_dash(result['stock_csim_accuracy'], '.4f'):>14}"
    )


def _speedup(value: float | None) -> str:
    return '-' if value is None else f'{value:.1f}x'


def _or_dash(value, spec: str) -> str:
    """A stock figure, or '-' when stock hls4ml was not run."""
    return '-' if value is None else format(value, spec)


def _total(layers: list[dict]) -> dict:
    numeric = [key for key, value in layers[0].items() if isinstance(value, (int, float))]
    total = {key: sum(layer[key] for layer in layers) for key in numeric}
    return {'name': 'total', **total}


def hardware_table(result: dict) -> str:
    header = (
        f"{'layer':<9}{'N x K':>11}{'fold cyc ours':>15}{'fold cyc stock':>15}"
        f"{'LUT unrolled ours':>19}{'LUT unrolled stock':>20}{'LUT folded ours':>17}{'LUT folded stock':>18}"
    )
    lines = [
        f"{result['model']} on {result['part']} at {result['clock_mhz']:.0f} MHz "
        f"(tile {'/'.join(map(str, result['tiles']))}, folded averages over {result['images']} images)",
        '',
        header,
        '-' * len(header),
    ]
    for layer in result['layers']:
        lines.append(
            f"{layer['name']:<9}{str(layer['n']) + 'x' + str(layer['k']):>11}{layer['folded_cycles_reuse']:>15.0f}"
            f"{layer['folded_cycles_stock']:>15}{layer['unrolled_lut_reuse']:>19.0f}{layer['unrolled_lut_stock']:>20.0f}"
            f"{layer['folded_lut_reuse']:>17.0f}{layer['folded_lut_stock']:>18.0f}"
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
        f"{'unrolled: images/s at clock':<40}{unrolled['fps_at_clock']['reuse']:>14.0f}"
        f"{unrolled['fps_at_clock']['stock']:>14.0f}",
        f"{'unrolled: latency cycles':<40}{unrolled['latency_cycles']['reuse']:>14}{unrolled['latency_cycles']['stock']:>14}",
        *_per_lut_lines(result),
        f"{'memory bits (weights and tables)':<40}{result['memory_bits']['reuse']:>14}{result['memory_bits']['stock']:>14}",
        *_folded_variant_lines(result),
        '',
        'assumptions:',
    ]
    lines += [f'  - {text}' for text in result['assumptions']]
    return '\n'.join(lines)


def _folded_variant_lines(result: dict) -> list[str]:
    """The folded shape charged for its gather multiplexers (plan/folding.py): stock, ours gathered, ours banked."""
    pipeline = result.get('folded_variants')
    if not pipeline:
        return []
    lines = ['', f"folded, every planned term (static), per variant:{'LUT':>12}{'cycles/image':>14}{'images/s/LUT':>14}"]
    converted = result.get('lanes', [])
    for name, label in (
        ('stock', 'stock, in-order tiles'),
        ('gathered', 'ours, gathered lanes'),
        ('banked', 'ours, banked lanes'),
    ):
        v = pipeline[name]
        label += ' (converted)' if converted == [name] else ''
        rate = v['images_per_s_per_lut']  # 4 significant figures: a CNN's rates are hundredths
        lines.append(f"  {label:<47}{v['lut']:>12.0f}{v['cycles']:>14.0f}{rate:>14.4g}")
    if pipeline['gathered']['images_per_s_per_lut'] < pipeline['stock']['images_per_s_per_lut']:
        lines.append(
            '  gathered lanes (ReusePruningLanes: gathered) lose to stock per LUT (each multiplexes all K inputs); '
            "banked lanes, the default, keep stock's multiplexers"
        )
    return lines


def _per_lut_lines(result: dict) -> list[str]:
    """images/s per LUT of both shapes, and a published design of the same topology as a reference row."""
    lines = [
        f"{shape + ': images/s per LUT':<40}{figures['reuse']:>14.4g}{figures['stock']:>14.4g}"
        for shape, figures in ((name, result['shapes'][name].get('images_per_s_per_lut')) for name in ('folded', 'unrolled'))
        if figures is not None
    ]
    design = result.get('reference')
    if design:
        lines.append(
            f"{'reference: ' + design['name']:<40}{design['images_per_s_per_lut']:>14.4g}"
            f"  ({design['images_per_s'] / 1e6:.1f} M images/s at {design['lut']:,} LUTs; {design['source']})"
        )
    return lines


def synth_table(result: dict) -> str:
    """Per synthesized layer: Yosys' counts, ours beside stock, then the cost model's estimate and its error."""
    lines = [
        f"{result['model']}: {result['tool']}",
        f"datapaths: {result['datapath']}; counting LUTs {result['counting_luts']}",
    ]
    for layer in result['layers']:
        lines += ['', *_synth_heading(layer, result['images']), f"{'':<34}{'ours':>10}{'stock':>10}{'saving':>9}"]
        for label, key in [('LUT (LUT1-LUT6)', 'lut'), ('CARRY4', 'carry4'), ('INV', 'inv'), ('flip-flops', 'ff')]:
            lines.append(_synth_row(label, layer[key]['reuse'], layer[key]['stock']))
        lines.append(
            _synth_row('LUT estimate (calibrated model)', layer['estimate_lut']['reuse'], layer['estimate_lut']['stock'])
        )
        error = layer['estimate_error']
        lines.append(f"{'  its error against Yosys':<34}{_signed(error['reuse']):>10}{_signed(error['stock']):>10}")
        seconds = layer['synth_seconds_by_design']
        lines.append(f"{'synthesis seconds':<34}{seconds['reuse']:>10.0f}{seconds['stock']:>10.0f}")
    return '\n'.join(lines)


def _synth_heading(layer: dict, images: int) -> list[str]:
    kind = 'binary' if layer['binary_input'] else f"{layer['input_bits']}-bit"
    planned, total = layer['planned_positions'], layer['kernels'] * layer['inputs']
    virtual = f" (+{layer['virtual_kernels']} virtual)" if layer['virtual_kernels'] else ''
    verdict = 'yes' if layer['netlist_exact'] else 'NO'
    return [
        f"layer {layer['name']}: {layer['kernels']}{virtual} kernels x {layer['inputs']} {kind} inputs; the plan sums "
        f'{planned:,} positions, stock {total:,}',
        f"netlists bit-exact with the Python reference on {layer['netlist_vectors']} distinct input vectors of the layer "
        f'(from {images} test images): {verdict}',
    ]


def _synth_row(label: str, ours: float, stock: float) -> str:
    saving = f'{1 - ours / stock:.1%}' if stock else '-'
    return f'{label:<34}{ours:>10,.0f}{stock:>10,.0f}{saving:>9}'


def _signed(fraction) -> str:
    return '-' if fraction is None else f'{fraction:+.0%}'


def _shape_label(result: dict) -> str:
    """'folded shape, banked lanes', or the shape alone (unrolled; or a JSON written before lanes were chosen)."""
    lanes = result.get('lanes') if result['shape'] == 'folded' else None
    return f"{result['shape']} shape" + (f', {lanes} lanes' if lanes else '')


def rtl_table(result: dict) -> str:
    """The RTL twin: Verilator's exactness, cycles and toggles, then Yosys' resources per layer, ours beside stock."""
    lines = [
        f"{result['model']} in RTL, {_shape_label(result)}, {result['images']} images (the stock twin on the first "
        f"{result['stock_images']}): {result['tool']}",
        "the stock twin is our model of hls4ml's architecture, built the same way (not Vivado's output)",
        '',
        f"{'':<38}{'ours':>12}{'stock twin':>12}",
        f"{'outputs differing from QKeras':<38}{result['mismatches']:>12}{result['stock_mismatches']:>12}",
    ]
    for label, key, fmt in [
        ('cycles per image (Verilator)', 'cycles_per_image', ',.1f'),
        ('  counted (C-sim counters, slowest)', 'counted_cycles_per_image', ',.1f'),
        ('first-image latency, cycles', 'latency_cycles', ',.0f'),
        (f"toggles per image ({result['toggle_images']} images)", 'toggles_per_image', ',.0f'),
    ]:
        pair = result[key]
        lines.append(f"{label:<38}{_or_dash(pair['reuse'], fmt):>12}{_or_dash(pair['stock'], fmt):>12}")
    lines.append(f"energy: {result['energy_unavailable']}")
    synthesized = [layer for layer in result['layers'] if layer['reuse'] is not None]
    if not synthesized:
        return '\n'.join(lines + ['not synthesized (--no-synth)'])
    header = f"{'layer':<10}{'design':<7}{'LUT':>9}{'FF':>9}{'CARRY4':>8}{'RAMB36':>8}{'RAMB18':>8}{'DSP':>5}{'levels':>8}"
    header += f"{'LUT est.':>10}{'error':>8}{'cycles':>10}"
    lines += ['', header, '-' * len(header)]
    for layer in synthesized:
        for design in ('reuse', 'stock'):
            r = layer[design]
            lines.append(
                f"{layer['name']:<10}{design:<7}{r['lut']:>9,}{r['ff']:>9,}{r['carry4']:>8,}{r['bram36']:>8}{r['bram18']:>8}"
                f"{r['dsp']:>5}{r['lut_levels']:>8}{layer['estimate_lut'][design]:>10,.0f}"
                f"{_signed(layer['estimate_error'][design]):>8}{layer['counted_cycles'][design]:>10,.0f}"
            )
    if result['totals'] is None:
        return '\n'.join(lines + ['total: not every layer synthesized (--synth-layers)'])
    for design in ('reuse', 'stock'):
        t = result['totals'][design]
        lines.append(
            f"{'total':<10}{design:<7}{t['lut']:>9,}{t['ff']:>9,}{t['carry4']:>8,}{t['bram36']:>8}{t['bram18']:>8}"
            f"{t['dsp']:>5}{t['lut_levels']:>8}"
        )
    return '\n'.join(lines)
