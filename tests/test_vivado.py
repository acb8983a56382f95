"""Verification ladder step 3: Vivado HLS C simulation, synthesis and co-simulation for xc7z100ffg900-2.

Skipped where neither vivado_hls nor vitis_hls is on PATH (hls4ml's build() would raise).
"""

import shutil
from pathlib import Path

import pytest
from models import binary_mlp

from hls4ml_reuse.cli import conversion

VIVADO = shutil.which('vivado_hls')
VITIS = shutil.which('vitis_hls')
needs_tool = pytest.mark.skipif(
    VIVADO is None and VITIS is None, reason='vivado_hls / vitis_hls is not on PATH: HLS csim, synthesis and cosim skipped'
)


@pytest.mark.vivado
@needs_tool
def test_small_mlp_synthesizes_and_cosimulates(out_dir):
    backend = 'Vivado' if VIVADO else 'Vitis'
    model = binary_mlp([16, 8], 32, seed=11)
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, backend=backend)
    assert 'xc7z100ffg900-2' in (Path(out_dir) / 'project.tcl').read_text()
    report = hls_model.build(csim=True, synth=True, cosim=True)
    assert report, 'the HLS tool produced no report'
    assert 'CSynthesisReport' in report
    assert 'CosimReport' in report
    status = report['CosimReport'].get('Status')
    assert status is not None, f"the co-simulation report has no status: {report['CosimReport']}"
    assert status.lower().startswith('pass'), f'co-simulation status {status!r}'
