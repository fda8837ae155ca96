"""SPICE client library for trio: connect, channels, decoded display, cursor and input."""

__version__ = "0.1.0"

__all__ = ["__version__"]
