"""``hls4ml-reuse bench``: ours vs stock hls4ml on the same model and images, in one run."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import conversion, counters, report
from .config import ReusePruningConfigError, validate
from .datasets import InputError, exact_precision, fractional_bits, load_npz, one_line
from .examples import EXAMPLES, Example, get_example, load_keras_model

CHUNK = 250  # most images per predict() call: the progress bar moves at least every 5 %


@dataclass
class Target:
    name: str
    model: object
    x: np.ndarray
    y: np.ndarray | None  # labels; None for random images or an .npz without y
    input_precision: str
    input_frac_bits: int
    hls_config: dict | None = None  # from a YAML configuration; None: our defaults
    part: str = conversion.PART
    clock_period_ns: float = conversion.CLOCK_PERIOD_NS
    input_precision_given: bool = False  # --data / --input-precision: it overrides the YAML's input type

    def reuse_config(self, **settings) -> dict:
        if self.hls_config is None:
            return conversion.reuse_config(self.model, self.input_precision, **settings)
        config = copy.deepcopy(self.hls_config)
        config.setdefault('Model', {}).update(settings)
        if self.input_precision_given:
            entry = config.setdefault('LayerName', {}).setdefault(self.model.layers[0].name, {})
            precision = entry.get('Precision')
            entry['Precision'] = {**(precision if isinstance(precision, dict) else {}), 'result': self.input_precision}
        return config

    def convert(self, config: dict, output_dir: str):
        """Convert and compile with this target's part and clock."""
        return conversion.convert(self.model, config, output_dir, part=self.part, clock_period_ns=self.clock_period_ns)


MNIST_SHAPES = ((784,), (28, 28, 1))
MNIST_PRECISION = 'ufixed<8,0>'  # pixels k/256


def resolve(name_or_model: str, data: str | None = None, input_precision: str | None = None) -> Target:
    """A shipped example, a QKeras .h5 model, or an hls4ml YAML configuration (``KerasModel: !qkeras_model``).

    Its inputs come from ``data`` (an .npz with x and optional y) when given, else from the example's own
    test data, else from MNIST. The input type is ``input_precision`` when given, else the smallest type
    exact for the .npz inputs, else the example's (pixels k/256).
    """
    name, model, example, extra = _load(name_or_model)
    if data is not None:
        x, y = load_npz(data, _input_shape(name, model))
        precision = input_precision or exact_precision(x, data)
    elif example is not None:  # a shipped model: its own test images (random pixels for finn-cnv-random)
        x, y = example.test_data()
        precision = input_precision or example.input_precision
    else:
        x, y = _mnist_data(name, model)
        precision = input_precision or MNIST_PRECISION
    given = data is not None or input_precision is not None
    return Target(name, model, x, y, precision, fractional_bits(precision), input_precision_given=given, **extra)


def _load(name_or_model: str) -> tuple[str, object, Example | None, dict]:
    """(name, model, shipped example or None, Target fields from a YAML configuration)."""
    if name_or_model in EXAMPLES:
        example = get_example(name_or_model)
        return example.name, load_keras_model(example.model_path), example, {}
    path = Path(name_or_model)
    if not path.exists():
        raise InputError(f'{name_or_model}: neither a shipped example ({", ".join(EXAMPLES)}) nor a file')
    if path.suffix in ('.yml', '.yaml'):
        return _load_yaml(path)
    return path.stem, load_keras_model(path), None, {}


def _input_shape(name: str, model) -> tuple:
    """The shape of one input sample; the bench feeds models with a single input only."""
    if not isinstance(model.input_shape, tuple):
        raise InputError(f'{name}: the model has {len(model.input_shape)} inputs; the bench feeds one')
    return tuple(model.input_shape[1:])


