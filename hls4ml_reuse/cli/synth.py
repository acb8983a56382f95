"""``hls4ml-reuse synth``: our unrolled datapath and stock hls4ml's, synthesized by Yosys for the 7-series.

For each chosen unit the first N kernels are re-planned on their own (a parent may otherwise lie outside the
slice), both datapaths are generated with Amaranth, synthesized (``synth_xilinx -family xc7``), and each netlist is
checked against the Python reference on the unit's real input vectors. The cost model's estimate for the same
slice is printed beside the counts, labelled as the uncalibrated estimate it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan.spanning_tree import plan_reuse
from ..plan.unit import UnitSpec
from ..report import hardware
from ..sim import counters, graph
from ..sim.unit import evaluate, plain_dense
from ..synth.jobs import REUSE, STOCK, SynthJob, run_jobs
from ..synth.rtl import PortFormat, output_width
from .datasets import InputError

DATAPATH = 'combinational: K inputs in, N raw sums out, no registers'


@dataclass
class SynthOptions:
    layers: list[str] | None = None  # unit names; None: every unit
    kernels: int | None = None  # the first N kernels of each; None: all
    images: int = 2  # test images whose input vectors check the netlists
    vectors: int = 64  # at most this many distinct vectors per layer
    out_dir: str = 'out/synth'
    scheduler: str | None = None  # a Dask scheduler address; None: a local cluster
    share_luts: bool = True  # False: every kernel builds its own counting LUTs (the structure alone)


@dataclass
class LayerSlice:
    name: str
    unit: UnitSpec  # the first N kernels, re-planned, outputs raw sums
    fmt: PortFormat
    vectors: np.ndarray  # distinct raw input vectors of the layer, (m, K)
    windows: int  # input vectors per image (the cost model's shape)


def run(target, options: SynthOptions, progress=print) -> dict:
    """Convert with ReusePruning, slice the chosen units, synthesize both designs of each, check the netlists."""
    _check_options(options)
    hls_model = target.convert(target.reuse_config(), str(Path(options.out_dir) / 'hls4ml'))
    units = pick_units(counters.require_units(hls_model, target.name), options.layers)
    x = np.ascontiguousarray(target.x[: options.images])
    slices = [layer_slice(hls_model, layer, x, options) for layer in units]
    jobs = [job for piece in slices for job in slice_jobs(piece, Path(options.out_dir), options.share_luts)]
    results = run_jobs(jobs, options.scheduler, progress)
    by_design = {(r.layer, r.design): r for r in results}
    from ..synth.yosys import tool_description

    return {
        'model': target.name,
        'images': len(x),
        'datapath': DATAPATH,
        'counting_luts': 'shared across kernels' if options.share_luts else 'separate per kernel',
        'layers': [layer_entry(piece, by_design[piece.name, REUSE], by_design[piece.name, STOCK]) for piece in slices],
        'tool': tool_description(),
    }


def _check_options(options: SynthOptions) -> None:
    for name in ('kernels', 'images', 'vectors'):
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


def slice_unit(unit: UnitSpec, n_kernels: int | None) -> UnitSpec:
    """The first N kernels re-planned on their own, computing raw sums (no threshold, no early exit)."""
    kernels = unit.kernels[: n_kernels or unit.n_out]
    return UnitSpec(
        kernels=kernels,
        plan=plan_reuse(kernels, unit.cost),
        input_bound=unit.input_bound,
        tile=unit.tile,
        thresholds=None,
        early_exit=False,
        cost=unit.cost,
    )


def layer_slice(hls_model, layer, x: np.ndarray, options: SynthOptions) -> LayerSlice:
    """The slice of one unit and up to options.vectors distinct input vectors the datapath can take."""
    fmt = PortFormat.from_unit(layer.get_attr('binary_input'), layer.get_attr('unit').input_bound)
    vectors = graph.unit_inputs(hls_model, x, layer.name)
    vectors = distinct_rows(vectors[fmt.representable(vectors)])[: options.vectors]
    if not len(vectors):
        raise InputError(
            f'layer {layer.name!r}: none of the input vectors of {len(x)} images fits its {fmt.width}-bit ports '
            '(binary windows that include zero padding do not); use more --images'
        )
    unit = slice_unit(layer.get_attr('unit'), options.kernels)
    return LayerSlice(layer.name, unit, fmt, vectors, layer.windows_per_image())


def distinct_rows(vectors: np.ndarray) -> np.ndarray:
    """The distinct rows, in order of first appearance."""
    if not len(vectors):
        return vectors
    _, first = np.unique(vectors, axis=0, return_index=True)
    return vectors[np.sort(first)]


def slice_jobs(piece: LayerSlice, out_dir: Path, share_luts: bool = True) -> list[SynthJob]:
    """Ours against sim.unit.evaluate, stock against the plain product: each netlist meets its own reference."""
    unit, vectors = piece.unit, piece.vectors
    ours, _ = evaluate(unit, vectors)
    common = dict(layer=piece.name, kernels=unit.kernels, fmt=piece.fmt, vectors=vectors, share_luts=share_luts)
    return [
        SynthJob(design=REUSE, plan=unit.plan, expected=ours, work_dir=str(out_dir / piece.name / REUSE), **common),
        SynthJob(
            design=STOCK,
            plan=None,
            expected=plain_dense(unit.kernels, vectors),
            work_dir=str(out_dir / piece.name / STOCK),
            **common,
        ),
    ]


class _SliceLayer:
    """What the cost model reads from a layer, for a slice."""

    def __init__(self, piece: LayerSlice):
        self.name, self._unit, self._windows = piece.name, piece.unit, piece.windows

    def get_attr(self, key):
        return {'unit': self._unit}[key]

    def windows_per_image(self) -> int:
        return self._windows


def estimate_lut(piece: LayerSlice) -> dict:
    """report/hardware.py's unrolled LUT estimate for the same slice (raw sums: no comparators)."""
    cost = hardware.layer_cost(_SliceLayer(piece), {'tiles': 0}, images=1)
    return {'reuse': cost.unrolled_lut_reuse, 'stock': cost.unrolled_lut_stock}


def layer_entry(piece: LayerSlice, ours, stock) -> dict:
    def pair(field):
        return {'reuse': getattr(ours, field), 'stock': getattr(stock, field)}

    return {
        'name': piece.name,
        'kernels': piece.unit.n_out,
        'inputs': piece.unit.n_in,
        'binary_input': piece.fmt.binary,
        'input_bits': piece.fmt.width,
        'output_bits': output_width(piece.unit.n_in, piece.fmt),
        'planned_positions': int(piece.unit.plan.mask.sum()),
        'lut': pair('lut'),
        'carry4': pair('carry4'),
        'ff': pair('ff'),
        'inv': {'reuse': ours.cells.get('INV', 0), 'stock': stock.cells.get('INV', 0)},
        'estimate_lut': estimate_lut(piece),
        'netlist_exact': bool(ours.exact and stock.exact),
        'netlist_vectors': len(piece.vectors),
        'mismatches': {'reuse': ours.first_mismatch, 'stock': stock.first_mismatch},
        'synth_seconds': pair('synth_seconds'),
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

