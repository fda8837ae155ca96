"""Which part of a display channel's surface each of the viewer's windows shows.

A channel whose MONITORS_CONFIG has several heads (QXL with several heads, Xspice, our
``spice_server.Heads``) is one surface holding every monitor: the viewer shows each head
in a window of its own, the channel's first window showing the first head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import spice_session as ss
from spice_proto import Rect

from ._sdl_window import Window

__all__ = ["MAX_HEADS", "copy_area", "head_areas", "monitor_keys"]

#: Heads of one channel the viewer opens windows for (spice-gtk's limit too): a server naming
#: more does not get a window each.
MAX_HEADS = 16


def head_areas(display: ss.Display, channel_id: int) -> list[Rect]:
    """The areas of the channel's heads on its primary surface, by monitor id (clipped to
    it, the first :data:`MAX_HEADS`); the whole surface when it names none; empty without a
    primary surface."""
    if channel_id == 0:
        primary = display.primary
    else:
        state = display.channels.get(channel_id)
        primary = state.primary if state is not None else None
    if primary is None:
        return []
    areas = [
        Rect(m.x, m.y, m.x + m.width, m.y + m.height)
        for m in display.monitor_layout()
        if m.channel_id == channel_id
    ]
    return areas[:MAX_HEADS] or [Rect(0, 0, primary.width, primary.height)]


def monitor_keys(display: ss.Display, channels: Iterable[int] = ()) -> list[tuple[int, int]]:
    """(channel, head index) of every monitor, in the order the guest agent numbers them:
    channel by channel, head by head (``channels`` also count, with one head, when they
    have no surface yet)."""
    keys: list[tuple[int, int]] = []
    for channel_id in sorted({*display.channels, *channels}):
        count = max(len(head_areas(display, channel_id)), 1)
        keys.extend((channel_id, i) for i in range(count))
    return keys


def copy_area(window: Window, primary: ss.Surface, area: Rect, rects: Sequence[Rect]) -> None:
    """Copy the parts of ``rects`` (surface coordinates) inside ``area`` into ``window``,
    whose image is that area."""
    if not rects:
        return  # (the surface is not read: a stream frame the session kept back stays so)
    flat = primary.flat
    stride = primary.stride
    base = flat[area.top * stride + area.left * 4 :]
    for r in rects:
        box = r.intersect(area)
        if box.empty:
            continue
        window.update(base, stride, box.left - area.left, box.top - area.top, box.width, box.height)
