"""Traffic capture: the plaintext bytes of every linked client channel, one pcap file per channel.

::

    with spice_net.capture_to("captures/"):
        async with spice_session.connect(uri) as session:
            ...

While the ``with`` block is active (in this task and the tasks it starts), every channel
that :func:`link_channel` links writes ``captures/NN-<channel>-<id>.pcap``: the bytes as
the SPICE layer sees them (after TLS decryption), framed as one synthetic TCP connection
from 127.0.0.1 to 127.0.0.2:5900, so Wireshark's SPICE dissector decodes it
(``tshark -r FILE -d tcp.port==5900,spice``).  :func:`read_pcap` reads such a file back
as (direction, bytes) segments, e.g. to replay a server to the client.

:func:`capture_ring` keeps the same packets in memory instead, only the newest seconds of
each channel (and its first packets: the link), for a bug report taken at any moment.
Capture blocks nest: a channel linked inside both is captured by both.
"""

from __future__ import annotations

import contextvars
import itertools
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

import trio
from spice_proto import ChannelType
from spice_proto.lowlevel import frozen

from ._errors import SpiceNetError

__all__ = [
    "CAPTURE_PORT",
    "CaptureError",
    "CaptureRing",
    "ChannelCapture",
    "Segment",
    "capture_ring",
    "capture_to",
    "channel_of",
    "read_pcap",
    "tap_stream",
]

#: The server port written into capture files.
CAPTURE_PORT = 5900
_CLIENT_IP = bytes([127, 0, 0, 1])
_SERVER_IP = bytes([127, 0, 0, 2])
_LINKTYPE_RAW = 101  # packets start with their IPv4 header
_MAX_SEGMENT = 65000
_MAX_FILE_SEGMENT = 1 << 20  # what read_pcap accepts per packet
#: Packets a ring always keeps from the start of a channel: the handshake and the link.
_RING_HEAD = 12
#: Bytes a packet's record adds to its payload (record, IPv4 and TCP headers).
_RECORD_OVERHEAD = 16 + 20 + 20


class CaptureError(SpiceNetError):
    """A capture file cannot be written, or one being read is not a capture of ours."""


@frozen
class Segment:
    """Bytes of one direction at one time: ``from_server`` tells which."""

    time: float
    from_server: bool
    data: bytes


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _checksummed(record: bytes) -> bytes:
    """A pcap record (16-byte record header, IPv4 header, TCP header, payload) with its IP
    and TCP checksums filled in (they are written as zeros)."""
    ip = record[16:36]
    tcp = record[36:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return record[:16] + ip + tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]


#: One packet as :func:`_record` makes it: from_server, client port, seq, ack, TCP flags,
#: payload, wall time.
_Packet = tuple[bool, int, int, int, int, bytes, float]


def _record(packet: _Packet) -> bytes:
    """The pcap record of ``packet`` (IP and TCP checksums left zero)."""
    from_server, port, seq, ack, flags, payload, now = packet
    src, dst = (_SERVER_IP, _CLIENT_IP) if from_server else (_CLIENT_IP, _SERVER_IP)
    sport, dport = (CAPTURE_PORT, port) if from_server else (port, CAPTURE_PORT)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    size = len(ip) + len(tcp) + len(payload)
    return struct.pack("<IIII", int(now), int(now % 1 * 1e6), size, size) + ip + tcp + payload


