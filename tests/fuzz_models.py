"""Random small binary QKeras models for the end-to-end fuzz test (tests/test_fuzz.py).

A drawn model is a plain, printable `Spec` (frozen dataclasses of strings and ints), so a failing example is
reported as the very parameters that were drawn and can be rebuilt with `build_model(spec)` -- no shrinking needed.
All weights come from numpy seeded by `Spec.seed`: the same spec always gives the same model and inputs.

Reproduce one example: `.venv/bin/python tests/fuzz_models.py "Spec(...)"` (prints the outcome).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

MAX_WEIGHTS = 2000  # keeps an example at a few seconds: the C simulation compiles one unit per layer
N_INPUTS = 30  # random inputs per example

QUANTIZERS = ('binary', 'binary()', 'binary(alpha=1)', "binary(alpha='auto_po2')", "binary(alpha='auto')")
ACTIVATIONS = ('binary', 'binary(alpha=1)', 'binary_tanh')
NORMS = (None, 'bn', 'qbn', 'qbn-plain')  # qbn: QBatchNormalization's default quantizers; qbn-plain: all None
BIASES = (None, 'quantized_bits(8,3)', 'float')  # None: use_bias=False; float: use_bias without a quantizer
# input kind: (hls4ml input precision, what is fed)
INPUTS = {
    'pixels': 'ufixed<8,0>',  # k/256
    'pm1': 'int<2>',  # +-1 fed directly
    'binarize': 'fixed<8,0>',  # (k-128)/256 (zeros included) through QActivation('binary')
}


@dataclass(frozen=True)
class Conv:
    filters: int
    kernel: tuple
    strides: tuple
    padding: str
    quantizer: str
    bias: str | None
    norm: str | None
    activation: str


@dataclass(frozen=True)
class Pool:
    size: int
    strides: int
    padding: str


@dataclass(frozen=True)
class Dense:
    units: int
    quantizer: str
    bias: str | None
    norm: str | None
    activation: str | None  # None: raw outputs (only the final layer)


@dataclass(frozen=True)
class Spec:
    shape: tuple
    input_kind: str
    layers: tuple  # of Conv, Pool, Dense; a Flatten is implied before the first Dense of an image model
    seed: int

    @property
    def input_precision(self) -> str:
        return INPUTS[self.input_kind]

    def n_weights(self) -> int:
        return sum(_layer_weights(layer, n_in) for layer, n_in in zip(self.layers, _fan_ins(self)))


def _fan_ins(spec):
    """The channel count (image) or width (flat) entering each layer."""
    shape, fan_ins = spec.shape, []
    for layer in spec.layers:
        fan_ins.append(shape[-1] if not isinstance(layer, Dense) else int(np.prod(shape)))
        shape = output_shape(shape, layer)
    return fan_ins


def _layer_weights(layer, n_in):
    if isinstance(layer, Conv):
        return layer.kernel[0] * layer.kernel[1] * n_in * layer.filters
    return n_in * layer.units if isinstance(layer, Dense) else 0


def _out_size(n, k, s, padding):
    return math.ceil(n / s) if padding == 'same' else (n - k) // s + 1


def output_shape(shape, layer):
    if isinstance(layer, Dense):
        return (layer.units,)
    kernel, strides = (layer.kernel, layer.strides) if isinstance(layer, Conv) else ((layer.size,) * 2, (layer.strides,) * 2)
    channels = layer.filters if isinstance(layer, Conv) else shape[2]
    return (*(_out_size(shape[i], kernel[i], strides[i], layer.padding) for i in range(2)), channels)


def features(spec: Spec) -> set[str]:
    """What a spec exercises, to tally which idioms the exact examples covered."""
    found = {f'input {spec.input_kind}', f'{"image" if len(spec.shape) == 3 else "flat"} input'}
    shape = spec.shape
    for layer in spec.layers:
        shape, before = output_shape(shape, layer), shape
        if isinstance(layer, Pool):
            found.add(f'pool {layer.size} stride {layer.strides} {layer.padding}')
            found.add('pool by ' + ('hls4ml or pool exit' if hls4ml_streams(layer, before) else 'ReuseMaxPool2D'))
            continue
        kind = 'conv' if isinstance(layer, Conv) else 'dense'
        found |= {
            f'quantizer {layer.quantizer}',
            f'bias {layer.bias}',
            f'norm {layer.norm}',
            f'activation {layer.activation}',
        }
        if kind == 'conv':
            found |= {f'conv {layer.padding}', f'conv kernel {layer.kernel}', f'conv strides {layer.strides}'}
    return found


def hls4ml_streams(pool: Pool, shape) -> bool:
    """Whether hls4ml's own io_stream pooling computes it: stride equal to the size and nothing padded."""
    pads = pool.padding == 'same' and any(n % pool.strides for n in shape[:2])
    return pool.size == pool.strides and not pads


