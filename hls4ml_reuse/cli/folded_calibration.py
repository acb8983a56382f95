"""Builds folded_calibration_data.json: folded RTL units synthesized whole with Yosys (a developer's tool).

    nice -n 10 python -m hls4ml_reuse.cli.folded_calibration [--out out/folded-calibration] [--only ID ...]

A grid of FoldedDense units (random binary kernels planned with plan_reuse or steiner_plan, thresholds on most,
binary or unsigned 8-bit inputs with and without zero skipping, K 32..512, n 8..256, tiles 8 and 16, both
designs; and ours with banked lanes) plus mlp-mnist's logits and fc1, gathered and banked, and cnv-mnist's nine
units (banked, as the rtl command builds them: its convolutions with their window generators, absorbed pooling and
pool exit), both designs, one Yosys run at a time (the machine is shared): 65 runs, about 75 minutes of Yosys on
the reference machine. Each result is cached under
--out as it finishes, so a run can be stopped and resumed, and a unit already in the data file is not synthesized
again (delete its entry to redo it); --only synthesizes the units named and writes nothing else. Stored per unit
and design: how to rebuild its spec (a grid recipe, or the name of a shipped layer whose spec is stored under
layers), the cost model's features (plan/folding.py folded_features) and the resources Yosys reported.
mlp-mnist's fc0 (784 inputs, 7 minutes of Yosys), gathered and banked, is a hold-out: its figures are the rtl
command's (FC0_MEASURED), not regenerated here.
The fitted constants are printed at the end: paste them into folding.FOLDED_CONSTANTS.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import zlib
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..plan import folding
from ..plan.cost import OperationCost
from ..plan.spanning_tree import ReusePlan, plan_reuse
from ..plan.steiner import steiner_plan
from ..plan.thresholds import Thresholds
from ..plan.unit import ConvGeometry, Design, Folding, InputFormat, Pooling, UnitSpec

FORMATS = {'binary': InputFormat.bits(), 'unsigned': InputFormat(binary=False, frac_bits=8, width=8)}
MLP_LAYERS = ('logits', 'fc1')
MLP_LANES = ('gathered', 'banked')
# cnv-mnist's units, converted as the rtl command converts them (banked lanes, no window reuse), ours and the
# stock twin: the convolutions with their window generator, absorbed pooling and pool exit, and the dense layers
CNV_LAYERS = ('conv0', 'conv1', 'conv3', 'conv4', 'conv6', 'conv7', 'fc0', 'fc1', 'logits')
CNV_LANES = 'banked'
RESOURCES = ('lut', 'ff', 'carry4', 'bram18', 'bram36', 'dsp', 'lutram', 'muxf7', 'muxf8')

# mlp-mnist fc0 (784 x 8-bit inputs, zero skipping, tile 8), ours, synthesized with the rtl command (Yosys 0.70,
# 7 min): a hold-out of the fit, far outside the grid's K. Its stock twin was not measured. Banked: `rtl mlp-mnist
# --lanes banked` (results/rtl/mlp-mnist-folded-banked-images-0-9999.json).
FC0_MEASURED = {
    'gathered': {'lut': 37646, 'ff': 13276, 'bram36': 42, 'bram18': 3},
    'banked': {'lut': 9756, 'ff': 13381, 'bram36': 42, 'bram18': 3},
}
HOLD_OUT_TOLERANCE = 0.10


@dataclass(frozen=True)
class Recipe:
    """A grid unit: everything its spec is rebuilt from (seeded)."""

    inputs: str  # a FORMATS key
    n: int
    k: int
    tile: int = 8
    thresholded: bool = True
    zero_skip: bool = False
    steiner: bool = False
    flip: float = 0.5  # kernels: a random base with each bit flipped at this rate (0.5: independent kernels)
    seed: int = 0
    banked: bool = False  # banked lanes (ours only: the stock twin's lanes are in order either way)

    @property
    def id(self) -> str:
        flags = [f for f in ('thresholded', 'zero_skip', 'steiner', 'banked') if getattr(self, f)]
        return '-'.join([self.inputs, f'{self.n}x{self.k}', f'tile{self.tile}', *flags, f'flip{self.flip}'])


GRID = [
    Recipe('binary', 8, 32),
    Recipe('binary', 16, 64, flip=0.2),
    Recipe('unsigned', 8, 32, zero_skip=True),
    Recipe('unsigned', 16, 64, thresholded=False),
    Recipe('binary', 32, 128, thresholded=False),
    Recipe('binary', 128, 64, steiner=True, flip=0.2),
    Recipe('unsigned', 8, 64, tile=16, zero_skip=True, steiner=True, flip=0.2),
    Recipe('binary', 64, 128, tile=16),
    Recipe('unsigned', 32, 128, zero_skip=True),
    Recipe('binary', 32, 256, steiner=True, flip=0.2),
    Recipe('unsigned', 64, 128, flip=0.2),
    Recipe('binary', 256, 128),
    Recipe('unsigned', 16, 256, tile=16, zero_skip=True),
    Recipe('binary', 64, 512),
]
# Banked lanes (ReusePruningLanes: banked), ours only: the same shapes, fitted to constants of their own
GRID += [replace(recipe, banked=True) for recipe in GRID[1:]]


LIVE = Recipe('binary', 12, 48, flip=0.2, seed=3)  # synthesized by the test in about 20 s (not in the grid)


def grid_unit(recipe: Recipe) -> UnitSpec:
    """The spec of a grid unit, built as tests/test_rtl_dense.py builds its cases."""
    rng = np.random.default_rng(recipe.seed)
    fmt = FORMATS[recipe.inputs]
    base = rng.random(recipe.k) < 0.5
    kernels = np.array([base ^ (rng.random(recipe.k) < recipe.flip) for _ in range(recipe.n)])
    cost = OperationCost(fmt.width, 16)
    all_kernels, plan = steiner_plan(kernels, cost) if recipe.steiner else (kernels, plan_reuse(kernels, cost))
    thresholds = None
    if recipe.thresholded:
        spread = recipe.k * fmt.bound // 4
        thresholds = Thresholds(value=rng.integers(-spread, spread, recipe.n), mode=rng.integers(0, 2, recipe.n))
    return UnitSpec(
        all_kernels, plan, fmt, Folding(tile=recipe.tile, banked=recipe.banked), thresholds, True, cost,
        n_outputs=recipe.n, zero_skip=recipe.zero_skip,
    )  # fmt: skip


# A spec as JSON (the shipped model's layers: rebuilt without converting the model)
def _bits(flags: np.ndarray) -> dict:
    packed = zlib.compress(np.packbits(flags.astype(bool), axis=None).tobytes(), 9)
    return {'shape': list(flags.shape), 'zlib': base64.b64encode(packed).decode('ascii')}


def _flags(stored: dict) -> np.ndarray:
    shape = tuple(stored['shape'])
    bits = np.unpackbits(np.frombuffer(zlib.decompress(base64.b64decode(stored['zlib'])), dtype=np.uint8))
    return bits[: int(np.prod(shape))].reshape(shape).astype(bool)


def spec_to_json(unit: UnitSpec) -> dict:
    plan, thresholds = unit.plan, unit.thresholds
    return {
        'kernels': _bits(unit.kernels),
        'plan': {
            'order': plan.order.tolist(), 'parent': plan.parent.tolist(), 'negate': plan.negate.astype(int).tolist(),
            'mask': _bits(plan.mask),
        },
        'input_format': asdict(unit.input_format),
        'tile': unit.tile,
        'banked': unit.banked,
        'thresholds': None if thresholds is None else {
            'value': thresholds.value.tolist(), 'mode': thresholds.mode.tolist(),
        },
        'early_exit': unit.early_exit,
        'cost': asdict(unit.cost),
        'n_outputs': unit.n_out,
        'zero_skip': unit.zero_skip,
        'bipolar_output': unit.bipolar_output,
        **({'geometry': asdict(unit.geometry), 'pooling': asdict(unit.pooling)} if unit.geometry else {}),
    }  # fmt: skip


def spec_from_json(stored: dict) -> UnitSpec:
    p = stored['plan']
    plan = ReusePlan(
        order=np.array(p['order']), parent=np.array(p['parent']), negate=np.array(p['negate'], dtype=bool),
        mask=_flags(p['mask']),
    )  # fmt: skip
    t = stored['thresholds']
    thresholds = None if t is None else Thresholds(value=np.array(t['value']), mode=np.array(t['mode']))
    return UnitSpec(
        _flags(stored['kernels']), plan, InputFormat(**stored['input_format']),
        Folding(tile=stored['tile'], banked=stored.get('banked', False)),
        thresholds, stored['early_exit'], OperationCost(**stored['cost']), n_outputs=stored['n_outputs'],
        zero_skip=stored['zero_skip'], bipolar_output=stored['bipolar_output'],
        geometry=ConvGeometry(**stored['geometry']) if 'geometry' in stored else None,
        pooling=Pooling(**stored['pooling']) if 'pooling' in stored else None,
    )  # fmt: skip


@lru_cache(maxsize=None)
def mlp_units(out_dir: Path, lanes: str = 'gathered') -> dict[str, UnitSpec]:
    """mlp-mnist's folded units as the rtl command converts them (converted, not compiled as conversion.convert
    also does: the specs are made by the conversion's passes)."""
    import hls4ml

    from ..plan.unit import Shape
    from ..sim import counters
    from .targets import resolve

    target = resolve('mlp-mnist')
    config = target.reuse_config(ReusePruningShape=str(Shape.FOLDED), ReusePruningLanes=lanes)
    hls_model = hls4ml.converters.convert_from_keras_model(
        target.model, hls_config=config, io_type='io_stream', backend='Vivado', part=target.part,
        clock_period=target.clock_period_ns, output_dir=str(out_dir / f'mlp-mnist-{lanes}'),
    )  # fmt: skip
    return {layer.name: layer.get_attr('unit') for layer in counters.require_units(hls_model, 'mlp-mnist')}


