"""The AXI4-Stream ports every RTL top and unit has (rtl/verilator.py's convention): an input stream s_axis_* and an
output stream m_axis_*; a beat transfers when tvalid and tready are both high at a rising edge."""

from __future__ import annotations

from amaranth.lib.wiring import In, Out


def stream_ports(in_width: int, out_width: int) -> dict:
    """A component signature's members: tdata of the given widths, tvalid, tready and tlast on both streams."""
    return {
        's_axis_tdata': In(in_width),
        's_axis_tvalid': In(1),
        's_axis_tready': Out(1),
        's_axis_tlast': In(1),
        'm_axis_tdata': Out(out_width),
        'm_axis_tvalid': Out(1),
        'm_axis_tready': In(1),
        'm_axis_tlast': Out(1),
    }
