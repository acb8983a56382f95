"""Rewrite a binary Dense (+ BatchNorm + binary activation) into one planned ReuseDense unit."""

from hls4ml.model.layers import Dense

from ..ir.layers import ReuseDense
from .binary_unit import ConvertBinaryUnit


class ConvertBinaryDense(ConvertBinaryUnit):
    """Dense -> ReuseDense (see ConvertBinaryUnit)."""

    layer_class = Dense
    unit_class = ReuseDense
    four_d = False

    name = 'reuse_pruning_convert_dense'

    def n_out(self, node):
        return node.get_attr('n_out')
