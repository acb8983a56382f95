#ifndef HLS4ML_REUSE_UNIT_H_
#define HLS4ML_REUSE_UNIT_H_

// Reuse-delta / early-exit evaluation of one input vector against N binary kernels: the arithmetic shared by the
// dense unit (one vector per sample) and the convolution unit (one vector per window).
//
// Output channels are evaluated in plan order. A root sums all K positions; a child starts from its parent's
// value (negated in the complement form) and adds twice the sum of its own weight times the input over only its
// planned positions, `tile` of them a row (gathered, or banked: one per bank):
//     y_child = (negate ? -y_parent : y_parent) + 2 * sum_{k in mask} w_child[k] * x[k].
// A thresholded channel without children may stop after any row, and before the first one (the inclusion
// test), as soon as its side of the threshold is certain.
//
// All arithmetic is on raw integers: a fixed-point input x is used as x * 2^input_frac_bits, binary inputs and
// weights are single bits with 1 = +1, and a padded input is 0. With zero skipping (fixed-point inputs), a step
// walks the window's non-zero inputs instead of its planned positions when that walk is shorter (hls4ml_reuse_walk.h).

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"
#include "hls4ml_reuse_counters.h"
#include "hls4ml_reuse_tables.h"
#include "hls4ml_reuse_walk.h"

#ifndef __SYNTHESIS__
#include "hls4ml_reuse_fast_csim.h"
#ifndef HLS4ML_REUSE_SYNTH_PATH
#define HLS4ML_REUSE_FAST_CSIM 1 // C simulation on plain integers and packed bits (fast_tile_sums)
#endif
#endif

namespace hls4ml_reuse {

/**
 * \brief Tile-sum policy that synthesizes: `tile` lanes, each a gather x[positions[i]] and an add or subtract by
 *        its weight bit. Every kernel is summed tile by tile.
 *
 * fast_tile_sums (C simulation) has the same static interface and gives the same sums and counts.
 *
 * \tparam CONFIG_T  layer configuration (reuse_unit_config)
 */
template <class CONFIG_T> struct synth_tile_sums {
    typedef typename CONFIG_T::accum_t accum_t; // raw sums and bounds
    typedef typename CONFIG_T::raw_t raw_t;     // one raw input

    // A fixed-point input x as the integer x * 2^input_frac_bits.
    template <class data_T> static raw_t scale(const data_T &x) {
        accum_t scaled = x * (ap_uint<CONFIG_T::input_frac_bits + 1>(1) << CONFIG_T::input_frac_bits);
        return raw_t(scaled);
    }

    static void load(const reuse_tables<CONFIG_T> &, const raw_t[CONFIG_T::n_in]) {} // nothing to prepare

    static bool sum_whole(const reuse_tables<CONFIG_T> &, const plan_step &, accum_t &, unsigned &) {
        return false; // tile by tile
    }

    // The sum over a step's whole walk of (possibly wider) inputs x, and how many inputs it added.
    template <class value_T>
    static accum_t walk_all(const reuse_tables<CONFIG_T> &tables, const value_T x[CONFIG_T::n_in],
                            const nonzero_inputs<CONFIG_T> &nonzero, const plan_step &row, const step_walk &walk,
                            unsigned &count) {
#pragma HLS INLINE
        return walk_sum<CONFIG_T, accum_t>(tables, x, nonzero, row, walk, count);
    }

    // The sum over row t of a step's walk, how many inputs it added and how many entries it walked
    // (hls4ml_reuse_walk.h).
    static accum_t tile(const reuse_tables<CONFIG_T> &tables, const raw_t x[CONFIG_T::n_in],
                        const nonzero_inputs<CONFIG_T> &nonzero, const plan_step &row, const step_walk &walk, unsigned t,
                        unsigned &count, unsigned &walked) {
#pragma HLS INLINE
        return walk_tile<CONFIG_T, accum_t>(tables, x, nonzero, row, walk, t, count, walked);
    }
};

// The tile sums a config gets by default: the fast ones in C simulation unless HLS4ML_REUSE_SYNTH_PATH is set.
#ifdef HLS4ML_REUSE_FAST_CSIM
template <class CONFIG_T> using default_tile_sums = fast_tile_sums<CONFIG_T>;
#else
template <class CONFIG_T> using default_tile_sums = synth_tile_sums<CONFIG_T>;
#endif

// Default configuration; the converter writes one derived struct per layer.
struct reuse_unit_config {
    // Layer sizes
    static const unsigned n_in = 1;        // K: inputs per output channel
    static const unsigned n_out = 1;       // N: output channels
    static const unsigned n_kernels = 1;   // kernels evaluated: the n_out output channels, then virtual (Steiner) ones
    static const unsigned n_positions = 1; // length of the position table (>= 1)
    static const unsigned tile = 8;        // positions per tile: one of implemented_tile()
    static const bool banked = false;      // lane i reads only bank i (positions k mod tile == i); else any position

