"""Import pysdl2 quickly: no search of the system's libraries when pysdl2-dll brings SDL.

pysdl2 looks for SDL in ``$PYSDL2_DLL_PATH`` (pysdl2-dll's folder by default) *and* asks
:func:`ctypes.util.find_library` for six names, whatever it found there.  On Linux each
name the linker cache lacks costs a run of ``ldconfig``, ``gcc`` and ``ld``: four of the
six, 60-80 ms of wall time on a quiet machine (about as much with both cores busy), all
for libraries it does not load when the folder has SDL.  So while pysdl2 loads, those names
answer "not on the system" when the folder has an SDL; any other name, or a folder without
SDL, gets the real search.  Should the folder's SDL not load, the import runs again with
the real search (pysdl2's own fallback to the system's SDL).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import cast

__all__ = ["SDL_NAMES", "bundled_sdl_folder", "import_sdl2"]

#: The names pysdl2 asks the system for (its list, each also with a debug ``d`` suffix).
SDL_NAMES = frozenset(name + suffix for name in ("SDL2", "SDL2-2.0", "SDL2-2.0.0") for suffix in ("", "d"))

_lock = threading.Lock()


def bundled_sdl_folder() -> Path | None:
    """The folder pysdl2 will load SDL from first, if it holds an SDL library; else None.

    That is ``$PYSDL2_DLL_PATH`` when set (``system`` names none), else pysdl2-dll's folder.
    """
    folder = os.environ.get("PYSDL2_DLL_PATH")
    if folder is None:
        try:
            import sdl2dll  # sets $PYSDL2_DLL_PATH to its folder, as pysdl2's import would
        except ImportError:
            return None
        folder = os.environ.get("PYSDL2_DLL_PATH") or sdl2dll.get_dllpath()
    if folder.lower() == "system":
        return None
    for part in folder.split(os.pathsep):
        with contextlib.suppress(OSError), os.scandir(part) as entries:
            if any(_is_sdl(entry.name) for entry in entries):
                return Path(part)
    return None


def _is_sdl(filename: str) -> bool:
    """Whether pysdl2 would take ``filename`` for SDL (``libSDL2.so``, ``libSDL2-2.0.so.0``...)."""
    if filename.startswith("."):
        return False
    return any(filename.startswith(f"lib{name}.so") for name in SDL_NAMES) or any(
        filename in (f"{name}.dll", f"lib{name}.dylib") for name in SDL_NAMES
    )


@contextlib.contextmanager
def _sdl_not_on_the_system() -> Iterator[None]:
    """``ctypes.util.find_library`` answering None for SDL's names while the block runs."""
    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return None if name in SDL_NAMES else real(name)

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = real
        # pysdl2's loader keeps the function it imported: give it back the real one
        loader = sys.modules.get("sdl2.dll")
        if loader is not None and getattr(loader, "find_library", None) is find_library:
            loader.find_library = real  # type: ignore[attr-defined]


def _forget_sdl2() -> None:
    for name in [name for name in sys.modules if name == "sdl2" or name.startswith("sdl2.")]:
        del sys.modules[name]


def import_sdl2() -> ModuleType:
    """``import sdl2``, without the system search when the bundled folder has SDL.

    pysdl2-dll's notice of which SDL it loads is silenced (just that message).
    """
    # A filter for just that message, not catch_warnings(): this may run in a worker thread,
    # and catch_warnings() swaps the whole process's filters.
    warnings.filterwarnings("ignore", message="Using SDL2 binaries from pysdl2-dll", category=UserWarning)
    with _lock:
        loaded = sys.modules.get("sdl2")
        if loaded is not None:
            return loaded
        if bundled_sdl_folder() is not None:
            try:
                with _sdl_not_on_the_system():
                    import sdl2
                return cast(ModuleType, sdl2)
            except ImportError:  # the folder's SDL did not load: pysdl2 searches the system
                _forget_sdl2()
        import sdl2

        return cast(ModuleType, sdl2)
