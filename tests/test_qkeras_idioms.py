"""QKeras models written the way users write them: every idiom converts exactly, or is refused by name.

Covers QBatchNormalization (default quantizers and none), the binary quantizer spellings ('binary',
binary(), alpha='auto_po2' / 'auto' / 1), binary_tanh, quantized biases, wide layers under hls4ml's
default precision, and pooling hls4ml cannot stream.
"""

import warnings

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import pixels, randomize_batchnorm
from qkeras import QActivation, QBatchNormalization, QConv2D, QDense, binary, quantized_bits
from tensorflow.keras import layers

from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.sim import graph
from hls4ml_reuse.config import ReusePruningConfigError
from hls4ml_reuse.passes.keras_replay import ReusePruningWarning

SPELLINGS = {'string': 'binary', 'default': binary(), 'auto_po2': binary(alpha='auto_po2'), 'one': binary(alpha=1)}
NO_QUANTIZERS = dict(beta_quantizer=None, gamma_quantizer=None, mean_quantizer=None, variance_quantizer=None)


def normalization(kind, name):
    if kind == 'qbn':
        return QBatchNormalization(name=name)
    if kind == 'qbn-plain':
        return QBatchNormalization(name=name, **NO_QUANTIZERS)
    return layers.BatchNormalization(name=name)


