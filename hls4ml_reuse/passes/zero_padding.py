"""An explicit ZeroPadding2D in front of a binary convolution becomes the convolution's own padding.

Keras pads with 0. hls4ml's ZeroPadding2D writes 0 too, but on binary activations a stored 0 is the bit
of -1, so on bits it pads with -1. The reuse unit pads by itself with 0 (positions outside the image add
nothing), so the padding moves into the unit and the layer disappears: exact on bits and on fixed point.
"""

from hls4ml.model.layers import Conv2D, DepthwiseConv2D, SeparableConv2D, ZeroPadding2D
from hls4ml.model.optimizer import OptimizerPass

from ..config import settings_of
from .binary_unit import binary_weights
from .graph import single_consumer

SIDES = ('pad_top', 'pad_bottom', 'pad_left', 'pad_right')


def padded_convolution(model, pad):
    """The binary Conv2D (flag on) that is the padding's only consumer and can take its padding, or None."""
    conv = single_consumer(model, pad)
    if not isinstance(conv, Conv2D) or isinstance(conv, (DepthwiseConv2D, SeparableConv2D)):
        return None
    if not settings_of(model).for_layer(conv.name, conv.class_name).enabled:
        return None
    if 'channels_last' not in (pad.get_attr('data_format', 'channels_last'), conv.get_attr('data_format')):
        return None
    filters = {'pad_top': 'filt_height', 'pad_bottom': 'filt_height', 'pad_left': 'filt_width', 'pad_right': 'filt_width'}
    if any(conv.get_attr(side) + pad.get_attr(side) >= conv.get_attr(filters[side]) for side in SIDES):
        return None  # a window wholly in the padding: left to the checks (the unit refuses such padding)
    return conv if binary_weights(conv, conv.get_attr('n_filt')) is not None else None


class AbsorbZeroPadding(OptimizerPass):
    """ZeroPadding2D -> binary Conv2D (ReusePruning on): add the padding to the convolution's and drop the layer.

    Matches only when the convolution will become a unit and every side of its total padding stays smaller
    than the filter; otherwise the layer is left alone (on bits, CheckBitConsumers then refuses it by name).
    """

    name = 'reuse_pruning_absorb_zero_padding'

    def match(self, node):
        return (
            isinstance(node, ZeroPadding2D)
            and settings_of(node.model).any_enabled()
            and padded_convolution(node.model, node) is not None
        )

    def transform(self, model, node):
        conv = padded_convolution(model, node)
        for side in SIDES:
            conv.set_attr(side, conv.get_attr(side) + node.get_attr(side))
        conv.set_attr('in_height', node.get_attr('in_height'))
        conv.set_attr('in_width', node.get_attr('in_width'))
        # ModelGraph.remove_node keeps only shape-preserving layers: rewire the convolution by hand
        conv.inputs = [node.inputs[0] if name == node.outputs[0] else name for name in conv.inputs]
        del model.graph[node.name]
        return True
