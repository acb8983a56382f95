"""Builds calibration_data.json from ``hls4ml-reuse synth --json`` results (a developer's tool, not a command).

    python -m hls4ml_reuse.cli.calibration_collect out/synth-*.json

Each result's slices are re-made the way ``synth`` makes them (the model converted, the first N kernels
re-planned), their features computed by calibration.features and checked against the result's planned positions
and virtual kernels, and stored beside Yosys' LUT and CARRY4 counts. Then the constants are refitted and printed;
paste them into calibration.CONSTANTS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..plan import calibration

# Slices kept out of the fit, to measure the model on data it has not seen: (model, layer, kernels).
HELD_OUT = {
    ('mlp-mnist', 'fc2', 32),
    ('mlp-mnist', 'logits', 8),
    ('cnv-mnist', 'conv3', 32),
    ('cnv-mnist', 'conv0', 32),
    ('cnv-mnist', 'fc1', 8),
}


def slice_units(model: str, wanted: list[tuple[str, int]], out_dir: str) -> dict:
    """{(layer, kernels): the slice's UnitSpec}, made as cli/synth.py makes them."""
    from ..plan.slicing import slice_unit
    from .targets import resolve
    from ..sim import counters

    target = resolve(model)
    hls_model = target.convert(target.reuse_config(), str(Path(out_dir) / model))
    units = {layer.name: layer.get_attr('unit') for layer in counters.require_units(hls_model, model)}
    return {(name, n): slice_unit(units[name], n) for name, n in wanted}


def collect(paths: list[str], out_dir: str = 'out/calibration') -> dict:
    results = [(Path(p).name, json.loads(Path(p).read_text())) for p in paths]
    tools = {r['tool'] for _, r in results}
    if len(tools) != 1:
        raise ValueError(f'results from more than one tool: {tools}')
    by_model = {}
    for source, result in results:
        for layer in result['layers']:
            by_model.setdefault(result['model'], []).append((source, layer))
    slices = []
    for model, entries in by_model.items():
        units = slice_units(model, sorted({(e['name'], e['kernels']) for _, e in entries}), out_dir)
        seen = set()
        for source, e in entries:
            key = (model, e['name'], e['kernels'])
            if key in seen:
                continue
            seen.add(key)
            unit = units[e['name'], e['kernels']]
            if int(unit.plan.mask.sum()) != e['planned_positions'] or unit.n_kernels - unit.n_out != e['virtual_kernels']:
                raise ValueError(f'{key}: the re-made slice differs from the one synthesized ({source})')
            if not e['netlist_exact']:
                raise ValueError(f'{key}: netlist not exact ({source})')
            slices.append(
                {
                    'id': f'{model} {e["name"]} x{e["kernels"]}',
                    'model': model,
                    'layer': e['name'],
                    'kernels': e['kernels'],
                    'inputs': e['inputs'],
                    'binary_input': e['binary_input'],
                    'input_bits': e['input_bits'],
                    'output_bits': e['output_bits'],
                    'planned_positions': e['planned_positions'],
                    'virtual_kernels': e['virtual_kernels'],
                    'held_out': key in HELD_OUT,
                    'features': calibration.features(unit),
                    'lut': e['lut'],
                    'carry4': e['carry4'],
                    'inv': e['inv'],
                    'source': source,
                }
            )
    return {
        'tool': tools.pop(),
        'datapath': results[0][1]['datapath'],
        'counting_luts': results[0][1]['counting_luts'],
        'features': list(calibration.FEATURES),
        'slices': slices,
    }


def main(argv: list[str]) -> int:
    data = collect(argv)
    calibration.DATA.write_text(json.dumps(data, indent=1) + '\n')
    print(json.dumps(calibration.fit(data), indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
