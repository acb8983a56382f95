"""The Python reference of a whole converted graph: reuse units, pooling, reshapes and output scaling."""

from __future__ import annotations

import numpy as np
from hls4ml.backends.fpga.passes.repack_stream import Repack
from hls4ml.model.layers import ApplyAlpha, Input, Pooling2D, Reshape
from hls4ml.model.types import FixedPrecisionType

from ..ir.layers import ReuseConv2D, ReuseMaxPool2D, ReuseUnitLayer, reuse_units
from ..passes.graph import is_binary_activation
from . import counters, encoding
from .unit import Counts, evaluate, evaluate_values, evaluate_window_change

REFERENCE_CHUNK = 16  # images per reference step: convolution windows of a chunk stay in memory


class ReferenceUnavailable(ValueError):
    """The converted graph holds a layer the Python reference does not model (a layer kept stock)."""


RESHAPES = (Reshape, Repack)


def is_max_pooling(layer) -> bool:
    """hls4ml's (stride equal to the pool, unpadded) or ours (any stride and padding)."""
    return isinstance(layer, ReuseMaxPool2D) or (isinstance(layer, Pooling2D) and layer.get_attr('pool_op') == 'Max')


def modelled(layer) -> bool:
    """A first screen by layer type: what reference_forward can step through."""
    return (
        isinstance(layer, (Input, ReuseUnitLayer, ApplyAlpha, *RESHAPES))
        or is_max_pooling(layer)
        or (is_binary_activation(layer))
    )


def unmodelled_reason(layer) -> str:
    return f'the reference does not model layer {layer.name!r} ({layer.class_name})'


def reference_unavailable(hls_model) -> str | None:
    """Why reference_forward cannot run on this graph, or None when it can."""
    for layer in hls_model.get_layers():
        if not modelled(layer):
            return unmodelled_reason(layer)
    return None


def input_frac_bits(input_layer) -> int:
    """Fractional bits of the model input's type: the grid its raw integers count in."""
    precision = input_layer.get_output_variable().type.precision
    return precision.width - precision.integer if isinstance(precision, FixedPrecisionType) else 0


