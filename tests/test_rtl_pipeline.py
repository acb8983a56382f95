"""``hls4ml-reuse rtl`` on a user's own small models: their pipelines in Verilator, ours and the stock twin, in
both shapes, exact against QKeras on every output, with the cycles each design is built to take; and each layer
synthesized whole with Yosys.

The dense model and its images are a user's: an .h5 file and an .npz given with --data, not one of our examples.
The convolutional ones stream pixels: a fixed-point first layer (zero skipping), an absorbed max pooling with its
pool exit, a 'same' binary convolution (padding as absent inputs), a Flatten into a dense unit fed a pixel per beat.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from models import binary_cnn, binary_mlp, conv, maxpool, raw_conv, sparse_pixels

from hls4ml_reuse.cli import main, rtl
from hls4ml_reuse.cli.datasets import InputError
from hls4ml_reuse.cli.targets import Target, resolve
from hls4ml_reuse.plan.unit import Design
from hls4ml_reuse.report import tables
from hls4ml_reuse.rtl import verilator

pytestmark = pytest.mark.skipif(not verilator.available(), reason=verilator.skip_reason())

IMAGES = 12
FIRST_IMAGE = 3  # the unrolled run starts here, as one part of a long run split over several would
WIDTHS = [16, 12, 5]  # two thresholded layers, then raw sums


@pytest.fixture(scope='module')
def user_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('user')
    model = binary_mlp(WIDTHS, 40, seed=41)
    model.save(folder / 'mine.h5')
    x = sparse_pixels(IMAGES, 40, seed=42)  # zeros: zero skipping walks the shorter list
    np.savez(folder / 'images.npz', x=x)
    return folder


def test_folded_pipeline_is_exact_and_takes_its_counted_cycles(user_files, tmp_path):
    out = tmp_path / 'rtl.json'
    status = main(
        ['rtl', str(user_files / 'mine.h5'), '--data', str(user_files / 'images.npz'), '--images', str(IMAGES),
         '--out', str(tmp_path / 'out'), '--json', str(out), '--workers', '1']
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert status == 0
    assert (result['images'], result['stock_images'], result['mismatches'], result['stock_mismatches']) == (IMAGES,) * 2 + (
        0,
        0,
    )
    assert result['toggle_images'] == IMAGES
    layers = result['layers']
    assert [layer['name'] for layer in layers] == ['fc0', 'fc1', 'fc2']
    # stock's vectors all take the same clocks, so its slowest layer sets the rate exactly; ours varies per image
    # (early exit, zero skipping), so its rate lies between its slowest layer's average and all layers' sum
    counted = {design: [layer['counted_cycles'][design] for layer in layers] for design in Design}
    assert result['cycles_per_image']['stock'] == max(counted['stock'])
    assert max(counted['reuse']) <= result['cycles_per_image']['reuse'] <= sum(counted['reuse'])
    assert result['latency_cycles']['reuse'] >= sum(counted['reuse']) / 2
    for layer in layers:
        for design in ('reuse', 'stock'):
            figures = layer[design]
            assert figures['lut'] > 0 and figures['ff'] > 0 and figures['dsp'] == 0
            assert layer['toggles_per_image'][design] > 0  # over all IMAGES: fewer than --toggle-images
    assert result['totals']['reuse']['lut'] == sum(layer['reuse']['lut'] for layer in layers)


def test_unrolled_pipeline_is_exact_at_one_image_per_clock(user_files, tmp_path):
    target = resolve(str(user_files / 'mine.h5'), data=str(user_files / 'images.npz'))
    options = rtl.RtlOptions(
        shape='unrolled', images=IMAGES, first_image=FIRST_IMAGE, out_dir=str(tmp_path), toggle_images=0,
        synth_layers=['fc2'], workers=1,
    )  # fmt: skip
    result = rtl.run(target, options)
    assert (result['first_image'], result['images']) == (FIRST_IMAGE, IMAGES - FIRST_IMAGE)  # the rest of the set
    assert (result['mismatches'], result['stock_mismatches']) == (0, 0)
    assert result['cycles_per_image'] == {'reuse': 1, 'stock': 1}
    synthesized = [layer['name'] for layer in result['layers'] if layer['reuse'] is not None]
    assert synthesized == ['fc2'] and result['layers'][2]['stock']['lut'] > 0
    assert result['totals'] is None  # not every layer synthesized
    assert 'not every layer synthesized' in tables.rtl_table(result)
    # each layer: its input register, its datapath's register stages (plan/stages.py), its output register
    stages = {design: [layer['register_stages'][design]['stages'] for layer in result['layers']] for design in Design}
    assert result['latency_cycles'] == {design: sum(1 + count for count in stages[design]) for design in Design}
    assert stages['stock'] == [1] * len(WIDTHS)
    assert result['toggles_per_image'] == {'reuse': None, 'stock': None}  # none asked for
    assert rtl.failures(result) == []


def test_an_unknown_layer_to_synthesize_is_named(user_files, tmp_path):
    target = resolve(str(user_files / 'mine.h5'), data=str(user_files / 'images.npz'))
    options = rtl.RtlOptions(images=2, out_dir=str(tmp_path), synth_layers=['fc1', 'fc9'])
    with pytest.raises(InputError, match=r'--synth-layers: fc9 not among the units of mine: fc0, fc1, fc2'):
        rtl.run(target, options)


@pytest.mark.parametrize('first_image', [-1, IMAGES])
def test_a_first_image_outside_the_test_set_is_refused(user_files, tmp_path, first_image):
    target = resolve(str(user_files / 'mine.h5'), data=str(user_files / 'images.npz'))
    options = rtl.RtlOptions(images=2, first_image=first_image, out_dir=str(tmp_path))
    with pytest.raises(InputError, match=rf'--first-image must be in \[0, {IMAGES}\) for mine, not {first_image}'):
        rtl.run(target, options)


def test_any_difference_is_a_failure():
    result = {'images': 5, 'stock_images': 4, 'mismatches': 0, 'stock_mismatches': 3}
    assert rtl.failures(result) == ['3 output values of the stock twin (Verilator) differ from QKeras on 4 images']
    assert len(rtl.failures({**result, 'mismatches': 1})) == 2


CNN_IMAGES = 6


def cnn_target(name, spec, shape, seed):
    model = binary_cnn(shape, spec, seed=seed)
    x = sparse_pixels(CNN_IMAGES, int(np.prod(shape)), seed=seed + 1).reshape(-1, *shape)
    return Target(name, model, x, None, 'ufixed<8,0>', 8)


@pytest.mark.parametrize('lanes', ['gathered', 'banked'])
def test_folded_cnn_pipeline_is_exact_and_takes_its_counted_cycles(lanes, tmp_path):
    """Banked too: the HLS firmware's counted rows (its C simulation) bound the banked RTL's clocks as gathered ones."""
    spec = [conv(4, 3), maxpool(2), conv(6, 3, padding='same'), ('flatten',), ('dense', 3)]
    target = cnn_target('cnn', spec, (8, 8, 1), seed=51)
    options = rtl.RtlOptions(lanes=lanes, images=CNN_IMAGES, out_dir=str(tmp_path), synthesize=False)
    result = rtl.run(target, options)
    assert result['lanes'] == lanes
    assert (result['mismatches'], result['stock_mismatches']) == (0, 0)
    assert [layer['name'] for layer in result['layers']] == ['conv0', 'conv1', 'logits']
    counted = {design: [layer['counted_cycles'][design] for layer in result['layers']] for design in Design}
    assert result['cycles_per_image']['stock'] == max(counted['stock'])
    assert max(counted['reuse']) <= result['cycles_per_image']['reuse'] <= sum(counted['reuse'])


def test_unrolled_cnn_pipeline_is_exact_at_a_pixel_per_clock(tmp_path):
    target = cnn_target('cnn-raw', [conv(4, 3), raw_conv(3, 3, padding='same')], (6, 6, 1), seed=53)
    options = rtl.RtlOptions(shape='unrolled', images=CNN_IMAGES, out_dir=str(tmp_path), synthesize=False, toggle_images=0)
    result = rtl.run(target, options)
    assert (result['mismatches'], result['stock_mismatches']) == (0, 0)
    assert result['cycles_per_image'] == {'reuse': 36, 'stock': 36}  # 6 x 6 pixels in, a pixel per clock
