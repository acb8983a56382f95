"""Conversions used by the benchmark: ours (ReusePruning) and stock hls4ml at its best setting."""

from __future__ import annotations

import math

import hls4ml
import numpy as np

PART = 'xc7z100ffg900-2'
CLOCK_PERIOD_NS = 5  # 200 MHz


def base_config(model, input_precision: str) -> dict:
    config = hls4ml.utils.config_from_keras_model(model, granularity='name')
    input_name = model.layers[0].name
    config['LayerName'][input_name]['Precision'] = {'result': input_precision}
    return config


def reuse_config(model, input_precision: str, **settings) -> dict:
    config = base_config(model, input_precision)
    config['Model']['ReusePruning'] = True
    for key, value in settings.items():
        config['Model'][key] = value
    return config


def stock_config(model, input_precision: str, input_frac_bits: int) -> dict:
    """Stock hls4ml with integer accumulators sized from K: its fastest near-exact setting."""
    config = base_config(model, input_precision)
    first = True
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind not in ('QDense', 'Dense', 'QConv2D', 'Conv2D'):
            continue
        n_in = int(layer.input_shape[-1])
        if kind.endswith('Conv2D'):
            n_in *= int(np.prod(layer.kernel_size))
        integer_bits = math.ceil(math.log2(n_in * 2 + 1)) + 1
        frac = input_frac_bits if first else 0
        precision = f'fixed<{integer_bits + frac},{integer_bits}>' if frac else f'int<{integer_bits}>'
        config['LayerName'][layer.name]['Precision'].update({'accum': precision, 'result': precision})
        first = False
    return config


def convert(model, config: dict, output_dir: str, backend='Vivado', part=PART, clock_period_ns=CLOCK_PERIOD_NS):
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, io_type='io_stream', backend=backend, part=part,
        clock_period=clock_period_ns, output_dir=output_dir,
    )  # fmt: skip
    hls_model.compile()
    return hls_model
