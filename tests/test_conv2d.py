"""Binary Conv2D units (ReuseConv2D): hls4ml C simulation equals QKeras exactly, the firmware's outputs and counters
equal the Python reference's, and the layers a convolution unit cannot follow exactly are refused."""

import numpy as np
import pytest
import tensorflow as tf
from models import binary_cnn, conv, pixels, rebuild_with_synthesizable_path, sparse_pixels
from qkeras import QConv2D, QDense
from tensorflow.keras import layers

from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.sim import counters, graph
from hls4ml_reuse.config import ReusePruningConfigError

IMAGES = 64


def images(model, n=IMAGES, seed=1, sparse=False):
    """Pixels k/256; sparse: mostly zero, as MNIST's (zero skipping then skips most of the first layer)."""
    shape = model.input_shape[1:]
    return (sparse_pixels if sparse else pixels)(n, int(np.prod(shape)), seed=seed).reshape((n, *shape))


def unit_classes(hls_model):
    return {layer.name: layer.class_name for layer in reuse_units(hls_model)}


def expected_units(model):
    return {
        layer.name: 'ReuseConv2D' if isinstance(layer, QConv2D) else 'ReuseDense'
        for layer in model.layers
        if isinstance(layer, (QConv2D, QDense))
    }


def check_exact(model, hls_model, x):
    """Firmware == QKeras exactly; Python reference == firmware, outputs and counters. Returns the firmware outputs."""
    assert unit_classes(hls_model) == expected_units(model)
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    assert len(np.unique(keras)) > 1, 'degenerate case: constant outputs'
    counters.reset(hls_model)
    firmware = as_keras_values(hls_model, np.asarray(hls_model.predict(x)).reshape(len(x), -1))
    mismatches = np.argwhere(firmware != keras)
    assert np.array_equal(firmware, keras), f'{len(mismatches)} of {keras.size} outputs differ, first at {mismatches[:5]}'
    reference, reference_counts = graph.reference_forward(hls_model, x)
    assert np.array_equal(as_keras_values(hls_model, reference), firmware)
    assert graph.counts_match(hls_model, reference_counts)
    return firmware


CASES = {
    # name: (input shape, spec, scale_signs per BatchNorm, ReusePruning settings)
    # Specs end in a thresholded conv (the model's output, +-1) or in binary QDense logits (exact integers).
    'valid-3x3-one-channel': ((8, 8, 1), [conv(4, 3), conv(5, 3)], None, {}),
    'same-stride2-odd-k27': (
        (7, 5, 3),
        [conv(6, 3, 2, 'same'), conv(4, 3, 1, 'same'), ('flatten',), ('dense', 3)],
        None,
        {},
    ),
    'same-stride2-even-tile16': ((8, 6, 2), [conv(5, 3, 2, 'same'), conv(3, 1)], None, {'ReusePruningTile': 16}),
    '1x1-then-5x5-same-tile64': (
        (6, 6, 3),
        [conv(4, 1), conv(3, 5, 1, 'same'), ('flatten',), ('dense', 4)],
        None,
        {'ReusePruningTile': 64},
    ),
    'non-square-kernels': ((7, 6, 2), [conv(4, (3, 1), 1, 'same'), conv(3, (1, 3), (2, 1))], None, {}),
    'valid-stride2-5x5': ((9, 9, 1), [conv(3, 5, 2), conv(2, 3), ('flatten',), ('dense', 2)], None, {}),
    'negative-and-zero-bn-scale': (
        (6, 6, 3),
        [conv(6, 3), conv(4, 2, 2)],
        {'bn0': [1, -1, 0, -1, 1, -1], 'bn1': [-1, 0, 1, -1]},
        {'ReusePruningTile': 16},
    ),
    # 5x5 conv output pooled 2x2: the last row and column are dropped (not evaluated); 3x3 pooling too
    'pool-odd-size': ((7, 7, 1), [conv(6, 3), ('maxpool', 2), conv(5, 2), ('flatten',), ('dense', 3)], None, {}),
    'pool-3x3-negative-scales': (
        (8, 8, 2),
        [conv(6, 3, 1, 'same'), ('maxpool', 3), ('flatten',), ('dense', 3)],
        {'bn0': [1, -1, 0, -1, 1, -1]},
        {},
    ),
}
BANKED = {'ReusePruningLanes': 'banked'}
CASES.update(  # banked lanes (window reuse then off), with padding, pool exit and a tile wider than some windows
    {
        f'banked-{name}': (*CASES[name][:3], {**CASES[name][3], **BANKED})
        for name in ('same-stride2-odd-k27', 'same-stride2-even-tile16', 'pool-3x3-negative-scales', 'pool-odd-size')
    }
)


