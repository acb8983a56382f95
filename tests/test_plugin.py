"""The plugin registers through hls4ml's entry point, and leaves stock conversion alone when off."""

import subprocess
import sys
from importlib.metadata import entry_points

import hls4ml
import numpy as np
import pytest
from models import binary_mlp, pixels

from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse import plugin
from hls4ml_reuse.cli import conversion


def test_entry_point_is_declared():
    names = [ep.value for ep in entry_points().select(group='hls4ml.backends')]
    assert 'hls4ml_reuse.plugin:register' in names


def test_registered_by_importing_hls4ml_alone():
    """hls4ml alone (no import of ours) loads and registers the plugin, with no warning."""
    script = (
        'import sys, hls4ml; print("hls4ml_reuse.plugin" in sys.modules, sys.modules["hls4ml_reuse.plugin"].registered())'
    )
    run = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ['True', 'True']
    assert 'failed to load backend plugin' not in run.stdout + run.stderr


@pytest.mark.parametrize('first', ['hls4ml_reuse.cli.build', 'hls4ml_reuse.backend.templates', 'hls4ml_reuse.cli.bench'])
def test_registered_whatever_is_imported_first(first):
    script = f'import {first}, hls4ml; from hls4ml_reuse import plugin; print(plugin.registered())'
    run = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == 'True'
    assert 'failed to load backend plugin' not in run.stdout + run.stderr


def test_flows_templates_and_headers_are_in_place():
    assert plugin.registered()
    from hls4ml.model.flow import get_flow

    assert 'reuse_pruning_convert_dense' in get_flow('optimize').optimizers
    for backend in ('Vivado', 'Vitis'):
        sources = hls4ml.backends.get_backend(backend).get_custom_source()
        assert any(str(path).endswith('hls4ml_reuse_dense.h') for path in sources.values())


def test_headers_ship_inside_the_package():
    for path in plugin.header_paths():
        assert path.is_file() and path.is_absolute()


def test_flag_off_is_stock_hls4ml(out_dir):
    model = binary_mlp([8, 4], 12, seed=3)
    config = conversion.base_config(model, 'ufixed<8,0>')
    hls_model = conversion.convert(model, config, out_dir)
    assert not any(layer.class_name == 'ReuseDense' for layer in hls_model.get_layers())
    assert any(layer.class_name == 'Dense' for layer in hls_model.get_layers())
    with open(f'{out_dir}/firmware/myproject.cpp') as source:
        assert 'hls4ml_reuse' not in source.read()


def test_yaml_through_hls4ml_convert_from_config(tmp_path):
    model = binary_mlp([8, 4], 12, seed=4)
    model_path = tmp_path / 'model.h5'
    model.save(model_path)
    config = tmp_path / 'config.yml'
    config.write_text(
        f'KerasModel: !qkeras_model {model_path}\nOutputDir: {tmp_path / "prj"}\nProjectName: myproject\nBackend: Vivado\n'
        'Part: xc7z100ffg900-2\nIOType: io_stream\nHLSConfig:\n  Model:\n    Precision: fixed<16,6>\n'
        '    ReuseFactor: 1\n    ReusePruning: true\n  LayerName:\n    pixels:\n      Precision:\n'
        '        result: ufixed<8,0>\n'
    )
    hls_model = hls4ml.converters.convert_from_config(str(config))
    assert [layer.class_name for layer in hls_model.get_layers()] == ['Input', 'ReuseDense', 'ReuseDense']
    hls_model.compile()
    x = pixels(64, 12, seed=1)
    assert np.array_equal(as_keras_values(hls_model, hls_model.predict(x)), model.predict(x, verbose=0))
