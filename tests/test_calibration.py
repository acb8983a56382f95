"""The calibrated unrolled LUT model (plan/calibration.py) against its stored Yosys data.

The data are ``hls4ml-reuse synth`` slices of the shipped layers (plan/calibration_data.json); the constants
must be what fit() gives on them, and the estimate must stay within 15 % of Yosys' LUT count on every slice,
fitted or held out, for both designs.
"""

import re

import numpy as np
import pytest

from hls4ml_reuse.cli import synth
from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.spanning_tree import plan_reuse
from hls4ml_reuse.plan.steiner import steiner_plan
from hls4ml_reuse.plan.unit import InputFormat, UnitSpec
from hls4ml_reuse.plan import calibration, hardware
from hls4ml_reuse.synth.rtl import ReuseDatapath, StockDatapath, to_rtlil

TOLERANCE = 0.15


def test_refitting_the_stored_data_gives_the_stored_constants():
    fitted = calibration.fit()
    for design in calibration.DESIGNS:
        for name in calibration.FEATURES:
            assert fitted[design][name] == pytest.approx(calibration.CONSTANTS[design][name], abs=1e-4)


def test_stated_fit_figures_are_the_measured_ones():
    assert calibration.summary() == calibration.FIT
    assert calibration.FIT['tool'].startswith('yosys 0.70')
    assert f"{calibration.FIT['max_error_fit']:.1%}" in calibration.ASSUMPTION
    assert calibration.ASSUMPTION in hardware.ASSUMPTIONS


def test_data_cover_both_input_kinds_and_hold_some_out():
    slices = calibration.load()['slices']
    assert len(slices) >= 12
    assert {s['binary_input'] for s in slices} == {True, False}
    assert 0 < sum(s['held_out'] for s in slices) < len(slices)
    assert {s['model'] for s in slices} == {'mlp-mnist', 'cnv-mnist'}


@pytest.mark.parametrize('design', calibration.DESIGNS)
def test_estimate_within_15_percent_of_yosys_on_every_stored_slice(design):
    data = calibration.load()
    wrong = []
    for s in data['slices']:
        estimate = calibration.estimate(s['features'][design], design)
        error = estimate / s['lut'][design] - 1
        if abs(error) > TOLERANCE:
            wrong.append(f"{s['id']}: {estimate:.0f} vs {s['lut'][design]} ({error:+.1%})")
    assert not wrong, wrong


def random_unit(binary: bool, n=12, k=40, steiner=False, seed=0) -> UnitSpec:
    rng = np.random.default_rng(seed)
    base = rng.random(k) < 0.5
    kernels = base ^ (rng.random((n, k)) < 0.2)  # related kernels, so the plan has children
    fmt = InputFormat.bits() if binary else InputFormat(False, 8, 8)  # ufixed<8,0>
    cost = OperationCost(input_bits=1 if binary else 8, accum_bits=12 if binary else 20)
    if steiner:
        kernels_all, plan = steiner_plan(kernels, cost)
    else:
        kernels_all, plan = kernels, plan_reuse(kernels, cost)
    return UnitSpec(kernels_all, plan, fmt, cost=cost, thresholds=None, early_exit=False, n_outputs=n)


@pytest.mark.parametrize('steiner', [False, True])
def test_counting_luts_are_the_lut_cells_the_rtl_instantiates(steiner):
    unit = random_unit(True, steiner=steiner)
    counted = calibration.features(unit)
    ours, stock = ReuseDatapath(unit), StockDatapath(unit)
    for design, rtl in (('reuse', ours), ('stock', stock)):
        cells = len(re.findall(r'cell \\LUT\d', to_rtlil(rtl)))
        assert counted[design]['counting_luts'] == cells


def test_fixed_point_units_have_no_counting_luts_and_delta_adds_of_at_most_the_raw_width():
    unit = random_unit(False)
    values = calibration.features(unit)
    children = int(np.count_nonzero(unit.plan.parent >= 0))
    assert values['reuse']['counting_luts'] == values['stock']['counting_luts'] == 0
    assert values['reuse']['delta_bits'] == 0 and 0 < values['reuse']['fixed_delta_bits'] <= children * 14
    assert values['stock']['tree_bits'] > values['reuse']['tree_bits'] > 0


@pytest.mark.parametrize('binary', [True, False])
def test_hardware_and_synth_take_the_calibrated_estimate(binary):
    unit = random_unit(binary, steiner=binary)
    expected = calibration.unrolled_lut(unit)
    cost = hardware.unit_cost('slice', unit, counted_tiles=0, images=1)
    assert (cost.unrolled_lut_reuse, cost.unrolled_lut_stock) == (expected['reuse'], expected['stock'])
    piece = synth.LayerSlice('slice', unit, np.zeros((1, unit.n_in), int))
    assert synth.estimate_lut(piece) == expected
