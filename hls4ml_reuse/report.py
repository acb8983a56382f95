"""Per-layer and whole-network operation figures of a converted model (DESIGN.md section 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hls4ml.model.types import FixedPrecisionType

from . import counters
from .passes.graph import is_binary_activation
from .reference import Counts, evaluate


@dataclass
class LayerOps:
    name: str
    baseline: float  # terms per image: N*K per window
    static: float  # terms the plan instantiates
    dynamic: float  # terms evaluated on average (firmware counters)
    baseline_adder_bits: float
    static_adder_bits: float
    dynamic_adder_bits: float


UNIT_CLASSES = ('ReuseDense', 'ReuseConv2D')
REFERENCE_CHUNK = 16  # images per reference step: convolution windows of a chunk stay in memory


def reuse_layers(hls_model):
    return [layer for layer in hls_model.get_layers() if layer.class_name in UNIT_CLASSES]


def windows_per_image(layer) -> int:
    """Input vectors a unit evaluates per image: 1 for a dense layer, one per output pixel for a convolution."""
    if layer.class_name == 'ReuseConv2D':
        return layer.get_attr('out_height') * layer.get_attr('out_width')
    return 1


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
    windows = windows_per_image(layer)
    inputs, adds = unit.plan.static_inputs_and_adds()
    dyn_inputs = firmware_counts['inputs'] / images
    dyn_adds = firmware_counts['word_adds'] / images
    return LayerOps(
        name=layer.name,
        baseline=float(n * k * windows),
        static=float(cost.terms(inputs, adds) * windows),
        dynamic=float(cost.terms(dyn_inputs, dyn_adds)),
        baseline_adder_bits=float(cost.adder_bits(n * k, 0) * windows),
        static_adder_bits=float(cost.adder_bits(inputs, adds) * windows),
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


class ReferenceUnavailable(ValueError):
    """The converted graph holds a layer the Python reference does not model (a layer kept stock)."""


MODELLED = UNIT_CLASSES + ('Input', 'Pooling2D', 'Reshape', 'Repack', 'ApplyAlpha')


def unmodelled_reason(layer) -> str:
    return f'the reference does not model layer {layer.name!r} ({layer.class_name})'


def reference_unavailable(hls_model) -> str | None:
    """Why reference_forward cannot run on this graph, or None when it can (a first screen by layer class)."""
    for layer in hls_model.get_layers():
        modelled = layer.class_name in MODELLED or is_binary_activation(layer)
        if not modelled or (layer.class_name == 'Pooling2D' and layer.get_attr('pool_op') != 'Max'):
            return unmodelled_reason(layer)
    return None


def input_frac_bits(input_layer) -> int:
    """Fractional bits of the model input's type: the grid its raw integers count in."""
    precision = input_layer.get_output_variable().type.precision
    return precision.width - precision.integer if isinstance(precision, FixedPrecisionType) else 0


def caveats(hls_model) -> dict:
    """Per unit, the limits of Keras' own float32 arithmetic that its agreement depends on (see the passes)."""
    return {
        layer.name: layer.get_attr('reuse_pruning_caveats')
        for layer in reuse_layers(hls_model)
        if layer.get_attr('reuse_pruning_caveats')
    }


