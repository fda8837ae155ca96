"""Exception types of spice_glz."""

from __future__ import annotations

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(ValueError):
    """A GLZ blob (or its zlib wrapper) is malformed, or cannot be decoded against the window."""


class EncodeError(ValueError):
    """Pixels or parameters that cannot be GLZ-encoded."""
