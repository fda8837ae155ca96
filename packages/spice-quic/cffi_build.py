"""cffi builder for ``spice_quic._quic`` (run by hatch_build.py at wheel/editable build time)."""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
SOURCES = ["quic_tables.c", "quic_decode.c", "quic_encode.c"]

# The public header's declarations (after the includes) are the cdef.
_header = (CSRC / "quic.h").read_text()
_cdef = _header.split("#include <stdint.h>", 1)[1].rsplit("#endif", 1)[0]

ffibuilder = FFI()
ffibuilder.cdef(_cdef)
ffibuilder.set_source(
    "spice_quic._quic",
    '#include "quic.h"',
    sources=[str(CSRC / name) for name in SOURCES],
    include_dirs=[str(CSRC)],
    depends=[str(p) for p in sorted(CSRC.glob("*.h"))],
    extra_compile_args=["-O3", "-std=c99", "-fno-strict-aliasing"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
