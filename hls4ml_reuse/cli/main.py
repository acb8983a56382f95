"""The ``hls4ml-reuse`` command line.

Exit status: 0 when every check passed; 1 when a check failed (bench: an output differs from QKeras, or
the Python reference from the firmware's counters; build: a project check or the HLS tool failed; synth: a
synthesized netlist differs from the Python reference, or Yosys failed; rtl: an output of the RTL in Verilator
differs from QKeras, or Verilator or Yosys failed);
2 when an input cannot be used (a model, configuration or data file that does not read, a misspelt or
bad key, no layer converted to a unit) -- one line on stderr says which and why.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

# Before TensorFlow is imported: its C++ start-up lines (CUDA factories on a machine without a GPU) and the
# warnings Keras gives about QKeras' own objects say nothing about the user's model.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
logging.getLogger('tensorflow').setLevel(logging.ERROR)
warnings.filterwarnings('ignore', message=r'The `keras\.constraints\.serialize\(\)` API', category=UserWarning)
warnings.filterwarnings('ignore', message=r'The initializer \w+ is unseeded', category=UserWarning)

from ..config import BANKED, LANES, SHAPES, ReusePruningConfigError  # noqa: E402
from ..ir.constants import TILES  # noqa: E402
from ..sim.counters import NoReuseUnitError  # noqa: E402
from .datasets import InputError  # noqa: E402

EXIT_CHECK_FAILED = 1
EXIT_UNUSABLE_INPUT = 2
UNUSABLE_INPUT = (InputError, ReusePruningConfigError, NoReuseUnitError, FileNotFoundError)

TARGET_HELP = (
    'a shipped example (mlp-mnist, cnv-mnist, finn-cnv-random), a QKeras .h5 model, or an hls4ml YAML '
    'configuration with KerasModel: !qkeras_model; without --data a model gets MNIST test images, so its input '
    'must be (784,) or (28, 28, 1)'
)


def _target(args):
    """The model and its inputs, from the positional target and --data / --input-precision."""
    from .targets import resolve

    return resolve(args.target, args.data, args.input_precision)


# bench --with / --without LEVER: the configuration key that turns each lever on or off
LEVER_KEYS = {
    'early-exit': 'ReusePruningEarlyExit',
    'pool-exit': 'ReusePruningPoolExit',
    'steiner': 'ReusePruningSteiner',
    'zero-skip': 'ReusePruningZeroSkip',
    'window-reuse': 'ReusePruningWindowReuse',
}


def bench_settings(args) -> dict:
    """The ReusePruning keys that bench's options set: --tile, --shape, --lanes, and each lever turned on or off."""
    without = args.without + ['early-exit'] * args.no_early_exit
    both = sorted(set(args.with_levers) & set(without))
    if both:
        raise InputError(f'--with and --without both name {", ".join(both)}: choose one')
    settings = {LEVER_KEYS[lever]: False for lever in without}
    settings.update({LEVER_KEYS[lever]: True for lever in args.with_levers})
    if args.tile is not None:
        settings['ReusePruningTile'] = args.tile
    if args.shape is not None:
        settings['ReusePruningShape'] = args.shape
    if args.lanes is not None:
        settings['ReusePruningLanes'] = args.lanes
    return settings


def _bench(args) -> int:
    from ..report.plots import plot_layer_pruning
    from ..report.tables import bench_table
    from . import bench

    settings = bench_settings(args)
    options = bench.BenchOptions(
        args.images, args.stock_images, args.out, args.verify_images, args.stock_seconds, settings=settings
    )
    result = bench.run(_target(args), options)
    _publish(args, bench_table(result), result, plot_layer_pruning)
    problems = bench.failures(result)
    for problem in problems:
        print(f'hls4ml-reuse bench: {problem}', file=sys.stderr)
    return EXIT_CHECK_FAILED if problems else 0


def _publish(args, table: str, result: dict, plot=None) -> None:
    """Print the table; write the JSON and the chart where the options ask for them (synth draws no chart)."""
    from .bench import write_json

    print(table)
    if args.json:
        write_json(result, args.json)
        print(f'wrote {args.json}')
    if plot is not None and args.plot:
        plot(result, args.plot)
        print(f'wrote {args.plot}')