@lru_cache(maxsize=None)
def cnv_units(out_dir: Path) -> dict[str, UnitSpec]:
    """cnv-mnist's folded convolutions as the rtl command converts them (banked lanes, window reuse off)."""
    from ..sim import counters
    from .targets import resolve

    target = resolve('cnv-mnist')
    config = target.reuse_config(ReusePruningShape='folded', ReusePruningLanes=CNV_LANES, ReusePruningWindowReuse=False)
    hls_model = target.convert(config, str(out_dir / 'cnv-mnist'))
    units = {layer.name: layer.get_attr('unit') for layer in counters.require_units(hls_model, 'cnv-mnist')}
    return {name: units[name] for name in CNV_LAYERS}


def cnv_layer_id(name: str) -> str:
    return f'cnv-mnist {CNV_LANES} {name}'


def synthesize(unit: UnitSpec, design: Design, work_dir: Path) -> dict:
    """Yosys' resources of the whole folded unit, as synth/jobs.py run_unit_job synthesizes it, without its LUT
    depth: cells.lut_levels raises graphlib.CycleError on every folded unit of ours (a loop through the value
    memory's LUTRAM, the one Yosys' scc pass reports in synth.log), and the model does not need it."""
    from amaranth.back import rtlil

    from ..plan.unit import Shape
    from ..rtl.network import unit_rtl
    from ..synth import yosys

    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / 'design.il').write_text(rtlil.convert(unit_rtl(unit, design, Shape.FOLDED), name='top'))
    result = yosys.synthesize(work_dir)
    figures = {key: getattr(result, key) for key in RESOURCES}
    return {'resources': figures, 'cells': result.cells, 'seconds': round(result.seconds, 1)}


