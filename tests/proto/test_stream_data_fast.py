"""STREAM_DATA's one-struct reader against the generic field-by-field one.

Whatever the body, ``DisplayStreamData.decode`` must give what the generic reader gives:
the same message with ``data`` a view of the same bytes, or the same ProtocolError.
"""

from __future__ import annotations

from typing import Any

import pytest
import spice_proto as sp
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import ChannelType, Direction, ProtocolError
from spice_proto.lowlevel import Reader, read_fields


def generic(body: bytes | bytearray) -> Any:
    try:
        return read_fields(sp.DisplayStreamData, Reader(body, "DisplayStreamData"))
    except ProtocolError as exc:
        return str(exc)


def decoded(body: bytes | bytearray) -> Any:
    try:
        return sp.DisplayStreamData.decode(body)
    except ProtocolError as exc:
        return str(exc)


def test_a_frame_is_read_in_one_call_as_a_view_of_the_body() -> None:
    body = sp.DisplayStreamData(7, 0xFFFF_FFF0, b"\xff\xd8 a frame \xff\xd9").encode() + b"newer fields"
    calls = []

    def refuse(r: Any) -> Any:  # the generic reader is not used
        calls.append(r)
        raise LookupError

    sp.DisplayStreamData.decode_body = refuse  # type: ignore[method-assign]
    try:
        message = sp.DisplayStreamData.decode(body)
    finally:
        del sp.DisplayStreamData.decode_body
    assert calls == []
    assert (message.id, message.multi_media_time) == (7, 0xFFFF_FFF0)
    assert isinstance(message.data, memoryview) and message.data.obj is body  # no copy
    assert bytes(message.data) == b"\xff\xd8 a frame \xff\xd9"
    assert message == generic(body)


def test_a_truncated_frame_is_named_by_the_generic_reader() -> None:
    body = sp.DisplayStreamData(1, 2, b"0123456789").encode()
    for cut in range(len(body)):
        error = decoded(body[:cut])
        assert isinstance(error, str) and "DisplayStreamData" in error
        assert error == generic(body[:cut])
    whole = sp.decode_message(
        ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, sp.DisplayMsg.STREAM_DATA, body
    )
    assert whole == generic(body)
    with pytest.raises(ProtocolError) as caught:
        sp.decode_message(
            ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, sp.DisplayMsg.STREAM_DATA, body[:-1]
        )
    assert str(caught.value) == generic(body[:-1])


@given(
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, 40) | st.integers(0, 0xFFFF_FFFF),
    st.binary(max_size=48),
    st.booleans(),
)
def test_any_body_decodes_as_the_generic_reader_decodes_it(
    stream_id: int, mm_time: int, size: int, rest: bytes, mutable: bool
) -> None:
    body: bytes | bytearray = stream_id.to_bytes(4, "little") + mm_time.to_bytes(4, "little")
    body += size.to_bytes(4, "little") + rest
    if mutable:
        body = bytearray(body)  # the generic reader copies the data out of a mutable body
    fast, slow = decoded(body), generic(body)
    assert fast == slow
    if not isinstance(fast, str):
        assert type(fast.data) is type(slow.data)


@given(st.binary(max_size=16))
def test_short_bodies_fail_as_the_generic_reader_fails(body: bytes) -> None:
    assert decoded(body) == generic(body)
