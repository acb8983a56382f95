#ifndef HLS4ML_REUSE_CONV2D_H_
#define HLS4ML_REUSE_CONV2D_H_

// Reuse-delta / early-exit 2-D convolution for binary weights (hls4ml io_stream, channels last).
//
// Pixels arrive one stream word at a time (all channels of a pixel), row by row. A ring of the last filt_height
// input rows holds raw values; as soon as the last input row an output row needs has arrived, that output row is
// computed: every window is gathered in (h, w, c) order -- hls4ml's and Keras' kernel order -- and evaluated by
// reuse_vector. Positions outside the image ('same' padding) are 0, as in Keras: no ZeroPadding2D layer is needed
// in front.
//
// A thresholded unit may absorb the max pooling after it (pool_height x pool_width, stride equal to the pool, no
// padding): on bits the maximum is an OR, so once a pooling window holds a 1 for a channel, that channel is skipped
// at the window's remaining pixels, unless a channel still unknown there starts from it. The unit then writes the
// pooled map, and the pixels that Keras' pooling drops (odd sizes) are not evaluated at all.
//
// With window reuse (window_reuse), a window is evaluated from its left neighbour in the same output row: each
// kernel's change is its parent's change plus a correction over its planned positions whose input changed
// (reuse_window). Every value is then kept exact: no early exit, and no max pooling absorbed.
//
// Run through reuse_unit, which calls the config's implementation: conv2d_folded (all of the above), or
// conv2d_unrolled (every planned term of a window at once, one window per clock; no pooling absorbed).

#include "hls_stream.h"
#include "hls4ml_reuse_unit.h"
#include "hls4ml_reuse_unrolled.h"

namespace hls4ml_reuse {

template <class data_T, class res_T, class CONFIG_T> struct conv2d_folded;

struct conv2d_reuse_config : reuse_unit_config {
    // Geometry (hls4ml's Conv2D); n_in = filt_height * filt_width * n_chan
    static const unsigned in_height = 1;     // input rows
    static const unsigned in_width = 1;      // input columns
    static const unsigned n_chan = 1;        // input channels
    static const unsigned filt_height = 1;   // kernel rows
    static const unsigned filt_width = 1;    // kernel columns
    static const unsigned stride_height = 1; // vertical stride
    static const unsigned stride_width = 1;  // horizontal stride
    static const unsigned pad_top = 0;       // zero rows above the image ('same' padding)
    static const unsigned pad_left = 0;      // zero columns left of the image
    static const unsigned out_height = 1;    // output rows of the convolution
    static const unsigned out_width = 1;     // output columns of the convolution

    // Absorbed max pooling
    static const unsigned pool_height = 1;   // pooling window rows (1 x 1: no pooling absorbed)
    static const unsigned pool_width = 1;    // pooling window columns
    static const unsigned pooled_height = 1; // out_height / pool_height (rounded down)
    static const unsigned pooled_width = 1;  // out_width / pool_width (rounded down)

    // Implementation of the unit: conv2d_folded, or conv2d_unrolled for the unrolled shape
    template <class data_T, class res_T, class CONFIG_T> using implementation = conv2d_folded<data_T, res_T, CONFIG_T>;
};

// What an absorbed pooling changes: the convolution outputs evaluated (Keras' pooling drops the rest).
template <class CONFIG_T> struct pooling {
    static const bool absorbed = CONFIG_T::pool_height * CONFIG_T::pool_width > 1; // a max pooling is absorbed
    // output rows and columns evaluated
    static const unsigned rows = absorbed ? CONFIG_T::pooled_height * CONFIG_T::pool_height : CONFIG_T::out_height;
    static const unsigned columns = absorbed ? CONFIG_T::pooled_width * CONFIG_T::pool_width : CONFIG_T::out_width;
    static const unsigned cells = absorbed ? CONFIG_T::pooled_width : 1; // pooling windows per row
};

// The ring of the last filt_height input rows, raw.
template <class CONFIG_T> using input_rows = raw_of<CONFIG_T>[CONFIG_T::filt_height][CONFIG_T::in_width][CONFIG_T::n_chan];

// The input row whose arrival completes output row `row` (clipped to the image for bottom padding).
template <class CONFIG_T> inline unsigned completing_row(unsigned row) {
    const unsigned last = row * CONFIG_T::stride_height + CONFIG_T::filt_height - 1 - CONFIG_T::pad_top;
    return last < CONFIG_T::in_height - 1 ? last : CONFIG_T::in_height - 1;
}

// Reads one input row into its slot of the ring.
template <class data_T, class CONFIG_T>
void read_row(hls::stream<data_T> &data_stream, raw_of<CONFIG_T> slot[CONFIG_T::in_width][CONFIG_T::n_chan]) {
#pragma HLS INLINE
ReadRow:
    for (unsigned col = 0; col < CONFIG_T::in_width; col++) {
        const data_T word = data_stream.read();
    ReadPixel:
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
            slot[col][c] = raw_input<CONFIG_T>(word[c]);
        }
    }
}

