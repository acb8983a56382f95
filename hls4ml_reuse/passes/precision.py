"""The precisions a user set on the layers a ReusePruning unit takes: used, refused, or ignored by name.

A unit computes exactly what Keras does, in types it sizes itself, so most of hls4ml's per-layer types
never exist in it. Each type the user set on a layer the unit took (the Dense/Conv2D, and the layers it
fused: hls4ml's linear activation, the weight scale, BatchNormalization, the binary activation, an absorbed
max pooling) or on a pooling/reshape that carries the unit's output type is, by what the unit does with it:

- **the unit's output** -- the ``result`` (or string ``Precision``) of a layer whose output is not
  thresholded, on the layer or its linear activation: the unit writes its values in that type. A type that
  cannot hold every value the unit can output, ``[-K*b, K*b]`` input steps (after the exact scale and bias,
  if any), is refused with ReusePruningConfigError naming the layer, the range and the type; one that holds
  them becomes the unit's output type.
- **never materialised** -- every other type: accumulators (the unit sums in its own exact width), weights
  (kept as bits), biases and BatchNorm types (folded exactly into thresholds or the output affine), the
  result of a layer fused into a threshold, the binary activation's (the unit writes the bits itself), an
  absorbed pooling's, a carried layer's: ignored, with one ReusePruningWarning naming the layer and the key.

Which types are the user's: ``config_from_keras_model`` writes a Precision entry for every layer, holding
``'auto'``, the type of the layer's QKeras quantizer (``uint<1>`` for a binary kernel, ``int<2>`` for a binary
activation, a quantized bias's) and, given a backend, that backend's defaults (``'auto'`` accumulators,
``fixed<18,8>`` activation tables). A value counts as the user's when it is not ``'auto'`` and differs from
what ``config_from_keras_model`` writes for that layer and key -- without a backend and with the
conversion's, at granularity ``name`` for ``LayerName`` entries and ``type`` for ``LayerType`` ones. As in
hls4ml's own lookup, a ``LayerName`` entry's key wins over a ``LayerType`` one, names match without case, and
``LayerType`` is keyed by hls4ml's class (``Dense``, also for a QDense). Without the Keras model in the
configuration, every value other than ``'auto'`` counts as the user's.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from hls4ml.model.layers import ApplyAlpha, BatchNormalization, Pooling1D, Pooling2D
from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType

from ..config import ReusePruningConfigError, settings_of
from ..ir.layers import reuse_units
from .graph import PASS_THROUGH, carry_output_type, is_binary_activation, is_linear_activation, single_consumer
from .keras_replay import ReusePruningWarning
from .validate import ModelCheck

OUTPUT_KEYS = ('result', 'default')  # the keys that type a layer's output ('default': a string Precision)

IGNORED = {  # role -> why a type the user set on such a layer never exists in the unit
    'alpha': 'the unit applies the weight scale exactly itself',
    'batchnorm': 'the unit folds the BatchNormalization into exact integer thresholds',
    'activation': "the unit writes the binary activation's -1/+1 as bits itself",
    'pooling': 'the unit pools its output bits itself',
    'carried': "this layer carries the unit's exact output type",
}
IGNORED_ON_LAYER = {
    'accum': 'the unit sums in its own exact accumulator',
    'weight': 'the unit keeps the binary kernel as bits',
    'bias': "the unit adds the bias exactly (in its thresholds or its output's affine)",
    'table': 'the unit looks up no activation table',
}
FUSED_OUTPUT = 'the unit fuses this output into its thresholds and never writes it'


@dataclass(frozen=True)
class FusedLayer:
    """A layer a unit took over, recorded on the unit (``reuse_pruning_fused``) for this check."""

    name: str
    class_name: str  # hls4ml's class (Dense for a QDense): what hls4ml 1.3.0 matches LayerType entries with
    role: str  # 'layer' (the Dense/Conv2D), 'linear', 'alpha', 'batchnorm', 'activation', 'pooling'


def fused_role(node) -> str:
    if is_linear_activation(node):
        return 'linear'
    if isinstance(node, ApplyAlpha):
        return 'alpha'
    if isinstance(node, BatchNormalization):
        return 'batchnorm'
    if is_binary_activation(node):
        return 'activation'
    if isinstance(node, (Pooling1D, Pooling2D)):
        return 'pooling'
    raise ValueError(f'layer {node.name!r} ({node.class_name}) is not one a unit fuses')


def fused_layers(layer, absorbed) -> list[FusedLayer]:
    """The unit's own layer and the nodes it absorbed, in graph order."""
    return [FusedLayer(layer.name, layer.class_name, 'layer')] + [
        FusedLayer(node.name, node.class_name, fused_role(node)) for node in absorbed
    ]


