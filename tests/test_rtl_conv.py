# amaranth: UnusedElaboratable=no
"""The folded convolution unit in RTL (rtl/conv.py, rtl/window.py), ours and the stock twin, in Amaranth's simulator.

Outputs equal the Python reference (sim/graph.conv_windows, conv_pooled and sim/unit.evaluate: exact against QKeras
and the C simulation) on every output pixel, and each image takes, clock for clock, what the reference's counts
predict (rtl/conv.image_cycles): a step per kernel and a flush per evaluated window, plus the tiles counted over
the image -- pool exits, early exits, inclusion and zero skipping included. Stock: every window n_out steps and
n_out * ceil(K / tile) tiles. With random stalls on both streams the outputs stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from amaranth.hdl import Fragment
from rtl_stream import simulate

from hls4ml_reuse.plan.cost import OperationCost
from hls4ml_reuse.plan.spanning_tree import plan_reuse
from hls4ml_reuse.plan.steiner import steiner_plan
from hls4ml_reuse.plan.thresholds import Thresholds
from hls4ml_reuse.plan.unit import ConvGeometry, Design, Folding, InputFormat, Pooling, Shape, UnitSpec
from hls4ml_reuse.rtl import verilator
from hls4ml_reuse.plan.stages import smallest_budget
from hls4ml_reuse.plan.windows import marks_padding
from hls4ml_reuse.rtl.conv import FoldedConv, UnrolledConv, image_cycles, pixel_beats
from hls4ml_reuse.rtl.network import output_values
from hls4ml_reuse.sim.graph import conv_pooled, conv_windows
from hls4ml_reuse.sim.unit import evaluate, needed_channels, plain_dense

FORMATS = {'binary': InputFormat.bits(), 'unsigned': InputFormat(binary=False, frac_bits=8, width=8)}
IMAGES = 2  # the second image's clocks are a steady-state interval


@dataclass(frozen=True)
class Case:
    inputs: str
    size: int  # square map
    n_chan: int
    n_out: int
    stride: int = 1
    padding: str = 'same'
    thresholded: bool = True
    pool: bool = False
    zero_skip: bool = False
    steiner: bool = False
    bipolar: bool = False
    banked: bool = False  # lane i reads only window positions k = i mod 8

    @property
    def id(self):
        flags = [f for f in ('thresholded', 'pool', 'zero_skip', 'steiner', 'bipolar', 'banked') if getattr(self, f)]
        shape = f'{self.size}x{self.size}x{self.n_chan}-{self.n_out}'
        return '-'.join([self.inputs, shape, f'stride{self.stride}', self.padding, *flags])


CASES = [
    Case('binary', 6, 3, 6),
    Case('binary', 7, 2, 5, stride=2, thresholded=False, steiner=True),
    Case('binary', 7, 4, 6, padding='valid', bipolar=True),
    Case('binary', 6, 3, 6, pool=True),
    Case('binary', 7, 2, 6, padding='valid', pool=True, steiner=True, bipolar=True),
    Case('unsigned', 6, 2, 6, zero_skip=True),
    Case('unsigned', 7, 2, 6, stride=2, zero_skip=True, thresholded=False),
    Case('unsigned', 7, 2, 6, pool=True),
    Case('unsigned', 7, 3, 5, padding='valid', pool=True, zero_skip=True),
    Case(
        'binary', 7, 2, 2, stride=2, padding='valid'
    ),  # evaluates faster than rows load: the ring must run ahead of the windows
    Case('binary', 6, 3, 6, pool=True, banked=True),
    Case('unsigned', 7, 2, 5, stride=2, padding='same', thresholded=False, steiner=True, banked=True),
    Case('unsigned', 6, 2, 6, zero_skip=True, banked=True),
    Case('unsigned', 7, 3, 5, padding='valid', pool=True, zero_skip=True, banked=True),
    # ten or more channels: the window read from a ring in memory, a pixel per clock (rtl/window.MemoryWindows)
    Case('binary', 6, 3, 10),  # the fewest channels that keep up: 9 positions + GATHER_LATENCY = 10 + FLUSH_CYCLES
    Case('binary', 7, 2, 12, stride=2, pool=True, steiner=True, bipolar=True),
    Case('binary', 7, 2, 10, stride=2, padding='valid'),  # evaluates faster than rows load
    Case('unsigned', 7, 2, 11, zero_skip=True, thresholded=False),
    Case('unsigned', 6, 3, 12, padding='valid', pool=True, zero_skip=True, banked=True),
]


def conv_geometry(size: int, n_chan: int, stride: int, padding: str, filt: int = 3) -> ConvGeometry:
    """Keras' geometry of a square filt x filt convolution: 'same' pads (total // 2) above and left."""
    if padding == 'same':
        out = -(-size // stride)
        pad = max((out - 1) * stride + filt - size, 0) // 2
    else:
        out, pad = (size - filt) // stride + 1, 0
    return ConvGeometry(size, size, n_chan, filt, filt, stride, stride, pad, pad, out, out)


def build_unit(case: Case, seed=0) -> UnitSpec:
    rng = np.random.default_rng(seed)
    fmt, geometry = FORMATS[case.inputs], conv_geometry(case.size, case.n_chan, case.stride, case.padding)
    k = geometry.window
    base = rng.random(k) < 0.5
    kernels = np.array([base ^ (rng.random(k) < 0.25) for _ in range(case.n_out)])
    cost = OperationCost(fmt.width, 16)
    all_kernels, plan = steiner_plan(kernels, cost) if case.steiner else (kernels, plan_reuse(kernels, cost))
    thresholds = None
    if case.thresholded:
        spread = k * fmt.bound // 6
        thresholds = Thresholds(value=rng.integers(-spread, spread, case.n_out), mode=rng.integers(0, 2, case.n_out))
    out = geometry.out_height
    pooling = Pooling(2, 2, out // 2, out // 2) if case.pool else None
    return UnitSpec(
        all_kernels, plan, fmt, Folding(tile=8, banked=case.banked), thresholds, True, cost, n_outputs=case.n_out,
        zero_skip=case.zero_skip, bipolar_output=case.bipolar, geometry=geometry, pooling=pooling,
    )  # fmt: skip


class ConvLayer:
    """The attributes sim/graph's convolution steps read from a converted layer, from a spec."""

    def __init__(self, unit: UnitSpec):
        self.unit = unit

    def get_attr(self, name):
        if name == 'unit':
            return self.unit
        if name == 'n_out':
            return self.unit.n_out
        source = self.unit.geometry if hasattr(self.unit.geometry, name) else self.unit.pooling
        return getattr(source, name)


def images(unit: UnitSpec, m: int, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g, fmt = unit.geometry, unit.input_format
    shape = (m, g.in_height, g.in_width, g.n_chan)
    if fmt.binary:
        return np.where(rng.random(shape) < 0.5, 1, -1)
    x = rng.integers(fmt.low, fmt.high, shape, endpoint=True)
    return np.where(rng.random(shape) < 0.6, 0, x)  # zeros for zero skipping to skip, as on MNIST


def stock_outputs(unit: UnitSpec, image: np.ndarray) -> np.ndarray:
    """hls4ml's convolution (every channel from scratch), its threshold, then a plain OR over each pooling window."""
    layer = ConvLayer(unit)
    sums = plain_dense(unit.kernels[: unit.n_out], conv_windows(layer, image))
    if unit.thresholds is None:
        return sums
    bits = unit.thresholds.apply(sums).astype(np.int64)
    if not unit.absorbs_pooling:
        return bits
    g, p = unit.geometry, unit.pooling
    bits = bits.reshape(g.out_height, g.out_width, unit.n_out)
    rows, cols = p.pooled_height * p.pool_height, p.pooled_width * p.pool_width
    cells = bits[:rows, :cols].reshape(p.pooled_height, p.pool_height, p.pooled_width, p.pool_width, unit.n_out)
    return cells.max(axis=(1, 3)).reshape(-1, unit.n_out)


def reference(unit: UnitSpec, design: Design, image: np.ndarray) -> tuple[np.ndarray, int]:
    """One image's output beats (as output_values gives them) and its clocks (image_cycles of its counts)."""
    layer = ConvLayer(unit)
    p = unit.pooling
    windows = p.pooled_height * p.pool_height * p.pooled_width * p.pool_width
    if design is Design.STOCK:
        tiles = unit.n_out * -(-unit.n_in // unit.tile) * windows
        return stock_outputs(unit, image), image_cycles(tiles, windows, unit.n_out)
    if unit.absorbs_pooling:
        pooled, counts = conv_pooled(layer, image)
        outputs = (pooled == 1).astype(np.int64).reshape(-1, unit.n_out)
    else:
        outputs, counts = evaluate(unit, conv_windows(layer, image))
    return outputs, image_cycles(counts.tiles, windows, unit.n_kernels)


def run(unit: UnitSpec, design: Design, x: np.ndarray, stall_seed=None):
    expected = [reference(unit, design, x[i : i + 1]) for i in range(len(x))]
    outputs = np.concatenate([out for out, _ in expected])
    trace = simulate(FoldedConv(unit, design), pixel_beats(unit, x), len(outputs), stall_seed=stall_seed)
    return trace, outputs, [cycles for _, cycles in expected]


@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize('case', CASES, ids=lambda case: case.id)
def test_outputs_and_cycles_equal_the_reference(case, design):
    unit = build_unit(case)
    x = images(unit, IMAGES)
    trace, expected, cycles = run(unit, design, x)
    assert np.array_equal(output_values(unit, trace.outputs), expected)
    per_image = len(expected) // IMAGES
    ends = [trace.produced_at[(i + 1) * per_image - 1] for i in range(IMAGES)]
    assert np.diff(ends).tolist() == cycles[1:], 'each image after the first takes its evaluation, clock for clock'


@pytest.mark.parametrize('case', [case for case in CASES if case.pool], ids=lambda case: case.id)
def test_pooled_cases_exercise_the_pool_exit(case):
    """The reference skips tiles there (so the RTL, whose cycles equal it, skips them too)."""
    unit = build_unit(case)
    x, p = images(unit, 1), unit.pooling
    rows, columns = p.pooled_height * p.pool_height, p.pooled_width * p.pool_width
    _, with_exit = conv_pooled(ConvLayer(unit), x)
    windows = conv_windows(ConvLayer(unit), x).reshape(unit.geometry.out_height, unit.geometry.out_width, -1)
    every = evaluate(unit, windows[:rows, :columns].reshape(rows * columns, -1))[1]
    assert with_exit.tiles < every.tiles


def test_step_rows_mark_what_the_reference_needs():
    """A step of ours is skipped where none of its dependants (its step row's mask) is unknown: exactly where
    the reference (sim/unit.needed_channels, the firmware's mark_needed) does not need its kernel, Steiner's
    virtual kernels included."""
    unit = build_unit(Case('binary', 7, 4, 24, pool=True, steiner=True))
    assert unit.n_kernels > unit.n_out and unit.plan.has_children.any()
    known = np.random.default_rng(3).random((200, unit.n_out)) < 0.7
    dependants = unit.dependants()
    from_rows = (~known[:, None, :] & dependants[None, :, :]).any(axis=2)
    assert np.array_equal(from_rows, needed_channels(unit.plan, known))


@pytest.mark.parametrize('design', list(Design))
def test_stalls_on_both_streams_keep_outputs_exact(design):
    unit = build_unit(CASES[8], seed=5)
    x = images(unit, 2, seed=6)
    trace, expected, _ = run(unit, design, x, stall_seed=7)
    assert np.array_equal(output_values(unit, trace.outputs), expected)


def test_a_wrong_table_is_caught():
    """The comparison compares something: one flipped weight in the spec the RTL is built from."""
    unit = build_unit(CASES[1])
    kernels = unit.kernels.copy()
    kernels[0, 4] = ~kernels[0, 4]
    wrong = UnitSpec(
        kernels, unit.plan, unit.input_format, unit.folding, None, False, unit.cost, n_outputs=unit.n_out,
        geometry=unit.geometry,
    )  # fmt: skip
    x = images(unit, 1)
    trace = simulate(FoldedConv(wrong, Design.STOCK), pixel_beats(unit, x), unit.geometry.windows)
    assert not np.array_equal(output_values(unit, trace.outputs), reference(unit, Design.STOCK, x)[0])


def test_window_reuse_is_refused_with_the_lever_named():
    unit = build_unit(CASES[0])
    reused = UnitSpec(
        unit.kernels, unit.plan, unit.input_format, unit.folding, unit.thresholds, False, unit.cost,
        window_reuse=True, geometry=unit.geometry,
    )  # fmt: skip
    with pytest.raises(NotImplementedError, match='window_reuse.*ReusePruningWindowReuse: false'):
        FoldedConv(reused)
    Fragment.get(FoldedConv(reused, Design.STOCK), None)  # the stock twin has no such lever: it builds


@pytest.mark.skipif(not verilator.available(), reason=verilator.skip_reason())
@pytest.mark.parametrize('n_out', [3, 10], ids=['windows-in-registers', 'windows-in-memory'])
def test_verilator_builds_and_runs_it(tmp_path, n_out):
    unit = build_unit(Case('binary', 6, 2, n_out, pool=True))
    x = images(unit, 2)
    expected = [reference(unit, Design.REUSE, x[i : i + 1]) for i in range(len(x))]
    outputs = np.concatenate([out for out, _ in expected])
    top = FoldedConv(unit)
    beats = pixel_beats(unit, x)
    run_ = verilator.simulate(
        verilator.verilog(top, 'conv'), 'conv', beats, [False] * len(beats), len(outputs),
        in_width=len(top.s_axis_tdata), out_width=len(top.m_axis_tdata), work_dir=tmp_path,
    )  # fmt: skip
    assert np.array_equal(output_values(unit, run_.outputs), outputs)
    per_image = len(outputs) // len(x)
    assert run_.output_last == [(i + 1) % per_image == 0 for i in range(len(outputs))]


UNROLLED_CASES = [CASES[0], CASES[1], CASES[2], CASES[5]]


@pytest.mark.parametrize('tight', [False, True], ids=['stock-depth', 'smallest-budget'])
@pytest.mark.parametrize('design', list(Design))
@pytest.mark.parametrize('case', UNROLLED_CASES, ids=lambda case: case.id)
def test_unrolled_unit_is_exact_at_the_stream_rate(case, design, tight):
    """One window per clock: an image takes its pixels' clocks (the input stream's rate, one pixel per clock); at
    stock's depth and at the smallest LUT-level budget (ours in stages along the plan tree, the tags with them)."""
    folded = build_unit(case)
    unit = replace(folded, folding=Folding(Shape.UNROLLED, folded.tile), early_exit=False, zero_skip=False)
    x = images(unit, IMAGES)
    expected = np.concatenate([reference(unit, Design.STOCK, x[i : i + 1])[0] for i in range(IMAGES)])
    padded = marks_padding(unit.geometry, unit.pooling, unit.input_format.binary)
    budget = smallest_budget(unit, design, padded) if tight else None
    trace = simulate(UnrolledConv(unit, design, lut_cells=False, lut_levels=budget), pixel_beats(unit, x), len(expected))
    assert np.array_equal(output_values(unit, trace.outputs), expected)
    per_image = len(expected) // IMAGES
    ends = [trace.produced_at[(i + 1) * per_image - 1] for i in range(IMAGES)]
    pixels = unit.geometry.in_height * unit.geometry.in_width
    assert np.diff(ends).tolist() == [pixels] * (IMAGES - 1)
    assert np.diff(trace.accepted_at).tolist() == [1] * (len(trace.accepted_at) - 1), 'the input never waits'
