"""SPICE GLZ image codec and its cross-image dictionary, with a C core compiled by cffi."""

__version__ = "0.1.0"

__all__ = ["__version__"]
