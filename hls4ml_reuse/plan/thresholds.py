"""Exact thresholds for BatchNorm + binary activation, taken from the float32 arithmetic itself.

Keras computes ``sign(batch_norm(y + bias))`` in float32 (``tf.nn.batch_normalization`` on 2-D
outputs, the fused kernel on 4-D convolution outputs); the pre-activation ``y`` of a
binary layer lives on an integer grid (in units of the input's least significant bit).
The output is monotone in ``y`` (rounding is monotone), so each channel is one of
``[y >= t]``, ``[y <= t]`` (negative BatchNorm scale) or a constant (zero scale or an
unreachable threshold). Each channel's threshold is found by bisection on the grid,
evaluating the very TensorFlow ops Keras uses, so ties and rounding agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

AT_LEAST = 0  # out = [y >= t]
AT_MOST = 1  # out = [y <= t]


@dataclass(frozen=True)
class BatchNormParams:
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    epsilon: float


@dataclass(frozen=True)
class Thresholds:
    value: np.ndarray  # int64 thresholds in raw units of y
    mode: np.ndarray  # AT_LEAST or AT_MOST per channel

    def apply(self, y_raw: np.ndarray) -> np.ndarray:
        """Binary outputs (1 = +1) of raw pre-activations y (..., n)."""
        return np.where(self.mode == AT_MOST, y_raw <= self.value, y_raw >= self.value)

    def apply_channel(self, j: int, y_raw: np.ndarray) -> np.ndarray:
        return y_raw <= self.value[j] if self.mode[j] == AT_MOST else y_raw >= self.value[j]


@dataclass(frozen=True)
class KerasOutput:
    """How Keras turns a channel's raw pre-activation y into its binary output, in float32.

    ``act(bn(y * 2^-frac_bits * scale + bias)) > 0``: ``scale`` is the kernel's per-channel magnitude,
    ``bn`` the (quantized) BatchNorm statistics, ``fused`` whether Keras runs its fused kernel, and
    ``activation`` the QKeras activation (None: QKeras ``binary``, where sign(0) counts as +1).
    """

    frac_bits: int = 0
    scale: np.ndarray | None = None
    bias: np.ndarray | None = None
    bn: BatchNormParams | None = None
    fused: bool = False
    activation: Callable[[np.ndarray], np.ndarray] | None = None

    def __call__(self, y_raw: np.ndarray) -> np.ndarray:
        """Binary outputs (True = +1) for raw y of shape (m, n)."""
        z = _batch_norm(self._pre_activation(y_raw), self.bn, self.fused)
        return z.numpy() >= 0 if self.activation is None else self.activation(z.numpy()) > 0

    def _pre_activation(self, y_raw):
        import tensorflow as tf

        z = tf.constant(np.ldexp(y_raw.astype(np.float64), -self.frac_bits).astype(np.float32))
        if self.scale is not None:
            z = z * tf.constant(np.asarray(self.scale, dtype=np.float32))
        if self.bias is not None:
            z = z + tf.constant(np.asarray(self.bias, dtype=np.float32))
        return z


def _batch_norm(z, bn: BatchNormParams | None, fused: bool):
    import tensorflow as tf

    if bn is not None and fused:
        m, n = z.shape
        z, _, _ = tf.compat.v1.nn.fused_batch_norm(
            tf.reshape(z, (1, 1, m, n)),
            tf.constant(bn.gamma, tf.float32),
            tf.constant(bn.beta, tf.float32),
            mean=tf.constant(bn.mean, tf.float32),
            variance=tf.constant(bn.variance, tf.float32),
            epsilon=bn.epsilon,
            is_training=False,
        )
        z = tf.reshape(z, (m, n))
    elif bn is not None:
        z = tf.nn.batch_normalization(
            z,
            tf.constant(bn.mean, tf.float32),
            tf.constant(bn.variance, tf.float32),
            tf.constant(bn.beta, tf.float32),
            tf.constant(bn.gamma, tf.float32),
            bn.epsilon,
        )
    return z


def derive_thresholds(
    n: int,
    y_bound: int,
    frac_bits: int = 0,
    bias: np.ndarray | None = None,
    bn: BatchNormParams | None = None,
    fused: bool = False,
    keras: KerasOutput | None = None,
) -> Thresholds:
    """Thresholds of n channels whose raw pre-activation lies in [-y_bound, y_bound].

    ``keras`` says how Keras computes the output; without it, ``frac_bits``, ``bias``, ``bn`` and ``fused``
    (Keras' fused batch norm, for 4-D convolution outputs) describe a unit-scale layer with QKeras ``binary``.
    The search is exact for every y; Keras agrees with it wherever its own float32 sum is exact
    (|y| < 2^24 for power-of-two scales).
    """
    if keras is None:
        keras = KerasOutput(frac_bits=frac_bits, bias=bias, bn=bn, fused=fused)

    def out(y):
        return keras(np.asarray(y, dtype=np.int64).reshape(1, n))[0]

    low_out, high_out = out(np.full(n, -y_bound)), out(np.full(n, y_bound))
    rising = ~low_out & high_out
    falling = low_out & ~high_out
    # Bisection on [lo, hi]: out(lo) != out(hi); ends when hi == lo + 1.
    lo, hi = np.full(n, -y_bound, dtype=np.int64), np.full(n, y_bound, dtype=np.int64)
    searching = rising | falling
    while np.any(searching & (hi - lo > 1)):
        mid = (lo + hi) // 2
        mid_out = out(mid)
        move_lo = searching & (mid_out == low_out)
        lo = np.where(move_lo, mid, lo)
        hi = np.where(searching & ~move_lo, mid, hi)
    value = np.where(rising, hi, np.where(falling, lo, np.where(high_out, -y_bound, y_bound + 1)))
    mode = np.where(falling, AT_MOST, AT_LEAST)
    thresholds = Thresholds(value=value.astype(np.int64), mode=mode.astype(np.int64))
    _check_monotone_edges(thresholds, out, searching)
    return thresholds


def _check_monotone_edges(thresholds, out, searching):
    """The found edges must reproduce Keras on both sides of each threshold."""
    t, up = thresholds.value, thresholds.mode == AT_LEAST
    outside = np.where(up, t - 1, t + 1)
    ok = (out(t) == thresholds.apply(t)) & (out(outside) == thresholds.apply(outside))
    if not np.all(ok | ~searching):
        bad = np.flatnonzero(~ok & searching)
        raise ValueError(f'BatchNorm output is not monotone in the pre-activation for channels {bad[:8].tolist()}')
