"""SDK version reported in the worker's hello message."""

__version__ = "0.22.0"
