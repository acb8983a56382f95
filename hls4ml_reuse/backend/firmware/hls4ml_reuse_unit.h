#ifndef HLS4ML_REUSE_UNIT_H_
#define HLS4ML_REUSE_UNIT_H_

// Reuse-delta / early-exit evaluation of one input vector against N binary kernels: the
// arithmetic shared by the dense unit (one vector per sample) and the convolution unit (one
// vector per window).
//
// Output channels are evaluated in plan order. A root sums all K positions; a child starts
// from its parent's value (negated in the complement form) and adds twice the sum of its own
// weight times the input over only its planned positions, gathered into tiles of `tile`:
//     y_child = (negate ? -y_parent : y_parent) + 2 * sum_{k in mask} w_child[k] * x[k].
// A thresholded channel without children may stop after any tile, and before the first one
// (the inclusion test), as soon as its side of the threshold is certain.
//
// All arithmetic is on raw integers: a fixed-point input x is used as x * 2^input_frac_bits,
// binary inputs and weights are single bits with 1 = +1, and a padded input is 0.

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls4ml_reuse_counters.h"

#if !defined(__SYNTHESIS__) && !defined(HLS4ML_REUSE_SYNTH_PATH)
#define HLS4ML_REUSE_FAST_CSIM 1 // C simulation on plain integers and packed bits
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__x86_64__) && defined(__GNUC__)
// hls4ml compiles the C simulation without -march: ask for the POPCNT instruction where it counts.
#define HLS4ML_REUSE_POPCNT __attribute__((target("popcnt")))
#else
#define HLS4ML_REUSE_POPCNT
#endif
#endif

namespace hls4ml_reuse {

// Default configuration; the converter writes one derived struct per layer.
struct reuse_unit_config {
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
    typedef ap_int<32> raw_t;                    // one raw input (+-1, 0 for padding, or x * 2^F)
    typedef ap_int<32> threshold_t;              // raw thresholds
    typedef ap_uint<32> plan_t;                  // plan table entries
    typedef ap_uint<16> position_t;              // gathered-position table entries
};

// Plan table row layout: one row per evaluation step.
enum plan_field { PLAN_KERNEL = 0, PLAN_PARENT = 1, PLAN_FLAGS = 2, PLAN_POSITIONS = 3, PLAN_OFFSET = 4, PLAN_ROW = 5 };
enum plan_flag { FLAG_NEGATE = 1, FLAG_EXIT = 2 };

constexpr unsigned n_tiles(unsigned k, unsigned tile) { return (k + tile - 1) / tile; }

// Whether a plan step may stop early: a thresholded leaf with early exit on (FLAG_EXIT is set for leaves).
template <class CONFIG_T> inline bool may_exit(unsigned flags) {
    return CONFIG_T::thresholded && CONFIG_T::early_exit && (flags & FLAG_EXIT);
}

// Raw integer value of one input (bit -> +-1, fixed point -> x * 2^F).
template <class CONFIG_T, class raw_T, class data_T> inline raw_T raw_input(const data_T x) {
    if (CONFIG_T::binary_input) {
        return x == 1 ? raw_T(1) : raw_T(-1);
    }
#ifdef HLS4ML_REUSE_FAST_CSIM
    // Exact: raw inputs are integers far below 2^53.
    return raw_T(x.to_double() * double(1LL << CONFIG_T::input_frac_bits));
#else
    typename CONFIG_T::accum_t scaled = x * (ap_uint<CONFIG_T::input_frac_bits + 1>(1) << CONFIG_T::input_frac_bits);
    return raw_T(scaled);
#endif
}

// The type that carries raw inputs between the stream wrappers and the unit.
template <class CONFIG_T> struct raw_value {
#ifdef HLS4ML_REUSE_FAST_CSIM
    typedef int type;
#else
    typedef typename CONFIG_T::raw_t type;
#endif
};

// ---------------------------------------------------------------------------------------------
// Tile sums: sum of w[k] * x[k] over tile t of a kernel's gathered positions (ascending), and the
// number of positions in that tile. tile_sum_synth is the synthesizable shape (T lanes, each a
// gather from the input vector); the C-simulation path (fast_tables) must give the same sums and
// counts: it packs binary inputs into 64-bit words and sums a tile with XNOR-popcounts over the
// words the tile spans, or, for fixed-point inputs, gathers plain integers.
// ---------------------------------------------------------------------------------------------

template <class CONFIG_T, class acc_T, class in_T, class pos_T>
void tile_sum_synth(const in_T x[CONFIG_T::n_in], const ap_uint<1> *w_row, const pos_T *positions, unsigned n_positions,
                    unsigned t, acc_T &sum, unsigned &count) {
    sum = 0;
    count = 0;
TileLaneLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
        #pragma HLS UNROLL
        const unsigned index = t * CONFIG_T::tile + i;
        if (index < n_positions) {
            const unsigned k = positions[index];
            const acc_T v = x[k];
            sum += (w_row[k] == 1) ? v : acc_T(-v);
            count++;
        }
    }
}

