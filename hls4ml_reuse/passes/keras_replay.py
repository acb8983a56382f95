"""What QKeras computes at inference, recovered from the hls4ml IR so the units can replay it exactly.

hls4ml keeps each layer's unquantized weights and the QKeras quantizer configurations; running those
quantizers on the float32 weights gives the very tensors Keras multiplies with: the binary kernel with
its per-channel scale (``alpha`` 1, ``'auto'``, ``'auto_po2'``, or ``None`` which QDense/QConv2D turn into
``'auto_po2'``), the quantized bias, and QBatchNormalization's quantized statistics. The binary activation
is rebuilt from its QKeras configuration too, since ``binary`` and ``binary_tanh`` differ at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..config import ReusePruningConfigError
from ..plan.thresholds import BatchNormParams

UNIT_ALPHAS = (None, 1, 1.0)  # binary activations whose outputs are exactly -1 / +1
SCALE_ROUNDING = 2.0**-20  # QKeras' alpha='auto' weights scatter by float32 ulps around their channel's scale


@dataclass(frozen=True)
class BinaryKernel:
    """A layer's kernels as Keras uses them: per channel, +-scale."""

    kernels: np.ndarray  # bool (n, K), True = +scale
    scale: np.ndarray  # float32 (n,), >= 0
    uniform: bool = True  # every weight of a channel is exactly +-scale (QKeras' x + (q - x) can miss by an ulp)

    def unit_scale(self) -> bool:
        return bool(np.all(self.scale == 1))

    def power_of_two_scale(self) -> bool:
        """Every scale is 0 or 2^e: Keras' products are then exact, as fixed point is."""
        mantissa, _ = np.frexp(self.scale.astype(np.float64))
        return bool(np.all((self.scale == 0) | (mantissa == 0.5)))

    def exact_in_fixed_point(self) -> bool:
        """Keras' products x * w are then exact, and its sums too while they fit float32's mantissa."""
        return self.uniform and self.power_of_two_scale()


def _run_quantizer(quantizer, data: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    return np.asarray(quantizer(tf.constant(np.asarray(data, dtype=np.float32))), dtype=np.float32)


def _qkeras_quantizer(config):
    from qkeras.quantizers import get_quantizer

    return get_quantizer(config)


def keras_weights(node, name: str) -> np.ndarray:
    """The float32 weight `name` ('weight' or 'bias') as Keras applies it: quantized by its QKeras quantizer."""
    variable = node.weights[name]
    raw = np.asarray(getattr(variable, 'data_unquantized', variable.data), dtype=np.float32)
    wrapper = node.get_attr(f'{name}_quantizer')
    config = getattr(wrapper, 'qkeras_config', None)
    if config is None:
        return raw
    # hls4ml's own quantizer_fn may have had its alpha reset to 1 (QKerasFactorizeAlpha): rebuild from the config.
    return _run_quantizer(_qkeras_quantizer(config), raw)


def binary_kernel(node, n_out: int) -> BinaryKernel | None:
    """The kernels (n_out, K) and per-channel scales, or None when some channel's weights differ in magnitude.

    Dense weights are (n_in, n_out) and Conv2D weights (fh, fw, C, F): K runs over all axes but the last,
    in (h, w, c) order for convolutions -- the order of the unit's windows.
    """
    weights = keras_weights(node, 'weight').reshape(-1, n_out)
    magnitude = np.abs(weights)
    scale = magnitude.max(axis=0)
    if not np.all(magnitude >= scale * (1 - SCALE_ROUNDING)):
        return None
    return BinaryKernel(kernels=(weights > 0).T, scale=scale.astype(np.float32), uniform=bool(np.all(magnitude == scale)))


def keras_bias(node, n_out: int) -> np.ndarray:
    """The float32 bias Keras adds (zeros without one), quantized by its bias quantizer."""
    if 'bias' not in node.weights:
        return np.zeros(n_out, dtype=np.float32)
    return np.broadcast_to(keras_weights(node, 'bias').reshape(-1), (n_out,)).astype(np.float32)


def is_quantized_batchnorm(bn) -> bool:
    return bn.get_attr('class_name') == 'QBatchNormalization'


def batchnorm_params(bn) -> BatchNormParams:
    """The statistics Keras normalizes with; QBatchNormalization's pass through its quantizers first."""
    n = np.asarray(bn.get_attr('mean_data')).size  # channels (a convolution's BatchNorm has n_in = H*W*C)
    quantized = is_quantized_batchnorm(bn)

    def param(data_attr, quantizer_attr, used=True):
        data = np.broadcast_to(np.asarray(bn.get_attr(data_attr), dtype=np.float32), (n,))
        wrapper = bn.get_attr(quantizer_attr) if quantized and used else None
        return data if wrapper is None else _run_quantizer(wrapper.quantizer_fn, data)

    return BatchNormParams(
        gamma=param('gamma_data', 'gamma_quantizer', bn.get_attr('use_gamma', True)),
        beta=param('beta_data', 'beta_quantizer', bn.get_attr('use_beta', True)),
        mean=param('mean_data', 'mean_quantizer'),
        variance=param('variance_data', 'variance_quantizer'),
        epsilon=float(bn.get_attr('epsilon')),
    )


def fused_batchnorm(bn, four_d: bool) -> bool:
    """Keras' BatchNormalization uses the fused kernel on 4-D outputs; QBatchNormalization never does."""
    return four_d and not is_quantized_batchnorm(bn)


def binary_activation(node) -> Callable[[np.ndarray], np.ndarray]:
    """The QKeras activation of a binary Activation node, as a function of float32 arrays.

    Refuses activations whose outputs are not exactly -1 / +1 (alpha other than 1, use_01).
    """
    config = node.get_attr('activation_quantizer')
    if not isinstance(config, dict):
        raise ReusePruningConfigError(
            f'layer {node.name!r}: a binary activation without its QKeras configuration cannot be replayed; '
            "use QActivation('binary') or QActivation('binary_tanh')"
        )
    settings = config.get('config', {})
    if 'use_01' in settings:  # the binary class (hls4ml renames it binary_tanh)
        from qkeras.quantizers import binary

        if settings.get('alpha') not in UNIT_ALPHAS or settings.get('use_01'):
            raise ReusePruningConfigError(
                f'layer {node.name!r}: binary activation {settings} does not output -1/+1; use '
                "QActivation('binary') (alpha=1, use_01=False)"
            )
        quantizer = binary(**settings)
    else:
        from qkeras.quantizers import binary_tanh as quantizer
    return lambda z: _run_quantizer(quantizer, z)


class ReusePruningWarning(UserWarning):
    """A converted layer agrees with Keras only where Keras' own float32 arithmetic is exact."""