def reference_forward(hls_model, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Run the converted graph in the Python reference: outputs (as the firmware writes them) and counts per unit.

    Covers the graphs this plugin builds: reuse units, max pooling and reshapes after an input layer.
    """
    x = np.asarray(x)
    outputs, counts = [], {layer.name: Counts() for layer in reuse_layers(hls_model)}
    for start in range(0, len(x), REFERENCE_CHUNK):
        out, chunk_counts = _reference_chunk(hls_model, x[start : start + REFERENCE_CHUNK])
        outputs.append(out)
        for name, chunk_count in chunk_counts.items():
            counts[name] += chunk_count
    return np.concatenate(outputs), counts


def _reference_chunk(hls_model, x):
    layers = list(hls_model.get_layers())
    values = np.round(np.ldexp(np.asarray(x, dtype=np.float64), input_frac_bits(layers[0]))).astype(np.int64)
    values = values.reshape((len(x), *layers[0].get_output_variable().shape))
    counts, last = {}, None
    for layer in layers[1:]:
        if layer.class_name == 'ReuseConv2D' and layer.pools():
            values, counts[layer.name] = conv_pooled(layer, values)
            last = layer
        elif layer.class_name in UNIT_CLASSES:
            vectors = conv_windows(layer, values) if layer.class_name == 'ReuseConv2D' else values.reshape(len(x), -1)
            out, counts[layer.name] = evaluate(layer.get_attr('unit'), vectors)
            values = np.where(out == 1, 1, -1) if layer.get_attr('thresholded') else out
            values = values.reshape((len(x), *layer.get_output_variable().shape))
            last = layer
        elif layer.class_name == 'Pooling2D' and layer.get_attr('pool_op') == 'Max':
            values = max_pool(layer, values)
        elif layer.class_name in ('Reshape', 'Repack'):
            values = values.reshape((len(x), *layer.get_output_variable().shape))
        elif is_binary_activation(layer):  # left on its own: hls4ml's binary_tanh, [x >= 0]
            values = np.where(values >= 0, 1, -1)
        elif layer.class_name == 'ApplyAlpha' and last is not None and not last.get_attr('thresholded'):
            values, last = output_affine(layer, np.ldexp(values.astype(np.float64), -last.get_attr('input_frac_bits'))), None
        else:
            raise ReferenceUnavailable(unmodelled_reason(layer))
    values = values.reshape(len(x), -1)
    if last is None:  # already real values (after an output scale and bias)
        return values, counts
    if last.get_attr('thresholded'):
        return values.astype(np.float64), counts
    return np.ldexp(values.astype(np.float64), -last.get_attr('input_frac_bits')), counts


def output_affine(layer, values: np.ndarray) -> np.ndarray:
    """values * scale + bias per channel, exact in float64, then rounded once to float32 as the firmware's output is."""
    scale = np.asarray(layer.weights['scale'].data, dtype=np.float64).reshape(-1)
    bias = np.asarray(layer.weights['bias'].data, dtype=np.float64).reshape(-1)
    channels = values.shape[-1]
    return (values * scale[:channels] + bias[:channels]).astype(np.float32).astype(np.float64)


def strided_taps(values: np.ndarray, size: tuple, stride: tuple, out: tuple) -> list[np.ndarray]:
    """For each offset (i, j) of a size[0] x size[1] window, in raster order, the (m, out[0], out[1], c) values there."""
    (sh, sw), (oh, ow) = stride, out
    return [
        values[:, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw, :]
        for i in range(size[0])
        for j in range(size[1])
    ]


def conv_windows(layer, values: np.ndarray) -> np.ndarray:
    """(m * out_height * out_width, K) windows in (h, w, c) order; positions outside the image are 0."""
    get = layer.get_attr
    fh, fw, sh, sw = get('filt_height'), get('filt_width'), get('stride_height'), get('stride_width')
    oh, ow, pt, pl = get('out_height'), get('out_width'), get('pad_top'), get('pad_left')
    m, h, w, c = values.shape
    pb, pr = max(0, (oh - 1) * sh + fh - h - pt), max(0, (ow - 1) * sw + fw - w - pl)
    padded = np.pad(values, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    taps = strided_taps(padded, (fh, fw), (sh, sw), (oh, ow))
    return np.stack(taps, axis=3).reshape(m * oh * ow, fh * fw * c)


def conv_pooled(layer, values: np.ndarray) -> tuple[np.ndarray, Counts]:
    """A unit with max pooling absorbed: -1/+1 pooled map (m, ph', pw', n) and counts.

    The firmware visits the pixels of a pooling window in raster order; each visit skips the channels
    already 1 in that window that no unknown channel starts from. Windows are evaluated here one
    pool offset at a time, in that order.
    """
    get = layer.get_attr
    ph, pw, oh, ow = get('pool_height'), get('pool_width'), get('pooled_height'), get('pooled_width')
    m, n = len(values), get('n_out')
    windows = conv_windows(layer, values).reshape(m, get('out_height'), get('out_width'), -1)
    seen = np.zeros((m * oh * ow, n), dtype=bool)
    total = Counts()
    for at_offset in strided_taps(windows, (ph, pw), (ph, pw), (oh, ow)):
        out, counts = evaluate(layer.get_attr('unit'), at_offset.reshape(m * oh * ow, -1), known_one=seen)
        seen |= out == 1
        total += counts
    return np.where(seen, 1, -1).reshape(m, oh, ow, n), total


def max_pool(layer, values: np.ndarray) -> np.ndarray:
    get = layer.get_attr
    if any(get(side) for side in ('pad_top', 'pad_bottom', 'pad_left', 'pad_right')):
        raise ValueError(f'the reference models unpadded max pooling only ({layer.name!r} is padded)')
    ph, pw, sh, sw = get('pool_height'), get('pool_width'), get('stride_height'), get('stride_width')
    taps = strided_taps(values, (ph, pw), (sh, sw), (get('out_height'), get('out_width')))
    return np.max(np.stack(taps), axis=0)


def counts_match(hls_model, reference_counts: dict[str, Counts]) -> bool:
    for layer in reuse_layers(hls_model):
        fw = counters.read(hls_model, layer)
        ref = reference_counts[layer.name]
        if (fw['inputs'], fw['word_adds'], fw['tiles']) != (ref.inputs, ref.word_adds, ref.tiles):
            return False
    return True