# ----------------------------------------------------------------------------- strategy


@st.composite
def dense_layer(draw, n_in, final):
    """A binary QDense; hidden ones are always binarized, the final one gives raw outputs about half the time."""
    units = draw(st.integers(1, max(1, min(12, MAX_WEIGHTS // (2 * n_in)))))
    activation = draw(st.sampled_from((None, *ACTIVATIONS))) if final else draw(st.sampled_from(ACTIVATIONS))
    norm = draw(st.sampled_from(NORMS)) if activation else None
    quantizer, bias = draw(st.sampled_from(QUANTIZERS)), draw(st.sampled_from(BIASES))
    return Dense(units, quantizer, bias, norm, activation)


@st.composite
def conv_layer(draw, shape):
    """A binary QConv2D whose output keeps at least one pixel, always binarized."""
    sizes = st.sampled_from([3, 2, 1, 4])  # not integers(): hypothesis favours small ones, and 3x3 is the usual kernel
    square = draw(sizes)
    kernel = tuple(min(n, square if draw(st.integers(0, 2)) else draw(sizes)) for n in shape[:2])
    strides = draw(st.sampled_from([(1, 1), (2, 2), (1, 2), (2, 1)]))
    padding = draw(st.sampled_from(['valid', 'same']))
    filters = draw(st.integers(1, max(1, min(8, 600 // (kernel[0] * kernel[1] * shape[2])))))
    quantizer, bias = draw(st.sampled_from(QUANTIZERS)), draw(st.sampled_from(BIASES))
    norm, activation = draw(st.sampled_from(NORMS)), draw(st.sampled_from(ACTIVATIONS))
    return Conv(filters, kernel, strides, padding, quantizer, bias, norm, activation)


@st.composite
def pool_layer(draw, shape):
    """Max pooling: size == stride, overlapping (3 stride 2, 2 stride 1), gapped (2 stride 3), 'valid' or 'same'."""
    size, strides = draw(st.sampled_from([(2, 2), (2, 2), (3, 3), (3, 2), (2, 1), (2, 3)]))
    padding = draw(st.sampled_from(['valid', 'valid', 'same']))
    if padding == 'valid' and min(shape[:2]) < size:
        padding = 'same'
    return Pool(size, strides, padding)


@st.composite
def image_layers(draw, shape):
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        layer = draw(conv_layer(shape))
        layers.append(layer)
        shape = output_shape(shape, layer)
        if draw(st.integers(0, 2)) == 0:
            layers.append(draw(pool_layer(shape)))
            shape = output_shape(shape, layers[-1])
    return layers, shape


@st.composite
def specs(draw):
    """A whole model: image (odd sizes, 1-4 channels) or flat input, a few binary layers, <= MAX_WEIGHTS weights."""
    input_kind = draw(st.sampled_from(list(INPUTS)))
    if draw(st.sampled_from(['image', 'image', 'flat'])) == 'image':
        start = (draw(st.sampled_from([5, 7, 9, 3, 6, 4])), draw(st.sampled_from([7, 5, 3, 4])), draw(st.integers(1, 4)))
        layers, shape = draw(image_layers(start))
    else:
        start = shape = (draw(st.integers(3, 40)),)
        layers = []
    n_hidden = draw(st.integers(0, 1 if layers else 2))
    for i in range(n_hidden + 1):
        layers.append(draw(dense_layer(int(np.prod(shape)), final=i == n_hidden)))
        shape = output_shape(shape, layers[-1])
    return Spec(start, input_kind, tuple(layers), draw(st.integers(0, 2**31 - 1)))


def small_specs():
    return specs().filter(lambda spec: spec.n_weights() <= MAX_WEIGHTS)


# ----------------------------------------------------------------------------- models and inputs


def _quantizer(spelling):
    """The kernel quantizer as a user writes it: the string 'binary' stays a string."""
    from qkeras import binary

    if spelling == 'binary':
        return 'binary'
    alpha = spelling[len('binary(') : -1].split('=')[-1].strip("'")
    return binary() if not alpha else binary(alpha=int(alpha) if alpha.isdigit() else alpha)


def _bias_options(bias):
    from qkeras import quantized_bits

    if bias is None:
        return {'use_bias': False}
    return {'use_bias': True, 'bias_quantizer': quantized_bits(8, 3) if bias == 'quantized_bits(8,3)' else None}


def _normalization(norm, name):
    from qkeras import QBatchNormalization
    from tensorflow.keras import layers

    if norm == 'qbn':
        return QBatchNormalization(name=name)
    if norm == 'qbn-plain':
        nones = dict.fromkeys(('beta_quantizer', 'gamma_quantizer', 'mean_quantizer', 'variance_quantizer'))
        return QBatchNormalization(name=name, **nones)
    return layers.BatchNormalization(name=name)


def _binarize(x, layer, i):
    """Optional normalization, then the binary activation (nothing for a raw final Dense)."""
    from qkeras import QActivation

    if layer.norm:
        x = _normalization(layer.norm, f'bn{i}')(x)
    return QActivation(layer.activation, name=f'act{i}')(x) if layer.activation else x


def _add_layer(x, layer, i):
    from qkeras import QConv2D, QDense
    from tensorflow.keras import layers

    if isinstance(layer, Pool):
        return layers.MaxPooling2D(layer.size, strides=layer.strides, padding=layer.padding, name=f'pool{i}')(x)
    quantizer, bias = _quantizer(layer.quantizer), _bias_options(layer.bias)
    if isinstance(layer, Conv):
        conv = QConv2D(layer.filters, layer.kernel, strides=layer.strides, padding=layer.padding, name=f'conv{i}',
                       kernel_quantizer=quantizer, **bias)  # fmt: skip
        return _binarize(conv(x), layer, i)
    if len(x.shape) > 2:
        x = layers.Flatten(name='flatten')(x)
    return _binarize(QDense(layer.units, kernel_quantizer=quantizer, name=f'fc{i}', **bias)(x), layer, i)


def build_model(spec: Spec):
    """The Keras model of a spec, with every weight drawn from numpy seeded by spec.seed."""
    import tensorflow as tf
    from qkeras import QActivation
    from tensorflow.keras import layers

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(spec.seed)
    inputs = layers.Input(spec.shape, name='values')
    x = QActivation('binary', name='binarize')(inputs) if spec.input_kind == 'binarize' else inputs
    for i, layer in enumerate(spec.layers):
        x = _add_layer(x, layer, i)
    model = tf.keras.Model(inputs, x)
    _randomize(model, np.random.default_rng(spec.seed))
    return model


def _randomize(model, rng):
    """Kernels of varied magnitude per channel (so 'auto' scales differ), biases, and BatchNorm statistics
    with negative and zero gammas, as tests/models.py does, sometimes placed to make ties."""
    from models import randomize_batchnorm
    from tensorflow.keras import layers

    for layer in model.layers:
        if hasattr(layer, 'kernel'):
            shape = layer.kernel.shape
            magnitude = rng.uniform(0.05, 1.0, shape[-1])
            layer.kernel.assign((rng.normal(0, 1, shape) * magnitude).astype(np.float32))
        if getattr(layer, 'bias', None) is not None:
            layer.bias.assign(rng.normal(0, 1.5, layer.bias.shape).astype(np.float32))
        if isinstance(layer, layers.BatchNormalization):
            randomize_batchnorm(layer, rng, rng.choice([1, 1, -1, 0], layer.gamma.shape[0]))
            if rng.random() < 0.4:
                _invite_ties(layer)


def _invite_ties(bn):
    """beta = 0 and means on a quarter grid: sums land exactly on the threshold (BN output 0, where binary gives +1
    and binary_tanh -1), and zero gammas give exact zeros."""
    gamma, beta, mean, variance = bn.get_weights()
    bn.set_weights([gamma, np.zeros_like(beta), (np.round(mean * 4) / 4).astype(np.float32), variance])


def inputs(spec: Spec, n: int = N_INPUTS) -> np.ndarray:
    """Inputs exact in spec.input_precision, seeded by the spec."""
    rng = np.random.default_rng(spec.seed + 1)
    size = (n, *spec.shape)
    if spec.input_kind == 'pm1':
        return rng.choice([-1.0, 1.0], size=size).astype(np.float32)
    low, high = (0, 256) if spec.input_kind == 'pixels' else (-128, 128)
    return (rng.integers(low, high, size=size) / 256).astype(np.float32)


# ----------------------------------------------------------------------------- the property


@dataclass(frozen=True)
class Outcome:
    kind: str  # 'exact', 'refused', or a failure: 'mismatch', 'error', 'refused-pooling'
    message: str = ''


# Every max pooling drawn here is computed (hls4ml's or ReuseMaxPool2D): a refusal naming one is a failure.
POOLING_REFUSAL = re.compile(r"^layer 'pool\d+'")


def refusal(error) -> Outcome:
    message = str(error)
    return Outcome('refused-pooling' if POOLING_REFUSAL.match(message) else 'refused', message)


def check(spec: Spec, out_dir: str) -> Outcome:
    """Convert with ReusePruning, C-simulate and compare with QKeras element for element.

    A ReusePruningConfigError is a named refusal (accepted, unless it names a pooling layer); a mismatch or any
    other exception is a failure.
    """
    import hls4ml

    from hls4ml_reuse.cli.conversion import base_config
    from hls4ml_reuse.config import ReusePruningConfigError
    from hls4ml_reuse.sim.encoding import as_keras_values

    model = build_model(spec)
    config = base_config(model, spec.input_precision)
    config['Model']['ReusePruning'] = True
    try:
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, io_type='io_stream', backend='Vivado', output_dir=out_dir, part='xc7z100ffg900-2'
        )
    except ReusePruningConfigError as error:
        return refusal(error)
    hls_model.compile()
    x = inputs(spec)
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    firmware = as_keras_values(hls_model, np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1))
    if np.array_equal(firmware, keras):
        return Outcome('exact')
    return Outcome('mismatch', _mismatch_message(firmware, keras))


def _mismatch_message(firmware, keras):
    if firmware.shape != keras.shape:
        return f'shape {firmware.shape} != {keras.shape}'
    where = np.argwhere(firmware != keras)
    i, j = where[0]
    return f'{len(where)} of {keras.size} outputs differ; first [{i}, {j}]: firmware {firmware[i, j]} keras {keras[i, j]}'


def main(argv):
    """Run one spec, printed as the fuzz summary prints it, and show its outcome."""
    sys.path.insert(0, str(Path(__file__).parent))
    spec = eval(argv[1], {'Spec': Spec, 'Conv': Conv, 'Pool': Pool, 'Dense': Dense})  # noqa: S307 (our own repr)
    out_dir = argv[2] if len(argv) > 2 else 'out/fuzz-replay'
    print(check(spec, out_dir))


if __name__ == '__main__':
    main(sys.argv)
