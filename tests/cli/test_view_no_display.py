"""No screen to show a window on: ``spice view`` says so (exit 12) instead of drawing nowhere.

SDL falls back to its ``offscreen`` driver when no display opens (``$DISPLAY`` unreachable,
or an X server under load refusing the connection): before, ``spice view`` then ran for
ever with its window on no screen (one of twelve rounds of bench_viewer_flood.py at load 4
"never showed the xterm").  A display that refuses is tried again for a while first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sdl2
import trio
from peers.spice_cli_proc import demo_server
from spice_cli import _sdl_window
from spice_cli._exitcodes import ExitCode
from spice_cli._sdl_window import NoDisplay, UnknownVideoDriver, open_video, sdl_video

UNREACHABLE = ":987"  # no X server listens there


@pytest.fixture
def no_screen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An environment naming an X display nobody serves, with no SDL driver asked for."""
    monkeypatch.setenv("DISPLAY", UNREACHABLE)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # SDL's Wayland probe complains without one
    return dict(os.environ)


def test_sdl_does_not_fall_back_to_drawing_nowhere(
    no_screen: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both kinds of display named, neither reachable: SDL's own order ends at its offscreen
    driver, which is refused."""
    monkeypatch.setenv("WAYLAND_DISPLAY", str(Path(no_screen["XDG_RUNTIME_DIR"]) / "no-wayland-here"))
    with pytest.raises(NoDisplay, match=f"DISPLAY={UNREACHABLE}, WAYLAND_DISPLAY=.*'offscreen'"), sdl_video():
        pass
    assert sdl2.SDL_WasInit(0) == 0  # SDL was shut down again


@pytest.mark.parametrize("runtime_dir", [True, False], ids=["XDG_RUNTIME_DIR", "no-XDG_RUNTIME_DIR"])
def test_no_display_named_tries_the_drivers_that_show_windows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runtime_dir: bool
) -> None:
    """Not the headless ones, and Wayland's default socket only where it can be looked for."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    if runtime_dir:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    # KMSDRM could start on a machine whose console is free: leave it out of the try
    drivers = [d for d in _sdl_window._sdl_drivers() if d.lower() != "kmsdrm"]
    monkeypatch.setattr(_sdl_window, "_sdl_drivers", lambda: drivers)
    shows = [d for d in drivers if d.lower() not in {"offscreen", "dummy", "evdev"}]
    assert {"x11", "wayland"} <= set(shows)
    tried = ",".join(d for d in shows if runtime_dir or d != "wayland")
    with pytest.raises(NoDisplay, match=rf"\$DISPLAY is not set\): {tried} not available"), sdl_video():
        pass
    assert sdl2.SDL_WasInit(0) == 0


def test_an_sdl_without_the_driver_hint_chooses_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """SDL before 2.0.22 reads SDL_VIDEODRIVER from the environment only: no hint is set for it."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    assert _sdl_window._drivers_to_try() not in (None, b"")
    monkeypatch.setenv("DISPLAY", UNREACHABLE)
    assert _sdl_window._drivers_to_try() == b"x11"
    monkeypatch.setattr(_sdl_window, "_sdl_version", lambda: (2, 0, 20))
    assert _sdl_window._drivers_to_try() is None
    monkeypatch.delenv("DISPLAY")
    assert _sdl_window._drivers_to_try() is None


def test_an_unreachable_x_display_is_tried_with_x11_only(no_screen: dict[str, str]) -> None:
    """Not also with Wayland (whose library prints a line per try without XDG_RUNTIME_DIR), nor
    with SDL's headless fallbacks; and the failed start leaves nothing of SDL running."""
    with pytest.raises(NoDisplay, match=f"DISPLAY={UNREACHABLE}.*x11 not available"), sdl_video():
        pass
    assert sdl2.SDL_WasInit(0) == 0  # the events subsystem SDL_Init had started is gone too


def test_a_video_driver_sdl_lacks_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "x12")
    with pytest.raises(UnknownVideoDriver, match=r"SDL_VIDEODRIVER=x12 .*x11"), sdl_video():
        pass
    assert sdl2.SDL_WasInit(0) == 0
    monkeypatch.setenv("SDL_VIDEODRIVER", "x12, offscreen")  # SDL trims no spaces in its list
    with pytest.raises(UnknownVideoDriver), sdl_video():
        pass
    monkeypatch.setenv("SDL_VIDEODRIVER", "x12,OFFSCREEN")  # one that exists is enough (SDL tries in order)
    with sdl_video():
        assert sdl2.SDL_GetCurrentVideoDriver() == b"offscreen"


