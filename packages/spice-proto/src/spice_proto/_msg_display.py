"""Display channel messages: the common base, surfaces, modes, caches, GL, and the client's.

Every display message declares its wire layout next to its fields
(``width: Annotated[int, U32]``, codecs from ``_field_codecs`` and
``_display_types``).  Video streams live in ``_display_stream``, draw commands in
``_display_draw``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ._display_types import HEAD, RESOURCE_ID, Head, ResourceId
from ._enums import (
    ChannelType,
    DisplayMsg,
    DisplayMsgc,
    GlScanoutFlags,
    ImageCompression,
    SurfaceFlags,
    SurfaceFmt,
    VideoCodecType,
)
from ._field_codecs import (
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Counted,
    EnumScalar,
    Items,
    LengthOf,
    Rest,
    bit_flags,
    lenient,
)
from ._fields import Entry
from ._frozen import frozen
from ._message import Direction, Message, register
from ._msg_common import CHANNEL_WAIT, ChannelWait

__all__ = [
    "INVALID_STREAM_DROPS",
    "DisplayGlDraw",
    "DisplayGlDrawDone",
    "DisplayGlScanoutUnix",
    "DisplayInit",
    "DisplayInvalAllPalettes",
    "DisplayInvalAllPixmaps",
    "DisplayInvalList",
    "DisplayInvalPalette",
    "DisplayMark",
    "DisplayMode",
    "DisplayMonitorsConfig",
    "DisplayPreferredCompression",
    "DisplayPreferredVideoCodecType",
    "DisplayQualityIndicator",
    "DisplayReset",
    "DisplayStreamReport",
    "DisplaySurfaceCreate",
    "DisplaySurfaceDestroy",
]

#: ``num_drops`` of a STREAM_REPORT with no frames: the client cannot play (or has no) such stream.
INVALID_STREAM_DROPS = 0xFFFFFFFF

_NO_SURFACE_FLAGS = SurfaceFlags(0)
_NO_GL_FLAGS = GlScanoutFlags(0)


@frozen
class ServerMessage(Message):
    CHANNEL: ClassVar[ChannelType | None] = ChannelType.DISPLAY
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class ClientMessage(Message):
    CHANNEL: ClassVar[ChannelType | None] = ChannelType.DISPLAY
    DIRECTION: ClassVar[Direction] = Direction.CLIENT_TO_SERVER


# --- server to client: surfaces, modes, caches ------------------------------------------------


@register
@frozen
class DisplayMode(ServerMessage):
    """MODE: legacy display mode (resolution and depth)."""

    TYPE: ClassVar[int] = DisplayMsg.MODE

    x_res: Annotated[int, U32]
    y_res: Annotated[int, U32]
    bits: Annotated[int, U32]


@register
@frozen
class DisplayMark(ServerMessage):
    """MARK: the primary surface is complete; show it."""

    TYPE: ClassVar[int] = DisplayMsg.MARK


@register
@frozen
class DisplayReset(ServerMessage):
    """RESET: drop all surfaces and caches."""

    TYPE: ClassVar[int] = DisplayMsg.RESET


@register
@frozen
class DisplayInvalList(ServerMessage):
    """INVAL_LIST: remove these resources from the client's caches."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_LIST

    resources: Annotated[tuple[ResourceId, ...], Counted(U16, "count", RESOURCE_ID, 9)]


@register
@frozen
class DisplayInvalAllPixmaps(ServerMessage):
    """INVAL_ALL_PIXMAPS: empty the image cache once the listed channels caught up."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_ALL_PIXMAPS

    wait_list: Annotated[
        tuple[ChannelWait, ...],
        Counted(
            U8,
            "wait_count",
            CHANNEL_WAIT,
            ChannelWait.SIZE,
            "DisplayInvalAllPixmaps: at most 255 entries, got {}",
        ),
    ] = ()


@register
@frozen
class DisplayInvalPalette(ServerMessage):
    """INVAL_PALETTE: forget one cached palette."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_PALETTE

    id: Annotated[int, U64]