def randomize(model, seed):
    """Float kernels of varied magnitude (so auto scales differ per channel), random biases and statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, 'kernel'):
            layer.kernel.assign(rng.normal(0, rng.uniform(0.05, 1), layer.kernel.shape).astype(np.float32))
        if getattr(layer, 'bias', None) is not None:
            layer.bias.assign(rng.normal(0, 1.5, layer.bias.shape).astype(np.float32))
        if isinstance(layer, layers.BatchNormalization):
            randomize_batchnorm(layer, rng, rng.choice([1, 1, -1, 0], layer.gamma.shape[0]))
    return model


def mlp(quantizer, norm='qbn', activation='binary', last_quantizer=None, bias=False, seed=0):
    tf.keras.utils.set_random_seed(seed)
    bias_options = dict(use_bias=True, bias_quantizer=quantized_bits(8, 3)) if bias else dict(use_bias=False)
    inputs = layers.Input((30,), name='pixels')
    x = inputs
    for i, width in enumerate((24, 16)):
        x = QDense(width, kernel_quantizer=quantizer, name=f'fc{i}', **bias_options)(x)
        x = normalization(norm, f'bn{i}')(x)
        x = QActivation(activation, name=f'act{i}')(x)
    x = QDense(7, kernel_quantizer=last_quantizer or quantizer, name='logits', **bias_options)(x)
    return randomize(tf.keras.Model(inputs, x), seed)


def cnn(quantizer, norm='qbn', activation='binary', seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = layers.Input((9, 7, 2), name='pixels')
    x = QConv2D(6, 3, kernel_quantizer=quantizer, use_bias=False, name='conv0')(inputs)
    x = normalization(norm, 'bn0')(x)
    x = QActivation(activation, name='act0')(x)
    x = layers.MaxPooling2D(2, name='pool0')(x)
    x = QConv2D(5, 2, padding='same', kernel_quantizer=quantizer, bias_quantizer=quantized_bits(6, 2), name='conv1')(x)
    x = normalization(norm, 'bn1')(x)
    x = QActivation(activation, name='act1')(x)
    x = layers.Flatten(name='flatten')(x)
    x = QDense(4, kernel_quantizer=quantizer, use_bias=False, name='logits')(x)
    return randomize(tf.keras.Model(inputs, x), seed)


def convert_and_compare(model, out_dir, x, input_precision='ufixed<8,0>'):
    """C simulation with the flag on equals QKeras element for element, and equals the Python reference."""
    hls_model = conversion.convert(model, conversion.reuse_config(model, input_precision), out_dir)
    assert reuse_units(hls_model)
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    firmware = as_keras_values(hls_model, np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1))
    assert np.array_equal(firmware, keras), f'{np.count_nonzero(firmware != keras)} of {keras.size} outputs differ'
    reference, _ = graph.reference_forward(hls_model, x[:40])
    assert np.array_equal(as_keras_values(hls_model, reference), keras[:40])
    return hls_model


@pytest.mark.parametrize('norm', ['qbn', 'qbn-plain', 'bn'])
@pytest.mark.parametrize('spelling', list(SPELLINGS))
def test_mlp_spellings_and_normalizations(spelling, norm, out_dir):
    model = mlp(SPELLINGS[spelling], norm, seed=len(spelling) + len(norm))
    convert_and_compare(model, out_dir, pixels(300, 30, seed=3))


@pytest.mark.parametrize('activation', ['binary', 'binary_tanh'])
@pytest.mark.parametrize('norm', ['qbn', 'bn'])
def test_cnn_with_qbatchnorm_default_quantizer_and_biases(norm, activation, out_dir):
    model = cnn(binary(), norm, activation, seed=7)
    convert_and_compare(model, out_dir, pixels(200, 9 * 7 * 2, seed=4).reshape(-1, 9, 7, 2))


def test_quantized_biases_on_thresholded_and_raw_outputs(out_dir):
    model = mlp(binary(alpha='auto_po2'), 'bn', 'binary_tanh', bias=True, seed=11)
    hls_model = convert_and_compare(model, out_dir, pixels(300, 30, seed=5))
    assert 'ApplyAlpha' in [layer.class_name for layer in hls_model.get_layers()][-1:]


def test_binary_and_binary_tanh_differ_at_zero_and_both_agree(out_dir):
    """Means on reachable pre-activations: BN output exactly 0, where binary gives +1 and binary_tanh -1."""
    for activation in ('binary', 'binary_tanh'):
        model = mlp('binary', 'bn', activation, seed=13)
        for name in ('bn0', 'bn1'):
            bn = model.get_layer(name)
            gamma, beta, _, variance = bn.get_weights()
            n = len(beta)
            means = (np.arange(n) - n // 2).astype(np.float32) * (0.25 if name == 'bn0' else 2)
            bn.set_weights([np.abs(gamma) + 0.1, np.zeros_like(beta), means, variance])
        convert_and_compare(model, f'{out_dir}/{activation}', pixels(300, 30, seed=6))


def test_auto_alpha_is_replayed_with_a_named_caveat(out_dir):
    model = mlp(binary(alpha='auto'), 'qbn', last_quantizer=binary(alpha=1), seed=17)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        convert_and_compare(model, out_dir, pixels(300, 30, seed=7))
    messages = [str(w.message) for w in caught if issubclass(w.category, ReusePruningWarning)]
    assert any("'fc0'" in m and 'auto' in m for m in messages)


def auto_alpha_into_activation(k: int):
    """The fuzz's shrunk counterexample, behind a binary layer of k units: QDense(alpha='auto') with no bias and
    no BatchNorm straight into a binary activation."""
    tf.keras.utils.set_random_seed(3)
    inputs = layers.Input((12,), name='pixels')
    x = QDense(k, kernel_quantizer=binary(alpha=1), use_bias=False, name='fc_in')(inputs)
    x = QActivation('binary(alpha=1)', name='act_in')(normalization('bn', 'bn_in')(x))
    x = QDense(10, kernel_quantizer=binary(alpha='auto'), use_bias=False, name='fc0')(x)
    x = QActivation('binary(alpha=1)', name='act0')(x)
    return randomize(tf.keras.Model(inputs, x), 3)


def test_auto_alpha_straight_into_the_activation_is_refused_where_a_zero_sum_is_reachable(out_dir):
    """K even: at s = 0 Keras outputs the sign of a float32 rounding residue (TensorFlow's summation order)."""
    model = auto_alpha_into_activation(10)
    with pytest.raises(ReusePruningConfigError, match="'fc0'.*alpha='auto'.*'act0'.*summation order"):
        conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)


def test_auto_alpha_into_the_activation_converts_where_no_sum_ties(out_dir):
    """Bits in and K odd: no sum is 0, every sign is certain."""
    model = auto_alpha_into_activation(11)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    x = pixels(400, 12, seed=5)
    keras = model.predict(x, verbose=0)
    assert len(np.unique(keras, axis=0)) > 1
    assert np.array_equal(as_keras_values(hls_model, np.asarray(hls_model.predict(x))).reshape(keras.shape), keras)


def test_auto_alpha_on_a_raw_output_is_refused(out_dir):
    model = mlp(binary(alpha=1), 'bn', last_quantizer=binary(alpha='auto'), seed=19)
    with pytest.raises(ReusePruningConfigError, match="'logits'.*not a power of two"):
        conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)


