"""hls4ml's own binary models, written as hls4ml 1.3.0's tests write them, converted with ReusePruning.

- `binary_cnn`: the network of hls4ml's test/pytest/test_binary_cnn.py (QConv2D 'binary' with a quantized bias,
  QBatchNormalization, MaxPooling2D, a binary_tanh dense and a raw dense), default_precision fixed<32,12> and the
  per-layer ReuseFactors that test sets.
- `btnn`: the binary cases of test_qkeras.py::test_btnn (QDense binary() with a quantized_bits(5,2) bias straight
  into binary_tanh or binary(); cases 2 and 7), under config_from_keras_model defaults.

hls4ml's tests accept 1 % relative error (CNN) or 0.5 % wrong outputs (btnn); here every output must be equal.
Inputs are drawn as those tests draw them (uniform in [0, 1)) and put on the input type's grid (2^-10, as
test_binary_cnn does): hls4ml quantizes its input to that type while Keras would see the unrounded float.
"""

import warnings

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import randomize_batchnorm
from qkeras import QActivation, QBatchNormalization, QConv2D, QDense, binary, quantized_bits
from tensorflow.keras.layers import BatchNormalization, Flatten, Input, MaxPooling2D
from tensorflow.keras.regularizers import l2

from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.passes.keras_replay import ReusePruningWarning
from hls4ml_reuse.sim.encoding import as_keras_values

REUSE_FACTORS = {'conv2d_1': 9, 'conv2d_2': 36, 'conv2d_3': 72, 'q_dense_6': 2000, 'q_dense_7': 100}


def binary_cnn(statistics, seed=0):
    """test_binary_cnn.py's model; statistics 'untrained' as there, or 'random' (moving statistics a training
    run could leave, negative and zero gammas included)."""
    tf.keras.utils.set_random_seed(seed)
    x_in = Input(shape=(28, 28, 1))
    x = QConv2D(4, (3, 3), kernel_quantizer='binary', name='conv2d_1', kernel_regularizer=l2(0.0001), use_bias=True,
                bias_quantizer='quantized_bits(5,2)')(x_in)  # fmt: skip
    x = QBatchNormalization()(x)
    x = QActivation('binary', name='act1')(x)
    for name in ('conv2d_2', 'conv2d_3'):
        x = QConv2D(8, (3, 3), kernel_quantizer='binary', name=name, kernel_regularizer=l2(0.0001), use_bias=False)(x)
        x = QBatchNormalization()(x)
        x = QActivation('binary', name=f'act{name[-1]}')(x)
        x = MaxPooling2D(pool_size=(2, 2))(x)
    x = Flatten()(x)
    x = QDense(10, kernel_quantizer='binary', name='q_dense_6', use_bias=False)(x)
    x = QBatchNormalization()(x)
    x = QActivation('binary_tanh', name='act4')(x)
    x = QDense(10, kernel_quantizer='binary', activation='linear', name='q_dense_7', use_bias=False)(x)
    model = tf.keras.Model(inputs=x_in, outputs=x)
    if statistics == 'random':
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            if isinstance(layer, BatchNormalization):
                randomize_batchnorm(layer, rng, rng.choice([1, 1, 1, -1, 0], layer.gamma.shape[0]))
            if getattr(layer, 'bias', None) is not None and not isinstance(layer, BatchNormalization):
                layer.bias.assign(rng.normal(0, 1, layer.bias.shape).astype(np.float32))
    return model


def btnn(activation, use_batchnorm=False, seed=0):
    """test_qkeras.py's make_btnn with binary() weights: N=10 inputs, QDense(10), optional BN, activation."""
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential()
    model.add(QDense(10, input_shape=(10,), kernel_quantizer=binary(), bias_quantizer=quantized_bits(5, 2),
                     name='dense'))  # fmt: skip
    if use_batchnorm:
        model.add(BatchNormalization(name='bn'))
    model.add(QActivation(activation=activation))
    rng = np.random.default_rng(seed)
    model.layers[0].bias.assign(rng.normal(0, 1, 10).astype(np.float32))  # zero biases would hide the bias path
    if use_batchnorm:
        randomize_batchnorm(model.layers[1], rng)
    return model


