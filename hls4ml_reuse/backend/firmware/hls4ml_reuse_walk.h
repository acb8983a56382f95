#ifndef HLS4ML_REUSE_WALK_H_
#define HLS4ML_REUSE_WALK_H_

// What an evaluation step walks, row by row (a row is a clock of a folded unit), and the sum of one row: the
// arithmetic that the synthesizable tile sums and the C-simulation ones share for fixed-point inputs.
//
// A step walks its planned positions. Gathered lanes (the default) take them `tile` at a time, in order: lane i reads
// any position. Banked lanes (CONFIG_T::banked) read only their own bank, the positions k with k mod tile == i, as
// stock hls4ml's lanes do: row r takes the r-th planned position of every bank, and a step lasts as many rows as its
// busiest bank holds planned positions.
//
// With zero skipping (fixed-point inputs, CONFIG_T::zero_skip) the window's non-zero inputs are listed once (per
// bank, when banked), and a step whose planned walk is longer (in entries, or banked, in rows) walks that list
// instead, adding the entries it plans (a kernel plans every position if it is a root, else those where its weight
// and its parent's differ, or agree in the negated form). Either way zeros add nothing and are not counted as inputs.

#include "hls4ml_reuse_tables.h"

namespace hls4ml_reuse {

// The window's non-zero inputs (zero skipping, or the changes between two windows; counts stay 0 otherwise).
template <class CONFIG_T> struct nonzero_inputs {
    static const unsigned slots = n_slots(CONFIG_T::n_in, CONFIG_T::tile);
    unsigned index[CONFIG_T::n_in];       // gathered lanes: the non-zero positions, ascending
    unsigned slot[CONFIG_T::tile][slots]; // banked lanes: bank i's non-zero positions k, as k / tile, ascending
    unsigned bank_count[CONFIG_T::tile];  // banked lanes: how many bank i holds
    unsigned count;                       // how many there are
    unsigned busiest;                     // banked lanes: the largest bank_count, the rows of a walk over them
};

// Lists the non-zero entries of x when `enabled`: in order for gathered lanes, per bank for banked ones.
template <class CONFIG_T, class raw_T>
void list_nonzero(const raw_T x[CONFIG_T::n_in], nonzero_inputs<CONFIG_T> &nonzero, bool enabled) {
#pragma HLS INLINE
    nonzero.count = 0;
    nonzero.busiest = 0;
BankLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) nonzero.bank_count[i] = 0;
NonzeroLoop: // as the window is read: one comparison per input, no addition
    for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
        if (!enabled || x[k] == 0) continue;
        if (CONFIG_T::banked) {
            const unsigned bank = k % CONFIG_T::tile;
            nonzero.slot[bank][nonzero.bank_count[bank]++] = k / CONFIG_T::tile;
        } else {
            nonzero.index[nonzero.count] = k;
        }
        nonzero.count++;
    }
BusiestLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
        if (nonzero.bank_count[i] > nonzero.busiest) nonzero.busiest = nonzero.bank_count[i];
    }
}

// What one step walks: its planned positions, or the listed non-zero inputs when that walk is shorter.
struct step_walk {
    bool over_nonzero; // walk the non-zero inputs, adding those the kernel plans
    unsigned length;   // entries walked (what an early-exit bound still has to cover at the start)
    unsigned rows;     // rows walked: a clock each in a folded unit
    bool skip_zeros;   // zeros are not counted as inputs
};

template <class CONFIG_T> step_walk walk_of(const plan_step &row, const nonzero_inputs<CONFIG_T> &nonzero, bool skip_zeros) {
#pragma HLS INLINE
    const bool over_nonzero =
        skip_zeros && (CONFIG_T::banked ? nonzero.busiest < row.n_rows : nonzero.count < row.n_positions);
    const unsigned length = over_nonzero ? nonzero.count : row.n_positions;
    const unsigned banked_rows = over_nonzero ? nonzero.busiest : row.n_rows;
    const step_walk walk = {over_nonzero, length, CONFIG_T::banked ? banked_rows : n_tiles(length, CONFIG_T::tile),
                            skip_zeros};
    return walk;
}

// Whether lane i has an entry in row t of a step's walk, and its position k.
template <class CONFIG_T>
bool lane_entry(const reuse_tables<CONFIG_T> &tables, const nonzero_inputs<CONFIG_T> &nonzero, const plan_step &row,
                const step_walk &walk, unsigned t, unsigned i, unsigned &k) {
#pragma HLS INLINE
    if (CONFIG_T::banked) {
        if (!walk.over_nonzero) return tables.lane_position(row, t, i, k);
        const bool has = t < nonzero.bank_count[i];
        k = has ? nonzero.slot[i][t] * CONFIG_T::tile + i : i;
        return has;
    }
    const unsigned index = t * CONFIG_T::tile + i;
    if (index >= walk.length) return false;
    k = walk.over_nonzero ? nonzero.index[index] : tables.position(row, index);
    return true;
}

/**
 * \brief The sum over row t of a step's walk of w[k] * x[k], the inputs it added (`count`; with zero skipping, only
 *        the non-zero ones) and the entries it walked (`walked`, added or not: what an early-exit bound no longer
 *        has to cover).
 *
 * \tparam acc_T  the sum's type (ap_int when synthesizing, long long in the C-simulation fast path)
 */
template <class CONFIG_T, class acc_T, class raw_T>
acc_T walk_tile(const reuse_tables<CONFIG_T> &tables, const raw_T x[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &nonzero,
                const plan_step &row, const step_walk &walk, unsigned t, unsigned &count, unsigned &walked) {
#pragma HLS INLINE
    acc_T sum = 0;
    count = 0;
    walked = 0;
TileLaneLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
#pragma HLS UNROLL
        unsigned k;
        if (!lane_entry<CONFIG_T>(tables, nonzero, row, walk, t, i, k)) continue;
        walked++;
        if (walk.over_nonzero && !tables.planned(row, k)) continue;
        const acc_T v = x[k];
        sum += tables.weight(row.kernel, k) ? v : acc_T(-v);
        if (!walk.skip_zeros || v != 0) count++;
    }
    return sum;
}

// The sum over a step's whole walk, row after row, and the inputs it added.
template <class CONFIG_T, class acc_T, class raw_T>
acc_T walk_sum(const reuse_tables<CONFIG_T> &tables, const raw_T x[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &nonzero,
               const plan_step &row, const step_walk &walk, unsigned &count) {
#pragma HLS INLINE
    acc_T sum = 0;
    count = 0;
WalkLoop:
    for (unsigned t = 0; t < n_tiles(CONFIG_T::n_in, CONFIG_T::tile); t++) {
        if (t >= walk.rows) break;
        unsigned tile_count, walked;
        sum += walk_tile<CONFIG_T, acc_T>(tables, x, nonzero, row, walk, t, tile_count, walked);
        count += tile_count;
    }
    return sum;
}

} // namespace hls4ml_reuse

#endif