    // Arithmetic
    static const bool binary_input = true;    // inputs are bits (1 = +1) rather than fixed point
    static const int input_frac_bits = 0;     // fixed-point inputs are scaled by 2^input_frac_bits
    static const unsigned input_bound = 1;    // largest |raw input|, for the early-exit bound
    static const bool thresholded = false;    // outputs are [y >= t] / [y <= t] bits
    static const bool bipolar_output = false; // thresholded bits written as -1/+1 (model outputs)
    static const bool early_exit = true;      // childless thresholded channels may stop early
    static const bool zero_skip = false;      // fixed-point inputs: walk only the non-zero ones where fewer
    static const bool window_reuse = false;   // convolutions: a window from its left neighbour's values
    static const unsigned counter_id = 0;     // slot of this layer's C-simulation counters (its index)
    typedef ap_int<32> accum_t;               // raw sums and bounds: holds 3 * K * input_bound
    typedef ap_int<32> raw_t;                 // one raw input (+-1, 0 for padding, or x * 2^F)
    typedef ap_int<32> threshold_t;           // raw thresholds
    typedef ap_uint<32> plan_t;               // plan table entries
    typedef ap_uint<16> position_t;           // position table entries

    // Python's copies of the shared constants (ir/constants.py SHARED_WITH_FIRMWARE), checked by static_assert
    static const unsigned plan_row = PLAN_ROW;                     // entries per plan row
    static const unsigned flag_negate = FLAG_NEGATE;               // plan flag: start from the negated parent
    static const unsigned flag_exit = FLAG_EXIT;                   // plan flag: a leaf that may stop early
    static const unsigned count_kinds = COUNT_KINDS;               // counters per layer
    static const unsigned max_counted_layers = MAX_COUNTED_LAYERS; // counter slots

