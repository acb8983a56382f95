"""hls4ml-reuse: reuse-delta and early-exit units for binary networks, bit-exact with QKeras.

hls4ml loads the plugin through its ``hls4ml.backends`` entry point; importing this package
is not needed to use it.
"""

__version__ = '0.1.0'
