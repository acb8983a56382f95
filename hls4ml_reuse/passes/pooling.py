"""Max pooling that hls4ml's io_stream pooling cannot compute becomes our streamed ReuseMaxPool2D (or 1D)."""

from hls4ml.model.layers import Pooling1D, Pooling2D
from hls4ml.model.optimizer import OptimizerPass

from ..config import settings_of
from ..ir.layers import POOL2D_GEOMETRY, ReuseMaxPool1D, ReuseMaxPool2D

POOLING = (Pooling1D, Pooling2D)


def pads(node) -> list[int]:
    sides = ('pad_top', 'pad_bottom', 'pad_left', 'pad_right') if isinstance(node, Pooling2D) else ('pad_left', 'pad_right')
    return [int(node.get_attr(side, 0)) for side in sides]


def pool_and_strides(node) -> tuple[tuple, tuple]:
    axes = ('height', 'width') if isinstance(node, Pooling2D) else ('width',)
    return tuple(node.get_attr(f'pool_{axis}') for axis in axes), tuple(node.get_attr(f'stride_{axis}') for axis in axes)


def hls4ml_streams(node) -> bool:
    """hls4ml's io_stream pooling computes it: stride equal to the pool size and no padding (else it asserts)."""
    pool, strides = pool_and_strides(node)
    return pool == strides and not any(pads(node))


def converts_max_pooling(node) -> bool:
    """A max pooling (channels last) that ReuseMaxPool2D / 1D computes in hls4ml's place, with the flag on for it."""
    return (
        isinstance(node, POOLING)
        and node.get_attr('pool_op') == 'Max'
        and node.get_attr('data_format', 'channels_last') == 'channels_last'
        and not hls4ml_streams(node)
        and settings_of(node.model).for_layer(node.name, node.class_name).enabled
    )


def geometry_2d(node) -> dict:
    return {key: node.get_attr('n_filt' if key == 'n_chan' else key) for key in POOL2D_GEOMETRY}


def geometry_1d(node) -> dict:
    """A Pooling1D's geometry as a 2-D pooling of height 1."""
    get = node.get_attr
    return {
        'in_height': 1, 'in_width': get('n_in'), 'n_chan': get('n_filt'), 'pool_height': 1,
        'pool_width': get('pool_width'), 'stride_height': 1, 'stride_width': get('stride_width'), 'pad_top': 0,
        'pad_left': get('pad_left'), 'out_height': 1, 'out_width': get('n_out'),
    }  # fmt: skip


class ConvertMaxPooling(OptimizerPass):
    """Pooling2D / Pooling1D (Max) that hls4ml cannot stream -> ReuseMaxPool2D / ReuseMaxPool1D, of the same
    geometry and the input's type.

    Matches a channels-last max pooling with a stride other than its size or with padding that pads, whose
    ReusePruning flag is on. It never refuses: validate.py refuses the pooling that neither computes.
    """

    name = 'reuse_pruning_convert_max_pooling'

    def match(self, node):
        return converts_max_pooling(node)

    def transform(self, model, node):
        two_d = isinstance(node, Pooling2D)
        layer_class, geometry = (ReuseMaxPool2D, geometry_2d(node)) if two_d else (ReuseMaxPool1D, geometry_1d(node))
        attrs = {key: int(value) for key, value in geometry.items()}
        attrs['trace'] = node.get_attr('trace', False)
        pooling = model.make_node(layer_class, node.name, attrs, node.inputs.copy(), node.outputs.copy())
        model.replace_node(node, pooling)
        return True
