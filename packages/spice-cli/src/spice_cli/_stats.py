"""``session.stats`` as lines of text (``spice connect --stats``, ``spice report``)."""

from __future__ import annotations

from spice_session.lowlevel import SessionStats

__all__ = ["format_stats"]


def format_stats(stats: SessionStats) -> list[str]:
    """Human-readable lines."""
    rtt = f"{stats.rtt_ms:.2f} ms" if stats.rtt_ms is not None else "n/a"
    lines = [
        f"stats after {stats.seconds:.1f} s: rtt {rtt}, {stats.fps:g} frames/s "
        f"({stats.frames} display changes), decode+draw {stats.draw_ms_per_s:.1f} ms/s "
        f"({stats.draw_ms:.1f} ms in all)",
        f"  video streams: {stats.streams}, {stats.stream_frames} frames ({stats.stream_fps:g}/s), "
        f"{stats.stream_late} late",
    ]
    if stats.audio_latency_ms is not None:
        lines.append(f"  audio latency asked by the server: {stats.audio_latency_ms} ms")
    if stats.audio_delay_ms is not None:
        lines.append(f"  audio delay measured (arrival to play time): {stats.audio_delay_ms:g} ms")
    for ch in stats.channels:
        lines.append(
            f"  {ch.name:<12} in {ch.bytes_in} B / {ch.messages_in} msgs ({ch.bytes_in_per_s:g} B/s, "
            f"{ch.messages_in_per_s:g} msgs/s), out {ch.bytes_out} B / {ch.messages_out} msgs"
        )
    return lines
