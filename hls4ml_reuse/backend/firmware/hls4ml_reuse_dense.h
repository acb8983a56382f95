#ifndef HLS4ML_REUSE_DENSE_H_
#define HLS4ML_REUSE_DENSE_H_

// Reuse-delta / early-exit dense unit for binary weights (hls4ml io_stream): reads one input vector, evaluates it
// (hls4ml_reuse_unit.h), writes the outputs. Run through reuse_unit, which calls the config's implementation:
// dense_folded (reuse_vector's tile loop) or dense_unrolled (every planned term at once, one sample per clock).

#include "hls_stream.h"
#include "hls4ml_reuse_unit.h"
#include "hls4ml_reuse_unrolled.h"

namespace hls4ml_reuse {

template <class data_T, class res_T, class CONFIG_T> struct dense_folded;

struct dense_reuse_config : reuse_unit_config {
    // Implementation of the unit: dense_folded, or dense_unrolled for the unrolled shape
    template <class data_T, class res_T, class CONFIG_T> using implementation = dense_folded<data_T, res_T, CONFIG_T>;
};

// Reads one sample's input vector, raw.
template <class data_T, class CONFIG_T>
void read_sample(hls::stream<data_T> &data_stream, raw_of<CONFIG_T> x[CONFIG_T::n_in]) {
#pragma HLS INLINE
    static_assert(CONFIG_T::n_in % data_T::size == 0, "n_in must be a multiple of the input stream width");
ReadInput:
    for (unsigned i = 0; i < CONFIG_T::n_in / data_T::size; i++) {
        const data_T word = data_stream.read();
    ReadWord:
        for (unsigned j = 0; j < data_T::size; j++) {
#pragma HLS UNROLL
            x[i * data_T::size + j] = raw_input<CONFIG_T>(word[j]);
        }
    }
}

// Writes one sample's outputs.
template <class res_T, class CONFIG_T>
void write_sample(hls::stream<res_T> &res_stream, const typename res_T::value_type res[CONFIG_T::n_out]) {
#pragma HLS INLINE
    static_assert(CONFIG_T::n_out % res_T::size == 0, "n_out must be a multiple of the output stream width");
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

// One sample in either shape: read the input vector, evaluate it with shape_T::vector, write the outputs.
template <class data_T, class res_T, class CONFIG_T, class shape_T>
void dense_sample(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
    raw_of<CONFIG_T> x[CONFIG_T::n_in];
#pragma HLS ARRAY_PARTITION variable = x complete
    typename res_T::value_type res[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = res complete
    read_sample<data_T, CONFIG_T>(data_stream, x);
    shape_T::vector(x, res, tables);
    write_sample<res_T, CONFIG_T>(res_stream, res);
}

/**
 * \brief Dense layer with binary weights, folded: each sample evaluated by reuse_vector's tile loop, optionally fused
 *        with its threshold (and stopping early where its bit is certain).
 *
 * \tparam data_T    input stream word: nnet::array of data_T::size values, n_in / data_T::size words per sample
 * \tparam res_T     output stream word: nnet::array of res_T::size values, n_out / res_T::size words per sample
 * \tparam CONFIG_T  layer configuration (dense_reuse_config)
 */
template <class data_T, class res_T, class CONFIG_T> struct dense_folded {
    static const bool pipelined = false; // the tile loop runs over several clocks

    static void vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], typename res_T::value_type res[CONFIG_T::n_out],
                       const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        static const ap_uint<1> nothing_known[CONFIG_T::n_out] = {};
        reuse_vector<CONFIG_T, false>(x, res, tables, nothing_known);
    }

    static void run(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        dense_sample<data_T, res_T, CONFIG_T, dense_folded>(data_stream, res_stream, tables);
    }
};

/**
 * \brief Dense layer with binary weights, unrolled: every planned term of a sample at once (unrolled_vector), the
 *        whole sample pipelined, one per clock once the input words are in (as hls4ml's latency strategy).
 *
 * \tparam data_T, res_T, CONFIG_T  as for dense_folded
 */
template <class data_T, class res_T, class CONFIG_T> struct dense_unrolled {
    static const bool pipelined = true; // reuse_unit pipelines the call at II = 1

    static void vector(const raw_of<CONFIG_T> x[CONFIG_T::n_in], typename res_T::value_type res[CONFIG_T::n_out],
                       const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        unrolled_vector<CONFIG_T>(x, res, tables);
    }

    static void run(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        dense_sample<data_T, res_T, CONFIG_T, dense_unrolled>(data_stream, res_stream, tables);
    }
};

} // namespace hls4ml_reuse

#endif
