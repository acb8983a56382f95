"""Graph helpers of the conversion passes: consumers, the layers a unit absorbs, types carried downstream."""

from __future__ import annotations

from hls4ml.model.layers import Activation, GlobalPooling1D, GlobalPooling2D, Pooling1D, Pooling2D, Reshape, Transpose
from hls4ml.model.types import IntegerPrecisionType, XnorPrecisionType

from ..config import ReusePruningConfigError
from ..ir.layers import ReuseMaxPool2D

POOLING = (Pooling1D, Pooling2D, GlobalPooling1D, GlobalPooling2D)
PASS_THROUGH = (*POOLING, ReuseMaxPool2D, Reshape, Transpose)  # layers that carry the unit's output type unchanged
BINARY_ACTIVATIONS = ('binary', 'binary_tanh')


def single_consumer(model, layer):
    users = [node for node in model.graph.values() if layer.outputs[0] in node.inputs]
    return users[0] if len(users) == 1 else None


def is_bit_coded(precision) -> bool:
    """A one-bit unsigned type: how hls4ml stores a binary activation (1 = +1, 0 = -1)."""
    return isinstance(precision, XnorPrecisionType) or (
        isinstance(precision, IntegerPrecisionType) and precision.width == 1 and not precision.signed
    )


def is_binary_activation(node) -> bool:
    return isinstance(node, Activation) and node.get_attr('activation') in BINARY_ACTIVATIONS


def is_linear_activation(node) -> bool:
    return isinstance(node, Activation) and node.get_attr('activation') == 'linear'


def reaches_model_output(model, node) -> bool:
    """Whether node's output is a model output, directly or through max poolings and reshapes only."""
    while node.outputs[0] not in model.outputs:
        node = single_consumer(model, node)
        if not isinstance(node, PASS_THROUGH):
            return False
    return True


def keras_class(node) -> str:
    """The class the user wrote (Add, GlobalAveragePooling2D), not hls4ml's (Merge, GlobalPooling2D)."""
    name, op = node.get_attr('class_name') or node.class_name, node.get_attr('op')
    return op.capitalize() if name == 'Merge' and isinstance(op, str) else name


def carry_output_type(model, node, precision):
    """Carry `node`'s output type through the max poolings (global ones too), reshapes and transposes after it.

    hls4ml inferred their types from the layer being replaced; a binary output is bits (0 = -1), so
    max pooling is an OR and stays exact on them, while average pooling would not be.
    """
    consumer = single_consumer(model, node)
    while isinstance(consumer, PASS_THROUGH):
        if isinstance(consumer, POOLING) and consumer.get_attr('pool_op') != 'Max':
            raise ReusePruningConfigError(
                f'layer {consumer.name!r}: average pooling after the reuse unit {node.name!r} is not exact on its '
                f'output; use {keras_class(consumer).replace("Average", "Max")} (an OR on bits, exact)'
            )
        consumer.get_output_variable().type.precision = precision
        consumer = single_consumer(model, consumer)
