"""What a command works on: a shipped example, a QKeras .h5 model or an hls4ml YAML configuration, with its inputs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ReusePruningConfigError, validate
from . import conversion
from .datasets import InputError, exact_precision, fractional_bits, load_npz, one_line
from .examples import EXAMPLES, Example, get_example, load_keras_model


@dataclass
class Target:
    name: str
    model: object
    x: np.ndarray
    y: np.ndarray | None  # labels; None for random images or an .npz without y
    input_precision: str
    input_frac_bits: int
    hls_config: dict | None = None  # from a YAML configuration; None: our defaults
    part: str = conversion.PART
    clock_period_ns: float = conversion.CLOCK_PERIOD_NS
    input_precision_given: bool = False  # --data / --input-precision: it overrides the YAML's input type

    def reuse_config(self, **settings) -> dict:
        if self.hls_config is None:
            return conversion.reuse_config(self.model, self.input_precision, **settings)
        config = copy.deepcopy(self.hls_config)
        config.setdefault('Model', {}).update(settings)
        if self.input_precision_given:
            conversion.set_input_precision(config, self.model, self.input_precision)
        return config

    def convert(self, config: dict, output_dir: str):
        """Convert and compile with this target's part and clock."""
        return conversion.convert(self.model, config, output_dir, part=self.part, clock_period_ns=self.clock_period_ns)


MNIST_SHAPES = ((784,), (28, 28, 1))
MNIST_PRECISION = 'ufixed<8,0>'  # pixels k/256


def resolve(name_or_model: str, data: str | None = None, input_precision: str | None = None) -> Target:
    """A shipped example, a QKeras .h5 model, or an hls4ml YAML configuration (``KerasModel: !qkeras_model``).

    Its inputs come from ``data`` (an .npz with x and optional y) when given, else from the example's own
    test data, else from MNIST. The input type is ``input_precision`` when given, else the smallest type
    exact for the .npz inputs, else the example's (pixels k/256).
    """
    name, model, example, extra = _load(name_or_model)
    if data is not None:
        x, y = load_npz(data, _input_shape(name, model))
        precision = input_precision or exact_precision(x, data)
    elif example is not None:  # a shipped model: its own test images (random pixels for finn-cnv-random)
        x, y = example.test_data()
        precision = input_precision or example.input_precision
    else:
        x, y = _mnist_data(name, model)
        precision = input_precision or MNIST_PRECISION
    given = data is not None or input_precision is not None
    return Target(name, model, x, y, precision, fractional_bits(precision), input_precision_given=given, **extra)


def _load(name_or_model: str) -> tuple[str, object, Example | None, dict]:
    """(name, model, shipped example or None, Target fields from a YAML configuration)."""
    if name_or_model in EXAMPLES:
        example = get_example(name_or_model)
        return example.name, load_keras_model(example.model_path), example, {}
    path = Path(name_or_model)
    if not path.exists():
        raise InputError(f'{name_or_model}: neither a shipped example ({", ".join(EXAMPLES)}) nor a file')
    if path.suffix in ('.yml', '.yaml'):
        return _load_yaml(path)
    return path.stem, load_keras_model(path), None, {}


def _input_shape(name: str, model) -> tuple:
    """The shape of one input sample; the bench feeds models with a single input only."""
    if not isinstance(model.input_shape, tuple):
        raise InputError(f'{name}: the model has {len(model.input_shape)} inputs; the bench feeds one')
    return tuple(model.input_shape[1:])


def _mnist_data(name: str, model) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images shaped for the model: the default inputs of a model given without --data."""
    shape = _input_shape(name, model)
    if shape not in MNIST_SHAPES:
        raise InputError(
            f'{name}: without --data the test images come from MNIST, so the model input must be (784,) or '
            f'(28, 28, 1), not {shape}; pass your inputs with --data FILE.npz'
        )
    from .datasets import load_mnist

    _, test = load_mnist()
    return test.x.reshape(-1, *shape), test.y


def _load_yaml(path: Path) -> tuple[str, object, Example | None, dict]:
    """Model and Target fields of a YAML configuration; its keys are checked now, before any conversion runs."""
    config = _read_yaml(path)
    model, hls_config = config.get('KerasModel'), config.get('HLSConfig')
    if model is None or isinstance(model, str):
        raise InputError(f'{path}: give the model as KerasModel: !qkeras_model path/to/model.h5')
    if not isinstance(hls_config, dict):
        raise InputError(f'{path}: no HLSConfig mapping (with Model, and LayerName or LayerType)')
    try:
        validate(hls_config)
    except ReusePruningConfigError as err:
        raise ReusePruningConfigError(f'{path}: {err}') from err
    extra = dict(
        hls_config=hls_config, part=config.get('Part', conversion.PART),
        clock_period_ns=float(config.get('ClockPeriod', conversion.CLOCK_PERIOD_NS)),
    )  # fmt: skip
    return path.stem, model, _shipped_example(getattr(model, 'source_path', None)), extra


def _read_yaml(path: Path) -> dict:
    """The parsed configuration; InputError when the file is not YAML or not a mapping, or its model will not load."""
    import hls4ml
    import yaml

    try:
        config = hls4ml.converters.parse_yaml_config(str(path))
    except (OSError, ValueError, yaml.YAMLError) as err:  # ValueError: not UTF-8, or a model Keras cannot build
        raise InputError(f'{path}: not a readable hls4ml YAML configuration ({one_line(err)})') from err
    if not isinstance(config, dict):
        raise InputError(f'{path}: not an hls4ml configuration (a mapping with KerasModel and HLSConfig)')
    return config


def _shipped_example(model_path):
    if model_path is None:
        return None
    resolved = Path(model_path).resolve()
    return next((e for e in EXAMPLES.values() if e.model_path.resolve() == resolved), None)
