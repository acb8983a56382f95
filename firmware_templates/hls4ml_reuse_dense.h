#ifndef HLS4ML_REUSE_DENSE_H_
#define HLS4ML_REUSE_DENSE_H_

// Reuse-delta / early-exit dense unit for binary weights (hls4ml io_stream).
//
// Output channels are evaluated in plan order. A root sums all K positions; a child starts
// from its parent's value (negated in the complement form) and adds twice the sum of its own
// weight times the input over only its planned positions:
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
};

// Plan table row layout: one row per evaluation step.
enum plan_field { PLAN_KERNEL = 0, PLAN_PARENT = 1, PLAN_FLAGS = 2, PLAN_POSITIONS = 3, PLAN_ROW = 4 };
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
// Tile sums: sum_{k in tile, mask[k]} w[k] * x[k] and the number of positions summed.
// tile_sum_synth is the synthesizable shape (an unrolled, masked tile); tile_sum_fast is
// C-simulation only (packed words and popcounts) and must give the same sums and counts.
// ---------------------------------------------------------------------------------------------

template <class CONFIG_T, class acc_T, class data_T, class weight_T, class mask_T>
void tile_sum_synth(const data_T x[CONFIG_T::n_in], const weight_T *w_row, const mask_T *m_row, unsigned t, acc_T &sum,
                    unsigned &count) {
    sum = 0;
    count = 0;
TilePositionLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
        #pragma HLS UNROLL
        const unsigned k = t * CONFIG_T::tile + i;
        if (k < CONFIG_T::n_in && m_row[k] == 1) {
            const acc_T v = raw_input<CONFIG_T, acc_T>(x[k]);
            sum += (w_row[k] == 1) ? v : acc_T(-v);
            count++;
        }
    }
}

#ifndef __SYNTHESIS__
typedef unsigned long long word_t;
static const unsigned word_bits = 64;

// Packed copies of a layer's kernels and masks, built once from the loaded weight tables.
template <class CONFIG_T> struct packed_tables {
    static const unsigned n_words = (CONFIG_T::n_in + word_bits - 1) / word_bits;
    word_t w[CONFIG_T::n_out][n_words];
    word_t m[CONFIG_T::n_out][n_words];
    bool ready = false;

    template <class weight_T, class mask_T> void build(const weight_T *weights, const mask_T *masks) {
        for (unsigned n = 0; n < CONFIG_T::n_out; n++) {
            for (unsigned i = 0; i < n_words; i++) {
                w[n][i] = 0;
                m[n][i] = 0;
            }
            for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
                const word_t bit = word_t(1) << (k % word_bits);
                if (weights[n * CONFIG_T::n_in + k] == 1) w[n][k / word_bits] |= bit;
                if (masks[n * CONFIG_T::n_in + k] == 1) m[n][k / word_bits] |= bit;
            }
        }
        ready = true;
    }
};

template <class CONFIG_T> inline word_t tile_bits(unsigned t) {
    const unsigned shift = (t * CONFIG_T::tile) % word_bits;
    return CONFIG_T::tile == word_bits ? ~word_t(0) : ((word_t(1) << CONFIG_T::tile) - 1) << shift;
}

// Hardware popcount where the C-simulation host has it (g++ otherwise calls a library routine).
#if defined(__x86_64__) && defined(__GNUC__)
#define HLS4ML_REUSE_FAST_TARGET __attribute__((target("popcnt")))
#else
#define HLS4ML_REUSE_FAST_TARGET
#endif

