"""A QKeras spelling hls4ml 1.3.0's Keras parser crashes on, made readable through Keras' own API.

``QActivation(binary_tanh)`` with the function object (not the string): Keras serializes it as a builtin
function named 'binary_tanh', which QKeras' ``get_quantizer`` cannot find again; registering the function as a
Keras custom object lets it deserialize to the very same function. It does not depend on the ReusePruning flag:
it turns a crash into hls4ml's own parse of the same layer.
"""

from __future__ import annotations

QKERAS_FUNCTIONS = ('binary_tanh',)  # QKeras quantizers that are plain functions, as users pass them


def register_keras_spellings() -> None:
    import tensorflow as tf
    from qkeras import quantizers

    custom_objects = tf.keras.utils.get_custom_objects()
    for name in QKERAS_FUNCTIONS:
        custom_objects.setdefault(name, getattr(quantizers, name))
