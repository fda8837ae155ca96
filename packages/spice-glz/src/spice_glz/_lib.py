"""The compiled core, checked against the version this package expects."""

from __future__ import annotations

from typing import Any

from ._glz import ffi as _ffi
from ._glz import lib as _lib

__all__ = ["ABI", "ffi", "lib"]

ABI = 7
ffi: Any = _ffi
lib: Any = _lib

if lib.spice_glz_core_abi() != ABI or lib.GLZ_ABI != ABI:
    raise ImportError(
        f"spice_glz: compiled core has ABI {lib.spice_glz_core_abi()}, this package needs {ABI}; "
        "rebuild it (pip install -e packages/spice-glz)"
    )
