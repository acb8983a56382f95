"""``hls4ml-reuse synth``: our unrolled datapath and stock hls4ml's, synthesized by Yosys for the 7-series.

For each chosen unit the first N kernels are re-planned on their own (a parent may otherwise lie outside the
slice), both datapaths are generated with Amaranth, synthesized (``synth_xilinx -family xc7 -flatten``), and each
netlist is checked against the Python reference (sim/unit.py) on the unit's real input vectors: the test images
run through the reference up to that layer. The cost model's estimate for the same slice (plan/calibration.py,
calibrated against Yosys) is printed beside the counts, with its error against Yosys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan.slicing import slice_unit
from ..plan.unit import Design, UnitSpec
from ..plan import hardware
from ..sim import counters, graph
from ..sim.unit import evaluate, plain_dense
from ..synth.jobs import SynthJob, run_jobs
from ..synth.yosys import tool_description
from .datasets import InputError

DATAPATH = 'combinational: K inputs in, N raw sums out, no registers'


@dataclass
class SynthOptions:
    layers: list[str] | None = None  # unit names; None: every unit
    kernels: int | None = None  # the first N kernels of each; None: all, with the layer's own plan
    images: int = 64  # test images whose input vectors check the netlists
    vectors: int = 64  # at most this many distinct vectors per layer
    out_dir: str = 'out/synth'
    scheduler: str | None = None  # a Dask scheduler address; None: a local cluster
    workers: int = 2  # processes of the local cluster
    share_luts: bool = False  # True: a counting LUT function is built once for all kernels (favours stock)


@dataclass
class LayerSlice:
    name: str
    unit: UnitSpec  # the first N kernels (then any virtual ones), planned, outputs raw sums
    vectors: np.ndarray  # distinct raw input vectors of the layer, (m, K)


def run(target, options: SynthOptions, progress=print) -> dict:
    """Convert with ReusePruning, slice the chosen units, synthesize both designs of each, check the netlists."""
    _check_options(options)
    out_dir = Path(options.out_dir).resolve()
    hls_model = target.convert(target.reuse_config(), str(out_dir / 'hls4ml'))
    units = pick_units(counters.require_units(hls_model, target.name), options.layers)
    x = np.ascontiguousarray(target.x[: options.images])
    slices = [layer_slice(hls_model, layer, x, options) for layer in units]
    jobs = [job for piece in slices for job in slice_jobs(piece, out_dir, options.share_luts)]
    results = run_jobs(jobs, options.scheduler, progress, options.workers)
    by_design = {(r.layer, r.design): r for r in results}
    return {
        'model': target.name,
        'images': len(x),
        'datapath': DATAPATH,
        'counting_luts': 'shared across kernels' if options.share_luts else 'built per kernel',
        'layers': [
            layer_entry(piece, by_design[piece.name, Design.REUSE], by_design[piece.name, Design.STOCK]) for piece in slices
        ],
        'tool': tool_description(),
    }


def _check_options(options: SynthOptions) -> None:
    for name in ('kernels', 'images', 'vectors', 'workers'):
        value = getattr(options, name)
        if value is not None and value < 1:
            raise InputError(f'--{name} must be at least 1, not {value}')


def pick_units(units: list, names: list[str] | None) -> list:
    """The units named by --layer, in the model's order (all when none is named)."""
    if not names:
        return units
    known = {layer.name: layer for layer in units}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputError(f'no reuse unit named {", ".join(map(repr, unknown))}; the units are {", ".join(known)}')
    return [layer for layer in units if layer.name in names]


def layer_slice(hls_model, layer, x: np.ndarray, options: SynthOptions) -> LayerSlice:
    """The slice of one unit and up to options.vectors distinct input vectors the datapath can take."""
    fmt = layer.get_attr('unit').input_format
    vectors = graph.unit_inputs(hls_model, x, layer.name)
    vectors = spread(distinct_rows(vectors[fmt.representable(vectors)]), options.vectors)
    if not len(vectors):
        raise InputError(
            f'layer {layer.name!r}: none of the input vectors of {len(x)} images fits its {fmt.width}-bit ports '
            '(binary windows that include zero padding do not); use more --images'
        )
    unit = slice_unit(layer.get_attr('unit'), options.kernels)
    return LayerSlice(layer.name, unit, vectors)


