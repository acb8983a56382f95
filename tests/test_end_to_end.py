"""hls4ml C simulation with ReusePruning equals QKeras exactly, and the firmware's counters equal the reference's."""

import ctypes

import numpy as np
import pytest
from models import binary_mlp, pixels, rebuild_with_synthesizable_path, sparse_pixels

from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.report import operations
from hls4ml_reuse.sim import counters, graph

CASES = {
    # name: (widths, n_in, model options, ReusePruning settings)
    'mlp': ([24, 16, 10], 40, {}, {}),
    'k-not-multiple-of-tile': ([13, 7, 5], 21, {}, {'ReusePruningTile': 16}),
    'single-output': ([9, 1], 17, {}, {}),
    'negative-and-zero-bn-scale': ([12, 6], 20, {'scale_signs': [1, -1, 0] * 4}, {}),
    'dense-bias-into-threshold': ([10, 6], 18, {'use_bias': True}, {}),
    'thresholded-model-output': ([10, 6], 18, {'threshold_last': True}, {}),
    'tile-64': ([70, 8], 130, {}, {'ReusePruningTile': 64}),
    'no-early-exit': ([16, 8], 30, {}, {'ReusePruningEarlyExit': False}),
    'zero-skip': ([24, 16, 10], 40, {}, {}),
    'zero-skip-tile-16-exact-tiles': ([20, 8], 32, {}, {'ReusePruningTile': 16}),
    'zero-skip-no-early-exit': ([16, 8], 30, {}, {'ReusePruningEarlyExit': False}),
    'zero-skip-off': ([16, 8], 30, {}, {'ReusePruningZeroSkip': False}),
    'banked': ([24, 16, 10], 40, {}, {'ReusePruningLanes': 'banked'}),
    'banked-tile-16-k-not-multiple': ([13, 7, 5], 21, {}, {'ReusePruningTile': 16, 'ReusePruningLanes': 'banked'}),
    'banked-no-early-exit': ([16, 8], 30, {}, {'ReusePruningLanes': 'banked', 'ReusePruningEarlyExit': False}),
    'zero-skip-banked': ([24, 16, 10], 40, {}, {'ReusePruningLanes': 'banked'}),
    'zero-skip-banked-tile-16': ([20, 8], 37, {}, {'ReusePruningTile': 16, 'ReusePruningLanes': 'banked'}),
    'unrolled': ([24, 16, 10], 40, {}, {'ReusePruningShape': 'unrolled'}),
    'unrolled-thresholded-output': ([10, 6], 18, {'threshold_last': True}, {'ReusePruningShape': 'unrolled'}),
}
SPARSE_INPUTS = {name for name in CASES if name.startswith('zero-skip')}  # mostly-zero pixels, as MNIST's


def converted(name, out_dir, seed=0):
    widths, n_in, options, settings = CASES[name]
    model = binary_mlp(widths, n_in, seed=seed, **options)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>', **settings), out_dir)
    inputs = sparse_pixels if name in SPARSE_INPUTS else pixels
    return model, hls_model, inputs(300, n_in, seed=seed + 1)


@pytest.mark.parametrize('name', list(CASES))
def test_csim_equals_qkeras_and_reference(name, out_dir):
    model, hls_model, x = converted(name, out_dir)
    counters.reset(hls_model)
    firmware = as_keras_values(hls_model, hls_model.predict(x).reshape(len(x), -1))
    keras = model.predict(x, verbose=0).reshape(len(x), -1)
    assert np.array_equal(firmware, keras)
    reference, reference_counts = graph.reference_forward(hls_model, x)
    assert np.array_equal(as_keras_values(hls_model, reference), keras)
    assert graph.counts_match(hls_model, reference_counts)


def test_thresholds_on_reachable_values(out_dir):
    """BatchNorm means placed exactly on reachable pre-activations: the ties must agree."""
    model = binary_mlp([12, 6], 16, seed=5, threshold_last=True)
    for name, means in (('bn0', np.arange(-6, 6) * 0.25 + 1 / 256), ('bn1', np.arange(-6, 6, 2))):
        bn = model.get_layer(name)
        gamma, beta, _, variance = bn.get_weights()
        bn.set_weights([gamma, np.zeros_like(beta), means[: len(beta)].astype(np.float32), variance])
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    x = pixels(500, 16, seed=9)
    assert np.array_equal(as_keras_values(hls_model, hls_model.predict(x).reshape(len(x), -1)), model.predict(x, verbose=0))


def test_early_exit_skips_work_without_changing_outputs(tmp_path):
    model = binary_mlp([32, 32, 10], 48, seed=2)
    x = pixels(200, 48, seed=3)
    results = {}
    for early_exit in (True, False):
        # zero skipping off: without early exit, every planned term is then evaluated
        config = conversion.reuse_config(model, 'ufixed<8,0>', ReusePruningEarlyExit=early_exit, ReusePruningZeroSkip=False)
        hls_model = conversion.convert(model, config, str(tmp_path / str(early_exit)))
        counters.reset(hls_model)
        results[early_exit] = (hls_model.predict(x), operations.network_ops(hls_model, len(x)))
    assert np.array_equal(results[True][0], results[False][0])
    with_exit, without = (sum(layer.dynamic for layer in results[flag][1]) for flag in (True, False))
    assert with_exit < without
    assert without == sum(layer.static for layer in results[False][1])


@pytest.mark.parametrize(
    'name',
    [
        'mlp',
        'negative-and-zero-bn-scale',
        'k-not-multiple-of-tile',
        'zero-skip',
        'zero-skip-no-early-exit',
        'banked',
        'banked-tile-16-k-not-multiple',
        'zero-skip-banked',
        'zero-skip-banked-tile-16',
        'unrolled',
        'unrolled-thresholded-output',
    ],
)
def test_synthesizable_path_equals_fast_path(name, out_dir):
    _, hls_model, x = converted(name, out_dir, seed=4)
    runs = []
    for _ in range(2):
        counters.reset(hls_model)
        outputs = hls_model.predict(x)
        counts = [counters.read(hls_model, layer) for layer in reuse_units(hls_model)]
        runs.append((outputs, counts))
        rebuild_with_synthesizable_path(hls_model)
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert isinstance(hls_model._top_function_lib, ctypes.CDLL)


def test_zero_skip_counts_only_nonzero_inputs(tmp_path):
    """On mostly-zero inputs, zero skipping evaluates fewer terms in the first layer, same outputs, same elsewhere."""
    model = binary_mlp([24, 16, 10], 40, seed=6)
    x = sparse_pixels(300, 40, seed=7)
    results = {}
    for zero_skip in (True, False):
        config = conversion.reuse_config(model, 'ufixed<8,0>', ReusePruningZeroSkip=zero_skip)
        hls_model = conversion.convert(model, config, str(tmp_path / str(zero_skip)))
        counters.reset(hls_model)
        results[zero_skip] = (hls_model.predict(x), operations.network_ops(hls_model, len(x)))
    assert np.array_equal(results[True][0], results[False][0])
    first_on, *rest_on = results[True][1]
    first_off, *rest_off = results[False][1]
    assert first_on.dynamic < 0.5 * first_off.dynamic  # 80 % of the inputs are zero
    assert [layer.dynamic for layer in rest_on] == [layer.dynamic for layer in rest_off]
