#ifndef HLS4ML_REUSE_TABLES_H_
#define HLS4ML_REUSE_TABLES_H_

// The five tables of a reuse unit and the storage adapter through which the units read them.
//
// Python writes the tables (hls4ml_reuse/ir/tables.py) and the constants it shares with these headers
// (hls4ml_reuse/ir/constants.py) into every layer config; reuse_tables static_asserts that the config's
// copies equal the enums below, so a change on one side alone fails the C++ build.

#include "ap_int.h"

namespace hls4ml_reuse {

// Plan table row layout, one row per evaluation step (constants.py PLAN_FIELDS, PLAN_ROW).
enum plan_field {
    PLAN_KERNEL = 0,
    PLAN_PARENT = 1,
    PLAN_FLAGS = 2,
    PLAN_POSITIONS = 3,
    PLAN_OFFSET = 4,
    PLAN_ROWS = 5,
    PLAN_ROW = 6
};

// Plan step flags (constants.py FLAG_NEGATE, FLAG_EXIT).
enum plan_flag { FLAG_NEGATE = 1, FLAG_EXIT = 2 };

// The tile sizes the units implement (constants.py TILES).
constexpr bool implemented_tile(unsigned tile) { return tile == 8 || tile == 16 || tile == 32 || tile == 64; }

constexpr unsigned n_tiles(unsigned k, unsigned tile) { return (k + tile - 1) / tile; }

// Banked lanes: inputs per bank (bank i holds positions i, i + tile, ...), the slots of a bank.
constexpr unsigned n_slots(unsigned k, unsigned tile) { return n_tiles(k, tile); }

// One plan row, read once per evaluation step.
struct plan_step {
    unsigned kernel;      // the output channel evaluated at this step
    unsigned parent;      // its parent channel + 1; 0 for a root
    unsigned flags;       // FLAG_NEGATE and FLAG_EXIT
    unsigned n_positions; // number of its planned positions
    unsigned offset;      // where they start in the position table
    unsigned n_rows; // rows (clocks) of its walk over them: ceil(n_positions / tile), or banked, its busiest bank's load
};

// Whether a step may stop early: a thresholded leaf with early exit on (Python sets FLAG_EXIT on leaves only).
template <class CONFIG_T> inline bool may_exit(unsigned flags) {
    return CONFIG_T::thresholded && CONFIG_T::early_exit && (flags & FLAG_EXIT);
}

/**
 * \brief Storage adapter for the five tables of a reuse unit: hands out plan steps, planned positions, weight
 *        bits and thresholds, so that the compute loops do not know the memory layout.
 *
 * It holds pointers to hls4ml's weight arrays: the array arguments of reuse_unit, which constructs it, decay to
 * pointers (and hls4ml may make the arrays top-level ports). The adapter and every function that takes it are inlined
 * into reuse_unit, so synthesis sees the arrays themselves. All bounds are static.
 *
 * \tparam CONFIG_T  layer configuration (reuse_unit_config)
 */
template <class CONFIG_T> class reuse_tables {
    static_assert(CONFIG_T::plan_row == PLAN_ROW, "plan_row: ir/constants.py and this header disagree");
    static_assert(CONFIG_T::flag_negate == FLAG_NEGATE, "flag_negate: ir/constants.py and this header disagree");
    static_assert(CONFIG_T::flag_exit == FLAG_EXIT, "flag_exit: ir/constants.py and this header disagree");
    static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_out > 0, "a reuse unit needs inputs and outputs");
    static_assert(CONFIG_T::n_kernels >= CONFIG_T::n_out, "the output channels are the first n_kernels kernels");
    static_assert(CONFIG_T::n_positions >= 1, "the position table holds at least one entry");

  public:
    typedef typename CONFIG_T::position_t position_t;
    typedef typename CONFIG_T::plan_t plan_t;
    typedef typename CONFIG_T::threshold_t threshold_t;

