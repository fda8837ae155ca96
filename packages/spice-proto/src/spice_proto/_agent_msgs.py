"""Agent messages whose layout depends on negotiated capabilities: clipboard, file transfer.

The clipboard messages start with a selection byte (and 3 reserved bytes) only when both
sides announced ``CLIPBOARD_SELECTION``; a grab carries a serial only with
``CLIPBOARD_GRAB_SERIAL``.  So these bodies are encoded and parsed with an
:class:`AgentClipboardLayout` saying which of the two is on the wire.  Layouts and numbers
come from spice-protocol's ``vd_agent.h``; every malformed body raises :class:`ProtocolError`.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import ClassVar

from ._agent import AgentCap, AgentMessage, AgentMessageType
from ._caps import Caps
from ._errors import ProtocolError
from ._frozen import frozen
from ._wire import Reader, Writer

__all__ = [
    "AgentClipboard",
    "AgentClipboardGrab",
    "AgentClipboardLayout",
    "AgentClipboardRelease",
    "AgentClipboardRequest",
    "AgentClipboardType",
    "AgentDisplayConfig",
    "AgentDisplayConfigFlags",
    "AgentFileXferData",
    "AgentFileXferStart",
    "AgentFileXferStatus",
    "AgentFileXferStatusCode",
    "AgentMaxClipboard",
    "AgentSelection",
]


class AgentClipboardType(IntEnum):
    NONE = 0
    UTF8_TEXT = 1
    IMAGE_PNG = 2
    IMAGE_BMP = 3
    IMAGE_TIFF = 4
    IMAGE_JPG = 5
    FILE_LIST = 6


class AgentSelection(IntEnum):
    CLIPBOARD = 0
    PRIMARY = 1
    SECONDARY = 2


class AgentFileXferStatusCode(IntEnum):
    CAN_SEND_DATA = 0
    CANCELLED = 1
    ERROR = 2
    SUCCESS = 3
    NOT_ENOUGH_SPACE = 4
    SESSION_LOCKED = 5
    VDAGENT_NOT_CONNECTED = 6
    DISABLED = 7


class AgentDisplayConfigFlags(IntFlag):
    DISABLE_WALLPAPER = 1
    DISABLE_FONT_SMOOTH = 2
    DISABLE_ANIMATION = 4
    SET_COLOR_DEPTH = 8


@frozen
class AgentClipboardLayout:
    """Which optional clipboard fields are on the wire: both sides' caps decide."""

    selection: bool = False
    serial: bool = False

    @classmethod
    def negotiated(cls, ours: Caps, theirs: Caps) -> AgentClipboardLayout:
        both = set(ours) & set(theirs)
        return cls(
            selection=AgentCap.CLIPBOARD_SELECTION in both,
            serial=AgentCap.CLIPBOARD_GRAB_SERIAL in both,
        )


def _enum(kind: type[IntEnum], value: int) -> int:
    return kind(value) if value in kind._value2member_map_ else value


def _read_selection(r: Reader, layout: AgentClipboardLayout) -> AgentSelection | int:
    if not layout.selection:
        return AgentSelection.CLIPBOARD
    selection = r.u8("selection")
    r.skip(3, "reserved")
    return _enum(AgentSelection, selection)


def _write_selection(w: Writer, layout: AgentClipboardLayout, selection: int) -> None:
    if layout.selection:
        w.u8(int(selection)).bytes(b"\0\0\0")
    elif selection != AgentSelection.CLIPBOARD:
        raise ValueError("a selection other than CLIPBOARD needs the CLIPBOARD_SELECTION capability")


