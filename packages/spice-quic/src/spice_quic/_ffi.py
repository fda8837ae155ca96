"""Loads the compiled core and checks that it matches this Python package."""

from __future__ import annotations

from typing import Any

__all__ = ["ffi", "lib"]

_EXPECTED_ABI = 3

try:
    from spice_quic._quic import ffi as _ffi_mod  # type: ignore[import-not-found]
    from spice_quic._quic import lib as _lib_mod
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "spice_quic's compiled core (spice_quic._quic) is missing; reinstall spice-quic"
    ) from exc

ffi: Any = _ffi_mod
lib: Any = _lib_mod

if not hasattr(lib, "spice_quic_abi") or lib.spice_quic_abi() != _EXPECTED_ABI:
    found = lib.spice_quic_abi() if hasattr(lib, "spice_quic_abi") else "none"
    raise ImportError(
        f"spice_quic._quic is stale (core ABI {found}, package needs {_EXPECTED_ABI}); "
        "rebuild it with: pip install -e packages/spice-quic"
    )

lib.spice_quic_init()
