"""Read the firmware's evaluated-operation counters after C simulation."""

from __future__ import annotations

import ctypes

from ..config import any_enabled
from ..ir.constants import COUNTER_KINDS
from ..ir.layers import reuse_units, skipped_layers


class NoReuseUnitError(RuntimeError):
    """No layer became a reuse unit: the library has no counters and there is nothing to compare or cost."""


def require_units(hls_model, name: str = 'the model') -> list:
    """The model's reuse units; NoReuseUnitError saying why when there are none.

    Without a unit the compiled library lacks the counter functions, and every figure of the bench,
    the build and the report would be empty.
    """
    units = reuse_units(hls_model)
    if units:
        return units
    skipped = skipped_layers(hls_model)
    if skipped:
        why = '; '.join(f'layer {layer!r}: {reason}' for layer, reason in skipped.items())
        why = f'stock hls4ml kept every candidate ({why})'
    elif not any_enabled(hls_model.config.config.get('HLSConfig', {})):
        why = 'ReusePruning is not true in its configuration'
    else:
        why = 'it has no binary Dense or Conv2D layer with ReusePruning on'
    raise NoReuseUnitError(f'{name}: no layer was converted to a ReusePruning unit: {why}')


def _library(hls_model):
    lib = getattr(hls_model, '_top_function_lib', None)
    if lib is None:
        raise RuntimeError('compile() the hls4ml model before reading counters')
    require_units(hls_model)
    lib.hls4ml_reuse_counter.restype = ctypes.c_ulonglong
    lib.hls4ml_reuse_counter.argtypes = [ctypes.c_uint, ctypes.c_uint]
    return lib


def reset(hls_model) -> None:
    _library(hls_model).hls4ml_reuse_reset_counters()


def read(hls_model, layer) -> dict:
    """Totals since the last reset for one unit: inputs, word_adds, vectors, tiles (constants.COUNTER_KINDS)."""
    lib = _library(hls_model)
    return {kind: lib.hls4ml_reuse_counter(layer.index, slot) for slot, kind in enumerate(COUNTER_KINDS)}
