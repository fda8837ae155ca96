"""cffi builder for spice_lz._lz (used by hatch_build.py)."""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"

ffibuilder = FFI()
ffibuilder.cdef((CSRC / "lz.h").read_text().split("#include <stdint.h>", 1)[1].rsplit("#endif", 1)[0])
ffibuilder.set_source(
    "spice_lz._lz",
    '#include "lz.h"',
    sources=[str(CSRC / "lz.c")],
    include_dirs=[str(CSRC)],
    extra_compile_args=["-O3", "-std=c99"],
)
