"""Port channel messages: PORT_INIT parsing, hostile bodies."""

from __future__ import annotations

import struct

import pytest
from spice_session._port import PortError, PortInit, parse_port_init


def init(name: bytes, opened: int = 1, offset: int = 9, size: int | None = None) -> bytes:
    size = len(name) if size is None else size
    return struct.pack("<IIB", size, offset, opened) + bytes(offset - 9) + name


def test_port_init_as_spice_server_sends_it() -> None:
    assert parse_port_init(init(b"org.spice-space.webdav.0\0")) == PortInit("org.spice-space.webdav.0", True)
    assert parse_port_init(init(b"x\0", opened=0, offset=12)) == PortInit("x", False)


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (b"\x01\x00", "shorter than 9"),
        (init(b"abc\0", size=40), "outside"),
        (struct.pack("<IIB", 4, 1 << 31, 1) + b"abc\0", "outside"),
        (init(b"abc"), "NUL-terminated"),
        (init(b"a\0c\0"), "NUL-terminated"),
        (init(b"", size=0), "outside"),
        (init(b"\xff\xfe\0"), "not UTF-8"),
    ],
)
def test_hostile_port_init(body: bytes, fault: str) -> None:
    with pytest.raises(PortError, match=fault):
        parse_port_init(body)
