"""The viewer window draws on its framebuffer: what is sent to the display is just what changed.

On SDL's offscreen "dummy" driver; ``SDL_UpdateWindowSurfaceRects`` is wrapped to record the
rectangles the window hands to the display each present.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from spice_cli import _sdl_window
from spice_cli._sdl_window import Window, sdl_video

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import sdl2

Rect = tuple[int, int, int, int]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[Rect]]]:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    calls: list[list[Rect]] = []
    real = sdl2.SDL_UpdateWindowSurfaceRects

    def record(window: Any, rects: Any, count: int) -> int:
        calls.append([(rects[i].x, rects[i].y, rects[i].w, rects[i].h) for i in range(count)])
        return int(real(window, rects, count))

    monkeypatch.setattr(sdl2, "SDL_UpdateWindowSurfaceRects", record)
    with sdl_video():
        yield calls


def picture(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    out[:, :, 3] = 0
    return out


def put(window: Window, image: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    window.update(image.reshape(-1), image.shape[1] * 4, x, y, w, h)


def test_only_damaged_rectangles_are_sent_at_one_to_one(sent: list[list[Rect]]) -> None:
    window = Window("t", 64, 48)
    try:
        first = picture(64, 48, 1)
        put(window, first, 0, 0, 64, 48)
        window.present()
        assert sent[-1] == [(0, 0, 64, 48)]
        assert np.array_equal(window.read_pixels()[:, :, :3], first[:, :, :3])
        second = picture(64, 48, 2)
        put(window, second, 8, 4, 16, 10)
        put(window, second, 40, 30, 5, 5)
        window.present()
        assert sent[-1] == [(8, 4, 16, 10), (40, 30, 5, 5)]
        want = first.copy()
        want[4:14, 8:24] = second[4:14, 8:24]
        want[30:35, 40:45] = second[30:35, 40:45]
        assert np.array_equal(window.read_pixels()[:, :, :3], want[:, :, :3])
        window.present()  # nothing changed: nothing sent
        assert sent[-1] == [(8, 4, 16, 10), (40, 30, 5, 5)] and len(sent) == 2
    finally:
        window.close()


def test_an_exposed_window_is_painted_whole(sent: list[list[Rect]]) -> None:
    window = Window("t", 32, 24)
    try:
        image = picture(32, 24, 3)
        put(window, image, 0, 0, 32, 24)
        window.present()
        _sdl_window._exposed.add(int(sdl2.SDL_GetWindowID(window._window)))  # what poll_events records
        window.present()
        assert sent[-1] == [(0, 0, 32, 24)]
        assert np.array_equal(window.read_pixels()[:, :, :3], image[:, :, :3])
    finally:
        window.close()


def test_a_scaled_window_shows_the_whole_picture_letterboxed(sent: list[list[Rect]]) -> None:
    window = Window("t", 40, 20)
    try:
        image = np.zeros((20, 40, 4), np.uint8)
        image[:, :20] = (255, 0, 0, 0)  # left half blue, right half red (B, G, R, X)
        image[:, 20:] = (0, 0, 255, 0)
        put(window, image, 0, 0, 40, 20)
        sdl2.SDL_SetWindowSize(window._window, 80, 80)  # twice as wide: 80x40 with bars above and below
        window.present()
        shown = window.read_pixels()[:, :, :3]
        assert shown.shape == (80, 80, 3)
        assert sent[-1] == [(0, 0, 80, 80)]
        assert (shown[:20] == 0).all() and (shown[60:] == 0).all()  # the bars
        assert (shown[22:58, 2:38] == (255, 0, 0)).all() and (shown[22:58, 42:78] == (0, 0, 255)).all()
        # a damaged rectangle while scaled: the picture is stretched again, whole
        image[:, :] = (0, 255, 0, 0)
        put(window, image, 0, 0, 10, 10)
        window.present()
        assert sent[-1] == [(0, 0, 80, 80)]
        assert (window.read_pixels()[22:38, 2:18, :3] == (0, 255, 0)).all()
    finally:
        window.close()


def test_a_moving_cursor_restores_the_picture_it_covered(sent: list[list[Rect]]) -> None:
    window = Window("t", 64, 48)
    try:
        image = picture(64, 48, 4)
        put(window, image, 0, 0, 64, 48)
        cursor = np.zeros((4, 4, 4), np.uint8)
        cursor[:, :] = (0, 255, 0, 255)  # opaque green, RGBA
        window.set_cursor(cursor, 0, 0)
        window.present((10, 10))
        window.present((30, 20))
        assert sent[-1] == [(10, 10, 4, 4), (30, 20, 4, 4)]
        shown = window.read_pixels()[:, :, :3]
        assert (shown[20:24, 30:34] == (0, 255, 0)).all()
        want = image[:, :, :3].copy()
        want[20:24, 30:34] = (0, 255, 0)
        assert np.array_equal(shown, want)  # the old place shows the picture again
        window.present(None)
        assert np.array_equal(window.read_pixels()[:, :, :3], image[:, :, :3])
    finally:
        window.close()


def test_update_outside_the_image_is_refused(sent: list[list[Rect]]) -> None:
    window = Window("t", 16, 16)
    try:
        image = picture(16, 16, 5)
        with pytest.raises(_sdl_window.SDLError):
            put(window, image, 10, 10, 8, 8)
        with pytest.raises(_sdl_window.SDLError):
            window.update(np.zeros(10, np.uint8), 64, 0, 0, 16, 16)
    finally:
        window.close()
