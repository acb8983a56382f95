"""bench and build on image models: a Conv2D network end to end, and shipped examples resolved from YAML."""

from pathlib import Path

import numpy as np
from models import binary_cnn, conv, maxpool

from hls4ml_reuse.cli import bench, build
from hls4ml_reuse.cli.targets import Target, resolve
from hls4ml_reuse.cli.examples import REPO_ROOT, random_pixels
from hls4ml_reuse.report import tables

SMALL_MNIST_CNN = [conv(4, 3), ('maxpool', 2), conv(6, 3, 2, 'same'), ('flatten',), ('dense', 10)]


def test_bench_runs_an_mnist_cnn_exactly(tmp_path):
    model = binary_cnn((28, 28, 1), SMALL_MNIST_CNN, seed=31)
    path = tmp_path / 'cnn.h5'
    model.save(path)
    out = str(tmp_path / 'out')
    result = bench.run(
        str(path), bench.BenchOptions(images=40, stock_images=3, out_dir=out, verify_images=8, stock_seconds=0)
    )
    assert result['mismatches'] == 0
    assert result['csim_accuracy'] == result['keras_accuracy']
    assert result['reference_counts_equal_firmware']
    assert [layer['name'] for layer in result['layers']] == ['conv0', 'conv1', 'logits']
    assert 0 < result['ops_pruned_dynamic'] < 1 and 0 < result['adder_bits_pruned_dynamic'] < 1
    assert result['stock_images'] == 1 and result['speedup_vs_stock'] > 0  # the time budget stops stock early


def test_bench_skips_stock_where_its_pooling_would_abort(tmp_path):
    """Overlapping pooling: ours streams it exactly; stock hls4ml's would assert in C simulation, so it is not run."""
    model = binary_cnn((9, 9, 2), [conv(4, 3), maxpool(3, 2, 'same'), ('flatten',), ('dense', 3)], seed=34)
    target = Target('overlap-cnn', model, random_pixels(30, (9, 9, 2), seed=35), None, 'ufixed<8,0>', 8)
    options = bench.BenchOptions(images=30, stock_images=5, out_dir=str(tmp_path), verify_images=10)
    result = bench.run(target, options)
    assert result['mismatches'] == 0 and result['reference_counts_equal_firmware']
    assert result['stock_images'] == 0 and result['speedup_vs_stock'] is None
    assert "['maxpool1']" in result['stock_unavailable']
    assert 'stock hls4ml not run' in tables.bench_table(result)


def test_build_writes_a_conv_project_whose_testbench_matches_qkeras(tmp_path):
    """The tiling pooling is absorbed (pool exit), the overlapping one after it is ReuseMaxPool2D."""
    spec = [conv(4, 3, 1, 'same'), ('maxpool', 2), maxpool(3, 2, 'same'), ('flatten',), ('dense', 3)]
    model = binary_cnn((9, 9, 2), spec, seed=32)
    x = random_pixels(20, (9, 9, 2), seed=33)
    target = Target('small-cnn', model, x, None, 'ufixed<8,0>', 8)
    result = build.build(target, str(tmp_path), images=20, run_tool=False)
    assert result.problems == []
    firmware = Path(result.project_dir) / 'firmware'
    top, parameters = (firmware / 'myproject.cpp').read_text(), (firmware / 'parameters.h').read_text()
    assert 'hls4ml_reuse::reuse_unit<' in top and 'hls4ml_reuse::max_pool2d<' in top
    assert 'using implementation = hls4ml_reuse::conv2d_folded<' in parameters


def test_yaml_of_a_shipped_example_uses_its_own_images(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the configuration's model path is relative to the repository
    target = resolve('configs/finn_cnv_random_xc7z100.yml')
    assert target.y is None  # random pixels: no labels, no accuracy
    assert target.x.shape[1:] == (32, 32, 3)
    assert np.array_equal(target.x * 256, np.round(target.x * 256))
    assert target.part == 'xc7z100ffg900-2' and target.clock_period_ns == 5
