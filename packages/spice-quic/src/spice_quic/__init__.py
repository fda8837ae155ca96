"""SPICE QUIC image codec (decoder and encoder) with a C core compiled by cffi."""

__version__ = "0.1.0"

__all__ = ["__version__"]
