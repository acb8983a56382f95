"""The ``hls4ml-reuse`` command line: bench, build and report on a shipped example, a model or a YAML."""

from .main import main

__all__ = ['main']
