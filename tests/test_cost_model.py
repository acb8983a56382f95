"""hls4ml-reuse report: the cost model's figures, each checked against a count made another way.

Folded cycles against the reference's tile counts (ours) and a from-scratch unit's (stock); unrolled adder
bits against the firmware's own counters with early exit off (then it evaluates exactly what is
instantiated); latency against a walk up each kernel's chain of parents.
"""

import math

import numpy as np
import pytest
from models import binary_cnn, binary_mlp, conv, pixels

from hls4ml_reuse.cli import conversion, report
from hls4ml_reuse.cli.targets import Target
from hls4ml_reuse.ir.layers import reuse_units
from hls4ml_reuse.plan.spanning_tree import ROOT, ReusePlan
from hls4ml_reuse.plan.unit import UnitSpec
from hls4ml_reuse.plan import folding, hardware
from hls4ml_reuse.report import reference, tables
from hls4ml_reuse.sim import counters, graph
from hls4ml_reuse.sim.unit import evaluate

CNN_SPEC = [conv(6, 3), ('maxpool', 2), conv(8, 3, padding='same'), ('flatten',), ('dense', 10)]


def small_models():
    """A dense MLP and a CNN (windows per image > 1, a pooled unit), with inputs k/256."""
    mlp = binary_mlp([24, 16, 10], 40, seed=31), pixels(30, 40, seed=32)
    cnn = binary_cnn((10, 10, 1), CNN_SPEC, seed=33), pixels(12, 100, seed=34).reshape(-1, 10, 10, 1)
    return {'mlp': mlp, 'cnn': cnn}


def simulated(name, tmp_path, **settings):
    model, x = small_models()[name]
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>', **settings), str(tmp_path))
    counters.reset(hls_model)
    hls_model.predict(np.ascontiguousarray(x))
    return hls_model, x


def from_scratch(unit: UnitSpec) -> UnitSpec:
    """The output channels (no virtual kernels), every one a root over all K positions, no early exit: stock's work."""
    n, k = unit.n_out, unit.n_in
    plan = ReusePlan(np.arange(n), np.full(n, ROOT), np.zeros(n, bool), np.ones((n, k), bool))
    return UnitSpec(unit.kernels[:n], plan, unit.input_format, unit.folding, None, False, unit.cost, geometry=unit.geometry)


@pytest.mark.parametrize('name', ['mlp', 'cnn'])
def test_folded_cycles_equal_reference_tile_counts(name, tmp_path):
    hls_model, x = simulated(name, tmp_path)
    _, reference = graph.reference_forward(hls_model, x)
    for layer in reuse_units(hls_model):
        unit, windows = layer.get_attr('unit'), layer.get_attr('unit').windows
        cost = hardware.layer_cost(layer, counters.read(hls_model, layer), len(x))
        # a step per kernel and the flush to the output register, per window (plan/folding.py vector_cycles)
        steps = (unit.n_kernels + folding.FLUSH_CYCLES) * windows
        assert cost.folded_cycles_reuse == pytest.approx(reference[layer.name].tiles / len(x) + steps)
        one_window = np.ones((1, unit.n_in), dtype=np.int64)
        _, stock = evaluate(from_scratch(unit), one_window)
        assert cost.folded_cycles_stock == (stock.tiles + unit.n_out + folding.FLUSH_CYCLES) * windows


@pytest.mark.parametrize('name', ['mlp', 'cnn'])
def test_unrolled_adder_bits_equal_what_the_firmware_evaluates_without_early_exit(name, tmp_path):
    # every planned term evaluated: no early exit, pool exit, zero skipping or window reuse (the unrolled shape has none)
    settings = {
        'ReusePruningEarlyExit': False,
        'ReusePruningPoolExit': False,
        'ReusePruningZeroSkip': False,
        'ReusePruningWindowReuse': False,
    }
    hls_model, x = simulated(name, tmp_path, **settings)
    for layer in reuse_units(hls_model):
        unit, fired = layer.get_attr('unit'), counters.read(hls_model, layer)
        vectors = len(x) * layer.get_attr('unit').windows
        assert fired['vectors'] == vectors
        cost = hardware.layer_cost(layer, fired, len(x))
        assert cost.adder_bits_reuse == unit.cost.adder_bits(fired['inputs'] / vectors, fired['word_adds'] / vectors)
        assert cost.adder_bits_stock == unit.n_out * unit.n_in * (unit.cost.input_bits + 1)


