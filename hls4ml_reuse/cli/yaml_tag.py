"""A YAML tag for hls4ml configuration files: ``KerasModel: !qkeras_model path/to/model.h5``.

hls4ml 1.3.0's ``convert_from_config`` reads only ``KerasModel`` (``KerasH5`` is ignored and
nothing is converted), and its own ``!keras_model`` tag loads without QKeras' custom
objects, so QKeras models fail to load. This tag loads them with QKeras; TensorFlow is
imported only when a file uses it.
"""

from __future__ import annotations

import yaml

TAG = '!qkeras_model'


def _construct_qkeras_model(loader, node):
    from qkeras.utils import load_qmodel

    path = loader.construct_scalar(node)
    model = load_qmodel(path, compile=False)
    model.source_path = path  # lets `hls4ml-reuse bench` find a shipped example's test images
    return model


def register_yaml_tag() -> None:
    yaml.add_constructor(TAG, _construct_qkeras_model, Loader=yaml.SafeLoader)