class _RingFile:
    """Packets in memory: the first ones, then at most ``seconds`` and ``max_bytes`` of the
    newest (older ones are dropped, whole).  A packet is kept as its fields and the bytes
    it carried: :meth:`pcap` makes the records, with checksums, only for the packets still
    kept when a capture is asked for (most are dropped unread)."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.header = b""
        self.head: list[_Packet] = []
        self.recent: deque[tuple[float, _Packet]] = deque()
        self.size = 0
        #: Packets dropped so far (a gap in the TCP sequence numbers after the head).
        self.dropped = 0

    def write(self, data: bytes) -> int:
        """The pcap file header."""
        self.header = data
        return len(data)

    def add(self, packet: _Packet) -> None:
        if len(self.head) < _RING_HEAD:
            self.head.append(packet)
            return
        now = time.monotonic()
        recent = self.recent
        recent.append((now, packet))
        self.size += len(packet[5]) + _RECORD_OVERHEAD
        while len(recent) > 1 and (self.size > self.max_bytes or now - recent[0][0] > self.seconds):
            self.size -= len(recent.popleft()[1][5]) + _RECORD_OVERHEAD
            self.dropped += 1

    def close(self) -> None:
        pass

    def pcap(self) -> bytes:
        packets = [*self.head, *(packet for _, packet in self.recent)]
        return b"".join([self.header, *(_checksummed(_record(packet)) for packet in packets)])


class ChannelCapture:
    """One channel's pcap file: a TCP connection made up around the bytes that pass.

    With ``ring``, the packets go to that in-memory ring instead of ``path`` (then only a name).
    """

    def __init__(self, path: Path, client_port: int, ring: _RingFile | None = None) -> None:
        self._ring = ring
        try:
            file = ring if ring is not None else open(path, "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise CaptureError(f"cannot write capture {path}: {exc.strerror or exc}") from None
        self._file: BinaryIO | _RingFile | None = file
        self.path = path
        self._port = client_port
        self._seq = {False: 1000, True: 5000}  # next sequence number, by from_server
        self._lock = threading.Lock()
        self._offset = {False: 0, True: 0}  # bytes so far, by from_server
        self._cuts: dict[bool, set[int]] = {False: set(), True: set()}  # link-step boundaries
        file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, _LINKTYPE_RAW))
        self._packet(False, b"", syn=True)
        self._packet(True, b"", syn=True)
        self._packet(False, b"")

    def _packet(self, from_server: bool, payload: bytes, *, syn: bool = False, fin: bool = False) -> None:
        file = self._file
        if file is None:
            return
        seq = self._seq[from_server]
        ack = self._seq[not from_server]
        flags = 0x02 if syn else 0x10 | (0x08 if payload else 0) | (0x01 if fin else 0)
        if syn and from_server:
            flags |= 0x10
        if syn and not from_server:
            ack = 0
        self._seq[from_server] = (seq + len(payload) + (1 if syn or fin else 0)) & 0xFFFFFFFF
        packet = (from_server, self._port, seq, ack, flags, payload, time.time())
        if self._ring is not None:
            self._ring.add(packet)  # the record is made only if it is still kept when asked for
        else:
            file.write(_checksummed(_record(packet)))

    def write(self, from_server: bool, data: bytes) -> None:
        """Bytes that went one way, as segments of at most 65000 bytes.

        Wireshark's dissector reads one link step per segment, so the link steps that
        travel together get segments of their own: our auth mechanism (4 bytes) and ticket
        (128), and the server's link result (4 bytes) and the first messages after it."""
        with self._lock:
            start = self._offset[from_server]
            if start == 0 and len(data) >= 16 and data[:4] == b"REDQ":
                end = 16 + int.from_bytes(data[12:16], "little")
                self._cuts[from_server] = {end, end + 4} if from_server else {end}
            if not from_server and start in self._cuts[False] and len(data) == 4 + 128:
                self._cuts[False].add(start + 4)
            self._offset[from_server] = start + len(data)
            cuts = self._cuts[from_server]
            if cuts:  # the link: cut where a step ends; a cut behind this write is done with
                pieces = sorted(c - start for c in cuts if start < c < start + len(data))
                self._cuts[from_server] = {c for c in cuts if c >= start}
            else:
                pieces = []
            if not pieces and len(data) <= _MAX_SEGMENT:
                self._packet(from_server, bytes(data))  # bytes(...) of bytes is the object itself
                return
            for a, b in zip([0, *pieces], [*pieces, len(data)], strict=True):
                for first in range(a, b, _MAX_SEGMENT):
                    self._packet(from_server, bytes(data[first : min(b, first + _MAX_SEGMENT)]))

    def close(self) -> None:
        with self._lock:
            if self._file is None:
                return
            self._packet(False, b"", fin=True)
            self._packet(True, b"", fin=True)
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None

    def ring_pcap(self) -> bytes | None:
        """A ring capture's pcap file as it stands (``None`` for a capture to a file)."""
        with self._lock:
            return self._ring.pcap() if self._ring is not None else None


