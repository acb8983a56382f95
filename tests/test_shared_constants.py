"""The constants Python and the firmware share are written once (ir/constants.py): the headers' own enums equal
them, every generated layer config carries them, and a config that disagrees fails the C++ build."""

import re
import shutil
import subprocess
from pathlib import Path

import hls4ml
import pytest
from models import binary_mlp

from hls4ml_reuse import plugin
from hls4ml_reuse.cli import conversion
from hls4ml_reuse.ir import constants
from hls4ml_reuse.ir.layers import reuse_units

FIRMWARE = plugin.header_paths()[0].parent
TEMPLATES = Path(hls4ml.__file__).parent / 'templates' / 'vivado'


def enum(header: str, name: str) -> dict:
    """The enumerators of `enum name { A = 0, B = 1 };` in a firmware header."""
    body = re.search(rf'enum {name} {{([^}}]*)}};', (FIRMWARE / header).read_text())
    assert body, f'no enum {name} in {header}'
    return {key: int(value) for key, value in re.findall(r'(\w+) = (\d+)', body.group(1))}


def test_plan_layout_equals_the_header():
    fields = enum('hls4ml_reuse_tables.h', 'plan_field')
    assert fields.pop('PLAN_ROW') == constants.PLAN_ROW
    assert fields == {f'PLAN_{field.upper()}': i for i, field in enumerate(constants.PLAN_FIELDS)}
    assert enum('hls4ml_reuse_tables.h', 'plan_flag') == {
        'FLAG_NEGATE': constants.FLAG_NEGATE,
        'FLAG_EXIT': constants.FLAG_EXIT,
    }


def test_tiles_equal_the_header():
    text = (FIRMWARE / 'hls4ml_reuse_tables.h').read_text()
    body = re.search(r'constexpr bool implemented_tile\(unsigned tile\) \{([^}]*)\}', text)
    assert body, 'no implemented_tile() in hls4ml_reuse_tables.h'
    assert tuple(int(tile) for tile in re.findall(r'tile == (\d+)', body.group(1))) == constants.TILES


def test_counters_equal_the_header():
    kinds = enum('hls4ml_reuse_counters.h', 'counter_kind')
    assert kinds.pop('COUNT_KINDS') == len(constants.COUNTER_KINDS)
    assert kinds == {f'COUNT_{kind.upper()}': i for i, kind in enumerate(constants.COUNTER_KINDS)}
    text = (FIRMWARE / 'hls4ml_reuse_counters.h').read_text()
    assert f'static const unsigned MAX_COUNTED_LAYERS = {constants.MAX_COUNTED_LAYERS};' in text


def test_default_config_names_every_shared_constant():
    text = (FIRMWARE / 'hls4ml_reuse_unit.h').read_text()
    for name in constants.SHARED_WITH_FIRMWARE:
        assert re.search(rf'static const unsigned {name} = \w+;', text), f'reuse_unit_config lacks {name}'


def test_generated_configs_carry_the_shared_constants(out_dir):
    """The converter writes ir/constants.py's values into every unit's config, and the project compiles with them."""
    model = binary_mlp([6, 4], 10, seed=1)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    parameters = (Path(out_dir) / 'firmware' / 'parameters.h').read_text()
    units = reuse_units(hls_model)
    assert len(units) == 2
    for layer in units:
        config = re.search(rf'struct config{layer.index} : hls4ml_reuse::dense_reuse_config {{(.*?)\n}};', parameters, re.S)
        assert config, f'no config struct for {layer.name}'
        for name, value in constants.SHARED_WITH_FIRMWARE.items():
            assert f'static const unsigned {name} = {value};' in config.group(1)


UNIT = r"""
#include "ap_fixed.h"
#include "nnet_utils/nnet_types.h"
#include "hls4ml_reuse_dense.h"

struct config : hls4ml_reuse::dense_reuse_config {
    static const unsigned n_in = 8, n_out = 2, n_kernels = 2, n_positions = 16;
    OVERRIDE
};
typedef nnet::array<ap_uint<1>, 8> in_t;
typedef nnet::array<ap_uint<1>, 2> out_t;
ap_uint<1> weights[16], at_most[2];
config::position_t positions[16];
config::plan_t plan[2 * hls4ml_reuse::PLAN_ROW];
config::threshold_t thresholds[2];

void top(hls::stream<in_t> &in, hls::stream<out_t> &out) {
    hls4ml_reuse::reuse_unit<in_t, out_t, config>(in, out, weights, positions, plan, thresholds, at_most);
}
"""

MISMATCHES = {
    # config field: (a value Python might write that the headers do not share, what the error names)
    'plan_row': (constants.PLAN_ROW + 1, 'plan_row'),
    'flag_negate': (4, 'flag_negate'),
    'flag_exit': (4, 'flag_exit'),
    'count_kinds': (len(constants.COUNTER_KINDS) + 1, 'count_kinds'),
    'max_counted_layers': (constants.MAX_COUNTED_LAYERS * 2, 'max_counted_layers'),
    'counter_id': (constants.MAX_COUNTED_LAYERS, 'counter_id'),
    'tile': (12, 'tile must be one of TILES'),
}


def compile_unit(tmp_path, override: str) -> subprocess.CompletedProcess:
    (tmp_path / 'unit.cpp').write_text(UNIT.replace('OVERRIDE', override))
    command = [
        'g++', '-std=c++11', '-fsyntax-only', '-Wno-unknown-pragmas',
        '-isystem', str(TEMPLATES / 'ap_types'), '-isystem', str(TEMPLATES), '-I', str(FIRMWARE), 'unit.cpp',
    ]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which('g++') is None, reason='g++ is not on PATH')
def test_agreeing_config_compiles(tmp_path):
    build = compile_unit(tmp_path, '')
    assert build.returncode == 0, build.stderr[-4000:]


@pytest.mark.skipif(shutil.which('g++') is None, reason='g++ is not on PATH')
@pytest.mark.parametrize('field', list(MISMATCHES))
def test_disagreeing_config_fails_the_build(field, tmp_path):
    value, message = MISMATCHES[field]
    build = compile_unit(tmp_path, f'static const unsigned {field} = {value};')
    assert build.returncode != 0, f'{field} = {value} compiled'
    assert f'static assertion failed: {message}' in build.stderr, build.stderr[-4000:]
