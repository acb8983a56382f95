"""Registration with hls4ml, called through the ``hls4ml.backends`` entry point.

hls4ml only prints a warning when a plugin fails, so a failure here is re-raised loudly and
``registered()`` lets callers (and the tests) check that registration really happened.
"""

from __future__ import annotations

import sys
import traceback
from importlib import resources
from pathlib import Path

from hls4ml.backends import get_backend
from hls4ml.model.flow import update_flow
from hls4ml.model.layers import register_layer
from hls4ml.model.optimizer import register_pass

from .ir.layers import ReuseConv2D, ReuseDense, ReuseMaxPool1D, ReuseMaxPool2D
from .passes.convert_conv2d import ConvertBinaryConv2D
from .passes.check_consumers import CheckBitConsumers, CheckLookupTableActivations, CheckStockThresholds
from .passes.convert_dense import ConvertBinaryDense
from .passes.pooling import ConvertMaxPooling
from .passes.precision import CheckUserPrecisions
from .passes.validate import CheckStandaloneActivations, ValidateReusePruning
from .passes.one_bit_activation import SpellOneBitActivationAsBinary
from .passes.zero_padding import AbsorbZeroPadding
from .keras_parsing import register_keras_spellings
from .backend.templates import HEADERS, TEMPLATES
from .cli.yaml_tag import register_yaml_tag

BACKENDS = ('Vivado', 'Vitis')
FLOW = 'optimize'  # model-level flow: after parsing, before every backend flow
PASSES = (  # in flow order: the checks after the conversions read what the units fused and what reads their bits
    ValidateReusePruning,
    AbsorbZeroPadding,
    ConvertBinaryConv2D,
    ConvertBinaryDense,
    ConvertMaxPooling,
    CheckUserPrecisions,
    CheckStandaloneActivations,
    CheckStockThresholds,
    CheckBitConsumers,
    CheckLookupTableActivations,
)
# hls4ml's 'convert' flow removes linear activations, 1-bit quantized_bits ones included: spell those as the
# binary activation they are first (hls4ml's three passes are moved after ours, in their order)
CONVERT_FLOW = 'convert'
CONVERT_PASSES = (SpellOneBitActivationAsBinary,)
AFTER_CONVERT_PASSES = ('eliminate_linear_activation', 'merge_linear_activation', 'infer_precision_types')
LAYERS = (ReuseDense, ReuseConv2D, ReuseMaxPool2D, ReuseMaxPool1D)

_registered = False


class PluginRegistrationError(RuntimeError):
    pass


def header_paths():
    root = resources.files('hls4ml_reuse.backend') / 'firmware'
    return [Path(str(root / name)) for name in HEADERS]


def _register():
    for layer in LAYERS:
        register_layer(layer.__name__, layer)
    for optimizer in PASSES + CONVERT_PASSES:
        register_pass(optimizer.name, optimizer)
    update_flow(FLOW, add_optimizers=[optimizer.name for optimizer in PASSES])
    update_flow(CONVERT_FLOW, remove_optimizers=AFTER_CONVERT_PASSES)
    update_flow(CONVERT_FLOW, add_optimizers=[optimizer.name for optimizer in CONVERT_PASSES] + list(AFTER_CONVERT_PASSES))
    for backend_name in BACKENDS:
        backend = get_backend(backend_name)
        for template in TEMPLATES:
            backend.register_template(template)
        for path in header_paths():
            backend.register_source(path)
    register_yaml_tag()
    register_keras_spellings()


def register(register_backend=None, register_writer=None):
    """Entry point: add our layers, passes, templates and headers to hls4ml. Idempotent."""
    global _registered
    if _registered:
        return
    try:
        _register()
    except Exception as err:
        traceback.print_exc(file=sys.stderr)
        raise PluginRegistrationError(f'hls4ml-reuse failed to register with hls4ml: {err}') from err
    _registered = True


def registered() -> bool:
    return _registered
