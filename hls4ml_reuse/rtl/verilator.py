"""Cycle-accurate simulation of an RTL top with Verilator, through its two AXI4-Stream ports.

Every RTL top is an Amaranth component in the ``sync`` domain (Verilog ports ``clk`` and ``rst``, active-high
synchronous reset) with an input stream ``s_axis_{tdata,tvalid,tready,tlast}`` and an output stream
``m_axis_{tdata,tvalid,tready,tlast}``; a beat transfers when tvalid and tready are both high at a rising edge.
``verilog`` turns such a component into Verilog with the pinned Yosys; ``simulate`` compiles it with Verilator
and the C++ bench beside this file (testbench.cpp, which says how it drives the ports), feeds it input beats and
returns the output beats, the cycle of every transfer and, if asked, the number of bit changes of every signal.

Builds are cached in a directory named by a hash of the Verilog and the build options, so a design is compiled
once. Beats go through files as hex, so ports of thousands of bits (Verilator's VlWide) cost nothing special.

Toggles come from Verilator's ``--coverage-toggle``: it keeps one counter per bit of every signal and adds one
at every change of that bit, either way (checked exactly on a free-running counter in tests/test_rtl_verilator.py);
the bench zeroes the counters after reset, so the counts cover the run only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.lib import wiring

from ..synth.yosys import run_yosys

TESTBENCH = Path(__file__).with_name('testbench.cpp')
INSTALL_HINT = 'apt-get install -y verilator'
# verilated.mk compiles the model with -Os; -O2 simulates cnv-mnist's folded pipeline 1.47x faster (30.1 s -> 20.5 s
# for its first image, 982,650 clocks) for a longer build (1 min 47 s on 2 cores).
MAKE_OPTIONS = ('OPT_FAST=-O2',)
# --output-split-cfuncs: Verilator writes a design's evaluation as a few functions, megabytes of C++ each for an
# unrolled network, and g++ -O2 needed over 9.6 GB per file on mlp-mnist's unrolled stock twin (killed out of memory
# on 24 GiB); split into functions of at most 2,000 statements, that build took 3 min 21 s at 0.54 GB (-j1).
VERILATE_OPTIONS = ('--cc', '--exe', '-O2', '-Wno-fatal', '--prefix', 'Vtop', '--output-split-cfuncs', '2000')
_TIMEOUT_STATUS = 3  # testbench.cpp's exit status after MAX_CYCLES
_LOG_TAIL = 20  # lines of a failed build's log quoted in the error


class VerilatorError(RuntimeError):
    """Verilator is missing, the build failed (the message ends with its log's last lines) or the bench failed."""


class SimulationTimeout(VerilatorError):
    """The design did not produce the asked output beats within max_cycles."""


@dataclass
class StreamRun:
    outputs: list[int]  # tdata of each output beat, in order
    output_last: list[bool]  # tlast of each output beat
    accepted_at: list[int]  # cycle at which each input beat was accepted
    produced_at: list[int]  # cycle at which each output beat was accepted by the bench
    cycles: int  # cycles simulated after reset
    toggles: dict[str, int]  # per signal (hierarchical name), bit changes over the run; empty unless asked


def available() -> bool:
    return shutil.which('verilator') is not None


def version() -> str:
    """Verilator's own version line (e.g. 'Verilator 5.006 2023-01-22 rev (Debian 5.006-3)')."""
    if not available():
        raise VerilatorError(f'verilator is not on PATH (install it with `{INSTALL_HINT}`)')
    return subprocess.run(['verilator', '--version'], capture_output=True, text=True, check=True).stdout.strip()


def skip_reason() -> str:
    """Why tests that need Verilator are skipped (for pytest.mark.skipif)."""
    return f'verilator is not on PATH (install it with `{INSTALL_HINT}`)'


def verilog(top: wiring.Component, name: str) -> str:
    """The Verilog of `top` as module `name`: Amaranth -> RTLIL -> Verilog by the pinned Yosys."""
    with tempfile.TemporaryDirectory(prefix='rtl-verilog-') as work:
        work_dir = Path(work)
        (work_dir / 'design.il').write_text(rtlil.convert(top, name=name))
        run_yosys('read_rtlil design.il\nproc\nwrite_verilog -noattr design.v\n', work_dir, 'verilog')
        return (work_dir / 'design.v').read_text()


def simulate(
    verilog_text: str,
    name: str,
    inputs: list[int],
    input_last: list[bool],
    n_outputs: int,
    *,
    in_width: int,
    out_width: int,
    work_dir: Path,
    stall_seed: int | None = None,
    toggles: bool = False,
    max_cycles: int = 1_000_000,
) -> StreamRun:
    """Stream `inputs` (with their tlast) into module `name` of `verilog_text` until `n_outputs` beats come out.

    The Verilator model is built under work_dir (reused when present); `stall_seed` makes the bench drop tvalid
    and tready pseudo-randomly; `toggles` runs a coverage build and counts every bit change of every signal.
    Raises SimulationTimeout after `max_cycles`, VerilatorError when Verilator is missing or fails.
    """
    if len(input_last) != len(inputs):
        raise ValueError(f'{len(inputs)} input beats but {len(input_last)} tlast values')
    for index, value in enumerate(inputs):
        if not 0 <= value < 1 << in_width:
            raise ValueError(f'input beat {index} ({value:#x}) does not fit in {in_width} bits')
    if stall_seed is not None and not 0 <= stall_seed < 1 << 31:
        raise ValueError(f'stall_seed must be in [0, 2**31), not {stall_seed}')  # the bench reads -1 as no stalls
    binary = build(verilog_text, name, Path(work_dir).resolve(), coverage=toggles)
    with tempfile.TemporaryDirectory(prefix='run-', dir=binary.parent) as run:
        run_dir = Path(run)
        (run_dir / 'inputs.hex').write_text(''.join(f'{int(last)} {value:x}\n' for value, last in zip(inputs, input_last)))
        seed = -1 if stall_seed is None else stall_seed
        command = [binary, 'inputs.hex', 'results.txt', n_outputs, max_cycles, seed, 'coverage.dat']
        done = subprocess.run([str(part) for part in command], cwd=run_dir, capture_output=True, text=True)
        if done.returncode == _TIMEOUT_STATUS:
            raise SimulationTimeout(
                f'{name}: no {n_outputs} output beats after max_cycles={max_cycles}: {done.stderr.strip()}'
            )
        if done.returncode != 0:
            raise VerilatorError(f'{name}: the test bench failed (exit status {done.returncode}): {done.stderr.strip()}')
        result = _read_results((run_dir / 'results.txt').read_text(), out_width)
        if toggles:
            result.toggles = toggle_counts((run_dir / 'coverage.dat').read_text())
        return result


def build(verilog_text: str, name: str, work_dir: Path, coverage: bool = False) -> Path:
    """The bench binary of module `name`, compiled once per (Verilog, options) under work_dir."""
    if not available():
        raise VerilatorError(f'verilator is not on PATH; install it with `{INSTALL_HINT}`')
    options = [*VERILATE_OPTIONS, *(['--coverage-toggle'] if coverage else [])]
    version = _verilator_version()
    build_dir = work_dir / f'{name}-{_digest(verilog_text, TESTBENCH.read_text(), version, name, *options, *MAKE_OPTIONS)}'
    binary = build_dir / 'obj_dir' / 'Vtop'
    if binary.exists():
        return binary
    runtime = work_dir / f'runtime-{_digest(version, *options, *MAKE_OPTIONS)}'
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / 'design.v').write_text(verilog_text)
    shutil.copy(TESTBENCH, build_dir / 'testbench.cpp')
    verilate = ['verilator', *options, '--top-module', name, 'design.v', 'testbench.cpp']
    _run_build_step(verilate, build_dir, name)
    _copy_runtime(runtime, build_dir / 'obj_dir')  # after verilating: make rebuilds objects older than Vtop.mk
    make = ['make', '-s', f'-j{os.cpu_count() or 1}', '-C', 'obj_dir', '-f', 'Vtop.mk', *MAKE_OPTIONS]
    _run_build_step(make, build_dir, name)
    if not runtime.exists():
        _save_runtime(build_dir / 'obj_dir', runtime)
    return binary


