"""``hls4ml-reuse rtl``: the converted network as RTL (ours and the stock twin), simulated with Verilator on real test
images and synthesized layer by layer with Yosys for the 7-series.

What each figure is:
- mismatches: the pipeline's outputs (Verilator), finished in software by what follows the last unit (an output
  scaling), against QKeras' predictions, element by element, as ``bench`` compares the C simulation's;
- cycles: measured in Verilator at the output stream: steady-state clocks between images, and the first image's
  latency from its input beat to its output beat; beside them the C simulation's counted cycles per layer (a step
  per kernel, the counted tiles, one flush: what the folded unit spends, clock for clock);
- toggles: bit changes per image of every signal in each layer's scope, from Verilator's toggle coverage (a net
  between two layers counts in both), over the first `toggle_images` images in a build of its own: coverage
  slows a large design's simulation a hundredfold, so the exactness and cycle run goes without it;
- resources: each layer's unit synthesized on its own (``synth_xilinx -family xc7``), the totals their sums;
  beside them the cost model's estimates (plan/hardware.py) and their error.
The stock twin is our model of hls4ml's architecture built the same way, not Vivado's output.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..config import BANKED
from ..plan import hardware
from ..plan.unit import Design, Shape
from ..rtl import network, verilator
from ..rtl.conv import image_cycles
from ..sim import counters, encoding, graph
from ..synth.jobs import UnitJob, run_jobs
from ..synth.yosys import tool_description
from .datasets import InputError

RESOURCE_KEYS = ('lut', 'ff', 'carry4', 'bram18', 'bram36', 'dsp', 'lut_levels')
ENERGY_UNAVAILABLE = 'no energy estimate yet: the per-toggle energy constants are not sourced (issue 17)'


@dataclass
class RtlOptions:
    shape: Shape = Shape.FOLDED
    lanes: str = BANKED  # folded lanes (ReusePruningLanes): banked (the default) or gathered
    images: int = 1000
    first_image: int = 0  # where in the test set the images start (a long run split over several)
    stock_images: int = 1000  # the first M of them for the stock twin
    out_dir: str = 'out/rtl'
    synthesize: bool = True
    toggle_images: int = 100  # images of the toggle-counting run (0: none)
    lut_levels: int | None = None  # unrolled: the register stages' LUT-level budget (None: stock's depth per layer)
    synth_layers: list[str] | None = None  # the layers to synthesize (None: all)
    scheduler: str | None = None
    workers: int = 2


def run(target, options: RtlOptions, progress=print) -> dict:
    """Convert with ReusePruning in the chosen shape, simulate and synthesize both designs, compare with QKeras."""
    if options.images < 1:
        raise InputError(f'--images must be at least 1, not {options.images}')
    if options.stock_images < 1:
        raise InputError(f'--stock-images must be at least 1, not {options.stock_images}')
    if not 0 <= options.first_image < len(target.x):
        raise InputError(f'--first-image must be in [0, {len(target.x)}) for {target.name}, not {options.first_image}')
    if options.toggle_images < 0:
        raise InputError(f'--toggle-images must be 0 or more, not {options.toggle_images}')
    if options.lut_levels is not None and (Shape(options.shape) is not Shape.UNROLLED or options.lut_levels < 1):
        raise InputError(
            f'--lut-levels is a positive budget of the unrolled shape, not {options.lut_levels} ({options.shape})'
        )
    out_dir = Path(options.out_dir).resolve()
    shape = Shape(options.shape)
    config = target.reuse_config(  # window reuse: no RTL for it yet
        ReusePruningShape=str(shape), ReusePruningLanes=options.lanes, ReusePruningWindowReuse=False
    )
    hls_model = target.convert(config, str(out_dir / 'hls4ml'))
    counters.require_units(hls_model, target.name)
    try:
        stages = network.stages(hls_model)
        _check_synth_layers(options.synth_layers, stages, target.name)
        pipelines = {design: network.Pipeline(stages, design, shape, False, options.lut_levels) for design in Design}
    except network.UnsupportedNetwork as err:
        raise InputError(f'{target.name}: {err}') from err
    x = np.ascontiguousarray(target.x[options.first_image : options.first_image + options.images])
    keras_out = target.model.predict(x, batch_size=250, verbose=0).reshape(len(x), -1)
    counted_tiles = csim_tiles(hls_model, stages, x)
    beats = network.image_beats(hls_model, stages[0], x)
    shown = {Design.REUSE: len(x), Design.STOCK: min(options.stock_images, len(x))}  # stock: 3-4x our cycles
    simulated = {
        design: simulate(hls_model, stages, pipelines[design], beats[: shown[design]], out_dir, options) for design in Design
    }
    mismatches = {
        design: int(np.count_nonzero(run['outputs'] != keras_out[: shown[design]])) for design, run in simulated.items()
    }
    synthesized = synthesize(stages, shape, out_dir, options, progress) if options.synthesize else None
    layers = [layer_entry(stage, shape, counted_tiles[stage.name], len(x), simulated, synthesized) for stage in stages]
    if shape is Shape.UNROLLED:
        for index, layer in enumerate(layers):
            layer['register_stages'] = register_stages(pipelines, index)
    return {
        'model': target.name,
        'shape': str(shape),
        'lanes': options.lanes,
        'levers_off': ['window_reuse'],  # the RTL convolution has no window-reuse datapath yet
        'images': len(x),
        'first_image': options.first_image,
        'stock_images': shown[Design.STOCK],
        'toggle_images': min(options.toggle_images, len(x)),
        'mismatches': mismatches[Design.REUSE],
        'stock_mismatches': mismatches[Design.STOCK],
        'cycles_per_image': {design: run['cycles_per_image'] for design, run in simulated.items()},
        'latency_cycles': {design: run['latency_cycles'] for design, run in simulated.items()},
        'counted_cycles_per_image': {design: max(layer['counted_cycles'][design] for layer in layers) for design in Design},
        'toggles_per_image': {design: _total(layer['toggles_per_image'][design] for layer in layers) for design in Design},
        'images_per_kj_estimate': {design: None for design in Design},
        'energy_unavailable': ENERGY_UNAVAILABLE,
        'totals': totals(layers) if all(layer[str(Design.REUSE)] for layer in layers) else None,  # all synthesized
        'layers': layers,
        'tool': f'{tool_description()}; {verilator.version()}',
    }


def _check_synth_layers(chosen: list[str] | None, stages, model: str) -> None:
    names = [stage.name for stage in stages]
    unknown = [name for name in chosen or [] if name not in names]
    if unknown:
        raise InputError(f'--synth-layers: {", ".join(unknown)} not among the units of {model}: {", ".join(names)}')


def csim_tiles(hls_model, stages, x: np.ndarray) -> dict[str, int]:
    """Per unit, the tiles the C simulation's counters count over the images `x` (what the folded unit walks)."""
    counters.reset(hls_model)
    hls_model.predict(x)
    return {stage.name: counters.read(hls_model, hls_model.graph[stage.name])['tiles'] for stage in stages}


