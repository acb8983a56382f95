"""Checks that run once per conversion: before any layer is rewritten, and after the units are built."""

import numpy as np
from hls4ml.model.layers import Conv1D, Conv2D, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D
from hls4ml.model.optimizer import ModelOptimizerPass

from ..config import ReusePruningConfigError, settings_of
from .keras_replay import binary_activation
from .graph import is_binary_activation
from .pooling import POOLING, converts_max_pooling, hls4ml_streams, pads, pool_and_strides

SUPPORTED_BACKENDS = ('Vivado', 'Vitis')
UNSUPPORTED_CONVOLUTIONS = (Conv1D, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D)


class ModelCheck(ModelOptimizerPass):
    """A model-level pass whose name is the class attribute ``name`` and whose transform is a method."""

    def __init__(self):
        pass  # ModelOptimizerPass.__init__ takes a name and a function: ours are the class's


class ValidateReusePruning(ModelCheck):
    """Reject malformed ReusePruning keys, unsupported backends/io types and unsupported layers.

    Refuses (raises ReusePruningConfigError) when the flag is on and: the backend is not Vivado or
    Vitis, io_type is not io_stream, a convolution other than Conv2D asks for it, or a pooling layer is
    one neither hls4ml's streaming pooling (it asserts inside C simulation, killing the process) nor
    our ReuseMaxPool2D / 1D computes (check_streaming_pooling), or a convolution is dilated or grouped (hls4ml
    1.3.0 drops both options and computes a plain convolution).
    Returns False: it never changes the graph.
    """

    name = 'reuse_pruning_validate'

    def transform(self, model):
        settings = settings_of(model)
        if not settings.any_enabled():
            return False
        backend = model.config.backend.name if model.config.backend is not None else None
        if backend not in SUPPORTED_BACKENDS:
            raise ReusePruningConfigError(f'ReusePruning supports the Vivado and Vitis backends, not {backend}')
        io_type = model.config.get_config_value('IOType')
        if io_type != 'io_stream':
            raise ReusePruningConfigError(f"ReusePruning builds streaming units: use io_type='io_stream', not {io_type!r}")
        for layer in model.get_layers():
            check_streaming_pooling(layer)
            check_convolution_options(model, layer)
            if isinstance(layer, UNSUPPORTED_CONVOLUTIONS) and settings.for_layer(layer.name, layer.class_name).enabled:
                raise ReusePruningConfigError(
                    f'layer {layer.name!r} ({layer.class_name}): ReusePruning plans Dense and Conv2D layers only; '
                    f'set ReusePruning: false for it under LayerName (it then converts as stock hls4ml)'
                )
        return False


CONVOLUTIONS = (Conv1D, Conv2D)  # the separable and depthwise ones derive from these


def keras_layer_config(model, name: str) -> dict:
    """The Keras configuration of layer `name` when the conversion holds the Keras model itself, else {}."""
    keras_model = model.config.config.get('KerasModel')
    if keras_model is None or isinstance(keras_model, str):
        return {}
    try:
        return keras_model.get_layer(name).get_config()
    except ValueError:  # a layer hls4ml added (its own activations, padding)
        return {}


def check_convolution_options(model, layer) -> None:
    """hls4ml parses neither dilation_rate nor groups: such a convolution would silently compute another one."""
    if not isinstance(layer, CONVOLUTIONS):
        return
    config = keras_layer_config(model, layer.name)
    dilation = tuple(np.atleast_1d(config.get('dilation_rate', 1)))
    if any(rate != 1 for rate in dilation):
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: dilation_rate {dilation} is dropped by hls4ml, which would compute an undilated '
            'convolution (with or without ReusePruning); use dilation_rate=1'
        )
    weight = layer.weights.get('weight') if isinstance(layer, Conv2D) else None
    grouped = weight is not None and np.shape(weight.data)[-2] != layer.get_attr('n_chan')  # kernel (fh, fw, C/groups, F)
    groups = config.get('groups', 1)
    if groups != 1 or grouped:
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: groups={groups} is dropped by hls4ml, which would convolve over all input '
            'channels; use groups=1 (or one convolution per group, then Concatenate)'
        )


def check_streaming_pooling(layer) -> None:
    """Pooling that neither hls4ml's io_stream pooling (it asserts inside C simulation) nor ours computes.

    hls4ml streams stride == pool size without padding; ReuseMaxPool2D / 1D take any other max pooling with the
    flag on. Left: average pooling (a mean of bits is not exact), channels_first, and max pooling with the flag
    off for it.
    """
    if not isinstance(layer, POOLING) or hls4ml_streams(layer) or converts_max_pooling(layer):
        return
    pool, strides = pool_and_strides(layer)
    got = f'pool {pool}, strides {strides}, padding {pads(layer)}'
    stock = 'hls4ml streams pooling only with strides equal to the pool size and no padding'
    if layer.get_attr('pool_op') != 'Max':
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: {stock} ({got}), and ReusePruning streams the others for max pooling only (an '
            "average of bits is not exact); use strides equal to the pool size and padding='valid', or max pooling"
        )
    if layer.get_attr('data_format', 'channels_last') != 'channels_last':
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: {stock} ({got}), and ReusePruning streams the others channels_last only; '
            'convert with channels_last'
        )
    raise ReusePruningConfigError(
        f'layer {layer.name!r}: {stock} ({got}), and ReusePruning is off for this max pooling; set ReusePruning: '
        'true for it (Model level or its LayerName entry: ReusePruning then streams it) or use strides equal to '
        'the pool size and no padding'
    )


class CheckStandaloneActivations(ModelCheck):
    """After the units are built: a binary activation left on its own runs as hls4ml's binary_tanh ([x >= 0]).

    Refuses (raises ReusePruningConfigError) when the QKeras activation differs from that at 0 (QKeras'
    functional binary_tanh gives -1 there) or does not output -1/+1. Returns False: it never changes the graph.
    """

    name = 'reuse_pruning_check_activations'

    def transform(self, model):
        if not settings_of(model).any_enabled():
            return False
        for layer in model.get_layers():
            if is_binary_activation(layer) and binary_activation(layer)(np.zeros(1, np.float32))[0] != 1:
                raise ReusePruningConfigError(
                    f"layer {layer.name!r}: QKeras' binary_tanh gives -1 at exactly 0 where hls4ml's streaming "
                    "binary_tanh gives +1, and this activation is not fused into a unit; use QActivation('binary') "
                    'here (QKeras then gives +1 at 0 too)'
                )
        return False
