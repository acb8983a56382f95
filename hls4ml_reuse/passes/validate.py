"""Checks that run once per conversion, before any layer is rewritten."""

from hls4ml.model.optimizer import ModelOptimizerPass

from ..config import ReusePruningConfigError, any_enabled, settings_for

SUPPORTED_BACKENDS = ('Vivado', 'Vitis')
UNSUPPORTED_CONVOLUTIONS = ('Conv1D', 'DepthwiseConv1D', 'DepthwiseConv2D', 'SeparableConv1D', 'SeparableConv2D')


class ValidateReusePruning(ModelOptimizerPass):
    """Reject malformed ReusePruning keys, unsupported backends/io types and unsupported layers.

    Refuses (raises ReusePruningConfigError) when the flag is on and: the backend is not Vivado or
    Vitis, io_type is not io_stream, or a convolution other than Conv2D asks for it.
    Returns False: it never changes the graph.
    """

    def __init__(self):
        self.name = 'reuse_pruning_validate'

    def transform(self, model):
        hls_config = model.config.config.get('HLSConfig', {})
        if not any_enabled(hls_config):
            return False
        backend = model.config.backend.name if model.config.backend is not None else None
        if backend not in SUPPORTED_BACKENDS:
            raise ReusePruningConfigError(f'ReusePruning supports the Vivado and Vitis backends, not {backend}')
        io_type = model.config.get_config_value('IOType')
        if io_type != 'io_stream':
            raise ReusePruningConfigError(f"ReusePruning builds streaming units: use io_type='io_stream', not {io_type!r}")
        for layer in model.get_layers():
            if (
                layer.class_name in UNSUPPORTED_CONVOLUTIONS
                and settings_for(hls_config, layer.name, layer.class_name).enabled
            ):
                raise ReusePruningConfigError(
                    f'layer {layer.name!r} ({layer.class_name}): ReusePruning plans Dense and Conv2D layers only; '
                    f'set ReusePruning: false for it under LayerName (it then converts as stock hls4ml)'
                )
        return False
