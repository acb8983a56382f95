"""Per-layer and whole-network operation figures of a converted model (DESIGN.md section 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..ir.layers import ReuseUnitLayer, reuse_units, skipped_layers
from ..sim import counters

__all__ = ['LayerOps', 'as_dicts', 'caveats', 'layer_ops', 'network_ops', 'pruned', 'skipped_layers']


@dataclass
class LayerOps:
    name: str
    baseline: float  # terms per image: N*K per window
    static: float  # terms the plan instantiates
    dynamic: float  # terms evaluated on average (firmware counters)
    baseline_adder_bits: float
    static_adder_bits: float
    dynamic_adder_bits: float
    virtual_kernels: int = 0  # Steiner kernels the plan added (computed, never output)
    levers: tuple[str, ...] = ()  # the pruning levers at work in this layer (see levers())


def levers(layer: ReuseUnitLayer) -> tuple[str, ...]:
    """The levers beyond the spanning tree that this unit uses: Steiner kernels, zero skipping, early and pool exit."""
    unit = layer.get_attr('unit')
    used = {
        'steiner': unit.n_kernels > unit.n_out,
        'zero-skip': unit.zero_skip,
        'window-reuse': unit.window_reuse,
        'unrolled': unit.unrolled,
        'early-exit': any(unit.may_exit(j) for j in range(unit.n_out)),
        'pool-exit': unit.absorbs_pooling,
    }
    return tuple(name for name, on in used.items() if on)


def layer_ops(layer: ReuseUnitLayer, images: int, firmware_counts: dict) -> LayerOps:
    """Static figures from the plan, dynamic ones from the firmware's counters over `images` images."""
    unit = layer.get_attr('unit')
    cost, windows = unit.cost, unit.windows
    inputs, adds = unit.plan.static_inputs_and_adds()
    dyn_inputs = firmware_counts['inputs'] / images
    dyn_adds = firmware_counts['word_adds'] / images
    return LayerOps(
        name=layer.name,
        baseline=float(unit.n_out * unit.n_in * windows),
        static=float(cost.terms(inputs, adds) * windows),
        dynamic=float(cost.terms(dyn_inputs, dyn_adds)),
        baseline_adder_bits=float(cost.adder_bits(unit.n_out * unit.n_in, 0) * windows),
        static_adder_bits=float(cost.adder_bits(inputs, adds) * windows),
        dynamic_adder_bits=float(cost.adder_bits(dyn_inputs, dyn_adds)),
        virtual_kernels=unit.n_kernels - unit.n_out,
        levers=levers(layer),
    )


def network_ops(hls_model, images: int) -> list[LayerOps]:
    return [layer_ops(layer, images, counters.read(hls_model, layer)) for layer in reuse_units(hls_model)]


def pruned(layers: list[LayerOps], kind: str, adder_bits: bool = False) -> float:
    suffix = '_adder_bits' if adder_bits else ''
    base = sum(getattr(layer, 'baseline' + suffix) for layer in layers)
    ours = sum(getattr(layer, kind + suffix) for layer in layers)
    return 1.0 - ours / base


def as_dicts(layers: list[LayerOps]) -> list[dict]:
    return [asdict(layer) for layer in layers]


def caveats(hls_model) -> dict:
    """Per unit, the limits of Keras' own float32 arithmetic that its agreement depends on (see the passes)."""
    return {
        layer.name: layer.get_attr('reuse_pruning_caveats')
        for layer in reuse_units(hls_model)
        if layer.get_attr('reuse_pruning_caveats')
    }