class _Recorder:
    """Where the captures of one ``capture_to`` block go."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)
        self.captures: list[ChannelCapture] = []

    def open(self, channel_type: ChannelType | int, channel_id: int) -> ChannelCapture:
        n = next(self._numbers)
        capture = ChannelCapture(self.directory / _file_name(n, channel_type, channel_id), 40000 + n)
        self.captures.append(capture)
        return capture


def _file_name(n: int, channel_type: ChannelType | int, channel_id: int) -> str:
    try:
        name = ChannelType(channel_type).name.lower()
    except ValueError:
        name = f"type{int(channel_type)}"
    return f"{n:02d}-{name}-{channel_id}.pcap"


class CaptureRing:
    """The newest traffic of the channels linked inside a :func:`capture_ring` block, in memory.

    Each channel keeps its first packets (the link) and at most ``seconds`` and ``max_bytes``
    of its newest ones; the closed channels of at most ``keep_closed`` earlier connections'
    channels are kept too.  :meth:`pcaps` gives them as capture files.
    """

    def __init__(self, seconds: float = 10.0, max_bytes: int = 4 << 20, keep_closed: int = 16) -> None:
        if not seconds > 0 or max_bytes <= 0:
            raise ValueError("a capture ring needs seconds > 0 and max_bytes > 0")
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.keep_closed = keep_closed
        self._numbers = itertools.count(1)
        self._captures: list[tuple[str, ChannelCapture]] = []

    def open(self, channel_type: ChannelType | int, channel_id: int) -> ChannelCapture:
        n = next(self._numbers)
        name = _file_name(n, channel_type, channel_id)
        capture = ChannelCapture(Path(name), 40000 + n, _RingFile(self.seconds, self.max_bytes))
        closed = [entry for entry in self._captures if entry[1].closed]
        for entry in closed[: max(0, len(closed) - self.keep_closed)]:
            self._captures.remove(entry)
        self._captures.append((name, capture))
        return capture

    def pcaps(self) -> dict[str, bytes]:
        """``NN-CHANNEL-ID.pcap`` name -> that channel's capture file, as :func:`read_pcap` and
        tshark read it (after dropped packets, a gap in the TCP sequence numbers)."""
        out: dict[str, bytes] = {}
        for name, capture in self._captures:
            data = capture.ring_pcap()
            if data is not None:
                out[name] = data
        return out


class _Opens(Protocol):
    def open(self, channel_type: ChannelType | int, channel_id: int) -> ChannelCapture: ...


_RECORDERS: contextvars.ContextVar[tuple[_Opens, ...]] = contextvars.ContextVar("spice_capture", default=())


@contextmanager
def capture_to(directory: str | Path) -> Iterator[Path]:
    """Capture every channel linked inside the block into ``directory`` (created if needed)."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaptureError(f"cannot create capture directory {path}: {exc.strerror or exc}") from None
    recorder = _Recorder(path)
    token = _RECORDERS.set((*_RECORDERS.get(), recorder))
    try:
        yield path
    finally:
        _RECORDERS.reset(token)
        for capture in recorder.captures:
            capture.close()


@contextmanager
def capture_ring(seconds: float = 10.0, max_bytes: int = 4 << 20) -> Iterator[CaptureRing]:
    """Keep the newest ``seconds`` (at most ``max_bytes`` a channel) of every channel linked
    inside the block in memory (see :class:`CaptureRing`)."""
    ring = CaptureRing(seconds, max_bytes)
    token = _RECORDERS.set((*_RECORDERS.get(), ring))
    try:
        yield ring
    finally:
        _RECORDERS.reset(token)


class _TappedStream(trio.abc.Stream):
    """A stream that copies what passes through it into a :class:`ChannelCapture`."""

    def __init__(self, inner: trio.abc.Stream, capture: ChannelCapture) -> None:
        self.inner = inner
        self.capture = capture

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)
        self.capture.write(False, bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        if data:
            self.capture.write(True, bytes(data))  # no copy when it is bytes already
        return data

    async def aclose(self) -> None:
        self.capture.close()
        await self.inner.aclose()


def tap_stream(stream: trio.abc.Stream, channel_type: ChannelType | int, channel_id: int) -> trio.abc.Stream:
    """``stream`` itself, or a copy-taking wrapper of it (one per block) inside :func:`capture_to`
    and :func:`capture_ring` blocks."""
    for recorder in _RECORDERS.get():
        stream = _TappedStream(stream, recorder.open(channel_type, channel_id))
    return stream


_NAME = re.compile(r"(\d+)-([a-z0-9]+)-(\d+)\.pcap")


def read_pcap(path: str | Path) -> list[Segment]:
    """The payload segments of a capture written by :func:`capture_to`, in order.

    :class:`CaptureError` for anything that is not such a file (bad magic, link type,
    truncated records, not IPv4/TCP, unknown ports).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) < 24:
        raise CaptureError(f"{path}: too short for a pcap header")
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data)
    if magic != 0xA1B2C3D4 or linktype != _LINKTYPE_RAW:
        raise CaptureError(f"{path}: not a raw-IPv4 little-endian pcap of spice_net")
    segments: list[Segment] = []
    offset = 24
    while offset < len(data):
        if offset + 16 > len(data):
            raise CaptureError(f"{path}: truncated record header at byte {offset}")
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, offset)
        offset += 16
        if incl > _MAX_FILE_SEGMENT or offset + incl > len(data):
            raise CaptureError(f"{path}: record at byte {offset - 16} runs past the file")
        frame = data[offset : offset + incl]
        offset += incl
        if len(frame) < 40 or frame[0] != 0x45 or frame[9] != 6:
            raise CaptureError(f"{path}: a record that is not IPv4/TCP at byte {offset - incl}")
        sport, dport = struct.unpack_from("!HH", frame, 20)
        if CAPTURE_PORT not in (sport, dport):
            raise CaptureError(f"{path}: a packet not to or from port {CAPTURE_PORT}")
        header = (frame[32] >> 4) * 4
        payload = frame[20 + header :]
        if payload:
            segments.append(Segment(sec + usec / 1e6, sport == CAPTURE_PORT, bytes(payload)))
    return segments


def channel_of(path: str | Path) -> tuple[int, str, int] | None:
    """(number, channel name, channel id) from a capture file's name, else ``None``."""
    found = _NAME.fullmatch(Path(path).name)
    if found is None:
        return None
    return int(found.group(1)), found.group(2), int(found.group(3))
