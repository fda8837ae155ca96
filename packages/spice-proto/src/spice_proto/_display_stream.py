"""Display channel messages of video streams (server to client; the client's
STREAM_REPORT is in ``_msg_display``)."""

from __future__ import annotations

import builtins
import struct
from typing import Annotated, ClassVar, TypeVar

from ._display_types import CLIP, RECT, Clip, Rect
from ._enums import DisplayMsg, StreamFlags, VideoCodecType
from ._field_codecs import U32, U64, SizedBytes, bit_flags, lenient
from ._frozen import frozen
from ._message import register
from ._msg_display import ServerMessage
from ._wire import Payload

__all__ = [
    "DisplayStreamActivateReport",
    "DisplayStreamClip",
    "DisplayStreamCreate",
    "DisplayStreamData",
    "DisplayStreamDataSized",
    "DisplayStreamDestroy",
    "DisplayStreamDestroyAll",
]

_NO_CLIP = Clip()
_FRAME = SizedBytes()
#: STREAM_DATA's fixed part: id, multi_media_time, data_size.
_DATA_HEAD = struct.Struct("<III")
_new = object.__new__
_set = object.__setattr__
_D = TypeVar("_D", bound="DisplayStreamData")


@register
@frozen
class DisplayStreamCreate(ServerMessage):
    """STREAM_CREATE: frames of ``stream_width`` x ``stream_height`` scaled into ``dest``.

    ``codec_type`` is a :class:`VideoCodecType` when known (a plain int otherwise).
    """

    TYPE: ClassVar[int] = DisplayMsg.STREAM_CREATE

    surface_id: Annotated[int, U32]
    id: Annotated[int, U32]
    flags: Annotated[StreamFlags, bit_flags("B", StreamFlags)]
    codec_type: Annotated[int, lenient("B", VideoCodecType)]
    stamp: Annotated[int, U64]
    stream_width: Annotated[int, U32]
    stream_height: Annotated[int, U32]
    src_width: Annotated[int, U32]
    src_height: Annotated[int, U32]
    dest: Annotated[Rect, RECT]
    clip: Annotated[Clip, CLIP] = _NO_CLIP


@register
@frozen
class DisplayStreamData(ServerMessage):
    """STREAM_DATA: one encoded frame, to show at ``multi_media_time``.

    Decoded from an immutable body, ``data`` is a read-only view into it (see :data:`Payload`).
    """

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DATA

    id: Annotated[int, U32]
    multi_media_time: Annotated[int, U32]
    data: Annotated[Payload, _FRAME]

    @classmethod
    def decode(cls: builtins.type[_D], body: bytes | bytearray | memoryview) -> _D:
        """A ``bytes`` body in one struct call (a stream sends one such message a frame); any
        other body, or one whose data does not fit, field by field (which names the fault)."""
        if type(body) is bytes and len(body) >= _DATA_HEAD.size:
            stream_id, mm_time, size = _DATA_HEAD.unpack_from(body)
            end = _DATA_HEAD.size + size
            if end <= len(body):
                # filled in directly, as the generic reader would (the class has no __post_init__)
                message = _new(cls)
                fields = {
                    "id": stream_id,
                    "multi_media_time": mm_time,
                    "data": memoryview(body)[_DATA_HEAD.size : end],
                }
                _set(message, "__dict__", fields)
                return message
        return super().decode(body)


@register
@frozen
class DisplayStreamDataSized(ServerMessage):
    """STREAM_DATA_SIZED: a frame of its own ``width`` x ``height``, scaled into ``dest``."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DATA_SIZED

    id: Annotated[int, U32]
    multi_media_time: Annotated[int, U32]
    width: Annotated[int, U32]
    height: Annotated[int, U32]
    dest: Annotated[Rect, RECT]
    data: Annotated[Payload, _FRAME]


@register
@frozen
class DisplayStreamClip(ServerMessage):
    """STREAM_CLIP: a new clip for a stream."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_CLIP

    id: Annotated[int, U32]
    clip: Annotated[Clip, CLIP]


@register
@frozen
class DisplayStreamDestroy(ServerMessage):
    """STREAM_DESTROY."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DESTROY

    id: Annotated[int, U32]


@register
@frozen
class DisplayStreamDestroyAll(ServerMessage):
    """STREAM_DESTROY_ALL."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DESTROY_ALL


@register
@frozen
class DisplayStreamActivateReport(ServerMessage):
    """STREAM_ACTIVATE_REPORT: send STREAM_REPORTs for this stream."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_ACTIVATE_REPORT

    stream_id: Annotated[int, U32]
    unique_id: Annotated[int, U32]
    max_window_size: Annotated[int, U32]
    timeout_ms: Annotated[int, U32]
