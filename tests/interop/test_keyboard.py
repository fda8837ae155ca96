"""Keyboard end to end: session input types into an xterm running ``cat > FILE`` inside Xspice."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest
import spice_session as ss
import trio
from peers.require import require_binary
from peers.xspice import Xspice

pytestmark = pytest.mark.interop

DEADLINE = 20.0


async def _wait_for_line(path: Path) -> str:
    """The file's content once it holds a complete line."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        text = path.read_text(errors="replace") if path.exists() else ""
        if text.endswith("\n"):
            return text
        await trio.sleep(0.05)
    raise AssertionError(f"no complete line in {path} after {DEADLINE} s: {path.read_bytes()!r}")


async def _cat_into(xspice: Xspice, out: Path) -> None:
    """An xterm with ``cat > out``, holding the keyboard focus."""
    require_binary("xdotool")
    xspice.display.start_xterm(f"exec cat > {shlex.quote(str(out))}", title="kbd-target")
    window = xspice.display.wait_window("kbd-target")
    # No window manager: give the xterm the focus explicitly and park the pointer over it too.
    xspice.display.run(["xdotool", "windowfocus", "--sync", window])
    xspice.display.run(["xdotool", "mousemove", "--window", window, "40", "40"])


async def test_typed_line_with_shift_and_extended_key(xspice: Xspice, tmp_path: Path) -> None:
    out = tmp_path / "typed.txt"
    await _cat_into(xspice, out)
    async with ss.connect(xspice.uri) as session:
        await session.inputs.type_text("Hello, World")
        # Left arrow is E0 4B: xterm turns it into ESC [ D, which cat copies into the line verbatim.
        # With the two bytes swapped the server would see keypad 4 then a stray E0 prefix that
        # swallows the next key, and the line would differ.
        await session.inputs.press_key("Left")
        await session.inputs.type_text("!~ Done\n")
        text = await _wait_for_line(out)
    assert text == "Hello, World\x1b[D!~ Done\n"


async def test_extended_keypad_enter_ends_the_line(xspice: Xspice, tmp_path: Path) -> None:
    out = tmp_path / "kp.txt"
    await _cat_into(xspice, out)
    async with ss.connect(xspice.uri) as session:
        await session.inputs.type_text("A{b}#")
        await session.inputs.press_key("KP_Divide")  # E0 35: "/" from the keypad
        await session.inputs.press_key("KP_Enter")  # E0 1C
        text = await _wait_for_line(out)
    assert text == "A{b}#/\n"


async def test_every_printable_character_and_shifted_symbols(xspice: Xspice, tmp_path: Path) -> None:
    out = tmp_path / "printable.txt"
    await _cat_into(xspice, out)
    printable = "".join(chr(c) for c in range(0x20, 0x7F))
    command = 'echo "$(ls ~/*.{txt,md} | wc -l)" && [[ $A != "%^&*" ]] || printf "<%s>|\\n" @#! >> ~/_+{}.log'
    async with ss.connect(xspice.uri) as session:
        await session.inputs.type_text(printable * 3 + command + "\n")
        text = await _wait_for_line(out)
        # Xspice names no VM (no MAIN_UUID): no emulated keyboard, so no pacing
        assert session.uuid is None and session.inputs.key_pacer.mode.value == "off"
    assert text == printable * 3 + command + "\n"


@pytest.mark.parametrize(
    ("layout", "text"),
    [("de", "\u00e4\u00f6\u00fc\u00df@\u20ac|~{[]}\\ zy"), ("fr", "\u00e9\u00e8\u00e0\u00e7@#~ aqwz")],
)
async def test_layouts_from_xkb_type_into_an_x_server_with_that_layout(
    xspice: Xspice, tmp_path: Path, layout: str, text: str
) -> None:
    require_binary("setxkbmap")
    xspice.display.run(["setxkbmap", layout])
    out = tmp_path / f"{layout}.txt"
    require_binary("xdotool")
    # a UTF-8 xterm, so the non-ASCII characters reach cat as UTF-8
    xspice.display.start_client(
        "xterm-utf8",
        [
            "env",
            "LC_ALL=C.UTF-8",
            "xterm",
            "-u8",
            "-T",
            "kbd-utf8",
            "-e",
            "/bin/sh",
            "-c",
            f"exec cat > {shlex.quote(str(out))}",
        ],
    )
    window = xspice.display.wait_window("kbd-utf8")
    xspice.display.run(["xdotool", "windowfocus", "--sync", window])
    async with ss.connect(xspice.uri) as session:
        session.inputs.layout = ss.get_layout(layout)
        await session.inputs.type_text(text + "\n")
        line = await _wait_for_line(out)
    assert line == text + "\n"
