"""Max pooling hls4ml's io_stream pooling cannot compute (overlapping, gapped, 'same'-padded) becomes our streamed
ReuseMaxPool2D (ReuseMaxPool1D): C simulation equals QKeras exactly on bits and on fixed-point values, in both shapes, on Vivado and
Vitis, and equals the Python reference; the pooling neither computes is refused by name."""

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import binary_cnn, conv, maxpool, pixels, randomize_batchnorm, raw_conv
from qkeras import QActivation, QDense, binary
from tensorflow.keras import layers
from test_conv2d import check_exact

from hls4ml_reuse.cli import conversion
from hls4ml_reuse.config import ReusePruningConfigError
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.sim import graph

IMAGES = 300

CASES = {
    # name: (input shape, spec); every pooling here is one hls4ml cannot stream
    'overlap-3s2-valid': ((9, 9, 2), [conv(4, 3), maxpool(3, 2), conv(5, 2), ('flatten',), ('dense', 3)]),
    'overlap-3s2-same': ((9, 9, 2), [conv(4, 3), maxpool(3, 2, 'same'), conv(5, 2), ('flatten',), ('dense', 3)]),
    'overlap-2s1-valid': ((8, 7, 2), [conv(4, 3), maxpool(2, 1), conv(3, 3), ('flatten',), ('dense', 3)]),
    'tiling-2-same-odd-map': ((8, 8, 1), [conv(4, 2), maxpool(2, 2, 'same'), ('flatten',), ('dense', 4)]),
    'gapped-2s3-valid': ((10, 10, 2), [conv(4, 3), maxpool(2, 3), conv(4, 2), ('flatten',), ('dense', 3)]),
    'non-square-same': ((9, 8, 2), [conv(4, 3, 1, 'same'), maxpool((3, 2), (2, 3), 'same'), ('flatten',), ('dense', 3)]),
    # a binary-input convolution (window reuse) before the pooling
    'after-window-reuse': (
        (9, 9, 2),
        [conv(4, 3, 1, 'same'), conv(6, 3, 1, 'same'), maxpool(3, 2, 'same'), ('flatten',), ('dense', 3)],
    ),
    'model-output': ((9, 9, 1), [conv(4, 3), maxpool(3, 2, 'same')]),
    # fixed-point values pooled: raw sums of pixels (signed: padding must not win), integer sums, pixels themselves
    'raw-fixed-point-sums': ((9, 9, 2), [raw_conv(4, 3), maxpool(3, 2, 'same'), ('flatten',), ('dense', 3)]),
    'raw-integer-sums-output': ((8, 8, 2), [conv(4, 3), raw_conv(3, 2), maxpool(2, 1, 'same')]),
    'pixels-pooled-first': ((9, 9, 2), [maxpool(3, 2, 'same'), conv(4, 2), ('flatten',), ('dense', 3)]),
}


WINDOW_REUSE = {'after-window-reuse'}  # cases converted with ReusePruningWindowReuse: true


def convert(shape, spec, out_dir, backend='Vivado', **settings):
    model = binary_cnn(shape, spec, seed=5)
    config = conversion.reuse_config(model, 'ufixed<8,0>', **settings)
    return model, conversion.convert(model, config, out_dir, backend=backend)


def images(model, n=IMAGES, seed=6):
    shape = model.input_shape[1:]
    return pixels(n, int(np.prod(shape)), seed=seed).reshape((n, *shape))


def check_pooling_is_ours(hls_model, n_pools):
    classes = [layer.class_name for layer in hls_model.get_layers()]
    ours = classes.count('ReuseMaxPool2D') + classes.count('ReuseMaxPool1D')
    assert ours == n_pools and not {'Pooling1D', 'Pooling2D'} & set(classes), classes


@pytest.mark.parametrize('shape', ['folded', 'unrolled'])
@pytest.mark.parametrize('name', list(CASES))
def test_max_pooling_equals_qkeras_and_reference(name, shape, out_dir):
    model, hls_model = convert(*CASES[name], out_dir, ReusePruningShape=shape, ReusePruningWindowReuse=name in WINDOW_REUSE)
    check_pooling_is_ours(hls_model, 1)
    assert all(unit.get_attr('unrolled') == (shape == 'unrolled') for unit in reuse_units(hls_model))
    check_exact(model, hls_model, images(model))


@pytest.mark.parametrize('shape', ['folded', 'unrolled'])
@pytest.mark.parametrize('name', ['overlap-3s2-same', 'gapped-2s3-valid', 'raw-fixed-point-sums'])
def test_max_pooling_on_vitis(name, shape, out_dir):
    model, hls_model = convert(*CASES[name], out_dir, backend='Vitis', ReusePruningShape=shape)
    check_pooling_is_ours(hls_model, 1)
    check_exact(model, hls_model, images(model, seed=7))


def signed_values(n, shape, seed):
    """Values k/32 in [-4, 4), exact in fixed<8,3>; every other image all negative (a padded 0 would win there)."""
    rng = np.random.default_rng(seed)
    high = np.where(np.arange(n) % 2 == 0, 128, 0).reshape(n, *(1,) * len(shape))
    return (rng.integers(-128, high, size=(n, *shape)) / 32).astype(np.float32)