def _mnist_data(name: str, model) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images shaped for the model: the default inputs of a model given without --data."""
    shape = _input_shape(name, model)
    if shape not in MNIST_SHAPES:
        raise InputError(
            f'{name}: without --data the test images come from MNIST, so the model input must be (784,) or '
            f'(28, 28, 1), not {shape}; pass your inputs with --data FILE.npz'
        )
    from .datasets import load_mnist

    _, test = load_mnist()
    return test.x.reshape(-1, *shape), test.y


def _load_yaml(path: Path) -> tuple[str, object, Example | None, dict]:
    """Model and Target fields of a YAML configuration; its keys are checked now, before any conversion runs."""
    config = _read_yaml(path)
    model, hls_config = config.get('KerasModel'), config.get('HLSConfig')
    if model is None or isinstance(model, str):
        raise InputError(f'{path}: give the model as KerasModel: !qkeras_model path/to/model.h5')
    if not isinstance(hls_config, dict):
        raise InputError(f'{path}: no HLSConfig mapping (with Model, and LayerName or LayerType)')
    try:
        validate(hls_config)
    except ReusePruningConfigError as err:
        raise ReusePruningConfigError(f'{path}: {err}') from err
    extra = dict(
        hls_config=hls_config, part=config.get('Part', conversion.PART),
        clock_period_ns=float(config.get('ClockPeriod', conversion.CLOCK_PERIOD_NS)),
    )  # fmt: skip
    return path.stem, model, _shipped_example(getattr(model, 'source_path', None)), extra


def _read_yaml(path: Path) -> dict:
    """The parsed configuration; InputError when the file is not YAML or not a mapping, or its model will not load."""
    import hls4ml
    import yaml

    try:
        config = hls4ml.converters.parse_yaml_config(str(path))
    except (OSError, ValueError, yaml.YAMLError) as err:  # ValueError: not UTF-8, or a model Keras cannot build
        raise InputError(f'{path}: not a readable hls4ml YAML configuration ({one_line(err)})') from err
    if not isinstance(config, dict):
        raise InputError(f'{path}: not an hls4ml configuration (a mapping with KerasModel and HLSConfig)')
    return config


def _shipped_example(model_path):
    if model_path is None:
        return None
    resolved = Path(model_path).resolve()
    return next((e for e in EXAMPLES.values() if e.model_path.resolve() == resolved), None)


def simulate(hls_model, x: np.ndarray, label: str, seconds: float | None = None) -> tuple[np.ndarray, float]:
    """C-simulate x in chunks with a progress bar; returns outputs and images per second.

    With ``seconds``, stops after the chunk that reaches that time: the outputs cover the images done.
    """
    outputs, elapsed = [], 0.0
    step = max(1, min(CHUNK, len(x) // 20))
    with tqdm(total=len(x), desc=f'C simulation ({label})', unit='img') as bar:
        for start in range(0, len(x), step):
            chunk = np.ascontiguousarray(x[start : start + step])
            began = time.perf_counter()
            outputs.append(np.asarray(hls_model.predict(chunk)).reshape(len(chunk), -1))
            elapsed += time.perf_counter() - began
            bar.update(len(chunk))
            if seconds is not None and elapsed >= seconds:
                break
    outputs = np.concatenate(outputs)
    return outputs, len(outputs) / elapsed


def verify_counts(hls_model, x: np.ndarray) -> bool:
    """The Python reference reproduces the firmware's outputs and its evaluated-op counters."""
    counters.reset(hls_model)
    firmware_out = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1)
    reference_out, reference_counts = report.reference_forward(hls_model, x)
    return bool(np.array_equal(firmware_out, reference_out) and report.counts_match(hls_model, reference_counts))


