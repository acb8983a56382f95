"""Constants that Python and the firmware headers share, defined once here.

The config template writes SHARED_WITH_FIRMWARE into every generated layer config (``plan_row``, ``flag_negate``,
...); the headers ``static_assert`` that their own enums agree, so a change on one side fails the C++ build.
tests/test_shared_constants.py checks the headers' enums against this module.
"""

PLAN_FIELDS = (
    'kernel',
    'parent',
    'flags',
    'positions',
    'offset',
    'rows',
)  # a plan-table row: hls4ml_reuse_tables.h plan_field
PLAN_ROW = len(PLAN_FIELDS)
FLAG_NEGATE = 1  # the child starts from its parent's value negated (complement form)
FLAG_EXIT = 2  # a thresholded leaf: may stop early
TILES = (8, 16, 32, 64)  # positions per tile the units implement: hls4ml_reuse_tables.h implemented_tile
COUNTER_KINDS = ('inputs', 'word_adds', 'vectors', 'tiles')  # hls4ml_reuse_counters.h counter_kind, in order
MAX_COUNTED_LAYERS = 256  # counter slots (hls4ml_reuse_counters.h): a unit's layer index must be below this

SHARED_WITH_FIRMWARE = {
    'plan_row': PLAN_ROW,
    'flag_negate': FLAG_NEGATE,
    'flag_exit': FLAG_EXIT,
    'count_kinds': len(COUNTER_KINDS),
    'max_counted_layers': MAX_COUNTED_LAYERS,
}
