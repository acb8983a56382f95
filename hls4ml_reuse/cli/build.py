"""``hls4ml-reuse build``: the Vivado HLS project for the XC7Z100, checked, and built where the tool exists.

hls4ml's own ``build()`` ignores the tool's exit status; here it is checked, and so is the log.
Where neither vivado_hls nor vitis_hls is on PATH, the project is still written and checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backend.templates import HEADERS
from ..sim import counters, encoding

TOOLS = (('vivado_hls', 'Vivado'), ('vitis_hls', 'Vitis'))


class HlsToolError(RuntimeError):
    """vivado_hls / vitis_hls exited non-zero or logged an ERROR line."""


@dataclass
class BuildResult:
    project_dir: str
    part: str
    clock_period_ns: float
    images: int
    problems: list[str] = field(default_factory=list)  # failed project checks
    tool: str | None = None
    report: dict = field(default_factory=dict)


def find_hls_tool() -> tuple[str | None, str]:
    """(executable, hls4ml backend) of the first HLS tool on PATH; (None, 'Vivado') when there is none."""
    for executable, backend in TOOLS:
        if shutil.which(executable):
            return executable, backend
    return None, 'Vivado'


def write_project(target, out_dir: Path, images: int, backend: str):
    """Convert with ReusePruning and write the project, test-bench data made from real test images."""
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.ascontiguousarray(target.x[:images])
    np.save(out_dir / 'tb_inputs.npy', x)
    import hls4ml

    hls_model = hls4ml.converters.convert_from_keras_model(
        target.model,
        hls_config=target.reuse_config(),
        io_type='io_stream', backend=backend, part=target.part, clock_period=target.clock_period_ns,
        output_dir=str(out_dir / 'hls'), input_data_tb=str(out_dir / 'tb_inputs.npy'),
        output_data_tb=str(out_dir / 'tb_outputs.npy'),
    )  # fmt: skip
    counters.require_units(hls_model, target.name)  # a project without a unit is stock hls4ml: nothing to check
    expected = target.model.predict(x, verbose=0)  # in the firmware's encoding: binary outputs as hls4ml's bits
    np.save(out_dir / 'tb_outputs.npy', encoding.encode_bits(expected) if encoding.bit_coded_output(hls_model) else expected)
    hls_model.write()  # reads the test-bench files
    return hls_model


def check_project(project: Path, part: str, clock_period_ns: float, images: int, n_inputs: int) -> list[str]:
    """What can be checked without the HLS tool; returns the problems found (empty when all is well)."""
    problems = []
    tcl = (project / 'project.tcl').read_text() if (project / 'project.tcl').exists() else ''
    if f'set part "{part}"' not in tcl:
        problems.append(f'project.tcl does not set part {part}')
    clock = re.search(r'set clock_period (\S+)', tcl)
    if clock is None or float(clock.group(1)) != float(clock_period_ns):
        problems.append(f'project.tcl does not set a {clock_period_ns} ns clock')
    top = project / 'firmware' / 'myproject.cpp'
    source = top.read_text() if top.exists() else ''
    if 'void myproject(' not in source:
        problems.append('firmware/myproject.cpp has no top function myproject')
    if 'hls4ml_reuse::reuse_unit<' not in source:
        problems.append('firmware/myproject.cpp calls no reuse unit')
    for header in HEADERS:
        if not (project / 'firmware' / 'nnet_utils' / header).exists():
            problems.append(f'firmware/nnet_utils/{header} is missing')
    if not (project / 'build_prj.tcl').exists():
        problems.append('build_prj.tcl is missing')
    problems += _check_tb_data(project / 'tb_data' / 'tb_input_features.dat', images, n_inputs)
    return problems


def _check_tb_data(path: Path, images: int, n_inputs: int) -> list[str]:
    if not path.exists():
        return [f'{path.name} is missing']
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if len(rows) != images or any(len(row) != n_inputs for row in rows):
        return [f'{path.name} should hold {images} rows of {n_inputs} values']
    return []


def run_gcc_testbench(project: Path) -> list[str]:
    """Compile the project's own test bench with g++ (the tool's C simulation, without the tool) and
    compare the results it logs with the QKeras predictions, exactly."""
    command = ['g++', '-std=c++11', '-O2', '-Ifirmware/ap_types', '-Ifirmware', '-DWEIGHTS_DIR="firmware/weights"',
               'myproject_test.cpp',
               'firmware/myproject.cpp', '-o', 'gcc_testbench']  # fmt: skip
    compiled = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if compiled.returncode != 0:
        return [f'the test bench does not compile with g++: {compiled.stderr[-2000:]}']
    ran = subprocess.run(['./gcc_testbench'], cwd=project, capture_output=True, text=True)
    if ran.returncode != 0:
        return [f'the test bench exited with {ran.returncode}']
    results = np.loadtxt(project / 'tb_data' / 'csim_results.log', ndmin=2)
    expected = np.loadtxt(project / 'tb_data' / 'tb_output_predictions.dat', ndmin=2)
    if results.shape != expected.shape or not np.array_equal(results, expected):
        return ['the test bench results differ from the QKeras predictions']
    return []


def run_hls_tool(executable: str, project: Path) -> dict:
    """C simulation, synthesis and co-simulation; raises when the tool fails or its log reports errors."""
    arguments = 'reset=1 csim=1 synth=1 cosim=1 validation=0 export=0 vsynth=0 fifo_opt=0'
    log = project / 'hls_build.log'
    with open(log, 'w') as handle:
        status = subprocess.run([executable, '-f', 'build_prj.tcl', arguments], cwd=project, stdout=handle,
                                stderr=subprocess.STDOUT).returncode  # fmt: skip
    text = log.read_text()
    errors = [line for line in text.splitlines() if line.startswith('ERROR')]
    if status != 0 or errors:
        raise HlsToolError(f'{executable} failed (exit {status}); see {log}:\n' + '\n'.join(errors[:10]))
    from hls4ml.report import parse_vivado_report

    return parse_vivado_report(str(project)) or {}


def build(target, out_dir: str, images: int = 100, run_tool: bool = True) -> BuildResult:
    executable, backend = find_hls_tool()
    out = Path(out_dir)
    write_project(target, out, images, backend)
    project = out / 'hls'
    result = BuildResult(str(project), target.part, target.clock_period_ns, images)
    result.problems = check_project(project, result.part, result.clock_period_ns, images, int(np.prod(target.x.shape[1:])))
    if not result.problems:
        result.problems = run_gcc_testbench(project)
    if executable is not None and run_tool and not result.problems:
        result.tool = executable
        result.report = run_hls_tool(executable, project)
    return result
