"""Rewrite a binary Dense (+ BatchNorm + binary activation) into one planned ReuseDense unit."""

from ..layer import ReuseDense
from .binary_unit import ConvertBinaryUnit


class ConvertBinaryDense(ConvertBinaryUnit):
    """Dense -> ReuseDense (see ConvertBinaryUnit)."""

    class_name = 'Dense'
    unit_class = ReuseDense
    four_d = False

    def __init__(self):
        self.name = 'reuse_pruning_convert_dense'

    def n_out(self, node):
        return node.get_attr('n_out')