@pytest.mark.parametrize('default_precision', [None, 'fixed<32,12>'])
def test_wide_layer_under_default_precision_converts_with_a_caveat(default_precision, out_dir):
    """1500 inputs of +-1 typed fixed<16,6> (or <32,12>): sums beyond 2^24 steps; exact on the real data."""
    tf.keras.utils.set_random_seed(23)
    inputs = layers.Input((1500,), name='pm1')
    x = QDense(32, kernel_quantizer='binary', use_bias=False, name='wide')(inputs)
    x = layers.BatchNormalization(name='bn')(x)
    x = QActivation('binary', name='act')(x)
    model = randomize(tf.keras.Model(inputs, QDense(5, kernel_quantizer='binary', name='logits')(x)), 23)
    options = {} if default_precision is None else {'default_precision': default_precision}
    config = hls4ml.utils.config_from_keras_model(model, granularity='name', **options)
    config['Model']['ReusePruning'] = True
    x_pm1 = np.random.default_rng(24).choice([-1.0, 1.0], size=(100, 1500)).astype(np.float32)
    with pytest.warns(ReusePruningWarning, match="'wide'.*2\\^24"):
        hls_model = conversion.convert(model, config, out_dir)
    keras = model.predict(x_pm1, verbose=0)
    assert np.array_equal(as_keras_values(hls_model, np.asarray(hls_model.predict(x_pm1))).reshape(keras.shape), keras)


def test_overlapping_pooling_is_streamed_exactly(out_dir):
    """hls4ml's io_stream pooling asserts on it; the plugin streams it (ReuseMaxPool2D, tests/test_pooling.py)."""
    tf.keras.utils.set_random_seed(29)
    inputs = layers.Input((9, 9, 1), name='pixels')
    x = QConv2D(4, 3, kernel_quantizer='binary', use_bias=False, name='conv')(inputs)
    x = QActivation('binary', name='act')(layers.BatchNormalization(name='bn')(x))
    x = layers.MaxPooling2D(3, strides=2, name='overlap')(x)
    model = tf.keras.Model(inputs, QDense(3, kernel_quantizer='binary', name='logits')(layers.Flatten()(x)))
    hls_model = convert_and_compare(randomize(model, 29), out_dir, pixels(200, 81, seed=30).reshape(200, 9, 9, 1))
    assert hls_model.graph['overlap'].class_name == 'ReuseMaxPool2D'


def test_activation_that_is_not_plus_minus_one_is_refused(out_dir):
    tf.keras.utils.set_random_seed(31)
    inputs = layers.Input((10,), name='pixels')
    x = QDense(6, kernel_quantizer='binary', use_bias=False, name='fc')(inputs)
    x = QActivation('binary(alpha=2)', name='act2')(layers.BatchNormalization(name='bn')(x))
    model = tf.keras.Model(inputs, QDense(3, kernel_quantizer='binary', name='logits')(x))
    with pytest.raises(ReusePruningConfigError, match="'act2'.*-1/\\+1"):
        conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)


def binarized_input_mlp(activation, seed):
    """Input -> QActivation (binarizes the pixels, not fused into any unit) -> binary MLP."""
    tf.keras.utils.set_random_seed(seed)
    inputs = layers.Input((30,), name='values')
    x = QActivation(activation, name='binarize')(inputs)
    x = QDense(12, kernel_quantizer='binary', use_bias=False, name='fc0')(x)
    x = QActivation('binary', name='act0')(layers.BatchNormalization(name='bn0')(x))
    return randomize(tf.keras.Model(inputs, QDense(4, kernel_quantizer='binary', name='logits')(x)), seed)


def test_standalone_binary_activation_is_exact_at_zero(out_dir):
    model = binarized_input_mlp('binary', seed=37)
    x = np.random.default_rng(38).integers(-2, 3, size=(300, 30)).astype(np.float32)  # many exact zeros
    convert_and_compare(model, out_dir, x, input_precision='int<3>')


def test_standalone_binary_tanh_is_refused_at_conversion(out_dir):
    model = binarized_input_mlp('binary_tanh', seed=39)
    with pytest.raises(ReusePruningConfigError, match="'binarize'.*QActivation\\('binary'\\)"):
        conversion.convert(model, conversion.reuse_config(model, 'int<3>'), out_dir)