def distinct_rows(vectors: np.ndarray) -> np.ndarray:
    """The distinct rows, in order of first appearance."""
    if not len(vectors):
        return vectors
    _, first = np.unique(vectors, axis=0, return_index=True)
    return vectors[np.sort(first)]


def spread(vectors: np.ndarray, at_most: int) -> np.ndarray:
    """At most `at_most` rows evenly spaced over all of them, so a convolution's are not all from one image's top."""
    if len(vectors) <= at_most:
        return vectors
    return vectors[np.linspace(0, len(vectors) - 1, at_most).round().astype(int)]


def slice_jobs(piece: LayerSlice, out_dir: Path, share_luts: bool = False) -> list[SynthJob]:
    """Ours against the planned reference (sim.unit.evaluate), stock against the plain product (sim.unit.plain_dense)."""
    unit, vectors = piece.unit, piece.vectors
    expected = {
        Design.REUSE: evaluate(unit, vectors)[0],
        Design.STOCK: plain_dense(unit.kernels[: unit.n_out], vectors),
    }
    return [
        SynthJob(piece.name, design, unit, vectors, expected[design], str(out_dir / piece.name / design), share_luts)
        for design in Design
    ]


def estimate_lut(piece: LayerSlice) -> dict:
    """plan/hardware.py's unrolled LUT estimate for the same slice (raw sums: no comparators), calibrated."""
    cost = hardware.unit_cost(piece.name, piece.unit, counted_tiles=0, images=1)
    return {Design.REUSE: cost.unrolled_lut_reuse, Design.STOCK: cost.unrolled_lut_stock}


def layer_entry(piece: LayerSlice, ours, stock) -> dict:
    """The layer's figures: the JSON's fields, ours beside stock."""

    def pair(field):
        return {Design.REUSE: getattr(ours, field), Design.STOCK: getattr(stock, field)}

    estimate = estimate_lut(piece)
    return {
        'name': piece.name,
        'kernels': piece.unit.n_out,
        'virtual_kernels': piece.unit.n_kernels - piece.unit.n_out,
        'inputs': piece.unit.n_in,
        'binary_input': piece.unit.input_format.binary,
        'input_bits': piece.unit.input_format.width,
        'output_bits': piece.unit.sum_width,
        'planned_positions': int(piece.unit.plan.mask.sum()),
        'lut': pair('lut'),
        'carry4': pair('carry4'),
        'ff': pair('ff'),
        'inv': {Design.REUSE: ours.cells.get('INV', 0), Design.STOCK: stock.cells.get('INV', 0)},
        'lut_saving': 1 - ours.lut / stock.lut if stock.lut else None,
        'estimate_lut': estimate,
        'estimate_error': {design: estimate[design] / count - 1 if count else None for design, count in pair('lut').items()},
        'netlist_exact': bool(ours.exact and stock.exact),
        'netlist_vectors': len(piece.vectors),
        'mismatches': {Design.REUSE: ours.first_mismatch, Design.STOCK: stock.first_mismatch},
        'synth_seconds': ours.synth_seconds + stock.synth_seconds,
        'synth_seconds_by_design': pair('synth_seconds'),
        'cells': pair('cells'),
        'work_dirs': pair('work_dir'),
    }


def failures(result: dict) -> list[str]:
    """One line per layer whose netlists are not both exact."""
    problems = []
    for layer in result['layers']:
        if not layer['netlist_exact']:
            wrong = '; '.join(f'{design}: {why}' for design, why in layer['mismatches'].items() if why)
            problems.append(f"layer {layer['name']!r}: netlist differs from the reference ({wrong})")
    return problems
