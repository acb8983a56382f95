"""The dense, Conv2D and max-pooling headers compile cleanly with strict warnings, as C++11 (Vivado HLS' dialect), on both tile-sum paths
and in their __SYNTHESIS__ branch, folded (gathered and banked lanes) and unrolled; a config may pin either tile-sum policy or either shape, and both give the
same outputs."""

import shutil
import subprocess
from pathlib import Path

import hls4ml
import pytest

from hls4ml_reuse import plugin

TEMPLATES = Path(hls4ml.__file__).parent / 'templates' / 'vivado'

UNIT = r"""
#include <stdlib.h>

#include "ap_fixed.h"
#include "nnet_utils/nnet_types.h"
#include "hls4ml_reuse_dense.h"
#include "hls4ml_reuse_conv2d.h"
#include "hls4ml_reuse_pool.h"

struct fixed_config : hls4ml_reuse::dense_reuse_config {
    static const unsigned n_in = 20, n_out = 3, n_kernels = 3, n_positions = 60, tile = 8;
    static const bool binary_input = false;
    static const int input_frac_bits = 8;
    static const unsigned input_bound = 255;
    static const unsigned counter_id = 1;
    typedef ap_int<16> accum_t;
};
struct binary_config : hls4ml_reuse::dense_reuse_config {
    static const unsigned n_in = 70, n_out = 2, n_kernels = 2, n_positions = 140, tile = 64;
    static const bool thresholded = true, bipolar_output = true;
    static const unsigned counter_id = 2;
    typedef ap_int<10> accum_t;
};

// The same layers with the synthesizable tile sums chosen by the config (in the 'fast' build, both policies meet)
struct fixed_synth_config : fixed_config {
    static const unsigned counter_id = 4;
    template <class CONFIG_T> using tile_sums = hls4ml_reuse::synth_tile_sums<CONFIG_T>;
};
struct binary_synth_config : binary_config {
    static const unsigned counter_id = 5;
    template <class CONFIG_T> using tile_sums = hls4ml_reuse::synth_tile_sums<CONFIG_T>;
};

// Banked lanes (lane i reads positions i mod tile), with zero skipping on the fixed-point one: the same outputs
struct fixed_banked_config : fixed_config {
    static const bool banked = true, zero_skip = true;
    static const unsigned n_positions = 3 * 3 * 8, counter_id = 7;  // 3 rows of 8 slots per kernel
};
struct binary_banked_config : binary_config {
    static const bool banked = true;
    static const unsigned n_positions = 2 * 2 * 64, counter_id = 8;
};

struct conv_config : hls4ml_reuse::conv2d_reuse_config {  // 5x5x2, 3x3 'same', 2x2 max pooling absorbed
    static const unsigned n_in = 18, n_out = 4, n_kernels = 4, n_positions = 72, tile = 16;
    static const bool thresholded = true;
    static const unsigned counter_id = 3;
    static const unsigned in_height = 5, in_width = 5, n_chan = 2, filt_height = 3, filt_width = 3;
    static const unsigned pad_top = 1, pad_left = 1, out_height = 5, out_width = 5;
    static const unsigned pool_height = 2, pool_width = 2, pooled_height = 2, pooled_width = 2;
    typedef ap_int<8> accum_t;
};

// The unrolled shape (nothing exits early): the dense unit compared with the folded one, the convolution without pooling
struct binary_unrolled_config : binary_config {
    static const bool early_exit = false;
    static const unsigned counter_id = 6;
    template <class data_T, class res_T, class CONFIG_T>
    using implementation = hls4ml_reuse::dense_unrolled<data_T, res_T, CONFIG_T>;
};
struct conv_unrolled_config : conv_config {
    static const bool early_exit = false;
    static const unsigned counter_id = 7;
    static const unsigned pool_height = 1, pool_width = 1, pooled_height = 1, pooled_width = 1;
    template <class data_T, class res_T, class CONFIG_T>
    using implementation = hls4ml_reuse::conv2d_unrolled<data_T, res_T, CONFIG_T>;
};

template <class CONFIG_T> struct tables {
    ap_uint<1> bits[CONFIG_T::n_kernels * CONFIG_T::n_in];
    typename CONFIG_T::position_t positions[CONFIG_T::n_positions];
    typename CONFIG_T::plan_t plan[CONFIG_T::n_kernels * hls4ml_reuse::PLAN_ROW];
    typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out];
    ap_uint<1> at_most[CONFIG_T::n_out];

    tables() {  // every kernel a root over all positions
        for (unsigned i = 0; i < CONFIG_T::n_kernels * CONFIG_T::n_in; i++) {
            bits[i] = 1;
            positions[i] = i % CONFIG_T::n_in;
        }
        for (unsigned n = 0; n < CONFIG_T::n_out; n++) {
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_KERNEL] = n;
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_PARENT] = 0;
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_FLAGS] = 0;
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_POSITIONS] = CONFIG_T::n_in;
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_OFFSET] = n * CONFIG_T::n_in;
            plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_ROWS] = hls4ml_reuse::n_tiles(CONFIG_T::n_in, CONFIG_T::tile);
            thresholds[n] = 0;
            at_most[n] = 0;
        }
    }
};

template <class CONFIG_T, class in_T, class out_T> int run_conv(unsigned pixels) {
    static tables<CONFIG_T> t;
    hls::stream<in_T> in;
    hls::stream<out_T> out;
    for (unsigned pixel = 0; pixel < CONFIG_T::in_height * CONFIG_T::in_width; pixel++) {
        in_T word;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) word[c] = (pixel + c) % 2;
        in.write(word);
    }
    hls4ml_reuse::reuse_unit<in_T, out_T, CONFIG_T>(in, out, t.bits, t.positions, t.plan, t.thresholds, t.at_most);
    return out.size() == pixels ? 0 : 1;
}

struct pool_config : hls4ml_reuse::max_pool2d_config {  // 5x5x2, 3x3 stride 2 'same' (one padded row and column)
    static const unsigned in_height = 5, in_width = 5, n_chan = 2, pool_height = 3, pool_width = 3;
    static const unsigned stride_height = 2, stride_width = 2, pad_top = 1, pad_left = 1, out_height = 3, out_width = 3;
};

// Values fall along the raster order, all negative: each window's maximum is its first position in the map.
template <class word_T> int run_pool() {
    hls::stream<word_T> in, out;
    for (unsigned pixel = 0; pixel < pool_config::in_height * pool_config::in_width; pixel++) {
        word_T word;
        for (unsigned c = 0; c < pool_config::n_chan; c++) word[c] = -int(pixel) - int(c) - 1;
        in.write(word);
    }
    hls4ml_reuse::max_pool2d<word_T, word_T, pool_config>(in, out);
    if (out.size() != pool_config::out_height * pool_config::out_width) return 1;
    const word_T first = out.read(), second = out.read();  // windows starting at map columns 0 and 1
    return first[1] == -2 && second[1] == -3 ? 0 : 1;
}

template <class in_T> void ramp(in_T &word) {  // 0, 0.375, 0.75: exact in ufixed<8,0>
    for (unsigned k = 0; k < in_T::size; k++) word[k] = (k % 3) * 0.375;
}
void ramp(nnet::array<ap_uint<1>, 70> &word) {
    for (unsigned k = 0; k < 70; k++) word[k] = k % 3 == 0;
}

template <class CONFIG_T, class in_T, class out_T> out_T run() {
    static ap_uint<1> bits[CONFIG_T::n_kernels * CONFIG_T::n_in];
    static typename CONFIG_T::position_t positions[CONFIG_T::n_positions];
    static typename CONFIG_T::plan_t plan[CONFIG_T::n_kernels * hls4ml_reuse::PLAN_ROW];
    static typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out];
    static ap_uint<1> at_most[CONFIG_T::n_out];
    const unsigned rows = hls4ml_reuse::n_slots(CONFIG_T::n_in, CONFIG_T::tile);
    const unsigned entries = CONFIG_T::banked ? rows * CONFIG_T::tile : CONFIG_T::n_in;  // per kernel
    for (unsigned i = 0; i < CONFIG_T::n_kernels * CONFIG_T::n_in; i++) bits[i] = 1;
    for (unsigned n = 0; n < CONFIG_T::n_kernels; n++) {  // every kernel a root over all positions
        for (unsigned e = 0; e < entries; e++) {
            const unsigned row = e / CONFIG_T::tile, lane = e % CONFIG_T::tile;  // banked: slot `row` of bank `lane`
            positions[n * entries + e] = !CONFIG_T::banked ? e : row * CONFIG_T::tile + lane < CONFIG_T::n_in ? row : rows;
        }
    }
    for (unsigned n = 0; n < CONFIG_T::n_out; n++) {
        plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_KERNEL] = n;
        plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_POSITIONS] = CONFIG_T::n_in;
        plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_OFFSET] = n * entries;
        plan[n * hls4ml_reuse::PLAN_ROW + hls4ml_reuse::PLAN_ROWS] = rows;
    }
    hls::stream<in_T> in;
    hls::stream<out_T> out;
    in_T word;
    ramp(word);
    in.write(word);
    hls4ml_reuse::reuse_unit<in_T, out_T, CONFIG_T>(in, out, bits, positions, plan, thresholds, at_most);
    if (out.size() != 1) abort();
    return out.read();
}

template <class CONFIG_A, class CONFIG_B, class in_T, class out_T> int run_both() {
    const out_T a = run<CONFIG_A, in_T, out_T>(), b = run<CONFIG_B, in_T, out_T>();
    for (unsigned i = 0; i < out_T::size; i++) {
        if (a[i] != b[i]) return 1;
    }
    return 0;
}

int main() {
    return run_both<fixed_config, fixed_synth_config, nnet::array<ap_ufixed<8, 0>, 20>, nnet::array<ap_fixed<16, 8>, 3> >() +
           run_both<binary_config, binary_synth_config, nnet::array<ap_uint<1>, 70>, nnet::array<ap_int<2>, 2> >() +
           run_both<binary_config, binary_unrolled_config, nnet::array<ap_uint<1>, 70>, nnet::array<ap_int<2>, 2> >() +
           run_both<fixed_config, fixed_banked_config, nnet::array<ap_ufixed<8, 0>, 20>, nnet::array<ap_fixed<16, 8>, 3> >() +
           run_both<binary_config, binary_banked_config, nnet::array<ap_uint<1>, 70>, nnet::array<ap_int<2>, 2> >() +
           run_conv<conv_config, nnet::array<ap_uint<1>, 2>, nnet::array<ap_uint<1>, 4> >(2 * 2) +
           run_conv<conv_unrolled_config, nnet::array<ap_uint<1>, 2>, nnet::array<ap_uint<1>, 4> >(5 * 5) +
           run_pool<nnet::array<ap_fixed<8, 6>, 2> >();
}
"""


