"""What spice view loads before its first picture: pysdl2 without a system search for SDL when
pysdl2-dll's folder has it (the system's SDL when that folder's does not load), no Pillow."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from spice_cli import _sdl_import
from spice_cli._sdl_import import SDL_NAMES, bundled_sdl_folder

#: Imports sdl2 through spice_cli with ctypes.util.find_library counting the names asked;
#: prints what was asked, which SDL loaded and whether pysdl2 kept the real search.
_PROBE = """
import ctypes.util, json, sys
asked = []
real = ctypes.util.find_library
def counting(name):
    asked.append(name)
    return real(name)
ctypes.util.find_library = counting
try:
    from spice_cli._sdl_import import import_sdl2
    sdl2 = import_sdl2()
except ImportError as exc:
    print(json.dumps({"asked": asked, "error": str(exc)}))
    sys.exit(0)
print(json.dumps({
    "asked": asked,
    "loaded": sdl2.dll.get_dll_file(),
    "search_kept": sdl2.dll.find_library is counting and ctypes.util.find_library is counting,
}))
"""


def _fresh(script: str, env: dict[str, str] | None = None) -> str:
    """What ``script`` prints when run in a fresh interpreter (which must exit 0)."""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _probe(env: dict[str, str]) -> dict[str, Any]:
    got: dict[str, Any] = json.loads(_fresh(_PROBE, env))
    return got


def _env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_pysdl2_dll_sdl_loads_without_asking_the_system() -> None:
    folder = bundled_sdl_folder()
    assert folder is not None  # pysdl2-dll is a dependency of spice-cli
    got = _probe(_env(PYSDL2_DLL_PATH=None))
    assert not set(got["asked"]) & SDL_NAMES
    assert Path(str(got["loaded"])).parent == folder
    assert got["search_kept"] is True  # pysdl2 and ctypes have the real search back


def test_a_folder_whose_sdl_does_not_load_falls_back_to_the_system_search(tmp_path: Path) -> None:
    (tmp_path / "libSDL2-2.0.so").write_bytes(b"not a library")
    got = _probe(_env(PYSDL2_DLL_PATH=str(tmp_path)))
    assert {"SDL2", "SDL2-2.0"} <= set(got["asked"])
    if "error" in got:  # no SDL on this system: pysdl2's own error, as without spice_cli
        assert "SDL2" in str(got["error"])
    else:
        assert Path(str(got["loaded"])).parent != tmp_path


def test_system_means_the_real_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSDL2_DLL_PATH", "system")
    assert bundled_sdl_folder() is None
    monkeypatch.setenv("PYSDL2_DLL_PATH", str(tmp_path))
    assert bundled_sdl_folder() is None  # a folder without SDL
    (tmp_path / "libSDL2_ttf-2.0.so").touch()
    (tmp_path / ".libSDL2-2.0.so").touch()
    assert bundled_sdl_folder() is None  # neither is SDL itself
    (tmp_path / "libSDL2-2.0.so.0").touch()
    assert bundled_sdl_folder() == tmp_path
    monkeypatch.setenv("PYSDL2_DLL_PATH", os.pathsep.join([str(tmp_path / "none"), str(tmp_path)]))
    assert bundled_sdl_folder() == tmp_path


def test_only_sdl_names_are_hidden_and_only_while_pysdl2_loads() -> None:
    real = ctypes.util.find_library
    with _sdl_import._sdl_not_on_the_system():
        assert all(ctypes.util.find_library(name) is None for name in SDL_NAMES)
        assert ctypes.util.find_library("c") == real("c") is not None
    assert ctypes.util.find_library is real


def test_pillow_loads_with_the_first_overlay_or_report_not_at_start() -> None:
    """Pillow (~27 ms of the start) is for the statistics overlay and the bug report only."""
    script = (
        "import sys, numpy as np\n"
        "import spice_cli._view, spice_cli._sdl_viewer, spice_cli._sdl_audio\n"
        "print('PIL' in sys.modules)\n"
        "from spice_cli._sdl_overlay import overlay_patch\n"
        "patch = overlay_patch(np.full((20, 60, 4), 90, np.uint8), ['fps'])\n"
        "print('PIL' in sys.modules, int(patch[:, :, 0].max()), int(patch[:, :, 0].min()))\n"
    )
    assert _fresh(script).split() == ["False", "True", "255", "30"]  # white text on the darkened band
