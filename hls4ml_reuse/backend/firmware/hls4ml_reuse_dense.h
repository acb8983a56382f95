#ifndef HLS4ML_REUSE_DENSE_H_
#define HLS4ML_REUSE_DENSE_H_

// Reuse-delta / early-exit dense unit for binary weights (hls4ml io_stream): reads one input vector, evaluates it
// with reuse_vector (hls4ml_reuse_unit.h), writes the outputs.

#include "hls_stream.h"
#include "hls4ml_reuse_unit.h"

namespace hls4ml_reuse {

struct dense_reuse_config : reuse_unit_config {};

// One sample: read the input vector, evaluate it with reuse_vector, write the outputs.
template <class data_T, class res_T, typename CONFIG_T>
void dense_sample(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
    raw_of<CONFIG_T> x[CONFIG_T::n_in];
#pragma HLS ARRAY_PARTITION variable = x complete
    typename res_T::value_type res[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = res complete
    static const ap_uint<1> nothing_known[CONFIG_T::n_out] = {};

ReadInput:
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        const data_T word = data_stream.read();
    ReadWord:
        for (unsigned j = 0; j < data_T::size; j++) {
#pragma HLS UNROLL
            x[i * data_T::size + j] = raw_input<CONFIG_T>(word[j]);
        }
    }

    reuse_vector<CONFIG_T, false>(x, res, tables, nothing_known);

WriteOutput:
    for (unsigned i = 0; i < CONFIG_T::n_out / res_T::size; i++) {
        res_T word;
    WriteWord:
        for (unsigned j = 0; j < res_T::size; j++) {
#pragma HLS UNROLL
            word[j] = res[i * res_T::size + j];
        }
        res_stream.write(word);
    }
}

// The unrolled shape: the whole sample pipelined, one per clock once the input words are in (as hls4ml's latency
// strategy).
template <class data_T, class res_T, typename CONFIG_T>
void dense_unrolled(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream,
                    const ap_uint<1> weights[CONFIG_T::n_kernels * CONFIG_T::n_in],
                    const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                    const typename CONFIG_T::plan_t plan[CONFIG_T::n_kernels * PLAN_ROW],
                    const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                    const ap_uint<1> at_most[CONFIG_T::n_out]) {
#pragma HLS PIPELINE II = 1
    const reuse_tables<CONFIG_T> tables(weights, positions, plan, thresholds, at_most);
    dense_sample<data_T, res_T, CONFIG_T>(data_stream, res_stream, tables);
}

/**
 * \brief Dense layer with binary weights, evaluated by a reuse plan, optionally fused with its threshold.
 *
 * \tparam data_T      input stream word: nnet::array of data_T::size values, n_in / data_T::size words per sample
 * \tparam res_T       output stream word: nnet::array of res_T::size values, n_out / res_T::size words per sample
 * \tparam CONFIG_T    layer configuration (dense_reuse_config)
 * \param data_stream  input stream
 * \param res_stream   output stream
 * \param weights,positions,plan,thresholds,at_most  the unit's tables, as reuse_tables documents them
 */
template <class data_T, class res_T, typename CONFIG_T>
void dense_reuse(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream,
                 const ap_uint<1> weights[CONFIG_T::n_kernels * CONFIG_T::n_in],
                 const typename CONFIG_T::position_t positions[CONFIG_T::n_positions],
                 const typename CONFIG_T::plan_t plan[CONFIG_T::n_kernels * PLAN_ROW],
                 const typename CONFIG_T::threshold_t thresholds[CONFIG_T::n_out],
                 const ap_uint<1> at_most[CONFIG_T::n_out]) {
    static_assert(CONFIG_T::n_in % data_T::size == 0, "n_in must be a multiple of the input stream width");
    static_assert(CONFIG_T::n_out % res_T::size == 0, "n_out must be a multiple of the output stream width");
    if (CONFIG_T::unrolled) {
        dense_unrolled<data_T, res_T, CONFIG_T>(data_stream, res_stream, weights, positions, plan, thresholds, at_most);
        return;
    }
    const reuse_tables<CONFIG_T> tables(weights, positions, plan, thresholds, at_most);
    dense_sample<data_T, res_T, CONFIG_T>(data_stream, res_stream, tables);
}

} // namespace hls4ml_reuse

#endif
