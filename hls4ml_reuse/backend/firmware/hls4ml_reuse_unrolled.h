#ifndef HLS4ML_REUSE_UNROLLED_H_
#define HLS4ML_REUSE_UNROLLED_H_

// The unrolled shape's evaluation of one input vector (dense_unrolled, conv2d_unrolled): every planned term of every
// kernel in one pass, nothing skipped. The datapath is chosen at compile time by the config's tile-sum policy: the
// synthesizable one builds it as adder trees; the fast C-simulation one runs reuse_vector's folded loop, which,
// with nothing exiting early, evaluates and counts the same terms.

#include "hls4ml_reuse_unit.h"

namespace hls4ml_reuse {

/**
 * \brief The unrolled shape's datapath under tile-sum policy policy_T: every kernel's value in one combinational pass,
 *        each from its parent's over only its planned positions. With the weights and plan constant, `planned` and
 *        the weight bits fold away in synthesis: what remains is one adder tree per kernel over its planned inputs,
 *        and one add per child.
 */
template <class CONFIG_T, class policy_T> struct unrolled_datapath {
    template <class res_T>
    static void vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                       const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        typedef accum_of<CONFIG_T> acc_T;
        acc_T y[CONFIG_T::n_kernels];
        op_counter<CONFIG_T> ops;
    UnrolledKernels:
        for (unsigned s = 0; s < CONFIG_T::n_kernels; s++) {
#pragma HLS UNROLL
            const plan_step row = tables.step(s);
            acc_T sum = 0;
        UnrolledPositions:
            for (unsigned k = 0; k < CONFIG_T::n_in; k++) {
#pragma HLS UNROLL
                if (tables.planned(row, k)) sum += tables.weight(row.kernel, k) ? acc_T(x[k]) : acc_T(-x[k]);
            }
            ops.add(row.n_positions, n_tiles(row.n_positions, CONFIG_T::tile));
            if (row.parent == 0) {
                y[row.kernel] = sum;
            } else {
                ops.word_add();
                y[row.kernel] = from_parent(row, y) + 2 * sum;
            }
            if (tables.is_output(row.kernel))
                write_output<CONFIG_T>(res[row.kernel], y[row.kernel],
                                       threshold_bit<CONFIG_T>(tables, row.kernel, y[row.kernel]));
        }
        ops.commit();
    }
};

#ifndef __SYNTHESIS__
// The fast tile sums simulate the unrolled shape by reuse_vector's folded loop: with nothing exiting early, it evaluates
// (and counts) exactly the terms of the datapath above, on packed bits.
template <class CONFIG_T> struct unrolled_datapath<CONFIG_T, fast_tile_sums<CONFIG_T>> {
    template <class res_T>
    static void vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                       const reuse_tables<CONFIG_T> &tables) {
        static const ap_uint<1> nothing_known[CONFIG_T::n_out] = {};
        reuse_vector<CONFIG_T, false>(x, res, tables, nothing_known);
    }
};
#endif

/**
 * \brief The unrolled shape's evaluation of one input vector: every planned term of every kernel, nothing skipped,
 *        by the datapath of the config's tile-sum policy (unrolled_datapath).
 *
 * \tparam CONFIG_T  layer configuration (reuse_unit_config) without early exit, zero skipping or window reuse
 * \param x          the raw input vector, as for reuse_vector
 * \param res        the n_out outputs, in channel order
 * \param tables     the unit's tables
 */
template <class CONFIG_T, class res_T>
void unrolled_vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                     const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
    static_assert(implemented_tile(CONFIG_T::tile), "tile must be one of TILES (ir/constants.py): 8, 16, 32 or 64");
    static_assert(!(CONFIG_T::early_exit || CONFIG_T::zero_skip || CONFIG_T::window_reuse),
                  "the unrolled shape evaluates every planned term");
    unrolled_datapath<CONFIG_T, tile_sums_of<CONFIG_T>>::vector(x, res, tables);
}

} // namespace hls4ml_reuse

#endif
