#ifndef HLS4ML_REUSE_POOL_H_
#define HLS4ML_REUSE_POOL_H_

// Streaming 2-D max pooling of any pool size, stride and padding (hls4ml io_stream, channels last).
//
// hls4ml's io_stream pooling needs the stride equal to the pool size and no padding; this one takes overlapping
// (stride < pool), gapped (stride > pool) and 'same'-padded max pooling. Pixels arrive one stream word at a time
// (all channels of a pixel), row by row. A ring of the last pool_height input rows holds them; as soon as the last
// input row an output row needs has arrived, that output row is written, one word per output pixel. The maximum is
// taken over the window's positions inside the map only: Keras pads max pooling with -inf, so padding never wins.
// A comparison maximum is exact in the input type: on hls4ml's bits (ap_uint<1>, 0 = -1) it is an OR, on
// fixed-point values the numeric maximum. A 1-D max pooling (steps, channels) is this one on a map of height 1.

#include <type_traits>

#include "hls_stream.h"

namespace hls4ml_reuse {

struct max_pool2d_config {
    static const unsigned in_height = 1;     // input rows
    static const unsigned in_width = 1;      // input columns
    static const unsigned n_chan = 1;        // channels (pooled independently)
    static const unsigned pool_height = 1;   // pooling window rows
    static const unsigned pool_width = 1;    // pooling window columns
    static const unsigned stride_height = 1; // vertical stride
    static const unsigned stride_width = 1;  // horizontal stride
    static const unsigned pad_top = 0;       // padded rows above the map ('same': total // 2, as Keras)
    static const unsigned pad_left = 0;      // padded columns left of the map
    static const unsigned out_height = 1;    // output rows
    static const unsigned out_width = 1;     // output columns
};

// The last input row of output row `row`'s window (beyond the map under bottom padding).
template <class CONFIG_T> constexpr unsigned pool_window_end(unsigned row) {
    return row * CONFIG_T::stride_height + CONFIG_T::pool_height - 1 - CONFIG_T::pad_top;
}

// The input row whose arrival completes output row `row`: its window's last row, clipped to the map.
template <class CONFIG_T> constexpr unsigned pool_completing_row(unsigned row) {
    return pool_window_end<CONFIG_T>(row) < CONFIG_T::in_height - 1 ? pool_window_end<CONFIG_T>(row)
                                                                    : CONFIG_T::in_height - 1;
}

// The first position of a window inside the map along one axis (`start` may lie in the padding before it).
constexpr unsigned first_inside(int start) { return start < 0 ? 0u : unsigned(start); }

// Output rows one input row can complete: the windows that contain it, at most ceil(pool_height / stride_height).
template <class CONFIG_T> struct pool_rows {
    static const unsigned completed_per_input =
        (CONFIG_T::pool_height + CONFIG_T::stride_height - 1) / CONFIG_T::stride_height;
};

// Reads one input row into its slot of the ring.
template <class data_T, class CONFIG_T>
void read_pool_row(hls::stream<data_T> &data_stream,
                   typename data_T::value_type slot[CONFIG_T::in_width][CONFIG_T::n_chan]) {
#pragma HLS INLINE
PoolReadRow:
    for (unsigned col = 0; col < CONFIG_T::in_width; col++) {
#pragma HLS PIPELINE II = 1
        const data_T word = data_stream.read();
    PoolReadPixel:
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
            slot[col][c] = word[c];
        }
    }
}

// Writes output row out_row: per output pixel, the maximum of each channel over the window's positions in the map.
template <class data_T, class res_T, class CONFIG_T>
void pool_output_row(hls::stream<res_T> &res_stream,
                     const typename data_T::value_type rows[CONFIG_T::pool_height][CONFIG_T::in_width][CONFIG_T::n_chan],
                     unsigned out_row) {
#pragma HLS INLINE
    typedef typename data_T::value_type value_t;
    const int top = int(out_row * CONFIG_T::stride_height) - int(CONFIG_T::pad_top);
PoolColumns:
    for (unsigned out_col = 0; out_col < CONFIG_T::out_width; out_col++) {
#pragma HLS PIPELINE II = 1
        const int left = int(out_col * CONFIG_T::stride_width) - int(CONFIG_T::pad_left);
        value_t best[CONFIG_T::n_chan];
#pragma HLS ARRAY_PARTITION variable = best complete
    PoolStart: // the window's first position in the map (every window has one): padding never enters
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
            best[c] = rows[first_inside(top) % CONFIG_T::pool_height][first_inside(left)][c];
        }
    PoolHeight:
        for (unsigned i = 0; i < CONFIG_T::pool_height; i++) {
            const int iy = top + int(i);
        PoolWidth:
            for (unsigned j = 0; j < CONFIG_T::pool_width; j++) {
                const int ix = left + int(j);
                if (iy < 0 || iy >= int(CONFIG_T::in_height) || ix < 0 || ix >= int(CONFIG_T::in_width)) continue;
            PoolChannels:
                for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
                    const value_t x = rows[unsigned(iy) % CONFIG_T::pool_height][ix][c];
                    if (x > best[c]) best[c] = x;
                }
            }
        }
        res_T word;
    PoolWrite:
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
            word[c] = best[c];
        }
        res_stream.write(word);
    }
}

/**
 * \brief 2-D max pooling (channels last) of any pool size, stride and padding, exact in its input type.
 *
 * \tparam data_T      input stream word: one pixel, n_chan values; in_height * in_width words per image
 * \tparam res_T       output stream word: one output pixel, n_chan values of the same type
 * \tparam CONFIG_T    layer configuration (max_pool2d_config)
 * \param data_stream  input stream
 * \param res_stream   output stream: out_height * out_width words per image
 */
template <class data_T, class res_T, typename CONFIG_T>
void max_pool2d(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream) {
    static_assert(data_T::size == CONFIG_T::n_chan, "the input stream carries one pixel (all channels) per word");
    static_assert(res_T::size == CONFIG_T::n_chan, "the output stream carries one pixel (all channels) per word");
    static_assert(std::is_same<typename data_T::value_type, typename res_T::value_type>::value,
                  "max pooling writes its input type: a maximum is exact in it");
    static_assert(CONFIG_T::pad_top < CONFIG_T::pool_height && CONFIG_T::pad_left < CONFIG_T::pool_width,
                  "padding smaller than the pool: every window holds a position of the map");
    static_assert((CONFIG_T::out_height - 1) * CONFIG_T::stride_height < CONFIG_T::in_height + CONFIG_T::pad_top &&
                      (CONFIG_T::out_width - 1) * CONFIG_T::stride_width < CONFIG_T::in_width + CONFIG_T::pad_left,
                  "the last window starts inside the map");
    static typename data_T::value_type rows[CONFIG_T::pool_height][CONFIG_T::in_width][CONFIG_T::n_chan];
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 1
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 3
    unsigned next_out_row = 0;
PoolInputRows:
    for (unsigned row = 0; row < CONFIG_T::in_height; row++) {
        read_pool_row<data_T, CONFIG_T>(data_stream, rows[row % CONFIG_T::pool_height]);
    PoolOutputRows:
        for (unsigned i = 0; i < pool_rows<CONFIG_T>::completed_per_input; i++) {
            if (next_out_row >= CONFIG_T::out_height || pool_completing_row<CONFIG_T>(next_out_row) != row) break;
            pool_output_row<data_T, res_T, CONFIG_T>(res_stream, rows, next_out_row);
            next_out_row++;
        }
    }
}

} // namespace hls4ml_reuse

#endif