#ifdef HLS4ML_REUSE_FAST_CSIM
static const unsigned word_bits = 64;

constexpr unsigned n_words(unsigned k) { return (k + word_bits - 1) / word_bits; }

// One input vector as plain integers, and for binary inputs as bits (1 = +1) with a validity
// mask (0 = padding).
template <class CONFIG_T> struct fast_input {
    long long raw[CONFIG_T::n_in];
    uint64_t bits[n_words(CONFIG_T::n_in)];
    uint64_t valid[n_words(CONFIG_T::n_in)];

    void load(const int x[CONFIG_T::n_in]) {
        if (!CONFIG_T::binary_input) {
            for (unsigned k = 0; k < CONFIG_T::n_in; k++) raw[k] = x[k];
            return;
        }
        for (unsigned w = 0; w < n_words(CONFIG_T::n_in); w++) bits[w] = valid[w] = 0;
        for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
            const uint64_t bit = uint64_t(1) << (k % word_bits);
            if (x[k] > 0) bits[k / word_bits] |= bit;
            if (x[k] != 0) valid[k / word_bits] |= bit;
        }
    }
};

// Packed (word, mask, weight bits) entries: each covers the positions of a group that fall in one
// input word, so n_positions bounds the entries. Groups are tiles (at least one position each) or
// whole kernels (at most n_out, possibly empty).
template <class CONFIG_T> struct packed_groups {
    unsigned first_entry[CONFIG_T::n_positions + CONFIG_T::n_out + 1]; // per group: its first entry
    unsigned short word[CONFIG_T::n_positions];
    uint64_t mask[CONFIG_T::n_positions];
    uint64_t weights[CONFIG_T::n_positions];
    unsigned n_groups = 0, n_entries = 0;

    // Open a new group and fill it with positions[first, last) of a kernel with +-1 weights w_row.
    template <class pos_T> unsigned add(const pos_T *positions, unsigned first, unsigned last, const signed char *w_row) {
        first_entry[n_groups] = n_entries;
        for (unsigned i = first; i < last; i++) {
            const unsigned k = positions[i];
            if (i == first || k / word_bits != word[n_entries - 1]) {
                word[n_entries] = k / word_bits;
                mask[n_entries] = weights[n_entries] = 0;
                n_entries++;
            }
            const uint64_t bit = uint64_t(1) << (k % word_bits);
            mask[n_entries - 1] |= bit;
            if (w_row[k] > 0) weights[n_entries - 1] |= bit;
        }
        first_entry[n_groups + 1] = n_entries;
        return n_groups++;
    }

    HLS4ML_REUSE_POPCNT long long sum(const fast_input<CONFIG_T> &x, unsigned group) const {
        long long total = 0;
        for (unsigned e = first_entry[group]; e < first_entry[group + 1]; e++) {
            const uint64_t live = mask[e] & x.valid[word[e]];
            const uint64_t agree = ~(weights[e] ^ x.bits[word[e]]) & live;
            total += 2 * (long long)__builtin_popcountll(agree) - (long long)__builtin_popcountll(live);
        }
        return total;
    }
};

