"""Build FINN's CNV topology exactly, on 32x32x3 input, with random binary weights and random BatchNorm.

For scale only: no CIFAR-10 is available offline, so there is nothing to train it on, and its
images are random pixels (k/256). The BatchNorm statistics are drawn around the spread of each
layer's pre-activations (about sqrt(K) for K inputs per output), with some negative and a few
zero scales, so thresholds fall where outputs land and every threshold case is exercised.

    python examples/finn_cnv_random/make_model.py --out examples/finn_cnv_random/finn_cnv_random.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, binary
from tensorflow.keras import layers

# FINN CNV: (filters per 3x3 valid convolution) with 2x2 max pooling after the 2nd and 4th
CONV_FILTERS = (64, 64, None, 128, 128, None, 256, 256)
DENSE_WIDTHS = (512, 512)


def build_finn_cnv(input_shape=(32, 32, 3), n_classes=10):
    inputs = layers.Input(input_shape, name='pixels')
    x = inputs
    for i, filters in enumerate(CONV_FILTERS):
        if filters is None:
            x = layers.MaxPooling2D(2, name=f'pool{i}')(x)
            continue
        x = QConv2D(filters, 3, kernel_quantizer=binary(alpha=1), use_bias=False, name=f'conv{i}')(x)
        x = layers.BatchNormalization(name=f'bn_conv{i}')(x)
        x = QActivation('binary(alpha=1)', name=f'sign_conv{i}')(x)
    x = layers.Flatten(name='flatten')(x)
    for i, width in enumerate(DENSE_WIDTHS):
        x = QDense(width, kernel_quantizer=binary(alpha=1), use_bias=False, name=f'fc{i}')(x)
        x = layers.BatchNormalization(name=f'bn_fc{i}')(x)
        x = QActivation('binary(alpha=1)', name=f'sign_fc{i}')(x)
    x = QDense(n_classes, kernel_quantizer=binary(alpha=1), use_bias=False, name='logits')(x)
    return tf.keras.Model(inputs, x, name='finn_cnv_random')


def randomize(model, rng):
    """Random +-1 kernels; BatchNorm statistics scaled to each layer's fan-in K."""
    fan_in = None
    for layer in model.layers:
        if isinstance(layer, (QConv2D, QDense)):
            kernel = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=layer.kernel.shape)
            layer.kernel.assign(kernel)
            fan_in = int(np.prod(layer.kernel.shape[:-1]))
        elif isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            spread = np.sqrt(fan_in)
            gamma = rng.normal(1.0, 0.5, n) * rng.choice([1.0, 1.0, 1.0, -1.0], n) * (rng.random(n) > 0.02)
            beta = rng.normal(0.0, 0.5, n)
            mean = rng.normal(0.0, 0.5 * spread, n)
            variance = rng.uniform(0.5, 2.0, n) * fan_in
            layer.set_weights([np.asarray(v, dtype=np.float32) for v in (gamma, beta, mean, variance)])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seed', type=int, default=2024)
    parser.add_argument('--out', default='examples/finn_cnv_random/finn_cnv_random.h5')
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(args.seed)
    model = build_finn_cnv()
    randomize(model, np.random.default_rng(args.seed))
    model.save(args.out, include_optimizer=False)
    print(f'wrote {args.out}: {model.count_params()} parameters')


if __name__ == '__main__':
    main()