    // Implementation of the tile sums (synth_tile_sums or, in C simulation only, fast_tile_sums)
    template <class CONFIG_T> using tile_sums = default_tile_sums<CONFIG_T>;
};

template <class CONFIG_T> using tile_sums_of = typename CONFIG_T::template tile_sums<CONFIG_T>;
template <class CONFIG_T> using accum_of = typename tile_sums_of<CONFIG_T>::accum_t; // sums of the unit
template <class CONFIG_T> using raw_of = typename tile_sums_of<CONFIG_T>::raw_t;     // its raw inputs

// Raw integer value of one input: a bit as +-1, a fixed-point x as x * 2^input_frac_bits.
template <class CONFIG_T, class data_T> inline raw_of<CONFIG_T> raw_input(const data_T x) {
    if (CONFIG_T::binary_input) return x == 1 ? raw_of<CONFIG_T>(1) : raw_of<CONFIG_T>(-1);
    return tile_sums_of<CONFIG_T>::scale(x);
}

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

// With skip_known: the channels to evaluate are those not known to be 1, and every ancestor of one.
template <class CONFIG_T>
void mark_needed(const reuse_tables<CONFIG_T> &tables, const ap_uint<1> known_one[CONFIG_T::n_out],
                 bool needed[CONFIG_T::n_kernels]) {
#pragma HLS INLINE
KnownLoop: // a virtual kernel is needed only through its children
    for (unsigned n = 0; n < CONFIG_T::n_kernels; n++)
        needed[n] = n < CONFIG_T::n_out && (!CONFIG_T::thresholded || known_one[n] == 0);
NeededLoop: // children follow their parents in the plan: walking it backwards reaches every ancestor
    for (unsigned i = 0; i < CONFIG_T::n_kernels; i++) {
        const unsigned s = CONFIG_T::n_kernels - 1 - i;
        const unsigned parent = tables.parent(s);
        if (parent != 0 && needed[tables.kernel(s)]) needed[parent - 1] = true;
    }
}

// Channel n's output bit for its value y (thresholded units; false otherwise).
template <class CONFIG_T, class acc_T> bool threshold_bit(const reuse_tables<CONFIG_T> &tables, unsigned n, acc_T y) {
#pragma HLS INLINE
    if (!CONFIG_T::thresholded || !tables.is_output(n)) return false;
    const acc_T threshold = tables.threshold(n);
    return tables.at_most(n) ? (y <= threshold) : (y >= threshold);
}

// A child's start: its parent's value (or change), negated in the complement form.
template <class acc_T> acc_T from_parent(const plan_step &row, const acc_T values[]) {
#pragma HLS INLINE
    const acc_T parent = values[row.parent - 1];
    return (row.flags & FLAG_NEGATE) ? acc_T(-parent) : parent;
}

/**
 * \brief One evaluation step: the kernel's value from its parent's (or from 0) plus its tiles, stopping early
 *        once a thresholded leaf's bit is certain.
 *
 * \param bit  the thresholded output's bit (output channels of a thresholded unit)
 * \return the kernel's value y, from which its children start (unused once the leaf's bit is settled)
 */
template <class CONFIG_T>
accum_of<CONFIG_T> reuse_step(const raw_of<CONFIG_T> x[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &nonzero,
                              const accum_of<CONFIG_T> y[CONFIG_T::n_kernels], const reuse_tables<CONFIG_T> &tables,
                              const plan_step &row, bool &bit, op_counter<CONFIG_T> &ops) {
#pragma HLS INLINE
    typedef accum_of<CONFIG_T> acc_T;
    const acc_T y_limit = acc_T(CONFIG_T::n_in) * acc_T(CONFIG_T::input_bound); // |y| <= K * B
    const bool is_root = row.parent == 0;
    const bool exits = may_exit<CONFIG_T>(row.flags);
    const bool thresholded = CONFIG_T::thresholded && tables.is_output(row.kernel); // virtual kernels: no threshold
    const bool at_most = thresholded && tables.at_most(row.kernel);
    const acc_T threshold = thresholded ? acc_T(tables.threshold(row.kernel)) : acc_T(0);
    const acc_T scale = is_root ? acc_T(1) : acc_T(2);
    const acc_T base = is_root ? acc_T(0) : from_parent(row, y);
    const step_walk walk = walk_of<CONFIG_T>(row, nonzero, CONFIG_T::zero_skip);
    acc_T partial = 0;
    acc_T remaining = walk.length; // entries not yet walked: each adds at most input_bound
    bit = false;
    // The inclusion test: a leaf whose bit is certain before its first tile adds nothing.
    bool done =
        exits && settled(acc_T(base), acc_T(scale * remaining * CONFIG_T::input_bound), y_limit, threshold, at_most, bit);
    if (!is_root && !done) ops.word_add();
    // No check between tiles: a policy may sum the kernel in one go (counted as its tiles).
    unsigned summed;
    const bool whole_kernel = !exits && tile_sums_of<CONFIG_T>::sum_whole(tables, row, partial, summed);
    if (whole_kernel) ops.add(summed, walk.rows);
TileLoop: // a banked walk has at most n_slots rows, the same bound
    for (unsigned t = 0; t < n_tiles(CONFIG_T::n_in, CONFIG_T::tile); t++) {
        if (done || whole_kernel || t >= walk.rows) break;
        unsigned count, walked;
        partial += tile_sums_of<CONFIG_T>::tile(tables, x, nonzero, row, walk, t, count, walked);
        remaining -= walked;
        ops.add(count, 1);
        if (exits) {
            done = settled(acc_T(base + scale * partial), acc_T(scale * remaining * CONFIG_T::input_bound), y_limit,
                           threshold, at_most, bit);
        }
    }
    const acc_T y_n = base + scale * partial;
    if (!done) bit = threshold_bit<CONFIG_T>(tables, row.kernel, y_n);
    return y_n;
}

/**
 * \brief One step of window reuse: the kernel's change since the previous window, from its parent's change and
 *        its planned positions whose input changed,
 *            delta_child = (negate ? -delta_parent : delta_parent) + 2 * sum_{k planned, d[k] != 0} w[k] * d[k],
 *        and a root's over every changed position; d = x - x_previous. Never stops early: the next window reuses it.
 */
template <class CONFIG_T, class diff_T>
accum_of<CONFIG_T> window_step(const diff_T d[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &changed,
                               const accum_of<CONFIG_T> delta[CONFIG_T::n_kernels], const reuse_tables<CONFIG_T> &tables,
                               const plan_step &row, op_counter<CONFIG_T> &ops) {
#pragma HLS INLINE
    typedef accum_of<CONFIG_T> acc_T;
    const bool is_root = row.parent == 0;
    const step_walk walk = walk_of<CONFIG_T>(row, changed, true);
    unsigned count;
    const acc_T partial = tile_sums_of<CONFIG_T>::walk_all(tables, d, changed, row, walk, count);
    ops.add(count, n_tiles(walk.length, CONFIG_T::tile));
    if (!is_root) ops.word_add(); // the parent's change plus this kernel's
    ops.word_add();               // the previous value plus the change
    return is_root ? partial : acc_T(from_parent(row, delta) + 2 * partial);
}

/**
 * \brief Reuse-delta / early-exit evaluation of one input vector against the layer's n_kernels binary kernels, of
 *        which the first n_out are its output channels (the rest, virtual, only serve as parents).
 *
 * \tparam CONFIG_T    layer configuration (reuse_unit_config); CONFIG_T::tile_sums chooses the tile sums
 * \tparam skip_known  whether known_one is read (a thresholded unit that absorbs the max pooling after it)
 * \tparam res_T       one output value
 * \param x            the raw input vector (n_in values: +-1 or x * 2^F, 0 for padding); see raw_input
 * \param res          the n_out outputs, in channel order
 * \param tables       the unit's tables (weights, positions, plan, thresholds, at_most)
 * \param known_one    with skip_known: 1 where a thresholded channel's output is already known to be 1 (its
 *                     max-pooling window holds a 1). Such a channel is skipped, and written as 1, unless a
 *                     channel that is not known starts from it.
 *
 * Inlined, like every function that takes the tables adapter, into reuse_unit: the adapter's pointers then resolve
 * to the arrays it receives, and never cross a function boundary.
 */
template <class CONFIG_T, bool skip_known, class res_T>
void reuse_vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out], const reuse_tables<CONFIG_T> &tables,
                  const ap_uint<1> known_one[CONFIG_T::n_out], accum_of<CONFIG_T> y[CONFIG_T::n_kernels]) {
#pragma HLS INLINE
    static_assert(implemented_tile(CONFIG_T::tile), "tile must be one of TILES (ir/constants.py): 8, 16, 32 or 64");
    static_assert(!(CONFIG_T::zero_skip && CONFIG_T::binary_input), "zero_skip is for fixed-point inputs only");
    static_assert(!(CONFIG_T::window_reuse && CONFIG_T::early_exit), "a reused window's values must be exact");
    static_assert(!(CONFIG_T::window_reuse && CONFIG_T::banked), "window reuse walks the changed inputs, not banks");
    tile_sums_of<CONFIG_T>::load(tables, x);
    nonzero_inputs<CONFIG_T> nonzero;
    list_nonzero<CONFIG_T>(x, nonzero, CONFIG_T::zero_skip);
    op_counter<CONFIG_T> ops;
    bool needed[CONFIG_T::n_kernels]; // with skip_known: not known, or the parent of a needed channel
    if (skip_known) mark_needed<CONFIG_T>(tables, known_one, needed);

ReuseLoop:
    for (unsigned s = 0; s < CONFIG_T::n_kernels; s++) {
        const plan_step row = tables.step(s);
        bool bit = true; // a skipped channel cannot change its window's maximum: written as 1
        accum_of<CONFIG_T> value = 0;
        if (!skip_known || needed[row.kernel])
            value = y[row.kernel] = reuse_step<CONFIG_T>(x, nonzero, y, tables, row, bit, ops);
        if (tables.is_output(row.kernel)) write_output<CONFIG_T>(res[row.kernel], value, bit);
    }
    ops.commit();
}

// reuse_vector without the kernels' values.
template <class CONFIG_T, bool skip_known, class res_T>
void reuse_vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out], const reuse_tables<CONFIG_T> &tables,
                  const ap_uint<1> known_one[CONFIG_T::n_out]) {
#pragma HLS INLINE
    accum_of<CONFIG_T> y[CONFIG_T::n_kernels];
    reuse_vector<CONFIG_T, skip_known>(x, res, tables, known_one, y);
}

