"""Inputs channel bodies and the set-1 scancode helpers."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from peers.require import missing, require_binary
from spice_proto import (
    KEY_NAMES,
    US_KEYMAP,
    ChannelId,
    ChannelType,
    CommonCap,
    Cursor,
    CursorInit,
    CursorSet,
    CursorType,
    Direction,
    InputsClientKeyModifiers,
    InputsInit,
    InputsKeyDown,
    InputsKeyModifiers,
    InputsKeyScancode,
    InputsKeyUp,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    InputsMsg,
    InputsMsgc,
    KeyboardModifierFlags,
    MainAttachChannels,
    MainChannelsList,
    MainInit,
    Message,
    MouseButton,
    MouseButtonMask,
    MouseMode,
    ProtocolError,
    decode_message,
    key_char,
    key_code,
    key_press,
    key_release,
    scancode_bytes,
    scancode_down,
    scancode_up,
    type_text,
)
from spice_proto.lowlevel import message_class

S2C = Direction.SERVER_TO_CLIENT
C2S = Direction.CLIENT_TO_SERVER
K = KeyboardModifierFlags
B = MouseButtonMask

EXAMPLES: list[Message] = [
    InputsInit(K.NUM_LOCK | K.CAPS_LOCK),
    InputsKeyModifiers(K.SCROLL_LOCK),
    InputsMouseMotionAck(),
    InputsKeyDown(0x4DE0),
    InputsKeyUp(0xCDE0),
    InputsClientKeyModifiers(K(0)),
    InputsKeyScancode(b"\x1e\x9e"),
    InputsMouseMotion(-5, 7, B.LEFT),
    InputsMousePosition(1919, 1079, B.RIGHT | B.MIDDLE, 2),
    InputsMousePress(MouseButton.LEFT, B.LEFT),
    InputsMouseRelease(MouseButton.UP, B(0)),
]


def test_every_inputs_message_has_a_class_and_an_example() -> None:
    covered = {(type(m).DIRECTION, int(type(m).TYPE)) for m in EXAMPLES}
    for direction, numbers in ((S2C, InputsMsg), (C2S, InputsMsgc)):
        for number in numbers:
            cls = message_class(ChannelType.INPUTS, direction, number)
            assert cls is not None and cls.__name__.startswith("Inputs"), number
            assert (direction, int(number)) in covered, number


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    body = msg.encode()
    assert decode_message(ChannelType.INPUTS, type(msg).DIRECTION, type(msg).TYPE, body) == msg


@pytest.mark.parametrize(
    "msg", [m for m in EXAMPLES if m.encode() and not hasattr(m, "data")], ids=lambda m: type(m).__name__
)
def test_every_truncation_raises(msg: Message) -> None:
    body = msg.encode()
    assert type(msg).decode(body + b"\0\0") == msg  # trailing bytes tolerated
    for cut in range(len(body)):
        with pytest.raises(ProtocolError) as info:
            type(msg).decode(body[:cut])
        assert info.value.where == type(msg).__name__ and info.value.field


def test_mouse_position_layout_by_hand() -> None:
    msg = InputsMousePosition(x=800, y=600, buttons_state=B.LEFT | B.RIGHT, display_id=1)
    expected = bytes.fromhex("2003000058020000050001")
    assert len(expected) == 11
    assert msg.encode() == expected
    assert InputsMousePosition.decode(expected) == msg


def test_mouse_position_truncated_names_display_id() -> None:
    with pytest.raises(ProtocolError, match=r"InputsMousePosition.*'display_id'.*offset 10"):
        InputsMousePosition.decode(bytes.fromhex("20030000580200000500"))


def test_mouse_motion_press_release_modifiers_by_hand() -> None:
    assert InputsMouseMotion(-1, 2, B.LEFT).encode() == bytes.fromhex("ffffffff020000000100")
    assert InputsMouseMotion.decode(bytes.fromhex("ffffffff020000000100")).dx == -1
    assert InputsMousePress(MouseButton.LEFT, B.LEFT).encode() == bytes.fromhex("010100")
    assert InputsMouseRelease(MouseButton.RIGHT, B(0)).encode() == bytes.fromhex("030000")
    assert InputsClientKeyModifiers(K.NUM_LOCK | K.CAPS_LOCK).encode() == bytes.fromhex("0600")
    assert InputsInit.decode(bytes.fromhex("0200")).keyboard_modifiers == K.NUM_LOCK
    assert InputsMouseMotionAck().encode() == b""


def test_unknown_button_number_is_kept() -> None:
    msg = InputsMousePress.decode(bytes.fromhex("090000"))
    assert msg.button == 9
    assert msg.encode() == bytes.fromhex("090000")


def test_key_down_of_extended_key_by_hand() -> None:
    # Right arrow is E0 4D: the prefix is the FIRST byte on the wire.
    right = key_code("Right")
    assert right == 0xE04D
    assert key_press(right).encode() == bytes.fromhex("e04d0000")
    assert key_release(right).encode() == bytes.fromhex("e0cd0000")
    assert InputsKeyDown.decode(bytes.fromhex("e04d0000")).code == 0x4DE0
    # a plain key: A is 1E, released 9E
    assert key_press(0x1E).encode() == bytes.fromhex("1e000000")
    assert key_release(0x1E).encode() == bytes.fromhex("9e000000")


def test_scancode_functions() -> None:
    assert scancode_down(0x1E) == 0x1E
    assert scancode_up(0x1E) == 0x9E
    assert scancode_down(0xE04D) == 0x4DE0
    assert scancode_up(0xE04D) == 0xCDE0
    # QEMU / spice-gtk's 0x100|code spelling of extended keys gives the same codes
    assert scancode_down(0x14D) == 0x4DE0
    assert scancode_up(0x11D) == 0x9DE0  # right control released
    assert scancode_bytes(0x1C) == b"\x1c"
    assert scancode_bytes(0x1C, release=True) == b"\x9c"
    assert scancode_bytes(0xE01C) == b"\xe0\x1c"
    assert scancode_bytes(0xE01C, release=True) == b"\xe0\x9c"
    for bad in (0, 0x80, 0x9E, 0xE0, 0xE000, 0xE080, 0x100, 0x180, -1):
        with pytest.raises(ValueError, match="set-1"):
            scancode_down(bad)


@given(st.integers(1, 0x7F), st.booleans())
def test_codes_are_the_scancode_bytes_little_endian(code: int, extended: bool) -> None:
    sc = 0xE000 | code if extended else code
    assert scancode_down(sc).to_bytes(4, "little").rstrip(b"\0") == scancode_bytes(sc)
    assert scancode_up(sc).to_bytes(4, "little").rstrip(b"\0") == scancode_bytes(sc, release=True)


def test_us_keymap() -> None:
    assert US_KEYMAP["a"] == (0x1E, False)
    assert US_KEYMAP["A"] == (0x1E, True)
    assert US_KEYMAP["1"] == (0x02, False)
    assert US_KEYMAP["!"] == (0x02, True)
    assert US_KEYMAP["0"] == (0x0B, False)
    assert US_KEYMAP[")"] == (0x0B, True)
    assert US_KEYMAP["~"] == (0x29, True)
    assert US_KEYMAP["|"] == (0x2B, True)
    assert US_KEYMAP["?"] == (0x35, True)
    assert US_KEYMAP[" "] == (0x39, False)
    assert US_KEYMAP["\n"] == (0x1C, False)
    printable = [chr(c) for c in range(0x20, 0x7F)]
    assert all(c in US_KEYMAP for c in printable)


def test_named_keys() -> None:
    assert [key_code(f"F{n}") for n in range(1, 13)] == [*range(0x3B, 0x45), 0x57, 0x58]
    assert key_code("Return") == 0x1C
    assert key_code("BackSpace") == 0x0E
    assert key_code("Tab") == 0x0F
    assert key_code("Escape") == 0x01
    assert key_code("Home") == 0xE047
    assert key_code("End") == 0xE04F
    assert key_code("Page_Up") == key_code("Prior") == 0xE049
    assert key_code("Page_Down") == 0xE051
    assert key_code("Insert") == 0xE052
    assert key_code("Delete") == 0xE053
    assert (key_code("Up"), key_code("Down"), key_code("Left")) == (0xE048, 0xE050, 0xE04B)
    assert (key_code("Control_L"), key_code("Control_R")) == (0x1D, 0xE01D)
    assert (key_code("Alt_L"), key_code("Alt_R")) == (0x38, 0xE038)
    assert (key_code("Shift_L"), key_code("Shift_R")) == (0x2A, 0x36)
    assert (key_code("KP_Enter"), key_code("KP_Divide"), key_code("KP_0")) == (0xE01C, 0xE035, 0x52)
    with pytest.raises(ValueError, match="unknown key name 'Hyper_Z'"):
        key_code("Hyper_Z")


_HEADER = Path("/usr/include/linux/input-event-codes.h")


@pytest.mark.skipif(not _HEADER.exists(), reason="linux input headers not installed")
def test_plain_keys_agree_with_linux_evdev_codes() -> None:
    """For the non-E0 keys up to F12, Linux evdev KEY_* numbers are the set-1 make codes."""
    evdev = {
        m[1]: int(m[2], 0)
        for m in re.finditer(r"#define (KEY_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", _HEADER.read_text())
    }
    ours_to_linux = {
        "Escape": "KEY_ESC", "BackSpace": "KEY_BACKSPACE", "Tab": "KEY_TAB", "Return": "KEY_ENTER",
        "space": "KEY_SPACE", "Control_L": "KEY_LEFTCTRL", "Shift_L": "KEY_LEFTSHIFT",
        "Shift_R": "KEY_RIGHTSHIFT", "Alt_L": "KEY_LEFTALT", "Caps_Lock": "KEY_CAPSLOCK",
        "Num_Lock": "KEY_NUMLOCK", "Scroll_Lock": "KEY_SCROLLLOCK", "KP_Multiply": "KEY_KPASTERISK",
        "KP_Subtract": "KEY_KPMINUS", "KP_Add": "KEY_KPPLUS", "KP_Decimal": "KEY_KPDOT",
        "-": "KEY_MINUS", "=": "KEY_EQUAL", "[": "KEY_LEFTBRACE", "]": "KEY_RIGHTBRACE",
        ";": "KEY_SEMICOLON", "'": "KEY_APOSTROPHE", "`": "KEY_GRAVE", "\\": "KEY_BACKSLASH",
        ",": "KEY_COMMA", ".": "KEY_DOT", "/": "KEY_SLASH",
    }  # fmt: skip
    ours_to_linux |= {f"F{n}": f"KEY_F{n}" for n in range(1, 13)}
    ours_to_linux |= {f"KP_{n}": f"KEY_KP{n}" for n in range(10)}
    ours_to_linux |= {c: f"KEY_{c.upper()}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"}
    for name, linux in ours_to_linux.items():
        assert KEY_NAMES[name] == evdev[linux], name
    assert all(US_KEYMAP[c][0] == KEY_NAMES[c] for c in "abcdefghijklmnopqrstuvwxyz0123456789-=[];'`\\,./")


def test_type_text() -> None:
    events = type_text("Hi!")
    assert events == [
        InputsKeyDown(0x2A),  # shift
        InputsKeyDown(0x23),  # h
        InputsKeyUp(0xA3),
        InputsKeyUp(0xAA),
        InputsKeyDown(0x17),  # i
        InputsKeyUp(0x97),
        InputsKeyDown(0x2A),
        InputsKeyDown(0x02),  # 1 -> !
        InputsKeyUp(0x82),
        InputsKeyUp(0xAA),
    ]
    assert b"".join(e.encode() for e in type_text("\n")) == bytes.fromhex("1c0000009c000000")
    with pytest.raises(ValueError, match=r"'\u00e9' \(index 2 "):
        type_text("ab\u00e9")


@given(
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
    st.integers(0, 255),
)
def test_mouse_round_trips(dx: int, dy: int, buttons: int, x: int, display: int) -> None:
    motion = InputsMouseMotion(dx, dy, B(buttons))
    assert InputsMouseMotion.decode(motion.encode()) == motion
    position = InputsMousePosition(x, x ^ 0xFFFF, B(buttons), display)
    assert len(position.encode()) == 11
    assert InputsMousePosition.decode(position.encode()) == position


# --------------------------------------------------------------------------- against real peers
#
# remote-viewer (spice-gtk) talks to Xspice (libspice-server) through a recording relay; every
# main, inputs and cursor body either side sent must decode with our classes and re-encode to the
# same bytes, and the key codes spice-gtk sends for xdotool's key presses must be ours.


@dataclass
class _Conn:
    c2s: bytearray = field(default_factory=bytearray)
    s2c: bytearray = field(default_factory=bytearray)


async def _pump(src: trio.abc.Stream, dst: trio.abc.Stream, record: bytearray) -> None:
    try:
        async for chunk in src:
            record += chunk
            await dst.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await dst.aclose()


async def _relay(server_port: int, conns: list[_Conn], client: trio.SocketStream) -> None:
    conn = _Conn()
    conns.append(conn)
    server = await trio.open_tcp_stream("127.0.0.1", server_port)
    async with client, server, trio.open_nursery() as nursery:
        nursery.start_soon(_pump, client, server, conn.c2s)
        nursery.start_soon(_pump, server, client, conn.s2c)


def _common_caps(packet: bytes | bytearray, counts_at: int) -> int:
    """Word 0 of the common caps of a SpiceLinkMess / SpiceLinkReply (after its 16-byte header)."""
    body = memoryview(packet)[16:]
    num_common, _num_channel, caps_offset = struct.unpack_from("<III", body, counts_at)
    return struct.unpack_from("<I", body, caps_offset)[0] if num_common else 0


def _split(conn: _Conn) -> tuple[int, list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """(channel type, client messages, server messages) of one recorded connection."""
    c_size = struct.unpack_from("<I", conn.c2s, 12)[0]
    s_size = struct.unpack_from("<I", conn.s2c, 12)[0]
    channel = conn.c2s[16 + 4]  # SpiceLinkMess: connection_id u32, channel_type u8
    client_caps = _common_caps(conn.c2s, 6)
    server_caps = _common_caps(conn.s2c, 4 + 162)  # SpiceLinkReply: error u32, pub_key[162]
    both = client_caps & server_caps
    auth_selection = bool(both & 1 << CommonCap.PROTOCOL_AUTH_SELECTION)
    mini = bool(both & 1 << CommonCap.MINI_HEADER)
    c_start = 16 + c_size + (4 if auth_selection else 0) + 128  # (mechanism) + RSA ticket
    s_start = 16 + s_size + 4  # link result
    return channel, _frames(conn.c2s[c_start:], mini), _frames(conn.s2c[s_start:], mini)


def _frames(data: bytes | bytearray, mini: bool) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    head = 6 if mini else 18
    while pos + head <= len(data):
        if mini:
            msg_type, size = struct.unpack_from("<HI", data, pos)
        else:
            _serial, msg_type, size, _sub = struct.unpack_from("<QHII", data, pos)
        if pos + head + size > len(data):
            break
        out.append((msg_type, bytes(data[pos + head : pos + head + size])))
        pos += head + size
    return out


async def _xdotool(display: str, *args: str) -> str:
    result = await trio.run_process(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_stdout=True, check=False
    )
    return bytes(result.stdout).decode()


async def _wait_window(display: str, window_class: str) -> str:
    with trio.fail_after(20):
        while not (found := (await _xdotool(display, "search", "--onlyvisible", "--class", window_class))):
            await trio.sleep(0.1)
    return found.split()[0]


async def _until(what: str, ready: Callable[[], bool], timeout: float = 20.0) -> None:
    with trio.move_on_after(timeout):
        while not ready():
            await trio.sleep(0.05)
        return
    raise AssertionError(f"timed out waiting for {what}")


class _XcursorImage(ctypes.Structure):
    _fields_ = [
        *(
            (name, ctypes.c_uint32)
            for name in ("version", "size", "width", "height", "xhot", "yhot", "delay")
        ),
        ("pixels", ctypes.POINTER(ctypes.c_uint32)),
    ]


_CURSOR_PIXELS = [0xFFFF0000 if (i // 16 + i % 16) % 2 else 0x800000FF for i in range(16 * 16)]


def _define_root_cursor(display: str) -> None:
    """Give the root window of ``display`` a 16x16 ARGB cursor (libXcursor), as desktops do."""
    try:
        x11 = ctypes.CDLL("libX11.so.6")
        xcursor = ctypes.CDLL("libXcursor.so.1")
    except OSError as exc:
        missing(f"X client libraries not installed: {exc}")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XDefineCursor.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xcursor.XcursorImageCreate.restype = ctypes.POINTER(_XcursorImage)
    xcursor.XcursorImageCreate.argtypes = [ctypes.c_int, ctypes.c_int]
    xcursor.XcursorImageLoadCursor.restype = ctypes.c_ulong
    xcursor.XcursorImageLoadCursor.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XcursorImage)]
    xcursor.XcursorImageDestroy.argtypes = [ctypes.POINTER(_XcursorImage)]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open X display {display}"
    image = xcursor.XcursorImageCreate(16, 16)
    image.contents.xhot, image.contents.yhot = 3, 4
    for i, pixel in enumerate(_CURSOR_PIXELS):
        image.contents.pixels[i] = pixel
    cursor = xcursor.XcursorImageLoadCursor(dpy, image)
    xcursor.XcursorImageDestroy(image)
    x11.XDefineCursor(dpy, x11.XDefaultRootWindow(dpy), cursor)
    x11.XCloseDisplay(dpy)


@pytest.mark.interop
async def test_real_spice_gtk_and_spice_server(
    xspice_factory: Callable[..., Any], xvfb_factory: Callable[..., Any]
) -> None:
    require_binary("remote-viewer")
    require_binary("xdotool")
    server = xspice_factory()
    screen = xvfb_factory("1280x900x24")
    display = screen.display.name
    conns: list[_Conn] = []

    def sent(channel: ChannelType, direction: Direction) -> list[tuple[bytes, Message]]:
        """(body, decoded message) for every complete channel-specific message so far."""
        out: list[tuple[bytes, Message]] = []
        for conn in list(conns):
            try:
                kind, client, srv = _split(conn)
            except (struct.error, IndexError):  # link stage not complete yet
                continue
            if kind != channel:
                continue
            for msg_type, body in client if direction is C2S else srv:
                if msg_type >= 100:  # common messages (< 100) belong to _msg_common
                    msg = decode_message(channel, direction, msg_type, body)
                    assert isinstance(msg, Message), (channel, direction, msg_type)
                    out.append((body, msg))
        return out

    def inputs_sent() -> list[Message]:
        return [m for _, m in sent(ChannelType.INPUTS, C2S)]

    def cursor_shapes() -> list[Cursor]:
        return [
            m.cursor
            for _, m in sent(ChannelType.CURSOR, S2C)
            if isinstance(m, (CursorInit, CursorSet)) and m.cursor.header is not None
        ]

    right = key_code("Right")
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with listeners[0], trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, partial(_relay, server.port, conns), listeners)
        screen.display.start_client("remote-viewer", ["remote-viewer", f"spice://127.0.0.1:{port}"])
        await _until(
            "INPUTS_INIT", lambda: any(isinstance(m, InputsInit) for _, m in sent(ChannelType.INPUTS, S2C))
        )
        window = await _wait_window(display, "remote-viewer")
        await _xdotool(display, "windowfocus", "--sync", window)
        _define_root_cursor(server.display.name)  # a new pointer shape: the server sends CURSOR_SET
        for step in range(50):  # the X server loads the new shape when the pointer moves
            if cursor_shapes():
                break
            await _xdotool(display, "mousemove", "--window", window, str(100 + step), "200")
            await trio.sleep(0.1)
        assert cursor_shapes(), "no CURSOR_SET with a shape"
        await _xdotool(display, "click", "1")
        # held longer than spice-gtk's 100 ms key-press delay: separate KEY_DOWN and KEY_UP
        await _xdotool(display, "keydown", "Right")
        await trio.sleep(0.4)
        await _xdotool(display, "keyup", "Right")
        # a quick press and release: one KEY_SCANCODE with both
        await _xdotool(display, "key", "a")
        await _until("KEY_SCANCODE", lambda: any(isinstance(m, InputsKeyScancode) for m in inputs_sent()))
        nursery.cancel_scope.cancel()

    # spice-gtk's key codes are ours: the E0 prefix is the first byte
    inputs = inputs_sent()
    assert InputsKeyDown(scancode_down(right)) in inputs
    assert InputsKeyUp(scancode_up(right)) in inputs
    assert InputsKeyDown(0x4DE0).encode() == bytes.fromhex("e04d0000")
    assert InputsKeyScancode(scancode_bytes(0x1E) + scancode_bytes(0x1E, release=True)) in inputs
    # client mouse mode: absolute positions, then the click
    positions = [m for m in inputs if isinstance(m, InputsMousePosition)]
    assert positions and positions[-1].display_id == 0
    assert InputsMousePress(MouseButton.LEFT, B.LEFT) in inputs
    assert InputsMouseRelease(MouseButton.LEFT, B(0)) in inputs

    main_in = [m for _, m in sent(ChannelType.MAIN, S2C)]
    init = next(m for m in main_in if isinstance(m, MainInit))
    assert init.session_id != 0 and init.supported_mouse_modes & MouseMode.SERVER
    channels = next(m for m in main_in if isinstance(m, MainChannelsList)).channels
    assert ChannelId(ChannelType.INPUTS, 0) in channels and ChannelId(ChannelType.CURSOR, 0) in channels
    assert MainAttachChannels() in [m for _, m in sent(ChannelType.MAIN, C2S)]

    # the ARGB cursor we gave the X server arrives as a 16x16 ALPHA shape, pixels as u32 LE
    shape = cursor_shapes()[-1]
    assert shape.header is not None
    assert (shape.header.type, shape.header.width, shape.header.height) == (CursorType.ALPHA, 16, 16)
    assert (shape.header.hot_spot_x, shape.header.hot_spot_y) == (3, 4)
    assert shape.data == struct.pack("<256I", *_CURSOR_PIXELS)

    # every body either peer sent re-encodes to the very same bytes
    seen = set()
    for channel in (ChannelType.MAIN, ChannelType.INPUTS, ChannelType.CURSOR):
        for direction in (C2S, S2C):
            for body, msg in sent(channel, direction):
                assert msg.encode() == body, msg
                seen.add(type(msg).__name__)
    assert {"MainInit", "MainChannelsList", "MainMouseMode", "MainMouseModeRequest", "CursorInit"} <= seen


# --- characters of keys ----------------------------------------------------------------------


def test_key_char_inverts_the_us_keymap() -> None:
    for char, (code, shift) in US_KEYMAP.items():
        if char.isprintable():
            assert key_char(code, shift=shift) == char, (char, code)
    assert {key_char(key_code("Return")), key_char(key_code("Tab"))} == {None}


@pytest.mark.parametrize(
    ("code", "shift", "caps_lock", "char"),
    [
        (0x1E, False, True, "A"),  # Caps Lock shifts letters
        (0x1E, True, True, "a"),
        (0x02, False, True, "1"),  # but not digits
        (0x35, True, False, "?"),
        (0x39, True, False, " "),
        (0x4F, True, False, "1"),  # keypad, Num Lock on
        (0x37, False, False, "*"),
        (0xE035, False, False, "/"),
        (0x135, False, False, "/"),  # the 0x100 | code spelling of an extended key
    ],
)
def test_key_char(code: int, shift: bool, caps_lock: bool, char: str) -> None:
    assert key_char(code, shift=shift, caps_lock=caps_lock) == char


@pytest.mark.parametrize("code", [0x01, 0x1C, 0x1D, 0x2A, 0x3A, 0x3B, 0xE01C, 0xE048, 0xE11D45, 0, -1, 0x80])
def test_key_char_of_keys_that_type_nothing(code: int) -> None:
    assert key_char(code) is None
    assert key_char(code, shift=True, caps_lock=True) is None
