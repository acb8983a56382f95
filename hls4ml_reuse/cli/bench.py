"""``hls4ml-reuse bench``: ours vs stock hls4ml on the same model and images, in one run."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..passes.pooling import POOLING, hls4ml_streams
from ..report import operations
from ..sim import counters, encoding, graph
from . import conversion
from .targets import Target, resolve

CHUNK = 250  # most images per predict() call: the progress bar moves at least every 5 %


@dataclass
class BenchOptions:
    images: int  # ours C-simulates this many
    stock_images: int  # stock hls4ml the first this many (it is far slower)
    out_dir: str
    verify_images: int = 200  # the reference re-checks outputs and counters on the first this many
    stock_seconds: float | None = None  # stop stock after the chunk that reaches this time
    settings: dict = field(default_factory=dict)  # ReusePruning* keys set at Model level


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
    reference_out, reference_counts = graph.reference_forward(hls_model, x)
    return bool(np.array_equal(firmware_out, reference_out) and graph.counts_match(hls_model, reference_counts))


def run(target: Target | str, options: BenchOptions) -> dict:
    """Ours and stock hls4ml on the target's images; `target` is a Target or a name for resolve().

    Outputs of both are compared with Keras' as hls4ml's tests compare them: binary activations written as bits
    are read as -1/+1 (sim/encoding.py). NoReuseUnitError when no layer became a unit.
    """
    target = resolve(target) if isinstance(target, str) else target
    x, y = target.x[: options.images], (None if target.y is None else target.y[: options.images])
    keras_out = target.model.predict(x, batch_size=250, verbose=0).reshape(len(x), -1)
    ours = _run_ours(target, x, options)
    stock_out, stock_rate, stock_missing = _run_stock(target, x[: options.stock_images], options)
    stock_ran = stock_out is not None
    return {
        'model': target.name,
        'images': len(x),
        'stock_images': len(stock_out) if stock_ran else 0,
        'mismatches': int(np.count_nonzero(ours['outputs'] != keras_out)),
        'stock_mismatches': int(np.count_nonzero(stock_out != keras_out[: len(stock_out)])) if stock_ran else None,
        'keras_accuracy': accuracy(keras_out, y),
        'csim_accuracy': accuracy(ours['outputs'], y),
        'stock_csim_accuracy': accuracy(stock_out, y) if stock_ran else None,
        **ours['figures'],
        'reference_images': min(options.verify_images, len(x)),
        'csim_images_per_s': {'reuse': ours['rate'], 'stock': stock_rate},
        'speedup_vs_stock': ours['rate'] / stock_rate if stock_ran else None,
        'stock_unavailable': stock_missing,
    }


def _run_ours(target: Target, x: np.ndarray, options: BenchOptions) -> dict:
    """Convert with ReusePruning, check the reference against the firmware, C-simulate and count."""
    hls_model = target.convert(target.reuse_config(**options.settings), str(Path(options.out_dir) / 'reuse'))
    counters.require_units(hls_model, target.name)
    reference_missing = graph.reference_unavailable(hls_model)
    reference_agrees = None if reference_missing else verify_counts(hls_model, x[: options.verify_images])
    counters.reset(hls_model)
    outputs, rate = simulate(hls_model, x, 'ReusePruning')
    outputs = encoding.as_keras_values(hls_model, outputs)
    layers = operations.network_ops(hls_model, len(x))
    figures = {
        'ops_pruned_static': operations.pruned(layers, 'static'),
        'ops_pruned_dynamic': operations.pruned(layers, 'dynamic'),
        'adder_bits_pruned_static': operations.pruned(layers, 'static', adder_bits=True),
        'adder_bits_pruned_dynamic': operations.pruned(layers, 'dynamic', adder_bits=True),
        'layers': operations.as_dicts(layers),
        'stock_layers': operations.skipped_layers(hls_model),
        'reference_counts_equal_firmware': reference_agrees,
        'reference_unavailable': reference_missing,
        'caveats': operations.caveats(hls_model),
    }
    return {'outputs': outputs, 'rate': rate, 'figures': figures}


def _run_stock(target: Target, x: np.ndarray, options: BenchOptions) -> tuple[np.ndarray | None, float | None, str | None]:
    """The same model converted by stock hls4ml (integer accumulators sized from K), C-simulated: outputs, images/s.

    Not simulated (None, None, why) when stock hls4ml's own pooling would abort the process in C simulation.
    """
    config = conversion.stock_config(target.model, target.input_precision, target.input_frac_bits)
    stock = target.convert(config, str(Path(options.out_dir) / 'stock'))
    unstreamable = [layer.name for layer in stock.get_layers() if isinstance(layer, POOLING) and not hls4ml_streams(layer)]
    if unstreamable:
        return None, None, f'its io_stream pooling asserts in C simulation on {unstreamable} (stride != size, or padding)'
    outputs, rate = simulate(stock, x, 'stock hls4ml', options.stock_seconds)
    return encoding.as_keras_values(stock, outputs), rate, None


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


def write_json(result: dict, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + '\n')
