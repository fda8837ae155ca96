"""The statistics overlay of ``spice view`` (Ctrl+Alt+S): a few lines of ``session.stats`` drawn over
the top-left corner of the picture, on a darkened band.  Pure pixels (Pillow), no SDL."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from spice_session.lowlevel import SessionStats

__all__ = ["MARGIN", "overlay_lines", "overlay_patch", "overlay_size"]

#: Distance of the overlay from the picture's top-left corner, in pixels.
MARGIN = 4
_LINE = 12


def overlay_lines(stats: SessionStats) -> list[str]:
    rtt = f"{stats.rtt_ms:.2f} ms" if stats.rtt_ms is not None else "n/a"
    bytes_in = sum(c.bytes_in_per_s for c in stats.channels)
    bytes_out = sum(c.bytes_out_per_s for c in stats.channels)
    lines = [
        f"rtt {rtt}   {stats.fps:g} fps   draw {stats.draw_ms_per_s:.1f} ms/s",
        f"in {bytes_in / 1024:.1f} KiB/s   out {bytes_out / 1024:.1f} KiB/s",
        f"streams {stats.streams}: {stats.stream_fps:g} fps, {stats.stream_late} late",
    ]
    if stats.audio_delay_ms is not None:
        lines.append(f"audio delay {stats.audio_delay_ms:g} ms (server asks {stats.audio_latency_ms} ms)")
    elif stats.audio_latency_ms is not None:
        lines.append(f"audio latency {stats.audio_latency_ms} ms")
    return lines


def overlay_patch(background: npt.NDArray[np.uint8], lines: list[str]) -> npt.NDArray[np.uint8]:
    """``background`` (h, w, 4 BGRX: the picture under the overlay) darkened, with ``lines`` in white."""
    from PIL import Image, ImageDraw, ImageFont  # on the first overlay: ~27 ms of spice view's start

    band = (background[:, :, :3].astype(np.uint16) // 3).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(band[:, :, ::-1]))
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: crisp on any picture
    font = ImageFont.load_default()
    for i, line in enumerate(lines):
        draw.text((3, 1 + i * _LINE), line, fill=(255, 255, 255), font=font)
    out: npt.NDArray[np.uint8] = background.copy()
    out[:, :, :3] = np.asarray(image)[:, :, ::-1]
    return out


def overlay_size(lines: list[str], width: int, height: int) -> tuple[int, int]:
    """(w, h) of the overlay for ``lines``, within a picture of ``width`` x ``height``."""
    w = 8 + 7 * max((len(line) for line in lines), default=0)
    h = 3 + _LINE * len(lines)
    return max(0, min(w, width - MARGIN)), max(0, min(h, height - MARGIN))
