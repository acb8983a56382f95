"""Per-layer pruning chart of a bench result (PNG)."""

from __future__ import annotations

from pathlib import Path


def plot_layer_pruning(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    layers = result['layers']
    names = [layer['name'] for layer in layers]
    positions = np.arange(len(layers))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, suffix, title in ((axes[0], '', 'terms per image'), (axes[1], '_adder_bits', 'adder bits per image')):
        for offset, kind, colour in (
            (-0.27, 'baseline', '#999999'),
            (0.0, 'static', '#4c72b0'),
            (0.27, 'dynamic', '#dd8452'),
        ):
            values = [layer[kind + suffix] for layer in layers]
            axis.bar(positions + offset, values, width=0.27, label=kind, color=colour)
        for x, layer in zip(positions, layers):
            share = 1 - layer['dynamic' + suffix] / layer['baseline' + suffix]
            axis.annotate(f'-{share:.0%}', (x + 0.27, layer['dynamic' + suffix]), ha='center', va='bottom', fontsize=8)
        axis.set_xticks(positions, names)
        axis.set_yscale('log')
        axis.set_title(title)
        axis.legend(fontsize=8)
    fig.suptitle(
        f"{result['model']}: {result['ops_pruned_dynamic']:.1%} of terms and "
        f"{result['adder_bits_pruned_dynamic']:.1%} of adder bits pruned (dynamic, {result['images']} images)"
    )
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