def entry(unit_id: str, source: dict, unit: UnitSpec, design: Design, measured: dict) -> dict:
    return {
        'id': unit_id,
        'design': str(design),
        **source,
        'features': folding.folded_features(unit, design),
        **measured,
    }


def mlp_layer_id(name: str, lanes: str) -> str:
    return f'mlp-mnist {name}' if lanes == 'gathered' else f'mlp-mnist {lanes} {name}'


def units_to_run(out_dir: Path, only: list[str] | None) -> list[tuple[str, dict, UnitSpec, list[Design]]]:
    """(id, source, spec, designs) of every unit: both designs, but a banked grid or mlp-mnist unit only ours (its
    stock twin is the gathered one's); cnv-mnist is converted banked only, so its stock twins come from those."""
    both, ours = list(Design), [Design.REUSE]
    units = [(r.id, {'recipe': asdict(r)}, grid_unit(r), ours if r.banked else both) for r in GRID]
    if only is None or any(name.startswith('mlp-mnist') for name in only):
        for lanes in MLP_LANES:
            mlp, designs = mlp_units(out_dir, lanes), ours if lanes == 'banked' else both
            units += [(mlp_layer_id(n, lanes), {'layer': mlp_layer_id(n, lanes)}, mlp[n], designs) for n in MLP_LAYERS]
    if only is None or any(name.startswith('cnv-mnist') for name in only):
        cnv = cnv_units(out_dir)
        units += [(cnv_layer_id(name), {'layer': cnv_layer_id(name)}, cnv[name], both) for name in CNV_LAYERS]
    return [u for u in units if only is None or u[0] in only]


