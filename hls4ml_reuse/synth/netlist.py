"""Checking a synthesized netlist bit for bit against the Python reference, with Yosys' own evaluator.

The netlist (Verilog of Xilinx cells, as ``synth_xilinx`` wrote it) is read back together with Yosys' simulation
models of those cells (``+/xilinx/cells_sim.v``: LUTs with their INIT, CARRY4, MUXF7/8, flip-flops), flattened into
plain logic, and ``eval`` computes the output port for each input vector. So what is checked is the mapped
netlist, after every optimization and LUT mapping, not the Amaranth source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan.unit import InputFormat
from .yosys import run_yosys

_RESULT = re.compile(r'^Eval result: \\y = (\S+?)\.?$', re.MULTILINE)


@dataclass
class NetlistCheck:
    vectors: int
    mismatched_vectors: int  # vectors with at least one output differing (or undefined)
    first_mismatch: str | None  # which vector and kernel, for the message

    @property
    def exact(self) -> bool:
        return self.vectors > 0 and self.mismatched_vectors == 0


def pack_inputs(vector: np.ndarray, fmt: InputFormat) -> str:
    """One input vector as the ``x`` port's Yosys constant (input 0 in the low bits)."""
    if fmt.binary:
        fields = ['1' if value > 0 else '0' for value in vector]
    else:
        mask = (1 << fmt.width) - 1
        fields = [format(int(value) & mask, f'0{fmt.width}b') for value in vector]
    return f"{len(fields) * fmt.width}'b{''.join(reversed(fields))}"


def unpack_outputs(bits: str, n_out: int, width: int) -> np.ndarray | None:
    """The ``y`` port's bits (most significant first) as n_out signed sums; None if any bit is undefined."""
    if len(bits) != n_out * width or set(bits) - {'0', '1'}:
        return None
    value = int(bits, 2)
    fields = [(value >> (j * width)) & ((1 << width) - 1) for j in range(n_out)]
    return np.array([f - (1 << width) if f >> (width - 1) else f for f in fields], dtype=np.int64)


def evaluation_script(netlist: Path, vectors: np.ndarray, fmt: InputFormat) -> str:
    lines = [
        f'read_verilog {netlist.name}',  # relative: the WebAssembly Yosys sees its working directory only
        'read_verilog +/xilinx/cells_sim.v',  # the models, not blackboxes: flatten turns cells into logic
        'hierarchy -top top',
        'proc',
        'flatten',
        'select -assert-none t:LUT* t:CARRY4 t:MUXF* t:FD*',  # nothing left unmodelled
        'opt_clean',
    ]
    lines += [f'eval -set x {pack_inputs(vector, fmt)} -show y' for vector in vectors]
    return '\n'.join(lines) + '\n'


def simulate(netlist: Path, vectors: np.ndarray, fmt: InputFormat, n_out: int, width: int) -> list:
    """The netlist's outputs for each vector (None where Yosys gave undefined bits)."""
    log = run_yosys(evaluation_script(netlist, vectors, fmt), netlist.parent, 'check')
    results = _RESULT.findall(log)
    if len(results) != len(vectors):
        raise RuntimeError(f'yosys eval gave {len(results)} results for {len(vectors)} vectors; see {netlist.parent}')
    return [unpack_outputs(_constant_bits(text, n_out * width), n_out, width) for text in results]


def _constant_bits(text: str, width: int) -> str:
    """Yosys prints a constant as WIDTH'BITS, or as a decimal integer when it is 32 bits wide."""
    if "'" in text:
        return text.split("'", 1)[1]
    return format(int(text) & ((1 << width) - 1), f'0{width}b')


def check(netlist: Path, vectors: np.ndarray, expected: np.ndarray, fmt: InputFormat, width: int) -> NetlistCheck:
    """Compare the netlist's outputs with `expected` (m, n) on every vector."""
    expected = np.asarray(expected, dtype=np.int64)
    outputs = simulate(netlist, vectors, fmt, expected.shape[1], width)
    mismatched, first = 0, None
    for i, (got, want) in enumerate(zip(outputs, expected)):
        if got is not None and np.array_equal(got, want):
            continue
        mismatched += 1
        if first is None:
            first = _describe(i, got, want)
    return NetlistCheck(len(vectors), mismatched, first)


def _describe(i: int, got, want) -> str:
    if got is None:
        return f'vector {i}: undefined output bits'
    j = int(np.flatnonzero(got != want)[0])
    return f'vector {i}, kernel {j}: netlist {int(got[j])}, reference {int(want[j])}'