template <class CONFIG_T>
HLS4ML_REUSE_FAST_TARGET void tile_sum_fast(const word_t *x_bits, const long long *x_raw, const packed_tables<CONFIG_T> &tables, unsigned n,
                   unsigned t, long long &sum, unsigned &count) {
    const unsigned word = (t * CONFIG_T::tile) / word_bits;
    const word_t positions = tables.m[n][word] & tile_bits<CONFIG_T>(t);
    count = __builtin_popcountll(positions);
    if (CONFIG_T::binary_input) {
        const long long agree = __builtin_popcountll(~(x_bits[word] ^ tables.w[n][word]) & positions);
        sum = 2 * agree - (long long)count;
        return;
    }
    sum = 0;
    for (word_t rest = positions; rest != 0; rest &= rest - 1) {
        const unsigned k = word * word_bits + __builtin_ctzll(rest);
        sum += ((tables.w[n][word] >> (k % word_bits)) & 1) ? x_raw[k] : -x_raw[k];
    }
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
 * \param masks       planned positions per kernel, [n_out][n_in] bits
 * \param plan        [n_out][PLAN_ROW] evaluation steps: kernel, parent + 1 (0 = root), flags, positions
 * \param thresholds  raw thresholds per channel (thresholded layers)
 * \param at_most     1 where the channel is [y <= t] (negative BatchNorm scale)
 */
template <class CONFIG_T, class acc_T, class data_T, class res_T>
void dense_reuse_vector(const data_T x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                        const ap_uint<1> weights[CONFIG_T::n_out * CONFIG_T::n_in],
                        const ap_uint<1> masks[CONFIG_T::n_out * CONFIG_T::n_in],
                        const typename CONFIG_T::plan_t plan[CONFIG_T::n_out * PLAN_ROW],
                        const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                        const ap_uint<1> at_most[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::tile == 8 || CONFIG_T::tile == 16 || CONFIG_T::tile == 32 || CONFIG_T::tile == 64,
                  "tile must be 8, 16, 32 or 64 positions");
    static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_out > 0, "a dense unit needs inputs and outputs");
    const unsigned tiles = n_tiles(CONFIG_T::n_in, CONFIG_T::tile);
    acc_T y[CONFIG_T::n_out];
    const acc_T y_limit = acc_T(CONFIG_T::n_in) * acc_T(CONFIG_T::input_bound); // |y| <= K * B

#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
    static packed_tables<CONFIG_T> tables;
    if (!tables.ready) tables.build(weights, masks);
    word_t x_bits[packed_tables<CONFIG_T>::n_words] = {0};
    long long x_raw[CONFIG_T::n_in];
    for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
        // Exact: raw inputs are integers far below 2^53.
        x_raw[k] = CONFIG_T::binary_input ? (x[k] == 1 ? 1 : -1)
                                          : (long long)(x[k].to_double() * double(1LL << CONFIG_T::input_frac_bits));
        if (x_raw[k] > 0) x_bits[k / word_bits] |= word_t(1) << (k % word_bits);
    }
#endif
#ifndef __SYNTHESIS__
    unsigned long long inputs_summed = 0, word_adds = 0;
#endif

ReuseLoop:
    for (unsigned step = 0; step < CONFIG_T::n_out; step++) {
        const unsigned n = plan[step * PLAN_ROW + PLAN_KERNEL];
        const unsigned parent = plan[step * PLAN_ROW + PLAN_PARENT];
        const unsigned flags = plan[step * PLAN_ROW + PLAN_FLAGS];
        const bool is_root = parent == 0;
        const bool may_exit = CONFIG_T::thresholded && CONFIG_T::early_exit && (flags & FLAG_EXIT);
        const bool at_most_n = CONFIG_T::thresholded && at_most[n] == 1;
        const acc_T threshold = CONFIG_T::thresholded ? acc_T(thresholds[n]) : acc_T(0); // read once per channel
        const acc_T scale = is_root ? acc_T(1) : acc_T(2);
        acc_T base = 0;
        if (!is_root) base = (flags & FLAG_NEGATE) ? acc_T(-y[parent - 1]) : y[parent - 1];
        acc_T partial = 0;
        acc_T remaining = plan[step * PLAN_ROW + PLAN_POSITIONS];
        bool bit = false;
        bool done = may_exit && settled(acc_T(base), acc_T(scale * remaining * CONFIG_T::input_bound), y_limit,
                                        threshold, at_most_n, bit);
#ifndef __SYNTHESIS__
        if (!is_root && !done) word_adds++;
#endif
    TileLoop:
        for (unsigned t = 0; t < tiles; t++) {
            if (done) break;
            acc_T sum;
            unsigned count;
#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
            long long fast_sum;
            tile_sum_fast<CONFIG_T>(x_bits, x_raw, tables, n, t, fast_sum, count);
            sum = fast_sum;
#else
            tile_sum_synth<CONFIG_T, acc_T>(x, &weights[n * CONFIG_T::n_in], &masks[n * CONFIG_T::n_in], t, sum, count);
#endif
            if (count == 0) continue;
            partial += sum;
            remaining -= count;
#ifndef __SYNTHESIS__
            inputs_summed += count;
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
    count_ops(CONFIG_T::counter_id, inputs_summed, word_adds);
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
                 const ap_uint<1> masks[CONFIG_T::n_out * CONFIG_T::n_in],
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
    dense_reuse_vector<CONFIG_T, long long>(x, res, weights, masks, plan, thresholds, at_most);
#else
    dense_reuse_vector<CONFIG_T, typename CONFIG_T::accum_t>(x, res, weights, masks, plan, thresholds, at_most);
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
