"""Charts (PNG): per-layer pruning of a bench result, and per-layer costs of a report."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _figure():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    return plt, fig, axes


def _finish(plt, fig, axis_names, title: str, path: str) -> None:
    for axis in fig.axes:
        axis.set_xticks(np.arange(len(axis_names)), axis_names)
        axis.set_yscale('log')
        axis.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_layer_pruning(result: dict, path: str) -> None:
    """Terms and adder bits per image, baseline / static / dynamic, for every layer."""
    plt, fig, axes = _figure()
    layers = result['layers']
    positions = np.arange(len(layers))
    for axis, suffix, title in ((axes[0], '', 'terms per image'), (axes[1], '_adder_bits', 'adder bits per image')):
        for offset, kind, colour in (
            (-0.27, 'baseline', '#999999'),
            (0.0, 'static', '#4c72b0'),
            (0.27, 'dynamic', '#dd8452'),
        ):
            axis.bar(positions + offset, [layer[kind + suffix] for layer in layers], width=0.27, label=kind, color=colour)
        for x, layer in zip(positions, layers):
            share = 1 - layer['dynamic' + suffix] / layer['baseline' + suffix]
            axis.annotate(f'-{share:.0%}', (x + 0.27, layer['dynamic' + suffix]), ha='center', va='bottom', fontsize=8)
        axis.set_title(title)
    title = (
        f"{result['model']}: {result['ops_pruned_dynamic']:.1%} of terms and "
        f"{result['adder_bits_pruned_dynamic']:.1%} of adder bits pruned (dynamic, {result['images']} images)"
    )
    _finish(plt, fig, [layer['name'] for layer in layers], title, path)


def plot_layer_costs(result: dict, path: str) -> None:
    """Unrolled LUT estimate and folded cycles per image for every layer, ours beside stock."""
    plt, fig, axes = _figure()
    layers = result['layers']
    positions = np.arange(len(layers))
    panels = (
        (axes[0], 'unrolled_lut', 'LUT estimate, unrolled shape'),
        (axes[1], 'folded_cycles', 'cycles per image, folded shape'),
    )
    for axis, field, title in panels:
        axis.bar(positions - 0.2, [layer[field + '_stock'] for layer in layers], width=0.4, label='stock', color='#999999')
        axis.bar(positions + 0.2, [layer[field + '_reuse'] for layer in layers], width=0.4, label='ours', color='#4c72b0')
        axis.set_title(title)
    title = f"{result['model']}: estimated cost per layer, ours beside stock hls4ml ({result['part']})"
    _finish(plt, fig, [layer['name'] for layer in layers], title, path)
