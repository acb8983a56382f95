"""Synthesis jobs: one per design (a layer slice, ours or stock), fanned out as Dask tasks.

A job is self-contained -- the unit's spec, test vectors and the reference's outputs -- so a worker
builds the RTL, synthesizes it and checks the netlist without the hls4ml model. Workers write into the job's
folder: with a remote scheduler, give an output folder the workers can reach.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from amaranth.back import rtlil

from ..plan.unit import Design, Shape, UnitSpec
from .rtl import datapath, to_rtlil


@dataclass(frozen=True)
class SynthJob:
    layer: str
    design: Design
    unit: UnitSpec  # raw sums of its first n_out kernels: stock builds those from scratch, ours by its plan
    vectors: np.ndarray  # (m, k) raw inputs
    expected: np.ndarray  # (m, n_out) the reference's raw sums
    work_dir: str  # absolute: a worker of a remote cluster does not share the client's working directory
    share_luts: bool = False  # build a counting LUT once for all kernels that need it (rtl._Trees)

    @property
    def label(self) -> str:
        return f'{self.layer} {self.design}'


@dataclass
class JobResult:
    layer: str
    design: str
    lut: int
    carry4: int
    ff: int
    cells: dict = field(default_factory=dict)
    synth_seconds: float = 0.0
    exact: bool = False
    vectors: int = 0
    mismatched_vectors: int = 0
    first_mismatch: str | None = None
    work_dir: str = ''


def build_design(job: SynthJob):
    return datapath(job.unit, job.design, job.share_luts)


def run_job(job: SynthJob) -> JobResult:
    """RTL (Amaranth's RTLIL; Yosys writes it out as Verilog too), 7-series synthesis, the netlist against the reference."""
    from . import netlist, yosys

    work_dir = Path(job.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    design = build_design(job)
    (work_dir / 'design.il').write_text(to_rtlil(design))
    synthesized = yosys.synthesize(work_dir)
    checked = netlist.check(synthesized.netlist, job.vectors, job.expected, job.unit.input_format, job.unit.sum_width)
    return JobResult(
        layer=job.layer,
        design=job.design,
        lut=synthesized.lut,
        carry4=synthesized.carry4,
        ff=synthesized.ff,
        cells=synthesized.cells,
        synth_seconds=synthesized.seconds,
        exact=checked.exact,
        vectors=checked.vectors,
        mismatched_vectors=checked.mismatched_vectors,
        first_mismatch=checked.first_mismatch,
        work_dir=str(work_dir),
    )


def describe(result: JobResult) -> str:
    verdict = 'exact' if result.exact else f'NOT exact ({result.first_mismatch})'
    return (
        f'{result.layer} {result.design}: {result.lut:,} LUT, {result.carry4:,} CARRY4, {result.ff:,} FF, '
        f'synthesis {result.synth_seconds:.0f} s; netlist on {result.vectors} vectors {verdict}'
    )


@dataclass(frozen=True)
class UnitJob:
    """A whole unit as the RTL twin builds it (rtl/), ours or the stock twin, in one shape: synthesized for its
    resources. Its behaviour is checked in simulation (Verilator), not here."""

    layer: str
    design: Design
    unit: UnitSpec
    shape: Shape
    work_dir: str
    lut_levels: int | None = None  # unrolled: the register stages' budget (rtl/unrolled.py)

    @property
    def label(self) -> str:
        return f'{self.layer} {self.design} {self.shape}'


@dataclass
class UnitResult:
    layer: str
    design: str
    resources: dict  # yosys.resources(): lut, ff, carry4, bram18, bram36, dsp, lut_levels, ...
    cells: dict
    synth_seconds: float
    work_dir: str

    def describe(self) -> str:
        r = self.resources
        return (
            f'{self.layer} {self.design}: {r["lut"]:,} LUT, {r["ff"]:,} FF, {r["carry4"]:,} CARRY4, '
            f'{r["bram36"]} RAMB36 + {r["bram18"]} RAMB18, {r["lut_levels"]} LUT levels, synthesis {self.synth_seconds:.0f} s'
        )


def run_unit_job(job: UnitJob) -> UnitResult:
    from ..rtl.network import unit_rtl
    from . import yosys

    work_dir = Path(job.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / 'design.il').write_text(
        rtlil.convert(unit_rtl(job.unit, job.design, job.shape, lut_levels=job.lut_levels), name='top')
    )
    synthesized = yosys.synthesize(work_dir)
    return UnitResult(
        job.layer, job.design, yosys.resources(synthesized), synthesized.cells, synthesized.seconds, str(work_dir)
    )


def run_jobs(
    jobs: list, scheduler: str | None = None, progress: Callable[[str], None] = print, workers: int = 2, run=None
) -> list:
    """Run every job as a Dask task: on `scheduler` when given, else a local cluster of `workers` processes.

    `run` turns a job into its result (run_job for SynthJob, run_unit_job for UnitJob: the default follows the
    job's type). Results come back in the jobs' order; progress reports each job as it finishes.
    """
    run = run or (run_unit_job if jobs and isinstance(jobs[0], UnitJob) else run_job)
    from distributed import Client, as_completed

    started = time.monotonic()
    logging.getLogger('distributed').setLevel(logging.WARNING)  # its INFO lines would bury the progress
    cluster = None if scheduler else _local_cluster(workers)
    client = Client(scheduler or cluster)
    try:
        progress(f'{len(jobs)} synthesis jobs on {_workers(client)} Dask workers ({scheduler or "local cluster"})')
        futures = {client.submit(run, job, key=f'synth-{i}-{job.label}', pure=False): i for i, job in enumerate(jobs)}
        results = [None] * len(jobs)
        for done, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results[futures[future]] = result
            text = result.describe() if isinstance(result, UnitResult) else describe(result)
            progress(f'[{done}/{len(jobs)}, {time.monotonic() - started:.0f} s] {text}')
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _local_cluster(workers: int):
    """Single-thread worker processes: a Yosys run is one process at full load, and a job holds it for about a minute."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )


def _workers(client) -> int:
    return len(client.scheduler_info().get('workers', {}))