CHUNK_IMAGES = 500  # images per Verilator process: the progress bar's step; each chunk's first image is latency


@dataclass
class _Stream:
    """One design's pipeline as Verilog, streamed through Verilator."""

    text: str
    name: str
    top: network.Pipeline
    work_dir: Path
    stages: list

    def run(self, images: list[list[int]], toggles: bool = False) -> verilator.StreamRun:
        """Stream the images (each its input beats, tlast on its last) and take every output beat."""
        beats = [beat for image in images for beat in image]
        last = [i == len(image) - 1 for image in images for i in range(len(image))]
        return verilator.simulate(
            self.text, self.name, beats, last, len(images) * self.stages[-1].output_beats,
            in_width=len(self.top.s_axis_tdata), out_width=len(self.top.m_axis_tdata), work_dir=self.work_dir,
            toggles=toggles, max_cycles=max_cycles(self.stages, self.top.shape, len(images)),
        )  # fmt: skip

    def run_chunks(self, beats: list[list[int]], workers: int, bar) -> list[verilator.StreamRun]:
        """Contiguous chunks of the images, `workers` Verilator processes at a time (the model built once, first)."""
        verilator.build(self.text, self.name, self.work_dir.resolve())
        size = max(1, min(CHUNK_IMAGES, -(-len(beats) // max(1, workers))))  # few images: one chunk per worker
        parts = [beats[start : start + size] for start in range(0, len(beats), size)]

        def run(part):
            result = self.run(part)
            bar.update(len(part))
            return result

        with ThreadPoolExecutor(max(1, workers)) as pool:  # each run is a subprocess: threads suffice
            return list(pool.map(run, parts))


def simulate(hls_model, stages, top: network.Pipeline, beats: list[list[int]], out_dir: Path, options) -> dict:
    """One design's pipeline (built for simulation: without LUT cells) in Verilator on every image: outputs as
    hls4ml's predict gives them, cycles; then its toggles per image over the first toggle_images, in a coverage build
    (one run serves both when that covers every image: a small run)."""
    design = top.design
    name, images, toggle_images = f'pipeline_{design}', len(beats), min(options.toggle_images, len(beats))
    stream = _Stream(verilator.verilog(top, name), name, top, out_dir / 'verilator' / str(design), stages)
    both_at_once = toggle_images == images <= CHUNK_IMAGES
    with tqdm(total=images, desc=f'Verilator, {design}', unit='image') as bar:
        if both_at_once:
            runs = [stream.run(beats, toggles=True)]
            bar.update(images)
        else:
            runs = stream.run_chunks(beats, options.workers, bar)
    if both_at_once:
        counted = runs[0]
    elif toggle_images:
        with tqdm(total=1, desc=f'Verilator, {design}, toggles over {toggle_images} images', unit='run') as bar:
            counted = stream.run(beats[:toggle_images], toggles=True)
            bar.update(1)
    else:
        counted = None
    last = stages[-1]
    values = network.output_values(last.unit, [beat for run in runs for beat in run.outputs]).reshape(images, -1)
    outputs = encoding.as_keras_values(hls_model, graph.forward_from(hls_model, last.name, values))
    return {
        'outputs': outputs.reshape(images, -1),
        'cycles_per_image': steady_cycles(runs, last.output_beats),
        'latency_cycles': runs[0].produced_at[0] - runs[0].accepted_at[0],
        'toggles': {
            stage.name: scope_toggles(counted.toggles, stage.name) / toggle_images if counted else None for stage in stages
        },
    }


def register_stages(pipelines: dict, index: int) -> dict:
    """Per design, the unrolled unit's LUT-level budget and its datapath's stages at it (plan/stages.py)."""
    plans = {design: pipeline.units[index].stages for design, pipeline in pipelines.items()}
    return {design: {'lut_level_budget': plan.budget, 'stages': plan.stages} for design, plan in plans.items()}


def steady_cycles(runs: list[verilator.StreamRun], beats_per_image: int) -> float | None:
    """Clocks between consecutive images' last output beats, averaged over every run (a run's first image is its
    latency)."""
    done = [run.produced_at[beats_per_image - 1 :: beats_per_image] for run in runs]
    gaps = sum(len(times) - 1 for times in done)
    return sum(times[-1] - times[0] for times in done) / gaps if gaps else None


def _total(values):
    values = list(values)
    return None if None in values else sum(values)


def max_cycles(stages, shape: Shape, images: int) -> int:
    """A generous bound: every layer evaluating every image alone, every kernel over every position."""
    if shape is Shape.UNROLLED:  # a window or a pixel per clock
        per_image = max(max(s.unit.windows, network.values_in(s.unit)) for s in stages)
        return 4 * per_image * (images + len(stages)) + 1000
    per_image = sum(
        image_cycles(s.unit.n_kernels * -(-s.unit.n_in // s.unit.tile) * s.unit.windows, s.unit.windows, s.unit.n_kernels)
        for s in stages
    )
    return 2 * per_image * (images + 1) + 1000


def scope_toggles(toggles: dict[str, int], layer: str) -> int:
    """Bit changes of the signals in one layer's scope (pipeline.LAYER.*)."""
    return sum(count for signal, count in toggles.items() if signal.split('.')[1:2] == [layer])


def synthesize(stages, shape: Shape, out_dir: Path, options, progress) -> dict:
    chosen = [stage for stage in stages if options.synth_layers is None or stage.name in options.synth_layers]
    jobs = [
        UnitJob(stage.name, design, stage.unit, shape, str(out_dir / 'synth' / stage.name / str(design)), options.lut_levels)
        for stage in chosen
        for design in Design
    ]
    results = run_jobs(jobs, options.scheduler, progress, options.workers)
    return {(result.layer, result.design): result for result in results}


def estimates(stage, shape: Shape, counted_tiles: int, images: int) -> dict:
    """The cost model's LUTs and cycles per image for this layer (plan/hardware.py), ours and stock's."""
    cost = hardware.unit_cost(stage.name, stage.unit, counted_tiles, images)
    if shape is Shape.UNROLLED:
        return {
            'lut': {Design.REUSE: cost.unrolled_lut_reuse, Design.STOCK: cost.unrolled_lut_stock},
            'cycles': {Design.REUSE: cost.windows, Design.STOCK: cost.windows},
        }
    return {
        'lut': {Design.REUSE: cost.folded_lut_reuse, Design.STOCK: cost.folded_lut_stock},
        'cycles': {Design.REUSE: cost.folded_cycles_reuse, Design.STOCK: cost.folded_cycles_stock},
    }


def counted_cycles(stage, shape: Shape, counted_tiles: int, images: int) -> dict:
    """What the C simulation's counters say each design's unit spends per image (folded: clock for clock)."""
    unit = stage.unit
    if shape is Shape.UNROLLED:
        return {design: unit.windows for design in Design}
    windows = evaluated_windows(unit)
    stock_tiles = unit.n_out * -(-unit.n_in // unit.tile) * windows
    return {
        Design.REUSE: image_cycles(counted_tiles / images, windows, unit.n_kernels),
        Design.STOCK: image_cycles(stock_tiles, windows, unit.n_out),
    }


def evaluated_windows(unit) -> int:
    """Windows a folded unit evaluates per image: every output pixel, or those an absorbed pooling keeps."""
    if not unit.absorbs_pooling:
        return unit.windows
    p = unit.pooling
    return p.pooled_height * p.pool_height * p.pooled_width * p.pool_width


def layer_entry(stage, shape, tiles: int, images, simulated, synthesized) -> dict:
    estimate = estimates(stage, shape, tiles, images)
    entry = {
        'name': stage.name,
        'kernels': stage.unit.n_out,
        'virtual_kernels': stage.unit.n_kernels - stage.unit.n_out,
        'inputs': stage.unit.n_in,
        'tile': stage.unit.tile,
        'counted_cycles': counted_cycles(stage, shape, tiles, images),
        'toggles_per_image': {design: run['toggles'][stage.name] for design, run in simulated.items()},
        'estimate_lut': estimate['lut'],
        'estimate_cycles': estimate['cycles'],
    }
    for design in Design:
        result = (synthesized or {}).get((stage.name, design))
        if result is None:  # not synthesized (--no-synth, --synth-layers)
            entry[str(design)] = None
            continue
        entry[str(design)] = {key: result.resources[key] for key in RESOURCE_KEYS} | {'cells': result.cells}
    if entry[str(Design.REUSE)] is not None:
        entry['estimate_error'] = {
            design: estimate['lut'][design] / entry[str(design)]['lut'] - 1 if entry[str(design)]['lut'] else None
            for design in Design
        }
    return entry


def totals(layers: list[dict]) -> dict:
    """Sums over the layers (LUT levels: the deepest layer's)."""
    result = {}
    for design in Design:
        figures = [layer[str(design)] for layer in layers]
        result[str(design)] = {key: sum(f[key] for f in figures) for key in RESOURCE_KEYS if key != 'lut_levels'}
        result[str(design)]['lut_levels'] = max(f['lut_levels'] for f in figures)
    return result


def failures(result: dict) -> list[str]:
    problems = []
    for key, label, images in (('mismatches', 'ours', 'images'), ('stock_mismatches', 'the stock twin', 'stock_images')):
        if result[key]:
            problems.append(
                f'{result[key]} output values of {label} (Verilator) differ from QKeras on {result[images]} images'
            )
    return problems