/**
 * \brief Window reuse (convolutions): evaluates window x from the previous window of its output row when there is
 *        one (`follows`), else from scratch with reuse_vector; keeps every kernel's value and the inputs for the next.
 *
 * \param previous  in: the previous window's inputs; out: x
 * \param y         in: the previous window's kernel values; out: this window's (exact: nothing stops early)
 */
template <class CONFIG_T, class res_T>
void reuse_window(const raw_of<CONFIG_T> x[CONFIG_T::n_in], raw_of<CONFIG_T> previous[CONFIG_T::n_in], bool follows,
                  accum_of<CONFIG_T> y[CONFIG_T::n_kernels], res_T res[CONFIG_T::n_out],
                  const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
    static const ap_uint<1> nothing_known[CONFIG_T::n_out] = {};
    if (!follows) {
        reuse_vector<CONFIG_T, false>(x, res, tables, nothing_known, y);
    } else {
        tile_sums_of<CONFIG_T>::load(tables, x);
        accum_of<CONFIG_T> d[CONFIG_T::n_in]; // binary inputs change by +-2, or by +-1 into or out of padding
    Changes:
        for (unsigned k = 0; k < CONFIG_T::n_in; k++) d[k] = accum_of<CONFIG_T>(x[k]) - accum_of<CONFIG_T>(previous[k]);
        nonzero_inputs<CONFIG_T> changed;
        list_nonzero<CONFIG_T>(d, changed, true);
        op_counter<CONFIG_T> ops;
        accum_of<CONFIG_T> delta[CONFIG_T::n_kernels];
    WindowLoop:
        for (unsigned s = 0; s < CONFIG_T::n_kernels; s++) {
            const plan_step row = tables.step(s);
            delta[row.kernel] = window_step<CONFIG_T>(d, changed, delta, tables, row, ops);
            y[row.kernel] += delta[row.kernel];
            if (tables.is_output(row.kernel))
                write_output<CONFIG_T>(res[row.kernel], y[row.kernel],
                                       threshold_bit<CONFIG_T>(tables, row.kernel, y[row.kernel]));
        }
        ops.commit();
    }
Remember:
    for (unsigned k = 0; k < CONFIG_T::n_in; k++) previous[k] = x[k];
}

