"""Checks of the converted graph: no stock hls4ml layer left in it computes something other than Keras.

They run after the units are built, once per conversion with ReusePruning on anywhere, and never change
the graph. Each refusal (ReusePruningConfigError) names the layer and what to change:

- a BatchNormalization + binary activation not fused into a unit would become hls4ml's
  BatchNormalizationQuantizedTanh, whose thresholds are inexact (floored, negative and zero scales ignored);
- a thresholded unit outputs bits (0 = -1): only units, max pooling (an OR on bits), reshapes and transposes
  read them as such; any other stock layer would take them as the numbers 0 and 1;
- hls4ml computes softmax, sigmoid, tanh and the like from lookup tables, not as Keras' float32 does.
"""

from hls4ml.model.layers import (
    Activation,
    BatchNormalization,
    Conv1D,
    Conv2D,
    Dense,
    Merge,
    Softmax,
    ZeroPadding1D,
    ZeroPadding2D,
)
from hls4ml.model.layers import ApplyAlpha

from ..config import ReusePruningConfigError, settings_of
from ..ir.layers import ReuseUnitLayer
from .binary_unit import binary_weights, has_binary_quantizer
from .graph import PASS_THROUGH, POOLING, is_binary_activation, keras_class, single_consumer
from .validate import ModelCheck

LOOKUP_TABLE_ACTIVATIONS = ('softmax', 'sigmoid', 'tanh', 'softplus', 'softsign', 'elu', 'selu')
WEIGHTED = (Dense, Conv1D, Conv2D)


def consumers(model, node) -> list:
    return [other for other in model.graph.values() if node.outputs[0] in other.inputs]


def producer(model, node):
    return next((other for other in model.graph.values() if node.inputs[0] in other.outputs), None)


def is_stock_binary_layer(node) -> bool:
    if not isinstance(node, WEIGHTED) or isinstance(node, ReuseUnitLayer):
        return False
    n_out = node.get_attr('n_out') if isinstance(node, Dense) else node.get_attr('n_filt')
    return has_binary_quantizer(node) or binary_weights(node, n_out) is not None


class CheckStockThresholds(ModelCheck):
    """Refuse a BatchNormalization + binary activation that no unit absorbed (hls4ml's thresholds are inexact)."""

    name = 'reuse_pruning_check_stock_thresholds'

    def transform(self, model):
        if not settings_of(model).any_enabled():
            return False
        for bn in list(model.graph.values()):
            if isinstance(bn, BatchNormalization) and not isinstance(bn, ApplyAlpha):
                activation = single_consumer(model, bn)
                if is_binary_activation(activation):
                    raise ReusePruningConfigError(stock_threshold_refusal(producer(model, bn), bn, activation))
        return False


def stock_threshold_refusal(source, bn, activation) -> str:
    stock = (
        f"BatchNormalization {bn.name!r} and the binary activation {activation.name!r} would run as stock hls4ml's "
        'thresholds, which are inexact (floored, negative and zero scales ignored)'
    )
    if source is not None and is_stock_binary_layer(source):
        return (
            f'layer {source.name!r} has binary weights but ReusePruning is not on for it, so its {stock}; set '
            f'ReusePruning: true for {source.name!r} too (or once at Model level)'
        )
    if isinstance(source, WEIGHTED):
        return (
            f'layer {source.name!r} is not binary, so ReusePruning leaves it to stock hls4ml and its {stock}; give '
            f"{source.name!r} a binary kernel_quantizer ('binary') so it becomes a unit with its threshold"
        )
    if isinstance(source, POOLING):
        return (
            f'layer {source.name!r} ({keras_class(source)}) sits before {stock}; put the pooling after the binary '
            f'activation {activation.name!r} (the BatchNormalization then follows the convolution directly)'
        )
    where = f'layer {source.name!r} ({keras_class(source)})' if source is not None else 'the model input'
    return f'{stock}: they follow {where}; put them right after a binary QDense or QConv2D'


class CheckBitConsumers(ModelCheck):
    """Refuse a stock layer that reads a thresholded unit's bits (0 = -1) as numbers."""

    name = 'reuse_pruning_check_bit_consumers'

    def transform(self, model):
        if not settings_of(model).any_enabled():
            return False
        for unit in list(model.graph.values()):
            if isinstance(unit, ReuseUnitLayer) and unit.get_attr('thresholded'):
                check_bit_readers(model, unit)
        return False


def reads_bits_exactly(node) -> bool:
    if isinstance(node, ReuseUnitLayer):
        return True
    if isinstance(node, POOLING):
        return node.get_attr('pool_op') == 'Max'
    return isinstance(node, PASS_THROUGH)


def check_bit_readers(model, unit) -> None:
    """Walk from the unit through the layers that pass bits on; every reader must be exact on bits."""
    frontier = [unit]
    while frontier:
        node = frontier.pop()
        for reader in consumers(model, node):
            if not reads_bits_exactly(reader):
                raise ReusePruningConfigError(bit_reader_refusal(reader, unit))
            if not isinstance(reader, ReuseUnitLayer):
                frontier.append(reader)


def bit_reader_refusal(reader, unit) -> str:
    reads = (
        f'layer {reader.name!r} ({keras_class(reader)}) reads the binary activations of the reuse unit {unit.name!r}, '
        'whose bits (0 = -1) stock hls4ml would take as the numbers 0 and 1'
    )
    if isinstance(reader, WEIGHTED) and is_stock_binary_layer(reader):
        return f'{reads}; set ReusePruning: true for {reader.name!r} too (or once at Model level)'
    if isinstance(reader, WEIGHTED):
        return (
            f'{reads}; ReusePruning converts only binary layers: give {reader.name!r} a binary kernel_quantizer '
            "('binary') so it becomes a unit, or end the binary part of the model before it"
        )
    if isinstance(reader, POOLING):
        return f'{reads}; use {keras_class(reader).replace("Average", "Max")} (an OR on bits, exact)'
    if isinstance(reader, (ZeroPadding1D, ZeroPadding2D)):
        return (
            f'{reads}, so it would pad with -1 where Keras pads 0; padding converts only right before a binary '
            "convolution (it becomes the unit's own); move it there or use padding='same' on the convolution"
        )
    if isinstance(reader, Merge):
        return (
            f"{reads}; an {reader.get_attr('op')!r} merge of binary activations is not converted: merge the branches "
            'before their BatchNormalization and binary activation, or remove the merge'
        )
    return (
        f'{reads}; only reuse units, max pooling, Flatten/Reshape and Permute may follow a binary activation: '
        f'change {reader.name!r} or put it after a layer that is not thresholded'
    )


class CheckLookupTableActivations(ModelCheck):
    """Refuse activations hls4ml approximates with lookup tables (softmax, sigmoid, tanh, ...)."""

    name = 'reuse_pruning_check_lookup_activations'

    def transform(self, model):
        if not settings_of(model).any_enabled():
            return False
        for node in model.graph.values():
            function = node.get_attr('activation') if isinstance(node, Activation) else None
            if isinstance(node, Softmax) or function in LOOKUP_TABLE_ACTIVATIONS:
                function = function or 'softmax'
                raise ReusePruningConfigError(
                    f'layer {node.name!r}: hls4ml computes {function} from lookup tables, which do not reproduce '
                    f"Keras' float32 {function}; remove it for exact outputs (the largest logit stays the largest) "
                    'and apply it in software'
                )
        return False