def check_pooling_only(model, precision, values, out_dir, n_pools):
    """A model of poolings alone: the firmware and the reference equal Keras; some maxima are negative."""
    hls_model = conversion.convert(model, conversion.reuse_config(model, precision), out_dir)
    check_pooling_is_ours(hls_model, n_pools)
    keras = model.predict(values, verbose=0).reshape(len(values), -1)
    firmware = np.asarray(hls_model.predict(values)).reshape(len(values), -1)
    assert np.array_equal(firmware, keras), f'{np.count_nonzero(firmware != keras)} of {keras.size} outputs differ'
    assert np.array_equal(graph.reference_forward(hls_model, values)[0], firmware)
    assert np.any(keras < 0), 'degenerate case: no negative maximum, so padding with 0 would pass too'


POOL_CHAINS = {
    # name: (input shape, [(pool, strides, padding)]): the pools follow each other, each on the last one's map
    'overlap-gap-same': ((13, 11, 3), [(3, 2, 'same'), (2, 1, 'valid'), (2, 3, 'same')]),
    'wide-pools': ((9, 12, 2), [(4, 1, 'same'), ((1, 3), (2, 2), 'valid'), ((3, 1), (1, 2), 'same')]),
    'pool-larger-than-stride-on-edge': ((5, 4, 1), [(3, 3, 'same'), (2, 1, 'same')]),
}


@pytest.mark.parametrize('name', list(POOL_CHAINS))
def test_pooling_geometries_on_signed_values(name, out_dir):
    """Pooling only, on signed fixed-point inputs: the firmware and the reference equal Keras on every geometry."""
    shape, pools = POOL_CHAINS[name]
    tf.keras.utils.set_random_seed(1)
    inputs = layers.Input(shape, name='values')
    x = inputs
    for i, (size, strides, padding) in enumerate(pools):
        x = layers.MaxPooling2D(size, strides=strides, padding=padding, name=f'pool{i}')(x)
    model = tf.keras.Model(inputs, x)
    check_pooling_only(model, 'fixed<8,3>', signed_values(200, shape, seed=2), out_dir, n_pools=len(pools))


def test_flag_off_keeps_hls4ml_pooling(out_dir):
    """Without ReusePruning the conversion is stock hls4ml's, its Pooling2D included (not run: hls4ml asserts)."""
    model = binary_cnn(*CASES['overlap-3s2-same'], seed=5)
    config = conversion.base_config(model, 'ufixed<8,0>')
    hls_model = hls4ml_convert(model, config, out_dir)
    assert [layer.class_name for layer in hls_model.get_layers()].count('Pooling2D') == 1


def hls4ml_convert(model, config, out_dir):
    return hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, io_type='io_stream', backend='Vivado', output_dir=out_dir
    )


def test_overlapping_average_pooling_is_refused(out_dir):
    inputs = layers.Input((7, 7, 1), name='pixels')
    x = layers.AveragePooling2D(3, strides=2, name='avg')(inputs)
    x = QDense(2, kernel_quantizer=binary(alpha=1), use_bias=False, name='logits')(layers.Flatten(name='flatten')(x))
    model = tf.keras.Model(inputs, x)
    with pytest.raises(ReusePruningConfigError, match="'avg'.*max pooling only"):
        conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)


def test_max_pooling_1d_on_signed_values(out_dir):
    inputs = layers.Input((13, 3), name='values')
    x = layers.MaxPooling1D(3, strides=2, padding='same', name='pool0')(inputs)
    x = layers.MaxPooling1D(2, strides=3, name='pool1')(layers.MaxPooling1D(4, strides=1, padding='same')(x))
    model = tf.keras.Model(inputs, x)
    check_pooling_only(model, 'fixed<8,3>', signed_values(200, (13, 3), seed=3), out_dir, n_pools=3)


def test_max_pooling_1d_between_dense_units(out_dir):
    """Dense bits reshaped to (steps, channels), pooled overlapping and padded, then binary logits."""
    tf.keras.utils.set_random_seed(8)
    inputs = layers.Input((12,), name='pixels')
    x = QDense(24, kernel_quantizer=binary(alpha=1), use_bias=False, name='fc0')(inputs)
    x = QActivation('binary(alpha=1)', name='sign0')(layers.BatchNormalization(name='bn0')(x))
    x = layers.MaxPooling1D(3, strides=2, padding='same', name='pool1d')(layers.Reshape((8, 3), name='steps')(x))
    x = QDense(4, kernel_quantizer=binary(alpha=1), use_bias=False, name='logits')(layers.Flatten(name='flatten')(x))
    model = tf.keras.Model(inputs, x)
    randomize_batchnorm(model.get_layer('bn0'), np.random.default_rng(8))
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    assert hls_model.graph['pool1d'].class_name == 'ReuseMaxPool1D'
    check_exact(model, hls_model, pixels(IMAGES, 12, seed=9))


def test_max_pooling_with_the_flag_off_for_it_is_refused(out_dir):
    model = binary_cnn(*CASES['overlap-3s2-same'], seed=5)
    config = conversion.reuse_config(model, 'ufixed<8,0>')
    config['LayerName']['maxpool1']['ReusePruning'] = False
    with pytest.raises(ReusePruningConfigError, match="'maxpool1'.*ReusePruning is off"):
        conversion.convert(model, config, out_dir)
