"""Amaranth generators of the two unrolled datapaths of one kernel slice: our reuse plan and stock hls4ml's.

Both are combinational (no clock, no registers) and have the same ports, so one check fits both:

- ``x``: the K raw inputs, input ``i`` at bits ``[i*b, (i+1)*b)`` (``b`` = 1 for binary inputs, 1 = +1; else the
  raw fixed-point integer, two's complement when signed);
- ``y``: the N raw sums, kernel ``j`` at bits ``[j*W, (j+1)*W)``, two's complement.

Weights and the plan are constants compiled into the logic, and a child sums only its planned positions. Sums
are built the same way in both designs, so the comparison measures the plan, not the adder style:

- binary inputs: the agreements of x with a kernel (its +1 products) are counted 6 inputs at a time by LUTs
  instantiated with the kernel's weights folded into their INIT (one LUT per count bit), then the counts are
  added by a balanced tree of two-operand adders, which Yosys maps to CARRY4 chains;
- fixed-point inputs: a balanced tree of adders and subtracters over +-x (stock's sign-select adder tree).

Every adder output is a kept wire: otherwise Yosys' ``alumacc`` merges a whole tree into one carry-save ``$macc``,
measured at 1.8 LUT per input bit. Instantiated counting LUTs keep ABC's work to the adders: left to map 64-entry
count tables itself, ABC took 5 min for stock's 64 x 256 slice and did not finish ours in 20 min; plain adder trees
of XNOR bits took it 5 min for 16 x 256.

Counting LUTs are built per kernel, as stock hls4ml writes every output's popcount on its own and Yosys does not
merge instantiated cells. ``share_luts`` instead builds a LUT function once for every kernel that needs it (same
inputs, same or complemented INIT): merging beyond what Yosys does here, which favours stock, whose aligned 6-input
groups repeat across kernels (a group's parity is one LUT for all of them). Measured on mlp-mnist fc1 (64 x 256):
stock 18,688 LUTs per kernel, 11,252 shared; ours 7,179 and 7,172. With plain XNOR adder trees mapped whole by ABC
(16 x 256, no Steiner kernels) stock took 7,098 LUTs and ours 3,509: a saving near the per-kernel one.
"""

from __future__ import annotations

import numpy as np
from amaranth.back import rtlil
from amaranth.hdl import Cat, Const, Instance, Module, Shape, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..plan.spanning_tree import ROOT
from ..plan.sum_tree import Term, added, balanced_sum, counter_groups, counter_luts, positive_first
from ..plan.stages import StagePlan
from ..plan.unit import Design, UnitSpec

ZERO = Term(0, 0, value=Const(0, 1))


class _Trees:
    """Builds the sum trees (plan/sum_tree.py's rules) into one module, each adder on a kept wire of exactly its range.

    With ``share_luts``, a counting LUT with the same inputs and the same (or the complemented) INIT is built once
    for all kernels (see the module's docstring); identical counts then make identical adders, which Yosys merges.
    """

    def __init__(self, module: Module, x, share_luts: bool = False, lut_cells: bool = True):
        self.module, self.x, self.share_luts, self.lut_cells = module, x, share_luts, lut_cells
        self.luts = {}  # (positions, INIT) -> the LUT's output

    def wire(self, value, lo: int, hi: int, name: str, negative: bool = False) -> Term:
        signal = Signal(Shape.cast(range(lo, hi + 1)), name=name, attrs={'keep': 1})
        self.module.d.comb += signal.eq(value)
        return Term(lo, hi, negative, signal)

    def popcount(self, positions: list, weights: list, name: str) -> Term:
        """How many x[k] equal weights[k] over positions (agreeing +-1 products): counting LUTs, then an adder tree."""
        counts, start = [], 0
        for size in counter_groups(len(positions)):
            end = start + size
            counts.append(self.counter(positions[start:end], weights[start:end], f'{name}_c{start}'))
            start = end
        return self.balanced_sum(counts, name)

    def counter(self, positions: list, weights: list, name: str) -> Term:
        """Agreements among up to COUNTER_INPUTS inputs: one LUT per count bit, the weights folded into its INIT."""
        n = len(positions)
        agreements = [sum(((v >> i) & 1) == w for i, w in enumerate(weights)) for v in range(1 << n)]
        bits = []
        for b in range(counter_luts(n)):
            init = sum(((count >> b) & 1) << v for v, count in enumerate(agreements))
            bits.append(self.lut(tuple(positions), init, f'{name}_{b}'))
        return Term(0, n, value=Cat(*bits))

    def lut(self, positions: tuple, init: int, name: str):
        """A LUT of x[positions] (input i is x[positions[i]]), or the one already built for that function."""
        complement = init ^ ((1 << (1 << len(positions))) - 1)
        if self.share_luts and (positions, init) in self.luts:
            return self.luts[positions, init]
        if self.share_luts and (positions, complement) in self.luts:
            return ~self.luts[positions, complement]
        out = Signal(name=name)
        table = Const(init, 1 << len(positions))
        if self.lut_cells:
            inputs = {f'i_I{i}': self.x[k] for i, k in enumerate(positions)}
            self.module.submodules += Instance(f'LUT{len(positions)}', p_INIT=table, o_O=out, **inputs)
        else:  # the same function as logic, for simulators without Xilinx cell models
            self.module.d.comb += out.eq(table.bit_select(Cat(*(self.x[k] for k in positions)), 1))
        self.luts[positions, init] = out
        return out

    def signed_sum(self, terms: list[Term], name: str) -> Term:
        """Sum of +-terms, positive ones first."""
        return self.balanced_sum(positive_first(terms), name)

    def balanced_sum(self, nodes: list[Term], name: str) -> Term:
        return balanced_sum(nodes, lambda a, b, level, i: self._add(a, b, f'{name}_{level}_{i}')) or ZERO

    def _add(self, a: Term, b: Term, name: str) -> Term:
        """a's sign is kept outside: (+-a) + (+-b) = +-(a + b) or +-(a - b)."""
        node = added(a, b)
        value = a.value + b.value if a.negative == b.negative else a.value - b.value
        return self.wire(value, node.lo, node.hi, name, node.negative)


