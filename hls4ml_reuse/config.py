"""Typed ReusePruning configuration, parsed once from hls4ml's HLSConfig dictionary.

Keys (Model level, and per layer under ``LayerName``; a layer's value wins):

- ``ReusePruning`` (bool, default False): turn the plugin on.
- ``ReusePruningTile`` (8, 16, 32 or 64; default 8): input positions per tile; early exit
  is checked after every tile. Where it is not set, hls4ml's own ``ReuseFactor`` R > 1 chooses it: the fewest
  lanes with which the folded unit takes at most R clocks per input vector (window), as stock's layer does; where
  no tile (or the tile set) can, a warning names the layer (plan/reuse_factor.py). ReuseFactor 1, hls4ml's
  default, asks nothing of the folded shape.
- ``ReusePruningEarlyExit`` (bool, default True): let thresholded outputs without children
  stop as soon as their side of the threshold is certain (inclusion test included).
- ``ReusePruningPoolExit`` (bool, default True): a thresholded Conv2D absorbs the MaxPooling2D
  after it and skips the childless channels of a pixel whose pooling window already holds a 1.
- ``ReusePruningSteiner`` (bool, default True): insert virtual kernels (Steiner points) where they
  make the plan cheaper in adder bits (plan/steiner.py).
- ``ReusePruningZeroSkip`` (bool, default True): a unit with fixed-point inputs (usually the first
  layer) walks only the non-zero inputs of each window; zeros add nothing. Binary inputs are never
  zero, so binary units are unaffected.
- ``ReusePruningWindowReuse`` (bool, default False): a Conv2D unit with binary inputs computes each
  window from its left neighbour's values plus a correction over the inputs that changed. Its
  values are then kept exact: it has no early exit and does not absorb the max pooling after it.
  It walks the inputs that changed, so it needs gathered lanes: setting it makes them the default.
  (Fewer terms in C simulation, but no RTL to measure its hardware yet: off unless asked for.)

- ``ReusePruningShape`` (``folded`` or ``unrolled``, default ``folded``): the firmware's shape. Folded:
  ``tile`` lanes walk the plan tile by tile, with the levers above. Unrolled: every planned term has its
  own adder input, the plan and weights are constants, one window per clock (PIPELINE II=1); it evaluates
  everything, so early exit, pool exit, zero skipping and window reuse do not apply to it.
- ``ReusePruningLanes`` (``gathered`` or ``banked``, default ``banked``, or ``gathered`` where window reuse is set):
  how a folded unit's ``tile`` lanes reach their inputs. Banked: lane i reads only the positions k with
  k mod tile == i, stock hls4ml's multiplexer, at a clock per planned position of the kernel's busiest bank: the
  default, because it wins per LUT against stock's architecture where gathered lanes lose (synthesized RTL twin:
  mlp-mnist 1.92 against 1.05 images/s per LUT, gathered 0.64; README). Gathered: lane i reads any planned
  position, the fewest clocks (ceil(planned / tile) a kernel) at a K:1 multiplexer per lane. Banked lanes walk
  planned positions by bank, so they leave window reuse off (setting both on one layer is refused).
- ``ReusePruningBipolarOutput`` (bool, default False): a thresholded unit that is a model output writes
  -1/+1 (``int<2>``) instead of hls4ml's own encoding of binary activations, one bit with 1 = +1 and 0 = -1
  (``uint<1>``, what stock hls4ml writes). Inside the network, bits always travel between layers.

hls4ml ignores keys it does not know, so a misspelt key of ours (``ReusePrunning``, ``reusepruning``,
``Reuse_Pruning_Tile``) would silently give a stock conversion; any key close to ours is refused instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .ir.constants import TILES
from .plan.unit import Shape

TYPO_DISTANCE = 2  # edits (after lower-casing, '_' and '-' removed) that still count as a misspelling of our key
SHAPES = tuple(Shape)
TYPO_PREFIX = 'reusepr'  # any key starting so (same normalization) is meant as ours
ALLOWED_TILES = TILES
GATHERED, BANKED = LANES = ('gathered', 'banked')


class ReusePruningConfigError(ValueError):
    """A ReusePruning key or value is wrong; the message names the layer and the key."""


@dataclass(frozen=True)
class LayerSettings:
    enabled: bool = False  # the ReusePruning flag itself
    forced: bool = False  # set on the layer itself (LayerName), not inherited from Model
    tile: int = 8  # input positions per tile (early-exit check granularity)
    early_exit: bool = True  # leaves may stop early; False evaluates every planned term
    pool_exit: bool = True  # a thresholded convolution absorbs the max pooling after it
    steiner: bool = True  # virtual kernels where they lower the plan's adder bits
    zero_skip: bool = True  # fixed-point inputs: only non-zero inputs enter the sums
    window_reuse: bool = False  # binary convolutions: a window from its left neighbour's values (gathered lanes)
    shape: Shape = Shape.FOLDED  # FOLDED (tile lanes, levers) or UNROLLED (every planned term, II=1)
    lanes: str = BANKED  # folded lanes: BANKED (lane i reads positions i mod tile) or GATHERED (any position)
    bipolar_output: bool = False  # a thresholded model output as -1/+1, not hls4ml's 0/1 bits
    tile_set: bool = False  # ReusePruningTile is in the configuration (else a ReuseFactor may choose the tile)

    def for_shape(self) -> LayerSettings:
        """The settings the shape allows: the unrolled shape evaluates every planned term, skipping nothing."""
        if self.shape is Shape.FOLDED:
            return self
        return replace(self, early_exit=False, pool_exit=False, zero_skip=False, window_reuse=False)


_FIELDS = {
    'ReusePruning': 'enabled',
    'ReusePruningTile': 'tile',
    'ReusePruningEarlyExit': 'early_exit',
    'ReusePruningPoolExit': 'pool_exit',
    'ReusePruningSteiner': 'steiner',
    'ReusePruningZeroSkip': 'zero_skip',
    'ReusePruningWindowReuse': 'window_reuse',
    'ReusePruningShape': 'shape',
    'ReusePruningLanes': 'lanes',
    'ReusePruningBipolarOutput': 'bipolar_output',
}


def _parse_bool(where, key, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    raise ReusePruningConfigError(f'{where}: {key} must be true or false, got {value!r}')


def _parse_shape(where, key, value):
    if not isinstance(value, str) or value.strip().lower() not in SHAPES:
        raise ReusePruningConfigError(f'{where}: {key} must be one of {", ".join(SHAPES)}, got {value!r}')
    return Shape(value.strip().lower())


def _parse_lanes(where, key, value):
    if not isinstance(value, str) or value.strip().lower() not in LANES:
        raise ReusePruningConfigError(f'{where}: {key} must be one of {", ".join(LANES)}, got {value!r}')
    return value.strip().lower()


def _parse_tile(where, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() not in map(str, ALLOWED_TILES):
        raise ReusePruningConfigError(f'{where}: {key} must be one of {ALLOWED_TILES}, got {value!r}')
    return int(value)


_PARSERS = {
    'enabled': _parse_bool,
    'tile': _parse_tile,
    'early_exit': _parse_bool,
    'pool_exit': _parse_bool,
    'steiner': _parse_bool,
    'zero_skip': _parse_bool,
    'window_reuse': _parse_bool,
    'shape': _parse_shape,
    'lanes': _parse_lanes,
    'bipolar_output': _parse_bool,
}


def _read_section(where, section):
    """Our keys of one config section as {field: value}; keys that look like ours but are not raise."""
    values = {}
    if not isinstance(section, dict):
        return values
    for key, value in section.items():
        if key not in _FIELDS:
            _refuse_near_miss(where, key)
            continue
        field = _FIELDS[key]
        values[field] = _PARSERS[field](where, key, value)
    return values


def _refuse_near_miss(where, key) -> None:
    """A misspelt key of ours would be ignored by hls4ml and the conversion would silently run stock: refuse it."""
    closest = near_miss(key)
    if closest is not None:
        raise ReusePruningConfigError(
            f'{where}: unknown key {key!r}; did you mean {closest}? (known keys: {", ".join(_FIELDS)})'
        )


def near_miss(key) -> str | None:
    """The key of ours that `key` is probably a misspelling of, or None (exactly ours, or unrelated).

    Compared without case, '_' and '-': a key within TYPO_DISTANCE edits of ours, or starting with
    TYPO_PREFIX, counts. hls4ml's own keys (ReuseFactor, Precision, ...) are far from all of ours.
    """
    if key in _FIELDS:
        return None
    typed = str(key).lower().replace('_', '').replace('-', '')
    distance, closest = min((edit_distance(typed, ours.lower()), ours) for ours in _FIELDS)
    if distance <= TYPO_DISTANCE or typed.startswith(TYPO_PREFIX):
        return closest
    return None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning a into b."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _refuse_misplaced(hls_config: dict) -> None:
    """Our keys directly under HLSConfig are ignored by hls4ml (the conversion would run stock): refuse them."""
    for key in hls_config:
        ours = key if key in _FIELDS else near_miss(key)
        if ours is not None:
            raise ReusePruningConfigError(
                f'HLSConfig: {key!r} belongs under HLSConfig: Model (or a LayerName / LayerType entry) as {ours}'
            )


def model_section(hls_config: dict) -> dict:
    section = hls_config.get('Model', {})
    if not isinstance(section, dict):
        raise ReusePruningConfigError(f"HLSConfig 'Model' must be a mapping, got {type(section).__name__}")
    return section


@dataclass(frozen=True)
class ReusePruningSettings:
    """Every ReusePruning key of one HLSConfig, checked and typed: {field: value} per section."""

    model: dict
    layer_types: dict
    layer_names: dict

    @classmethod
    def parse(cls, hls_config: dict) -> ReusePruningSettings:
        """Check every key (Model, LayerType, LayerName, and misplaced ones); ReusePruningConfigError names the bad one."""
        _refuse_misplaced(hls_config)
        groups = {}
        for group in ('LayerType', 'LayerName'):
            entries = hls_config.get(group, {}) or {}
            groups[group] = {name: _read_section(f'{group} {name!r}', section) for name, section in entries.items()}
        return cls(_read_section('Model', model_section(hls_config)), groups['LayerType'], groups['LayerName'])

    def any_enabled(self) -> bool:
        sections = [self.model, *self.layer_types.values(), *self.layer_names.values()]
        return any(section.get('enabled', False) for section in sections)

    def for_layer(self, layer_name: str, layer_class: str) -> LayerSettings:
        """Settings of one layer: Model values, overridden by LayerType, overridden by LayerName."""
        values, forced = dict(self.model), False
        for section in (self.layer_types.get(layer_class, {}), self.layer_names.get(layer_name, {})):
            forced = forced or section.get('enabled', False)
            values.update(section)
        if values.get('window_reuse', False):  # it walks the inputs that changed: gathered lanes, not banks
            if values.get('lanes', GATHERED) == BANKED:
                raise ReusePruningConfigError(
                    f'layer {layer_name!r}: ReusePruningLanes: banked and ReusePruningWindowReuse: true cannot both '
                    'apply (banked lanes walk planned positions bank by bank, window reuse walks the inputs that '
                    'changed); set ReusePruningWindowReuse: false or ReusePruningLanes: gathered'
                )
            values['lanes'] = GATHERED
        return LayerSettings(forced=forced, tile_set='tile' in values, **values).for_shape()


def settings_of(model) -> ReusePruningSettings:
    """The settings of an hls4ml ModelGraph, parsed once per conversion and kept on the graph."""
    settings = getattr(model, '_reuse_pruning_settings', None)
    if settings is None:
        settings = ReusePruningSettings.parse(model.config.config.get('HLSConfig', {}))
        model._reuse_pruning_settings = settings
    return settings


def validate(hls_config: dict) -> None:
    """Check every ReusePruning key in the configuration (before a conversion, e.g. of a YAML file)."""
    ReusePruningSettings.parse(hls_config)


def any_enabled(hls_config: dict) -> bool:
    return ReusePruningSettings.parse(hls_config).any_enabled()


def settings_for(hls_config: dict, layer_name: str, layer_class: str) -> LayerSettings:
    return ReusePruningSettings.parse(hls_config).for_layer(layer_name, layer_class)