// C-simulation copies of a layer's tables, built once. For binary inputs, every kernel that may
// exit early has a packed group per tile (early exit checks after each); every other kernel is
// one packed group, summed in one go (the same sum, counted as the same tiles).
template <class CONFIG_T> struct fast_tables {
    signed char w[CONFIG_T::n_out * CONFIG_T::n_in]; // +-1
    unsigned short positions[CONFIG_T::n_positions];
    unsigned first_tile[CONFIG_T::n_out]; // per kernel that may exit: the group of its first tile
    unsigned whole[CONFIG_T::n_out];      // per other kernel: the group of all its positions
    packed_groups<CONFIG_T> tiles, kernels;
    bool ready = false;

    template <class plan_T, class pos_T>
    void build(const ap_uint<1> *weights, const pos_T *position_table, const plan_T *plan) {
#if defined(__x86_64__) && defined(__GNUC__)
        if (!__builtin_cpu_supports("popcnt")) {
            fprintf(stderr, "hls4ml_reuse: the C simulation needs a CPU with the POPCNT instruction\n");
            abort();
        }
#endif
        for (unsigned i = 0; i < CONFIG_T::n_out * CONFIG_T::n_in; i++) w[i] = weights[i] == 1 ? 1 : -1;
        for (unsigned i = 0; i < CONFIG_T::n_positions; i++) positions[i] = position_table[i];
        for (unsigned step = 0; step < CONFIG_T::n_out && CONFIG_T::binary_input; step++) {
            const unsigned n = plan[step * PLAN_ROW + PLAN_KERNEL];
            const unsigned count = plan[step * PLAN_ROW + PLAN_POSITIONS];
            const unsigned offset = plan[step * PLAN_ROW + PLAN_OFFSET];
            const signed char *w_row = &w[n * CONFIG_T::n_in];
            if (!may_exit<CONFIG_T>(plan[step * PLAN_ROW + PLAN_FLAGS])) {
                whole[n] = kernels.add(&positions[offset], 0, count, w_row);
                continue;
            }
            first_tile[n] = tiles.n_groups;
            for (unsigned first = 0; first < count; first += CONFIG_T::tile) {
                tiles.add(&positions[offset], first, first + CONFIG_T::tile < count ? first + CONFIG_T::tile : count, w_row);
            }
        }
        ready = true;
    }

    // Sum over positions [first, last) of kernel n's planned positions (which start at `offset`).
    long long range_sum(const fast_input<CONFIG_T> &x, unsigned n, unsigned offset, unsigned first, unsigned last) const {
        const signed char *w_row = &w[n * CONFIG_T::n_in];
        long long sum = 0;
        for (unsigned i = offset + first; i < offset + last; i++) sum += w_row[positions[i]] * x.raw[positions[i]];
        return sum;
    }

    // Sum and position count of tile t of kernel n (n_positions planned positions from `offset`).
    long long tile_sum(const fast_input<CONFIG_T> &x, unsigned n, unsigned offset, unsigned n_positions, unsigned t,
                       unsigned &count) const {
        const unsigned first = t * CONFIG_T::tile;
        const unsigned last = first + CONFIG_T::tile < n_positions ? first + CONFIG_T::tile : n_positions;
        count = last - first;
        return CONFIG_T::binary_input ? tiles.sum(x, first_tile[n] + t) : range_sum(x, n, offset, first, last);
    }

    // Sum over all of kernel n's planned positions: what the tile loop adds up when it cannot stop early.
    long long kernel_sum(const fast_input<CONFIG_T> &x, unsigned n, unsigned offset, unsigned n_positions) const {
        return CONFIG_T::binary_input ? kernels.sum(x, whole[n]) : range_sum(x, n, offset, 0, n_positions);
    }
};
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
 * \tparam CONFIG_T   layer configuration (reuse_unit_config)
 * \param x           the raw input vector (n_in values: +-1 or x * 2^F, 0 for padding)
 * \param res         the n_out outputs, in channel order
 * \param weights     kernels, [n_out][n_in] bits (1 = +1)
 * \param positions   every kernel's planned positions, ascending, concatenated (see PLAN_OFFSET)
 * \param plan        [n_out][PLAN_ROW] evaluation steps: kernel, parent + 1 (0 = root), flags, number of
 *                    positions, offset of the kernel's positions in the position table
 * \param thresholds  raw thresholds per channel (thresholded layers)
 * \param at_most     1 where the channel is [y <= t] (negative BatchNorm scale)
 * \param known_one   with skip_known: 1 where a thresholded channel's output is already known to be 1 (its
 *                    max-pooling window holds a 1). Such a channel is skipped, and written as 1, unless a
 *                    channel that is not known starts from it.
 */
template <class CONFIG_T, bool skip_known, class res_T>
void reuse_vector(const typename raw_value<CONFIG_T>::type x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                  const ap_uint<1> weights[CONFIG_T::n_out * CONFIG_T::n_in],
                  const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                  const typename CONFIG_T::plan_t plan[CONFIG_T::n_out * PLAN_ROW],
                  const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                  const ap_uint<1> at_most[CONFIG_T::n_out], const ap_uint<1> known_one[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::tile == 8 || CONFIG_T::tile == 16 || CONFIG_T::tile == 32 || CONFIG_T::tile == 64,
                  "tile must be 8, 16, 32 or 64 positions");
    static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_out > 0, "a reuse unit needs inputs and outputs");
    static_assert(CONFIG_T::n_positions >= 1, "the position table holds at least one entry");