def _run_build_step(command: list[str], build_dir: Path, name: str) -> None:
    """Run one build command in build_dir, its output appended to build.log; raise with the log's tail on failure."""
    done = subprocess.run(command, cwd=build_dir, capture_output=True, text=True)
    with open(build_dir / 'build.log', 'a') as log:
        log.write(f'$ {" ".join(command)}\n{done.stdout}{done.stderr}')
    if done.returncode != 0:
        tail = '\n'.join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL:])
        raise VerilatorError(f'{command[0]} failed to build {name} in {build_dir} (exit status {done.returncode}):\n{tail}')


def _copy_runtime(source: Path, target: Path) -> None:
    """Copy Verilator's compiled runtime (verilated*.o, two thirds of a small design's build) between builds.

    It depends only on Verilator's version and options, not on the design; make keeps a copied object, as it is
    newer than its sources and than the freshly written Vtop.mk (copy gives it the current time).
    """
    for path in source.glob('verilated*.[od]'):
        shutil.copy(path, target / path.name)


def _save_runtime(obj_dir: Path, runtime: Path) -> None:
    """Keep the runtime objects of obj_dir as `runtime`, whole or not at all (builds may run side by side)."""
    staging = Path(tempfile.mkdtemp(prefix='runtime-', dir=runtime.parent))
    _copy_runtime(obj_dir, staging)
    try:
        staging.rename(runtime)
    except OSError:  # another build saved it first
        shutil.rmtree(staging)


