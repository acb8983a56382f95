"""How hls4ml writes a model's outputs, and their values as Keras gives them.

hls4ml writes a binary activation (-1/+1 in Keras) as one unsigned bit, 1 for +1 and 0 for -1; its own tests
compare under that mapping (``test_qkeras.py::test_btnn``: ``np.where(y_hls == 0, -1, 1)``). Our units write
the same bits unless ``ReusePruningBipolarOutput`` asks for -1/+1, so that turning the flag on changes no
output a user reads. Every other output type holds its values as they are.
"""

from __future__ import annotations

import numpy as np
from hls4ml.backends.fpga.passes.repack_stream import Repack
from hls4ml.model.layers import Pooling2D, Reshape

from ..passes.graph import is_bit_coded


def bit_coded_output(hls_model) -> bool:
    """Whether the model's (single) output holds binary activations as hls4ml's bits.

    Either its type is one unsigned bit, or it is the bits of such a layer carried through reshapes and max
    poolings into a wider word (stock hls4ml's Flatten after a binary activation writes 0/1 in an int<2>).
    """
    variables = hls_model.get_output_variables()
    if len(variables) != 1:
        raise ValueError(f'the model has {len(variables)} outputs; outputs are compared for single-output models only')
    layer = hls_model.graph[hls_model.outputs[0]]
    while _carries_values(layer) and not is_bit_coded(layer.get_output_variable().type.precision):
        layer = layer.get_input_node()
    return is_bit_coded(layer.get_output_variable().type.precision)


def _carries_values(layer) -> bool:
    """A layer whose outputs are some of its inputs' values, unchanged (so bits stay bits)."""
    return isinstance(layer, (Reshape, Repack)) or (isinstance(layer, Pooling2D) and layer.get_attr('pool_op') == 'Max')


def encode_bits(values: np.ndarray) -> np.ndarray:
    """-1/+1 as hls4ml's bits: +1 -> 1, -1 -> 0."""
    return np.where(values == 1, 1, 0).astype(values.dtype)


def decode_bits(bits: np.ndarray) -> np.ndarray:
    """hls4ml's bits as Keras' -1/+1, as hls4ml's tests map them: 0 -> -1, anything else -> +1."""
    return np.where(bits == 0, -1, 1).astype(np.asarray(bits).dtype)


def as_keras_values(hls_model, outputs: np.ndarray) -> np.ndarray:
    """The model's C-simulation outputs as the values Keras' predict() gives (bits decoded, else unchanged)."""
    return decode_bits(outputs) if bit_coded_output(hls_model) else np.asarray(outputs)
