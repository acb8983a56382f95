#ifndef HLS4ML_REUSE_DENSE_H_
#define HLS4ML_REUSE_DENSE_H_

// Reuse-delta / early-exit dense unit for binary weights (hls4ml io_stream).
//
// Output channels are evaluated in plan order. A root sums all K positions; a child starts
// from its parent's value (negated in the complement form) and adds twice the sum of its own
// weight times the input over only its planned positions, gathered into tiles of `tile`:
//     y_child = (negate ? -y_parent : y_parent) + 2 * sum_{k in mask} w_child[k] * x[k].
// A thresholded channel without children may stop after any tile, and before the first one
// (the inclusion test), as soon as its side of the threshold is certain.
//
// All arithmetic is on raw integers: a fixed-point input x is used as x * 2^input_frac_bits,
// binary inputs and weights are single bits with 1 = +1.

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"
#include "hls4ml_reuse_counters.h"

namespace hls4ml_reuse {

// Default configuration; the converter writes one derived struct per layer.
struct dense_reuse_config {
    static const unsigned n_in = 1;              // K: inputs per output channel
    static const unsigned n_out = 1;             // N: output channels
    static const unsigned n_positions = 1;       // length of the gathered-position table (>= 1)
    static const unsigned tile = 8;              // positions per tile (8, 16, 32 or 64)
    static const bool binary_input = true;       // inputs are bits (1 = +1) rather than fixed point
    static const int input_frac_bits = 0;        // fixed-point inputs are scaled by 2^input_frac_bits
    static const unsigned input_bound = 1;       // largest |raw input|, for the early-exit bound
    static const bool thresholded = false;       // outputs are [y >= t] / [y <= t] bits
    static const bool bipolar_output = false;    // thresholded bits written as -1/+1 (model outputs)
    static const bool early_exit = true;         // childless thresholded channels may stop early
    static const unsigned counter_id = 0;        // slot of this layer's C-simulation counters
    typedef ap_int<32> accum_t;                  // raw sums and bounds: holds 3 * K * input_bound
    typedef ap_int<32> threshold_t;              // raw thresholds
    typedef ap_uint<16> plan_t;                  // plan table entries
    typedef ap_uint<16> position_t;              // gathered-position table entries
};

// Plan table row layout: one row per evaluation step.
enum plan_field { PLAN_KERNEL = 0, PLAN_PARENT = 1, PLAN_FLAGS = 2, PLAN_POSITIONS = 3, PLAN_OFFSET = 4, PLAN_ROW = 5 };
enum plan_flag { FLAG_NEGATE = 1, FLAG_EXIT = 2 };

constexpr unsigned n_tiles(unsigned k, unsigned tile) { return (k + tile - 1) / tile; }

// Raw integer value of one input (bit -> +-1, fixed point -> x * 2^F).
template <class CONFIG_T, class acc_T, class data_T> inline acc_T raw_input(const data_T x) {
    if (CONFIG_T::binary_input) {
        return x == 1 ? acc_T(1) : acc_T(-1);
    }
    typename CONFIG_T::accum_t scaled = x * (ap_uint<CONFIG_T::input_frac_bits + 1>(1) << CONFIG_T::input_frac_bits);
    return acc_T(scaled);
}

// ---------------------------------------------------------------------------------------------
// Tile sums: sum of w[k] * x[k] over tile t of a kernel's gathered positions (ascending), and the
// number of positions in that tile. tile_sum_synth is the synthesizable shape (T lanes, each a
// gather from the window); tile_sum_fast is C-simulation only (plain integers on copies of the
// tables made once) and must give the same sums and counts.
// ---------------------------------------------------------------------------------------------

template <class CONFIG_T, class acc_T, class data_T, class pos_T>
void tile_sum_synth(const data_T x[CONFIG_T::n_in], const ap_uint<1> *w_row, const pos_T *positions, unsigned n_positions,
                    unsigned t, acc_T &sum, unsigned &count) {
    sum = 0;
    count = 0;
TileLaneLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
        #pragma HLS UNROLL
        const unsigned index = t * CONFIG_T::tile + i;
        if (index < n_positions) {
            const unsigned k = positions[index];
            const acc_T v = raw_input<CONFIG_T, acc_T>(x[k]);
            sum += (w_row[k] == 1) ? v : acc_T(-v);
            count++;
        }
    }
}

#ifndef __SYNTHESIS__
// Plain-integer copies of a layer's weights (+-1) and positions, built once from the loaded tables.
template <class CONFIG_T> struct fast_tables {
    signed char w[CONFIG_T::n_out * CONFIG_T::n_in];
    unsigned short positions[CONFIG_T::n_positions];
    bool ready = false;

    template <class pos_T> void build(const ap_uint<1> *weights, const pos_T *position_table) {
        for (unsigned i = 0; i < CONFIG_T::n_out * CONFIG_T::n_in; i++) w[i] = weights[i] == 1 ? 1 : -1;
        for (unsigned i = 0; i < CONFIG_T::n_positions; i++) positions[i] = position_table[i];
        ready = true;
    }
};

