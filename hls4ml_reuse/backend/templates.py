"""Config and function-call templates of the reuse units for the Vivado and Vitis backends."""

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from ..ir.constants import SHARED_WITH_FIRMWARE
from ..ir.layers import POOL2D_GEOMETRY, ReuseConv2D, ReuseDense, ReuseMaxPool1D, ReuseMaxPool2D

UNIT_HEADER = 'hls4ml_reuse_unit.h'
DENSE_HEADER = 'hls4ml_reuse_dense.h'
CONV2D_HEADER = 'hls4ml_reuse_conv2d.h'
TABLES_HEADER = 'hls4ml_reuse_tables.h'
COUNTERS_HEADER = 'hls4ml_reuse_counters.h'
FAST_CSIM_HEADER = 'hls4ml_reuse_fast_csim.h'
WALK_HEADER = 'hls4ml_reuse_walk.h'
POOL_HEADER = 'hls4ml_reuse_pool.h'
UNROLLED_HEADER = 'hls4ml_reuse_unrolled.h'
HEADERS = (
    UNIT_HEADER, UNROLLED_HEADER, DENSE_HEADER, CONV2D_HEADER, TABLES_HEADER, WALK_HEADER, COUNTERS_HEADER, FAST_CSIM_HEADER,
    POOL_HEADER,
)  # fmt: skip

# ir/constants.py's values, which the headers static_assert against their own (see hls4ml_reuse_tables.h).
shared_fields = ''.join(f'    static const unsigned {name} = {value};\n' for name, value in SHARED_WITH_FIRMWARE.items())

unit_config_fields = """    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
    static const unsigned n_kernels = {n_kernels};
    static const unsigned n_positions = {n_positions};
    static const unsigned tile = {tile};
    static const bool banked = {banked};
    static const bool binary_input = {binary_input};
    static const int input_frac_bits = {input_frac_bits};
    static const unsigned input_bound = {input_bound};
    static const bool thresholded = {thresholded};
    static const bool bipolar_output = {bipolar_output};
    static const bool early_exit = {early_exit};
    static const bool zero_skip = {zero_skip};
    static const bool window_reuse = {window_reuse};
    static const unsigned counter_id = {index};
    typedef ap_int<{accum_width}> accum_t;
    typedef ap_int<{raw_width}> raw_t;
    typedef {threshold_t} threshold_t;
    typedef {plan_t} plan_t;
    typedef {position_t} position_t;
    template <class data_T, class res_T, class CONFIG_T>
    using implementation = {implementation}<data_T, res_T, CONFIG_T>;
"""

conv2d_config_fields = """    static const unsigned in_height = {in_height};
    static const unsigned in_width = {in_width};
    static const unsigned n_chan = {n_chan};
    static const unsigned filt_height = {filt_height};
    static const unsigned filt_width = {filt_width};
    static const unsigned stride_height = {stride_height};
    static const unsigned stride_width = {stride_width};
    static const unsigned pad_top = {pad_top};
    static const unsigned pad_left = {pad_left};
    static const unsigned out_height = {out_height};
    static const unsigned out_width = {out_width};
    static const unsigned pool_height = {pool_height};
    static const unsigned pool_width = {pool_width};
    static const unsigned pooled_height = {pooled_height};
    static const unsigned pooled_width = {pooled_width};
"""

unit_fields = unit_config_fields + shared_fields
reuse_dense_config_template = 'struct config{index} : hls4ml_reuse::dense_reuse_config {{\n' + unit_fields + '}};\n'
reuse_conv2d_config_template = (
    'struct config{index} : hls4ml_reuse::conv2d_reuse_config {{\n' + unit_fields + conv2d_config_fields + '}};\n'
)

reuse_unit_function_template = (
    'hls4ml_reuse::reuse_unit<{input_t}, {output_t}, {config}>'
    '({input}, {output}, {kernels}, {positions}, {plan}, {thresholds}, {at_most});'
)


def implementation(kind: str, node) -> str:
    """The header struct that implements a `kind` unit ('dense' or 'conv2d') in the node's shape."""
    shape = node.get_attr('unit').folding.shape  # Shape: 'folded' or 'unrolled'
    return f'hls4ml_reuse::{kind}_{shape}'


class ReuseUnitConfigTemplate(LayerConfigTemplate):
    def __init__(self, layer_class, template, kind):
        super().__init__(layer_class)
        self.template = template
        self.kind = kind

    def format(self, node):
        params = self._default_config_params(node)
        params['implementation'] = implementation(self.kind, node)
        params['threshold_t'] = node.get_weights('reuse_thresholds').type.name
        params['plan_t'] = node.get_weights('reuse_plan').type.name
        params['position_t'] = node.get_weights('reuse_positions').type.name
        return self.template.format(**params)


class ReuseUnitFunctionTemplate(FunctionCallTemplate):
    def __init__(self, layer_class, header):
        super().__init__(layer_class, include_header=[f'nnet_utils/{header}'])
        self.template = reuse_unit_function_template

    def format(self, node):
        params = self._default_function_params(node)
        params.update(
            kernels=node.get_weights('reuse_kernels').name,
            positions=node.get_weights('reuse_positions').name,
            plan=node.get_weights('reuse_plan').name,
            thresholds=node.get_weights('reuse_thresholds').name,
            at_most=node.get_weights('reuse_at_most').name,
        )
        return self.template.format(**params)


class ReuseDenseConfigTemplate(ReuseUnitConfigTemplate):
    def __init__(self):
        super().__init__(ReuseDense, reuse_dense_config_template, 'dense')


class ReuseDenseFunctionTemplate(ReuseUnitFunctionTemplate):
    def __init__(self):
        super().__init__(ReuseDense, DENSE_HEADER)


class ReuseConv2DConfigTemplate(ReuseUnitConfigTemplate):
    def __init__(self):
        super().__init__(ReuseConv2D, reuse_conv2d_config_template, 'conv2d')


class ReuseConv2DFunctionTemplate(ReuseUnitFunctionTemplate):
    def __init__(self):
        super().__init__(ReuseConv2D, CONV2D_HEADER)


max_pool2d_config_template = (
    'struct config{index} : hls4ml_reuse::max_pool2d_config {{\n'
    + ''.join(f'    static const unsigned {key} = {{{key}}};\n' for key in POOL2D_GEOMETRY)
    + '}};\n'
)
max_pool2d_function_template = 'hls4ml_reuse::max_pool2d<{input_t}, {output_t}, {config}>({input}, {output});'
MAX_POOLINGS = (ReuseMaxPool2D, ReuseMaxPool1D)  # one header: a 1-D pooling is a 2-D one of height 1


class ReuseMaxPoolConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(MAX_POOLINGS)
        self.template = max_pool2d_config_template

    def format(self, node):
        return self.template.format(**self._default_config_params(node))


class ReuseMaxPoolFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(MAX_POOLINGS, include_header=[f'nnet_utils/{POOL_HEADER}'])
        self.template = max_pool2d_function_template

    def format(self, node):
        return self.template.format(**self._default_function_params(node))


TEMPLATES = (
    ReuseDenseConfigTemplate, ReuseDenseFunctionTemplate, ReuseConv2DConfigTemplate, ReuseConv2DFunctionTemplate,
    ReuseMaxPoolConfigTemplate, ReuseMaxPoolFunctionTemplate,
)  # fmt: skip
