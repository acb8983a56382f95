#ifndef HLS4ML_REUSE_COUNTERS_H_
#define HLS4ML_REUSE_COUNTERS_H_

// Evaluated-operation counters of the reuse units. C simulation only: nothing here exists when
// synthesizing. Python reads them through the extern "C" functions after predict().

#ifndef __SYNTHESIS__
namespace hls4ml_reuse {

static const unsigned max_counted_layers = 256;
enum counter_kind { COUNT_INPUTS = 0, COUNT_WORD_ADDS = 1, COUNT_VECTORS = 2, COUNT_TILES = 3, COUNT_KINDS = 4 };

inline unsigned long long (&counters())[max_counted_layers][COUNT_KINDS] {
    static unsigned long long table[max_counted_layers][COUNT_KINDS] = {{0}};
    return table;
}

inline void count_ops(unsigned layer, unsigned long long inputs, unsigned long long word_adds,
                      unsigned long long tiles) {
    counters()[layer % max_counted_layers][COUNT_INPUTS] += inputs;
    counters()[layer % max_counted_layers][COUNT_WORD_ADDS] += word_adds;
    counters()[layer % max_counted_layers][COUNT_VECTORS] += 1;
    counters()[layer % max_counted_layers][COUNT_TILES] += tiles;
}

} // namespace hls4ml_reuse

// Weak so that every translation unit may include this header; the linker keeps one copy.
extern "C" __attribute__((weak, visibility("default"))) unsigned long long hls4ml_reuse_counter(unsigned layer,
                                                                                                unsigned kind) {
    return hls4ml_reuse::counters()[layer % hls4ml_reuse::max_counted_layers][kind % hls4ml_reuse::COUNT_KINDS];
}

extern "C" __attribute__((weak, visibility("default"))) void hls4ml_reuse_reset_counters() {
    for (unsigned i = 0; i < hls4ml_reuse::max_counted_layers; i++)
        for (unsigned j = 0; j < hls4ml_reuse::COUNT_KINDS; j++)
            hls4ml_reuse::counters()[i][j] = 0;
}
#endif

#endif
