"""Large payloads (image data, video frames) decoded from an immutable body are read-only
views into it, not copies; from a mutable buffer they are copies that cannot change."""

from __future__ import annotations

import pytest
import spice_proto as sp
from spice_proto import BitmapFlags, BitmapFmt, Clip, Payload, Rect
from spice_proto.lowlevel import Reader, Writer

BIG = bytes(range(256)) * 24  # 6144 bytes, past the Writer's keep-by-reference size
PALETTE = sp.Palette(3, (0x112233, 0x445566))


def images(data: bytes) -> list[sp.Image]:
    return [
        sp.QuicImage(width=8, height=8, data=data),
        sp.LzRgbImage(width=8, height=8, data=data),
        sp.GlzRgbImage(width=8, height=8, data=data),
        sp.JpegImage(width=8, height=8, data=data),
        sp.Lz4Image(width=8, height=8, data=data),
        sp.ZlibGlzRgbImage(width=8, height=8, glz_data_size=99, data=data),
        sp.JpegAlphaImage(width=8, height=8, jpeg_size=5, data=data),
        sp.LzPltImage(width=8, height=8, data=data, palette=PALETTE),
        sp.BitmapImage(
            width=len(data) // 4,
            height=1,
            format=BitmapFmt.FMT_32BIT,
            stride=len(data),
            data=data,
            bitmap_flags=BitmapFlags.TOP_DOWN,
        ),
    ]


def draw_copy(image: sp.Image) -> sp.DisplayDrawCopy:
    return sp.DisplayDrawCopy(0, Rect(0, 0, 8, 8), Clip(), image, Rect(0, 0, 8, 8))


def messages(data: bytes) -> list[sp.Message]:
    return [
        *(draw_copy(image) for image in images(data)),
        sp.DisplayStreamData(1, 1000, data),
        sp.DisplayStreamDataSized(1, 1000, 16, 8, Rect(1, 2, 17, 10), data),
    ]


def payload(msg: sp.Message) -> Payload:
    if isinstance(msg, sp.DisplayDrawCopy):
        image = msg.src_bitmap
        assert isinstance(
            image, (sp.BinaryImage, sp.BitmapImage, sp.ZlibGlzRgbImage, sp.JpegAlphaImage, sp.LzPltImage)
        )
        return image.data
    assert isinstance(msg, (sp.DisplayStreamData, sp.DisplayStreamDataSized))
    return msg.data


@pytest.mark.parametrize("data", [BIG, b"tiny" * 4], ids=["large", "small"])
@pytest.mark.parametrize("index", range(len(messages(b"x" * 8))))
def test_payload_from_bytes_body_is_a_read_only_view_of_it(data: bytes, index: int) -> None:
    msg = messages(data)[index]
    body = msg.encode()
    decoded = type(msg).decode(body)
    got = payload(decoded)
    assert isinstance(got, memoryview)
    assert got.readonly and got.obj is body
    assert got == payload(msg) and bytes(got) == payload(msg)
    # equal to, and hashing like, the same message built from bytes
    assert decoded == msg and msg == decoded
    assert hash(decoded) == hash(msg)
    assert decoded.encode() == body
    with pytest.raises(TypeError):
        got[0] = 1


def test_a_view_of_a_bytes_body_also_gives_views() -> None:
    msg = sp.DisplayStreamData(7, 1, BIG)
    packet = b"HEAD" + msg.encode() + b"TAIL"
    decoded = sp.DisplayStreamData.decode(memoryview(packet)[4:-4])
    assert isinstance(decoded.data, memoryview) and decoded.data.obj is packet
    assert decoded == msg


@pytest.mark.parametrize(
    "wrap",
    [bytearray, lambda b: memoryview(bytearray(b)), lambda b: memoryview(bytearray(b)).toreadonly()],
    ids=["bytearray", "view of bytearray", "read-only view of bytearray"],
)
@pytest.mark.parametrize("index", range(len(messages(b"x" * 8))))
def test_payload_from_mutable_body_is_a_copy(wrap: object, index: int) -> None:
    msg = messages(BIG)[index]
    buffer = wrap(msg.encode())  # type: ignore[operator]
    decoded = type(msg).decode(buffer)
    got = payload(decoded)
    assert type(got) is bytes and got == BIG
    # wipe the buffer the body came from: the decoded message must not change
    target = buffer if isinstance(buffer, bytearray) else buffer.obj
    target[:] = bytes(len(target))
    assert payload(decoded) == BIG and decoded == msg


def test_small_fields_stay_bytes() -> None:
    r = Reader(b"\x01\x02\x03\x04abcdef", "test")
    assert type(r.bytes(4, "head")) is bytes
    assert type(r.payload(2, "data")) is memoryview
    assert type(r.rest()) is bytes
    uuid = sp.MainUuid(bytes(range(16)))
    assert type(sp.MainUuid.decode(uuid.encode()).uuid) is bytes


def test_payload_errors_name_the_field() -> None:
    with pytest.raises(sp.ProtocolError, match="frame"):
        Reader(b"abc", "test").payload(4, "frame")
    body = bytearray(sp.DisplayStreamData(1, 2, BIG).encode())
    with pytest.raises(sp.ProtocolError, match="data"):
        sp.DisplayStreamData.decode(bytes(body[:-1]))


def test_writer_keeps_only_immutable_views_by_reference() -> None:
    mutable = bytearray(BIG)
    w = Writer()
    w.u32(1).bytes(memoryview(mutable)).bytes(memoryview(mutable).toreadonly())
    w.bytes(memoryview(BIG)[1:]).bytes(memoryview(BIG * 4).cast("I")).u8(2)
    mutable[:] = bytes(len(mutable))  # too late: the Writer copied the mutable ones
    assert w.tell() == 4 + 7 * len(BIG) - 1 + 1
    assert w.getvalue() == b"\x01\0\0\0" + BIG + BIG + BIG[1:] + BIG * 4 + b"\x02"


def test_writer_patches_a_pointer_around_a_kept_view() -> None:
    w = Writer()
    before = w.reserve_u32()
    w.bytes(memoryview(BIG)[:5000])
    after = w.reserve_u32()
    w.patch_u32(before, 7)
    w.patch_u32(after, 9)
    w.patch_u32(4, 0xAABBCCDD)  # inside the kept view: the Writer flattens, the view is untouched
    out = w.getvalue()
    assert out[:8] == b"\x07\0\0\0\xdd\xcc\xbb\xaa" and out[-4:] == b"\x09\0\0\0"
    assert out[8:5004] == BIG[4:5000] and BIG[:4] == bytes(range(4))
