"""Embeddable SPICE server for trio: serve any framebuffer to real SPICE clients."""

__version__ = "0.1.0"

__all__ = ["__version__"]
