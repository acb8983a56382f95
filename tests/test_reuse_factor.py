"""hls4ml's ReuseFactor with ReusePruning on (plan/reuse_factor.py): a ReuseFactor R > 1 chooses the fewest lanes
with which the folded unit takes at most R clocks per input vector, as stock's layer does; where none can, or the
tile set cannot, a warning names the layer. Exactness never changes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from models import binary_mlp, pixels

from hls4ml_reuse.cli import conversion, rtl
from hls4ml_reuse.cli.targets import Target
from hls4ml_reuse.config import ReusePruningConfigError
from hls4ml_reuse.ir.constants import TILES
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.passes.keras_replay import ReusePruningWarning
from hls4ml_reuse.plan.folding import FLUSH_CYCLES
from hls4ml_reuse.plan.reuse_factor import fit_reuse_factor, vector_clocks_bound, with_tile
from hls4ml_reuse.rtl import verilator
from hls4ml_reuse.sim import counters

N_IN, WIDTHS = 64, [48, 40]  # fc1 has binary inputs: no zero skipping, so its walk is its plan
IMAGES = 200


@pytest.fixture(scope='module')
def model():
    return binary_mlp(WIDTHS, N_IN, seed=11, threshold_last=True)


@pytest.fixture(scope='module')
def x():
    return pixels(IMAGES, N_IN, seed=12)


def convert(model, out_dir, fc1=None, **settings):
    """Converted with ReusePruning (Model settings), fc1's LayerName entry updated with `fc1`; and our warnings."""
    config = conversion.reuse_config(model, 'ufixed<8,0>', **settings)
    config['LayerName']['fc1'].update(fc1 or {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ReusePruningWarning)
        hls_model = conversion.convert(model, config, out_dir)
    return hls_model, [str(w.message) for w in caught if issubclass(w.category, ReusePruningWarning)]


def unit_named(hls_model, name):
    return next(layer for layer in reuse_units(hls_model) if layer.name == name)


def assert_exact(model, hls_model, x):
    keras = (model.predict(x, verbose=0) > 0).astype(np.int64)
    ours = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(keras.shape).astype(np.int64)
    assert np.array_equal(ours, keras)


def test_the_bound_is_what_the_firmware_counts_with_nothing_skipped(model, x, out_dir):
    hls_model, _ = convert(model, out_dir, ReusePruningEarlyExit=False)
    layer = unit_named(hls_model, 'fc1')
    unit = layer.get_attr('unit')
    counters.reset(hls_model)
    hls_model.predict(np.ascontiguousarray(x))
    counted = counters.read(hls_model, layer)
    assert counted['vectors'] == IMAGES and counted['tiles'] % IMAGES == 0
    assert counted['tiles'] // IMAGES + unit.n_kernels + FLUSH_CYCLES == vector_clocks_bound(unit)


def test_more_lanes_never_take_more_clocks(model, out_dir):
    hls_model, _ = convert(model, out_dir)
    unit = unit_named(hls_model, 'fc1').get_attr('unit')
    bounds = [vector_clocks_bound(with_tile(unit, tile)) for tile in TILES]
    assert bounds == sorted(bounds, reverse=True) and bounds[0] > bounds[-1]
    for tile, bound in zip(TILES, bounds):
        fit = fit_reuse_factor(unit, bound, tile_set=False)
        assert fit.met and fit.clocks <= bound and fit.unit.tile <= tile
    assert fit_reuse_factor(unit, 1, tile_set=False).unit.tile == unit.tile  # hls4ml's default asks nothing


def test_a_reuse_factor_chooses_the_fewest_lanes_that_meet_it(model, x, out_dir):
    default, _ = convert(model, f'{out_dir}/default')
    unit = unit_named(default, 'fc1').get_attr('unit')
    asked = vector_clocks_bound(with_tile(unit, 16))
    assert vector_clocks_bound(unit) > asked  # tile 8 is too slow for it
    hls_model, caught = convert(model, f'{out_dir}/rf', fc1={'ReuseFactor': asked})
    chosen = unit_named(hls_model, 'fc1').get_attr('unit')
    assert caught == [] and chosen.tile == 16 and unit_named(hls_model, 'fc0').get_attr('unit').tile == 8
    assert np.array_equal(chosen.plan.mask, unit.plan.mask)  # the same plan, walked by more lanes
    assert_exact(model, hls_model, x)


def test_a_reuse_factor_no_tile_meets_is_named_and_gets_the_most_lanes(model, x, out_dir):
    hls_model, caught = convert(model, out_dir, fc1={'ReuseFactor': 2})
    unit = unit_named(hls_model, 'fc1').get_attr('unit')
    assert unit.tile == max(TILES) and len(caught) == 1
    assert caught[0].startswith("layer 'fc1': ReuseFactor 2 asks for an input vector every 2 clocks")
    assert f'up to {vector_clocks_bound(unit)} with ReusePruningTile {max(TILES)} (the most lanes)' in caught[0]
    assert 'ReusePruningShape: unrolled' in caught[0]
    assert_exact(model, hls_model, x)


def test_a_tile_set_is_kept_and_its_miss_named(model, out_dir):
    hls_model, caught = convert(model, out_dir, fc1={'ReuseFactor': 2, 'ReusePruningTile': 8})
    assert unit_named(hls_model, 'fc1').get_attr('unit').tile == 8
    assert len(caught) == 1 and 'ReusePruningTile 8 (set)' in caught[0]


def test_unrolled_meets_every_reuse_factor(model, out_dir):
    _, caught = convert(model, out_dir, ReusePruningShape='unrolled', fc1={'ReuseFactor': 2})
    assert caught == []


@pytest.mark.parametrize('value', [0, -4])  # not integers: hls4ml itself refuses them, naming the layer
def test_a_bad_reuse_factor_is_refused_by_name(model, out_dir, value):
    with pytest.raises(ReusePruningConfigError, match="layer 'fc1': ReuseFactor must be a positive integer"):
        convert(model, out_dir, fc1={'ReuseFactor': value})


RTL_IMAGES = 8


@pytest.mark.skipif(not verilator.available(), reason=verilator.skip_reason())
@pytest.mark.parametrize('early_exit', [False, True])
def test_a_pipeline_at_its_reuse_factors_keeps_their_rate_in_verilator(model, x, out_dir, early_exit):
    """Each layer asks for the rate its unit has at 16 lanes; the pipeline built from the conversion, simulated,
    takes a vector every max(R) clocks, exactly where nothing shortens a walk (the slowest layer sets the rate),
    within it where early exit does, and exact against QKeras either way."""
    levers = {'ReusePruningEarlyExit': early_exit, 'ReusePruningZeroSkip': early_exit}
    default, _ = convert(model, f'{out_dir}/default', **levers)
    asked = {layer.name: vector_clocks_bound(with_tile(layer.get_attr('unit'), 16)) for layer in reuse_units(default)}
    config = conversion.reuse_config(model, 'ufixed<8,0>', **levers)
    for name, reuse_factor in asked.items():
        config['LayerName'][name]['ReuseFactor'] = reuse_factor
    target = Target('rf-mlp', model, x[:RTL_IMAGES], None, 'ufixed<8,0>', 8, hls_config=config)
    options = rtl.RtlOptions(
        images=RTL_IMAGES, stock_images=2, out_dir=f'{out_dir}/rtl', synthesize=False, toggle_images=0, workers=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter('error', ReusePruningWarning)  # every ReuseFactor is met
        result = rtl.run(target, options)
    assert (result['mismatches'], result['stock_mismatches']) == (0, 0)
    rate = result['cycles_per_image']['reuse']
    if early_exit:
        assert rate <= max(asked.values())
    else:
        assert rate == max(asked.values())
    assert rate < max(vector_clocks_bound(layer.get_attr('unit')) for layer in reuse_units(default))  # 8 lanes: slower
