"""An unrolled dense unit in RTL: the constant datapath that `synth` measures (synth/rtl.py), registered, behind
AXI4-Stream ports: one vector per clock.

Register stages: the input vector; the datapath's own stages, cut along the plan tree so that none is deeper than
a LUT-level budget (plan/stages.py; by default stock's depth, where the stock twin is one stage); then the
outputs, the thresholds compared on the way in. `lut_levels` of the synthesized netlist says how deep the deepest
stage is. Simulators without Xilinx cell models build it with ``lut_cells=False``: the counting LUTs as logic of
the same truth tables. The stream stalls as a whole: every stage advances when the output register is empty or
being read.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring

from ..plan.stages import StagePlan, plan_stages
from ..plan.thresholds import AT_MOST
from ..plan.unit import Design, OutputEncoding, UnitSpec
from ..synth.rtl import StageRegisters, datapath
from ..plan.folding import value_width
from .dense import output_width
from .stream import stream_ports


def latency_cycles(stages: StagePlan) -> int:
    """Clocks from an input beat to its output beat: the input register, the stage boundaries, the output register."""
    return 2 + stages.boundaries


class UnrolledDense(wiring.Component):
    """One unrolled dense unit, ours or the stock twin, one beat (a whole vector) in and out per clock."""

    def __init__(self, unit: UnitSpec, design: Design = Design.REUSE, lut_cells: bool = True, lut_levels: int = None):
        self.unit, self.design, self.lut_cells = unit, Design(design), lut_cells
        self.value_width, self.out_width = value_width(unit), output_width(unit)
        self.stages = plan_stages(unit, self.design, lut_levels)
        super().__init__(stream_ports(unit.n_in * self.value_width, unit.n_out * self.out_width))

    def elaborate(self, platform):
        m = Module()
        unit = self.unit
        m.submodules.sums = sums = datapath(unit, self.design, lut_cells=self.lut_cells, stages=self.stages)
        x, x_valid = Signal(len(self.s_axis_tdata)), Signal()
        out, out_valid = Signal(len(self.m_axis_tdata)), Signal()
        advance = Signal()
        m.d.comb += [
            advance.eq(~out_valid | self.m_axis_tready),
            sums.enable.eq(advance),
            self.s_axis_tready.eq(advance),
            sums.x.eq(x),
            self.m_axis_tdata.eq(out),
            self.m_axis_tvalid.eq(out_valid),
            self.m_axis_tlast.eq(1),
        ]
        y_valid = StageRegisters(m, advance).delayed(x_valid, 0, self.stages.boundaries, 'valid')  # its last stage's
        with m.If(advance):
            m.d.sync += [x.eq(self.s_axis_tdata), x_valid.eq(self.s_axis_tvalid)]
            m.d.sync += [out.eq(Cat(*self.encoded(sums.y))), out_valid.eq(y_valid)]
        return m

    def encoded(self, y) -> list:
        """Each channel's output from its raw sum: the sum itself, or its threshold bit (hls4ml's 0/1, or -1/+1)."""
        unit, width = self.unit, self.unit.sum_width
        values = [y[j * width : (j + 1) * width].as_signed() for j in range(unit.n_out)]
        if not unit.thresholded:
            return values
        bits = []
        for j, value in enumerate(values):
            threshold = int(unit.thresholds.value[j])
            at_most = unit.thresholds.mode[j] == AT_MOST
            bit = value <= threshold if at_most else value >= threshold
            bits.append(Mux(bit, 1, 0b11) if unit.output_encoding is OutputEncoding.BIPOLAR else bit)
        return bits