// The window of output pixel (out_row, out_col), in kernel order; 0 outside the image.
template <class CONFIG_T>
void gather_window(const input_rows<CONFIG_T> rows, unsigned out_row, unsigned out_col,
                   raw_of<CONFIG_T> window[CONFIG_T::n_in]) {
GatherHeight:
    for (unsigned kh = 0; kh < CONFIG_T::filt_height; kh++) {
        const int iy = int(out_row * CONFIG_T::stride_height + kh) - int(CONFIG_T::pad_top);
    GatherWidth:
        for (unsigned kw = 0; kw < CONFIG_T::filt_width; kw++) {
            const int ix = int(out_col * CONFIG_T::stride_width + kw) - int(CONFIG_T::pad_left);
            const bool inside = iy >= 0 && iy < int(CONFIG_T::in_height) && ix >= 0 && ix < int(CONFIG_T::in_width);
        GatherChannel:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
                window[(kh * CONFIG_T::filt_width + kw) * CONFIG_T::n_chan + c] =
                    inside ? rows[unsigned(iy) % CONFIG_T::filt_height][ix][c] : raw_of<CONFIG_T>(0);
            }
        }
    }
}

// Writes one output pixel (all n_out channels).
template <class res_T, class CONFIG_T>
void write_pixel(hls::stream<res_T> &res_stream, const typename res_T::value_type res[CONFIG_T::n_out]) {
#pragma HLS INLINE
    res_T word;
WritePixel:
    for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
#pragma HLS UNROLL
        word[f] = res[f];
    }
    res_stream.write(word);
}

// With max pooling absorbed, one convolution output: evaluates the channels its pooling window does not know yet,
// ORs their bits into the window (seen_one), and after the window's last pixel writes the pooled pixel.
template <class res_T, class CONFIG_T>
void pool_pixel(hls::stream<res_T> &res_stream, const raw_of<CONFIG_T> window[CONFIG_T::n_in],
                const reuse_tables<CONFIG_T> &tables, unsigned out_row, unsigned out_col,
                ap_uint<1> seen_one[CONFIG_T::n_out]) {
#pragma HLS INLINE
    typename res_T::value_type res[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = res complete
    if (out_row % CONFIG_T::pool_height == 0 && out_col % CONFIG_T::pool_width == 0) {
    PoolStart: // a new pooling window
        for (unsigned f = 0; f < CONFIG_T::n_out; f++) seen_one[f] = 0;
    }
    reuse_vector<CONFIG_T, true>(window, res, tables, seen_one);
PoolOr:
    for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
#pragma HLS UNROLL
        if (res[f] == 1) seen_one[f] = 1; // 1 is +1 as a bit and as -1/+1
    }
    if (out_row % CONFIG_T::pool_height != CONFIG_T::pool_height - 1 ||
        out_col % CONFIG_T::pool_width != CONFIG_T::pool_width - 1) {
        return; // not the window's last pixel
    }
    res_T word;
PoolWrite:
    for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
#pragma HLS UNROLL
        write_output<CONFIG_T>(word[f], 0, seen_one[f] == 1); // thresholded: writes the bit
    }
    res_stream.write(word);
}

// Reads the image row by row into the ring and computes each output row, by shape_T::output_row, as soon as its last
// input row is in.
template <class data_T, class res_T, class CONFIG_T, class shape_T>
void stream_rows(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, input_rows<CONFIG_T> rows,
                 const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
    static_assert(data_T::size == CONFIG_T::n_chan, "the input stream carries one pixel (all channels) per word");
    static_assert(res_T::size == CONFIG_T::n_out, "the output stream carries one pixel (all filters) per word");
    static_assert(CONFIG_T::n_in == CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan,
                  "n_in is the window size");
    static_assert(CONFIG_T::pad_top < CONFIG_T::filt_height, "padding must be smaller than the filter");
    unsigned next_out_row = 0;
InputRows:
    for (unsigned row = 0; row < CONFIG_T::in_height; row++) {
        read_row<data_T, CONFIG_T>(data_stream, rows[row % CONFIG_T::filt_height]);
    OutputRows:
        for (unsigned i = 0; i < CONFIG_T::out_height; i++) {
            if (next_out_row >= pooling<CONFIG_T>::rows || completing_row<CONFIG_T>(next_out_row) != row) break;
            shape_T::output_row(res_stream, rows, tables, next_out_row);
            next_out_row++;
        }
    }
}

