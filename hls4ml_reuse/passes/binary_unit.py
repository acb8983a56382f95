"""The rewrite shared by binary Dense and Conv2D: fuse the layer with its scale, BatchNorm and binary
activation, plan its kernels and replace it with one reuse unit (ReuseDense / ReuseConv2D)."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from hls4ml.model.layers import ApplyAlpha, BatchNormalization
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType

from ..config import BANKED, ReusePruningConfigError, settings_of
from ..plan.cost import OperationCost
from ..plan.reuse_factor import fit_reuse_factor
from ..plan.spanning_tree import plan_reuse
from ..plan.steiner import steiner_plan
from ..plan.thresholds import KerasOutput, derive_thresholds
from ..ir.layers import unit_attributes
from ..plan.unit import (
    ConvGeometry,
    Folding,
    InputFormat,
    OutputEncoding,
    Pooling,
    UnitSpec,
    accumulator_width,
)
from .keras_replay import (
    BinaryKernel,
    ReusePruningWarning,
    batchnorm_params,
    binary_activation,
    binary_kernel,
    fused_batchnorm,
    keras_bias,
)
from .graph import (
    carry_output_type,
    is_binary_activation,
    is_bit_coded,
    is_linear_activation,
    reaches_model_output,
    single_consumer,
)
from .output_affine import OutputAffine, affine_types, insert_output_affine
from .precision import fused_layers

FLOAT32_EXACT = 1 << 24  # integers of larger magnitude are rounded by Keras' float32 sums


def input_format(layer) -> InputFormat:
    """The layer's input type as raw integers; raises for types it cannot bound."""
    precision = layer.get_input_variable().type.precision
    if is_bit_coded(precision):
        return InputFormat.bits()
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
            f'layer {layer.name!r}: input type {precision} has {frac_bits} fractional bits; ReusePruning supports 0 to '
            "24; set the input layer's Precision to the exact type of your data"
        )
    return InputFormat(False, frac_bits, precision.width, bool(precision.signed))


def has_binary_quantizer(node) -> bool:
    quantizer = node.get_attr('weight_quantizer')
    config = getattr(quantizer, 'qkeras_config', None)
    return isinstance(config, dict) and 'binary' in str(config.get('class_name', ''))


def binary_weights(node, n_out: int) -> BinaryKernel | None:
    """A QKeras binary kernel (any alpha) or plain +-1 weights, as Keras multiplies with them; else None."""
    kernel = binary_kernel(node, n_out)
    if kernel is None or not (has_binary_quantizer(node) or kernel.unit_scale()):
        return None
    return kernel


@dataclass(frozen=True)
class Chain:
    """The nodes after a binary layer that its unit absorbs, in graph order: [ApplyAlpha] [BatchNormalization]
    [binary Activation], with any linear Activation between them."""

    nodes: list
    batchnorm: object = None
    activation: object = None

    @property
    def thresholded(self) -> bool:
        return self.activation is not None


def next_consumer(model, node, nodes: list):
    """The single consumer of `node`, past the linear activations in between (appended to `nodes`).

    hls4ml keeps a Dense's or Conv2D's ``linear`` activation when the layer's result type is set (it is then a
    cast); the unit computes exactly what Keras does, so it takes the activation over (passes/precision.py
    checks the types given to both).
    """
    nxt = single_consumer(model, node)
    while is_linear_activation(nxt):
        nodes.append(nxt)
        nxt = single_consumer(model, nxt)
    return nxt


def consumed_chain(model, node) -> Chain:
    nodes, bn, activation = [], None, None
    nxt = next_consumer(model, node, nodes)
    if isinstance(nxt, ApplyAlpha):  # hls4ml's factored weight scale: replayed by us
        nodes.append(nxt)
        nxt = next_consumer(model, nxt, nodes)
    if isinstance(nxt, BatchNormalization) and not isinstance(nxt, ApplyAlpha):
        bn = nxt
        nodes.append(bn)
        activation = next_consumer(model, bn, nodes)
        if not is_binary_activation(activation):
            raise ReusePruningConfigError(
                f'layer {node.name!r}: BatchNormalization {bn.name!r} is not followed by a binary activation, '
                'so it cannot be folded into an exact threshold; add QActivation("binary") after it or set '
                f'ReusePruning: false for {node.name!r}'
            )
        nodes.append(activation)
    elif is_binary_activation(nxt):
        activation = nxt
        nodes.append(activation)
    return Chain(nodes, bn, activation)


