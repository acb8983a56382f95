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
from .datasets import PIXEL_FRACTIONAL_BITS
from .examples import EXAMPLES, get_example, load_keras_model

CHUNK = 250  # most images per predict() call: the progress bar moves at least every 5 %


@dataclass
class Target:
    name: str
    model: object
    x: np.ndarray
    y: np.ndarray | None  # labels; None for random images
    input_precision: str
    input_frac_bits: int
    hls_config: dict | None = None  # from a YAML configuration; None: our defaults
    part: str = conversion.PART
    clock_period_ns: float = conversion.CLOCK_PERIOD_NS

    def reuse_config(self, **settings) -> dict:
        if self.hls_config is not None:
            config = copy.deepcopy(self.hls_config)
            config.setdefault('Model', {}).update(settings)
            return config
        return conversion.reuse_config(self.model, self.input_precision, **settings)

    def convert(self, config: dict, output_dir: str):
        """Convert and compile with this target's part and clock."""
        return conversion.convert(self.model, config, output_dir, part=self.part, clock_period_ns=self.clock_period_ns)


def resolve(name_or_model: str) -> Target:
    """A shipped example, a QKeras .h5 model, or an hls4ml YAML configuration (``KerasModel: !qkeras_model``)."""
    if name_or_model in EXAMPLES:
        example = get_example(name_or_model)
        x, y = example.test_data()
        return Target(
            example.name, load_keras_model(example.model_path), x, y, example.input_precision, PIXEL_FRACTIONAL_BITS
        )
    path = Path(name_or_model)
    if not path.exists():
        raise SystemExit(f'{name_or_model!r} is neither a shipped example ({", ".join(EXAMPLES)}) nor a file')
    if path.suffix in ('.yml', '.yaml'):
        return _resolve_yaml(path)
    return _mnist_target(path.stem, load_keras_model(path))


MNIST_SHAPES = ((784,), (28, 28, 1))


def _mnist_target(name: str, model, **extra) -> Target:
    shape = tuple(model.input_shape[1:])
    if shape not in MNIST_SHAPES:
        raise SystemExit(
            f'{name}: test images come from MNIST, so the model input must be (784,) or (28, 28, 1), not {shape}'
        )
    from .datasets import load_mnist

    _, test = load_mnist()
    return Target(name, model, test.x.reshape(-1, *shape), test.y, 'ufixed<8,0>', PIXEL_FRACTIONAL_BITS, **extra)


def _resolve_yaml(path: Path) -> Target:
    import hls4ml

    config = hls4ml.converters.parse_yaml_config(str(path))
    model = config.get('KerasModel')
    if model is None or isinstance(model, str):
        raise SystemExit(f'{path}: give the model as KerasModel: !qkeras_model path/to/model.h5')
    extra = dict(
        hls_config=config['HLSConfig'], part=config.get('Part', conversion.PART),
        clock_period_ns=float(config.get('ClockPeriod', conversion.CLOCK_PERIOD_NS)),
    )  # fmt: skip
    example = _shipped_example(getattr(model, 'source_path', None))
    if example is not None:  # a shipped model: its own test images (random pixels for finn-cnv-random)
        x, y = example.test_data()
        return Target(path.stem, model, x, y, example.input_precision, PIXEL_FRACTIONAL_BITS, **extra)
    return _mnist_target(path.stem, model, **extra)


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
    name_or_model: str,
    images: int,
    stock_images: int,
    out_dir: str,
    verify_images: int = 200,
    stock_seconds: float | None = None,
    **settings,
) -> dict:
    """Ours on `images` test images, stock hls4ml on the first `stock_images` (or fewer, once `stock_seconds` pass)."""
    target = resolve(name_or_model)
    x, y = target.x[:images], (None if target.y is None else target.y[:images])
    stock_images = min(stock_images, len(x))
    keras_out = target.model.predict(x, batch_size=250, verbose=0).reshape(len(x), -1)

    ours = target.convert(target.reuse_config(**settings), str(Path(out_dir) / 'reuse'))
    reference_agrees = verify_counts(ours, x[:verify_images])
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
        'reference_images': min(verify_images, len(x)),
        'csim_images_per_s': {'reuse': ours_rate, 'stock': stock_rate},
        'speedup_vs_stock': ours_rate / stock_rate,
    }


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
        f"{'reference counts == firmware':<34}{str(result['reference_counts_equal_firmware']):>14}"
        f"  (first {result['reference_images']} images)",
    ]
    for name, why in result['stock_layers'].items():
        lines.append(f'stock hls4ml kept for layer {name!r}: {why}')
    return '\n'.join(lines)


def _accuracy_line(result: dict) -> str:
    if result['keras_accuracy'] is None:
        return f"{'accuracy':<34}{'(random images: no labels)':>28}"
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
