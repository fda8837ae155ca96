"""Which of the server's channels a session opens, and the capabilities it offers on each."""

from __future__ import annotations

from collections.abc import Iterable

from spice_proto import Caps, ChannelId, ChannelType, DisplayCap, InputsCap, MainCap

__all__ = ["ATTACHED_TYPES", "CLIENT_CHANNEL_CAPS", "channel_name", "channels_to_open"]

#: The channel types a session attaches; the others are listed and left alone.
ATTACHED_TYPES = (ChannelType.DISPLAY, ChannelType.INPUTS, ChannelType.CURSOR)

#: Channel capabilities we advertise at link time, per channel type.
CLIENT_CHANNEL_CAPS: dict[ChannelType, Caps] = {
    ChannelType.MAIN: Caps.of(
        MainCap.NAME_AND_UUID,
        MainCap.AGENT_CONNECTED_TOKENS,
        MainCap.SEMI_SEAMLESS_MIGRATE,
        MainCap.SEAMLESS_MIGRATE,
    ),
    ChannelType.DISPLAY: Caps.of(
        DisplayCap.SIZED_STREAM,
        DisplayCap.MONITORS_CONFIG,
        DisplayCap.MULTI_CODEC,
        DisplayCap.CODEC_MJPEG,
        DisplayCap.PREF_COMPRESSION,
        DisplayCap.COMPOSITE,
        DisplayCap.A8_SURFACE,
        DisplayCap.LZ4_COMPRESSION,
    ),
    ChannelType.INPUTS: Caps.of(InputsCap.KEY_SCANCODE),
    ChannelType.CURSOR: Caps(),
}


def channel_name(channel_type: ChannelType | int) -> str:
    """``display``, ``inputs``... or ``type-N`` for a number this library does not know."""
    try:
        return ChannelType(channel_type).name.lower()
    except ValueError:
        return f"type-{int(channel_type)}"


#: The audio channel types, attached when a session asks for audio.
AUDIO_TYPES = (ChannelType.PLAYBACK, ChannelType.RECORD)


def channels_to_open(listed: Iterable[ChannelId], *, audio: bool = False) -> list[tuple[ChannelType, int]]:
    """The (type, id) pairs of ``listed`` that the session attaches, in list order, without duplicates.

    Every display channel is opened; inputs and cursor too (normally one each).  Main
    is already open; playback and record only with ``audio``; unknown or other channel
    types (usbredir, ports...) are left alone.
    """
    wanted = ATTACHED_TYPES + AUDIO_TYPES if audio else ATTACHED_TYPES
    out: list[tuple[ChannelType, int]] = []
    for entry in listed:
        if entry.type in wanted:
            key = (ChannelType(entry.type), int(entry.id))
            if key not in out:
                out.append(key)
    return out
