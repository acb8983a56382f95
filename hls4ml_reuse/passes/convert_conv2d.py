"""Rewrite a binary Conv2D (+ BatchNorm + binary activation) into one planned ReuseConv2D unit."""

from hls4ml.model.layers import Conv2D, DepthwiseConv2D, Pooling2D

from ..config import ReusePruningConfigError
from ..ir.layers import CONV2D_GEOMETRY, ReuseConv2D
from ..plan.unit import ConvGeometry, Pooling
from .binary_unit import ConvertBinaryUnit
from .graph import single_consumer


class ConvertBinaryConv2D(ConvertBinaryUnit):
    """Conv2D -> ReuseConv2D (see ConvertBinaryUnit).

    The unit pads by itself (padded positions are 0, as in Keras), so hls4ml's ZeroPadding2D -- which
    would pad binary data with -1 -- is never inserted.
    With ReusePruningPoolExit (default), a thresholded unit absorbs the MaxPooling2D after it when the
    pooling is unpadded with stride equal to its size (Keras' default).
    """

    layer_class = Conv2D
    excluded = (DepthwiseConv2D,)
    unit_class = ReuseConv2D
    four_d = True

    name = 'reuse_pruning_convert_conv2d'

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

    def geometry(self, node) -> ConvGeometry:
        return ConvGeometry(**{name: int(node.get_attr(name)) for name in CONV2D_GEOMETRY})

    def reuses_windows(self, node, settings, fmt) -> bool:
        """Window reuse: binary inputs (a change is then +-2, or +-1 at padding) and more than one window per row."""
        return settings.window_reuse and fmt.binary and int(node.get_attr('out_width')) > 1

    def absorb_after(self, model, last, settings, thresholded, reuses_windows):
        pool = single_consumer(model, last)
        if reuses_windows or not (settings.pool_exit and thresholded and absorbable_pooling(pool)):
            return [], None
        sizes = [int(pool.get_attr(key)) for key in ('pool_height', 'pool_width', 'out_height', 'out_width')]
        return [pool], Pooling(*sizes)


def absorbable_pooling(node) -> bool:
    """Max pooling that tiles the map: no padding, stride equal to the pool (what the unit can absorb)."""
    if not isinstance(node, Pooling2D) or node.get_attr('pool_op') != 'Max':
        return False
    unpadded = not any(node.get_attr(side) for side in ('pad_top', 'pad_bottom', 'pad_left', 'pad_right'))
    tiling = (node.get_attr('stride_height'), node.get_attr('stride_width')) == (
        node.get_attr('pool_height'),
        node.get_attr('pool_width'),
    )
    return unpadded and tiling