def stored_measurements() -> dict[str, dict]:
    """The syntheses already in folded_calibration_data.json, by '<id> <design>': a new unit is added without
    synthesizing the others again (the data file is the record, not a cache under --out)."""
    if not folding.FOLDED_DATA.exists():
        return {}
    stored = folding.load_folded()['units']
    return {f'{u["id"]} {u["design"]}': {key: u[key] for key in ('resources', 'cells', 'seconds')} for u in stored}


def collect(out_dir: Path, only: list[str] | None = None, progress=print) -> list[dict]:
    cache = out_dir / 'results'
    cache.mkdir(parents=True, exist_ok=True)
    stored = stored_measurements()
    entries, started = [], time.monotonic()
    for unit_id, source, unit, designs in units_to_run(out_dir, only):
        for design in designs:
            name = f'{unit_id} {design}'.replace(' ', '_')
            cached = cache / f'{name}.json'
            if not cached.exists() and f'{unit_id} {design}' in stored:
                cached.write_text(json.dumps(stored[f'{unit_id} {design}']) + '\n')
            if not cached.exists():
                measured = synthesize(unit, design, out_dir / 'synth' / name)
                cached.write_text(json.dumps(measured) + '\n')
                seconds = time.monotonic() - started
                progress(f'[{seconds:.0f} s] {name}: {measured["resources"]} (Yosys {measured["seconds"]} s)')
            entries.append(entry(unit_id, source, unit, design, json.loads(cached.read_text())))
    return entries


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='out/folded-calibration', help='synthesis folders and the result cache')
    parser.add_argument('--only', nargs='*', help='unit ids to synthesize (default: all)')
    args = parser.parse_args(argv)
    out_dir = Path(args.out).resolve()
    units = collect(out_dir, args.only)
    if args.only is None:
        layers = {lanes: mlp_units(out_dir, lanes) for lanes in MLP_LANES}
        data = {
            'tool': _tool(),
            'features': list(folding.FOLDED_FEATURES),
            'units': units,
            'hold_out': [hold_out(layers[lanes]['fc0'], lanes) for lanes in MLP_LANES],
            'layers': {
                **{
                    mlp_layer_id(name, lanes): spec_to_json(layers[lanes][name])
                    for lanes in MLP_LANES
                    for name in (*MLP_LAYERS, 'fc0')
                },
                **{cnv_layer_id(name): spec_to_json(unit) for name, unit in cnv_units(out_dir).items()},
            },
        }
        folding.FOLDED_DATA.write_text(dumps(data))
        print(json.dumps(folding.fit_folded(data), indent=1))  # paste into folding.FOLDED_CONSTANTS
    return 0


def dumps(data: dict) -> str:
    """The data as JSON, a field per line but each layer's spec on one line (its lists would take thousands)."""
    specs = {name: json.dumps(spec, separators=(',', ':')) for name, spec in data['layers'].items()}
    text = json.dumps(data | {'layers': {name: f'@{name}@' for name in specs}}, indent=1)
    for name, spec in specs.items():
        text = text.replace(f'"@{name}@"', spec)
    return text + '\n'


def hold_out(fc0: UnitSpec, lanes: str) -> dict:
    """fc0's features and measured figures (FC0_MEASURED); its spec is under layers."""
    return {
        'id': mlp_layer_id('fc0', lanes),
        'design': str(Design.REUSE),
        'layer': mlp_layer_id('fc0', lanes),
        'features': folding.folded_features(fc0, Design.REUSE),
        'resources': FC0_MEASURED[lanes],
    }


def _tool() -> str:
    from ..synth.yosys import tool_description

    return tool_description()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
