"""Config and function-call templates of ReuseDense for the Vivado and Vitis backends."""

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from .layer import ReuseDense

DENSE_HEADER = 'hls4ml_reuse_dense.h'
COUNTERS_HEADER = 'hls4ml_reuse_counters.h'
HEADERS = (DENSE_HEADER, COUNTERS_HEADER)

reuse_dense_config_template = """struct config{index} : hls4ml_reuse::dense_reuse_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
    static const unsigned n_positions = {n_positions};
    static const unsigned tile = {tile};
    static const bool binary_input = {binary_input};
    static const int input_frac_bits = {input_frac_bits};
    static const unsigned input_bound = {input_bound};
    static const bool thresholded = {thresholded};
    static const bool bipolar_output = {bipolar_output};
    static const bool early_exit = {early_exit};
    static const unsigned counter_id = {index};
    typedef ap_int<{accum_width}> accum_t;
    typedef {threshold_t} threshold_t;
    typedef {plan_t} plan_t;
    typedef {position_t} position_t;
}};\n"""

reuse_dense_function_template = (
    'hls4ml_reuse::dense_reuse<{input_t}, {output_t}, {config}>'
    '({input}, {output}, {kernels}, {positions}, {plan}, {thresholds}, {at_most});'
)


class ReuseDenseConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(ReuseDense)
        self.template = reuse_dense_config_template

    def format(self, node):
        params = self._default_config_params(node)
        params['threshold_t'] = node.get_weights('reuse_thresholds').type.name
        params['plan_t'] = node.get_weights('reuse_plan').type.name
        params['position_t'] = node.get_weights('reuse_positions').type.name
        return self.template.format(**params)


class ReuseDenseFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(ReuseDense, include_header=[f'nnet_utils/{DENSE_HEADER}'])
        self.template = reuse_dense_function_template

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