    /**
     * \param weights     kernels, [n_kernels][n_in] bits (1 = +1): the output channels, then virtual kernels
     * \param positions   every kernel's planned positions, ascending, concatenated in plan order; banked lanes
     *                    (CONFIG_T::banked), every kernel's rows of `tile` slots (see lane_position)
     * \param plan        [n_kernels][PLAN_ROW] evaluation steps, in order (see plan_step)
     * \param thresholds  raw threshold per channel (thresholded layers)
     * \param at_most     1 where the channel's bit is [y <= t] (negative BatchNorm scale), else [y >= t]
     */
    reuse_tables(const ap_uint<1> weights[CONFIG_T::n_kernels * CONFIG_T::n_in],
                 const position_t positions[CONFIG_T::n_positions], const plan_t plan[CONFIG_T::n_kernels * PLAN_ROW],
                 const threshold_t thresholds[CONFIG_T::n_out], const ap_uint<1> at_most[CONFIG_T::n_out])
        : weights_(weights), positions_(positions), plan_(plan), thresholds_(thresholds), at_most_(at_most) {
#pragma HLS INLINE
    }

    // Plan row s (evaluation step s), decoded.
    plan_step step(unsigned s) const {
#pragma HLS INLINE
        const plan_step row = {
            kernel(s),          parent(s), field(s, PLAN_FLAGS), field(s, PLAN_POSITIONS), field(s, PLAN_OFFSET),
            field(s, PLAN_ROWS)};
        return row;
    }

    // The channel evaluated at step s.
    unsigned kernel(unsigned s) const {
#pragma HLS INLINE
        return field(s, PLAN_KERNEL);
    }

    // The parent + 1 of the channel evaluated at step s; 0 for a root.
    unsigned parent(unsigned s) const {
#pragma HLS INLINE
        return field(s, PLAN_PARENT);
    }

    // The i-th planned position (an input index) of a step's kernel (gathered lanes).
    unsigned position(const plan_step &row, unsigned i) const {
#pragma HLS INLINE
        return positions_[row.offset + i];
    }

    // Banked lanes: whether lane i has an entry in row r of a step's walk over its planned positions, and its position
    // k (k mod tile == i). The table holds a slot k / tile per row and lane, n_slots where the lane's bank is spent.
    bool lane_position(const plan_step &row, unsigned r, unsigned i, unsigned &k) const {
#pragma HLS INLINE
        const unsigned slot = positions_[row.offset + r * CONFIG_T::tile + i];
        k = slot * CONFIG_T::tile + i;
        return slot != n_slots(CONFIG_T::n_in, CONFIG_T::tile);
    }

    // Weight k of kernel n: true for +1.
    bool weight(unsigned n, unsigned k) const {
#pragma HLS INLINE
        return weights_[n * CONFIG_T::n_in + k] == 1;
    }

    // Whether a step's kernel sums position k: every position for a root, else where its weight and its parent's
    // differ (agree in the negated form); the plan's masks (plan/spanning_tree.py) are defined so.
    bool planned(const plan_step &row, unsigned k) const {
#pragma HLS INLINE
        if (row.parent == 0) return true;
        const bool differ = weight(row.kernel, k) != weight(row.parent - 1, k);
        return differ != ((row.flags & FLAG_NEGATE) != 0);
    }

    // Whether kernel n is an output channel (not a virtual kernel).
    static bool is_output(unsigned n) {
#pragma HLS INLINE
        return n < CONFIG_T::n_out;
    }

    // Channel n's raw threshold (output channels only).
    threshold_t threshold(unsigned n) const {
#pragma HLS INLINE
        return thresholds_[n];
    }

    // Whether channel n's bit is [y <= t].
    bool at_most(unsigned n) const {
#pragma HLS INLINE
        return at_most_[n] == 1;
    }

  private:
    unsigned field(unsigned s, plan_field f) const {
#pragma HLS INLINE
        return plan_[s * PLAN_ROW + f];
    }

    const ap_uint<1> *weights_;
    const position_t *positions_;
    const plan_t *plan_;
    const threshold_t *thresholds_;
    const ap_uint<1> *at_most_;
};

} // namespace hls4ml_reuse

#endif
