"""The viewer window: a patch put at 1:1 (a video frame) goes straight into the framebuffer,
and into the window's image only when that is needed; the picture is always the one drawing
everything through the image gives (SDL dummy video driver)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
import sdl2
from spice_cli import _sdl_window
from spice_cli._sdl_window import Window

U8 = npt.NDArray[np.uint8]
W, H = 64, 48


def solid(bgr: tuple[int, int, int], width: int = 16, height: int = 16) -> U8:
    patch = np.zeros((height, width, 4), np.uint8)
    patch[:, :, :3] = bgr
    patch.flags.writeable = False
    return patch


RED, GREEN, BLUE = solid((0, 0, 255)), solid((0, 255, 0)), solid((255, 0, 0))


@pytest.fixture
def window(sdl: None) -> Iterator[Window]:
    """A 64x48 window, shown once (grey)."""
    win = Window("frames", W, H)
    grey = np.full((H, W, 4), 128, np.uint8)
    win.update(grey, W * 4, 0, 0, W, H)
    win.present()
    yield win
    win.close()


@pytest.fixture
def blits(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every blit from the window's image to its framebuffer."""
    calls: list[object] = []
    blit = sdl2.SDL_BlitSurface

    def counted(*args: object) -> int:
        calls.append(args)
        return int(blit(*args))

    monkeypatch.setattr(_sdl_window.sdl2, "SDL_BlitSurface", counted)
    return calls


def shows(win: Window, x: int, y: int, patch: U8) -> bool:
    h, w = patch.shape[:2]
    return bool((win.read_pixels()[y : y + h, x : x + w, :3] == patch[:, :, :3]).all())


def test_a_frame_goes_straight_to_the_framebuffer(window: Window, blits: list[object]) -> None:
    window.put(RED, 8, 4)
    window.present()
    assert shows(window, 8, 4, RED) and blits == []  # no blit from the image
    assert (window._image[4:20, 8:24] == 128).all()  # the image gets it only when needed
    window.put(GREEN, 8, 4)  # the next frame over the same place: the image is still not written
    window.present()
    assert shows(window, 8, 4, GREEN) and blits == [] and (window._image[4:20, 8:24] == 128).all()
    window._repaint = True  # an expose, a resize...: the whole picture from the image
    window.present()
    assert shows(window, 8, 4, GREEN) and (window._image[4:20, 8:24, :3] == (0, 255, 0)).all()
    assert shows(window, 0, 0, solid((128, 128, 128), W, 4))


def test_damage_drawn_after_a_frame_goes_over_it(window: Window) -> None:
    window.put(RED, 8, 4)
    grey = np.full((H, W, 4), 50, np.uint8)
    window.update(grey, W * 4, 16, 12, 16, 16)  # over the frame's lower right quarter, and beside it
    window.present()
    pixels = window.read_pixels()[:, :, :3]
    assert (pixels[12:28, 16:32] == 50).all()
    assert (pixels[4:12, 8:24] == (0, 0, 255)).all() and (pixels[12:20, 8:16] == (0, 0, 255)).all()


def test_a_frame_put_after_damage_goes_over_it(window: Window) -> None:
    grey = np.full((H, W, 4), 50, np.uint8)
    window.update(grey, W * 4, 16, 12, 16, 16)  # blitted from the image at present...
    window.put(BLUE, 8, 4)  # ...so the frame over it goes through the image too, after it
    window.present()
    pixels = window.read_pixels()[:, :, :3]
    assert (pixels[4:20, 8:24] == (255, 0, 0)).all()
    assert (pixels[20:28, 16:32] == 50).all() and (pixels[12:20, 24:32] == 50).all()


def test_frames_in_two_places(window: Window) -> None:
    window.put(RED, 8, 4)
    window.put(GREEN, 16, 12)  # overlaps the first: that one goes into the image now
    window.present()
    assert (window._image[4:12, 8:24, :3] == (0, 0, 255)).all()
    window._repaint = True
    window.present()
    pixels = window.read_pixels()[:, :, :3]
    assert (pixels[12:28, 16:32] == (0, 255, 0)).all()
    assert (pixels[4:12, 8:24] == (0, 0, 255)).all() and (pixels[12:20, 8:16] == (0, 0, 255)).all()


def test_with_the_drawn_cursor_or_scaled_frames_go_through_the_image(
    window: Window, blits: list[object]
) -> None:
    cursor = np.zeros((4, 4, 4), np.uint8)
    cursor[:, :, 3] = 255
    window.set_cursor(cursor, 0, 0)
    window.present(cursor_at=(10, 6))  # a cursor drawn on the picture at (10, 6)
    blits.clear()
    window.put(RED, 8, 4)
    assert (window._image[4:20, 8:24, :3] == (0, 0, 255)).all()  # through the image
    window.present()  # the old cursor taken away: the frame blitted from the image
    assert shows(window, 8, 4, RED) and blits
    window.set_source_size(32, 24)  # a 32x24 picture in the 64x48 window: scaled
    window.present()
    window.put(GREEN, 0, 0)
    assert (window._image[0:16, 0:16, :3] == (0, 255, 0)).all()
    window.present()
    assert shows(window, 2, 2, solid((0, 255, 0), 28, 28))  # twice the size (smoothed at its edge)
