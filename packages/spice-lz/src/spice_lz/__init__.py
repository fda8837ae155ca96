"""SPICE LZ image codec (RGB, alpha and palette types) with a C core compiled by cffi."""

__version__ = "0.1.0"

__all__ = ["__version__"]
