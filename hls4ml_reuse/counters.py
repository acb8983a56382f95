"""Read the firmware's evaluated-operation counters after C simulation."""

from __future__ import annotations

import ctypes

COUNT_INPUTS, COUNT_WORD_ADDS, COUNT_VECTORS, COUNT_TILES = 0, 1, 2, 3


class NoReuseUnitError(RuntimeError):
    """No layer became a reuse unit: the library has no counters and there is nothing to compare or cost."""


def require_units(hls_model, name: str = 'the model') -> list:
    """The model's reuse units; NoReuseUnitError saying why when there are none.

    Without a unit the compiled library lacks the counter functions, and every figure of the bench,
    the build and the report would be empty.
    """
    from .config import any_enabled
    from .report import reuse_layers, skipped_layers

    units = reuse_layers(hls_model)
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
    """Totals since the last reset for one ReuseDense layer: inputs, word_adds, vectors, tiles."""
    lib = _library(hls_model)
    return {
        'inputs': lib.hls4ml_reuse_counter(layer.index, COUNT_INPUTS),
        'word_adds': lib.hls4ml_reuse_counter(layer.index, COUNT_WORD_ADDS),
        'vectors': lib.hls4ml_reuse_counter(layer.index, COUNT_VECTORS),
        'tiles': lib.hls4ml_reuse_counter(layer.index, COUNT_TILES),
    }