/**
 * \brief 2-D convolution with binary weights (channels last), folded: each window evaluated by reuse_vector's tile
 *        loop, optionally fused with its threshold and the max pooling after it, or from its left neighbour (window
 *        reuse).
 *
 * \tparam data_T    input stream word: one pixel, n_chan values; in_height * in_width words per image
 * \tparam res_T     output stream word: one pixel (of the pooled map when pooling is absorbed), n_out values
 * \tparam CONFIG_T  layer configuration (conv2d_reuse_config), n_in = filt_height * filt_width * n_chan
 */
template <class data_T, class res_T, class CONFIG_T> struct conv2d_folded {
    static const bool pipelined = false; // each window takes its tiles' clocks

    static void run(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        static_assert(!pooling<CONFIG_T>::absorbed || CONFIG_T::thresholded, "only a thresholded unit absorbs max pooling");
        static_assert(!(pooling<CONFIG_T>::absorbed && CONFIG_T::window_reuse), "window reuse evaluates every channel");
        static input_rows<CONFIG_T> rows; // the ring of the last filt_height input rows
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 3
        stream_rows<data_T, res_T, CONFIG_T, conv2d_folded>(data_stream, res_stream, rows, tables);
    }

    // Evaluates output row out_row (of the convolution) and writes its pixels, or its pooled pixels.
    static void output_row(hls::stream<res_T> &res_stream, const input_rows<CONFIG_T> rows,
                           const reuse_tables<CONFIG_T> &tables, unsigned out_row) {
#pragma HLS INLINE
        typedef pooling<CONFIG_T> pool;
        raw_of<CONFIG_T> window[CONFIG_T::n_in];
#pragma HLS ARRAY_PARTITION variable = window complete
        typename res_T::value_type res[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable = res complete
        static ap_uint<1> seen_one[pool::cells][CONFIG_T::n_out]; // per pooling window of the current row: OR so far
#pragma HLS ARRAY_PARTITION variable = seen_one complete dim = 2
        static const ap_uint<1> nothing_known[CONFIG_T::n_out] = {};
        accum_of<CONFIG_T> y[CONFIG_T::n_kernels]; // window reuse: the previous window's kernel values
        raw_of<CONFIG_T> previous[CONFIG_T::n_in]; // and its inputs

    OutputColumns:
        for (unsigned out_col = 0; out_col < pool::columns; out_col++) {
            gather_window<CONFIG_T>(rows, out_row, out_col, window);
            if (CONFIG_T::window_reuse) {
                reuse_window<CONFIG_T>(window, previous, out_col > 0, y, res, tables);
                write_pixel<res_T, CONFIG_T>(res_stream, res);
            } else if (pool::absorbed) {
                pool_pixel<res_T, CONFIG_T>(res_stream, window, tables, out_row, out_col,
                                            seen_one[out_col / CONFIG_T::pool_width]);
            } else {
                reuse_vector<CONFIG_T, false>(window, res, tables, nothing_known);
                write_pixel<res_T, CONFIG_T>(res_stream, res);
            }
        }
    }
};

/**
 * \brief 2-D convolution with binary weights (channels last), unrolled: every planned term of a window at once
 *        (unrolled_vector), one window per clock, the row ring fully partitioned so that a whole window is read in
 *        one clock. Absorbs no pooling.
 *
 * \tparam data_T, res_T, CONFIG_T  as for conv2d_folded (res_T: one pixel of the convolution)
 */
template <class data_T, class res_T, class CONFIG_T> struct conv2d_unrolled {
    static const bool pipelined = false; // its column loop is pipelined, below

    static void run(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream, const reuse_tables<CONFIG_T> &tables) {
#pragma HLS INLINE
        static_assert(!pooling<CONFIG_T>::absorbed, "the unrolled shape evaluates every channel");
        static input_rows<CONFIG_T> rows;
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 0
        stream_rows<data_T, res_T, CONFIG_T, conv2d_unrolled>(data_stream, res_stream, rows, tables);
    }

    // Output row out_row: one window per clock, every planned term of every kernel at once.
    static void output_row(hls::stream<res_T> &res_stream, const input_rows<CONFIG_T> rows,
                           const reuse_tables<CONFIG_T> &tables, unsigned out_row) {
#pragma HLS INLINE
    UnrolledColumns:
        for (unsigned out_col = 0; out_col < CONFIG_T::out_width; out_col++) {
#pragma HLS PIPELINE II = 1
            raw_of<CONFIG_T> window[CONFIG_T::n_in];
            typename res_T::value_type res[CONFIG_T::n_out];
            gather_window<CONFIG_T>(rows, out_row, out_col, window);
            unrolled_vector<CONFIG_T>(window, res, tables);
            write_pixel<res_T, CONFIG_T>(res_stream, res);
        }
    }
};

} // namespace hls4ml_reuse

#endif
