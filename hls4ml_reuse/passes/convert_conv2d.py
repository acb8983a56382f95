"""Rewrite a binary Conv2D (+ BatchNorm + binary activation) into one planned ReuseConv2D unit."""

from ..config import ReusePruningConfigError
from ..layer import ReuseConv2D
from .binary_unit import ConvertBinaryUnit

GEOMETRY = (
    'in_height', 'in_width', 'n_chan', 'filt_height', 'filt_width', 'stride_height', 'stride_width',
    'pad_top', 'pad_left', 'out_height', 'out_width',
)  # fmt: skip


class ConvertBinaryConv2D(ConvertBinaryUnit):
    """Conv2D -> ReuseConv2D (see ConvertBinaryUnit).

    The unit pads by itself (padded positions are 0, as in Keras), so hls4ml's ZeroPadding2D -- which
    would pad binary data with -1 -- is never inserted. Keras normalizes 4-D outputs with the fused op.
    """

    class_name = 'Conv2D'
    unit_class = ReuseConv2D
    fused_batchnorm = True

    def __init__(self):
        self.name = 'reuse_pruning_convert_conv2d'

    def n_out(self, node):
        return node.get_attr('n_filt')

    def check_layer(self, node):
        if node.get_attr('data_format', 'channels_last') != 'channels_last':
            raise ReusePruningConfigError(
                f'layer {node.name!r}: ReusePruning convolutions stream channels_last data; convert with channels_last'
            )
        for axis in ('height', 'width'):
            filt, pad = node.get_attr(f'filt_{axis}'), node.get_attr('pad_top' if axis == 'height' else 'pad_left')
            if pad >= filt:
                raise ReusePruningConfigError(
                    f'layer {node.name!r}: padding {pad} is not smaller than the filter {filt} along {axis}'
                )

    def geometry(self, node):
        geometry = {key: int(node.get_attr(key)) for key in GEOMETRY}
        geometry['n_in'] = geometry['filt_height'] * geometry['filt_width'] * geometry['n_chan']
        return geometry