def _digest(*parts: str) -> str:
    return hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]


def _verilator_version() -> str:
    done = subprocess.run(['verilator', '--version'], capture_output=True, text=True)
    return done.stdout.strip()


def _read_results(text: str, out_width: int) -> StreamRun:
    run = StreamRun(outputs=[], output_last=[], accepted_at=[], produced_at=[], cycles=0, toggles={})
    mask = (1 << out_width) - 1  # the bench writes whole 32-bit words
    for line in text.splitlines():
        kind, *fields = line.split()
        if kind == 'in':
            run.accepted_at.append(int(fields[0]))
        elif kind == 'out':
            run.produced_at.append(int(fields[0]))
            run.output_last.append(fields[1] == '1')
            run.outputs.append(int(fields[2], 16) & mask)
        elif kind == 'cycles':
            run.cycles = int(fields[0])
    return run


# A coverage.dat record: C '<key><value>...' count, keys and values separated by \x01 and \x02.
_COVERAGE_RECORD = re.compile(r"^C '(?P<fields>.*)' (?P<count>\d+)$")


def toggle_counts(coverage_text: str) -> dict[str, int]:
    """Bit changes per signal (hierarchical name, e.g. 'counter.count') from Verilator's toggle coverage.

    Its points are one per bit ('count[2]'), each counting that bit's changes; a signal's changes are their sum.
    """
    counts = defaultdict(int)
    for line in coverage_text.splitlines():
        match = _COVERAGE_RECORD.match(line)
        if not match:
            continue
        fields = dict(field.split('\x02', 1) for field in match['fields'].split('\x01') if field)
        if fields.get('page', '').startswith('v_toggle'):
            counts[f'{_hierarchy(fields["h"])}.{_signal_name(fields["o"])}'] += int(match['count'])
    return dict(counts)


def _hierarchy(scope: str) -> str:
    """'TOP.counter.sub' -> 'counter.sub': Verilator's TOP wraps the design's top module."""
    return scope.removeprefix('TOP.')


def _signal_name(point: str) -> str:
    """'count[3]' or 'count[3:0][1]' -> 'count': the point names one bit of the signal."""
    return point.split('[', 1)[0]