@pytest.mark.parametrize('name', list(CASES))
def test_conv_units_equal_qkeras_and_reference(name, out_dir):
    shape, spec, scale_signs, settings = CASES[name]
    model = binary_cnn(shape, spec, seed=3, scale_signs=scale_signs)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>', **settings), out_dir)
    check_exact(model, hls_model, images(model, seed=4))


@pytest.mark.parametrize(
    'name',
    [
        'same-stride2-odd-k27',
        'negative-and-zero-bn-scale',
        'pool-3x3-negative-scales',
        'banked-same-stride2-odd-k27',
        'banked-pool-3x3-negative-scales',
    ],
)
def test_zero_skipping_on_sparse_images(name, out_dir):
    """Mostly-zero images: the first conv skips its zero inputs (and padding), exactly, counted as the reference."""
    shape, spec, scale_signs, settings = CASES[name]
    model = binary_cnn(shape, spec, seed=3, scale_signs=scale_signs)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>', **settings), out_dir)
    check_exact(model, hls_model, images(model, seed=4, sparse=True))


def test_thresholds_on_reachable_sums(out_dir):
    """gamma = +-1, beta = 0 and each mean set to the sum its convolution reaches most often on the test images:
    pre-activations that tie with the threshold must binarize as in QKeras."""
    model = binary_cnn((6, 6, 2), [conv(4, 3, 1, 'same'), conv(4, 3)], seed=6)
    x = images(model, seed=7)
    for i in range(2):
        # conv0 sums pixels k/256 and padding zeros (exact in float32); conv1 sums 36 inputs +-1 (even integers).
        sums = tf.keras.Model(model.input, model.get_layer(f'conv{i}').output).predict(x, verbose=0).reshape(-1, 4)
        mean = np.empty(4, np.float32)
        for c in range(4):
            values, hits = np.unique(sums[:, c], return_counts=True)
            mean[c] = values[np.argmax(hits)]
        bn = model.get_layer(f'bn{i}')
        _, beta, _, variance = bn.get_weights()
        bn.set_weights([np.array([1, -1, 1, -1], np.float32), np.zeros_like(beta), mean, variance])
        ties = np.sum(sums == mean, axis=0)
        assert np.all(ties > 0), f'bn{i}: not every channel hits its threshold exactly ({ties})'
        if i == 0:
            assert np.any(mean * 256 % 256 != 0), 'conv0 thresholds should include fractional sums'
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    check_exact(model, hls_model, x)


@pytest.mark.parametrize('tail', [('flatten',), ('maxpool', 2)])
def test_thresholded_conv_output_through_flatten_or_pooling(tail, out_dir):
    """The model's output is a Flatten or MaxPooling2D of a thresholded unit: QKeras gives +-1 there, not bits."""
    model = binary_cnn((8, 8, 1), [conv(4, 3), tail], seed=8)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    check_exact(model, hls_model, images(model, seed=9))


CNN = [conv(6, 3, 1, 'same'), ('maxpool', 2), conv(8, 3), ('flatten',), ('dense', 5)]


@pytest.mark.parametrize('early_exit', [True, False])
def test_small_cnn_end_to_end_with_and_without_pool_exit(early_exit, tmp_path):
    """The pooling absorbed (pool exit) or left to stock hls4ml: both exact, the absorbed one evaluates less."""
    model = binary_cnn((10, 10, 2), CNN, seed=11, scale_signs={'bn1': [1, -1, 1, 0, 1, -1, 1, 1]})
    x = images(model, n=100, seed=12)
    outputs, inputs_summed = {}, {}
    for pool_exit in (True, False):
        config = conversion.reuse_config(
            model, 'ufixed<8,0>', ReusePruningEarlyExit=early_exit, ReusePruningPoolExit=pool_exit
        )
        hls_model = conversion.convert(model, config, str(tmp_path / f'pool_exit_{pool_exit}'))
        classes = [layer.class_name for layer in hls_model.get_layers()]
        assert classes.count('Pooling2D') == (0 if pool_exit else 1)
        outputs[pool_exit] = check_exact(model, hls_model, x)
        inputs_summed[pool_exit] = counters.read(hls_model, hls_model.graph['conv0'])['inputs']
    assert np.array_equal(outputs[True], outputs[False])
    assert inputs_summed[True] < inputs_summed[False]


WINDOW_CNN = [
    conv(6, 3, 1, 'same'),
    conv(8, 3, 1, 'same'),
    ('maxpool', 2),
    conv(5, 3, 1, 'same'),
    ('flatten',),
    ('dense', 4),
]