class _Datapath(wiring.Component):
    """Ports and product terms shared by both designs."""

    def __init__(self, unit: UnitSpec, share_luts: bool = False, lut_cells: bool = True, stages: StagePlan = None):
        self.unit, self.share_luts, self.lut_cells, self.stages = unit, share_luts, lut_cells, stages
        self.kernels = np.asarray(unit.kernels, dtype=bool)  # outputs first, then any virtual (Steiner) kernels
        self.fmt, self.n_in, self.n_out, self.out_width = unit.input_format, unit.n_in, unit.n_out, unit.sum_width
        ports = {'x': In(self.n_in * self.fmt.width), 'y': Out(self.n_out * self.out_width)}
        super().__init__(ports | ({'enable': In(1)} if stages is not None else {}))

    def registers(self, m: Module) -> StageRegisters:
        return StageRegisters(m, self.enable if self.stages is not None else None)

    def agreements(self, trees: _Trees, j: int, positions, name: str) -> Term:
        """Binary inputs: how many x[k] equal w_j[k] over `positions` (the XNORs are folded into the counters)."""
        positions = [int(k) for k in positions]
        return trees.popcount(positions, [int(self.kernels[j, k]) for k in positions], name)

    def terms(self, x, j: int, positions) -> list[Term]:
        """Fixed-point inputs: +-x[k] (of the inputs `x`, as a stage reads them) as tree leaves."""
        w, lo, hi = self.fmt.width, self.fmt.low, self.fmt.high
        leaves = []
        for k in (int(k) for k in positions):
            raw = x[k * w : (k + 1) * w]
            leaves.append(Term(lo, hi, not self.kernels[j, k], raw.as_signed() if self.fmt.signed else raw))
        return leaves

    def from_agreements(self, agreements) -> object:
        """y = 2a - K: a binary sum from the number of +1 products."""
        return agreements * 2 - self.n_in

    def signed_value(self, node: Term):
        return -node.value if node.negative else node.value

    def drive_outputs(self, module: Module, sums: list) -> None:
        outputs = []
        for j, value in enumerate(sums):
            y = Signal(signed(self.out_width), name=f'y{j}')
            module.d.comb += y.eq(value)
            outputs.append(y)
        module.d.comb += self.y.eq(Cat(*outputs))


class StockDatapath(_Datapath):
    """Stock hls4ml unrolled: every kernel from scratch (XNOR-popcount, or a sign-select adder tree)."""

    def elaborate(self, platform):
        m = Module()
        trees, everywhere = _Trees(m, self.x, self.share_luts, self.lut_cells), range(self.n_in)
        sums = []
        for j in range(self.n_out):
            if self.fmt.binary:
                sums.append(self.from_agreements(self.agreements(trees, j, everywhere, f'k{j}').value))
            else:
                sums.append(self.signed_value(trees.signed_sum(self.terms(trees.x, j, everywhere), f'k{j}')))
        self.drive_outputs(m, sums)
        return m