def _entry(entries: dict, name: str):
    """(key as written, entry) of `name` in a LayerName / LayerType mapping, matched without case as hls4ml does."""
    key = next((key for key in entries if str(key).lower() == name.lower()), name)
    return key, entries.get(key)


def _precisions(entry) -> dict:
    """{key: type string} of one entry; a string Precision is key 'default'."""
    precision = entry.get('Precision') if isinstance(entry, dict) else None
    if isinstance(precision, str):
        return {'default': precision}
    return dict(precision) if isinstance(precision, dict) else {}


class UserPrecisions:
    """The types a user set in one conversion's HLSConfig, told from config_from_keras_model's defaults."""

    def __init__(self, model):
        self.model = model
        self.hls_config = model.config.config.get('HLSConfig', {})
        self.backend = model.config.backend

    def of(self, fused: FusedLayer) -> dict:
        """{key: type string} the user set on this layer (LayerName first, then LayerType for other keys)."""
        by_name = _precisions(_entry(self.hls_config.get('LayerName') or {}, fused.name)[1])
        by_type = _precisions(_entry(self.hls_config.get('LayerType') or {}, fused.class_name)[1])
        given = {}
        for key, value in {**by_type, **by_name}.items():
            section, entry = ('LayerName', fused.name) if key in by_name else ('LayerType', fused.class_name)
            if self._is_users(section, entry, key, value):
                given[key] = value
        return given

    def _is_users(self, section: str, entry: str, key: str, value) -> bool:
        if str(value).strip().lower() == 'auto':
            return False
        defaults = self._defaults(section)
        if defaults is None:
            return True
        written = [_precisions(_entry(section_defaults, entry)[1]).get(key) for section_defaults in defaults]
        return not any(w is not None and self._same(w, value) for w in written)

    def _same(self, a, b) -> bool:
        try:
            return self.backend.convert_precision_string(str(a)) == self.backend.convert_precision_string(str(b))
        except ValueError:  # not a type hls4ml parses (it would have refused it already): compare as written
            return str(a).replace(' ', '') == str(b).replace(' ', '')

    def _defaults(self, section: str):
        return self._name_defaults if section == 'LayerName' else self._type_defaults

    @cached_property
    def _name_defaults(self):
        return self._written('name', 'LayerName')

    @cached_property
    def _type_defaults(self):
        return self._written('type', 'LayerType')

    def _written(self, granularity: str, section: str):
        """config_from_keras_model's entries, without and with the backend; None without the Keras model."""
        import hls4ml

        keras_model = self.model.config.config.get('KerasModel')
        if keras_model is None or isinstance(keras_model, (str, dict)):
            return None
        backend = self.backend.name if self.backend is not None else None
        return [
            hls4ml.utils.config_from_keras_model(keras_model, granularity=granularity, backend=name)[section]
            for name in dict.fromkeys((None, backend))  # both, once each
        ]


@dataclass(frozen=True)
class OutputRange:
    """Every value a unit can write: [low, high] on a grid of 2^-frac, and the exact type the unit uses."""

    low: float
    high: float
    frac: int
    exact: object  # hls4ml precision

    def held_by(self, precision) -> bool:
        if isinstance(precision, FixedPrecisionType):
            integer, frac = precision.integer, precision.width - precision.integer
        elif isinstance(precision, IntegerPrecisionType):
            integer, frac = precision.width, 0
        else:
            return False
        step = math.ldexp(1.0, -frac)
        top = math.ldexp(1.0, integer - (1 if precision.signed else 0))
        lowest = -top if precision.signed else 0.0
        return frac >= self.frac and lowest <= self.low and self.high <= top - step

    def describe(self) -> str:
        grid = 'integers' if self.frac == 0 else f'multiples of 2^-{self.frac}'
        return f'{grid} in [{self.low:g}, {self.high:g}]'


