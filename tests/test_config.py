"""Configuration parsing and the errors a user gets for bad input."""

import hls4ml
import numpy as np
import pytest
import tensorflow as tf
from models import binary_mlp
from qkeras import QDense, binary
from tensorflow.keras import layers

from hls4ml_reuse.cli import conversion
from hls4ml_reuse.config import LayerSettings, ReusePruningConfigError, edit_distance, near_miss, settings_for, validate


def test_layer_value_wins_over_model():
    config = {'Model': {'ReusePruning': True, 'ReusePruningTile': 16}, 'LayerName': {'fc1': {'ReusePruning': False}}}
    assert settings_for(config, 'fc0', 'Dense') == LayerSettings(enabled=True, tile=16, tile_set=True)
    assert settings_for(config, 'fc1', 'Dense').enabled is False


def test_forced_only_when_set_on_the_layer():
    config = {'Model': {'ReusePruning': True}, 'LayerName': {'fc1': {'ReusePruning': True}}}
    assert not settings_for(config, 'fc0', 'Dense').forced
    assert settings_for(config, 'fc1', 'Dense').forced


@pytest.mark.parametrize(
    'section, message',
    [
        ({'ReusePruningTiles': 8}, 'did you mean ReusePruningTile'),
        ({'ReusePruning': 'yes'}, 'must be true or false'),
        ({'ReusePruningTile': 12}, 'must be one of'),
        ({'ReusePruningEarlyExit': 1}, 'must be true or false'),
        ({'ReusePruningZeroSkip': 'sometimes'}, 'must be true or false'),
        ({'ReusePruningSteiner': None}, 'must be true or false'),
        ({'ReusePruningWindowReuse': 2}, 'must be true or false'),
        ({'ReusePruningShape': 'unroled'}, 'must be one of folded, unrolled'),
        ({'ReusePruningBipolarOutput': 'pm1'}, 'must be true or false'),
        ({'ReusePruningLanes': 'bank'}, 'must be one of gathered, banked'),
        ({'ReusePruningLane': 'banked'}, 'did you mean ReusePruningLanes'),
    ],
)
def test_bad_keys_and_values_name_layer_and_key(section, message):
    with pytest.raises(ReusePruningConfigError, match=message) as info:
        validate({'Model': {}, 'LayerName': {'fc3': section}})
    assert "LayerName 'fc3'" in str(info.value)


def test_yaml_strings_are_accepted():
    assert settings_for({'Model': {'ReusePruning': 'true', 'ReusePruningTile': '32'}}, 'x', 'Dense').tile == 32


def test_unrolled_shape_turns_off_the_levers_that_skip_work():
    config = {'Model': {'ReusePruning': True}, 'LayerName': {'fc0': {'ReusePruningShape': 'Unrolled'}}}
    unrolled, folded = settings_for(config, 'fc0', 'Dense'), settings_for(config, 'fc1', 'Dense')
    assert unrolled.shape == 'unrolled' and folded.shape == 'folded'
    assert not (unrolled.early_exit or unrolled.pool_exit or unrolled.zero_skip or unrolled.window_reuse)
    assert unrolled.steiner and folded.early_exit and not folded.window_reuse


def test_lanes_are_banked_unless_window_reuse_asks_for_gathered_ones():
    config = {'Model': {'ReusePruning': True}, 'LayerName': {'conv2': {'ReusePruningWindowReuse': 'true'}}}
    default, reusing = settings_for(config, 'conv1', 'Conv2D'), settings_for(config, 'conv2', 'Conv2D')
    assert default.lanes == 'banked' and not default.window_reuse
    assert reusing.lanes == 'gathered' and reusing.window_reuse
    config['LayerName']['conv1'] = {'ReusePruningLanes': 'gathered'}
    assert settings_for(config, 'conv1', 'Conv2D').lanes == 'gathered'