def chain_depth(plan, j) -> int:
    """Adder-tree levels from the input to kernel j's value: its own tree, plus one add and its parent's chain."""
    own = max(1, math.ceil(math.log2(max(int(plan.n_positions[j]), 2))))
    parent = int(plan.parent[j])
    return own if parent == ROOT else own + 1 + chain_depth(plan, parent)


def test_unrolled_latency_is_the_deepest_chain_of_parents(tmp_path):
    hls_model, x = simulated('mlp', tmp_path)
    for layer in reuse_units(hls_model):
        plan = layer.get_attr('unit').plan
        expected = max(chain_depth(plan, j) for j in range(plan.n_kernels)) + 1
        assert hardware.layer_cost(layer, counters.read(hls_model, layer), len(x)).unrolled_latency_reuse == expected


def test_adder_tree_depth():
    assert [hardware.tree_depth(m) for m in (0, 1, 2, 3, 4, 5, 256)] == [1, 1, 1, 2, 2, 3, 8]


def test_report_pipeline_takes_the_slowest_layer(tmp_path):
    model, x = small_models()['mlp']
    result = report.run(Target('small', model, x, np.zeros(len(x), int), 'ufixed<8,0>', 8), len(x), str(tmp_path))
    assert len(result['layers']) == 3
    for key in ('cycles_per_image', 'lut_estimate', 'fps_at_clock'):
        assert set(result[key]) == {'reuse', 'stock'}
    cycles = result['cycles_per_image']
    assert cycles['reuse'] == max(layer['folded_cycles_reuse'] for layer in result['layers'])
    assert result['fps_at_clock']['reuse'] == result['clock_mhz'] * 1e6 / cycles['reuse']


def test_report_gives_images_per_lut_and_a_reference_row_only_for_its_topology(tmp_path):
    model, x = small_models()['mlp']
    result = report.run(Target('small', model, x, np.zeros(len(x), int), 'ufixed<8,0>', 8), len(x), str(tmp_path))
    for shape in result['shapes'].values():
        assert shape['images_per_s_per_lut']['reuse'] == shape['fps_at_clock']['reuse'] / shape['lut_estimate']['reuse']
    assert result['reference'] is None  # 40-24-16-10 is no published design
    sfc = {'layers': [{'n': n, 'k': k} for n, k in [(256, 784), (256, 256), (256, 256), (10, 256)]]}
    assert round(reference.reference_for(sfc)['images_per_s_per_lut']) == 135
    table = tables.hardware_table({**result, 'reference': reference.reference_for(sfc)})
    assert 'reference: FINN SFC-max' in table and 'unrolled: images/s per LUT' in table
    assert 'LUT folded ours' in table and 'LUT folded stock' in table  # per layer, both shapes


@pytest.mark.parametrize('name', ['mlp', 'cnn'])
def test_folded_variants_charge_what_each_instantiates(name, tmp_path):
    hls_model, x = simulated(name, tmp_path)
    for layer in reuse_units(hls_model):
        unit = layer.get_attr('unit')
        assert unit.windows == layer.get_attr('out_height', 1) * layer.get_attr('out_width', 1)  # one per pixel
        variants = folding.folded_variants(unit)
        loads = folding.bank_loads(unit.plan.mask, unit.tile)
        assert np.array_equal(loads.sum(axis=1), unit.plan.mask.sum(axis=1))  # every planned position in one bank
        assert (
            variants['stock']['cycles']
            == hardware.layer_cost(layer, counters.read(hls_model, layer), len(x)).folded_cycles_stock
        )
        assert variants['gathered']['cycles'] <= variants['banked']['cycles']  # a bank holds at least its share
        if unit.n_in > unit.tile:  # a lane that may read any of K inputs costs more than one reading K/tile
            assert variants['gathered']['lut'] > variants['banked']['lut']  # banked: stock's lanes, our tables
            assert variants['gathered']['lut'] > variants['stock']['lut']
