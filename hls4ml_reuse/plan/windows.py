"""What a folded convolution's sliding-window generator holds, from the unit's geometry: read by the RTL
(rtl/window.py builds it) and by the cost model (plan/folding.py charges it), so neither re-derives a size.

The generator keeps a ring of input rows and gathers each window from it: from a ring in memory, a pixel per clock
(MemoryWindows), where the core spends at least that long on a window, else from a ring in registers in one clock
(SlidingWindows).
"""

from __future__ import annotations

from .unit import ConvGeometry, Pooling

GATHER_LATENCY = 2  # MemoryWindows: clocks between two windows beyond one per position (read and copy registers)


def reads_from_memory(geometry: ConvGeometry, window_clocks: int) -> bool:
    """Whether MemoryWindows can keep up with a core that takes at least `window_clocks` clocks per window."""
    return geometry.filt_height * geometry.filt_width + GATHER_LATENCY <= window_clocks


def evaluated_region(geometry: ConvGeometry, pooling: Pooling) -> tuple[int, int]:
    """(rows, columns) of the convolution's output that the unit evaluates (an absorbed pooling drops the rest)."""
    if pooling.absorbed:
        return pooling.pooled_height * pooling.pool_height, pooling.pooled_width * pooling.pool_width
    return geometry.out_height, geometry.out_width


def ring_rows(geometry: ConvGeometry, rows: int) -> int:
    """Input rows the ring holds: an output row's and the next one's, or at an image's end, the rows from its last
    evaluated output row's first to the image's last, and the next image's first window's."""
    g = geometry
    within = g.filt_height + g.stride_height
    last_top = max((rows - 1) * g.stride_height - g.pad_top, 0)
    across = g.in_height - last_top + min(g.filt_height - g.pad_top, g.in_height)
    return max(within, across)


def count_width(geometry: ConvGeometry, ring: int) -> int:
    """Bits of the generator's row counters, which wrap: differences of them, taken as signed, stay within half
    their range."""
    return (2 * geometry.in_height + ring + geometry.filt_height).bit_length() + 1


def can_pad(geometry: ConvGeometry, rows: int, columns: int) -> bool:
    """Whether some evaluated window reaches outside the image."""
    g = geometry
    bottom = (rows - 1) * g.stride_height + g.filt_height - g.pad_top > g.in_height
    right = (columns - 1) * g.stride_width + g.filt_width - g.pad_left > g.in_width
    return bool(g.pad_top or g.pad_left or bottom or right)


def marks_padding(geometry: ConvGeometry, pooling: Pooling, binary: bool) -> bool:
    """Whether the windows carry `present` bits: a binary input (no 0 to pad with) and a window reaching outside."""
    return binary and can_pad(geometry, *evaluated_region(geometry, pooling))