def test_banked_lanes_refuse_window_reuse_when_both_are_asked_for():
    config = {'Model': {'ReusePruning': True, 'ReusePruningWindowReuse': True}}
    config['LayerName'] = {'conv1': {'ReusePruningLanes': 'Banked'}}
    assert settings_for(config, 'conv2', 'Conv2D').lanes == 'gathered'
    with pytest.raises(ReusePruningConfigError, match="layer 'conv1'.*ReusePruningWindowReuse: false"):
        settings_for(config, 'conv1', 'Conv2D')


def test_outputs_are_hls4ml_bits_unless_bipolar_is_asked_for():
    config = {'Model': {'ReusePruning': True}, 'LayerName': {'logits': {'ReusePruningBipolarOutput': 'true'}}}
    assert not settings_for(config, 'fc0', 'Dense').bipolar_output
    assert settings_for(config, 'logits', 'Dense').bipolar_output


def test_levers_default_on_and_turn_off_per_layer():
    config = {'Model': {'ReusePruning': True}, 'LayerName': {'fc0': {'ReusePruningZeroSkip': 'false'}}}
    assert settings_for(config, 'fc1', 'Dense').zero_skip and settings_for(config, 'fc1', 'Dense').steiner
    assert not settings_for(config, 'fc0', 'Dense').zero_skip


def convert_expecting(model, config, out_dir, message, io_type='io_stream', backend='Vivado'):
    with pytest.raises(ReusePruningConfigError, match=message):
        hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, io_type=io_type, backend=backend, output_dir=out_dir
        )


def test_misspelt_key_fails_conversion(out_dir):
    model = binary_mlp([4, 2], 6)
    config = conversion.reuse_config(model, 'ufixed<8,0>')
    config['Model']['ReusePruningEarlyexit'] = False
    convert_expecting(model, config, out_dir, 'ReusePruningEarlyExit')


def test_io_parallel_is_refused(out_dir):
    model = binary_mlp([4, 2], 6)
    convert_expecting(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, 'io_stream', io_type='io_parallel')


def test_other_backends_are_refused(out_dir):
    model = binary_mlp([4, 2], 6)
    convert_expecting(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, 'Vivado and Vitis', backend='Quartus')


def test_forced_on_non_binary_weights(out_dir):
    inputs = layers.Input((6,), name='pixels')
    model = tf.keras.Model(inputs, layers.Dense(3, use_bias=False, name='float_dense')(inputs))
    config = conversion.base_config(model, 'ufixed<8,0>')
    config['LayerName']['float_dense']['ReusePruning'] = True
    convert_expecting(model, config, out_dir, "'float_dense'.*not binary")


def test_model_level_flag_leaves_non_binary_layers_stock_and_says_so(out_dir):
    inputs = layers.Input((6,), name='pixels')
    x = QDense(4, kernel_quantizer=binary(alpha=1), use_bias=False, name='bin')(inputs)
    model = tf.keras.Model(inputs, layers.Dense(3, use_bias=False, name='float_dense')(x))
    hls_model = conversion.convert(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir)
    from hls4ml_reuse.ir.layers import skipped_layers
    from hls4ml_reuse.sim.graph import reference_unavailable

    assert skipped_layers(hls_model) == {'float_dense': 'weights are not binary'}
    assert "'float_dense'" in reference_unavailable(hls_model)  # bench then says the reference was not checked


def test_batchnorm_without_binary_activation_is_refused(out_dir):
    inputs = layers.Input((6,), name='pixels')
    x = QDense(4, kernel_quantizer=binary(alpha=1), use_bias=False, name='fc')(inputs)
    model = tf.keras.Model(inputs, layers.BatchNormalization(name='bn')(x))
    convert_expecting(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, "'fc'.*'bn'.*binary activation")


def test_bias_too_fine_for_an_exact_raw_output_is_refused(out_dir):
    """A float bias far finer than the sum (1e-9 beside sums of pixels) has no exact fixed-point sum to read back."""
    inputs = layers.Input((6,), name='pixels')
    dense = QDense(4, kernel_quantizer=binary(alpha=1), name='fc')
    model = tf.keras.Model(inputs, dense(inputs))
    dense.bias.assign(np.full(4, 1e-9, np.float32))
    convert_expecting(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, "'fc'.*bias.*quantize the bias")


