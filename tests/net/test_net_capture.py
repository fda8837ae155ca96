"""spice_net.capture_to: plaintext pcaps per linked channel, read back by read_pcap; bad files refused."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import spice_server as srv
import trio
from spice_net import CaptureError, CaptureRing, capture_ring, capture_to, read_pcap
from spice_net._capture import ChannelCapture
from spice_net.lowlevel import CAPTURE_PORT, channel_of
from spice_proto import Rect
from spice_session import connect


async def test_each_channel_gets_a_pcap_with_both_directions(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(64, 48)
    noise = np.random.default_rng(3).integers(0, 255, (48, 64, 3), np.uint8)
    fb.update(noise, Rect(0, 0, 64, 48), format="rgb")
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    with capture_to(tmp_path / "cap") as directory:
        async with connect(f"spice://127.0.0.1:{addr.port}") as session:
            await session.screenshot()
    names = sorted(p.name for p in directory.iterdir())
    assert names[0] == "01-main-0.pcap"
    assert {channel_of(n)[1] for n in names} >= {"main", "display", "inputs", "cursor"}  # type: ignore[index]
    segments = read_pcap(directory / names[0])
    assert segments[0].data.startswith(b"REDQ") and not segments[0].from_server  # our link message
    assert segments[1].data.startswith(b"REDQ") and segments[1].from_server  # the server's reply
    display = next(n for n in names if "display" in n)
    received = b"".join(s.data for s in read_pcap(directory / display) if s.from_server)
    assert len(received) > 64 * 48 * 3  # noise does not compress: the picture came through
    # outside the block nothing is captured
    async with connect(f"spice://127.0.0.1:{addr.port}") as session:
        await session.screenshot()
    assert sorted(p.name for p in directory.iterdir()) == names


def pcap_frames(data: bytes) -> list[bytes]:
    """The packets of a pcap file (without their record headers' timestamps)."""
    frames, pos = [], 24
    while pos < len(data):
        size = int.from_bytes(data[pos + 8 : pos + 12], "little")
        frames.append(data[pos + 16 : pos + 16 + size])
        pos += 16 + size
    return frames


async def test_a_ring_nested_in_a_capture_keeps_the_same_packets(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    fb = srv.Framebuffer(64, 48)
    fb.update(
        np.random.default_rng(4).integers(0, 255, (48, 64, 3), np.uint8), Rect(0, 0, 64, 48), format="rgb"
    )
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    with capture_to(tmp_path / "cap") as directory, capture_ring() as ring:
        async with connect(f"spice://127.0.0.1:{addr.port}") as session:
            await session.screenshot()
    pcaps = ring.pcaps()
    assert sorted(pcaps) == sorted(p.name for p in directory.iterdir())
    for name, data in pcaps.items():  # nothing dropped yet: the same segments as the files
        (tmp_path / name).write_bytes(data)
        ours = [(s.from_server, s.data) for s in read_pcap(tmp_path / name)]
        assert ours == [(s.from_server, s.data) for s in read_pcap(directory / name)]
        # the same packets, IP and TCP checksums included (the ring fills them in when read)
        assert pcap_frames(data) == pcap_frames((directory / name).read_bytes())
    async with connect(f"spice://127.0.0.1:{addr.port}") as session:  # outside the block
        await session.screenshot()
    assert ring.pcaps().keys() == pcaps.keys()


def test_a_ring_keeps_the_link_and_the_newest_bytes_only(tmp_path: Path) -> None:
    ring = CaptureRing(seconds=60, max_bytes=100_000)
    capture = ring.open(2, 0)
    capture.write(False, b"REDQ" + bytes(12))
    for i in range(200):
        capture.write(True, bytes([i % 256]) * 1000)
    data = ring.pcaps()["01-display-0.pcap"]
    assert len(data) < 100_000 + 20 * 1100  # the bound, the header and the head packets
    (tmp_path / "ring.pcap").write_bytes(data)
    segments = read_pcap(tmp_path / "ring.pcap")
    assert segments[0].data.startswith(b"REDQ") and not segments[0].from_server  # the link stays
    assert segments[-1].data == bytes([199]) * 1000  # the newest
    assert 80 < len(segments) < 120 and bytes([50]) * 1000 not in {s.data for s in segments}
    with pytest.raises(ValueError):
        CaptureRing(seconds=0)


def test_a_ring_drops_what_is_older_than_its_seconds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clock = [1000.0]
    monkeypatch.setattr("spice_net._capture.time.monotonic", lambda: clock[0])
    ring = CaptureRing(seconds=5, max_bytes=1 << 30)
    capture = ring.open(1, 0)
    for i in range(30):  # a packet a second
        capture.write(True, bytes([i]) * 10)
        clock[0] += 1
    (tmp_path / "r.pcap").write_bytes(ring.pcaps()["01-main-0.pcap"])
    later = [s.data[0] for s in read_pcap(tmp_path / "r.pcap")][9:]  # after the head packets
    assert later == list(range(24, 30))


def test_large_writes_are_split_and_read_back_whole(tmp_path: Path) -> None:
    capture = ChannelCapture(tmp_path / "x.pcap", 40001)
    blob = bytes(range(256)) * 1000
    capture.write(False, b"hello")
    capture.write(True, blob)
    capture.close()
    segments = read_pcap(tmp_path / "x.pcap")
    assert segments[0].data == b"hello" and not segments[0].from_server
    assert b"".join(s.data for s in segments[1:]) == blob and all(s.from_server for s in segments[1:])
    assert len(segments) == 1 + 4  # 256000 bytes in segments of at most 65000


def test_malformed_files_raise_capture_error(tmp_path: Path) -> None:
    good = tmp_path / "g.pcap"
    capture = ChannelCapture(good, 40001)
    capture.write(True, b"x" * 100)
    capture.close()
    data = good.read_bytes()
    for name, blob in (
        ("empty", b""),
        ("magic", b"\0" * 24),
        ("truncated-header", data[:30]),
        ("truncated-record", data[:-10]),
        ("huge-length", data[:24] + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30)),
        ("not-ip", data[:24] + struct.pack("<IIII", 0, 0, 40, 40) + b"\x60" * 40),
    ):
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(CaptureError):
            read_pcap(tmp_path / name)
    with pytest.raises(CaptureError):
        read_pcap(tmp_path / "missing")
    other_port = bytearray(data)
    offset = 24 + 16 + 20  # the first packet's TCP ports
    struct.pack_into("!HH", other_port, offset, 1234, 4321)
    (tmp_path / "port").write_bytes(bytes(other_port))
    with pytest.raises(CaptureError, match=str(CAPTURE_PORT)):
        read_pcap(tmp_path / "port")


def test_unwritable_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CaptureError), capture_to(tmp_path / "file" / "sub"):
        pass
