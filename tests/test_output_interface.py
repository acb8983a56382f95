"""Turning the flag on keeps hls4ml's output interface: the same top-function port types and stream words, binary
outputs as hls4ml's bits (1 = +1, 0 = -1); -1/+1 only with ReusePruningBipolarOutput."""

import re
from pathlib import Path

import hls4ml
import numpy as np
import pytest
from models import binary_cnn, conv
from qkeras import binary
from test_hls4ml_models import btnn, convert, on_grid

from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.sim.encoding import as_keras_values, bit_coded_output

CONV_OUTPUTS = {
    'feature-map': [conv(4, 3), conv(6, 3)],
    'pooled-map': [conv(4, 3), ('maxpool', 2)],  # the unit absorbs the pooling (pool exit)
    'flattened': [conv(5, 3, strides=2), ('flatten',)],
}


def top_interface(project: str) -> tuple[str, str]:
    """The top function's port types and the output stream word, as the written project declares them.

    Port names are left out: hls4ml names the output port after the last layer's index (``layer7_out``), and a
    unit that absorbs layers can shift it.
    """
    top = Path(project, 'firmware', 'myproject.h').read_text()
    defines = Path(project, 'firmware', 'defines.h').read_text()
    ports = re.sub(r'&\s*\w+', '&', re.search(r'void myproject\(.*?\);', top, re.S).group(0))
    return ports, re.search(r'typedef .* result_t;', defines).group(0)


def interfaces_with_and_without_the_flag(model, backend, out_dir, x):
    """{flag: (ports, output word)}; checks on the way that both give 0/1 bits and ours the Keras values."""
    interfaces = {}
    for reuse_pruning in (False, True):
        config = hls4ml.utils.config_from_keras_model(model, granularity='name', backend=backend)
        project = f'{out_dir}/{reuse_pruning}'
        hls_model = convert(model, config, backend, project, reuse_pruning)
        interfaces[reuse_pruning] = top_interface(project)
        outputs = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(len(x), -1)
        assert set(np.unique(outputs)) == {0, 1} and bit_coded_output(hls_model)
        assert bool(reuse_units(hls_model)) == reuse_pruning
        if reuse_pruning:
            keras = model.predict(x, verbose=0).reshape(len(x), -1)
            assert np.array_equal(as_keras_values(hls_model, outputs), keras)
    return interfaces


@pytest.mark.parametrize('backend', ['Vivado', 'Vitis'])
def test_dense_binary_output_keeps_stocks_interface(backend, out_dir):
    interfaces = interfaces_with_and_without_the_flag(
        btnn('binary_tanh'), backend, out_dir, on_grid(np.random.default_rng(4).random((200, 10)))
    )
    assert interfaces[True] == interfaces[False]
    assert interfaces[True][1] == 'typedef nnet::array<ap_uint<1>, 10*1> result_t;'


@pytest.mark.parametrize('name', list(CONV_OUTPUTS))
def test_conv_binary_output_keeps_stocks_interface(name, out_dir):
    model = binary_cnn((9, 9, 1), CONV_OUTPUTS[name], seed=7)
    x = on_grid(np.random.default_rng(8).random((60, 9, 9, 1)), frac_bits=8)
    interfaces = interfaces_with_and_without_the_flag(model, 'Vivado', out_dir, x)
    assert interfaces[True][0] == interfaces[False][0]
    assert 'ap_uint<1>' in interfaces[True][1]
    if name == 'flattened':  # stock's Flatten keeps the activation's int<2> word for its 0/1 bits: a known difference
        assert interfaces[False][1] == interfaces[True][1].replace('ap_uint<1>', 'ap_int<2>')
    else:
        assert interfaces[True][1] == interfaces[False][1]


@pytest.mark.parametrize('backend', ['Vivado', 'Vitis'])
def test_bipolar_output_is_an_explicit_choice(backend, out_dir):
    """ReusePruningBipolarOutput: the same outputs as -1/+1 (int<2>), equal to Keras without any mapping."""
    model = btnn(binary())
    config = hls4ml.utils.config_from_keras_model(model, granularity='name', backend=backend)
    config['Model']['ReusePruningBipolarOutput'] = True
    hls_model = convert(model, config, backend, out_dir)
    (output,) = hls_model.get_output_variables()
    assert str(output.type.precision) == 'int<2>'
    x = on_grid(np.random.default_rng(5).random((500, 10)))
    assert np.array_equal(hls_model.predict(x), model.predict(x, verbose=0))
