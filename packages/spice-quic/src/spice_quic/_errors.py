"""Exception types of spice_quic."""

from __future__ import annotations

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(ValueError):
    """A QUIC blob, output format or output buffer cannot be decoded."""


class EncodeError(ValueError):
    """Pixels, dimensions or image type cannot be encoded."""
