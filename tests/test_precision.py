"""Types a user sets on the layers a unit takes: refused when too narrow for its output, used when wide enough,
ignored by name where the unit never materialises them (passes/precision.py); hls4ml's defaults count as none.
"""

import json
import warnings

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import binary_cnn, binary_mlp, conv, pixels, randomize_batchnorm
from qkeras import QActivation, QConv2D, QDense, binary, quantized_bits
from tensorflow.keras import layers

from hls4ml_reuse import cli
from hls4ml_reuse.config import ReusePruningConfigError
from hls4ml_reuse.passes.keras_replay import ReusePruningWarning

N_IN = 24


def issue_model(seed=61):
    """The issue's Sequential model: d0 (binary QDense) -> BatchNorm -> binary -> d1 (raw binary QDense)."""
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([
        layers.Input((N_IN,)),
        QDense(16, kernel_quantizer=binary(alpha=1), use_bias=False, name='d0'),
        layers.BatchNormalization(name='bn'),
        QActivation(binary(alpha=1), name='act'),
        QDense(3, kernel_quantizer=binary(alpha=1), use_bias=False, name='d1'),
    ])  # fmt: skip
    randomize_batchnorm(model.get_layer('bn'), np.random.default_rng(seed))
    return model


def pm1(n, shape=(N_IN,), seed=62):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, *shape)).astype(np.float32)


def reuse_config(model, backend=None, granularity='name'):
    config = hls4ml.utils.config_from_keras_model(model, granularity=granularity, backend=backend)
    config['Model']['ReusePruning'] = True
    return config


def convert(model, config, out_dir):
    """Convert (Vivado, io_stream) recording our warnings: (hls_model, [warning texts])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ReusePruningWarning)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, io_type='io_stream', backend='Vivado', output_dir=out_dir, part='xc7z100ffg900-2'
        )
    return hls_model, [str(w.message) for w in caught if issubclass(w.category, ReusePruningWarning)]


def mismatches(model, hls_model, x) -> int:
    hls_model.compile()
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    firmware = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1)
    return int(np.count_nonzero(firmware != keras))


def kinds(hls_model):
    return [layer.class_name for layer in hls_model.get_layers()]


@pytest.mark.parametrize('result', ['fixed<2,2>', 'fixed<12,12>'])  # too narrow for d0's sums / wide enough
def test_result_type_of_a_fused_layer_is_ignored_by_name_and_the_chain_fuses(result, out_dir):
    """The issue's repro: d0's result type kept hls4ml's linear activation, so BatchNorm stayed stock (wrong)."""
    model = issue_model()
    config = reuse_config(model)
    config['LayerName']['d0']['Precision'] = {'result': result}
    hls_model, caught = convert(model, config, out_dir)
    assert kinds(hls_model) == ['Input', 'ReuseDense', 'ReuseDense']  # no Activation, no BatchNorm left
    assert len(caught) == 1 and caught[0].startswith(f"layer 'd0': Precision result {result} is ignored")
    assert mismatches(model, hls_model, pm1(200)) == 0


def test_an_output_type_too_narrow_is_refused_with_the_range(out_dir):
    model = issue_model()
    config = reuse_config(model)
    config['LayerName']['d1']['Precision'] = {'result': 'fixed<4,4>'}  # d1's sums of 16 bits span [-16, 16]
    with pytest.raises(ReusePruningConfigError) as refused:
        convert(model, config, out_dir)
    message = str(refused.value)
    assert message.startswith("layer 'd1': Precision result fixed<4,4> cannot hold the outputs")
    assert 'integers in [-16, 16]' in message and 'give at least int<6>' in message


def test_an_output_type_without_the_inputs_fraction_is_refused(out_dir):
    model = binary_mlp([8, 4], 12, seed=63)  # fixed-point pixels k/256 into fc0; fc1's sums are integers
    config = reuse_config(model)
    config['LayerName']['pixels']['Precision'] = {'result': 'ufixed<8,0>'}
    config['LayerName']['fc1']['Precision'] = {'result': 'fixed<20,16>'}
    hls_model, caught = convert(model, config, out_dir)  # fc1 sees bits: integers, so 4 fractional bits are plenty
    assert caught == [] and mismatches(model, hls_model, pixels(50, 12, seed=64)) == 0
    single = binary_mlp([4], 12, seed=65)  # one raw layer on pixels: outputs are multiples of 2^-8
    config = reuse_config(single)
    config['LayerName']['pixels']['Precision'] = {'result': 'ufixed<8,0>'}
    config['LayerName']['fc0']['Precision'] = {'result': 'fixed<20,16>'}
    with pytest.raises(
        ReusePruningConfigError,
        match=r"'fc0': Precision result fixed<20,16>.*multiples of 2\^-8 in \[-11.9531, 11.9531\].*fixed<13,5>",
    ):
        convert(single, config, out_dir + '_single')