@pytest.mark.skipif(shutil.which('g++') is None, reason='g++ is not on PATH')
@pytest.mark.parametrize('path', ['fast', 'synthesizable', 'synthesis-branch'])
def test_headers_compile_with_warnings_as_errors(path, tmp_path):
    unit = UNIT
    if path == 'synthesis-branch':  # our headers as HLS sees them (ap_types refuse __SYNTHESIS__: included before)
        unit = UNIT.replace(
            '#include "hls4ml_reuse_dense.h"',
            '#include "hls_stream.h"\n#define __SYNTHESIS__ 1\n#include "hls4ml_reuse_dense.h"',
        )
        assert '#define __SYNTHESIS__' in unit
    (tmp_path / 'unit.cpp').write_text(unit)
    header_dir = plugin.header_paths()[0].parent
    command = [
        'g++', '-std=c++11', '-Wall', '-Wextra', '-Wshadow', '-Werror', '-O0',
        '-Wno-unused-label', '-Wno-unknown-pragmas',  # HLS loop labels and pragmas mean nothing to g++
        # -O0: with inlining, g++ flags uninitialized reads inside ap_types' own constructors
        '-isystem', str(TEMPLATES / 'ap_types'), '-isystem', str(TEMPLATES),
        '-I', str(header_dir), 'unit.cpp', '-o', 'unit',
    ]  # fmt: skip
    if path == 'synthesizable':
        command.insert(1, '-DHLS4ML_REUSE_SYNTH_PATH')
    build = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-4000:]
    assert subprocess.run([str(tmp_path / 'unit')]).returncode == 0