@register
@frozen
class DisplayInvalAllPalettes(ServerMessage):
    """INVAL_ALL_PALETTES: forget every cached palette."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_ALL_PALETTES


@register
@frozen
class DisplaySurfaceCreate(ServerMessage):
    """SURFACE_CREATE: a new surface (``SurfaceFlags.PRIMARY``: the screen)."""

    TYPE: ClassVar[int] = DisplayMsg.SURFACE_CREATE

    surface_id: Annotated[int, U32]
    width: Annotated[int, U32]
    height: Annotated[int, U32]
    format: Annotated[SurfaceFmt, EnumScalar("I", SurfaceFmt)]
    flags: Annotated[SurfaceFlags, bit_flags("I", SurfaceFlags)] = _NO_SURFACE_FLAGS


@register
@frozen
class DisplaySurfaceDestroy(ServerMessage):
    """SURFACE_DESTROY."""

    TYPE: ClassVar[int] = DisplayMsg.SURFACE_DESTROY

    surface_id: Annotated[int, U32]


@register
@frozen
class DisplayMonitorsConfig(ServerMessage):
    """MONITORS_CONFIG: which parts of which surfaces are monitors (``max_allowed`` 0: no limit)."""

    TYPE: ClassVar[int] = DisplayMsg.MONITORS_CONFIG

    heads: tuple[Head, ...]
    max_allowed: int = 0

    #: The count of heads comes before max_allowed, the heads after it.
    _WIRE: ClassVar[tuple[Entry, ...]] = (
        ("heads", LengthOf(U16), "count"),
        ("max_allowed", U16, "max_allowed"),
        ("heads", Items(HEAD, HEAD.size, after="count"), "heads"),
    )


# --- server to client: GL and quality --------------------------------------------------------


@register
@frozen
class DisplayGlScanoutUnix(ServerMessage):
    """GL_SCANOUT_UNIX: a dma-buf scanout.  The fd itself travels out of band (SCM_RIGHTS),
    so it is not part of the body and a remote client cannot use this message."""

    TYPE: ClassVar[int] = DisplayMsg.GL_SCANOUT_UNIX

    width: Annotated[int, U32]
    height: Annotated[int, U32]
    stride: Annotated[int, U32]
    drm_fourcc_format: Annotated[int, U32]
    flags: Annotated[GlScanoutFlags, bit_flags("I", GlScanoutFlags)] = _NO_GL_FLAGS


@register
@frozen
class DisplayGlDraw(ServerMessage):
    """GL_DRAW: this area of the GL scanout changed."""

    TYPE: ClassVar[int] = DisplayMsg.GL_DRAW

    x: Annotated[int, U32]
    y: Annotated[int, U32]
    w: Annotated[int, U32]
    h: Annotated[int, U32]


@register
@frozen
class DisplayQualityIndicator(ServerMessage):
    """QUALITY_INDICATOR: opaque bytes (the rest of the body)."""

    TYPE: ClassVar[int] = DisplayMsg.QUALITY_INDICATOR

    data: Annotated[bytes, Rest()] = b""


# --- client to server --------------------------------------------------------------------------


@register
@frozen
class DisplayInit(ClientMessage):
    """INIT: the client's image cache and GLZ dictionary (sizes in pixels)."""

    TYPE: ClassVar[int] = DisplayMsgc.INIT

    pixmap_cache_id: Annotated[int, U8]
    pixmap_cache_size: Annotated[int, I64]
    glz_dictionary_id: Annotated[int, U8]
    glz_dictionary_window_size: Annotated[int, I32]


@register
@frozen
class DisplayStreamReport(ClientMessage):
    """STREAM_REPORT: how playback of a stream went (:data:`INVALID_STREAM_DROPS`, no frames: unsupported)."""

    TYPE: ClassVar[int] = DisplayMsgc.STREAM_REPORT

    stream_id: Annotated[int, U32]
    unique_id: Annotated[int, U32]
    start_frame_mm_time: Annotated[int, U32]
    end_frame_mm_time: Annotated[int, U32]
    num_frames: Annotated[int, U32]
    num_drops: Annotated[int, U32]
    last_frame_delay: Annotated[int, I32]
    audio_delay: Annotated[int, U32]


@register
@frozen
class DisplayPreferredCompression(ClientMessage):
    """PREFERRED_COMPRESSION: an :class:`ImageCompression` (plain int when unknown)."""

    TYPE: ClassVar[int] = DisplayMsgc.PREFERRED_COMPRESSION

    image_compression: Annotated[int, lenient("B", ImageCompression)]


@register
@frozen
class DisplayGlDrawDone(ClientMessage):
    """GL_DRAW_DONE: the client finished with the last GL_DRAW."""

    TYPE: ClassVar[int] = DisplayMsgc.GL_DRAW_DONE


@register
@frozen
class DisplayPreferredVideoCodecType(ClientMessage):
    """PREFERRED_VIDEO_CODEC_TYPE: codecs in order of preference (:class:`VideoCodecType` when known)."""

    TYPE: ClassVar[int] = DisplayMsgc.PREFERRED_VIDEO_CODEC_TYPE

    codecs: Annotated[
        tuple[int, ...],
        Counted(
            U8,
            "num_of_codecs",
            lenient("B", VideoCodecType),
            1,
            "DisplayPreferredVideoCodecType: at most 255 codecs, got {}",
        ),
    ]
