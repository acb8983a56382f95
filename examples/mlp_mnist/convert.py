"""Convert the shipped MLP with ReusePruning, C-simulate it and compare with QKeras.

    .venv/bin/python examples/mlp_mnist/convert.py --images 1000 --out out/mlp_mnist

This is what a user writes: plain hls4ml calls; the plugin is found through hls4ml's entry point.
"""

import argparse
from pathlib import Path

import hls4ml
import numpy as np
from qkeras.utils import load_qmodel

from hls4ml_reuse.cli.datasets import load_mnist

MODEL = Path(__file__).with_name('mlp_mnist.h5')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--out', default='out/mlp_mnist')
    args = parser.parse_args()

    model = load_qmodel(str(MODEL), compile=False)
    config = hls4ml.utils.config_from_keras_model(model, granularity='name')
    config['Model']['ReusePruning'] = True
    config['LayerName']['pixels']['Precision'] = {'result': 'ufixed<8,0>'}  # pixels are k/256
    hls_model = hls4ml.converters.convert_from_keras_model(
        model,
        hls_config=config,
        io_type='io_stream',
        backend='Vivado',
        part='xc7z100ffg900-2',
        clock_period=5,
        output_dir=args.out,
    )
    hls_model.compile()

    _, test = load_mnist()
    x = np.ascontiguousarray(test.x[: args.images])
    firmware, keras = hls_model.predict(x), model.predict(x, verbose=0)
    print(
        f'{args.images} images: {np.count_nonzero(firmware != keras)} outputs differ from QKeras; '
        f'accuracy {np.mean(np.argmax(firmware, axis=1) == test.y[: args.images]):.4f}'
    )
    print(f'project written to {args.out}')


if __name__ == '__main__':
    main()
