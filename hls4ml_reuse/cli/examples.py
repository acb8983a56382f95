"""Shipped examples, looked up by name (``hls4ml-reuse bench mlp-mnist``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import InputError, one_line

REPO_ROOT = Path(__file__).resolve().parents[2]  # hls4ml_reuse/cli/examples.py


RANDOM_IMAGES = 1000  # random-pixel images of examples that have no data set offline
RANDOM_SEED = 12345


@dataclass(frozen=True)
class Example:
    name: str
    model_path: Path
    input_precision: str  # exact type of the model's input values
    description: str
    input_shape: tuple = (784,)
    data: str = 'mnist'  # 'mnist': the 10,000 MNIST test images; 'random': random pixels, no labels

    def test_data(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Test images shaped for the model, and their labels (None for random images)."""
        if self.data == 'random':
            return random_pixels(RANDOM_IMAGES, self.input_shape, RANDOM_SEED), None
        from .datasets import load_mnist

        _, test = load_mnist()
        return test.x.reshape(-1, *self.input_shape), test.y


def random_pixels(n: int, shape: tuple, seed: int) -> np.ndarray:
    """Images of random pixels k/256, exact in ap_ufixed<8,0>."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, *shape)) / 256).astype(np.float32)


EXAMPLES = {
    'mlp-mnist': Example(
        name='mlp-mnist',
        model_path=REPO_ROOT / 'examples' / 'mlp_mnist' / 'mlp_mnist.h5',
        input_precision='ufixed<8,0>',
        description='binary MLP 784-256-256-256-10 trained plainly on full MNIST',
    ),
    'cnv-mnist': Example(
        name='cnv-mnist',
        model_path=REPO_ROOT / 'examples' / 'cnv_mnist' / 'cnv_mnist.h5',
        input_precision='ufixed<8,0>',
        description="FINN's CNV topology adapted to 28x28x1, trained plainly on full MNIST",
        input_shape=(28, 28, 1),
    ),
    'finn-cnv-random': Example(
        name='finn-cnv-random',
        model_path=REPO_ROOT / 'examples' / 'finn_cnv_random' / 'finn_cnv_random.h5',
        input_precision='ufixed<8,0>',
        description="FINN's CNV topology on 32x32x3 with random binary weights and BatchNorm (no CIFAR-10 offline)",
        input_shape=(32, 32, 3),
        data='random',
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
    """A Keras/QKeras model from an .h5 file; InputError naming the file when it is not one."""
    from qkeras.utils import load_qmodel

    path = Path(path)
    if not path.is_file():
        raise InputError(f'{path}: {"is a directory, not" if path.is_dir() else "no such file; expected"} a Keras .h5 model')
    try:
        return load_qmodel(str(path), compile=False)
    except (OSError, ValueError) as err:  # h5py: not HDF5; Keras: no model in it, or layers it cannot build
        raise InputError(f'{path}: not a readable Keras/QKeras .h5 model ({one_line(err)})') from err