def test_window_reuse_is_exact_and_evaluates_less(tmp_path):
    """Binary convolutions from their left neighbour's values: exact, fewer inputs; the pooling is then left to hls4ml."""
    model = binary_cnn((9, 9, 2), WINDOW_CNN, seed=21, scale_signs={'bn1': [1, -1, 1, 0, 1, -1, 1, 1]})
    x = images(model, n=40, seed=22)
    outputs, inputs_summed = {}, {}
    for window_reuse in (True, False):
        settings = {'ReusePruningWindowReuse': window_reuse, 'ReusePruningLanes': 'gathered'}  # as window reuse needs
        config = conversion.reuse_config(model, 'ufixed<8,0>', **settings)
        hls_model = conversion.convert(model, config, str(tmp_path / f'window_reuse_{window_reuse}'))
        units = {layer.name: layer.get_attr('unit') for layer in reuse_units(hls_model)}
        assert [name for name, unit in units.items() if unit.window_reuse] == (['conv1', 'conv2'] if window_reuse else [])
        classes = [layer.class_name for layer in hls_model.get_layers()]
        assert classes.count('Pooling2D') == (1 if window_reuse else 0)  # window reuse evaluates every channel
        outputs[window_reuse] = check_exact(model, hls_model, x)
        inputs_summed[window_reuse] = {name: counters.read(hls_model, hls_model.graph[name])['inputs'] for name in units}
    assert np.array_equal(outputs[True], outputs[False])
    assert inputs_summed[True]['conv0'] == inputs_summed[False]['conv0']  # pixels: no window reuse
    for name in ('conv1', 'conv2'):
        assert inputs_summed[True][name] < inputs_summed[False][name]


def test_average_pooling_after_a_conv_unit_is_refused(out_dir):
    model = binary_cnn((6, 6, 1), [conv(3, 3, 1, 'same'), ('avgpool', 2), ('flatten',)], seed=2)
    with pytest.raises(ReusePruningConfigError, match="'avgpool1'.*'conv0'"):
        conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)


def test_non_binary_conv_forced_on_is_refused(out_dir):
    inputs = layers.Input((6, 6, 1), name='pixels')
    x = layers.Conv2D(2, 3, use_bias=False, name='float_conv')(inputs)
    model = tf.keras.Model(inputs, layers.Flatten(name='flatten')(x))
    config = conversion.base_config(model, 'ufixed<8,0>')
    config['LayerName']['float_conv']['ReusePruning'] = True
    with pytest.raises(ReusePruningConfigError, match="'float_conv'.*not binary"):
        conversion.convert(model, config, out_dir)


@pytest.mark.parametrize(
    'spec, sparse, shape, lanes, window_reuse',
    [
        pytest.param(CNN, False, 'folded', 'gathered', False, id='pool-exit'),
        pytest.param(CNN, True, 'folded', 'gathered', False, id='pool-exit-zero-skip'),
        pytest.param(WINDOW_CNN, False, 'folded', 'gathered', True, id='window-reuse'),
        pytest.param(WINDOW_CNN, False, 'unrolled', 'gathered', False, id='unrolled'),
        pytest.param(CNN, True, 'folded', 'banked', False, id='banked-pool-exit-zero-skip'),
        pytest.param(WINDOW_CNN, False, 'folded', 'banked', False, id='banked-same-padding'),
    ],
)
def test_synthesizable_path_equals_fast_path(spec, sparse, shape, lanes, window_reuse, out_dir):
    """The C-simulation fast path (packed bits, plain integers) and the synthesizable one: same outputs and counters.

    CNN pools after a pixel convolution (pool exit, zero skipping); WINDOW_CNN has 'same' binary convolutions with
    window reuse (changes into and out of padding).
    """
    model = binary_cnn((10, 10, 2), spec, seed=13, scale_signs={'bn0': [1, -1, 0, 1, 1, -1]})
    config = conversion.reuse_config(
        model, 'ufixed<8,0>', ReusePruningShape=shape, ReusePruningLanes=lanes, ReusePruningWindowReuse=window_reuse
    )
    hls_model = conversion.convert(model, config, out_dir)
    assert all(layer.get_attr('unrolled') == (shape == 'unrolled') for layer in reuse_units(hls_model))
    assert any(layer.get_attr('unit').window_reuse for layer in reuse_units(hls_model)) == window_reuse
    assert all(layer.get_attr('banked') == (lanes == 'banked') for layer in reuse_units(hls_model))
    x = images(model, n=30, seed=14, sparse=sparse)
    runs = []
    for _ in range(2):
        counters.reset(hls_model)
        outputs = np.asarray(hls_model.predict(x))
        runs.append((outputs, [counters.read(hls_model, layer) for layer in reuse_units(hls_model)]))
        rebuild_with_synthesizable_path(hls_model)
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
