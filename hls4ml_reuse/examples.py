"""Shipped examples, looked up by name (``hls4ml-reuse bench mlp-mnist``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Example:
    name: str
    model_path: Path
    input_precision: str  # exact type of the model's input values
    description: str

    def test_data(self) -> tuple[np.ndarray, np.ndarray]:
        from .datasets import load_mnist

        _, test = load_mnist()
        return test.x, test.y


EXAMPLES = {
    'mlp-mnist': Example(
        name='mlp-mnist',
        model_path=REPO_ROOT / 'examples' / 'mlp_mnist' / 'mlp_mnist.h5',
        input_precision='ufixed<8,0>',
        description='binary MLP 784-256-256-256-10 trained plainly on full MNIST',
    ),
}


def get_example(name: str) -> Example:
    if name not in EXAMPLES:
        raise KeyError(f'unknown example {name!r}; shipped examples: {", ".join(EXAMPLES)}')
    example = EXAMPLES[name]
    if not example.model_path.exists():
        raise FileNotFoundError(f'{example.model_path} is missing (run from a clone of the repository)')
    return example


def load_keras_model(path: Path):
    from qkeras.utils import load_qmodel

    return load_qmodel(str(path), compile=False)