def test_an_output_type_wide_enough_is_used(out_dir):
    model = issue_model()
    config = reuse_config(model)
    config['LayerName']['d1']['Precision'] = {'result': 'fixed<12,8>'}
    hls_model, caught = convert(model, config, out_dir)
    precision = hls_model.graph['d1'].get_output_variable().type.precision
    assert caught == [] and (precision.width, precision.integer, precision.signed) == (12, 8, True)
    assert kinds(hls_model) == ['Input', 'ReuseDense', 'ReuseDense']
    assert mismatches(model, hls_model, pm1(200)) == 0


@pytest.mark.parametrize('backend, granularity', [(None, 'name'), ('Vivado', 'name'), ('Vivado', 'type')])
def test_hls4mls_own_defaults_are_not_the_users(backend, granularity, out_dir):
    """config_from_keras_model writes auto, the quantizers' types, and the backend's table/accum defaults."""
    model = binary_cnn((8, 8, 1), [conv(4, 3), ('maxpool', 2), ('flatten',), ('dense', 3)], seed=66)
    config = reuse_config(model, backend, granularity)
    _, caught = convert(model, config, out_dir)
    assert caught == []


def test_types_the_unit_never_materialises_warn_once_each(out_dir):
    model = issue_model()
    config = reuse_config(model)
    config['LayerName']['d0']['Precision'].update(accum='fixed<6,6>', weight='fixed<8,2>')
    config['LayerName']['bn']['Precision'].update(scale='fixed<8,4>')
    config['LayerName']['act']['Precision'] = {'result': 'fixed<4,2>'}
    config['LayerType'] = {'Dense': {'Precision': {'accum': 'int<3>'}}}  # d0's own accum wins; d1 takes this
    hls_model, caught = convert(model, config, out_dir)
    expected = [('d0', 'accum fixed<6,6>'), ('d0', 'weight fixed<8,2>'), ('bn', 'scale fixed<8,4>'),
                ('act', 'result fixed<4,2>'), ('d1', 'accum int<3>')]  # fmt: skip
    assert len(caught) == len(expected), '\n'.join(caught)
    for layer, key in expected:
        assert sum(text.startswith(f"layer '{layer}': Precision {key} is ignored") for text in caught) == 1, caught
    assert mismatches(model, hls_model, pm1(200)) == 0


def test_conv_fused_types_are_ignored_and_exact(out_dir):
    model = binary_cnn((8, 8, 1), [conv(4, 3), ('maxpool', 2), ('flatten',), ('dense', 3)], seed=67)
    config = reuse_config(model)
    config['LayerName']['pixels']['Precision'] = {'result': 'ufixed<8,0>'}
    config['LayerName']['conv0']['Precision']['result'] = 'fixed<3,3>'  # kept hls4ml's linear activation
    config['LayerName']['maxpool1']['Precision'] = {'result': 'fixed<4,4>'}  # absorbed by pool exit
    hls_model, caught = convert(model, config, out_dir)
    assert kinds(hls_model)[:2] == ['Input', 'ReuseConv2D'] and 'Activation' not in kinds(hls_model)
    assert [text.split(' is ignored')[0] for text in caught] == [
        "layer 'conv0': Precision result fixed<3,3>",
        "layer 'maxpool1': Precision result fixed<4,4>",
    ]
    x = (np.random.default_rng(68).integers(0, 256, size=(40, 8, 8, 1)) / 256).astype(np.float32)
    assert mismatches(model, hls_model, x) == 0


def raw_conv_model(seed=69):
    """A raw binary convolution at the model output (its sums are the outputs)."""
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    inputs = layers.Input((6, 6, 2), name='pixels')
    x = QConv2D(4, 3, kernel_quantizer=binary(alpha=1), use_bias=False, name='conv0')(inputs)
    return tf.keras.Model(inputs, x)


