"""More QKeras idioms (issue 16): each converts exactly with ReusePruning on, or is refused by name at conversion.

Every case goes the user's way: ``config_from_keras_model(granularity='name')``, ``ReusePruning`` at Model level
(or on one layer), ``convert_from_keras_model`` + ``compile()`` + ``predict()``, and compares with QKeras
``model.predict`` by integer equality on every output of every image. A refusal must be a
ReusePruningConfigError whose message names the layer to change.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from models import pixels
from qkeras import QActivation, QConv2D, QDense, binary, quantized_bits, ternary
from qkeras.quantizers import binary_tanh
from tensorflow.keras import layers

from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.config import ReusePruningConfigError
from hls4ml_reuse.ir.layers import reuse_units

N_IMAGES = 120
MIN_DISTINCT_OUTPUTS = 8  # a model must not give (nearly) the same output on every image
SHAPE = (10, 10, 2)


def randomize(model, seed, quantiles=(0.25, 0.75)):
    """Float kernels and biases, then BatchNorm statistics fitted to what reaches each BatchNorm.

    Means sit between the `quantiles` of the channel's pre-activations on calibration images (so outputs vary),
    gammas are positive, negative or zero.
    """
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, 'kernel', None) is not None:
            layer.kernel.assign(rng.normal(0, rng.uniform(0.05, 1), layer.kernel.shape).astype(np.float32))
        if getattr(layer, 'bias', None) is not None:
            layer.bias.assign(rng.normal(0, 1.5, layer.bias.shape).astype(np.float32))
    calibration = images(seed + 1000, model.input_shape[1:], n=64)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            seen = tf.keras.Model(model.inputs, layer.input).predict(calibration, verbose=0)
            calibrate_batchnorm(layer, seen, rng, quantiles)
    return model


def calibrate_batchnorm(layer, seen, rng, quantiles):
    seen = seen.reshape(-1, seen.shape[-1])
    n = seen.shape[-1]
    gamma = (rng.normal(1, 0.3, n) * rng.choice([1, 1, -1, 0], n)).astype(np.float32)
    quantiles = rng.uniform(*quantiles, n)
    quantiles = np.where(gamma < 0, 1 - quantiles, quantiles)  # the same share of +1 whatever the scale's sign
    mean = np.array([np.quantile(seen[:, c], quantiles[c]) for c in range(n)], dtype=np.float32)
    variance = (seen.var(axis=0) * rng.uniform(0.5, 2, n) + 1e-3).astype(np.float32)
    beta = rng.normal(0, 0.2, n).astype(np.float32)
    layer.set_weights([gamma, beta, mean, variance])


def images(seed, shape=SHAPE, n=N_IMAGES):
    return pixels(n, int(np.prod(shape)), seed).reshape(n, *shape)


def binarized(x, name, activation='binary'):
    x = layers.BatchNormalization(name=f'bn_{name}')(x)
    return QActivation(activation, name=f'act_{name}')(x)


def conv_block(x, name, filters=4, kernel=3, quantizer='binary', **options):
    """QConv2D -> BatchNormalization -> binary activation."""
    return binarized(QConv2D(filters, kernel, kernel_quantizer=quantizer, use_bias=False, name=name, **options)(x), name)


def logits(x, n=3):
    return QDense(n, kernel_quantizer='binary', use_bias=False, name='logits')(x)


def build(seed, body, shape=SHAPE, quantiles=(0.25, 0.75)):
    """A seeded model: Input 'pixels' -> body(x) -> outputs, with randomized weights and statistics."""
    tf.keras.utils.set_random_seed(seed)
    inputs = layers.Input(shape, name='pixels')
    return randomize(tf.keras.Model(inputs, body(inputs)), seed, quantiles)


# --- the idioms ----------------------------------------------------------------------------------------------------


def quantized_bits_1_kernels(seed):
    """quantized_bits(1, 0, alpha=1) kernels: QKeras gives -1 / +1 (+1 at 0), a binary kernel by another name."""
    quantizer = quantized_bits(1, 0, alpha=1)

    def body(x):
        x = conv_block(x, 'conv0', quantizer=quantizer)
        x = conv_block(x, 'conv1', quantizer=quantizer)
        return QDense(3, kernel_quantizer=quantizer, use_bias=False, name='logits')(layers.Flatten()(x))

    return build(seed, body)


def quantized_bits_1_mlp(seed):
    quantizer = quantized_bits(1, 0, alpha=1)

    def body(x):
        x = binarized(QDense(12, kernel_quantizer=quantizer, use_bias=False, name='fc0')(x), 'fc0')
        return QDense(4, kernel_quantizer=quantizer, use_bias=False, name='logits')(x)

    return build(seed, body, shape=(30,))


def middle_dense(quantizer):
    def make(seed):
        def body(x):
            x = binarized(QDense(12, kernel_quantizer='binary', use_bias=False, name='fc0')(x), 'fc0')
            x = binarized(QDense(10, kernel_quantizer=quantizer, use_bias=False, name='middle')(x), 'middle')
            return logits(x)

        return build(seed, body, shape=(30,))

    return make


def middle_conv(quantizer):
    def make(seed):
        def body(x):
            x = conv_block(x, 'conv0')
            x = conv_block(x, 'middle', quantizer=quantizer)
            return logits(layers.Flatten()(x))

        return build(seed, body)

    return make


def global_pooling(pooling):
    """Over a 3 x 3 map whose bits are mostly -1 (BatchNorm means near the top), so the maximum varies."""

    def make(seed):
        body = lambda x: logits(pooling(name='global')(conv_block(x, 'conv0', filters=16, strides=3)))  # noqa: E731
        return build(seed, body, quantiles=(0.8, 0.95))

    return make


def residual_add(seed):
    def body(x):
        x = conv_block(x, 'conv0')
        a = conv_block(x, 'conv1', padding='same')
        b = conv_block(x, 'conv2', padding='same')
        return logits(layers.Flatten()(layers.Add(name='add')([a, b])))

    return build(seed, body)


def zero_padding_before_unit(seed):
    def body(x):
        x = conv_block(x, 'conv0')
        x = layers.ZeroPadding2D(1, name='pad')(x)
        return logits(layers.Flatten()(conv_block(x, 'conv1')))

    return build(seed, body)


def zero_padding_asymmetric(seed):
    def body(x):
        x = conv_block(x, 'conv0')
        x = layers.ZeroPadding2D(((1, 0), (0, 1)), name='pad')(x)
        return logits(layers.Flatten()(conv_block(x, 'conv1', padding='same')))

    return build(seed, body)


def zero_padding_before_pooling(seed):
    def body(x):
        x = conv_block(x, 'conv0')
        x = layers.ZeroPadding2D(1, name='pad')(x)
        return logits(layers.Flatten()(layers.MaxPooling2D(2, name='pool')(x)))

    return build(seed, body)


def pool_before_batchnorm(seed):
    def body(x):
        x = QConv2D(4, 3, kernel_quantizer='binary', use_bias=False, name='conv0')(x)
        x = binarized(layers.MaxPooling2D(2, name='pool')(x), 'conv0')
        return logits(layers.Flatten()(x))

    return build(seed, body)


def dilated(seed):
    return build(seed, lambda x: logits(layers.Flatten()(conv_block(conv_block(x, 'conv0'), 'conv1', dilation_rate=2))))


def grouped(seed):
    return build(seed, lambda x: logits(layers.Flatten()(conv_block(conv_block(x, 'conv0'), 'conv1', groups=2))))


def softmax_after(head):
    def make(seed):
        def body(x):
            x = layers.Flatten()(conv_block(x, 'conv0'))
            x = head(x)
            return layers.Activation('softmax', name='softmax')(x)

        return build(seed, body)

    return make


def binary_tanh_function(seed):
    def body(x):
        x = QConv2D(4, 3, kernel_quantizer='binary', use_bias=False, name='conv0')(x)
        x = QActivation(binary_tanh, name='act0')(layers.BatchNormalization(name='bn0')(x))
        return logits(layers.Flatten()(x))

    return build(seed, body)


def keras_activation_with(quantizer):
    def make(seed):
        def body(x):
            x = QConv2D(4, 3, kernel_quantizer='binary', use_bias=False, name='conv0')(x)
            x = layers.Activation(quantizer, name='act0')(layers.BatchNormalization(name='bn0')(x))
            return logits(layers.Flatten()(x))

        return build(seed, body)

    return make


def permute_between(order):
    def make(seed):
        def body(x):
            x = layers.Permute(order, name='permute')(conv_block(x, 'conv0', filters=5))
            return logits(layers.Flatten()(conv_block(x, 'conv1')))

        return build(seed, body, shape=(10, 9, 2))

    return make


def zero_padding_on_pixels(seed):
    return build(seed, lambda x: logits(layers.Flatten()(conv_block(layers.ZeroPadding2D(1, name='pad')(x), 'conv0'))))


def mlp_for_one_layer_flag(seed):
    def body(x):
        x = binarized(QDense(16, kernel_quantizer='binary', use_bias=False, name='fc0')(x), 'fc0')
        x = binarized(QDense(12, kernel_quantizer='binary', use_bias=False, name='fc1')(x), 'fc1')
        return logits(x)

    return build(seed, body, shape=(30,))


def quantized_bits_1_activation(**options):
    def make(seed):
        def body(x):
            x = QConv2D(4, 3, kernel_quantizer='binary', use_bias=False, name='conv0')(x)
            x = QActivation(quantized_bits(1, 0, **options), name='act0')(layers.BatchNormalization(name='bn0')(x))
            return logits(layers.Flatten()(x))

        return build(seed, body)

    return make


def quantized_bits_1_on_inputs(seed):
    def body(x):
        x = QActivation(quantized_bits(1, 0, alpha=1), name='binarize')(x)
        return logits(layers.Flatten()(conv_block(x, 'conv0')))

    return build(seed, body)


# --- the check ----------------------------------------------------------------------------------------------------

EXACT = None  # expected outcome: every output equal to QKeras'

IDIOMS = {
    # name: (model builder, expected: EXACT or (layer the refusal names, a phrase of what to change))
    'quantized_bits_1_cnn': (quantized_bits_1_kernels, EXACT),
    'quantized_bits_1_mlp': (quantized_bits_1_mlp, EXACT),
    'quantized_bits_1_activation': (quantized_bits_1_activation(alpha=1), EXACT),
    'quantized_bits_1_unsigned_activation': (
        quantized_bits_1_activation(alpha=1, keep_negative=False),
        ('act0', 'quantized_bits(1, 0, alpha=1)'),
    ),
    'ternary_dense_between_units': (middle_dense(ternary(alpha=1)), ('middle', 'ReusePruning')),
    'bits4_dense_between_units': (middle_dense(quantized_bits(4, 0, alpha=1)), ('middle', 'ReusePruning')),
    'ternary_conv_between_units': (middle_conv(ternary(alpha=1)), ('middle', 'ReusePruning')),
    'bits4_conv_between_units': (middle_conv(quantized_bits(4, 0, alpha=1)), ('middle', 'ReusePruning')),
    'global_max_pooling': (global_pooling(layers.GlobalMaxPooling2D), EXACT),
    'global_average_pooling': (global_pooling(layers.GlobalAveragePooling2D), ('global', 'GlobalMaxPooling2D')),
    'residual_add': (residual_add, ('add', 'merge')),
    'zero_padding_before_unit': (zero_padding_before_unit, EXACT),
    'zero_padding_asymmetric': (zero_padding_asymmetric, EXACT),
    'zero_padding_on_pixels': (zero_padding_on_pixels, EXACT),
    'zero_padding_before_pooling': (zero_padding_before_pooling, ('pad', 'padding')),
    'pool_before_batchnorm': (pool_before_batchnorm, ('pool', 'BatchNormalization')),
    'dilated_conv': (dilated, ('conv1', 'dilation')),
    'grouped_conv': (grouped, ('conv1', 'groups')),
    'softmax_after_float_dense': (softmax_after(layers.Dense(3, name='dense')), ('dense', 'ReusePruning')),
    'softmax_after_binary_dense': (softmax_after(logits), ('softmax', 'softmax')),
    'binary_tanh_function_object': (binary_tanh_function, EXACT),
    'permute_rows_and_columns': (permute_between((2, 1, 3)), EXACT),
    'permute_channels_to_rows': (permute_between((3, 1, 2)), EXACT),
}


def convert(model, out_dir, config=None):
    config = config or conversion.reuse_config(model, 'ufixed<8,0>')
    return conversion.convert(model, config, out_dir)


def mismatches(hls_model, model, x) -> int:
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    assert len(np.unique(keras, axis=0)) >= MIN_DISTINCT_OUTPUTS, 'the model gives (nearly) constant outputs'
    firmware = as_keras_values(hls_model, np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1))
    assert firmware.shape == keras.shape
    return int(np.count_nonzero(firmware != keras))


def assert_exact_or_refused(model, x, out_dir, expected, config=None):
    if expected is EXACT:
        hls_model = convert(model, out_dir, config)
        assert reuse_units(hls_model)
        assert mismatches(hls_model, model, x) == 0
        return
    layer, phrase = expected
    with pytest.raises(ReusePruningConfigError) as refusal:
        convert(model, out_dir, config)
    assert f"'{layer}'" in str(refusal.value) and phrase in str(refusal.value), str(refusal.value)


@pytest.mark.parametrize('idiom', list(IDIOMS))
def test_idiom_is_exact_or_refused_by_name(idiom, out_dir):
    builder, expected = IDIOMS[idiom]
    model = builder(seed=len(idiom))
    x = images(seed=7, shape=model.input_shape[1:])
    assert_exact_or_refused(model, x, out_dir, expected)


def test_flag_on_one_layer_refuses_the_stock_binary_layers(out_dir):
    """The flag on fc1 only: fc0's BatchNorm + binary activation would run as hls4ml's inexact thresholds."""
    model = mlp_for_one_layer_flag(seed=41)
    config = conversion.base_config(model, 'ufixed<8,0>')
    config['LayerName']['fc1']['ReusePruning'] = True
    assert_exact_or_refused(model, images(seed=8, shape=(30,)), out_dir, ('fc0', 'ReusePruning'), config)


def test_quantized_bits_1_binarizing_the_inputs_is_exact(out_dir):
    """QActivation(quantized_bits(1, 0, alpha=1)) on integer inputs, many exactly 0 (QKeras gives +1 there)."""
    model = quantized_bits_1_on_inputs(seed=43)
    x = np.random.default_rng(9).integers(-2, 3, size=(N_IMAGES, *SHAPE)).astype(np.float32)
    config = conversion.reuse_config(model, 'int<3>')
    assert_exact_or_refused(model, x, out_dir, EXACT, config)


@pytest.mark.parametrize('quantizer', [binary(alpha=1), quantized_bits(2, 0, alpha=1)], ids=['binary', 'bits2'])
def test_keras_activation_holding_a_quantizer_is_refused_by_hls4mls_parser(quantizer, out_dir):
    """hls4ml 1.3.0's own Keras parser stops on it, naming the layer, before any plugin pass runs (we do not patch
    hls4ml's handlers): the user's fix is QActivation."""
    model = keras_activation_with(quantizer)(seed=5)
    with pytest.raises(Exception, match='layer "act0" \\(Activation\\)'):
        convert(model, out_dir)
