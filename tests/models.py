"""Small seeded QKeras binary models for the tests."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, binary
from tensorflow.keras import layers


def randomize_batchnorm(layer, rng, scale_signs=None):
    """Random moving statistics; scale_signs (+1, -1, 0 per channel) forces gamma's sign or zero."""
    n = layer.gamma.shape[0]
    gamma = rng.normal(1.0, 0.5, n).astype(np.float32)
    if scale_signs is not None:
        gamma = (np.abs(gamma) * np.asarray(scale_signs, dtype=np.float32)).astype(np.float32)
    beta = rng.normal(0.0, 2.0, n).astype(np.float32)
    mean = rng.normal(0.0, 3.0, n).astype(np.float32)
    variance = rng.uniform(0.5, 4.0, n).astype(np.float32)
    layer.set_weights([gamma, beta, mean, variance])


def binary_mlp(widths, n_in, seed=0, use_bias=False, threshold_last=False, scale_signs=None):
    """Input -> [QDense binary -> BN -> binary]* -> QDense binary (optionally thresholded too)."""
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    inputs = layers.Input((n_in,), name='pixels')
    x = inputs
    for i, width in enumerate(widths):
        last = i == len(widths) - 1
        x = QDense(
            width,
            kernel_quantizer=binary(alpha=1),
            use_bias=use_bias and not last,
            name=f'fc{i}',
            kernel_initializer=tf.keras.initializers.RandomUniform(-1, 1, seed=seed + i),
        )(x)
        if not last or threshold_last:
            bn = layers.BatchNormalization(name=f'bn{i}')
            x = bn(x)
            x = QActivation('binary(alpha=1)', name=f'sign{i}')(x)
    model = tf.keras.Model(inputs, x)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            randomize_batchnorm(layer, rng, scale_signs if layer.name == 'bn0' else None)
        if isinstance(layer, QDense) and use_bias and layer.use_bias:
            layer.bias.assign(rng.normal(0, 2, layer.bias.shape).astype(np.float32))
    return model


def pixels(n, n_in, seed=0):
    """Images with values k/256, exact in ufixed<8,0>."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, n_in)) / 256).astype(np.float32)


def sparse_pixels(n, n_in, seed=0, zero_fraction=0.8):
    """Images like MNIST's: mostly 0, the rest k/256 (exact in ufixed<8,0>); every 7th image all zero."""
    rng = np.random.default_rng(seed)
    x = pixels(n, n_in, seed) * (rng.random((n, n_in)) >= zero_fraction)
    x[::7] = 0
    return x.astype(np.float32)


def related_kernels(rng, n, k):
    """Kernels (n, k) of bools, each a copy of an earlier one with some bits flipped and maybe complemented.

    Flip rates include 0 and 1/2, so sets hold identical, complementary, nearby and unrelated kernels.
    """
    kernels = np.empty((n, k), dtype=bool)
    kernels[0] = rng.random(k) < 0.5
    for j in range(1, n):
        source = kernels[rng.integers(j)]
        flips = rng.random(k) < rng.choice([0.0, 0.05, 0.2, 0.5])
        kernels[j] = (source ^ flips) ^ bool(rng.random() < 0.3)
    return kernels


def conv(filters, kernel, strides=1, padding='valid'):
    return ('conv', filters, kernel, strides, padding)


def maxpool(size, strides=None, padding='valid'):
    return ('maxpool', size, strides, padding)


def raw_conv(filters, kernel, strides=1, padding='valid'):
    """A binary QConv2D whose raw sums are the output (no BatchNorm, no activation)."""
    return ('rawconv', filters, kernel, strides, padding)


def binary_cnn(shape, spec, seed=0, scale_signs=None):
    """Input -> spec -> [QDense logits]; every conv is QConv2D binary -> BN -> binary activation.

    spec items: ('conv', filters, kernel, strides, padding), ('rawconv', ...) (the same without BatchNorm and
    activation), ('maxpool', size[, strides, padding]), ('avgpool', size), ('flatten',), ('dense', n) (binary QDense,
    raw integer logits). scale_signs maps a BatchNorm name to its per-channel signs.
    """
    tf.keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    inputs = layers.Input(shape, name='pixels')
    x = inputs
    n_conv = 0
    for i, item in enumerate(spec):
        kind = item[0]
        if kind in ('conv', 'rawconv'):
            _, filters, kernel, strides, padding = item
            init = tf.keras.initializers.RandomUniform(-1, 1, seed=seed + i)
            x = QConv2D(
                filters,
                kernel,
                strides=strides,
                padding=padding,
                kernel_quantizer=binary(alpha=1),
                use_bias=False,
                kernel_initializer=init,
                name=f'conv{n_conv}',
            )(x)
            if kind == 'conv':
                x = layers.BatchNormalization(name=f'bn{n_conv}')(x)
                x = QActivation('binary(alpha=1)', name=f'sign{n_conv}')(x)
            n_conv += 1
        elif kind == 'maxpool':
            strides, padding = item[2:] if len(item) > 2 else (None, 'valid')
            x = layers.MaxPooling2D(item[1], strides=strides, padding=padding, name=f'maxpool{i}')(x)
        elif kind == 'avgpool':
            x = layers.AveragePooling2D(item[1], name=f'avgpool{i}')(x)
        elif kind == 'flatten':
            x = layers.Flatten(name='flatten')(x)
        elif kind == 'dense':
            init = tf.keras.initializers.RandomUniform(-1, 1, seed=seed + i)
            x = QDense(item[1], kernel_quantizer=binary(alpha=1), use_bias=False, kernel_initializer=init, name='logits')(x)
        else:
            raise ValueError(kind)
    model = tf.keras.Model(inputs, x)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            randomize_batchnorm(layer, rng, (scale_signs or {}).get(layer.name))
    return model


def rebuild_with_synthesizable_path(hls_model):
    """Recompile the same project with the synthesizable tile sums instead of the C-simulation fast path.

    Fails loudly if build_lib.sh no longer has the one CFLAGS="..." line to extend, or if the library it builds
    still uses the fast path: a silent no-op would make the synth-vs-fast tests compare the fast path with itself.
    """
    flag = '-DHLS4ML_REUSE_SYNTH_PATH'
    script = Path(hls_model.config.get_output_dir()) / 'build_lib.sh'
    # Idempotent: a second call keeps one flag.
    pattern = r'^CFLAGS="([^"]*?)(?: ' + flag + ')?"$'
    rewritten, n = re.subn(pattern, r'CFLAGS="\1 ' + flag + '"', script.read_text(), flags=re.MULTILINE)
    assert n == 1, f'{script}: expected exactly one line CFLAGS="..." to add {flag} to, found {n}'
    assert rewritten.count(flag) == 1, f'{script}: {flag} should appear once, in CFLAGS'
    script.write_text(rewritten)
    hls_model._compile()
    fast_csim = hls_model._top_function_lib.hls4ml_reuse_fast_csim
    fast_csim.restype = ctypes.c_int
    assert fast_csim() == 0, f'{script}: the rebuilt library still uses the fast C-simulation tile sums'