template <class CONFIG_T>
inline void tile_sum_fast(const long long *x_raw, const signed char *w_row, const unsigned short *positions,
                          unsigned n_positions, unsigned t, long long &sum, unsigned &count) {
    const unsigned first = t * CONFIG_T::tile;
    const unsigned last = first + CONFIG_T::tile < n_positions ? first + CONFIG_T::tile : n_positions;
    sum = 0;
    for (unsigned index = first; index < last; index++) {
        const unsigned k = positions[index];
        sum += w_row[k] * x_raw[k];
    }
    count = last - first;
}
#endif

// [y >= t] or [y <= t] is settled for every y in [value - spread, value + spread] within [-limit, limit]
// (every output lies in [-K*B, K*B]: that clip settles constant children before their first tile).
template <class acc_T>
inline bool settled(acc_T value, acc_T spread, acc_T limit, acc_T threshold, bool at_most, bool &bit) {
    const acc_T lo = (value - spread < -limit) ? acc_T(-limit) : acc_T(value - spread);
    const acc_T hi = (value + spread > limit) ? limit : acc_T(value + spread);
    if (at_most) {
        bit = hi <= threshold;
        return hi <= threshold || lo > threshold;
    }
    bit = lo >= threshold;
    return lo >= threshold || hi < threshold;
}

template <class CONFIG_T, class acc_T, class res_T> inline void write_output(res_T &res, acc_T y, bool bit) {
    if (CONFIG_T::thresholded) {
        if (CONFIG_T::bipolar_output) {
            res = bit ? 1 : -1;
        } else {
            res = bit ? 1 : 0;
        }
        return;
    }
    typename CONFIG_T::accum_t raw = y;
    const int width = CONFIG_T::accum_t::width;
    ap_fixed<width, width - CONFIG_T::input_frac_bits> value;
    value.range(width - 1, 0) = raw.range(width - 1, 0);
    res = value;
}

/**
 * \brief Reuse-delta / early-exit evaluation of one input vector.
 *
 * \tparam CONFIG_T   layer configuration (dense_reuse_config)
 * \tparam acc_T      accumulator: CONFIG_T::accum_t when synthesizing, long long in C simulation
 * \param x           the input vector (n_in values)
 * \param res         the n_out outputs, in channel order
 * \param weights     kernels, [n_out][n_in] bits (1 = +1)
 * \param positions   every kernel's planned positions, ascending, concatenated (see PLAN_OFFSET)
 * \param plan        [n_out][PLAN_ROW] evaluation steps: kernel, parent + 1 (0 = root), flags, number of
 *                    positions, offset of the kernel's positions in the position table
 * \param thresholds  raw thresholds per channel (thresholded layers)
 * \param at_most     1 where the channel is [y <= t] (negative BatchNorm scale)
 */
template <class CONFIG_T, class acc_T, class data_T, class res_T>
void dense_reuse_vector(const data_T x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                        const ap_uint<1> weights[CONFIG_T::n_out * CONFIG_T::n_in],
                        const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                        const typename CONFIG_T::plan_t plan[CONFIG_T::n_out * PLAN_ROW],
                        const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                        const ap_uint<1> at_most[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::tile == 8 || CONFIG_T::tile == 16 || CONFIG_T::tile == 32 || CONFIG_T::tile == 64,
                  "tile must be 8, 16, 32 or 64 positions");
    static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_out > 0, "a dense unit needs inputs and outputs");
    static_assert(CONFIG_T::n_positions >= 1, "the position table holds at least one entry");
    const unsigned max_tiles = n_tiles(CONFIG_T::n_in, CONFIG_T::tile);
    acc_T y[CONFIG_T::n_out];
    const acc_T y_limit = acc_T(CONFIG_T::n_in) * acc_T(CONFIG_T::input_bound); // |y| <= K * B

#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
    static fast_tables<CONFIG_T> tables;
    if (!tables.ready) tables.build(weights, positions);
    long long x_raw[CONFIG_T::n_in];
    for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
        // Exact: raw inputs are integers far below 2^53.
        x_raw[k] = CONFIG_T::binary_input ? (x[k] == 1 ? 1 : -1)
                                          : (long long)(x[k].to_double() * double(1LL << CONFIG_T::input_frac_bits));
    }
#endif
#ifndef __SYNTHESIS__
    unsigned long long inputs_summed = 0, word_adds = 0, tiles_evaluated = 0;
