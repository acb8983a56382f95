"""The rewrite shared by binary Dense and Conv2D: fuse the layer with its BatchNorm + binary activation,
plan its kernels and replace it with one reuse unit (ReuseDense / ReuseConv2D)."""

from __future__ import annotations

import math

import numpy as np
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, XnorPrecisionType

from ..config import ReusePruningConfigError, settings_for
from ..costs import CostModel
from ..planner import plan_reuse
from ..reference import DenseUnit
from ..thresholds import BatchNormParams, derive_thresholds

BINARY_ACTIVATIONS = ('binary', 'binary_tanh')


def signed_width(bound: int) -> int:
    """Bits of a signed integer that holds every value in [-bound, bound]."""
    return max(2, math.ceil(math.log2(bound + 1)) + 1)


def input_format(layer) -> tuple[bool, int, int, int]:
    """(binary, frac_bits, bound, width) of the layer's input; raises for types it cannot bound."""
    precision = layer.get_input_variable().type.precision
    if isinstance(precision, XnorPrecisionType) or (
        isinstance(precision, IntegerPrecisionType) and precision.width == 1 and not precision.signed
    ):
        return True, 0, 1, 1
    if isinstance(precision, FixedPrecisionType):
        frac_bits = precision.width - precision.integer
    elif isinstance(precision, IntegerPrecisionType):
        frac_bits = 0
    else:
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: its input type {precision} has no fixed width; set Precision of the input '
            f"layer (e.g. 'ufixed<8,0>' for pixels k/256) so the sums can be sized exactly"
        )
    if frac_bits < 0 or frac_bits > 24:
        raise ReusePruningConfigError(
            f'layer {layer.name!r}: input type {precision} has {frac_bits} fractional bits; ' 'ReusePruning supports 0 to 24'
        )
    width = precision.width
    bound = (1 << (width - 1)) if precision.signed else (1 << width) - 1
    return False, frac_bits, bound, width


def binary_kernels(layer, n_out: int) -> np.ndarray | None:
    """Kernels (n_out, K) as booleans (True = +1), or None when the weights are not binary.

    hls4ml stores QKeras binary weights as bits (XnorPrecisionType, 1 = +1); plain +-1 arrays count too.
    Dense weights are (n_in, n_out) and Conv2D weights (fh, fw, C, F): K runs over all axes but the
    last, in (h, w, c) order for convolutions -- the order of the unit's windows.
    """
    weight = layer.weights['weight']
    data = np.asarray(weight.data, dtype=np.float64)
    if isinstance(weight.type.precision, XnorPrecisionType) and np.all((data == 0) | (data == 1)):
        positive = data == 1
    elif np.all(np.abs(data) == 1):
        positive = data > 0
    else:
        return None
    return positive.reshape(-1, n_out).T


def single_consumer(model, layer):
    users = [node for node in model.graph.values() if layer.outputs[0] in node.inputs]
    return users[0] if len(users) == 1 else None


def batchnorm_params(bn) -> BatchNormParams:
    n = np.asarray(bn.get_attr('mean_data')).size  # channels (a convolution's BatchNorm has n_in = H*W*C)
    return BatchNormParams(
        gamma=np.broadcast_to(np.asarray(bn.get_attr('gamma_data'), dtype=np.float32), (n,)),
        beta=np.broadcast_to(np.asarray(bn.get_attr('beta_data'), dtype=np.float32), (n,)),
        mean=np.asarray(bn.get_attr('mean_data'), dtype=np.float32),
        variance=np.asarray(bn.get_attr('variance_data'), dtype=np.float32),
        epsilon=float(bn.get_attr('epsilon')),
    )


def is_binary_activation(node) -> bool:
    return node is not None and node.class_name == 'Activation' and node.get_attr('activation') in BINARY_ACTIVATIONS


def is_unit_alpha(node) -> bool:
    return (
        node is not None
        and node.class_name == 'ApplyAlpha'
        and np.all(np.asarray(node.weights['scale'].data) == 1)
        and np.all(np.asarray(node.weights['bias'].data) == 0)
    )


PASS_THROUGH = ('Pooling2D', 'Pooling1D', 'Reshape')  # layers that carry the unit's output type unchanged


def reaches_model_output(model, node) -> bool:
    """Whether node's output is a model output, directly or through max poolings and reshapes only."""
    while node.outputs[0] not in model.outputs:
        node = single_consumer(model, node)
        if node is None or node.class_name not in PASS_THROUGH:
            return False
    return True


def carry_output_type(model, node, precision):
    """Carry the unit's output type through the max poolings and reshapes that follow it.

    hls4ml inferred their types from the layer being replaced; a binary output is bits (0 = -1), so
    max pooling is an OR and stays exact on them, while average pooling would not be.
    """
    consumer = single_consumer(model, node)
    while consumer is not None and consumer.class_name in PASS_THROUGH:
        if consumer.class_name.startswith('Pooling') and consumer.get_attr('pool_op') != 'Max':
            raise ReusePruningConfigError(
                f'layer {consumer.name!r}: average pooling after the reuse unit {node.name!r} is not exact on its '
                f'binary output; use MaxPooling2D, or set ReusePruning: false for {node.name!r}'
            )
        consumer.get_output_variable().type.precision = precision
        consumer = single_consumer(model, consumer)


