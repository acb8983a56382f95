"""The hls4ml-reuse command line: --data and --input-precision, exit codes, and one-line errors for bad inputs."""

import json

import numpy as np
import pytest
import tensorflow as tf
from models import binary_cnn, binary_mlp, conv, pixels
from tensorflow.keras import layers

from hls4ml_reuse import cli
from hls4ml_reuse.cli import bench, conversion
from hls4ml_reuse.sim import counters
from hls4ml_reuse.cli.targets import Target, resolve
from hls4ml_reuse.sim.counters import NoReuseUnitError
from hls4ml_reuse.cli.datasets import InputError, exact_precision, fractional_bits

FAST = ['--images', '12', '--stock-images', '2', '--verify-images', '6', '--stock-seconds', '0']
N_IN = 12


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A tiny binary MLP, a model with no binary layer, their .npz inputs, and files that are not what they claim."""
    folder = tmp_path_factory.mktemp('cli_files')
    binary_mlp([8, 4], N_IN, seed=41).save(folder / 'mlp.h5')
    inputs = layers.Input((N_IN,), name='pixels')
    tf.keras.Model(inputs, layers.Dense(3, use_bias=False, name='float_dense')(inputs)).save(folder / 'float.h5')
    x = pixels(12, N_IN, seed=42)
    np.savez(folder / 'x.npz', x=x)
    np.savez(folder / 'no_x.npz', inputs=x)
    np.savez(folder / 'wrong_shape.npz', x=x[:, :5])
    np.savez(folder / 'off_grid.npz', x=x + 0.1)
    rng = np.random.default_rng(43)
    for name in ('random.h5', 'random.yml', 'random.npz'):
        (folder / name).write_bytes(rng.bytes(2000))
    (folder / 'text.h5').write_text('not a model\n')
    (folder / 'folder.h5').mkdir()
    (folder / 'no_model.yml').write_text('HLSConfig:\n  Model:\n    ReusePruning: true\n')
    (folder / 'broken.yml').write_text('KerasModel: [unclosed\n')
    (folder / 'typo.yml').write_text(
        f'KerasModel: !qkeras_model {folder / "mlp.h5"}\nHLSConfig:\n  Model:\n    ReusePrunning: true\n'
    )
    return folder


def run_cli(capsys, *argv):
    """Exit status, stdout and the stderr lines of one command."""
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


@pytest.mark.parametrize(
    'model, data, message',
    [
        ('random.h5', None, 'not a readable Keras/QKeras .h5 model'),
        ('text.h5', None, 'not a readable Keras/QKeras .h5 model'),
        ('missing.h5', None, 'neither a shipped example'),
        ('folder.h5', None, 'is a directory'),
        ('random.yml', None, 'not a readable hls4ml YAML configuration'),
        ('broken.yml', None, 'not a readable hls4ml YAML configuration'),
        ('no_model.yml', None, 'KerasModel'),
        ('typo.yml', None, "unknown key 'ReusePrunning'; did you mean ReusePruning?"),
        ('mlp.h5', 'random.npz', 'not a readable .npz archive'),
        ('mlp.h5', 'missing.npz', 'no such file'),
        ('mlp.h5', 'no_x.npz', 'no array x'),
        ('mlp.h5', 'wrong_shape.npz', f'the model takes (n, {N_IN})'),
        ('mlp.h5', 'off_grid.npz', '--input-precision'),
    ],
)
def test_unusable_inputs_give_one_line_and_status_2(files, capsys, model, data, message):
    argv = ['bench', files / model, '--out', files / 'out'] + (['--data', files / data] if data else [])
    status, _, err = run_cli(capsys, *argv)
    assert status == 2
    assert len(err) == 1, err
    assert message in err[0] and (data or model) in err[0]


def test_bad_input_precision_is_refused(files, capsys):
    status, _, err = run_cli(capsys, 'bench', files / 'mlp.h5', '--data', files / 'x.npz', '--input-precision', 'float')
    assert status == 2 and len(err) == 1 and "'float' is not a fixed-point type" in err[0]


@pytest.mark.parametrize('command', ['bench', 'build', 'report'])
def test_no_converted_layer_is_a_clear_error(files, capsys, command):
    out = files / f'out_{command}'
    extra = ['--no-tool'] if command == 'build' else FAST if command == 'bench' else ['--images', '4']
    status, _, err = run_cli(capsys, command, files / 'float.h5', '--data', files / 'x.npz', '--out', out, *extra)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f'hls4ml-reuse {command}: error: float: no layer was converted to a ReusePruning unit')
    assert "layer 'float_dense': weights are not binary" in err[0]  # the reason the conversion pass recorded


def test_counters_refuse_a_model_without_units(out_dir):
    inputs = layers.Input((4,), name='pixels')
    model = tf.keras.Model(inputs, layers.Dense(2, use_bias=False, name='float_dense')(inputs))
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    with pytest.raises(NoReuseUnitError, match='weights are not binary'):
        counters.reset(hls_model)


def test_bench_on_any_input_shape_with_labels(tmp_path, capsys):
    model = binary_cnn((6, 6, 2), [conv(4, 3), ('flatten',), ('dense', 3)], seed=44)
    model.save(tmp_path / 'cnn.h5')
    rng = np.random.default_rng(45)
    x = rng.integers(0, 16, size=(12, 6, 6, 2)).astype(np.float32)  # integers 0..15: exact in ufixed<4,4>
    np.savez(tmp_path / 'data.npz', x=x, y=rng.integers(0, 3, size=12))
    report = tmp_path / 'bench.json'
    argv = ['bench', tmp_path / 'cnn.h5', '--data', tmp_path / 'data.npz', '--json', report, '--out', tmp_path / 'out']
    status, out, err = run_cli(capsys, *argv, *FAST)
    assert status == 0, err
    assert not any('hls4ml-reuse' in line for line in err)
    result = json.loads(report.read_text())
    assert result['images'] == 12 and result['mismatches'] == 0 and result['reference_counts_equal_firmware']
    assert result['keras_accuracy'] is not None and result['csim_accuracy'] == result['keras_accuracy']
    assert 'outputs differing from QKeras' in out


def corrupt_our_outputs(monkeypatch):
    real = bench.simulate

    def simulate(hls_model, x, label, seconds=None):
        outputs, rate = real(hls_model, x, label, seconds)
        if label == 'ReusePruning':
            outputs = outputs.copy()
            outputs[0, 0] += 1
        return outputs, rate

    monkeypatch.setattr(bench, 'simulate', simulate)


def reference_disagrees(monkeypatch):
    monkeypatch.setattr(bench, 'verify_counts', lambda hls_model, x: False)


@pytest.mark.parametrize(
    'fault, message',
    [
        (corrupt_our_outputs, 'ReusePruning differs from QKeras on 1 output values'),
        (reference_disagrees, "the Python reference disagrees with the firmware's outputs or counters (first 6 images)"),
    ],
)
def test_bench_fails_after_writing_its_results(files, tmp_path, capsys, monkeypatch, fault, message):
    fault(monkeypatch)
    report = tmp_path / 'bench.json'
    argv = ['bench', files / 'mlp.h5', '--data', files / 'x.npz', '--json', report, '--out', tmp_path / 'out']
    status, out, err = run_cli(capsys, *argv, *FAST)
    assert status == 1
    assert err[-1] == f'hls4ml-reuse bench: {message}'  # after the progress bars
    assert 'outputs differing from QKeras' in out and f'wrote {report}' in out
    result = json.loads(report.read_text())
    assert result['keras_accuracy'] is None and result['csim_accuracy'] is None and result['stock_csim_accuracy'] is None


@pytest.mark.parametrize(
    'values, precision',
    [
        (np.arange(256) / 256, 'ufixed<8,0>'),
        (np.arange(256), 'ufixed<8,8>'),
        (np.arange(-6, 7) / 2, 'fixed<4,3>'),
        (np.array([-1.0, 1.0]), 'fixed<2,2>'),
        (np.array([0.25, 0.5]), 'ufixed<2,0>'),
        (np.array([-0.25]), 'fixed<2,0>'),
        (np.arange(4) / 65536, 'ufixed<16,0>'),
    ],
)
def test_inferred_precision_is_the_smallest_exact_type(values, precision):
    assert exact_precision(values, 'data') == precision


def test_values_on_no_grid_are_refused():
    with pytest.raises(InputError, match='quantize the inputs'):
        exact_precision(np.array([0.5, 1 / 3]), 'data')
    with pytest.raises(InputError, match='quantize the inputs'):
        exact_precision(np.arange(4) / 131072, 'data')


@pytest.mark.parametrize('precision, bits', [('ufixed<8,0>', 8), ('ap_fixed<16,6>', 10), ('int<8>', 0), ('fixed<8,-2>', 10)])
def test_fractional_bits_of_a_precision(precision, bits):
    assert fractional_bits(precision) == bits


def test_input_precision_overrides_the_inferred_one(files):
    assert resolve(str(files / 'mlp.h5'), str(files / 'x.npz')).input_precision == 'ufixed<8,0>'
    target = resolve(str(files / 'mlp.h5'), str(files / 'x.npz'), 'fixed<12,3>')
    assert (target.input_precision, target.input_frac_bits, target.y) == ('fixed<12,3>', 9, None)
    assert target.reuse_config()['LayerName']['pixels']['Precision']['result'] == 'fixed<12,3>'


def test_data_replaces_a_shipped_examples_images(tmp_path):
    x = pixels(5, 784, seed=46)
    np.savez(tmp_path / 'mine.npz', x=x, y=np.arange(5))
    target = resolve('mlp-mnist', str(tmp_path / 'mine.npz'))
    assert np.array_equal(target.x, x) and np.array_equal(target.y, np.arange(5))
    assert target.input_precision == 'ufixed<8,0>' and target.input_frac_bits == 8


def test_data_overrides_the_input_type_of_a_yaml_configuration():
    model = binary_mlp([4], 6, seed=47)
    hls_config = {'Model': {'ReusePruning': True}, 'LayerName': {'pixels': {'Precision': {'result': 'ufixed<8,0>'}}}}
    target = Target('yaml', model, np.zeros((1, 6)), None, 'ufixed<4,4>', 0, hls_config, input_precision_given=True)
    assert target.reuse_config()['LayerName']['pixels']['Precision'] == {'result': 'ufixed<4,4>'}
    assert hls_config['LayerName']['pixels']['Precision'] == {'result': 'ufixed<8,0>'}  # the YAML's own dict untouched


def test_bench_turns_levers_off_by_name():
    from hls4ml_reuse.cli.main import bench_settings, build_parser

    args = build_parser().parse_args(
        ['bench', 'mlp-mnist', '--without', 'steiner', '--without', 'zero-skip', '--tile', '16']
    )
    assert bench_settings(args) == {'ReusePruningSteiner': False, 'ReusePruningZeroSkip': False, 'ReusePruningTile': 16}
    assert bench_settings(build_parser().parse_args(['bench', 'mlp-mnist', '--no-early-exit'])) == {
        'ReusePruningEarlyExit': False
    }
    assert bench_settings(build_parser().parse_args(['bench', 'mlp-mnist', '--lanes', 'banked'])) == {
        'ReusePruningLanes': 'banked'
    }
    with pytest.raises(SystemExit):
        build_parser().parse_args(['bench', 'mlp-mnist', '--without', 'steinr'])


def test_bench_turns_window_reuse_on_by_name_and_refuses_on_and_off_at_once():
    from hls4ml_reuse.cli.main import bench_settings, build_parser

    args = build_parser().parse_args(['bench', 'cnv-mnist', '--with', 'window-reuse'])
    assert bench_settings(args) == {'ReusePruningWindowReuse': True}
    args = build_parser().parse_args(['bench', 'cnv-mnist', '--with', 'window-reuse', '--without', 'window-reuse'])
    with pytest.raises(InputError, match='--with and --without both name window-reuse: choose one'):
        bench_settings(args)


def test_a_command_prints_only_what_the_user_needs(files, tmp_path):
    """No TensorFlow start-up lines and no Keras warnings about QKeras' own objects on stderr; the table on stdout."""
    import os
    import subprocess
    import sys

    user_environment = {key: value for key, value in os.environ.items() if key != 'TF_CPP_MIN_LOG_LEVEL'}  # conftest's
    command = [sys.executable, '-c', 'import sys; from hls4ml_reuse.cli import main; sys.exit(main())', 'bench']
    command += [files / 'mlp.h5', '--data', files / 'x.npz', '--json', tmp_path / 'out.json', *FAST]
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=600, env=user_environment
    )
    assert result.returncode == 0, result.stderr
    noise = [line for line in result.stderr.splitlines() if 'C simulation (' not in line and line.strip()]
    assert noise == []
    assert 'outputs differing from QKeras' in result.stdout
