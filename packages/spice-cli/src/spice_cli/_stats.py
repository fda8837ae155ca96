"""Session statistics: round-trip time, traffic per channel and second, frames/s, streams, audio.

:class:`StatsCollector` samples a :class:`~spice_session.Session` once a second (``run``
in a nursery) and counts display changes as they happen; :meth:`StatsCollector.snapshot`
gives a :class:`Stats`.  It uses only the session's public state: each channel's byte
and message counters (``spice_net.Channel``), ``display_changed``, the playback latency.

SPICE has no PING a client may send (the server pings, the client answers), so the
round-trip time is the kernel's smoothed TCP round-trip time (``TCP_INFO``) of the main
channel's socket, which the server's PING/PONG and ACK traffic keep current.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

import spice_session as ss
import trio
from spice_proto import ChannelType

__all__ = ["ChannelStats", "Stats", "StatsCollector", "format_stats", "tcp_rtt_ms"]

_TCP_INFO = getattr(socket, "TCP_INFO", 11)


@dataclass(frozen=True)
class ChannelStats:
    """One channel's traffic: totals since the link and rates over the last second."""

    name: str
    bytes_in: int
    bytes_out: int
    messages_in: int
    messages_out: int
    bytes_in_per_s: float = 0.0
    bytes_out_per_s: float = 0.0
    messages_in_per_s: float = 0.0


@dataclass(frozen=True)
class Stats:
    """What :meth:`StatsCollector.snapshot` reports."""

    seconds: float
    rtt_ms: float | None
    channels: tuple[ChannelStats, ...]
    fps: float
    frames: int
    streams: int
    stream_frames: int
    stream_fps: float
    audio_latency_ms: int | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _socket_of(stream: object) -> socket.socket | None:
    """The OS socket under a trio stream (TLS, capture and tunnel wrappers unwrapped)."""
    for _ in range(8):
        sock = getattr(stream, "socket", None)
        if sock is not None and hasattr(sock, "fileno"):
            return sock  # type: ignore[no-any-return]
        stream = getattr(stream, "transport_stream", None) or getattr(stream, "inner", None)
        if stream is None:
            return None
    return None


def tcp_rtt_ms(stream: object) -> float | None:
    """The kernel's smoothed round-trip time of ``stream``'s TCP socket in ms (``None`` if not TCP/Linux)."""
    sock = _socket_of(stream)
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
    except OSError:
        return None
    if len(info) < 72:
        return None
    # struct tcp_info: 8 one-byte fields, then u32s; tcpi_rtt is the 16th u32 (microseconds)
    rtt_us = struct.unpack_from("<I", info, 8 + 15 * 4)[0]
    return float(rtt_us) / 1000.0


class StatsCollector:
    """Samples one session; ``await run()`` in a nursery, ``snapshot()`` whenever."""

    def __init__(self, session: ss.Session, *, interval: float = 1.0) -> None:
        self.session = session
        self.interval = interval
        self.started = trio.current_time()
        self.frames = 0
        self._frame_times: list[float] = []
        self._stream_frames = 0
        self._stream_times: list[float] = []
        self.streams_seen = 0
        self._previous: dict[tuple[int, int], tuple[float, int, int, int]] = {}
        self._rates: dict[tuple[int, int], tuple[float, float, float]] = {}

    def observe(self, event: ss.events.Event) -> None:
        """Count what only the event stream tells (for whoever reads it): video streams and frames."""
        if isinstance(event, ss.events.StreamCreated):
            self.streams_seen += 1
        elif isinstance(event, ss.events.StreamDestroyed):
            self._stream_frames += event.frames
            self._stream_times.append(trio.current_time())

    async def run(self) -> None:
        """Count display changes and sample the channel counters until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._count_frames)
            while True:
                self._sample()
                await trio.sleep(self.interval)

    async def _count_frames(self) -> None:
        while True:
            await self.session.display_changed()
            now = trio.current_time()
            self.frames += 1
            self._frame_times.append(now)
            while self._frame_times and self._frame_times[0] < now - 1.0:
                self._frame_times.pop(0)

    def _sample(self) -> None:
        now = trio.current_time()
        for (kind, cid), channel in self.session.opened.items():
            key = (int(kind), cid)
            counts = (now, channel.bytes_received, channel.bytes_sent, channel.messages_received)
            before = self._previous.get(key)
            if before is not None and now > before[0]:
                dt = now - before[0]
                self._rates[key] = tuple(  # type: ignore[assignment]
                    (counts[i] - before[i]) / dt for i in (1, 2, 3)
                )
            self._previous[key] = counts

    def snapshot(self) -> Stats:
        now = trio.current_time()
        channels = []
        for (kind, cid), channel in sorted(
            self.session.opened.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])
        ):
            rates = self._rates.get((int(kind), cid), (0.0, 0.0, 0.0))
            channels.append(
                ChannelStats(
                    name=f"{ss.lowlevel.channel_name(kind)}:{cid}",
                    bytes_in=channel.bytes_received,
                    bytes_out=channel.bytes_sent,
                    messages_in=channel.messages_received,
                    messages_out=channel.messages_sent,
                    bytes_in_per_s=round(rates[0], 1),
                    bytes_out_per_s=round(rates[1], 1),
                    messages_in_per_s=round(rates[2], 1),
                )
            )
        recent = [t for t in self._frame_times if t >= now - 1.0]
        playback = self.session.playback
        has_audio = (ChannelType.PLAYBACK, 0) in self.session.opened
        seconds = max(now - self.started, 1e-9)
        return Stats(
            seconds=round(seconds, 3),
            rtt_ms=tcp_rtt_ms(self.session.main.stream),
            channels=tuple(channels),
            fps=float(len(recent)),
            frames=self.frames,
            streams=self.streams_seen,
            stream_frames=self._stream_frames,
            stream_fps=round(self._stream_frames / seconds, 2),
            audio_latency_ms=playback.latency_ms if has_audio else None,
        )


def format_stats(stats: Stats) -> list[str]:
    """Human-readable lines (``spice connect --stats``)."""
    rtt = f"{stats.rtt_ms:.2f} ms" if stats.rtt_ms is not None else "n/a"
    lines = [
        f"stats after {stats.seconds:.1f} s: rtt {rtt}, {stats.fps:g} frames/s "
        f"({stats.frames} display changes), {stats.streams} video streams ({stats.stream_frames} frames)",
    ]
    if stats.audio_latency_ms is not None:
        lines.append(f"  audio latency asked by the server: {stats.audio_latency_ms} ms")
    for ch in stats.channels:
        lines.append(
            f"  {ch.name:<12} in {ch.bytes_in} B / {ch.messages_in} msgs ({ch.bytes_in_per_s:g} B/s, "
            f"{ch.messages_in_per_s:g} msgs/s), out {ch.bytes_out} B / {ch.messages_out} msgs"
        )
    return lines
