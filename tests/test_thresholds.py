"""Exact thresholds for BatchNorm + binary activation (DESIGN.md section 2.2), against the Keras float32 arithmetic."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from qkeras.quantizers import binary

from hls4ml_reuse.plan.thresholds import AT_LEAST, AT_MOST, BatchNormParams, Thresholds, derive_thresholds

CHANNEL_KINDS = ('random', 'negative', 'zero', 'on_grid', 'on_grid_negative', 'beyond', 'tiny_variance')


def grid(y_bound, n):
    """Every raw pre-activation in [-y_bound, y_bound], for each of n channels: shape (2*y_bound+1, n)."""
    return np.tile(np.arange(-y_bound, y_bound + 1, dtype=np.int64)[:, None], (1, n))


def scaled_inputs(y_raw, frac_bits, bias):
    """float32(y * 2**-frac_bits) + float32(bias), in float32."""
    return (y_raw * 2.0**-frac_bits).astype(np.float32) + np.asarray(bias, dtype=np.float32)


def keras_reference(y_raw, frac_bits, bias, bn):
    """[bn(y + bias) >= 0] with TensorFlow's float32 batch normalization, as Keras evaluates it."""
    z = scaled_inputs(y_raw, frac_bits, 0.0 if bias is None else bias)
    if bn is not None:
        as_f32 = [tf.constant(a, tf.float32) for a in (bn.mean, bn.variance, bn.beta, bn.gamma)]
        z = tf.nn.batch_normalization(tf.constant(z), *as_f32, bn.epsilon).numpy()
    return z >= 0


def check_against_keras(n, y_bound, frac_bits, bias, bn):
    thresholds = derive_thresholds(n, y_bound, frac_bits, bias, bn)
    assert thresholds.value.shape == (n,) and thresholds.mode.shape == (n,)
    assert set(thresholds.mode.tolist()) <= {AT_LEAST, AT_MOST}
    y_raw = grid(y_bound, n)
    assert np.array_equal(thresholds.apply(y_raw), keras_reference(y_raw, frac_bits, bias, bn))
    return thresholds


def random_channel(rng, kind, y_bound, frac_bits, bias):
    """(gamma, beta, mean, variance) of one channel, shaped to hit the named case."""
    gamma, beta = rng.normal(0, 1.5), rng.normal(0, 1)
    mean, variance = rng.normal(0, y_bound * 2.0**-frac_bits / 2), rng.uniform(0.01, 4)
    if kind == 'negative':
        gamma = -abs(gamma) - 0.01
    elif kind == 'zero':
        gamma = 0.0
    elif kind in ('on_grid', 'on_grid_negative'):
        # z == mean exactly at a grid value, so bn(z) == beta == 0 there: a tie that sign() sends to +1.
        y0 = rng.integers(-y_bound, y_bound, endpoint=True)
        mean, beta = scaled_inputs(np.array(y0), frac_bits, bias), 0.0
        gamma = (-1 if kind == 'on_grid_negative' else 1) * (abs(gamma) + 0.01)
    elif kind == 'beyond':
        beta = rng.choice([-1, 1]) * rng.uniform(1e3, 1e6)
    elif kind == 'tiny_variance':
        variance = rng.choice([0.0, 1e-9])
    return gamma, beta, mean, variance


def random_bn(rng, kinds, y_bound, frac_bits, bias):
    columns = np.array([random_channel(rng, kind, y_bound, frac_bits, b) for kind, b in zip(kinds, bias)], dtype=np.float32)
    gamma, beta, mean, variance = columns.T
    return BatchNormParams(gamma, beta, mean, variance, float(rng.choice([1e-3, 1e-5])))