def run(
    target: Target | str,
    images: int,
    stock_images: int,
    out_dir: str,
    verify_images: int = 200,
    stock_seconds: float | None = None,
    **settings,
) -> dict:
    """Ours on `images` test images, stock hls4ml on the first `stock_images` (or fewer, once `stock_seconds` pass).

    `target` is a Target or a name for resolve(). NoReuseUnitError when no layer became a unit.
    """
    if isinstance(target, str):
        target = resolve(target)
    x, y = target.x[:images], (None if target.y is None else target.y[:images])
    stock_images = min(stock_images, len(x))
    keras_out = target.model.predict(x, batch_size=250, verbose=0).reshape(len(x), -1)

    ours = target.convert(target.reuse_config(**settings), str(Path(out_dir) / 'reuse'))
    counters.require_units(ours, target.name)
    reference_missing = report.reference_unavailable(ours)
    reference_agrees = None if reference_missing else verify_counts(ours, x[:verify_images])
    counters.reset(ours)
    ours_out, ours_rate = simulate(ours, x, 'ReusePruning')
    layers = report.network_ops(ours, len(x))

    stock_config = conversion.stock_config(target.model, target.input_precision, target.input_frac_bits)
    stock = target.convert(stock_config, str(Path(out_dir) / 'stock'))
    stock_out, stock_rate = simulate(stock, x[:stock_images], 'stock hls4ml', stock_seconds)
    stock_images = len(stock_out)

    return {
        'model': target.name,
        'images': len(x),
        'stock_images': stock_images,
        'mismatches': int(np.count_nonzero(ours_out != keras_out)),
        'stock_mismatches': int(np.count_nonzero(stock_out != keras_out[:stock_images])),
        'keras_accuracy': accuracy(keras_out, y),
        'csim_accuracy': accuracy(ours_out, y),
        'stock_csim_accuracy': accuracy(stock_out, y),
        'ops_pruned_static': report.pruned(layers, 'static'),
        'ops_pruned_dynamic': report.pruned(layers, 'dynamic'),
        'adder_bits_pruned_static': report.pruned(layers, 'static', adder_bits=True),
        'adder_bits_pruned_dynamic': report.pruned(layers, 'dynamic', adder_bits=True),
        'layers': report.as_dicts(layers),
        'stock_layers': report.skipped_layers(ours),
        'reference_counts_equal_firmware': reference_agrees,
        'reference_unavailable': reference_missing,
        'caveats': report.caveats(ours),
        'reference_images': min(verify_images, len(x)),
        'csim_images_per_s': {'reuse': ours_rate, 'stock': stock_rate},
        'speedup_vs_stock': ours_rate / stock_rate,
    }


def failures(result: dict) -> list[str]:
    """What makes a bench run fail: our outputs differ from QKeras, or the reference from the firmware."""
    problems = []
    if result['mismatches'] != 0:
        problems.append(f"ReusePruning differs from QKeras on {result['mismatches']} output values")
    if result['reference_counts_equal_firmware'] is False:
        problems.append(
            f"the Python reference disagrees with the firmware's outputs or counters "
            f"(first {result['reference_images']} images)"
        )
    return problems


def accuracy(outputs: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Top-1 accuracy of outputs against the first len(outputs) labels; None without labels."""
    if labels is None:
        return None
    return float(np.mean(np.argmax(outputs, axis=1) == labels[: len(outputs)]))


def format_table(result: dict) -> str:
    lines = [f"{result['model']}: {result['images']} images (stock hls4ml on the first {result['stock_images']})", '']
    header = f"{'layer':<10}{'baseline':>11}{'static':>11}{'dynamic':>11}{'pruned':>9}{'bits base':>12}{'bits dyn':>11}{'pruned':>9}"
    lines += [header, '-' * len(header)]
    for layer in result['layers'] + [_total(result['layers'])]:
        lines.append(
            f"{layer['name']:<10}{layer['baseline']:>11.0f}{layer['static']:>11.0f}{layer['dynamic']:>11.0f}"
            f"{1 - layer['dynamic'] / layer['baseline']:>9.1%}{layer['baseline_adder_bits']:>12.0f}"
            f"{layer['dynamic_adder_bits']:>11.0f}{1 - layer['dynamic_adder_bits'] / layer['baseline_adder_bits']:>9.1%}"
        )
    rate = result['csim_images_per_s']
    lines += [
        '',
        f"{'':<34}{'ReusePruning':>14}{'stock hls4ml':>14}",
        f"{'outputs differing from QKeras':<34}{result['mismatches']:>14}{result['stock_mismatches']:>14}",
        _accuracy_line(result),
        f"{'C simulation images/s':<34}{rate['reuse']:>14.0f}{rate['stock']:>14.0f}",
        f"{'speed-up':<34}{result['speedup_vs_stock']:>13.1f}x",
        f"{'terms pruned static / dynamic':<34}{result['ops_pruned_static']:>13.1%} / {result['ops_pruned_dynamic']:.1%}",
        f"{'adder bits pruned static / dynamic':<34}{result['adder_bits_pruned_static']:>13.1%} / "
        f"{result['adder_bits_pruned_dynamic']:.1%}",
        _reference_line(result),
    ]
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
        f"{result['csim_accuracy']:>14.4f}{result['stock_csim_accuracy']:>14.4f}"
    )


def _total(layers: list[dict]) -> dict:
    total = {key: sum(layer[key] for layer in layers) for key in layers[0] if key != 'name'}
    return {'name': 'total', **total}


def write_json(result: dict, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + '\n')
