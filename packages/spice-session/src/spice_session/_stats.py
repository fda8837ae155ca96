"""``session.stats``: round-trip time, traffic per channel and second, frames/s, draw time, streams, audio.

:class:`StatsCollector` is fed by the session (every display message's handling time,
every display change) and samples the channels' byte and message counters at most four
times a second: when a message arrives a quarter second or more after the last sample (the
session's readers call :meth:`StatsCollector.tick`), and when the figures are read.
:meth:`StatsCollector.snapshot` turns the samples into a :class:`SessionStats`.  Nothing
wakes up for the statistics: a session taking messages samples on the way, an idle one not
at all.  After a quiet spell the last second is first filled with the samples a timer
would have taken (the counters stood still), so the rates just after count from then; what
the session sent meanwhile is counted in that second.  (A spell that a message ends is
stamped with that message's bytes: they miss the next second's rates.)

SPICE has no PING a client may send (the server pings, the client answers), so the
round-trip time is the kernel's smoothed TCP round-trip time (``TCP_INFO``) of the main
channel's socket, which the server's PING/PONG and ACK traffic keep current.

The audio delay is measured on the playback path: for each decoded chunk, how long before
its media time (when a player following the media clock plays it) it arrived; late chunks
count as 0 (played at once).  ``audio_latency_ms`` is what the server asked for.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from collections import deque
from dataclasses import asdict
from typing import Protocol

import trio
from spice_net import Channel
from spice_proto import ChannelType
from spice_proto.lowlevel import frozen

from ._channels import channel_name
from ._playback import Playback
from ._streams import StreamManager

__all__ = ["ChannelStats", "SessionStats", "tcp_rtt_ms"]

_TCP_INFO = getattr(socket, "TCP_INFO", 11)
#: Seconds over which the per-second figures are measured.
WINDOW = 1.0
#: The audio delay is the mean over this many of the newest playback chunks.
AUDIO_CHUNKS = 50


@frozen
class ChannelStats:
    """One channel's traffic: totals since the link and rates over about the last second."""

    name: str
    bytes_in: int
    bytes_out: int
    messages_in: int
    messages_out: int
    bytes_in_per_s: float
    bytes_out_per_s: float
    messages_in_per_s: float


@frozen
class SessionStats:
    """What ``session.stats`` reports (times in ms, rates per second)."""

    seconds: float
    rtt_ms: float | None
    channels: tuple[ChannelStats, ...]
    fps: float
    frames: int
    draw_ms: float
    draw_ms_per_s: float
    streams: int
    stream_frames: int
    stream_fps: float
    stream_late: int
    audio_latency_ms: int | None
    #: Measured: mean ms from a sound chunk's arrival to its play time (None: no sound yet).
    audio_delay_ms: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _socket_of(stream: object) -> socket.socket | None:
    """The OS socket under a trio stream (TLS, capture and tunnel wrappers unwrapped)."""
    for _ in range(8):
        sock = getattr(stream, "socket", None)
        if sock is not None and hasattr(sock, "getsockopt"):
            return sock  # type: ignore[no-any-return]
        stream = getattr(stream, "transport_stream", None) or getattr(stream, "inner", None)
        if stream is None:
            return None
    return None


def tcp_rtt_ms(stream: object) -> float | None:
    """The kernel's smoothed round-trip time of ``stream``'s TCP socket in ms (``None``: not TCP on Linux)."""
    sock = _socket_of(stream)
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
    except OSError:
        return None
    if len(info) < 72:
        return None
    # struct tcp_info: eight one-byte fields, then u32s; tcpi_rtt (microseconds) is the 16th
    return float(struct.unpack_from("<I", info, 8 + 15 * 4)[0]) / 1000.0


class StatsSource(Protocol):
    """What the collector reads of a session."""

    opened: dict[tuple[ChannelType, int], Channel]
    main: Channel
    playback: Playback
    _stream_managers: dict[int, StreamManager]


