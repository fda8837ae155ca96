"""Readable text for what a session learned: capabilities, channels, surfaces, display messages."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import spice_session as ss
from spice_proto import (
    Caps,
    ChannelType,
    CommonCap,
    DisplayCap,
    DisplayMsg,
    InputsCap,
    MainCap,
    Message,
    MouseMode,
    PlaybackCap,
    RecordCap,
    SpicevmcCap,
    UnknownMessage,
)

__all__ = ["caps_text", "describe_message", "modes_text", "surface_text"]

_CHANNEL_CAPS: dict[int, type[IntEnum]] = {
    ChannelType.MAIN: MainCap,
    ChannelType.DISPLAY: DisplayCap,
    ChannelType.INPUTS: InputsCap,
    ChannelType.PLAYBACK: PlaybackCap,
    ChannelType.RECORD: RecordCap,
    ChannelType.USBREDIR: SpicevmcCap,
}


def caps_text(caps: Caps, names: type[IntEnum] | None) -> str:
    """``A B C`` from a capability set; unknown bits as ``bit N``; ``none`` when empty."""
    if not caps:
        return "none"
    out = []
    for bit in sorted(caps):
        try:
            out.append(names(bit).name if names is not None else f"bit {bit}")
        except ValueError:
            out.append(f"bit {bit}")
    return " ".join(out)


def common_caps_text(caps: Caps) -> str:
    return caps_text(caps, CommonCap)


def channel_caps_text(channel_type: ChannelType | int, caps: Caps) -> str:
    return caps_text(caps, _CHANNEL_CAPS.get(int(channel_type)))


def modes_text(modes: Iterable[MouseMode] | MouseMode) -> str:
    flags = MouseMode(modes) if isinstance(modes, int) else MouseMode(sum(int(m) for m in modes))
    names = [m.name.lower() for m in MouseMode if m in flags and m.name is not None]
    return ", ".join(names) or "none"


def _rect(box: object) -> str:
    left, top = getattr(box, "left", None), getattr(box, "top", None)
    right, bottom = getattr(box, "right", None), getattr(box, "bottom", None)
    if None in (left, top, right, bottom):
        return ""
    return f" ({left},{top})-({right},{bottom})"


def describe_message(message: Message | UnknownMessage) -> str:
    """One line for a display message: its name, surface, box and image kind when it has them."""
    try:
        name = DisplayMsg(int(message.type)).name
    except ValueError:
        name = f"message {int(message.type)}"
    parts = [name]
    surface = getattr(message, "surface_id", None)
    if isinstance(surface, int):
        parts.append(f"surface {surface}")
    text = " ".join(parts) + _rect(getattr(message, "box", None))
    for attr in ("src_bitmap", "image", "src"):
        image = getattr(message, attr, None)
        if image is not None and not isinstance(image, int):
            text += f" {type(image).__name__}"
            break
    if isinstance(message, UnknownMessage):
        text += f" ({len(message.body)} bytes, not decoded)"
    return text


def surface_text(event: ss.events.SurfaceCreated) -> str:
    msg = event.message
    surface_id = getattr(msg, "surface_id", "?")
    width, height = getattr(msg, "width", "?"), getattr(msg, "height", "?")
    fmt = getattr(msg, "format", None)
    fmt_name = getattr(fmt, "name", str(fmt))
    flags = getattr(msg, "flags", 0)
    primary = " primary" if int(flags) & 1 else ""
    return f"#{surface_id} {width}x{height} {fmt_name}{primary} (display {event.channel_id})"