class ReuseDatapath(_Datapath):
    """Our plan unrolled: a root sums all K positions; a child adds its planned positions to +-its parent's value.

    Virtual (Steiner) kernels after the first ``n_outputs`` are computed as parents but drive no output.
    Binary inputs are carried as agreements a (y = 2a - K) modulo 2^bits(K): a child's
    ``a_c = +-a_p + 2*count + constant`` is exact there because a lies in [0, K].
    """

    def __init__(self, unit: UnitSpec, share_luts: bool = False, lut_cells: bool = True, stages: StagePlan = None):
        super().__init__(unit, share_luts, lut_cells, stages)
        self.plan = unit.plan

    def elaborate(self, platform):
        m = Module()
        registers = self.registers(m)
        stage = self.stages.stage if self.stages is not None else np.zeros(self.unit.n_kernels, dtype=int)
        last = int(stage.max())
        trees = [_Trees(m, registers.delayed(self.x, 0, t, 'x'), self.share_luts, self.lut_cells) for t in range(last + 1)]
        values = {}  # kernel -> (its value, the stage computing it)
        for j in (int(j) for j in self.plan.order):
            positions = np.flatnonzero(self.plan.mask[j])
            child = self._binary_child if self.fmt.binary else self._fixed_child
            parent, t = int(self.plan.parent[j]), int(stage[j])
            base = None if parent == ROOT else registers.delayed(*values[parent], t, f'a{parent}')
            values[j] = child(trees[t], j, positions, base), t
        outputs = [registers.delayed(*values[j], last, f'a{j}') for j in range(self.n_out)]
        sums = [self.from_agreements(value) if self.fmt.binary else value for value in outputs]
        self.drive_outputs(m, sums)
        return m

    def _binary_child(self, trees: _Trees, j: int, positions, parent_value):
        """Agreements of kernel j (a root: its count; a child: from its parent's)."""
        count = self.agreements(trees, j, positions, f'k{j}')
        if parent_value is None:
            return count.value
        # Over its m positions a child gains 2*count - m agreements (the complement form starts from K - a_p).
        modulus = 1 << self.n_in.bit_length()
        if self.plan.negate[j]:
            value = (self.n_in - len(positions)) % modulus - parent_value + count.value * 2
        else:
            value = parent_value + count.value * 2 + (-len(positions)) % modulus
        return trees.wire(value, 0, modulus - 1, f'a{j}').value

    def _fixed_child(self, trees: _Trees, j: int, positions, parent_value):
        """Raw sum of kernel j, modulo 2^W (exact: |y| < 2^(W-1))."""
        total = trees.signed_sum(self.terms(trees.x, j, positions), f'k{j}')
        if parent_value is None:
            return self.signed_value(total)
        base = -parent_value if self.plan.negate[j] else parent_value
        delta = -total.value * 2 if total.negative else total.value * 2
        half = 1 << (self.out_width - 1)
        return trees.wire(base + delta, -half, half - 1, f'y{j}_sum').value


class StageRegisters:
    """Copies of a value registered across stage boundaries (each boundary's register loads when `enable`), made
    once per value and stage."""

    def __init__(self, module: Module, enable):
        self.module, self.enable, self.copies = module, enable, {}

    def delayed(self, value, computed_in: int, stage: int, name: str):
        """`value`, computed in stage `computed_in`, as stage `stage` reads it."""
        copies = self.copies.setdefault(id(value), [value])
        while len(copies) <= stage - computed_in:
            register = Signal.like(value, name=f'{name}_s{computed_in + len(copies)}')
            with self.module.If(self.enable):
                self.module.d.sync += register.eq(copies[-1])
            copies.append(register)
        return copies[stage - computed_in]


DATAPATHS = {Design.REUSE: ReuseDatapath, Design.STOCK: StockDatapath}


def datapath(
    unit: UnitSpec, design: Design, share_luts: bool = False, lut_cells: bool = True, stages: StagePlan = None
) -> _Datapath:
    """The unrolled datapath of `unit`'s raw sums, ours or our model of stock's; without `lut_cells` its counting
    LUTs are written as logic of the same truth tables (for simulation), not as instantiated LUT cells. Without
    `stages` it is combinational; with them (plan/stages.py) registered at their boundaries, loading on `enable`."""
    return DATAPATHS[Design(design)](unit, share_luts, lut_cells, stages)


def to_rtlil(design: _Datapath) -> str:
    return rtlil.convert(design, name='top')
