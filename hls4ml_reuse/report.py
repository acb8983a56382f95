"""Per-layer and whole-network operation figures of a converted model (DESIGN.md section 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import counters
from .reference import Counts, evaluate


@dataclass
class LayerOps:
    name: str
    baseline: float  # terms per image: N*K
    static: float  # terms the plan instantiates
    dynamic: float  # terms evaluated on average (firmware counters)
    baseline_adder_bits: float
    static_adder_bits: float
    dynamic_adder_bits: float


def reuse_layers(hls_model):
    return [layer for layer in hls_model.get_layers() if layer.class_name == 'ReuseDense']


def skipped_layers(hls_model) -> dict:
    """Layers that stayed stock hls4ml with the flag on, and why."""
    return {
        layer.name: layer.get_attr('reuse_pruning_skipped')
        for layer in hls_model.get_layers()
        if layer.get_attr('reuse_pruning_skipped') is not None
    }


def layer_ops(layer, images: int, firmware_counts: dict) -> LayerOps:
    unit, cost = layer.get_attr('unit'), layer.get_attr('cost')
    n, k = unit.kernels.shape
    inputs, adds = unit.plan.static_inputs_and_adds()
    dyn_inputs = firmware_counts['inputs'] / images
    dyn_adds = firmware_counts['word_adds'] / images
    return LayerOps(
        name=layer.name,
        baseline=float(n * k),
        static=float(cost.terms(inputs, adds)),
        dynamic=float(cost.terms(dyn_inputs, dyn_adds)),
        baseline_adder_bits=float(cost.adder_bits(n * k, 0)),
        static_adder_bits=float(cost.adder_bits(inputs, adds)),
        dynamic_adder_bits=float(cost.adder_bits(dyn_inputs, dyn_adds)),
    )


def network_ops(hls_model, images: int) -> list[LayerOps]:
    return [layer_ops(layer, images, counters.read(hls_model, layer)) for layer in reuse_layers(hls_model)]


def pruned(layers: list[LayerOps], kind: str, adder_bits: bool = False) -> float:
    suffix = '_adder_bits' if adder_bits else ''
    base = sum(getattr(layer, 'baseline' + suffix) for layer in layers)
    ours = sum(getattr(layer, kind + suffix) for layer in layers)
    return 1.0 - ours / base


def as_dicts(layers: list[LayerOps]) -> list[dict]:
    return [asdict(layer) for layer in layers]


def reference_forward(hls_model, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Run the chain of ReuseDense units in the Python reference: outputs and counts per layer.

    Only for models that are a plain chain of ReuseDense units (the dense MLPs this plugin plans).
    """
    layers = reuse_layers(hls_model)
    if len(layers) != len(hls_model.get_layers()) - 1:
        raise ValueError('reference_forward needs a model made only of ReuseDense units after its input')
    values = np.round(np.ldexp(np.asarray(x, dtype=np.float64), layers[0].get_attr('input_frac_bits'))).astype(np.int64)
    counts = {}
    for layer in layers:
        out, layer_counts = evaluate(layer.get_attr('unit'), values)
        counts[layer.name] = layer_counts
        values = np.where(out == 1, 1, -1) if layer.get_attr('thresholded') else out
    last = layers[-1]
    if last.get_attr('thresholded'):
        return values.astype(np.float64), counts
    return np.ldexp(values.astype(np.float64), -last.get_attr('input_frac_bits')), counts


def counts_match(hls_model, reference_counts: dict[str, Counts]) -> bool:
    for layer in reuse_layers(hls_model):
        fw = counters.read(hls_model, layer)
        ref = reference_counts[layer.name]
        if (fw['inputs'], fw['word_adds'], fw['tiles']) != (ref.inputs, ref.word_adds, ref.tiles):
            return False
    return True
