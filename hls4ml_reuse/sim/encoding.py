"""How hls4ml writes a model's outputs, and their values as Keras gives them.

hls4ml writes a binary activation (-1/+1 in Keras) as one unsigned bit, 1 for +1 and 0 for -1; its own tests
compare under that mapping (``test_qkeras.py::test_btnn``: ``np.where(y_hls == 0, -1, 1)``). Our units write
the same bits unless ``ReusePruningBipolarOutput`` asks for -1/+1, so that turning the flag on changes no
output a user reads. Every other output type holds its values as they are.
"""

from __future__ import annotations

import numpy as np

from ..passes.graph import is_bit_coded


def bit_coded_output(hls_model) -> bool:
    """Whether the model's (single) output holds binary activations as hls4ml's bits."""
    variables = hls_model.get_output_variables()
    if len(variables) != 1:
        raise ValueError(f'the model has {len(variables)} outputs; outputs are compared for single-output models only')
    return is_bit_coded(variables[0].type.precision)


def encode_bits(values: np.ndarray) -> np.ndarray:
    """-1/+1 as hls4ml's bits: +1 -> 1, -1 -> 0."""
    return np.where(values == 1, 1, 0).astype(values.dtype)


def decode_bits(bits: np.ndarray) -> np.ndarray:
    """hls4ml's bits as Keras' -1/+1, as hls4ml's tests map them: 0 -> -1, anything else -> +1."""
    return np.where(bits == 0, -1, 1).astype(np.asarray(bits).dtype)


def as_keras_values(hls_model, outputs: np.ndarray) -> np.ndarray:
    """The model's C-simulation outputs as the values Keras' predict() gives (bits decoded, else unchanged)."""
    return decode_bits(outputs) if bit_coded_output(hls_model) else np.asarray(outputs)