def reference_forward(hls_model, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Run the converted graph in the Python reference: outputs (as the firmware writes them: binary activations as
    hls4ml's bits where the output type is one bit, see encoding.py) and counts per unit.

    Covers the graphs this plugin builds: reuse units, max pooling, reshapes, standalone binary activations
    and an output ApplyAlpha after an input layer.
    """
    x = np.asarray(x)
    outputs, counts = [], {layer.name: Counts() for layer in reuse_units(hls_model)}
    for start in range(0, len(x), REFERENCE_CHUNK):
        out, chunk_counts = _reference_chunk(hls_model, x[start : start + REFERENCE_CHUNK])
        outputs.append(out)
        for name, chunk_count in chunk_counts.items():
            counts[name] += chunk_count
    return np.concatenate(outputs), counts


class _Values:
    """The values flowing between layers: raw integers on a grid of 2^-frac_bits, or real values (frac_bits None).

    ``raw_sums``: they are an unthresholded unit's sums (through reshapes and poolings), which an ApplyAlpha may scale.
    """

    def __init__(self, raw: np.ndarray, frac_bits: int | None, raw_sums: bool = False):
        self.raw, self.frac_bits, self.raw_sums = raw, frac_bits, raw_sums

    def real(self) -> np.ndarray:
        raw = self.raw.astype(np.float64)
        return raw if self.frac_bits is None else np.ldexp(raw, -self.frac_bits)


def _reference_chunk(hls_model, x) -> tuple[np.ndarray, dict]:
    layers = list(hls_model.get_layers())
    frac_bits = input_frac_bits(layers[0])
    raw = np.round(np.ldexp(np.asarray(x, dtype=np.float64), frac_bits)).astype(np.int64)
    values = _Values(raw.reshape((len(x), *layers[0].get_output_variable().shape)), frac_bits)
    counts = {}
    for layer in layers[1:]:
        values = _step(layer, values, counts)
    return _as_firmware_output(hls_model, values), counts


def _as_firmware_output(hls_model, values: _Values) -> np.ndarray:
    out = values.real().reshape(len(values.raw), -1)
    return encoding.encode_bits(out) if encoding.bit_coded_output(hls_model) else out


def forward_from(hls_model, layer_name: str, unit_outputs: np.ndarray) -> np.ndarray:
    """The model's outputs, as reference_forward gives them, from the unit `layer_name`'s outputs (m, n_out) as
    sim.unit.evaluate gives them (thresholded: 0/1 bits; else raw sums): the layers after it run in the reference."""
    layers = list(hls_model.get_layers())
    names = [layer.name for layer in layers]
    if layer_name not in names or not isinstance(layers[names.index(layer_name)], ReuseUnitLayer):
        raise ValueError(f'no reuse unit {layer_name!r} in the model')
    layer = layers[names.index(layer_name)]
    out = np.asarray(unit_outputs, dtype=np.int64).reshape((len(unit_outputs), *layer.get_output_variable().shape))
    if layer.get_attr('thresholded'):
        values = _Values(np.where(out == 1, 1, -1), 0)
    else:
        values = _Values(out, layer.get_attr('input_frac_bits'), raw_sums=True)
    for after in layers[names.index(layer_name) + 1 :]:
        values = _step(after, values, {})
    return _as_firmware_output(hls_model, values)


def unit_inputs(hls_model, x: np.ndarray, layer_name: str) -> np.ndarray:
    """The raw input vectors (one per window, K values each) the unit `layer_name` evaluates for images x."""
    layer, raw = _unit_input(hls_model, x, layer_name)
    return conv_windows(layer, raw) if isinstance(layer, ReuseConv2D) else raw.reshape(len(x), -1)


def unit_input_map(hls_model, x: np.ndarray, layer_name: str) -> np.ndarray:
    """The raw values (m, *input shape) that reach the unit `layer_name` for images x: a convolution's pixel map."""
    return _unit_input(hls_model, x, layer_name)[1]


def _unit_input(hls_model, x: np.ndarray, layer_name: str):
    layers = list(hls_model.get_layers())
    frac_bits = input_frac_bits(layers[0])
    raw = np.round(np.ldexp(np.asarray(x, dtype=np.float64), frac_bits)).astype(np.int64)
    values = _Values(raw.reshape((len(x), *layers[0].get_output_variable().shape)), frac_bits)
    for layer in layers[1:]:
        if layer.name == layer_name:
            if not isinstance(layer, ReuseUnitLayer):
                raise ValueError(f'layer {layer_name!r} is not a reuse unit')
            return layer, values.raw
        values = _step(layer, values, {})
    raise ValueError(f'no layer {layer_name!r} in the model')


def _step(layer, values: _Values, counts: dict) -> _Values:
    """One layer of the reference; a unit's counts go into `counts`."""
    m = len(values.raw)
    if isinstance(layer, ReuseUnitLayer):
        out, counts[layer.name] = _unit(layer, values.raw)
        out = out.reshape((m, *layer.get_output_variable().shape))
        if layer.get_attr('thresholded'):
            return _Values(out, 0)
        return _Values(out, layer.get_attr('input_frac_bits'), raw_sums=True)
    if is_max_pooling(layer):
        return _Values(max_pool(layer, values.raw), values.frac_bits, values.raw_sums)
    if isinstance(layer, RESHAPES):
        return _Values(values.raw.reshape((m, *layer.get_output_variable().shape)), values.frac_bits, values.raw_sums)
    if is_binary_activation(layer):  # left on its own: hls4ml's binary_tanh, [x >= 0]
        return _Values(np.where(values.raw >= 0, 1, -1), 0)
    if isinstance(layer, ApplyAlpha) and values.raw_sums:
        return _Values(output_affine(layer, values.real()), None)
    raise ReferenceUnavailable(unmodelled_reason(layer))


def _unit(layer: ReuseUnitLayer, raw: np.ndarray) -> tuple[np.ndarray, Counts]:
    """A unit's outputs on raw inputs: -1/+1 when thresholded, else raw sums; and its counts."""
    if layer.get_attr('unit').absorbs_pooling:
        return conv_pooled(layer, raw)
    if isinstance(layer, ReuseConv2D) and layer.get_attr('unit').window_reuse:
        out, counts = conv_window_reuse(layer, raw)
        return (np.where(out == 1, 1, -1) if layer.get_attr('thresholded') else out), counts
    vectors = conv_windows(layer, raw) if isinstance(layer, ReuseConv2D) else raw.reshape(len(raw), -1)
    out, counts = evaluate(layer.get_attr('unit'), vectors)
    return (np.where(out == 1, 1, -1) if layer.get_attr('thresholded') else out), counts


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


def conv_window_reuse(layer, values: np.ndarray) -> tuple[np.ndarray, Counts]:
    """A unit with window reuse: outputs (m * out_height * out_width, n) and counts.

    Each output row starts from scratch at its first window; every next window follows from its left neighbour.
    """
    unit, ow = layer.get_attr('unit'), layer.get_attr('out_width')
    windows = conv_windows(layer, values).reshape(-1, ow, unit.n_in)  # (images x rows, columns, K)
    y, out, total = evaluate_values(unit, windows[:, 0])
    outputs = [out]
    for col in range(1, ow):
        y, out, counts = evaluate_window_change(unit, windows[:, col] - windows[:, col - 1], y)
        outputs.append(out)
        total += counts
    return np.stack(outputs, axis=1).reshape(-1, unit.n_out), total


def max_pool(layer, values: np.ndarray) -> np.ndarray:
    """Max over each window's positions inside the map: padding is the lowest value, never the maximum (Keras pads
    max pooling with -inf)."""
    get = layer.get_attr
    ph, pw, sh, sw = get('pool_height'), get('pool_width'), get('stride_height'), get('stride_width')
    oh, ow, pt, pl = get('out_height'), get('out_width'), get('pad_top'), get('pad_left')
    m, h, w = len(values), get('in_height'), get('in_width')  # a 1-D pooling (m, steps, c) has height 1
    values = values.reshape(m, h, w, -1)
    pb, pr = max(0, (oh - 1) * sh + ph - h - pt), max(0, (ow - 1) * sw + pw - w - pl)
    lowest = np.iinfo(values.dtype).min if np.issubdtype(values.dtype, np.integer) else -np.inf
    padded = np.pad(values, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=lowest)
    taps = strided_taps(padded, (ph, pw), (sh, sw), (oh, ow))
    return np.max(np.stack(taps), axis=0).reshape(m, *layer.get_output_variable().shape)


def counts_match(hls_model, reference_counts: dict[str, Counts]) -> bool:
    """Every unit's firmware counters equal the reference's counts."""
    for layer in reuse_units(hls_model):
        fw = counters.read(hls_model, layer)
        ref = reference_counts[layer.name]
        if (fw['inputs'], fw['word_adds'], fw['tiles']) != (ref.inputs, ref.word_adds, ref.tiles):
            return False
    return True