/**
 * \brief A reuse unit (io_stream): builds the adapter of its tables and runs the implementation its config names,
 *        CONFIG_T::implementation (dense_folded, dense_unrolled, conv2d_folded or conv2d_unrolled), as hls4ml's
 *        nnet::dense runs CONFIG_T::kernel.
 *
 * \tparam data_T      input stream word, as the implementation reads it
 * \tparam res_T       output stream word, as the implementation writes it
 * \tparam CONFIG_T    layer configuration (dense_reuse_config or conv2d_reuse_config)
 * \param data_stream  input stream
 * \param res_stream   output stream
 * \param weights,positions,plan,thresholds,at_most  the unit's tables, as reuse_tables documents them
 *
 * The implementation, and every function that takes the adapter, is inlined here. An implementation that pipelines
 * its whole call (`pipelined`) has the pipeline set here: HLS dissolves the pragmas of an inlined function.
 */
template <class data_T, class res_T, typename CONFIG_T>
void reuse_unit(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream,
                const ap_uint<1> weights[CONFIG_T::n_kernels * CONFIG_T::n_in],
                const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                const typename CONFIG_T::plan_t plan[CONFIG_T::n_kernels * PLAN_ROW],
                const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                const ap_uint<1> at_most[CONFIG_T::n_out]) {
    typedef typename CONFIG_T::template implementation<data_T, res_T, CONFIG_T> implementation_T;
    if (implementation_T::pipelined) { // hls4ml's idiom for a pipeline chosen by the config (nnet_dense_stream.h)
#pragma HLS PIPELINE II = 1
    }
    const reuse_tables<CONFIG_T> tables(weights, positions, plan, thresholds, at_most);
    implementation_T::run(data_stream, res_stream, tables);
}

} // namespace hls4ml_reuse

#ifndef __SYNTHESIS__
// Whether the library's default tile sums are the fast ones (1) or the synthesizable ones (0); the tests that
// compare the two read it to know which one they built.
extern "C" __attribute__((weak, visibility("default"))) int hls4ml_reuse_fast_csim() {
#ifdef HLS4ML_REUSE_FAST_CSIM
    return 1;
#else
    return 0;
#endif
}
#endif

#endif
