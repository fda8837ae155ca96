"""Loads the compiled core and checks that it matches this Python package."""

from __future__ import annotations

from typing import Any

__all__ = ["EXPECTED_ABI", "check_abi", "ffi", "lib"]

#: Interface version of csrc/quic.h this package was written against.
EXPECTED_ABI = 5


def check_abi(core: Any) -> None:
    """Raise ImportError unless ``core`` (the compiled lib) has the interface version this package needs."""
    found = core.spice_quic_abi() if hasattr(core, "spice_quic_abi") else None
    if found != EXPECTED_ABI:
        raise ImportError(
            f"spice_quic._quic is stale (core ABI {found}, package needs {EXPECTED_ABI}); "
            "rebuild it with: pip install -e packages/spice-quic"
        )


try:
    from spice_quic._quic import ffi as _ffi_mod  # type: ignore[import-not-found]
    from spice_quic._quic import lib as _lib_mod
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "spice_quic's compiled core (spice_quic._quic) is missing; reinstall spice-quic"
    ) from exc

ffi: Any = _ffi_mod
lib: Any = _lib_mod
check_abi(lib)
lib.spice_quic_init()
