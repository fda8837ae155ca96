"""Data headers: the 18-byte full header and the 6-byte mini header, by hand."""

from __future__ import annotations

import pytest
from spice_proto import DATA_HEADER_SIZE, MINI_HEADER_SIZE, DataHeader, MiniHeader, ProtocolError


def test_data_header_bytes() -> None:
    wire = (
        b"\x01\x02\0\0\0\0\0\x80"  # serial u64
        b"\x67\0"  # type 103
        b"\x20\0\0\0"  # size 32
        b"\0\0\0\0"  # sub_list
    )
    assert DATA_HEADER_SIZE == len(wire) == 18
    header = DataHeader(0x8000000000000201, 103, 32, 0)
    assert header.encode() == wire
    assert DataHeader.decode(wire) == header


def test_mini_header_bytes() -> None:
    wire = b"\x30\x01" + b"\x00\x00\x01\x00"  # type 304, size 65536
    assert MINI_HEADER_SIZE == len(wire) == 6
    assert MiniHeader(304, 65536).encode() == wire
    assert MiniHeader.decode(wire) == MiniHeader(304, 65536)


def test_short_headers() -> None:
    with pytest.raises(ProtocolError, match="DataHeader: needs 18 bytes, got 17"):
        DataHeader.decode(bytes(17))
    with pytest.raises(ProtocolError, match="MiniHeader: needs 6 bytes, got 5"):
        MiniHeader.decode(bytes(5))