def _build(args) -> int:
    from . import build

    try:
        result = build.build(_target(args), args.out, args.images, run_tool=not args.no_tool)
    except build.HlsToolError as err:
        print(f'hls4ml-reuse build: {err}', file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(
        f'project: {result.project_dir} (part {result.part}, {result.clock_period_ns} ns clock, '
        f'test bench from {result.images} test images)'
    )
    for problem in result.problems:
        print(f'check failed: {problem}')
    if result.problems:
        return EXIT_CHECK_FAILED
    print('project checks passed: part, clock, top function, reuse units, headers, test-bench data;')
    print(f'its test bench, compiled with g++, reproduces QKeras exactly on all {result.images} images')
    if result.tool is None:
        print('vivado_hls / vitis_hls is not on PATH: HLS C simulation, synthesis and co-simulation not run')
    else:
        print(f'{result.tool}: C simulation, synthesis and co-simulation passed')
        for key, value in result.report.get('CSynthesisReport', {}).items():
            print(f'  {key}: {value}')
    return 0


def _report(args) -> int:
    from ..report.plots import plot_layer_costs
    from ..report.tables import hardware_table
    from . import report

    settings = {} if args.lanes is None else {'ReusePruningLanes': args.lanes}
    result = report.run(_target(args), args.images, args.out, settings)
    _publish(args, hardware_table(result), result, plot_layer_costs)
    return 0


def _synth(args) -> int:
    from ..report.tables import synth_table
    from ..synth.yosys import YosysError
    from . import synth

    options = synth.SynthOptions(
        args.layer, args.kernels, args.images, args.vectors, args.out, args.scheduler, args.workers, args.share_luts
    )
    try:
        result = synth.run(_target(args), options)
    except YosysError as err:
        print(f'hls4ml-reuse synth: {err}', file=sys.stderr)
        return EXIT_CHECK_FAILED
    print()
    _publish(args, synth_table(result), result)
    problems = synth.failures(result)
    for problem in problems:
        print(f'hls4ml-reuse synth: {problem}', file=sys.stderr)
    return EXIT_CHECK_FAILED if problems else 0


def _rtl(args) -> int:
    from ..report.tables import rtl_table
    from ..rtl.verilator import VerilatorError
    from ..synth.yosys import YosysError
    from . import rtl

    options = rtl.RtlOptions(
        shape=args.shape,
        lanes=args.lanes,
        images=args.images,
        first_image=args.first_image,
        stock_images=args.stock_images,
        out_dir=args.out,
        synthesize=not args.no_synth,
        toggle_images=args.toggle_images,
        lut_levels=args.lut_levels,
        synth_layers=args.synth_layers.split(',') if args.synth_layers else None,
        scheduler=args.scheduler,
        workers=args.workers,
    )
    try:
        result = rtl.run(_target(args), options)
    except (YosysError, VerilatorError) as err:
        print(f'hls4ml-reuse rtl: {err}', file=sys.stderr)
        return EXIT_CHECK_FAILED
    print()
    _publish(args, rtl_table(result), result)
    problems = rtl.failures(result)
    for problem in problems:
        print(f'hls4ml-reuse rtl: {problem}', file=sys.stderr)
    return EXIT_CHECK_FAILED if problems else 0


def _add_target(parser: argparse.ArgumentParser) -> None:
    """The positional target and the options that choose its inputs, shared by every command."""
    parser.add_argument('target', help=TARGET_HELP)
    parser.add_argument(
        '--data',
        metavar='FILE.npz',
        help='inputs as array x, shaped (n, *model input), and optional integer labels y; replaces the '
        "target's own test images",
    )
    parser.add_argument(
        '--input-precision',
        metavar='TYPE',
        help='hls4ml type of the inputs, e.g. ufixed<8,0> (default: the smallest type exact for --data, else the '
        "example's)",
    )


def _add_bench(commands) -> None:
    bench = commands.add_parser('bench', help='convert a model both ways, C-simulate both, compare')
    _add_target(bench)
    bench.add_argument('--images', type=int, default=10000, help='test images for our C simulation')
    bench.add_argument('--stock-images', type=int, default=1000, help='the first M of them for stock hls4ml')
    bench.add_argument(
        '--stock-seconds',
        type=float,
        default=120,
        help='stop stock hls4ml after about this long (it runs ~2 images/s on CNNs); its rate and errors cover '
        'the images it did',
    )
    bench.add_argument(
        '--verify-images',
        type=int,
        default=200,
        help='images on which the Python reference re-checks outputs and op counters',
    )
    bench.add_argument('--tile', type=int, choices=TILES, help='ReusePruningTile')
    bench.add_argument(
        '--shape',
        choices=SHAPES,
        help='ReusePruningShape: the firmware shape (default folded); unrolled evaluates every planned term',
    )
    _add_lanes(bench)
    bench.add_argument('--no-early-exit', action='store_true', help='ReusePruningEarlyExit: false (as --without early-exit)')
    bench.add_argument(
        '--without',
        action='append',
        default=[],
        choices=list(LEVER_KEYS),
        metavar='LEVER',
        help=f'turn a pruning lever off, to measure what it brings (repeatable): {", ".join(LEVER_KEYS)}',
    )
    bench.add_argument(
        '--with',
        dest='with_levers',
        action='append',
        default=[],
        choices=list(LEVER_KEYS),
        metavar='LEVER',
        help='turn a lever on that is off by default (repeatable): window-reuse (its layers get gathered lanes)',
    )
    bench.add_argument('--json', help='write the figures as JSON here')
    bench.add_argument('--plot', help='draw per-layer terms and adder bits (PNG) here')
    bench.add_argument('--out', default='out/bench', help='folder for the two hls4ml projects')
    bench.set_defaults(func=_bench)


def _add_build(commands) -> None:
    build = commands.add_parser('build', help='write the Vivado HLS project for the XC7Z100 and build it if the tool exists')
    _add_target(build)
    build.add_argument('--images', type=int, default=100, help='test images for the C-simulation/co-simulation test bench')
    build.add_argument('--out', default='out/build', help='folder for the project')
    build.add_argument('--no-tool', action='store_true', help='write and check the project only')
    build.set_defaults(func=_build)


def _add_report(commands) -> None:
    cost = commands.add_parser('report', help='hardware cost model per layer and for the pipeline, ours beside stock')
    _add_target(cost)
    _add_lanes(cost)
    cost.add_argument('--images', type=int, default=1000, help="test images for the folded shape's average cycles")
    cost.add_argument('--json', help='write the figures as JSON here')
    cost.add_argument('--plot', help='draw LUTs and cycles per layer (PNG) here')
    cost.add_argument('--out', default='out/report', help='folder for the hls4ml project')
    cost.set_defaults(func=_report)


def _add_synth(commands) -> None:
    synth = commands.add_parser(
        'synth', help="synthesize our unrolled datapath and stock hls4ml's with Yosys for the 7-series; check the netlists"
    )
    _add_target(synth)
    synth.add_argument(
        '--layer', action='append', metavar='NAME', help='a unit to synthesize (repeatable; default: every unit)'
    )
    synth.add_argument(
        '--kernels', type=int, metavar='N', help='the first N kernels of each layer, re-planned (default: all)'
    )
    synth.add_argument(
        '--images', type=int, default=64, metavar='M', help='test images whose input vectors of the layer check the netlists'
    )
    synth.add_argument(
        '--vectors',
        type=int,
        default=64,
        help='at most this many distinct input vectors per layer, spread over the M images',
    )
    synth.add_argument('--json', help='write the figures as JSON here')
    _add_synth_run_options(synth)
    synth.set_defaults(func=_synth)


def _add_rtl(commands) -> None:
    rtl = commands.add_parser(
        'rtl',
        help='the network as RTL, ours and the stock twin: Verilator on real images against QKeras, cycles, toggles; '
        'Yosys resources per layer',
    )
    _add_target(rtl)
    rtl.add_argument('--shape', choices=SHAPES, default='folded', help="the units' shape (default: folded)")
    _add_lanes(rtl, default=BANKED)
    rtl.add_argument('--images', type=int, default=1000, help='test images to simulate (default: 1000)')
    rtl.add_argument(
        '--first-image', type=int, default=0, metavar='K',
        help='start at test image K, to split a long run over several (default: 0)',
    )  # fmt: skip
    rtl.add_argument(
        '--stock-images', type=int, default=1000, metavar='M', help='the first M of them for the stock twin (default: 1000)'
    )
    rtl.add_argument('--no-synth', action='store_true', help='simulate only: no Yosys synthesis')
    rtl.add_argument(
        '--synth-layers', metavar='NAMES', help='synthesize only these layers, comma-separated (default: every layer)'
    )
    rtl.add_argument(
        '--toggle-images', type=int, default=100, metavar='N',
        help='count toggles over the first N images, in a Verilator build of its own (default: 100; 0: none)',
    )  # fmt: skip
    rtl.add_argument(
        '--lut-levels', type=int, metavar='L',
        help="unrolled: the deepest LUT path a register stage may hold (default: stock's popcount depth, per layer)",
    )  # fmt: skip
    rtl.add_argument('--json', help='write the figures as JSON here')
    rtl.add_argument('--out', default='out/rtl', help='folder for the hls4ml project, the Verilog, models and logs')
    rtl.add_argument(
        '--scheduler', metavar='ADDRESS', help='a running Dask scheduler for the synthesis jobs (default: a local cluster)'
    )
    rtl.add_argument('--workers', type=int, default=2, metavar='W', help='processes of the local cluster')
    rtl.set_defaults(func=_rtl)


def _add_lanes(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        '--lanes',
        choices=LANES,
        default=default,
        help="ReusePruningLanes: folded lanes that read any position (gathered) or only their bank's (banked)",
    )


def _add_synth_run_options(synth: argparse.ArgumentParser) -> None:
    """Where the synthesis jobs run and write, and how stock's counting LUTs are built."""
    synth.add_argument('--out', default='out/synth', help='folder for the hls4ml project, the RTL, netlists and Yosys logs')
    synth.add_argument(
        '--scheduler', metavar='ADDRESS', help='a running Dask scheduler to send the jobs to (default: a local cluster)'
    )
    synth.add_argument(
        '--workers', type=int, default=2, metavar='W', help='processes of the local cluster (one synthesis each at a time)'
    )
    synth.add_argument(
        '--share-luts',
        action='store_true',
        help='build a counting LUT function once for all kernels that need it (default: per kernel, as stock '
        'hls4ml writes each popcount); merging beyond what Yosys does, which favours stock',
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='hls4ml-reuse', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest='command', required=True)
    for add_command in (_add_bench, _add_build, _add_report, _add_synth, _add_rtl):
        add_command(commands)
    return parser


def main(argv=None) -> int:
    """Run one command; an input that cannot be used gives one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UNUSABLE_INPUT as err:
        print(f'hls4ml-reuse {args.command}: error: {err}', file=sys.stderr)
        return EXIT_UNUSABLE_INPUT


if __name__ == '__main__':
    raise SystemExit(main())
