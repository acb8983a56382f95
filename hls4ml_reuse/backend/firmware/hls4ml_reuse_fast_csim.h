#ifndef HLS4ML_REUSE_FAST_CSIM_H_
#define HLS4ML_REUSE_FAST_CSIM_H_

// The C-simulation tile sums (never synthesized): the sums and position counts of synth_tile_sums
// (hls4ml_reuse_unit.h) on plain integers and packed bits. Binary inputs are packed into 64-bit words and a
// tile is summed with XNOR-popcounts over the words it spans; fixed-point inputs take the synthesizable walk
// (hls4ml_reuse_walk.h).
// tests/test_end_to_end.py and tests/test_conv2d.py check both policies give the same outputs and counters.

#ifndef __SYNTHESIS__
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hls4ml_reuse_tables.h"
#include "hls4ml_reuse_walk.h"

#if defined(__x86_64__) && defined(__GNUC__)
// hls4ml compiles the C simulation without -march: ask for the POPCNT instruction where it counts.
#define HLS4ML_REUSE_POPCNT __attribute__((target("popcnt")))
#else
#define HLS4ML_REUSE_POPCNT
#endif

namespace hls4ml_reuse {

static const unsigned word_bits = 64;

constexpr unsigned n_words(unsigned k) { return (k + word_bits - 1) / word_bits; }

// One binary input vector as bits (1 = +1) with a validity mask (0 = padding).
template <class CONFIG_T> struct fast_input {
    uint64_t bits[n_words(CONFIG_T::n_in)];
    uint64_t valid[n_words(CONFIG_T::n_in)];

    void load(const int x[CONFIG_T::n_in]) {
        if (!CONFIG_T::binary_input) return; // fixed-point inputs are read where they are
        for (unsigned w = 0; w < n_words(CONFIG_T::n_in); w++) bits[w] = valid[w] = 0;
        for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
            const uint64_t bit = uint64_t(1) << (k % word_bits);
            if (x[k] > 0) bits[k / word_bits] |= bit;
            if (x[k] != 0) valid[k / word_bits] |= bit;
        }
    }
};