#ifdef HLS4ML_REUSE_FAST_CSIM
    typedef long long acc_T; // exact: every sum is far below 2^63
    static fast_tables<CONFIG_T> tables;
    if (!tables.ready) tables.build(weights, positions, plan);
    static fast_input<CONFIG_T> input; // static: too large for the stack on wide windows
    input.load(x);
#else
    typedef typename CONFIG_T::accum_t acc_T;
#endif
    const unsigned max_tiles = n_tiles(CONFIG_T::n_in, CONFIG_T::tile);
    acc_T y[CONFIG_T::n_out];
    const acc_T y_limit = acc_T(CONFIG_T::n_in) * acc_T(CONFIG_T::input_bound); // |y| <= K * B
#ifndef __SYNTHESIS__
    unsigned long long inputs_summed = 0, word_adds = 0, tiles_evaluated = 0;
#endif

    bool needed[CONFIG_T::n_out]; // with skip_known: not known, or the parent of a needed channel
    if (skip_known) {
        for (unsigned n = 0; n < CONFIG_T::n_out; n++) needed[n] = !CONFIG_T::thresholded || known_one[n] == 0;
    NeededLoop: // children follow their parents in the plan: walking it backwards reaches every ancestor
        for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
            const unsigned step = CONFIG_T::n_out - 1 - i;
            const unsigned parent = plan[step * PLAN_ROW + PLAN_PARENT];
            if (parent != 0 && needed[plan[step * PLAN_ROW + PLAN_KERNEL]]) needed[parent - 1] = true;
        }
    }

ReuseLoop:
    for (unsigned step = 0; step < CONFIG_T::n_out; step++) {
        const unsigned n = plan[step * PLAN_ROW + PLAN_KERNEL];
        const unsigned parent = plan[step * PLAN_ROW + PLAN_PARENT];
        const unsigned flags = plan[step * PLAN_ROW + PLAN_FLAGS];
        const unsigned n_positions = plan[step * PLAN_ROW + PLAN_POSITIONS];
        const unsigned offset = plan[step * PLAN_ROW + PLAN_OFFSET];
        if (skip_known && !needed[n]) {
            write_output<CONFIG_T>(res[n], acc_T(0), true); // cannot change its pooling window's maximum
            continue;
        }
        const bool is_root = parent == 0;
        const bool exits = may_exit<CONFIG_T>(flags);
        const bool at_most_n = CONFIG_T::thresholded && at_most[n] == 1;
        const acc_T threshold = CONFIG_T::thresholded ? acc_T(thresholds[n]) : acc_T(0); // read once per channel
        const acc_T scale = is_root ? acc_T(1) : acc_T(2);
        acc_T base = 0;
        if (!is_root) base = (flags & FLAG_NEGATE) ? acc_T(-y[parent - 1]) : y[parent - 1];
        acc_T partial = 0;
        acc_T remaining = n_positions;
        bool bit = false;
        bool done = exits && settled(acc_T(base), acc_T(scale * remaining * CONFIG_T::input_bound), y_limit,
                                        threshold, at_most_n, bit);
#ifndef __SYNTHESIS__
        if (!is_root && !done) word_adds++;
#endif
        bool whole_kernel = false; // summed in one go (C simulation), not tile by tile
#ifdef HLS4ML_REUSE_FAST_CSIM
        if (!exits) { // no check between tiles: one sum over the whole kernel, counted tile by tile
            whole_kernel = true;
            partial = tables.kernel_sum(input, n, offset, n_positions);
            inputs_summed += n_positions;
            tiles_evaluated += n_tiles(n_positions, CONFIG_T::tile);
        }
#endif
    TileLoop:
        for (unsigned t = 0; t < max_tiles; t++) {
            if (done || whole_kernel || t * CONFIG_T::tile >= n_positions) break;
            unsigned count;
#ifdef HLS4ML_REUSE_FAST_CSIM
            const acc_T sum = tables.tile_sum(input, n, offset, n_positions, t, count);
#else
            acc_T sum;
            tile_sum_synth<CONFIG_T, acc_T>(x, &weights[n * CONFIG_T::n_in], &positions[offset], n_positions, t, sum,
                                            count);
#endif
            partial += sum;
            remaining -= count;
#ifndef __SYNTHESIS__
            inputs_summed += count;
            tiles_evaluated++;
#endif
            if (exits) {
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

} // namespace hls4ml_reuse

#endif
