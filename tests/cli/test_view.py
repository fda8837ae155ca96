"""``spice view`` pieces that need no display: geometry, hot keys, titles, cursor images, arguments."""

from __future__ import annotations

import numpy as np
import pytest
import spice_proto as sp
from spice_cli import main
from spice_cli._cli import build_parser
from spice_cli._sdl_logic import (
    GRAB_HINT,
    RELEASE_COMBO,
    SDL_BUTTONS,
    Box,
    Command,
    HotKeys,
    cursor_rgba,
    letterbox,
    locks_from_sdl,
    title,
    to_surface,
)

LCTRL, LALT, RCTRL, RALT, F, DELETE, A = 0xE0, 0xE2, 0xE4, 0xE6, 0x09, 0x4C, 0x04


@pytest.mark.parametrize(
    ("out", "src", "box"),
    [
        ((1024, 768), (1024, 768), Box(0, 0, 1024, 768)),  # 1:1
        ((1024, 384), (1024, 768), Box(256, 0, 512, 384)),  # bars left and right
        ((800, 800), (1024, 768), Box(0, 100, 800, 600)),  # bars above and below
        ((2048, 1536), (1024, 768), Box(0, 0, 2048, 1536)),  # exact doubling
        ((1001, 500), (720, 400), Box(50, 0, 900, 500)),
        ((3, 1000), (1000, 10), Box(0, 499, 3, 1)),  # never zero-sized
    ],
)
def test_letterbox_keeps_aspect_and_centres(out: tuple[int, int], src: tuple[int, int], box: Box) -> None:
    got = letterbox(*out, *src)
    assert got == box
    assert got.x + got.w <= out[0] and got.y + got.h <= out[1]


def test_letterbox_degenerate_sizes() -> None:
    assert letterbox(0, 0, 1024, 768) == Box(0, 0, 0, 0)
    assert letterbox(640, 480, 0, 0) == Box(0, 0, 640, 480)


def test_window_points_map_to_remote_pixels() -> None:
    box = Box(256, 0, 512, 384)  # 1024x768 shown at half size
    assert to_surface(box, 1024, 768, 256, 0) == (0, 0)
    assert to_surface(box, 1024, 768, 767, 383) == (1022, 766)
    assert to_surface(box, 1024, 768, 512, 192) == (512, 384)
    assert to_surface(box, 1024, 768, 255, 10) is None  # left bar
    assert to_surface(box, 1024, 768, 768, 10) is None  # right bar
    assert to_surface(Box(0, 0, 1024, 768), 1024, 768, 300, 200) == (300, 200)  # 1:1 is the identity
    assert to_surface(Box(0, 0, 0, 0), 1024, 768, 0, 0) is None


def test_ctrl_alt_alone_releases_the_grab() -> None:
    keys = HotKeys()
    assert keys.key(LCTRL, True) == (True, Command.NONE)
    assert keys.key(LALT, True) == (True, Command.NONE)
    assert keys.key(LALT, False) == (True, Command.RELEASE_GRAB)  # the guest still sees the release
    assert keys.key(LCTRL, False) == (True, Command.NONE)


def test_ctrl_alt_del_reaches_the_guest_and_keeps_the_grab() -> None:
    keys = HotKeys()
    keys.key(RCTRL, True)
    keys.key(RALT, True)
    assert keys.key(DELETE, True) == (True, Command.NONE)
    assert keys.key(DELETE, False) == (True, Command.NONE)
    assert keys.key(RCTRL, False) == (True, Command.NONE)
    assert keys.key(RALT, False) == (True, Command.NONE)


def test_ctrl_alt_f_toggles_fullscreen_and_f_is_kept_back() -> None:
    keys = HotKeys()
    keys.key(LCTRL, True)
    keys.key(RALT, True)
    assert keys.key(F, True) == (False, Command.TOGGLE_FULLSCREEN)
    assert keys.key(F, False) == (False, Command.NONE)
    assert keys.key(RALT, False) == (True, Command.NONE)  # used: no grab release
    keys.key(LCTRL, False)
    assert keys.key(F, True) == (True, Command.NONE)  # plain F goes to the guest


def test_ctrl_without_alt_and_reset() -> None:
    keys = HotKeys()
    keys.key(LCTRL, True)
    assert keys.key(A, True) == (True, Command.NONE)
    assert keys.key(LCTRL, False) == (True, Command.NONE)
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    keys.reset()  # focus lost in between
    assert keys.key(LALT, False) == (True, Command.NONE)
    assert keys.held == set()


def test_title_says_how_to_grab_and_release() -> None:
    grabbed = title("vm", grabbed=True, mouse_mode=sp.MouseMode.CLIENT)
    assert f"press {RELEASE_COMBO} to release" in grabbed and "client mouse" in grabbed
    free = title("vm", grabbed=False, mouse_mode=sp.MouseMode.SERVER)
    assert GRAB_HINT in free and "server mouse" in free and free.startswith("vm - spice view")


def test_lock_state_from_sdl_modifiers() -> None:
    assert locks_from_sdl(0) == sp.KeyboardModifierFlags(0)
    assert locks_from_sdl(0x1000 | 0x0001) == sp.KeyboardModifierFlags.NUM_LOCK  # KMOD_NUM | KMOD_LSHIFT
    assert locks_from_sdl(0x2000 | 0x8000) == (
        sp.KeyboardModifierFlags.CAPS_LOCK | sp.KeyboardModifierFlags.SCROLL_LOCK
    )


def test_sdl_buttons() -> None:
    assert [SDL_BUTTONS[b] for b in range(1, 6)] == [
        sp.MouseButton.LEFT,
        sp.MouseButton.MIDDLE,
        sp.MouseButton.RIGHT,
        sp.MouseButton.SIDE,
        sp.MouseButton.EXTRA,
    ]


def test_cursor_image_without_xor_is_unchanged() -> None:
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = cursor_rgba(rgba, np.zeros((2, 3), bool))
    assert np.array_equal(out, rgba) and out is not rgba and out.flags.c_contiguous


def test_cursor_xor_pixels_become_black_or_transparent() -> None:
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, 0] = (255, 255, 255, 0)  # XOR with white: inverts the screen
    rgba[0, 1] = (0, 0, 0, 0)  # XOR with black: changes nothing
    rgba[0, 2] = (10, 20, 30, 255)  # plain opaque pixel
    xor = np.array([[True, True, False]])
    out = cursor_rgba(rgba, xor)
    assert out.tolist() == [[[0, 0, 0, 255], [0, 0, 0, 0], [10, 20, 30, 255]]]


def test_view_is_a_command_with_its_options() -> None:
    args = build_parser().parse_args(["view", "spice://127.0.0.1:5900", "--server-mouse", "--timeout", "3"])
    assert args.uri == "spice://127.0.0.1:5900" and args.server_mouse and args.timeout == 3


def test_view_rejects_a_bad_uri_before_opening_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", "http://127.0.0.1:5900"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spice: invalid URI")


def test_view_rejects_a_missing_ca_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["view", "spice://127.0.0.1:5900", "--ca-file", "/nonexistent/ca.pem"]) == 2
    assert "CA file not found" in capsys.readouterr().err
