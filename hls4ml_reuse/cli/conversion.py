"""Conversions used by the benchmark: ours (ReusePruning) and stock hls4ml at its best setting."""

from __future__ import annotations

import json
import math

import hls4ml
import numpy as np

from .datasets import InputError

PART = 'xc7z100ffg900-2'
CLOCK_PERIOD_NS = 5  # 200 MHz


def input_layer_name(model) -> str:
    """The name hls4ml gives the model's input layer: the LayerName entry that sets the input type.

    Asked of hls4ml 1.3.0's own Keras parser: a functional model's input layer as its configuration names it,
    a Sequential model's first entry, which is the InputLayer Keras writes for ``Sequential([Input(...), ...])``
    and, named ``<first layer>_input``, for ``input_shape=`` too. ``model.layers[0]`` is that layer only for
    functional models: a Sequential model's list starts at its first real layer.
    """
    arch = json.loads(model.to_json())
    layers, inputs, _, _ = hls4ml.converters.parse_keras_model(arch, hls4ml.converters.KerasModelReader(model))
    names = inputs if inputs is not None else [layers[0]['name']]
    if len(names) != 1:
        raise InputError(f'{model.name}: the model has {len(names)} inputs ({", ".join(names)}); the commands feed one')
    return names[0]


def set_input_precision(config: dict, model, precision: str) -> dict:
    """Set the input layer's result type in `config` (other types of its entry kept); returns `config`."""
    entry = config.setdefault('LayerName', {}).setdefault(input_layer_name(model), {})
    current = entry.get('Precision')
    entry['Precision'] = {**(current if isinstance(current, dict) else {}), 'result': precision}
    return config


def base_config(model, input_precision: str) -> dict:
    config = hls4ml.utils.config_from_keras_model(model, granularity='name')
    return set_input_precision(config, model, input_precision)


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