def warn_caveat(node, message: str) -> None:
    """Record a limit of Keras' own arithmetic on the layer (for the reports) and warn once."""
    node.set_attr('reuse_pruning_caveats', node.get_attr('reuse_pruning_caveats', []) + [message])
    warnings.warn(f'layer {node.name!r}: {message}', ReusePruningWarning, stacklevel=2)


class ConvertBinaryUnit(OptimizerPass):
    """Fuse a binary layer [+ ApplyAlpha] [+ BatchNormalization] [+ binary Activation] into one reuse unit
    (with any linear Activation hls4ml left between them), recording what it took in ``reuse_pruning_fused``.

    Matches layers of ``layer_class`` whose ReusePruning flag is on. The weight scale (any QKeras alpha),
    the quantized bias and the (Q)BatchNormalization are folded into exact thresholds when the output is
    binarized; otherwise a power-of-two scale and the bias follow the unit as an exact ApplyAlpha.
    Refuses with an error naming the layer when the flag is set on the layer itself but its weights are not
    binary, when a BatchNormalization is not followed by a binary activation, or when a non-binarized output
    has a scale that is not a power of two or a bias off any fixed-point grid. With the flag on at Model
    level only, a non-binary layer stays stock hls4ml and is marked ``reuse_pruning_skipped`` for the report.
    Subclasses name the layer class, the unit class and the geometry.
    """

    layer_class: type  # the hls4ml layer it rewrites
    excluded: tuple = ()  # subclasses of layer_class it does not (validate.py refuses them)
    unit_class: type
    four_d: bool  # the layer's output is 4-D (Keras then normalizes with its fused kernel)

    def match(self, node):
        if (
            not isinstance(node, self.layer_class)
            or isinstance(node, self.excluded)
            or node.get_attr('reuse_pruning_skipped') is not None
        ):
            return False
        return self._settings(node).enabled

    @staticmethod
    def _settings(node):
        return settings_of(node.model).for_layer(node.name, node.class_name)

    def n_out(self, node) -> int:
        raise NotImplementedError

    def geometry(self, node) -> ConvGeometry | None:
        """A convolution's geometry; None for a dense unit."""
        return None

    def check_layer(self, node) -> None:
        """Raise for options the unit does not implement."""

    def absorb_after(self, model, last, settings, thresholded, reuses_windows) -> tuple[list, Pooling | None]:
        """Layers after the fused chain (ending at `last`) that the unit takes over too, and the pooling they make."""
        return [], None

    def reuses_windows(self, node, settings, fmt: InputFormat) -> bool:
        """Whether the unit computes a window from its neighbour's values (convolutions only)."""
        return False

    def transform(self, model, node):
        settings = self._settings(node)
        self.check_layer(node)
        weights = self._weights(node, settings)
        if weights is None:
            return False
        chain = consumed_chain(model, node)
        fmt = input_format(node)
        reuses_windows = self.reuses_windows(node, settings, fmt)
        last = chain.nodes[-1] if chain.nodes else node
        tail, pooling = self.absorb_after(model, last, settings, chain.thresholded, reuses_windows)
        y_bound = weights.kernels.shape[1] * fmt.bound
        self._check_float32_range(node, weights, y_bound)
        bias = keras_bias(node, self.n_out(node))
        if chain.thresholded:
            self._check_rounded_tie(node, weights, chain, bias, fmt)
        affine = None if chain.thresholded else self._output_affine(node, weights, bias)
        is_output = reaches_model_output(model, (chain.nodes + tail)[-1] if chain.nodes + tail else node)
        bipolar = chain.thresholded and is_output and settings.bipolar_output
        unit = self._plan(node, weights, chain, bias, fmt, settings, reuses_windows, bipolar, pooling)
        unit = honour_reuse_factor(node, unit, settings)
        for consumed in chain.nodes:
            model.remove_node(consumed)
        attrs = {
            **unit_attributes(unit),
            'result_precision': result_precision(unit),
            'reuse_pruning_caveats': node.get_attr('reuse_pruning_caveats', []),
            'trace': node.get_attr('trace', False),
            'reuse_pruning_fused': fused_layers(node, chain.nodes + tail),  # their types: passes/precision.py
        }
        new_node = model.make_node(self.unit_class, node.name, attrs, node.inputs.copy(), node.outputs.copy())
        model.replace_node(node, new_node)
        for absorbed in tail:  # after the replacement: the unit's output already has the absorbed layer's shape
            model.remove_node(absorbed)
        last = new_node
        if affine is not None and not affine.trivial():
            last = insert_output_affine(model, new_node, affine, affine_types(affine, y_bound, fmt.frac_bits, node.name))
        carry_output_type(model, last, last.get_output_variable().type.precision)
        return True

    def _weights(self, node, settings) -> BinaryKernel | None:
        weights = binary_weights(node, self.n_out(node))
        if weights is None and has_binary_quantizer(node):
            raise ReusePruningConfigError(
                f'layer {node.name!r}: its binary weight quantizer gives weights whose magnitudes differ within a '
                'channel (very large unquantized weights?); clip the kernel (e.g. a constraint) or set '
                f'ReusePruning: false for it'
            )
        if weights is None and settings.forced:
            raise ReusePruningConfigError(
                f'layer {node.name!r}: ReusePruning is set on it but its weights are not binary; use '
                f"kernel_quantizer='binary' (or binary(alpha=...)) or set ReusePruning: false for it"
            )
        if weights is None:
            node.set_attr('reuse_pruning_skipped', 'weights are not binary')
        return weights

    @staticmethod
    def _check_float32_range(node, weights: BinaryKernel, y_bound: int) -> None:
        if y_bound >= FLOAT32_EXACT:
            warn_caveat(
                node,
                f'its sums reach +-{y_bound} input steps, beyond the integers float32 holds exactly (2^24): the '
                "firmware sums exactly, so it agrees with Keras wherever Keras' own float32 sum is exact; narrow "
                "the input layer's Precision to your data's exact type to remove this",
            )
        if not weights.exact_in_fixed_point():
            warn_caveat(
                node,
                "its weight scale (alpha='auto') is not a power of two, so Keras rounds its weights and every "
                'product; the thresholds follow the exactly scaled sum and agree with Keras wherever its rounding '
                "does not cross them; use alpha='auto_po2' or alpha=1 for guaranteed agreement",
            )

    @staticmethod
    def _check_rounded_tie(node, weights: BinaryKernel, chain: Chain, bias: np.ndarray, fmt: InputFormat) -> None:
        """Refuse a threshold that sits exactly on a sum Keras can only round: alpha='auto', no bias, no BatchNorm.

        The activation then decides the sign of alpha * s at s = 0; Keras sums the non-power-of-two products
        +-alpha * x in float32, so a sum that is exactly 0 comes out as a rounding residue of either sign,
        depending on TensorFlow's summation order: no firmware can reproduce it. s = 0 is reachable unless the
        inputs are bits and K is odd.
        """
        tie_reachable = not fmt.binary or weights.kernels.shape[1] % 2 == 0
        if weights.exact_in_fixed_point() or chain.batchnorm is not None or np.any(bias != 0) or not tie_reachable:
            return
        raise ReusePruningConfigError(
            f"layer {node.name!r}: its weight scale (alpha='auto') is not a power of two and the binary activation "
            f'{chain.activation.name!r} follows it directly, so where its sum is exactly 0 Keras outputs the sign of '
            "a float32 rounding residue, which depends on TensorFlow's summation order and no firmware can "
            "reproduce; use alpha='auto_po2' or alpha=1 (the same signs everywhere else), or add a bias or "
            'BatchNormalization'
        )

    def _output_affine(self, node, weights: BinaryKernel, bias: np.ndarray) -> OutputAffine:
        if not weights.exact_in_fixed_point():
            raise ReusePruningConfigError(
                f"layer {node.name!r}: its output is not binarized and its weight scale (alpha='auto') is not a power "
                "of two, so Keras' float32 products cannot be reproduced in fixed point; use alpha='auto_po2' or "
                'alpha=1, or follow it with BatchNormalization + a binary activation'
            )
        return OutputAffine(scale=weights.scale, bias=bias)

    def _plan(
        self, node, weights: BinaryKernel, chain: Chain, bias, fmt: InputFormat, settings, reuses_windows, bipolar, pooling
    ) -> UnitSpec:
        n, k = weights.kernels.shape
        thresholds = None
        if chain.thresholded:
            keras = KerasOutput(
                frac_bits=fmt.frac_bits,
                scale=None if weights.unit_scale() else weights.scale,
                bias=bias if np.any(bias != 0) else None,
                bn=batchnorm_params(chain.batchnorm) if chain.batchnorm is not None else None,
                fused=chain.batchnorm is not None and fused_batchnorm(chain.batchnorm, self.four_d),
                activation=binary_activation(chain.activation),
            )
            thresholds = derive_thresholds(n, k * fmt.bound, keras=keras)
        cost = OperationCost(input_bits=fmt.width, accum_bits=accumulator_width(k, fmt))
        kernels, plan = steiner_plan(weights.kernels, cost) if settings.steiner else (weights.kernels, None)
        return UnitSpec(
            kernels=kernels,
            plan=plan if plan is not None else plan_reuse(weights.kernels, cost),
            input_format=fmt,
            folding=Folding(settings.shape, settings.tile, banked=settings.lanes == BANKED),
            thresholds=thresholds,
            early_exit=settings.early_exit,
            cost=cost,
            n_outputs=n,
            zero_skip=settings.zero_skip and not fmt.binary,  # binary inputs are never zero
            window_reuse=reuses_windows,
            bipolar_output=bipolar,
            geometry=self.geometry(node),
            pooling=pooling,
        )


