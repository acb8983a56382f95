"""The scale and bias of a unit whose output is not binarized, applied exactly after the unit.

Keras computes ``y * 2^-F * scale + bias`` in float32. With power-of-two scales the product is exact, and
the sum is rounded once; hls4ml's ApplyAlpha computes the same sum exactly in fixed point and the
conversion to float rounds it once the same way. So the node is rebuilt here with fixed-point types wide
enough for every value (hls4ml would infer a po2 type for the scale and a default for the result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hls4ml.model.layers import ApplyAlpha
from hls4ml.model.types import FixedPrecisionType

from ..config import ReusePruningConfigError
from ..ir.layers import ReuseConv2D

MAX_BIAS_FRAC_BITS = 64
EXACT_TO_DOUBLE = 53  # hls4ml reads outputs through to_double(): wider results would be rounded twice


@dataclass(frozen=True)
class OutputAffine:
    scale: np.ndarray  # float32 (n,): 0 or powers of two
    bias: np.ndarray  # float32 (n,)

    def trivial(self) -> bool:
        return bool(np.all(self.scale == 1) and np.all(self.bias == 0))


def _integer_bits(magnitude: float) -> int:
    """Integer bits (sign included) of a signed fixed-point type holding [-magnitude, magnitude]."""
    return max(1, math.ceil(math.log2(magnitude + 1))) + 1


def _frac_bits(values: np.ndarray, limit: int) -> int | None:
    """Fewest fractional bits that hold every value exactly, or None beyond `limit`."""
    values = np.asarray(values, dtype=np.float64)
    for bits in range(limit + 1):
        scaled = np.ldexp(values, bits)
        if np.array_equal(scaled, np.round(scaled)):
            return bits
    return None


def affine_types(affine: OutputAffine, y_bound: int, frac_bits: int, layer_name: str) -> dict:
    """Exact precisions of the scale, the bias and the result of `y * 2^-frac_bits * scale + bias`."""
    nonzero = affine.scale[affine.scale != 0]
    exponents = np.frexp(nonzero.astype(np.float64))[1] - 1 if nonzero.size else np.zeros(1, dtype=int)
    scale_int, scale_frac = max(int(exponents.max()) + 1, 1), max(-int(exponents.min()), 0)
    bias_frac = _frac_bits(affine.bias, MAX_BIAS_FRAC_BITS)
    bias_int = _integer_bits(float(np.abs(affine.bias).max()))
    result_frac = max(frac_bits + scale_frac, bias_frac if bias_frac is not None else MAX_BIAS_FRAC_BITS)
    magnitude = math.ldexp(y_bound, -frac_bits) * float(affine.scale.max()) + float(np.abs(affine.bias).max())
    result_int = _integer_bits(magnitude)
    if bias_frac is None or result_int + result_frac > EXACT_TO_DOUBLE:
        raise ReusePruningConfigError(
            f'layer {layer_name!r}: its sum plus bias needs more than {EXACT_TO_DOUBLE} bits of fixed point to be '
            'exact (the bias has too fine a fraction); quantize the bias (bias_quantizer=quantized_bits(...)), '
            'use_bias=False, or follow the layer with BatchNormalization + a binary activation'
        )
    return {
        'scale': FixedPrecisionType(scale_int + scale_frac, scale_int, signed=False),
        'bias': FixedPrecisionType(bias_int + bias_frac, bias_int, signed=True),
        'result': FixedPrecisionType(result_int + result_frac, result_int, signed=True),
    }


def insert_output_affine(model, unit, affine: OutputAffine, types: dict):
    """Insert an ApplyAlpha after `unit` computing ``out * scale + bias`` in the exact `types`."""
    n_filt = unit.get_attr('n_out') if isinstance(unit, ReuseConv2D) else -1
    attrs = {
        'n_in': unit.get_output_variable().size(),
        'n_filt': n_filt,
        'reuse_factor': 1,
        'scale_data': affine.scale.astype(np.float64),
        'scale_quantizer': None,
        'scale_precision': types['scale'],
        'bias_data': affine.bias.astype(np.float64),
        'bias_quantizer': None,
        'bias_precision': types['bias'],
        'trace': unit.get_attr('trace', False),
    }
    node = model.make_node(ApplyAlpha, unit.name + '_affine', attrs, unit.outputs.copy())
    model.insert_node(node)
    node.get_output_variable().type.precision = types['result']
    if node.outputs[0] in model.outputs:  # hls4ml named the unit's type result_t when it was the model output
        unit.get_output_variable().type.name = f'layer{unit.index}_t'
        node.get_output_variable().type.name = 'result_t'
    return node
