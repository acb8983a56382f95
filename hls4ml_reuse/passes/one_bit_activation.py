"""A 1-bit ``quantized_bits`` activation is QKeras' ``binary``: spell it so, before hls4ml drops it as linear.

With one bit and ``keep_negative``, QKeras' ``quantized_bits`` takes its "binary implementation": sign(x)
with +1 at 0, times alpha -- the very computation of ``binary(alpha)``. hls4ml instead parses it as a
``linear`` activation cast to ``int<1>`` (the values -1 and 0), so a model binarized with
``QActivation(quantized_bits(1, 0, alpha=1))`` came out wrong on nearly every output. Renamed to the
``binary`` activation it is, it is fused into a unit's threshold or, standalone, runs as hls4ml's binary
activation ([x >= 0]), exact either way.
"""

from hls4ml.model.layers import Activation
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.types import IntegerPrecisionType

from ..config import ReusePruningConfigError, settings_of
from .keras_replay import UNIT_ALPHAS

BINARY = {'class_name': 'binary_tanh', 'config': {'use_01': False, 'alpha': 1, 'use_stochastic_rounding': False}}


def one_bit_quantizer(node) -> dict | None:
    """The configuration of a 1-bit quantized_bits activation (hls4ml names it 'linear'), or None."""
    if not isinstance(node, Activation) or node.get_attr('activation') != 'linear':
        return None
    quantizer = node.get_attr('activation_quantizer')
    settings = quantizer.get('config', {}) if isinstance(quantizer, dict) else {}
    return settings if settings.get('bits') == 1 else None


class SpellOneBitActivationAsBinary(OptimizerPass):
    """QActivation(quantized_bits(1, ..., alpha=1)) -> the binary activation it computes.

    Refuses (ReusePruningConfigError naming the layer) a 1-bit quantized_bits activation whose outputs are
    not -1/+1 (keep_negative=False gives 0/1, an alpha other than 1 scales them), which hls4ml would not
    compute either.
    """

    name = 'reuse_pruning_spell_one_bit_activation'

    def match(self, node):
        return one_bit_quantizer(node) is not None and settings_of(node.model).any_enabled()

    def transform(self, model, node):
        settings = one_bit_quantizer(node)
        if not settings.get('keep_negative', True) or settings.get('alpha') not in UNIT_ALPHAS:
            raise ReusePruningConfigError(
                f'layer {node.name!r}: the 1-bit activation quantized_bits{settings} does not output -1/+1 and '
                "hls4ml would cast it to int<1> (-1 and 0); use quantized_bits(1, 0, alpha=1) or QActivation('binary')"
            )
        node.set_attr('activation', BINARY['class_name'])
        node.set_attr('activation_quantizer', BINARY)
        node.get_output_variable().type.precision = IntegerPrecisionType(2, signed=True)  # as hls4ml types binary
        return True
