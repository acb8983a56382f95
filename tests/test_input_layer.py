"""The input type lands on the input layer as hls4ml names it, for Sequential and functional models alike.

A Sequential model's ``model.layers[0]`` is its first real layer, not its input: setting the input type there
replaced the first QDense's result type and broke exactness (issue 16). Each model style is checked through
the command line on an .h5 file (``bench --data``), in memory through the path the shipped examples take
(``conversion.reuse_config``), and through the YAML path (``Target.reuse_config`` with the type given).
"""

import json

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import randomize_batchnorm
from qkeras import QActivation, QDense, binary
from tensorflow.keras import layers

from hls4ml_reuse import cli
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.cli.targets import Target, resolve

N_IN = 24
INPUT_PRECISION = 'fixed<2,2>'  # the +-1 inputs: what bench infers from them
FAST = ['--images', '40', '--stock-images', '2', '--verify-images', '40', '--stock-seconds', '0']


def body():
    """The issue's model: a binary QDense, BatchNorm and binary activation, then a raw binary QDense."""
    return [
        QDense(16, kernel_quantizer=binary(alpha=1), use_bias=False),
        layers.BatchNormalization(),
        QActivation(binary(alpha=1)),
        QDense(3, kernel_quantizer=binary(alpha=1), use_bias=False),
    ]


def sequential_with_input():
    return tf.keras.Sequential([layers.Input((N_IN,)), *body()])


def sequential_with_input_shape():
    first, *rest = body()
    return tf.keras.Sequential([QDense(16, kernel_quantizer=binary(alpha=1), use_bias=False, input_shape=(N_IN,)), *rest])


def functional():
    inputs = layers.Input((N_IN,), name='values')
    x = inputs
    for layer in body():
        x = layer(x)
    return tf.keras.Model(inputs, x)


STYLES = {'sequential_input': sequential_with_input, 'sequential_input_shape': sequential_with_input_shape,
          'functional': functional}  # fmt: skip
EXPECTED_INPUT = {  # how Keras 2.14 names the input layer it writes into the model's JSON
    'sequential_input': lambda model, name: name.startswith('input_'),
    'sequential_input_shape': lambda model, name: name == f'{model.layers[0].name}_input',
    'functional': lambda model, name: name == 'values',
}


def build(style, seed=51):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    model = STYLES[style]()
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            randomize_batchnorm(layer, rng)
    return model


def pm1(n, seed=52):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, N_IN)).astype(np.float32)


def assert_only_the_input_typed(model, config, precision=INPUT_PRECISION):
    """The input layer's entry has the input type; every other entry is exactly what hls4ml wrote."""
    name = conversion.input_layer_name(model)
    defaults = hls4ml.utils.config_from_keras_model(model, granularity='name')['LayerName']
    assert list(defaults)[0] == name  # the first entry hls4ml writes is the input layer
    assert config['LayerName'][name]['Precision'] == {'result': precision}
    others = {key: entry['Precision'] for key, entry in config['LayerName'].items() if key != name}
    assert others == {key: entry['Precision'] for key, entry in defaults.items() if key != name}


@pytest.mark.parametrize('style', STYLES)
def test_input_layer_name_is_hls4mls(style):
    model = build(style)
    name = conversion.input_layer_name(model)
    assert EXPECTED_INPUT[style](model, name)
    assert name == model.input_names[0]
    assert (name == model.layers[0].name) == (style == 'functional')  # a Sequential's layers[0] is its first QDense


@pytest.mark.parametrize('style', STYLES)
def test_in_memory_conversion_types_the_input_only_and_is_exact(style, out_dir):
    model = build(style)
    config = conversion.reuse_config(model, INPUT_PRECISION)
    assert_only_the_input_typed(model, config)
    hls_model = conversion.convert(model, config, out_dir)
    graph_input = next(iter(hls_model.get_layers()))
    precision = graph_input.get_output_variable().type.precision
    assert graph_input.name == conversion.input_layer_name(model)
    assert (precision.width, precision.integer, precision.signed) == (2, 2, True)
    x = pm1(100)
    keras = model.predict(x, verbose=0)
    firmware = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(keras.shape)
    assert np.count_nonzero(firmware != keras) == 0


@pytest.mark.parametrize('style', STYLES)
def test_yaml_path_types_the_input_only(style):
    model = build(style)
    hls_config = hls4ml.utils.config_from_keras_model(model, granularity='name')
    hls_config['Model']['ReusePruning'] = True
    target = Target('yaml', model, pm1(1), None, INPUT_PRECISION, 0, hls_config, input_precision_given=True)
    assert_only_the_input_typed(model, target.reuse_config())


@pytest.mark.parametrize('style', STYLES)
def test_bench_on_an_h5_file_is_exact(style, tmp_path, capsys):
    build(style).save(tmp_path / 'model.h5')
    np.savez(tmp_path / 'data.npz', x=pm1(40))
    target = resolve(str(tmp_path / 'model.h5'), str(tmp_path / 'data.npz'))
    assert target.input_precision == INPUT_PRECISION
    assert_only_the_input_typed(target.model, target.reuse_config())
    report = tmp_path / 'bench.json'
    argv = ['bench', tmp_path / 'model.h5', '--data', tmp_path / 'data.npz', '--json', report, '--out', tmp_path / 'out']
    status = cli.main([str(arg) for arg in argv + FAST])
    err = capsys.readouterr().err
    assert status == 0, err
    result = json.loads(report.read_text())
    assert result['mismatches'] == 0 and result['reference_counts_equal_firmware'] is True


def test_shipped_example_types_its_input_layer():
    target = resolve('mlp-mnist')
    assert conversion.input_layer_name(target.model) == 'pixels'
    assert_only_the_input_typed(target.model, target.reuse_config(), 'ufixed<8,0>')
