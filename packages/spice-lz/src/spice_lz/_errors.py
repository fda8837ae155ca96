"""Exception types of spice_lz."""

from __future__ import annotations


class DecodeError(ValueError):
    """A blob (or the buffer, palette or format given with it) cannot be decoded."""


class EncodeError(ValueError):
    """The pixels, dimensions or image type given to :func:`encode` are unusable."""
