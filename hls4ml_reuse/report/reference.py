"""Published designs to compare a report with, matched by topology.

FINN's SFC-max (Umuroglu et al., "FINN: A Framework for Fast, Scalable Binarized Neural Network Inference",
FPGA 2017, table 2): a 784-256-256-256-10 binary MLP on the ZC706 (Zynq XC7Z045), 12.3 M images/s at 91,131 LUTs
(about 135 images/s per LUT). Published figures, placed-and-routed by Vivado on another part: a reference row,
not a like-for-like measurement.
"""

from __future__ import annotations

FINN_SFC_MAX = {
    'name': 'FINN SFC-max (ZC706, published)',
    'source': 'Umuroglu et al., FPGA 2017, table 2',
    'topology': [(256, 784), (256, 256), (256, 256), (10, 256)],  # (N, K) per layer
    'images_per_s': 12.3e6,
    'lut': 91131,
}

PUBLISHED = (FINN_SFC_MAX,)


def reference_for(result: dict) -> dict | None:
    """The published design with the report's topology (layers' N x K in order), with its images/s per LUT."""
    topology = [(layer['n'], layer['k']) for layer in result['layers']]
    for design in PUBLISHED:
        if design['topology'] == topology:
            return {**design, 'images_per_s_per_lut': design['images_per_s'] / design['lut']}
    return None


def per_lut(images_per_s: dict, lut: dict) -> dict:
    """images/s per LUT, ours and stock."""
    return {key: images_per_s[key] / lut[key] for key in ('reuse', 'stock')}