def reuse_factor_of(node) -> int:
    """hls4ml's ReuseFactor for the layer (LayerName, LayerType, then Model), checked: a positive integer (hls4ml
    itself refuses values that are not integers)."""
    value = node.model.config.get_reuse_factor(node)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ReusePruningConfigError(f'layer {node.name!r}: ReuseFactor must be a positive integer, got {value!r}')
    return int(value)


def honour_reuse_factor(node, unit: UnitSpec, settings) -> UnitSpec:
    """The unit with lanes that keep stock's rate at the layer's ReuseFactor (plan/reuse_factor.py); a warning
    names the layer where it cannot."""
    fit = fit_reuse_factor(unit, reuse_factor_of(node), settings.tile_set)
    if not fit.met:
        vector = 'a window' if unit.geometry is not None else 'an input vector'
        lanes = 'set' if settings.tile_set else 'the most lanes'
        warnings.warn(
            f'layer {node.name!r}: ReuseFactor {fit.reuse_factor} asks for {vector} every {fit.reuse_factor} '
            f'clocks, as stock hls4ml takes; its folded unit takes up to {fit.clocks} with ReusePruningTile '
            f'{fit.unit.tile} ({lanes}); set ReusePruningShape: unrolled for one every clock, or ReuseFactor '
            f'{fit.clocks} or more to ask only what it meets',
            ReusePruningWarning,
            stacklevel=2,
        )
    return fit.unit


def result_precision(unit: UnitSpec):
    """A thresholded unit writes hls4ml's bits (uint<1>, 1 = +1, 0 = -1), or -1/+1 as int<2> when bipolar; else its
    raw sums, as fixed point on the input's grid."""
    encoding = unit.output_encoding
    if encoding is OutputEncoding.BITS:
        return IntegerPrecisionType(1, signed=False)
    if encoding is OutputEncoding.BIPOLAR:
        return IntegerPrecisionType(2, signed=True)
    width, frac_bits = unit.sum_width, unit.input_format.frac_bits
    if frac_bits == 0:
        return IntegerPrecisionType(width, signed=True)
    return FixedPrecisionType(width, width - frac_bits, signed=True)
