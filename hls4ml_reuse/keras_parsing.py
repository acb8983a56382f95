"""Two QKeras spellings hls4ml 1.3.0's Keras parser crashes on, parsed as what Keras computes with them.

- ``QActivation(binary_tanh)`` with the function object (not the string): Keras serializes it as a builtin
  function named 'binary_tanh', which QKeras' ``get_quantizer`` cannot find again; registering the function
  as a Keras custom object (Keras' own API) lets it deserialize to the very same function.
- ``Activation(binary(alpha=1))`` (a Keras Activation holding a QKeras quantizer): hls4ml's Activation parser
  keeps the quantizer's configuration dict as the activation name and its layer check raises. Keras runs
  the quantizer exactly as ``QActivation`` would, so such a layer is parsed by hls4ml's QActivation parser.
  hls4ml's registry refuses a second handler for a class, so the stock one is wrapped in place; every other
  Activation still goes to it unchanged. The plugin is registered while hls4ml.converters is still being
  imported, before its handlers exist, so the wrap waits for the first import after the Activation handler
  is registered (a one-shot import hook that imports nothing itself).

Neither depends on the ReusePruning flag: both turn a crash into hls4ml's own parse of the same layer.
"""

from __future__ import annotations

import sys

QKERAS_FUNCTIONS = ('binary_tanh',)  # QKeras quantizers that are plain functions, as users pass them


def register_qkeras_functions() -> None:
    import tensorflow as tf
    from qkeras import quantizers

    custom_objects = tf.keras.utils.get_custom_objects()
    for name in QKERAS_FUNCTIONS:
        custom_objects.setdefault(name, getattr(quantizers, name))


def holds_qkeras_quantizer(keras_layer: dict) -> bool:
    activation = keras_layer['config'].get('activation')
    return isinstance(activation, dict) and str(activation.get('module', '')).startswith('qkeras')


def activation_parser(stock):
    """hls4ml's Activation parser, sending an Activation that holds a QKeras quantizer to the QActivation parser."""

    def parse(keras_layer, input_names, input_shapes, data_reader):
        if holds_qkeras_quantizer(keras_layer):
            from hls4ml.converters.keras.qkeras import get_activation_quantizer

            return get_activation_quantizer(keras_layer, input_names), list(input_shapes[0])
        return stock(keras_layer, input_names, input_shapes, data_reader)

    parse.stock = stock
    return parse


def wrap_activation_handler() -> bool:
    """Wrap hls4ml's Activation handler once it is registered; whether it is wrapped now."""
    converter = sys.modules.get('hls4ml.converters.keras_v2_to_hls')
    handlers = getattr(converter, 'layer_handlers', {})
    stock = handlers.get('Activation')
    if stock is None:
        return False
    if getattr(stock, 'stock', None) is None:  # not wrapped yet
        handlers['Activation'] = activation_parser(stock)
    return True


class WrapWhenRegistered:
    """A meta path entry that finds no module: at each import it tries the wrap, and leaves once it is done."""

    def find_spec(self, name, path=None, target=None):
        if wrap_activation_handler() and self in sys.meta_path:
            sys.meta_path.remove(self)
        return None


def register_activation_parser() -> None:
    if not wrap_activation_handler():
        sys.meta_path.insert(0, WrapWhenRegistered())


def register_keras_spellings() -> None:
    register_qkeras_functions()
    register_activation_parser()
