"""hls4ml-reuse report: the cost model's figures follow from the plan and the firmware's tile counters."""

import math

import numpy as np
from models import binary_mlp, pixels

from hls4ml_reuse.cli import report
from hls4ml_reuse.report import hardware
from hls4ml_reuse.cli.targets import Target


def test_report_keys_and_folded_cycles(tmp_path):
    model = binary_mlp([24, 16, 10], 40, seed=31)
    x = pixels(60, 40, seed=32)
    result = report.run(Target('small', model, x, np.zeros(len(x), int), 'ufixed<8,0>', 8), 60, str(tmp_path))
    assert len(result['layers']) == 3
    for key in ('cycles_per_image', 'lut_estimate', 'fps_at_clock'):
        assert set(result[key]) == {'reuse', 'stock'}
    for layer in result['layers']:
        assert layer['folded_cycles_stock'] == layer['n'] * math.ceil(layer['k'] / result['tile']) + layer['n']
        assert layer['folded_cycles_reuse'] <= layer['folded_cycles_stock']
    cycles = result['cycles_per_image']
    assert cycles['reuse'] == max(layer['folded_cycles_reuse'] for layer in result['layers'])
    assert result['fps_at_clock']['reuse'] == result['clock_mhz'] * 1e6 / cycles['reuse']


def test_adder_tree_depth():
    assert [hardware.tree_depth(m) for m in (0, 1, 2, 3, 4, 5, 256)] == [1, 1, 1, 2, 2, 3, 8]
