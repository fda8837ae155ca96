"""The compiled cffi core, checked against the interface this package was written for."""

from __future__ import annotations

from typing import Any

ABI = 5

try:
    from ._lz import ffi as _ffi  # type: ignore[import-not-found]
    from ._lz import lib as _lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        f"spice_lz: the compiled core spice_lz._lz is missing ({exc}); reinstall spice-lz"
    ) from exc

ffi: Any = _ffi
lib: Any = _lib

if lib.spice_lz_core_abi() != ABI:  # pragma: no cover - only with a stale build
    raise ImportError(
        f"spice_lz: compiled core has ABI {lib.spice_lz_core_abi()}, this package needs {ABI}; "
        "rebuild it (pip install -e packages/spice-lz)"
    )