#endif

ReuseLoop:
    for (unsigned step = 0; step < CONFIG_T::n_out; step++) {
        const unsigned n = plan[step * PLAN_ROW + PLAN_KERNEL];
        const unsigned parent = plan[step * PLAN_ROW + PLAN_PARENT];
        const unsigned flags = plan[step * PLAN_ROW + PLAN_FLAGS];
        const unsigned n_positions = plan[step * PLAN_ROW + PLAN_POSITIONS];
        const unsigned offset = plan[step * PLAN_ROW + PLAN_OFFSET];
        const bool is_root = parent == 0;
        const bool may_exit = CONFIG_T::thresholded && CONFIG_T::early_exit && (flags & FLAG_EXIT);
        const bool at_most_n = CONFIG_T::thresholded && at_most[n] == 1;
        const acc_T threshold = CONFIG_T::thresholded ? acc_T(thresholds[n]) : acc_T(0); // read once per channel
        const acc_T scale = is_root ? acc_T(1) : acc_T(2);
        acc_T base = 0;
        if (!is_root) base = (flags & FLAG_NEGATE) ? acc_T(-y[parent - 1]) : y[parent - 1];
        acc_T partial = 0;
        acc_T remaining = n_positions;
        bool bit = false;
        bool done = may_exit && settled(acc_T(base), acc_T(scale * remaining * CONFIG_T::input_bound), y_limit,
                                        threshold, at_most_n, bit);
#ifndef __SYNTHESIS__
        if (!is_root && !done) word_adds++;
#endif
    TileLoop:
        for (unsigned t = 0; t < max_tiles; t++) {
            if (done || t * CONFIG_T::tile >= n_positions) break;
            acc_T sum;
            unsigned count;
#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
            long long fast_sum;
            tile_sum_fast<CONFIG_T>(x_raw, &tables.w[n * CONFIG_T::n_in], &tables.positions[offset], n_positions, t,
                                    fast_sum, count);
            sum = fast_sum;
#else
            tile_sum_synth<CONFIG_T, acc_T>(x, &weights[n * CONFIG_T::n_in], &positions[offset], n_positions, t, sum,
                                            count);
#endif
            partial += sum;
            remaining -= count;
#ifndef __SYNTHESIS__
            inputs_summed += count;
            tiles_evaluated++;
#endif
            if (may_exit) {
                done = settled(acc_T(base + scale * partial), acc_T(scale * remaining * CONFIG_T::input_bound),
                               y_limit, threshold, at_most_n, bit);
            }
        }
        y[n] = base + scale * partial;
        if (CONFIG_T::thresholded && !done) {
            bit = at_most_n ? (y[n] <= threshold) : (y[n] >= threshold);
        }
        write_output<CONFIG_T>(res[n], y[n], bit);
    }
#ifndef __SYNTHESIS__
    count_ops(CONFIG_T::counter_id, inputs_summed, word_adds, tiles_evaluated);
#endif
}

/**
 * \brief io_stream wrapper: reads one input vector, evaluates it, writes the outputs.
 *
 * \tparam data_T  input stream word (nnet::array of data_T::size values)
 * \tparam res_T   output stream word (nnet::array of res_T::size values)
 */
template <class data_T, class res_T, typename CONFIG_T>
void dense_reuse(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream,
                 const ap_uint<1> weights[CONFIG_T::n_out * CONFIG_T::n_in],
                 const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                 const typename CONFIG_T::plan_t plan[CONFIG_T::n_out * PLAN_ROW],
                 const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                 const ap_uint<1> at_most[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::n_in % data_T::size == 0, "n_in must be a multiple of the input stream width");
    static_assert(CONFIG_T::n_out % res_T::size == 0, "n_out must be a multiple of the output stream width");
    typename data_T::value_type x[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=x complete
    typename res_T::value_type res[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=res complete

ReadInput:
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        const data_T word = data_stream.read();
        for (unsigned j = 0; j < data_T::size; j++) {
            #pragma HLS UNROLL
            x[i * data_T::size + j] = word[j];
        }
    }

#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
    dense_reuse_vector<CONFIG_T, long long>(x, res, weights, positions, plan, thresholds, at_most);
#else
    dense_reuse_vector<CONFIG_T, typename CONFIG_T::accum_t>(x, res, weights, positions, plan, thresholds, at_most);
#endif

WriteOutput:
    for (unsigned i = 0; i < CONFIG_T::n_out / res_T::size; i++) {
        res_T word;
        for (unsigned j = 0; j < res_T::size; j++) {
            #pragma HLS UNROLL
            word[j] = res[i * res_T::size + j];
        }
        res_stream.write(word);
    }
}

} // namespace hls4ml_reuse

#endif
