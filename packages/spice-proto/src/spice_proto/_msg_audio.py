"""Message bodies of the playback and record channels (sound from and to the guest).

Layouts follow spice-protocol's ``enums.h`` (message numbers, ``SpiceAudioDataMode``,
``SpiceAudioFmt``) and the ``PlaybackChannel`` / ``RecordChannel`` sections of
spice-common's ``spice.proto``: times are u32 milliseconds on the server's media
clock, modes and formats u16, a volume is a u8 count then one u16 per channel, and
audio data runs to the end of the body.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ._enums import AudioDataMode, AudioFmt, ChannelType, PlaybackMsg, RecordMsg, RecordMsgc
from ._field_codecs import BOOL8, U8, U16, U32, Counted, EnumScalar, Rest
from ._frozen import frozen
from ._message import Direction, Message, register

__all__ = [
    "PlaybackData",
    "PlaybackLatency",
    "PlaybackMode",
    "PlaybackMute",
    "PlaybackStart",
    "PlaybackStop",
    "PlaybackVolume",
    "RecordClientData",
    "RecordClientMode",
    "RecordClientStartMark",
    "RecordMute",
    "RecordStart",
    "RecordStop",
    "RecordVolume",
]

_MODE = EnumScalar("H", AudioDataMode, "unknown audio data mode {}")
_FORMAT = EnumScalar("H", AudioFmt, "unknown audio format {}")
_VOLUME = Counted(U8, "nchannels", U16, 2, "{} volume channels do not fit a u8")


@frozen
class _Playback(Message):
    """A playback channel message from the server."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.PLAYBACK
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class _RecordToClient(Message):
    """A record channel message from the server."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.RECORD
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class _RecordToServer(Message):
    """A record channel message from the client."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.RECORD
    DIRECTION: ClassVar[Direction] = Direction.CLIENT_TO_SERVER


# --------------------------------------------------------------------------- playback (server -> client)


@register
@frozen
class PlaybackData(_Playback):
    """SPICE_MSG_PLAYBACK_DATA: u32 time (ms, media clock), then one packet of audio in the current mode."""

    TYPE = PlaybackMsg.DATA

    time: Annotated[int, U32]
    data: Annotated[bytes, Rest()] = b""


@register
@frozen
class PlaybackMode(_Playback):
    """SPICE_MSG_PLAYBACK_MODE: u32 time, u16 :class:`AudioDataMode` for the DATA that follow, mode data."""

    TYPE = PlaybackMsg.MODE

    time: Annotated[int, U32]
    mode: Annotated[AudioDataMode, _MODE]
    data: Annotated[bytes, Rest()] = b""


@register
@frozen
class PlaybackStart(_Playback):
    """SPICE_MSG_PLAYBACK_START: u32 channels, u16 :class:`AudioFmt`, u32 frequency (Hz), u32 time."""

    TYPE = PlaybackMsg.START

    channels: Annotated[int, U32]
    format: Annotated[AudioFmt, _FORMAT]
    frequency: Annotated[int, U32]
    time: Annotated[int, U32]


@register
@frozen
class PlaybackStop(_Playback):
    """SPICE_MSG_PLAYBACK_STOP: the guest stopped playing (no body)."""

    TYPE = PlaybackMsg.STOP


@register
@frozen
class PlaybackVolume(_Playback):
    """SPICE_MSG_PLAYBACK_VOLUME: u8 channel count, then a u16 volume per channel."""

    TYPE = PlaybackMsg.VOLUME

    volume: Annotated[tuple[int, ...], _VOLUME]


@register
@frozen
class PlaybackMute(_Playback):
    """SPICE_MSG_PLAYBACK_MUTE: u8 flag."""

    TYPE = PlaybackMsg.MUTE

    mute: Annotated[bool, BOOL8]


@register
@frozen
class PlaybackLatency(_Playback):
    """SPICE_MSG_PLAYBACK_LATENCY: the latency (ms) the client should keep (``PlaybackCap.LATENCY``)."""

    TYPE = PlaybackMsg.LATENCY

    latency_ms: Annotated[int, U32]


# --------------------------------------------------------------------------- record (server -> client)


@register
@frozen
class RecordStart(_RecordToClient):
    """SPICE_MSG_RECORD_START: the guest wants sound: u32 channels, u16 :class:`AudioFmt`, u32 frequency."""

    TYPE = RecordMsg.START

    channels: Annotated[int, U32]
    format: Annotated[AudioFmt, _FORMAT]
    frequency: Annotated[int, U32]


@register
@frozen
class RecordStop(_RecordToClient):
    """SPICE_MSG_RECORD_STOP: the guest stopped recording (no body)."""

    TYPE = RecordMsg.STOP


@register
@frozen
class RecordVolume(_RecordToClient):
    """SPICE_MSG_RECORD_VOLUME: u8 channel count, then a u16 volume per channel."""

    TYPE = RecordMsg.VOLUME

    volume: Annotated[tuple[int, ...], _VOLUME]


@register
@frozen
class RecordMute(_RecordToClient):
    """SPICE_MSG_RECORD_MUTE: u8 flag."""

    TYPE = RecordMsg.MUTE

    mute: Annotated[bool, BOOL8]


# --------------------------------------------------------------------------- record (client -> server)


@register
@frozen
class RecordClientData(_RecordToServer):
    """SPICE_MSGC_RECORD_DATA: u32 time, then one packet of recorded audio in the chosen mode."""

    TYPE = RecordMsgc.DATA

    time: Annotated[int, U32]
    data: Annotated[bytes, Rest()] = b""


@register
@frozen
class RecordClientMode(_RecordToServer):
    """SPICE_MSGC_RECORD_MODE: u32 time, u16 :class:`AudioDataMode` the client will send, mode data."""

    TYPE = RecordMsgc.MODE

    time: Annotated[int, U32]
    mode: Annotated[AudioDataMode, _MODE]
    data: Annotated[bytes, Rest()] = b""


@register
@frozen
class RecordClientStartMark(_RecordToServer):
    """SPICE_MSGC_RECORD_START_MARK: u32 time of the first recorded sample."""

    TYPE = RecordMsgc.START_MARK

    time: Annotated[int, U32]
