"""cffi builder for spice_glz._glz (used by hatch_build.py)."""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"


def _between(name: str, begin: str, end: str) -> str:
    return (CSRC / name).read_text().split(begin, 1)[1].split(end, 1)[0]


def _cdef() -> str:
    """The shared status codes and error struct, then the public header's declarations."""
    shared = _between("spice_codec.h", "/* SC-CDEF-BEGIN */", "/* SC-CDEF-END */")
    return shared + _between("glz.h", "/* CDEF-BEGIN */", "/* CDEF-END */")


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "spice_glz._glz",
    '#include "glz.h"',
    sources=[str(p) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC)],
    depends=[str(p) for p in sorted(CSRC.glob("*.h"))],
    extra_compile_args=["-O3", "-std=c99", "-fno-strict-aliasing"],
)