def type_string(precision) -> str:
    if isinstance(precision, FixedPrecisionType):
        return f'{"" if precision.signed else "u"}fixed<{precision.width},{precision.integer}>'
    if isinstance(precision, IntegerPrecisionType):
        return f'{"" if precision.signed else "u"}int<{precision.width}>'
    return str(precision)


def output_node(model, unit):
    """The node whose output is the unit's values: the unit, or the exact ApplyAlpha inserted after it."""
    after = single_consumer(model, unit)
    return after if isinstance(after, ApplyAlpha) and after.name == unit.name + '_affine' else unit


def output_range(unit, last) -> OutputRange:
    """Every value of an unthresholded unit's output (after its exact scale and bias, when `last` applies them)."""
    steps = unit.get_attr('n_in') * unit.get_attr('input_bound')
    bound = math.ldexp(float(steps), -unit.get_attr('input_frac_bits'))
    precision = last.get_output_variable().type.precision
    if last is unit:
        return OutputRange(-bound, bound, unit.get_attr('input_frac_bits'), precision)
    scale, bias = np.asarray(last.get_attr('scale_data')), np.asarray(last.get_attr('bias_data'))
    frac = precision.width - precision.integer
    return OutputRange(float(np.min(bias - bound * scale)), float(np.max(bias + bound * scale)), frac, precision)


def carried_layers(model, last) -> list:
    """The poolings and reshapes after `last` that carry its type (graph.carry_output_type)."""
    carried, node = [], single_consumer(model, last)
    while isinstance(node, PASS_THROUGH):
        carried.append(FusedLayer(node.name, node.class_name, 'carried'))
        node = single_consumer(model, node)
    return carried


class CheckUserPrecisions(ModelCheck):
    """After the units are built: check every type the user set on the layers a unit took (module docstring).

    Refuses (raises ReusePruningConfigError) an output type that cannot hold the unit's values; sets one that
    can as the unit's output type; warns once per (layer, key) for a type the unit never materialises.
    Returns False: the graph's nodes are unchanged (only an output type may be the user's).
    """

    name = 'reuse_pruning_check_precisions'

    def transform(self, model):
        if not settings_of(model).any_enabled():
            return False
        given = UserPrecisions(model)
        for unit in reuse_units(model):
            last = output_node(model, unit)
            for fused in unit.get_attr('reuse_pruning_fused', []) + carried_layers(model, last):
                for key, value in given.of(fused).items():
                    self._check(model, unit, last, fused, key, value)
        return False

    def _check(self, model, unit, last, fused: FusedLayer, key: str, value: str) -> None:
        if fused.role in ('layer', 'linear') and key in OUTPUT_KEYS and not unit.get_attr('thresholded'):
            self._use_output_type(model, unit, last, fused, key, value)
            return
        reason = IGNORED.get(fused.role) or IGNORED_ON_LAYER.get(key) or FUSED_OUTPUT  # by role, then key
        warnings.warn(
            f'layer {fused.name!r}: Precision {key} {value} is ignored: {reason} (ReusePruning unit {unit.name!r} '
            'computes what Keras does exactly in its own types); remove it to silence this',
            ReusePruningWarning,
            stacklevel=2,
        )

    @staticmethod
    def _use_output_type(model, unit, last, fused: FusedLayer, key: str, value: str) -> None:
        needed = output_range(unit, last)
        precision = model.config.backend.convert_precision_string(str(value))
        if not needed.held_by(precision):
            raise ReusePruningConfigError(
                f'layer {fused.name!r}: Precision {key} {value} cannot hold the outputs of ReusePruning unit '
                f'{unit.name!r}, {needed.describe()}; give at least {type_string(needed.exact)} or remove it '
                '(the unit then writes that exact type)'
            )
        last.get_output_variable().type.precision = precision
        carry_output_type(model, last, precision)