def test_depthwise_convolution_is_refused(out_dir):
    inputs = layers.Input((6, 6, 2), name='pixels')
    x = layers.DepthwiseConv2D(3, use_bias=False, padding='same', name='depthwise')(inputs)
    model = tf.keras.Model(inputs, layers.Flatten()(x))
    convert_expecting(model, conversion.reuse_config(model, 'ufixed<8,0>'), out_dir, "'depthwise'.*Dense and Conv2D")


@pytest.mark.parametrize(
    'key, meant',
    [
        ('ReusePrunning', 'ReusePruning'),
        ('reusepruning', 'ReusePruning'),
        ('Reuse_Pruning', 'ReusePruning'),
        ('reuse-pruning', 'ReusePruning'),
        ('ReusPruning', 'ReusePruning'),
        ('ReusePruningtile', 'ReusePruningTile'),
        ('Reuse_Pruning_Tile', 'ReusePruningTile'),
        ('ReusePruningEarlyExits', 'ReusePruningEarlyExit'),
        ('reuse_pruning_pool_exit', 'ReusePruningPoolExit'),
        ('ReusePruningPoolExitEnabled', 'ReusePruningPoolExit'),  # many edits away, but starts like ours
        ('ReusePruningZeroSkipping', 'ReusePruningZeroSkip'),
        ('reuse_pruning_steiners', 'ReusePruningSteiner'),
        ('ReusePruningWindowsReuse', 'ReusePruningWindowReuse'),
        ('ReusePruningBipolarOutputs', 'ReusePruningBipolarOutput'),
    ],
)
@pytest.mark.parametrize('group', ['Model', 'LayerType', 'LayerName'])
def test_near_misses_of_our_keys_are_refused_in_every_section(key, meant, group):
    section = {'Precision': 'ap_fixed<16,6>', key: True}
    config = {'Model': section} if group == 'Model' else {'Model': {}, group: {'Dense': section}}
    where = 'Model' if group == 'Model' else f"{group} 'Dense'"
    with pytest.raises(ReusePruningConfigError, match=f"^{where}: unknown key '{key}'; did you mean {meant}\\?"):
        validate(config)


HLS4ML_KEYS = (
    'ReuseFactor', 'Precision', 'Strategy', 'Trace', 'ParallelizationFactor', 'ConvImplementation', 'BramFactor',
    'TraceOutput', 'Skip', 'Compression', 'PipelineStyle', 'PipelineInterval', 'TargetCycles', 'FifoDepth',
    'InputsChannelLast', 'TransposeOutputs', 'ChannelsLastConversion', 'Implementation', 'TableSize', 'table_size',
    'accum_t', 'result_t', 'table_t', 'BitExact', 'Optimizers', 'SkipOptimizers', 'Flows', 'Include', 'Exclude',
)  # fmt: skip


@pytest.mark.parametrize('key', HLS4ML_KEYS)
def test_hls4ml_keys_are_never_taken_for_ours(key):
    assert near_miss(key) is None
    validate({'Model': {key: 1}, 'LayerType': {'Dense': {key: 1}}, 'LayerName': {'fc0': {key: 1}}})


def test_edit_distance():
    assert [edit_distance(a, b) for a, b in [('', 'abc'), ('kitten', 'sitting'), ('tile', 'tile'), ('ab', 'ba')]] == [
        3,
        3,
        0,
        2,
    ]


@pytest.mark.parametrize('key', ['ReusePruning', 'ReusePrunning'])
def test_our_key_directly_under_hls_config_is_refused(key):
    with pytest.raises(ReusePruningConfigError, match=f"HLSConfig: '{key}' belongs under HLSConfig: Model"):
        validate({'Model': {'Precision': 'fixed<16,6>'}, key: True})
