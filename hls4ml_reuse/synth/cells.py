"""The 7-series cells that Yosys 0.70's ``synth_xilinx -family xc7`` emits, what each occupies, and a netlist's LUT depth.

Whole designs (registers, ROMs, RAMs, state machines) map to more than LUTs and carry chains: flip-flops
(FDRE/FDSE/FDCE/FDPE), block RAM (RAMB18E1, RAMB36E1), DSP48E1, and distributed RAM in SLICEM LUTs. Yosys' xc7
LUTRAM library (share/xilinx/lutrams_xc5v.txt) emits RAM32M, RAM64M, RAM64X1S, RAM128X1S, RAM256X1S, RAM64X1D and
RAM128X1D; ``shregmap`` emits shift registers as SRL16E and SRLC32E. ROMs are never mapped to LUTRAM (``prune_rom``):
a ROM with an asynchronous read becomes LUT logic, one with a synchronous read block RAM when it is large.

``lut_levels`` reads the synthesized netlist (``write_json``) and finds the deepest chain of LUTs between sequential
elements or ports: the logic depth that sets the clock.
"""

from __future__ import annotations

import json
from graphlib import TopologicalSorter
from pathlib import Path

LUT_TYPES = tuple(f'LUT{i}' for i in range(1, 7))
BRAM_TYPES = ('RAMB18E1', 'RAMB36E1')
DSP_TYPES = ('DSP48E1',)

# SLICEM LUTs each distributed-RAM or shift-register cell occupies (7 Series Libraries Guide UG953, CLB guide UG474):
# a LUT6 holds 64 x 1 bits (or 32 x 2); each read port of a dual- or quad-port RAM has its own LUT; 128- and
# 256-deep RAMs join 2 and 4 LUTs through the slice's MUXF7/MUXF8, which the cell includes. Logic LUTs plus these
# give the total LUTs, as Vivado's "LUT as Logic" plus "LUT as Memory" (distributed RAM and shift registers).
LUTRAM_LUTS = {
    'RAM32X1S': 1,
    'RAM32X1D': 2,
    'RAM32M': 4,
    'RAM64X1S': 1,
    'RAM64X1D': 2,
    'RAM64M': 4,
    'RAM128X1S': 2,
    'RAM128X1D': 4,
    'RAM256X1S': 4,
    'SRL16E': 1,
    'SRLC32E': 1,
}

# Combinational cells that are no LUT level: the carry chain and the slice's wide multiplexers are dedicated
# logic; an inverter is folded into the neighbouring LUT or flip-flop by place and route; BUFG buffers the clock.
_ZERO_LEVEL_TYPES = frozenset({'CARRY4', 'MUXF7', 'MUXF8', 'INV', 'BUFG', 'VCC', 'GND'})


def is_flip_flop(kind: str) -> bool:
    return kind.startswith('FD')


def is_distributed_ram(kind: str) -> bool:
    return kind.startswith('RAM') and not kind.startswith('RAMB')  # RAMB* is block RAM


def is_lutram(kind: str) -> bool:
    """Distributed RAM or a shift register: memory in a SLICEM LUT."""
    return is_distributed_ram(kind) or kind.startswith('SRL')


def lutram_luts(cells: dict) -> int:
    """LUTs occupied by the LUTRAM cells in `cells` (type -> count); a type this table does not know raises."""
    unknown = sorted(kind for kind in cells if is_lutram(kind) and kind not in LUTRAM_LUTS)
    if unknown:
        raise ValueError(f'LUTRAM cells of unknown size: {", ".join(unknown)}; add them to LUTRAM_LUTS')
    return sum(LUTRAM_LUTS[kind] * count for kind, count in cells.items() if is_lutram(kind))


def lut_levels(netlist_json: Path) -> int:
    """The deepest chain of LUTs in the synthesized netlist between sequential elements or top ports.

    A longest path over the netlist's bits: a LUT adds one level; CARRY4, MUXF7/8 and inverters add none but are
    traversed (each carry output depends on the carry input and the S and DI bits at or below it only). Flip-flops,
    shift registers (SRL16E, SRLC32E: Yosys emits them with a constant length), block RAM and DSP48E1 outputs start
    a path at level 0 and their inputs end one; so do top ports and constants. A distributed RAM's read is
    asynchronous, so each read port's address passes through it as one LUT level (the LUT it is), while its data,
    write enable and write-only address end a path at its synchronous write.
    """
    module = json.loads(netlist_json.read_text())['modules']
    (top,) = module.values()  # write_json -selected: the flattened top alone
    predecessors, weight = {}, {}
    for cell in top['cells'].values():
        for output, inputs, levels in _dependencies(cell):
            predecessors[output], weight[output] = inputs, levels
    level = {}
    for bit in TopologicalSorter(predecessors).static_order():
        below = max((level.get(source, 0) for source in predecessors.get(bit, ())), default=0)
        level[bit] = weight.get(bit, 0) + below
    return max(level.values(), default=0)


def _dependencies(cell: dict):
    """(output bit, the input bits it depends on combinationally, the LUT levels it adds) for each output of `cell`."""
    kind, pins, directions = cell['type'], cell['connections'], cell['port_directions']
    outputs = [pin for pin, direction in directions.items() if direction == 'output']
    inputs = [pin for pin, direction in directions.items() if direction == 'input']
    if kind == 'CARRY4':
        yield from _carry_dependencies(pins)
    elif kind in LUT_TYPES or kind in _ZERO_LEVEL_TYPES:
        sources = [bit for pin in inputs for bit in pins[pin]]
        for pin in outputs:
            for bit in pins[pin]:
                yield bit, sources, 1 if kind in LUT_TYPES else 0
    elif is_distributed_ram(kind):
        for pin in outputs:
            address = [bit for source in inputs if source.startswith(_read_address_prefix(pin)) for bit in pins[source]]
            for bit in pins[pin]:
                yield bit, address, 1
    elif not (is_flip_flop(kind) or kind.startswith('SRL') or kind in BRAM_TYPES or kind in DSP_TYPES):
        raise ValueError(f'lut_levels does not know whether cell type {kind} is combinational')


def _read_address_prefix(output_pin: str) -> str:
    """The address pins a distributed RAM's read port reads at: a quad-port RAM's DOx at ADDRx only (ADDRD is also
    the write address: tying every output to it would make a false loop through a RAM written from its own read),
    a dual-port RAM's DPO at DPRA and its SPO at A, a single-port RAM's O at A."""
    if output_pin.startswith('DO'):
        return 'ADDR' + output_pin[2:]
    return 'DPRA' if output_pin == 'DPO' else 'A'


def _carry_dependencies(pins: dict):
    """CARRY4: O[i] and CO[i] depend on CI, CYINIT and S[0..i], DI[0..i]."""
    chain_in = pins['CI'] + pins['CYINIT']
    for i in range(4):
        sources = chain_in + pins['S'][: i + 1] + pins['DI'][: i + 1]
        yield pins['O'][i], sources, 0
        yield pins['CO'][i], sources, 0
