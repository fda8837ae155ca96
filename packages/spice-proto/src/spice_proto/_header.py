"""Data headers: the 18-byte full header and the 6-byte mini header.

Every message after the link stage starts with one of them.  The mini header
(type, size) is used only when both sides advertised
``CommonCap.MINI_HEADER``; otherwise the full header also carries a serial
number and a sub-message list offset.
"""

from __future__ import annotations

import struct

from ._errors import ProtocolError
from ._frozen import frozen

__all__ = ["DATA_HEADER_SIZE", "MINI_HEADER_SIZE", "DataHeader", "MiniHeader"]

DATA_HEADER_SIZE = 18
MINI_HEADER_SIZE = 6

_DATA = struct.Struct("<QHII")
_MINI = struct.Struct("<HI")


@frozen
class DataHeader:
    """SpiceDataHeader: serial u64, type u16, size u32, sub_list u32 (offset into the body, 0 = none)."""

    serial: int
    type: int
    size: int
    sub_list: int = 0

    def encode(self) -> bytes:
        return _DATA.pack(self.serial, self.type, self.size, self.sub_list)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> DataHeader:
        if len(data) < DATA_HEADER_SIZE:
            raise ProtocolError(f"needs {DATA_HEADER_SIZE} bytes, got {len(data)}", where="DataHeader")
        serial, msg_type, size, sub_list = _DATA.unpack_from(data)
        return cls(serial, msg_type, size, sub_list)


@frozen
class MiniHeader:
    """SpiceMiniDataHeader: type u16, size u32."""

    type: int
    size: int

    def encode(self) -> bytes:
        return _MINI.pack(self.type, self.size)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> MiniHeader:
        if len(data) < MINI_HEADER_SIZE:
            raise ProtocolError(f"needs {MINI_HEADER_SIZE} bytes, got {len(data)}", where="MiniHeader")
        msg_type, size = _MINI.unpack_from(data)
        return cls(msg_type, size)
