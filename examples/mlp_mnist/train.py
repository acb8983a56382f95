"""Train the shipped binary MLP (784-256-256-256-10) on full MNIST, plainly.

Binary weights and activations in the spirit of FINN's SFC/LFC; no regularizer that
favours reuse, so the pruning figures speak for ordinary models. Input pixels are k/256,
exact in ap_ufixed<8,0>.

    python examples/mlp_mnist/train.py --epochs 10 --out examples/mlp_mnist/mlp_mnist.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QDense, binary
from tensorflow.keras import layers
from tqdm.keras import TqdmCallback

from hls4ml_reuse.cli.datasets import load_mnist


def build_mlp(hidden=(256, 256, 256), n_classes=10):
    inputs = layers.Input((784,), name='pixels')
    x = inputs
    for i, width in enumerate(hidden):
        x = QDense(width, kernel_quantizer=binary(alpha=1), use_bias=False, name=f'fc{i}')(x)
        x = layers.BatchNormalization(name=f'bn{i}')(x)
        x = QActivation('binary(alpha=1)', name=f'sign{i}')(x)
    x = QDense(n_classes, kernel_quantizer=binary(alpha=1), use_bias=False, name='logits')(x)
    return tf.keras.Model(inputs, x, name='mlp_mnist')


def scaled_logit_loss(labels, logits):
    """Softmax cross-entropy on logits / 16: binary logits span [-256, 256], which would saturate it."""
    return tf.keras.losses.sparse_categorical_crossentropy(labels, logits / LOGIT_TEMPERATURE, from_logits=True)


LOGIT_TEMPERATURE = 16.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--out', default='examples/mlp_mnist/mlp_mnist.h5')
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(args.seed)
    train, test = load_mnist()
    model = build_mlp()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss=scaled_logit_loss,
        metrics=['accuracy'],
    )
    model.fit(
        train.x,
        train.y,
        batch_size=128,
        epochs=args.epochs,
        verbose=0,
        callbacks=[TqdmCallback(verbose=1)],
        validation_data=(test.x, test.y),
    )
    accuracy = float(np.mean(np.argmax(model.predict(test.x, verbose=0), axis=1) == test.y))
    print(f'test accuracy {accuracy:.4f}')
    model.save(args.out, include_optimizer=False)


if __name__ == '__main__':
    main()