def on_grid(x, frac_bits=10):
    return (np.round(x * 2**frac_bits) * 2.0**-frac_bits).astype(np.float32)


def convert(model, config, backend, out_dir, reuse_pruning=True):
    if reuse_pruning:
        config['Model']['ReusePruning'] = True
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ReusePruningWarning)  # fixed<32,12> inputs: the float32 caveat, by design
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, output_dir=out_dir, backend=backend, io_type='io_stream'
        )
    hls_model.compile()
    return hls_model


def assert_exact(model, hls_model, x):
    """Every output equal to Keras', binary outputs read as hls4ml's tests read them (0 = -1)."""
    units = [layer.name for layer in reuse_units(hls_model)]
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    firmware = as_keras_values(hls_model, np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1))
    assert np.array_equal(firmware, keras), f'{np.count_nonzero(firmware != keras)} of {keras.size} outputs differ'
    return units


@pytest.mark.parametrize(
    'backend,strategy,statistics',
    [
        ('Vivado', 'latency', 'untrained'),
        ('Vivado', 'resource', 'random'),
        ('Vitis', 'latency', 'random'),
        ('Vitis', 'resource', 'untrained'),
    ],
)
def test_hls4ml_binary_cnn_is_exact(backend, strategy, statistics, out_dir):
    model = binary_cnn(statistics)
    config = hls4ml.utils.config_from_keras_model(
        model, granularity='name', default_precision='fixed<32,12>', backend=backend
    )
    config['Model']['Strategy'] = strategy
    for name, reuse_factor in REUSE_FACTORS.items():
        config['LayerName'][name]['ReuseFactor'] = reuse_factor
    hls_model = convert(model, config, backend, out_dir)
    x = on_grid(np.random.default_rng(1).random((100, 28, 28, 1)))
    units = assert_exact(model, hls_model, x)
    assert units == ['conv2d_1', 'conv2d_2', 'conv2d_3', 'q_dense_6', 'q_dense_7']


@pytest.mark.parametrize('backend', ['Vivado', 'Vitis'])
@pytest.mark.parametrize('activation', ['binary_tanh', binary()], ids=['case2-binary_tanh', 'case7-binary'])
def test_hls4ml_btnn_binary_cases_are_exact(activation, backend, out_dir):
    model = btnn(activation)
    config = hls4ml.utils.config_from_keras_model(model, granularity='name', backend=backend)
    hls_model = convert(model, config, backend, out_dir)
    x = on_grid(np.random.default_rng(2).random((1000, 10)))
    assert assert_exact(model, hls_model, x) == ['dense']


@pytest.mark.parametrize('backend', ['Vivado', 'Vitis'])
@pytest.mark.parametrize('activation', ['binary_tanh', binary()], ids=['case2-binary_tanh', 'case7-binary'])
def test_hls4ml_btnn_passes_with_its_own_comparison(activation, backend, out_dir):
    """test_btnn's binary cases as hls4ml runs them (unrounded inputs, its is_xnor mapping and tolerance), flag on."""
    model = btnn(activation)
    config = hls4ml.utils.config_from_keras_model(model, granularity='name', backend=backend)
    hls_model = convert(model, config, backend, out_dir)
    x = np.random.default_rng(3).random((100, 10))
    y_hls = hls_model.predict(x)
    y_hls = np.where(y_hls == 0, -1, 1)  # test_btnn: "hls4ml may return XNOR binary" (is_xnor for cases 2 and 7)
    y_ker = model.predict(x, verbose=0)
    wrong = (y_hls != y_ker).ravel()
    assert sum(wrong) / len(wrong) < 0.005