@st.composite
def layer_cases(draw):
    n = draw(st.integers(1, 6))
    y_bound = draw(st.integers(1, 40))
    frac_bits = draw(st.sampled_from([0, 1, 2]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bias = np.where(draw(st.booleans()), rng.normal(0, 2, size=n), 0.0).astype(np.float32)
    kinds = draw(st.lists(st.sampled_from(CHANNEL_KINDS), min_size=n, max_size=n))
    return n, y_bound, frac_bits, bias, random_bn(rng, kinds, y_bound, frac_bits, bias)


@settings(max_examples=120, deadline=None)
@given(case=layer_cases())
def test_batchnorm_thresholds_match_keras(case):
    check_against_keras(*case)


@settings(max_examples=60, deadline=None)
@given(
    y_bound=st.integers(1, 40),
    frac_bits=st.sampled_from([0, 1, 2]),
    bias_raw=st.lists(st.integers(-50, 50), min_size=1, max_size=6),
    offset=st.sampled_from([0.0, 0.25, 0.5, -0.375]),
)
def test_no_batchnorm_is_sign_of_y_plus_bias(y_bound, frac_bits, bias_raw, offset):
    """bn=None: [y + bias >= 0], with biases on the grid (ties), between grid values and beyond the range."""
    bias = ((np.array(bias_raw) + offset) * 2.0**-frac_bits).astype(np.float32)
    thresholds = check_against_keras(len(bias), y_bound, frac_bits, bias, None)
    assert (thresholds.mode == AT_LEAST).all()


@pytest.mark.parametrize('frac_bits', [0, 1, 2])
def test_thresholds_on_grid_values(frac_bits):
    """mean at an integer y and beta = 0: the threshold is that y (AT_LEAST) or that y (AT_MOST) for negative gamma."""
    y_bound, y0 = 40, np.array([-7, 0, 13, 13, -39, 40], dtype=np.int64)
    n = len(y0)
    gamma = np.array([0.5, 2.0, 1.0, -1.0, -3.0, 0.25], dtype=np.float32)
    mean = scaled_inputs(y0, frac_bits, 0.0)
    zeros, ones = np.zeros(n, np.float32), np.ones(n, np.float32)
    thresholds = check_against_keras(n, y_bound, frac_bits, None, BatchNormParams(gamma, zeros, mean, ones, 1e-3))
    assert thresholds.value.tolist() == y0.tolist()
    assert thresholds.mode.tolist() == [AT_LEAST, AT_LEAST, AT_LEAST, AT_MOST, AT_MOST, AT_LEAST]


def test_constant_channels():
    """Zero gamma and far-away beta give constant channels: threshold -y_bound (always 1) or y_bound + 1 (always 0)."""
    y_bound = 30
    gamma = np.array([0.0, 0.0, 0.0, 1.0, 1.0, -1.0, -1.0], dtype=np.float32)
    beta = np.array([0.0, 1.0, -1.0, 1e4, -1e4, 1e4, -1e4], dtype=np.float32)
    n = len(gamma)
    mean, variance = np.full(n, 3.0, np.float32), np.ones(n, np.float32)
    thresholds = check_against_keras(n, y_bound, 0, None, BatchNormParams(gamma, beta, mean, variance, 1e-3))
    always = thresholds.apply(grid(y_bound, n))
    assert always.all(axis=0).tolist() == [True, True, False, True, False, True, False]
    assert always.any(axis=0).tolist() == always.all(axis=0).tolist()
    assert thresholds.value.tolist() == [-y_bound, -y_bound, y_bound + 1, -y_bound, y_bound + 1, -y_bound, y_bound + 1]


def test_range_beyond_float32_still_finds_the_edge():
    """Beyond 2^24 Keras' float32 rounds y itself; the search still finds where its output turns."""
    y_bound = 3 << 24
    bn = BatchNormParams(*(np.array([v], np.float32) for v in (1.0, 0.0, 20_000_001.0, 1.0)), 1e-3)
    thresholds = derive_thresholds(1, y_bound, 0, None, bn)
    assert thresholds.mode.tolist() == [AT_LEAST]
    assert 19_999_998 <= thresholds.value[0] <= 20_000_002  # float32 steps by 2 there: y rounds before the mean
    assert not derive_thresholds(1, y_bound, 0, None, bn).apply(np.array([[-y_bound]]))[0, 0]


def test_thresholds_apply_modes():
    thresholds = Thresholds(value=np.array([2, 2]), mode=np.array([AT_LEAST, AT_MOST]))
    y_raw = np.array([[1, 1], [2, 2], [3, 3]])
    assert np.array_equal(thresholds.apply(y_raw), [[False, True], [True, True], [True, False]])
    assert np.array_equal(thresholds.apply_channel(1, y_raw[:, 1]), [True, True, False])


@pytest.mark.parametrize('seed', range(6))
def test_keras_layer_and_qkeras_binary(seed):
    """A real BatchNormalization layer (inference) followed by QKeras binary(alpha=1): +1 exactly where apply says 1."""
    rng = np.random.default_rng(seed)
    n, y_bound, frac_bits = 8, 40, seed % 3
    kinds = [CHANNEL_KINDS[(seed + j) % len(CHANNEL_KINDS)] for j in range(n)]
    bn = random_bn(rng, kinds, y_bound, frac_bits, np.zeros(n, np.float32))
    layer = tf.keras.layers.BatchNormalization(epsilon=bn.epsilon)
    layer.build((None, n))
    layer.set_weights([bn.gamma, bn.beta, bn.mean, bn.variance])
    y_raw = grid(y_bound, n)
    normalized = layer(tf.constant(scaled_inputs(y_raw, frac_bits, 0.0)), training=False)
    out = binary(alpha=1)(normalized).numpy()
    thresholds = derive_thresholds(n, y_bound, frac_bits, None, bn)
    assert np.array_equal(out == 1, thresholds.apply(y_raw))
    assert np.isin(out, [-1, 1]).all()
