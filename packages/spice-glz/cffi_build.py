"""cffi builder for spice_glz._glz (used by hatch_build.py)."""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"


def _cdef() -> str:
    text = (CSRC / "glz.h").read_text()
    return text.split("/* CDEF-BEGIN */", 1)[1].split("/* CDEF-END */", 1)[0]


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