def test_a_headless_driver_asked_for_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with sdl_video():
        assert sdl2.SDL_GetCurrentVideoDriver() == b"dummy"


def _flaky_video(failures: int, calls: list[float]) -> object:
    """A stand-in for sdl_video whose display refuses ``failures`` times."""

    @contextmanager
    def video() -> Iterator[None]:
        calls.append(trio.current_time())
        if len(calls) <= failures:
            raise NoDisplay("refused")
        yield

    return video


async def test_a_display_that_refuses_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, no_screen: dict[str, str], autojump_clock: trio.abc.Clock
) -> None:
    calls: list[float] = []
    monkeypatch.setattr(_sdl_window, "sdl_video", _flaky_video(2, calls))
    with ExitStack() as stack:
        await open_video(stack, patience=5.0)
    assert len(calls) == 3


async def test_a_display_that_keeps_refusing_gives_up_after_the_patience(
    monkeypatch: pytest.MonkeyPatch, no_screen: dict[str, str], autojump_clock: trio.abc.Clock
) -> None:
    calls: list[float] = []
    monkeypatch.setattr(_sdl_window, "sdl_video", _flaky_video(1000, calls))
    with ExitStack() as stack, pytest.raises(NoDisplay):
        await open_video(stack, patience=0.45)
    # at 0, 0.1 and 0.3 s (the waits double), and a last one when the patience ends
    assert [round(t - calls[0], 3) for t in calls] == [0.0, 0.1, 0.3, 0.45]


async def test_no_display_at_all_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.abc.Clock
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    calls: list[float] = []
    monkeypatch.setattr(_sdl_window, "sdl_video", _flaky_video(1000, calls))
    with ExitStack() as stack, pytest.raises(NoDisplay):
        await open_video(stack, patience=5.0)
    assert len(calls) == 1


async def test_a_wayland_display_without_its_runtime_dir_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.abc.Clock
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # its socket is looked for in XDG_RUNTIME_DIR
    calls: list[float] = []
    monkeypatch.setattr(_sdl_window, "sdl_video", _flaky_video(1000, calls))
    with ExitStack() as stack, pytest.raises(NoDisplay):
        await open_video(stack, patience=5.0)
    assert len(calls) == 1
    monkeypatch.setenv("WAYLAND_DISPLAY", "/run/user/0/wayland-0")  # an absolute path needs none
    calls.clear()
    with ExitStack() as stack, pytest.raises(NoDisplay):
        await open_video(stack, patience=5.0)
    assert len(calls) > 1


async def _spice_view(uri: str, env: dict[str, str]) -> tuple[int, str]:
    with trio.fail_after(60):  # before the fix: no exit, the window drawn off screen for ever
        result = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "view", "--no-audio", uri],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return result.returncode, result.stderr.decode()


@pytest.mark.parametrize("display", [UNREACHABLE, None], ids=["unreachable", "unset"])
@pytest.mark.parametrize("runtime_dir", [True, False], ids=["XDG_RUNTIME_DIR", "no-XDG_RUNTIME_DIR"])
async def test_spice_view_without_a_screen_exits_12(
    no_screen: dict[str, str], runtime_dir: bool, display: str | None
) -> None:
    """One line on stderr, also where SDL's Wayland probe would add its own line per try."""
    env = {k: v for k, v in no_screen.items() if (runtime_dir or k != "XDG_RUNTIME_DIR") and k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    with demo_server("320x200") as uri:
        code, err = await _spice_view(uri, env)
    assert code == ExitCode.NO_DISPLAY, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    named = f"DISPLAY={display}" if display else "$DISPLAY is not set"
    assert err.startswith(f"spice: no display: cannot open SDL's video ({named})"), err


async def test_spice_view_with_a_misspelt_video_driver_is_a_usage_error(no_screen: dict[str, str]) -> None:
    with demo_server("320x200") as uri:
        code, err = await _spice_view(uri, {**no_screen, "SDL_VIDEODRIVER": "x12"})
    assert code == ExitCode.USAGE, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "SDL_VIDEODRIVER=x12 names no video driver" in err, err
