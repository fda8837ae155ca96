"""cffi builder for ``spice_quic._quic`` (run by hatch_build.py at wheel/editable build time)."""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
SOURCES = ["quic_tables.c", "quic_decode.c", "quic_encode.c"]


def _between(name: str, begin: str, end: str) -> str:
    return (CSRC / name).read_text().split(begin, 1)[1].split(end, 1)[0]


# The shared status codes and error struct, then the public header's declarations.
_cdef = _between("spice_codec.h", "/* SC-CDEF-BEGIN */", "/* SC-CDEF-END */") + _between(
    "quic.h", "/* CDEF BEGIN */", "/* CDEF END */"
)

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