class ConvertBinaryUnit(OptimizerPass):
    """Fuse a binary layer [+ ApplyAlpha(1)] [+ BatchNormalization] [+ binary Activation] into one reuse unit.

    Matches layers of ``class_name`` whose ReusePruning flag is on. Refuses with an error naming the
    layer when the flag is set on the layer itself but its weights are not +-1, when a
    BatchNormalization is not followed by a binary activation, when a non-thresholded output has a
    non-zero bias, or when a weight scale (alpha) is not 1. With the flag on at Model level only, a
    non-binary layer stays stock hls4ml and is marked ``reuse_pruning_skipped`` for the report.
    Subclasses name the layer class, the unit class, the geometry and how Keras normalizes.
    """

    class_name: str
    unit_class: type
    fused_batchnorm: bool  # Keras normalizes 4-D (convolution) outputs with the fused op

    def match(self, node):
        if node.class_name != self.class_name or node.get_attr('reuse_pruning_skipped') is not None:
            return False
        return self._settings(node).enabled

    @staticmethod
    def _settings(node):
        return settings_for(node.model.config.config.get('HLSConfig', {}), node.name, node.class_name)

    def n_out(self, node) -> int:
        raise NotImplementedError

    def geometry(self, node) -> dict:
        """Attributes of the unit beyond n_in / n_out (a convolution's shape)."""
        return {}

    def check_layer(self, node) -> None:
        """Raise for options the unit does not implement."""

    def absorb_after(self, model, last, settings, thresholded) -> tuple[list, dict]:
        """Layers after the fused chain (ending at `last`) that the unit takes over too, and their attributes."""
        return [], {}

    def transform(self, model, node):
        settings = self._settings(node)
        self.check_layer(node)
        kernels = binary_kernels(node, self.n_out(node))
        if kernels is None:
            if settings.forced:
                raise ReusePruningConfigError(
                    f'layer {node.name!r}: ReusePruning is set on it but its weights are not all +-1; use '
                    f'kernel_quantizer=binary(alpha=1) or set ReusePruning: false for it'
                )
            node.set_attr('reuse_pruning_skipped', 'weights are not binary')
            return False

        chain = self._consumed_chain(model, node)
        bn = next((c for c in chain if c.class_name == 'BatchNormalization'), None)
        thresholded = any(is_binary_activation(c) for c in chain)
        tail, tail_attrs = self.absorb_after(model, chain[-1] if chain else node, settings, thresholded)
        binary, frac_bits, bound, width = input_format(node)
        k, n = kernels.shape[1], kernels.shape[0]
        y_bound = k * bound
        bias = np.asarray(node.weights['bias'].data, dtype=np.float64).reshape(-1)
        thresholds = None
        if thresholded:
            params = batchnorm_params(bn) if bn is not None else None
            thresholds = derive_thresholds(n, y_bound, frac_bits, bias, params, fused=self.fused_batchnorm)
        elif np.any(bias != 0):
            raise ReusePruningConfigError(
                f'layer {node.name!r}: its output is not binarized, so a bias would be added in float32; '
                'use use_bias=False (or follow it with BatchNormalization + binary activation)'
            )

        accum_width = signed_width(3 * y_bound)
        cost = CostModel(input_bits=width, accum_bits=accum_width)
        unit = DenseUnit(
            kernels=kernels,
            plan=plan_reuse(kernels, cost),
            input_bound=bound,
            tile=settings.tile,
            thresholds=thresholds,
            early_exit=settings.early_exit,
        )
        is_output = reaches_model_output(model, (chain + tail)[-1] if chain + tail else node)
        for consumed in chain:
            model.remove_node(consumed)
        result_precision = self._result_precision(thresholded, is_output, y_bound, frac_bits)
        attrs = {
            'n_in': k,
            'n_out': n,
            'tile': settings.tile,
            'binary_input': binary,
            'input_frac_bits': frac_bits,
            'input_bound': bound,
            'raw_width': width + 1,
            'thresholded': thresholded,
            'bipolar_output': thresholded and is_output,
            'early_exit': settings.early_exit,
            'accum_width': accum_width,
            'threshold_width': signed_width(y_bound + 1),
            'unit': unit,
            'cost': cost,
            'result_precision': result_precision,
            'trace': node.get_attr('trace', False),
            **self.geometry(node),
            **tail_attrs,
        }
        new_node = model.make_node(self.unit_class, node.name, attrs, node.inputs.copy(), node.outputs.copy())
        model.replace_node(node, new_node)
        for absorbed in tail:  # after the replacement: the unit's output already has the absorbed layer's shape
            model.remove_node(absorbed)
        carry_output_type(model, new_node, result_precision)
        return True

    @staticmethod
    def _result_precision(thresholded, is_output, y_bound, frac_bits):
        if thresholded:
            return IntegerPrecisionType(2, signed=True) if is_output else IntegerPrecisionType(1, signed=False)
        width = signed_width(y_bound)
        if frac_bits == 0:
            return IntegerPrecisionType(width, signed=True)
        return FixedPrecisionType(width, width - frac_bits, signed=True)

    @staticmethod
    def _consumed_chain(model, node):
        """The nodes after `node` that the unit absorbs: [ApplyAlpha(1)] [BatchNormalization] [binary Activation]."""
        chain = []
        nxt = single_consumer(model, node)
        if nxt is not None and nxt.class_name == 'ApplyAlpha':
            if not is_unit_alpha(nxt):
                raise ReusePruningConfigError(
                    f'layer {node.name!r}: its weight quantizer scales the kernel (alpha != 1); use binary(alpha=1)'
                )
            chain.append(nxt)
            nxt = single_consumer(model, nxt)
        if nxt is not None and nxt.class_name == 'BatchNormalization':
            after = single_consumer(model, nxt)
            if not is_binary_activation(after):
                raise ReusePruningConfigError(
                    f'layer {node.name!r}: BatchNormalization {nxt.name!r} is not followed by a binary activation, '
                    'so it cannot be folded into an exact threshold; add QActivation("binary") after it or set '
                    f'ReusePruning: false for {node.name!r}'
                )
            chain += [nxt, after]
        elif is_binary_activation(nxt):
            chain.append(nxt)
        return chain
