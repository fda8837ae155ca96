"""A hostile server on the usbredir and port channels: clean errors, bounded time and memory."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from spice_session.lowlevel import FolderShare

from .evil_server import EvilChannel, evil_server

T = sp.ChannelType
DATA = int(sp.SpicevmcMsg.DATA)
HELLO = struct.pack("<III", 0, 68, 0) + b"evil".ljust(64, b"\0") + struct.pack("<I", 0)


def port_init(name: bytes, offset: int = 9, size: int | None = None) -> bytes:
    return struct.pack("<IIB", len(name) if size is None else size, offset, 0) + name


@pytest.fixture
def disk(tmp_path: Path) -> ss.lowlevel.MassStorage:
    image = tmp_path / "d.img"
    image.write_bytes(bytes(1 << 16))
    return ss.usb_disk(image)


@pytest.mark.parametrize(
    ("after_hello", "fault"),
    [
        (struct.pack("<III", 77, 0, 1), "unknown type 77"),
        (struct.pack("<III", 101, 1 << 30, 1), "claims 1073741824 bytes"),
        (struct.pack("<III", 1, 10, 1) + bytes(10), "guest may not send DEVICE_CONNECT"),
        (HELLO, "a second HELLO"),
    ],
)
async def test_garbage_usbredir_from_the_guest_ends_attach_with_usbredir_error(
    disk: ss.lowlevel.MassStorage, after_hello: bytes, fault: str
) -> None:
    script = {(T.USBREDIR, 0): [(DATA, HELLO[:30]), (DATA, HELLO[30:] + after_hello)]}
    with trio.fail_after(20):
        async with evil_server(script) as uri, ss.connect(uri) as session:
            with pytest.raises(ss.UsbRedirError, match=fault):
                async with session.usb.attach(disk) as dev:
                    await dev.wait_configured(timeout=15)


async def test_a_guest_that_never_configures_times_out(disk: ss.lowlevel.MassStorage) -> None:
    async def silent(chan: EvilChannel) -> None:
        await chan.send(DATA, HELLO)

    with trio.fail_after(20):
        async with (
            evil_server({(T.USBREDIR, 0): silent}) as uri,
            ss.connect(uri) as session,
            session.usb.attach(disk) as dev,
        ):
            with pytest.raises(TimeoutError, match="did not configure"):
                await dev.wait_configured(timeout=0.5)
            assert dev.host.connected  # our DEVICE_CONNECT went out after its HELLO


@pytest.mark.parametrize(
    ("init", "fault"),
    [
        (port_init(b"x\0", offset=1 << 20), "outside"),
        (port_init(b"abc"), "NUL-terminated"),
        (b"\x01", "shorter than 9"),
    ],
)
async def test_bad_port_init_raises_port_error(init: bytes, fault: str) -> None:
    script = {(T.PORT, 0): [(int(sp.PortMsg.INIT), init)]}
    with trio.fail_after(20):
        async with evil_server(script) as uri, ss.connect(uri) as session:
            with pytest.raises(ss.PortError, match=fault):
                await session.ports.names()


async def test_bad_port_event_and_data_before_init() -> None:
    script = {
        (T.PORT, 0): [(int(sp.PortMsg.INIT), port_init(b"a.b\0")), (int(sp.PortMsg.EVENT), b"\0\0\0")],
        (T.PORT, 1): [(DATA, b"early")],
    }
    with trio.fail_after(20):
        async with evil_server(script) as uri, ss.connect(uri) as session:
            async with session.ports.open("a.b") as port:
                with pytest.raises(ss.PortError, match="PORT_EVENT of 3 bytes"):
                    await port.receive()
            with pytest.raises(ss.PortError, match="before PORT_INIT"):
                async with session.ports.open("c.d"):
                    pass


async def test_webdav_mux_flood_of_clients_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("wsgidav")
    frames = b"".join(struct.pack("<qH", i, 1) + b"G" for i in range(100))
    name = b"org.spice-space.webdav.0\0"
    script = {(T.WEBDAV, 0): [(int(sp.PortMsg.INIT), port_init(name)), (DATA, frames)]}
    with trio.fail_after(20):
        async with (
            evil_server(script) as uri,
            ss.connect(uri) as session,
            session.ports.open(name[:-1].decode()) as port,
        ):
            with pytest.raises(ss.SessionError, match="more than 64 open"):
                await FolderShare(tmp_path).serve(port)


INTERRUPT_OUT_SHORT = struct.pack("<III", 103, 5, 1) + struct.pack("<BBH", 0x02, 0, 8) + b"x"


@pytest.mark.parametrize(
    ("after_hello", "fault"),
    [
        (INTERRUPT_OUT_SHORT, "1 data bytes, header says 8"),
        (struct.pack("<III", 15, 2, 1) + b"\x81\x00", "START_INTERRUPT_RECEIVING: 2 bytes"),
        (struct.pack("<III", 103, 2, 1) + b"\x02\x00", "shorter than its 4-byte header"),
        (struct.pack("<III", 103, 9 << 20, 1), "claims 9437184 bytes"),
        (struct.pack("<III", 17, 2, 1) + b"\x00\x81", "may not send INTERRUPT_RECEIVING_STATUS"),
    ],
)
async def test_malformed_interrupt_packets_to_a_usb_keyboard(after_hello: bytes, fault: str) -> None:
    """The HID path: a guest starts receiving from our keyboard (which has a key report
    waiting), then sends garbage: ``attach`` ends with UsbRedirError."""
    start = struct.pack("<III", 15, 1, 1) + b"\x81"
    script = {(T.USBREDIR, 0): [(DATA, HELLO + start), (DATA, after_hello)]}
    keyboard = ss.lowlevel.usb_keyboard()
    keyboard.tap([0x04])
    with trio.fail_after(20):
        async with evil_server(script) as uri, ss.connect(uri) as session:
            with pytest.raises(ss.UsbRedirError, match=fault):
                async with session.usb.attach(keyboard) as dev:
                    await dev.wait_configured(timeout=15)
    assert keyboard.queued == 0  # the reports went out once the guest started receiving
