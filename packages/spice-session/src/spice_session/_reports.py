"""STREAM_REPORT accounting: how a stream's playback went, told back to the server.

After STREAM_ACTIVATE_REPORT the client follows spice-gtk's accounting: a frame whose
``multi_media_time`` is already past on the client's media clock counts as a drop; a
report goes out when the window holds ``max_window_size`` frames, when ``timeout_ms``
passed since its first frame, or after :data:`DROPS_IN_A_ROW_REPORT` drops in a row.
``last_frame_delay`` is the last frame's ``mm_time - now`` and ``audio_delay`` is
:data:`NO_AUDIO_DELAY` (no audio playback).
"""

from __future__ import annotations

from dataclasses import dataclass

from spice_proto import INVALID_STREAM_DROPS, DisplayStreamReport

__all__ = ["DROPS_IN_A_ROW_REPORT", "NO_AUDIO_DELAY", "ReportWindow", "invalid_stream_report"]

#: ``audio_delay`` of a report when no audio is playing.
NO_AUDIO_DELAY = 0xFFFFFFFF
#: This many late frames in a row send a report at once, whatever the window.
DROPS_IN_A_ROW_REPORT = 3


@dataclass
class ReportWindow:
    """The frames of one stream counted since its last report (sans-I/O, times given)."""

    unique_id: int
    max_window: int
    timeout_ms: int
    started_ms: float = 0.0
    start_mm_time: int = 0
    frames: int = 0
    drops: int = 0
    drops_in_a_row: int = 0

    def count(self, stream_id: int, mm_time: int, latency: int, now_ms: float) -> DisplayStreamReport | None:
        """Count a frame due at ``mm_time``, ``latency`` ms ahead of the clock (late if < 0).

        Returns the report to send when one is due (the window then starts afresh).
        """
        if self.frames == 0:
            self.started_ms = now_ms
            self.start_mm_time = mm_time
        self.frames += 1
        if latency < 0:
            self.drops += 1
            self.drops_in_a_row += 1
        else:
            self.drops_in_a_row = 0
        if not (
            self.frames >= self.max_window
            or now_ms - self.started_ms >= self.timeout_ms
            or self.drops_in_a_row >= DROPS_IN_A_ROW_REPORT
        ):
            return None
        report = DisplayStreamReport(
            stream_id=stream_id,
            unique_id=self.unique_id,
            start_frame_mm_time=self.start_mm_time,
            end_frame_mm_time=mm_time,
            num_frames=self.frames,
            num_drops=self.drops,
            last_frame_delay=latency,
            audio_delay=NO_AUDIO_DELAY,
        )
        self.started_ms, self.start_mm_time = 0.0, 0
        self.frames = self.drops = self.drops_in_a_row = 0
        return report


def invalid_stream_report(stream_id: int) -> DisplayStreamReport:
    """The report telling the server this client has no (playable) stream ``stream_id``."""
    return DisplayStreamReport(stream_id, 0, 0, 0, 0, INVALID_STREAM_DROPS, 0, 0)
