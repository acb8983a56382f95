#ifndef HLS4ML_REUSE_WALK_H_
#define HLS4ML_REUSE_WALK_H_

// What an evaluation step walks, tile by tile, and the sum of one tile: the arithmetic that the synthesizable tile
// sums and the C-simulation ones share for fixed-point inputs.
//
// A step walks its planned positions. With zero skipping (fixed-point inputs, CONFIG_T::zero_skip) the window's
// non-zero inputs are listed once, and a step whose planned positions outnumber them walks that list instead,
// adding the entries it plans (a kernel plans every position if it is a root, else those where its weight and its
// parent's differ, or agree in the negated form). Either way zeros add nothing and are not counted as inputs.

#include "hls4ml_reuse_tables.h"

namespace hls4ml_reuse {

// The window's non-zero inputs, in ascending order (zero skipping only; count stays 0 otherwise).
template <class CONFIG_T> struct nonzero_inputs {
    unsigned index[CONFIG_T::n_in];
    unsigned count;
};

// Lists the non-zero entries of x when `enabled` (zero skipping, or the changes between two windows).
template <class CONFIG_T, class raw_T>
void list_nonzero(const raw_T x[CONFIG_T::n_in], nonzero_inputs<CONFIG_T> &nonzero, bool enabled) {
#pragma HLS INLINE
    nonzero.count = 0;
NonzeroLoop: // as the window is read: one comparison per input, no addition
    for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
        if (enabled && x[k] != 0) nonzero.index[nonzero.count++] = k;
    }
}

// What one step walks: its planned positions, or the listed non-zero inputs when those are fewer.
struct step_walk {
    bool over_nonzero; // walk the non-zero inputs, adding those the kernel plans
    unsigned length;   // entries walked: tile by tile, one tile per cycle of a folded unit
    bool skip_zeros;   // zeros are not counted as inputs
};

template <class CONFIG_T> step_walk walk_of(const plan_step &row, const nonzero_inputs<CONFIG_T> &nonzero, bool skip_zeros) {
#pragma HLS INLINE
    const bool over_nonzero = skip_zeros && nonzero.count < row.n_positions;
    const step_walk walk = {over_nonzero, over_nonzero ? nonzero.count : row.n_positions, skip_zeros};
    return walk;
}

/**
 * \brief The sum over tile t of a step's walk of w[k] * x[k], and the inputs it added (`count`; with zero
 *        skipping, only the non-zero ones).
 *
 * \tparam acc_T  the sum's type (ap_int when synthesizing, long long in the C-simulation fast path)
 */
template <class CONFIG_T, class acc_T, class raw_T>
acc_T walk_tile(const reuse_tables<CONFIG_T> &tables, const raw_T x[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &nonzero,
                const plan_step &row, const step_walk &walk, unsigned t, unsigned &count) {
#pragma HLS INLINE
    acc_T sum = 0;
    count = 0;
TileLaneLoop:
    for (unsigned i = 0; i < CONFIG_T::tile; i++) {
#pragma HLS UNROLL
        const unsigned index = t * CONFIG_T::tile + i;
        if (index < walk.length) {
            const unsigned k = walk.over_nonzero ? nonzero.index[index] : tables.position(row, index);
            if (!walk.over_nonzero || tables.planned(row, k)) {
                const acc_T v = x[k];
                sum += tables.weight(row.kernel, k) ? v : acc_T(-v);
                if (!walk.skip_zeros || v != 0) count++;
            }
        }
    }
    return sum;
}

// The sum over a step's whole walk, tile after tile, and the inputs it added.
template <class CONFIG_T, class acc_T, class raw_T>
acc_T walk_sum(const reuse_tables<CONFIG_T> &tables, const raw_T x[CONFIG_T::n_in], const nonzero_inputs<CONFIG_T> &nonzero,
               const plan_step &row, const step_walk &walk, unsigned &count) {
#pragma HLS INLINE
    acc_T sum = 0;
    count = 0;
WalkLoop:
    for (unsigned t = 0; t < n_tiles(CONFIG_T::n_in, CONFIG_T::tile); t++) {
        if (t * CONFIG_T::tile >= walk.length) break;
        unsigned tile_count;
        sum += walk_tile<CONFIG_T, acc_T>(tables, x, nonzero, row, walk, t, tile_count);
        count += tile_count;
    }
    return sum;
}

} // namespace hls4ml_reuse

#endif
