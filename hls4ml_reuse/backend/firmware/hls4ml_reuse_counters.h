#ifndef HLS4ML_REUSE_COUNTERS_H_
#define HLS4ML_REUSE_COUNTERS_H_

// Evaluated-operation counters of the reuse units, for C simulation: Python reads them through the extern "C"
// functions after predict(). When synthesizing, op_counter is empty and its methods do nothing, so the units
// count without preprocessor blocks.

namespace hls4ml_reuse {

// Counter slots (constants.py MAX_COUNTED_LAYERS) and kinds (constants.py COUNTER_KINDS, in this order).
static const unsigned MAX_COUNTED_LAYERS = 256;
enum counter_kind { COUNT_INPUTS = 0, COUNT_WORD_ADDS = 1, COUNT_VECTORS = 2, COUNT_TILES = 3, COUNT_KINDS = 4 };

#ifndef __SYNTHESIS__
inline unsigned long long (&counters())[MAX_COUNTED_LAYERS][COUNT_KINDS] {
    static unsigned long long table[MAX_COUNTED_LAYERS][COUNT_KINDS] = {{0}};
    return table;
}

/**
 * \brief The operations of one input vector's evaluation, added to its layer's counters by commit().
 *
 * \tparam CONFIG_T  layer configuration: counter_id is the layer's slot
 */
template <class CONFIG_T> class op_counter {
    static_assert(CONFIG_T::counter_id < MAX_COUNTED_LAYERS,
                  "counter_id (the layer index) must be below MAX_COUNTED_LAYERS, here and in ir/constants.py");
    static_assert(CONFIG_T::count_kinds == COUNT_KINDS, "count_kinds: ir/constants.py and this header disagree");
    static_assert(CONFIG_T::max_counted_layers == MAX_COUNTED_LAYERS,
                  "max_counted_layers: ir/constants.py and this header disagree");

  public:
    op_counter() : inputs_(0), word_adds_(0), tiles_(0) {}

    // A child that starts from its parent's value: one word-wide add.
    void word_add() { word_adds_++; }

    // `inputs` positions summed in `tiles` tiles.
    void add(unsigned long long inputs, unsigned long long tiles) {
        inputs_ += inputs;
        tiles_ += tiles;
    }

    void commit() const {
        unsigned long long *slot = counters()[CONFIG_T::counter_id];
        slot[COUNT_INPUTS] += inputs_;
        slot[COUNT_WORD_ADDS] += word_adds_;
        slot[COUNT_VECTORS] += 1;
        slot[COUNT_TILES] += tiles_;
    }

  private:
    unsigned long long inputs_, word_adds_, tiles_;
};
#else
template <class CONFIG_T> class op_counter { // nothing is counted in hardware
  public:
    void word_add() {}
    void add(unsigned long long, unsigned long long) {}
    void commit() const {}
};
#endif

} // namespace hls4ml_reuse

#ifndef __SYNTHESIS__
// Weak so that every translation unit may include this header; the linker keeps one copy.
// 0 outside the table: Python asks only for its units' slots and kinds.
extern "C" __attribute__((weak, visibility("default"))) unsigned long long hls4ml_reuse_counter(unsigned layer,
                                                                                                unsigned kind) {
    if (layer >= hls4ml_reuse::MAX_COUNTED_LAYERS || kind >= hls4ml_reuse::COUNT_KINDS) return 0;
    return hls4ml_reuse::counters()[layer][kind];
}

extern "C" __attribute__((weak, visibility("default"))) void hls4ml_reuse_reset_counters() {
    for (unsigned i = 0; i < hls4ml_reuse::MAX_COUNTED_LAYERS; i++)
        for (unsigned j = 0; j < hls4ml_reuse::COUNT_KINDS; j++) hls4ml_reuse::counters()[i][j] = 0;
}
#endif

#endif
