"""Train the shipped CNV-style binary network on full MNIST, plainly.

FINN's CNV topology (3x3 binary convolutions of 64/128/256 channels with 2x2 max pooling,
then binary dense 512-512-10) adapted to 28x28x1: valid convolutions except the last, which
uses 'same' padding so that a 2x2 map remains. No regularizer that favours reuse, so the
pruning figures speak for ordinary models. Input pixels are k/256, exact in ap_ufixed<8,0>.

    python examples/cnv_mnist/train.py --epochs 8 --out examples/cnv_mnist/cnv_mnist.h5
"""

import argparse

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, binary
from tensorflow.keras import layers
from tqdm.keras import TqdmCallback

from hls4ml_reuse.cli.datasets import load_mnist

# (filters, padding) per convolution; None marks a 2x2 max pooling
CONV_BLOCKS = ((64, 'valid'), (64, 'valid'), None, (128, 'valid'), (128, 'valid'), None, (256, 'valid'), (256, 'same'))
DENSE_WIDTHS = (512, 512)
BATCH_SIZE = 128
LOGIT_TEMPERATURE = 32.0  # binary logits span [-512, 512], which would saturate a plain softmax


def binary_block(x, layer, name):
    x = layer(x)
    x = layers.BatchNormalization(name=f'bn_{name}')(x)
    return QActivation('binary(alpha=1)', name=f'sign_{name}')(x)


def build_cnv(input_shape=(28, 28, 1), n_classes=10):
    inputs = layers.Input(input_shape, name='pixels')
    x = inputs
    for i, block in enumerate(CONV_BLOCKS):
        if block is None:
            x = layers.MaxPooling2D(2, name=f'pool{i}')(x)
            continue
        filters, padding = block
        conv = QConv2D(filters, 3, padding=padding, kernel_quantizer=binary(alpha=1), use_bias=False, name=f'conv{i}')
        x = binary_block(x, conv, f'conv{i}')
    x = layers.Flatten(name='flatten')(x)
    for i, width in enumerate(DENSE_WIDTHS):
        x = binary_block(x, QDense(width, kernel_quantizer=binary(alpha=1), use_bias=False, name=f'fc{i}'), f'fc{i}')
    x = QDense(n_classes, kernel_quantizer=binary(alpha=1), use_bias=False, name='logits')(x)
    return tf.keras.Model(inputs, x, name='cnv_mnist')


def scaled_logit_loss(labels, logits):
    return tf.keras.losses.sparse_categorical_crossentropy(labels, logits / LOGIT_TEMPERATURE, from_logits=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--out', default='examples/cnv_mnist/cnv_mnist.h5')
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(args.seed)
    train, test = load_mnist()
    x_train, x_test = train.x.reshape(-1, 28, 28, 1), test.x.reshape(-1, 28, 28, 1)
    model = build_cnv()
    steps = args.epochs * int(np.ceil(len(x_train) / BATCH_SIZE))
    learning_rate = tf.keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=scaled_logit_loss, metrics=['accuracy'])
    model.fit(
        x_train,
        train.y,
        batch_size=BATCH_SIZE,
        epochs=args.epochs,
        verbose=0,
        callbacks=[TqdmCallback(verbose=1)],
        validation_data=(x_test, test.y),
    )
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == test.y))
    print(f'test accuracy {accuracy:.4f}')
    model.save(args.out, include_optimizer=False)


if __name__ == '__main__':
    main()
