"""hls4ml-reuse: reuse-delta and early-exit units for binary networks, bit-exact with QKeras.

hls4ml loads the plugin through its ``hls4ml.backends`` entry point; importing this package
is not needed to use it. When this package is imported first, hls4ml is imported here before
any of our modules, so the entry point never meets a half-imported module of ours, and a
registration that hls4ml swallowed (it only prints a warning) is retried so it fails loudly.
"""

import hls4ml  # noqa: F401  (loads the plugin through the entry point)

from . import plugin

if not plugin.registered():
    plugin.register()

__version__ = '0.1.0'