class StatsCollector:
    """Counts for one session (the session feeds it, and calls :meth:`tick` as messages come)."""

    def __init__(self, session: StatsSource) -> None:
        self.session = session
        self.started = trio.current_time()
        #: Display messages that changed the display, and the seconds spent handling display
        #: messages: the session adds to these in line (once a message).
        self.frames = 0
        self.draw_seconds = 0.0
        #: (time, frames, draw seconds) at each sample: the per-draw calls only add to totals.
        self._draw_samples: deque[tuple[float, int, float]] = deque()
        self._samples: deque[tuple[float, dict[tuple[int, int], tuple[int, int, int]]]] = deque()
        self._finished_streams: dict[tuple[int, int], tuple[int, int]] = {}
        self._stream_ids: set[tuple[int, int]] = set()
        self._stream_frames_seen: deque[tuple[float, int]] = deque()
        self._last_live: dict[tuple[int, int], tuple[int, int]] = {}
        self._audio_ahead: deque[int] = deque(maxlen=AUDIO_CHUNKS)
        #: When a message arriving calls for the next sample (trio's clock; see :meth:`tick`).
        self.next_sample_at = -math.inf
        #: When the last message that took no sample arrived (the session sets it).
        self.tail_at = -math.inf
        #: Samples taken so far.
        self.taken = 0

    # --------------------------------------------------------------- fed by the session
    def audio_arrived(self, ahead_ms: int) -> None:
        """A playback chunk arrived ``ahead_ms`` before its media time (negative: late)."""
        self._audio_ahead.append(max(0, ahead_ms))

    # ------------------------------------------------------------------------ sampling
    def tick(self, now: float) -> None:
        """Sample at ``now`` (trio's clock): a message arrived at or after
        :attr:`next_sample_at`, or the figures are read.  After a quiet spell (over half a
        second since the last sample), the samples a timer would have taken come first: one
        as the last messages before it left the counters (at :attr:`tail_at`), and copies of
        it over the spell's last second."""
        last = self._samples[-1][0] if self._samples else now
        if now - last > WINDOW / 2:
            if self.tail_at > last:  # messages came after the last sample, then none
                self.sample(self.tail_at)
            self._restamp(now)
        self.sample(now)
        self.next_sample_at = now + WINDOW / 4

    def _restamp(self, now: float) -> None:
        """Fill the last second of a quiet spell with the samples a timer would have taken:
        the counters stood still (no message came), so each is the last sample's."""
        last = self._samples[-1][0] if self._samples else now
        times = [t for t in (now - WINDOW + k * WINDOW / 4 for k in range(5)) if t > last]
        if self._samples:
            self._samples.extend((t, self._samples[-1][1]) for t in times)
        if self._stream_frames_seen:
            self._stream_frames_seen.extend((t, self._stream_frames_seen[-1][1]) for t in times)
        if self._draw_samples:
            _, frames, seconds = self._draw_samples[-1]
            self._draw_samples.extend((t, frames, seconds) for t in times)

    def _counters(self) -> dict[tuple[int, int], tuple[int, int, int]]:
        return {
            (int(kind), cid): (channel.bytes_received, channel.bytes_sent, channel.messages_received)
            for (kind, cid), channel in self.session.opened.items()
        }

    def _stream_totals(self) -> tuple[int, int]:
        """(frames, late frames) of every stream seen so far, live or ended."""
        live: dict[tuple[int, int], tuple[int, int]] = {}
        for channel_id, manager in self.session._stream_managers.items():
            for stream_id, stream in manager.streams.items():
                live[(channel_id, stream_id)] = (stream.frames, stream.late)
        for key in self._stream_ids - set(live):
            self._finished_streams.setdefault(key, self._last_live.get(key, (0, 0)))
        self._stream_ids |= set(live)
        self._last_live = live
        both = [*live.values(), *self._finished_streams.values()]
        return sum(f for f, _ in both), sum(late for _, late in both)

    def sample(self, now: float | None = None) -> bool:
        """Take a sample (at ``now``, trio's clock); whether anything changed since the one before."""
        if now is None:
            now = trio.current_time()
        self.taken += 1
        counters = self._counters()
        changed = not self._samples or counters != self._samples[-1][1]
        self._samples.append((now, counters))
        while len(self._samples) > 2 and self._samples[1][0] <= now - WINDOW:
            self._samples.popleft()
        frames, _ = self._stream_totals()
        changed = changed or not self._stream_frames_seen or frames != self._stream_frames_seen[-1][1]
        self._stream_frames_seen.append((now, frames))
        while len(self._stream_frames_seen) > 2 and self._stream_frames_seen[1][0] <= now - WINDOW:
            self._stream_frames_seen.popleft()
        changed = (
            changed
            or not self._draw_samples
            or self._draw_samples[-1][1:] != (self.frames, self.draw_seconds)
        )
        self._draw_samples.append((now, self.frames, self.draw_seconds))
        while len(self._draw_samples) > 2 and self._draw_samples[1][0] <= now - WINDOW:
            self._draw_samples.popleft()
        return changed

    # ------------------------------------------------------------------------ the report
    def snapshot(self) -> SessionStats:
        now = trio.current_time()
        self.tick(now)
        (then, before), (_, current) = self._samples[0], self._samples[-1]
        span = now - then
        channels = []
        for (kind, cid), channel in sorted(
            self.session.opened.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])
        ):
            key = (int(kind), cid)
            now_counts = current.get(
                key, (channel.bytes_received, channel.bytes_sent, channel.messages_received)
            )
            rates = [0.0, 0.0, 0.0]
            if key in before and span > 0:
                # a channel a seamless migration switched counts again from 0: no negative rate
                rates = [max(0.0, (now_counts[i] - before[key][i]) / span) for i in range(3)]
            channels.append(
                ChannelStats(
                    name=f"{channel_name(kind)}:{cid}",
                    bytes_in=now_counts[0],
                    bytes_out=now_counts[1],
                    messages_in=now_counts[2],
                    messages_out=channel.messages_sent,
                    bytes_in_per_s=round(rates[0], 1),
                    bytes_out_per_s=round(rates[1], 1),
                    messages_in_per_s=round(rates[2], 1),
                )
            )
        stream_frames, stream_late = self._stream_totals()
        first_t, first_frames = self._stream_frames_seen[0]
        stream_span = now - first_t
        draw_t, draw_frames, draw_seconds = self._draw_samples[0]
        draw_span = now - draw_t
        playback = (ChannelType.PLAYBACK, 0) in self.session.opened
        return SessionStats(
            seconds=round(now - self.started, 3),
            rtt_ms=tcp_rtt_ms(self.session.main.stream),
            channels=tuple(channels),
            fps=round((self.frames - draw_frames) / draw_span, 1) if draw_span > 0 else 0.0,
            frames=self.frames,
            draw_ms=round(self.draw_seconds * 1000, 3),
            draw_ms_per_s=round((self.draw_seconds - draw_seconds) * 1000 / draw_span, 3)
            if draw_span > 0
            else 0.0,
            streams=len(self._stream_ids),
            stream_frames=stream_frames,
            stream_fps=round((stream_frames - first_frames) / stream_span, 2) if stream_span > 0 else 0.0,
            stream_late=stream_late,
            audio_latency_ms=self.session.playback.latency_ms if playback else None,
            audio_delay_ms=(
                round(sum(self._audio_ahead) / len(self._audio_ahead), 1) if self._audio_ahead else None
            ),
        )