@pytest.mark.parametrize('result, accepted', [('int<4>', False), ('fixed<10,7>', True)])  # 18 inputs in [-2, 1]
def test_conv_output_type_is_refused_or_used(result, accepted, out_dir):
    model = raw_conv_model()
    config = reuse_config(model)
    config['LayerName']['pixels']['Precision'] = {'result': 'fixed<2,2>'}
    config['LayerName']['conv0']['Precision']['result'] = result
    if not accepted:
        with pytest.raises(
            ReusePruningConfigError, match=r"'conv0': Precision result int<4>.*integers in \[-36, 36\].*int<7>"
        ):
            convert(model, config, out_dir)
        return
    hls_model, caught = convert(model, config, out_dir)
    precision = hls_model.graph['conv0'].get_output_variable().type.precision
    assert caught == [] and (precision.width, precision.integer) == (10, 7)
    assert mismatches(model, hls_model, pm1(30, (6, 6, 2))) == 0


@pytest.mark.parametrize('precision', ['fixed<2,2>', 'fixed<8,4>'])  # exact for +-1; wider: the same values
def test_a_precision_on_the_input_layer_is_used_without_a_word(precision, out_dir):
    model = issue_model()
    config = reuse_config(model)
    config['LayerName'][list(config['LayerName'])[0]]['Precision'] = {'result': precision}
    hls_model, caught = convert(model, config, out_dir)
    graph_input = next(iter(hls_model.get_layers()))
    assert caught == [] and str(graph_input.get_output_variable().type.precision).startswith(precision[:-1])
    assert mismatches(model, hls_model, pm1(200)) == 0


def biased_output_model(seed=70):
    """A raw binary QDense with a quantized bias at the output: the unit's sums go through an exact ApplyAlpha."""
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    inputs = layers.Input((12,), name='pixels')
    dense = QDense(3, kernel_quantizer=binary(alpha=1), bias_quantizer=quantized_bits(4, 2), name='fc0')
    model = tf.keras.Model(inputs, dense(inputs))
    dense.bias.assign(np.random.default_rng(seed).normal(0, 2, 3).astype(np.float32))
    return model


@pytest.mark.parametrize('result, accepted', [('fixed<12,6>', False), ('fixed<16,6>', True)])  # steps of 2^-8 needed
def test_an_output_type_after_the_exact_bias_is_refused_or_used(result, accepted, out_dir):
    model = biased_output_model()
    config = reuse_config(model)
    config['LayerName']['pixels']['Precision'] = {'result': 'ufixed<8,0>'}
    config['LayerName']['fc0']['Precision']['result'] = result
    if not accepted:
        with pytest.raises(ReusePruningConfigError, match=r"'fc0': Precision result fixed<12,6>.*multiples of 2\^-8"):
            convert(model, config, out_dir)
        return
    hls_model, caught = convert(model, config, out_dir)
    assert caught == [] and kinds(hls_model) == ['Input', 'ReuseDense', 'ApplyAlpha']
    precision = hls_model.graph['fc0_affine'].get_output_variable().type.precision
    assert (precision.width, precision.integer) == (16, 6)
    assert mismatches(model, hls_model, pixels(100, 12, seed=71)) == 0


def test_bench_of_a_yaml_with_a_fused_layers_type_is_exact_and_says_so(tmp_path, capsys):
    """The issue's repro through the command line: a YAML setting d0's result type, +-1 inputs from an .npz."""
    issue_model().save(tmp_path / 'model.h5')
    np.savez(tmp_path / 'data.npz', x=pm1(40))
    (tmp_path / 'model.yml').write_text(
        f'KerasModel: !qkeras_model {tmp_path / "model.h5"}\nIOType: io_stream\nHLSConfig:\n  Model:\n'
        '    Precision: fixed<16,6>\n    ReusePruning: true\n  LayerName:\n    d0:\n      Precision:\n'
        '        result: fixed<2,2>\n'
    )
    report = tmp_path / 'bench.json'
    argv = ['bench', tmp_path / 'model.yml', '--data', tmp_path / 'data.npz', '--json', report, '--out', tmp_path / 'out']
    argv += ['--images', '40', '--stock-images', '2', '--verify-images', '40', '--stock-seconds', '0']
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ReusePruningWarning)
        status = cli.main([str(arg) for arg in argv])
    assert status == 0, capsys.readouterr().err
    ours = [str(w.message) for w in caught if issubclass(w.category, ReusePruningWarning)]
    assert len(ours) == 1 and ours[0].startswith("layer 'd0': Precision result fixed<2,2> is ignored")
    assert json.loads(report.read_text())['mismatches'] == 0