// Packed (word, mask, weight bits) entries: each covers the positions of a group that fall in one input word, so
// n_positions bounds the entries. Groups are tiles (at least one position each) or whole kernels (at most n_kernels,
// possibly empty).
template <class CONFIG_T> struct packed_groups {
    unsigned first_entry[CONFIG_T::n_positions + CONFIG_T::n_kernels + 1]; // per group: its first entry
    unsigned short word[CONFIG_T::n_positions];
    uint64_t mask[CONFIG_T::n_positions];
    uint64_t weights[CONFIG_T::n_positions];
    unsigned n_groups = 0, n_entries = 0;

    // Open a new group and fill it with positions[first, last) of a kernel with +-1 weights w_row.
    unsigned add(const unsigned short *positions, unsigned first, unsigned last, const signed char *w_row) {
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

    // Window reuse: sum of w * (x - x_before) over the group's positions whose input changed, and their number.
    HLS4ML_REUSE_POPCNT long long change_sum(const fast_input<CONFIG_T> &x, const fast_input<CONFIG_T> &before,
                                             unsigned group, unsigned &changed) const {
        long long total = 0;
        changed = 0;
        for (unsigned e = first_entry[group]; e < first_entry[group + 1]; e++) {
            const unsigned w = word[e];
            const uint64_t both = x.valid[w] & before.valid[w];
            const uint64_t moved = mask[e] & ((x.valid[w] ^ before.valid[w]) | (both & (x.bits[w] ^ before.bits[w])));
            changed += __builtin_popcountll(moved);
            total += signed_sum(x, w, weights[e], moved) - signed_sum(before, w, weights[e], moved);
        }
        return total;
    }

    // How many positions the group holds.
    HLS4ML_REUSE_POPCNT unsigned size(unsigned group) const {
        unsigned n = 0;
        for (unsigned e = first_entry[group]; e < first_entry[group + 1]; e++) n += __builtin_popcountll(mask[e]);
        return n;
    }

    HLS4ML_REUSE_POPCNT long long sum(const fast_input<CONFIG_T> &x, unsigned group) const {
        long long total = 0;
        for (unsigned e = first_entry[group]; e < first_entry[group + 1]; e++)
            total += signed_sum(x, word[e], weights[e], mask[e]);
        return total;
    }

  private:
    // sum of w * x over the positions `among` of word w (padding counts 0).
    HLS4ML_REUSE_POPCNT static long long signed_sum(const fast_input<CONFIG_T> &x, unsigned w, uint64_t weight_bits,
                                                    uint64_t among) {
        const uint64_t live = among & x.valid[w];
        return 2 * (long long)__builtin_popcountll(~(weight_bits ^ x.bits[w]) & live) -
               (long long)__builtin_popcountll(live);
    }
};

// C-simulation copies of a layer's tables, built once. For binary inputs, every kernel that may exit early has a
// packed group per row of its walk (early exit checks after each); every other kernel is one packed group, summed in
// one go (the same sum, counted as the same rows).
template <class CONFIG_T> struct fast_tables {
    signed char w[CONFIG_T::n_kernels * CONFIG_T::n_in]; // +-1
    unsigned short positions[CONFIG_T::n_positions];     // gathered: each kernel's planned positions, ascending
    unsigned short row_positions[CONFIG_T::n_in];        // banked: one row's positions, or a kernel's, ascending
    unsigned first_tile[CONFIG_T::n_kernels];            // per kernel that may exit: the group of its first tile
    unsigned whole[CONFIG_T::n_kernels];                 // per other kernel: the group of all its positions
    packed_groups<CONFIG_T> tiles, kernels;
    bool ready = false;

    void build(const reuse_tables<CONFIG_T> &tables) {
        require_popcnt();
        for (unsigned n = 0; n < CONFIG_T::n_kernels; n++) {
            for (unsigned k = 0; k < CONFIG_T::n_in; k++) w[n * CONFIG_T::n_in + k] = tables.weight(n, k) ? 1 : -1;
        }
        for (unsigned step = 0; step < CONFIG_T::n_kernels; step++) {
            const plan_step row = tables.step(step);
            if (!CONFIG_T::binary_input) continue;
            if (CONFIG_T::banked) {
                pack_banked(tables, row);
            } else {
                for (unsigned i = 0; i < row.n_positions; i++) positions[row.offset + i] = tables.position(row, i);
                pack(row);
            }
        }
        ready = true;
    }

    // Sum and position count of row t of a step's walk (binary inputs: every entry counts).
    long long tile_sum(const fast_input<CONFIG_T> &x, const plan_step &row, unsigned t, unsigned &count) const {
        const unsigned group = first_tile[row.kernel] + t;
        if (CONFIG_T::banked) {
            count = tiles.size(group);
        } else {
            const unsigned first = t * CONFIG_T::tile;
            count = (first + CONFIG_T::tile < row.n_positions ? first + CONFIG_T::tile : row.n_positions) - first;
        }
        return tiles.sum(x, group);
    }

    // Sum over all of a step's planned positions (binary inputs): what the tile loop adds up when it cannot stop early.
    long long kernel_sum(const fast_input<CONFIG_T> &x, const plan_step &row) const {
        return kernels.sum(x, whole[row.kernel]);
    }

    // Window reuse (binary inputs; such kernels never exit, so each has one packed group): the sum of w * (x - x')
    // over a step's planned positions whose input changed, and their number.
    long long kernel_change_sum(const fast_input<CONFIG_T> &x, const fast_input<CONFIG_T> &before, const plan_step &row,
                                unsigned &changed) const {
        return kernels.change_sum(x, before, whole[row.kernel], changed);
    }

  private:
    static void require_popcnt() {
#if defined(__x86_64__) && defined(__GNUC__)
        if (!__builtin_cpu_supports("popcnt")) {
            fprintf(stderr, "hls4ml_reuse: the C simulation needs a CPU with the POPCNT instruction\n");
            abort();
        }
#endif
    }

    // Packs a step's kernel: one group per tile if it may exit early, else one group.
    void pack(const plan_step &row) {
        const signed char *w_row = &w[row.kernel * CONFIG_T::n_in];
        const unsigned short *kernel_positions = &positions[row.offset];
        if (!may_exit<CONFIG_T>(row.flags)) {
            whole[row.kernel] = kernels.add(kernel_positions, 0, row.n_positions, w_row);
            return;
        }
        first_tile[row.kernel] = tiles.n_groups;
        for (unsigned first = 0; first < row.n_positions; first += CONFIG_T::tile) {
            const unsigned last = first + CONFIG_T::tile < row.n_positions ? first + CONFIG_T::tile : row.n_positions;
            tiles.add(kernel_positions, first, last, w_row);
        }
    }

    // Banked lanes: as pack, with a row's entries (one per bank) or all the kernel's, ascending for packing by word.
    void pack_banked(const reuse_tables<CONFIG_T> &tables, const plan_step &row) {
        const signed char *w_row = &w[row.kernel * CONFIG_T::n_in];
        const bool by_rows = may_exit<CONFIG_T>(row.flags);
        unsigned n = 0;
        if (by_rows) first_tile[row.kernel] = tiles.n_groups;
        for (unsigned r = 0; r < row.n_rows; r++) {
            if (by_rows) n = 0;
            for (unsigned i = 0; i < CONFIG_T::tile; i++) {
                unsigned k;
                if (tables.lane_position(row, r, i, k)) row_positions[n++] = k;
            }
            if (by_rows) tiles.add(sorted(row_positions, n), 0, n, w_row);
        }
        if (!by_rows) whole[row.kernel] = kernels.add(sorted(row_positions, n), 0, n, w_row);
    }

    static const unsigned short *sorted(unsigned short *values, unsigned n) {
        for (unsigned i = 1; i < n; i++) { // insertion sort: rows are short, a kernel's are sorted once
            const unsigned short v = values[i];
            unsigned j = i;
            for (; j > 0 && values[j - 1] > v; j--) values[j] = values[j - 1];
            values[j] = v;
        }
        return values;
    }
};

/**
 * \brief Tile-sum policy of the C simulation: the interface of synth_tile_sums on plain integers and packed bits.
 *
 * Its copies of the tables are built at the first call and kept (static: too large for the stack on wide
 * layers). A kernel that cannot stop early is summed in one go, which the unit counts as its tiles. The unrolled
 * shape runs the folded loop on them (unrolled_datapath's specialization, hls4ml_reuse_unrolled.h).
 *
 * \tparam CONFIG_T  layer configuration (reuse_unit_config)
 */
template <class CONFIG_T> struct fast_tile_sums {
    typedef long long accum_t; // exact: every sum is far below 2^63
    typedef int raw_t;         // exact: raw inputs are integers far below 2^31

    // A fixed-point input x as the integer x * 2^input_frac_bits (exact: far below 2^53).
    template <class data_T> static raw_t scale(const data_T &x) {
        return raw_t(x.to_double() * double(1LL << CONFIG_T::input_frac_bits));
    }

    // Builds the copies of the tables once, and packs input vector x.
    static void load(const reuse_tables<CONFIG_T> &tables, const raw_t x[CONFIG_T::n_in]) {
        if (!copies().ready) copies().build(tables);
        previous() = input(); // window reuse: the window before this one
        input().load(x);
    }

    // Binary inputs: the sum over all of a step's positions in one go, and their number. Fixed-point inputs are
    // summed tile by tile, by the synthesizable walk.
    static bool sum_whole(const reuse_tables<CONFIG_T> &, const plan_step &row, accum_t &sum, unsigned &count) {
        if (!CONFIG_T::binary_input) return false;
        sum = copies().kernel_sum(input(), row);
        count = row.n_positions;
        return true;
    }

    // The sum over a step's whole walk of (possibly wider) inputs x, and how many inputs it added: for window reuse on
    // binary inputs (x = the change since the previous window, as load() kept it) packed XNOR-popcounts of both
    // windows over the changed planned positions, else the synthesizable walk.
    template <class value_T>
    static accum_t walk_all(const reuse_tables<CONFIG_T> &tables, const value_T x[CONFIG_T::n_in],
                            const nonzero_inputs<CONFIG_T> &nonzero, const plan_step &row, const step_walk &walk,
                            unsigned &count) {
        if (!CONFIG_T::binary_input || !CONFIG_T::window_reuse)
            return walk_sum<CONFIG_T, accum_t>(tables, x, nonzero, row, walk, count);
        if (!copies().ready) copies().build(tables);
        return copies().kernel_change_sum(input(), previous(), row, count);
    }

    // The sum over row t of a step's walk, how many inputs it added and how many entries it walked: packed
    // XNOR-popcounts for binary inputs (every entry counts), the synthesizable walk for fixed-point ones.
    static accum_t tile(const reuse_tables<CONFIG_T> &tables, const raw_t x[CONFIG_T::n_in],
                        const nonzero_inputs<CONFIG_T> &nonzero, const plan_step &row, const step_walk &walk, unsigned t,
                        unsigned &count, unsigned &walked) {
        if (!CONFIG_T::binary_input) return walk_tile<CONFIG_T, accum_t>(tables, x, nonzero, row, walk, t, count, walked);
        const accum_t sum = copies().tile_sum(input(), row, t, count);
        walked = count;
        return sum;
    }

  private:
    static fast_tables<CONFIG_T> &copies() {
        static fast_tables<CONFIG_T> tables;
        return tables;
    }

    static fast_input<CONFIG_T> &input() {
        static fast_input<CONFIG_T> x;
        return x;
    }

    static fast_input<CONFIG_T> &previous() {
        static fast_input<CONFIG_T> x;
        return x;
    }
};

} // namespace hls4ml_reuse
#endif

#endif