def _types(r: Reader) -> tuple[AgentClipboardType | int, ...]:
    if r.remaining % 4:
        raise r.fail(f"{r.remaining} bytes of types, not a multiple of 4", "types")
    return tuple(
        _enum(AgentClipboardType, t)
        for t in r.array(r.remaining // 4, lambda rr: rr.u32("types"), "types", 4)
    )


@frozen
class AgentClipboardGrab:
    """VDAgentClipboardGrab: [selection], [serial], then the offered types."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.CLIPBOARD_GRAB
    types: tuple[AgentClipboardType | int, ...]
    selection: AgentSelection | int = AgentSelection.CLIPBOARD
    serial: int = 0

    def message(self, layout: AgentClipboardLayout) -> AgentMessage:
        w = Writer()
        _write_selection(w, layout, self.selection)
        if layout.serial:
            w.u32(self.serial)
        for t in self.types:
            w.u32(int(t))
        return AgentMessage(self.TYPE, w.getvalue())

    @classmethod
    def parse(cls, data: bytes, layout: AgentClipboardLayout) -> AgentClipboardGrab:
        r = Reader(data, "VDAgentClipboardGrab")
        selection = _read_selection(r, layout)
        serial = r.u32("serial") if layout.serial else 0
        return cls(_types(r), selection, serial)


@frozen
class AgentClipboardRequest:
    """VDAgentClipboardRequest: [selection], the wanted type."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.CLIPBOARD_REQUEST
    type: AgentClipboardType | int
    selection: AgentSelection | int = AgentSelection.CLIPBOARD

    def message(self, layout: AgentClipboardLayout) -> AgentMessage:
        w = Writer()
        _write_selection(w, layout, self.selection)
        w.u32(int(self.type))
        return AgentMessage(self.TYPE, w.getvalue())

    @classmethod
    def parse(cls, data: bytes, layout: AgentClipboardLayout) -> AgentClipboardRequest:
        r = Reader(data, "VDAgentClipboardRequest")
        selection = _read_selection(r, layout)
        kind = r.u32("type")
        r.expect_end()
        return cls(_enum(AgentClipboardType, kind), selection)


@frozen
class AgentClipboard:
    """VDAgentClipboard: [selection], the type, then the data (type NONE: no data to give)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.CLIPBOARD
    type: AgentClipboardType | int
    data: bytes = b""
    selection: AgentSelection | int = AgentSelection.CLIPBOARD

    def message(self, layout: AgentClipboardLayout) -> AgentMessage:
        w = Writer()
        _write_selection(w, layout, self.selection)
        w.u32(int(self.type)).bytes(self.data)
        return AgentMessage(self.TYPE, w.getvalue())

    @classmethod
    def parse(cls, data: bytes, layout: AgentClipboardLayout) -> AgentClipboard:
        r = Reader(data, "VDAgentClipboard")
        selection = _read_selection(r, layout)
        kind = r.u32("type")
        return cls(_enum(AgentClipboardType, kind), r.rest(), selection)


@frozen
class AgentClipboardRelease:
    """VDAgentClipboardRelease: only the [selection]."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.CLIPBOARD_RELEASE
    selection: AgentSelection | int = AgentSelection.CLIPBOARD

    def message(self, layout: AgentClipboardLayout) -> AgentMessage:
        w = Writer()
        _write_selection(w, layout, self.selection)
        return AgentMessage(self.TYPE, w.getvalue())

    @classmethod
    def parse(cls, data: bytes, layout: AgentClipboardLayout) -> AgentClipboardRelease:
        r = Reader(data, "VDAgentClipboardRelease")
        selection = _read_selection(r, layout)
        return cls(selection)


@frozen
class AgentMaxClipboard:
    """VDAgentMaxClipboard: the largest clipboard data the sender accepts (i32; <= 0: no limit)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.MAX_CLIPBOARD
    max: int

    def message(self) -> AgentMessage:
        return AgentMessage(self.TYPE, Writer().i32(self.max).getvalue())

    @classmethod
    def parse(cls, data: bytes) -> AgentMaxClipboard:
        r = Reader(data, "VDAgentMaxClipboard")
        value = r.i32("max")
        r.expect_end()
        return cls(value)


@frozen
class AgentDisplayConfig:
    """VDAgentDisplayConfig: u32 flags, u32 colour depth (used with SET_COLOR_DEPTH)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.DISPLAY_CONFIG
    flags: AgentDisplayConfigFlags
    depth: int = 0

    def message(self) -> AgentMessage:
        return AgentMessage(self.TYPE, Writer().u32(int(self.flags)).u32(self.depth).getvalue())

    @classmethod
    def parse(cls, data: bytes) -> AgentDisplayConfig:
        r = Reader(data, "VDAgentDisplayConfig")
        flags, depth = r.u32("flags"), r.u32("depth")
        r.expect_end()
        return cls(AgentDisplayConfigFlags(flags & 15), depth)


def _key_file(name: str, size: int) -> bytes:
    if any(c in name for c in "\n\r\0/"):
        raise ValueError(f"file name {name!r} must not hold a newline, NUL or '/'")
    return f"[vdagent-file-xfer]\nname={name}\nsize={size}\n".encode() + b"\0"  # agents read a C string


@frozen
class AgentFileXferStart:
    """VDAgentFileXferStartMessage: u32 id, then a NUL-terminated GLib key file (file name, size)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.FILE_XFER_START
    id: int
    name: str
    size: int

    def message(self) -> AgentMessage:
        return AgentMessage(
            self.TYPE, Writer().u32(self.id).bytes(_key_file(self.name, self.size)).getvalue()
        )

    @classmethod
    def parse(cls, data: bytes) -> AgentFileXferStart:
        r = Reader(data, "VDAgentFileXferStartMessage")
        xfer_id = r.u32("id")
        try:
            text = r.rest().rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"key file is not UTF-8: {exc}", where=r.where, field="data") from None
        lines = [line.strip() for line in text.splitlines()]
        if "[vdagent-file-xfer]" not in lines:
            raise ProtocolError("no [vdagent-file-xfer] group", where=r.where, field="data")
        values = dict(line.split("=", 1) for line in lines if "=" in line)
        name, size = values.get("name"), values.get("size", "")
        if not name or not size.isdigit():
            raise ProtocolError("key file lacks a name or a decimal size", where=r.where, field="data")
        return cls(xfer_id, name, int(size))


@frozen
class AgentFileXferStatus:
    """VDAgentFileXferStatusMessage: u32 id, u32 result, then detail bytes (see ``free_space``/``error``)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.FILE_XFER_STATUS
    id: int
    result: AgentFileXferStatusCode | int
    data: bytes = b""

    def message(self) -> AgentMessage:
        return AgentMessage(
            self.TYPE, Writer().u32(self.id).u32(int(self.result)).bytes(self.data).getvalue()
        )

    @classmethod
    def parse(cls, data: bytes) -> AgentFileXferStatus:
        r = Reader(data, "VDAgentFileXferStatusMessage")
        xfer_id, result = r.u32("id"), r.u32("result")
        return cls(xfer_id, _enum(AgentFileXferStatusCode, result), r.rest())

    @property
    def free_space(self) -> int | None:
        """Free bytes on the guest's disk, when NOT_ENOUGH_SPACE says."""
        if self.result == AgentFileXferStatusCode.NOT_ENOUGH_SPACE and len(self.data) >= 8:
            return int.from_bytes(self.data[:8], "little")
        return None

    @property
    def error(self) -> tuple[int, int] | None:
        """(error type, code; type 0 = a GIO error code) when ERROR carries the detail."""
        if self.result == AgentFileXferStatusCode.ERROR and len(self.data) >= 5:
            return self.data[0], int.from_bytes(self.data[1:5], "little")
        return None


@frozen
class AgentFileXferData:
    """VDAgentFileXferDataMessage: u32 id, u64 size, then ``size`` bytes of the file."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.FILE_XFER_DATA
    id: int
    data: bytes

    def message(self) -> AgentMessage:
        return AgentMessage(self.TYPE, Writer().u32(self.id).u64(len(self.data)).bytes(self.data).getvalue())

    @classmethod
    def parse(cls, data: bytes) -> AgentFileXferData:
        r = Reader(data, "VDAgentFileXferDataMessage")
        xfer_id, size = r.u32("id"), r.u64("size")
        chunk = r.bytes(size, "data") if size <= r.remaining else None
        if chunk is None:
            raise r.fail(f"size {size} but {r.remaining} bytes follow", "size")
        r.expect_end()
        return cls(xfer_id, chunk)
