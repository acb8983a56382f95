"""Read the firmware's evaluated-operation counters after C simulation."""

from __future__ import annotations

import ctypes

COUNT_INPUTS, COUNT_WORD_ADDS, COUNT_VECTORS, COUNT_TILES = 0, 1, 2, 3


def _library(hls_model):
    lib = getattr(hls_model, '_top_function_lib', None)
    if lib is None:
        raise RuntimeError('compile() the hls4ml model before reading counters')
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
