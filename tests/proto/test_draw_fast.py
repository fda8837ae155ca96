"""DRAW_COPY / DRAW_BLEND's one-struct reader (``_draw_fast``) against the generic one.

Whatever the body, decoding must give what the field-by-field reader gives (the same
message, or a ProtocolError); the fast reader only takes the common shape.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
import spice_proto as sp
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import ChannelType, Direction, ProtocolError
from spice_proto.lowlevel import Reader, read_fields
from test_display_types import st_clip, st_image, st_qmask, st_rect, u16, u32

CLASSES = (sp.DisplayDrawCopy, sp.DisplayDrawBlend)


def generic(cls: Any, body: bytes) -> Any:
    """The field-by-field reader, errors as decode_message reports them."""
    try:
        return read_fields(cls, Reader(body, cls.__name__))
    except ProtocolError:
        raise
    except (ValueError, IndexError) as exc:
        raise ProtocolError(str(exc), where=cls.__name__) from exc


def fast_only(cls: Any, body: Any) -> Any:
    """``cls.decode(body)`` with the generic reader made to fail: ``None`` when it was needed."""

    def refuse(r: Any) -> Any:
        raise LookupError("generic reader")

    original = cls.__dict__.get("decode_body")
    cls.decode_body = refuse
    try:
        return cls.decode(body)
    except LookupError:
        return None
    finally:
        if original is None:
            del cls.decode_body
        else:
            cls.decode_body = original


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ProtocolError:
        return ProtocolError


def common(cls: Any, image: sp.Image | None = None, **kw: Any) -> Any:
    image = image or sp.GlzRgbImage(id=7, width=12, height=16, data=bytes(range(40)))
    fields: dict[str, Any] = {
        "surface_id": 0,
        "box": sp.Rect(5, 10, 17, 26),
        "clip": sp.Clip(),
        "src_bitmap": image,
        "src_area": sp.Rect(0, 0, 12, 16),
    }
    return cls(**{**fields, **kw})


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "image",
    [
        sp.GlzRgbImage(id=1, width=3, height=2, data=b"glz"),
        sp.LzRgbImage(id=2, flags=sp.ImageFlags.CACHE_ME, width=1, height=1, data=b""),
        sp.QuicImage(id=3, width=640, height=480, data=bytes(300)),
        sp.JpegImage(width=4, height=4, data=b"\xff\xd8"),
    ],
)
def test_common_shape_takes_the_fast_path(cls: Any, image: sp.Image) -> None:
    msg = common(cls, image, rop_descriptor=sp.Ropd.OP_PUT | sp.Ropd.INVERS_DEST)
    body = msg.encode()
    fast = fast_only(cls, body)
    assert fast == msg == generic(cls, body)
    assert type(fast.src_bitmap) is type(image)
    assert isinstance(fast.src_bitmap.data, memoryview)  # a view of the body, like the generic reader's


@pytest.mark.parametrize(
    "change",
    [
        {"clip": sp.Clip.of_rects(sp.Rect(0, 0, 8, 8))},
        {"mask": sp.QMask(sp.MaskFlags.INVERS)},
        {"mask": sp.QMask(pos=sp.Point(1, 0))},
        {"mask": sp.QMask(bitmap=sp.GlzRgbImage(width=1, height=1, data=b"m"))},
        {"src_bitmap": sp.ZlibGlzRgbImage(width=1, height=1, glz_data_size=9, data=b"z")},
        {"src_bitmap": sp.FromCacheImage(id=5, width=12, height=16)},
    ],
)
def test_other_shapes_go_to_the_generic_reader(change: dict[str, Any]) -> None:
    msg = common(sp.DisplayDrawCopy, **change)
    body = msg.encode()
    assert fast_only(sp.DisplayDrawCopy, body) is None
    assert sp.DisplayDrawCopy.decode(body) == msg


def test_only_immutable_bodies() -> None:
    body = common(sp.DisplayDrawCopy).encode()
    assert fast_only(sp.DisplayDrawCopy, bytearray(body)) is None
    assert sp.DisplayDrawCopy.decode(bytearray(body)) == generic(sp.DisplayDrawCopy, body)


@given(
    st.sampled_from(CLASSES),
    st.tuples(
        u32,
        st_rect,
        st_clip,
        st_image,
        st_rect,
        u16.map(sp.Ropd),
        st.sampled_from(sp.ImageScaleMode),
        st_qmask,
    ),
)
def test_any_message_decodes_as_the_generic_reader_does(cls: Any, fields: tuple[Any, ...]) -> None:
    body = cls(*fields).encode()
    assert cls.decode(body) == generic(cls, body)


@pytest.mark.parametrize("cls", CLASSES)
def test_damaged_bodies_decode_or_fail_as_the_generic_reader_does(cls: Any) -> None:
    """Seeded byte flips, cuts and appended bytes of common bodies: the same message or
    the same failure (ProtocolError) from decode_message as from the generic reader."""
    rng = random.Random(14)
    bodies = [
        common(cls).encode(),
        common(cls, sp.QuicImage(id=9, width=2, height=2, data=bytes(64))).encode(),
    ]
    tried = fast = 0
    for base in bodies:
        for _ in range(1500):
            body = bytearray(base)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(body))
                body[at] = rng.choice((0, 1, 0xFF, 0x80, rng.randrange(256)))
            if rng.random() < 0.2:
                body = body[: rng.randrange(len(body) + 1)]
            elif rng.random() < 0.1:
                body += bytes(rng.randrange(1, 40))
            data = bytes(body)
            got = outcome(sp.decode_message, ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, cls.TYPE, data)
            assert got == outcome(generic, cls, data), data.hex()
            tried += 1
            fast += fast_only(cls, data) is not None
    assert tried == 3000 and 0 < fast < tried  # both readers were exercised


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "image_cls", [sp.GlzRgbImage, sp.LzRgbImage, sp.QuicImage, sp.JpegImage, sp.Lz4Image]
)
def test_fast_objects_are_whole_dataclasses(cls: Any, image_cls: Any) -> None:
    """The fast reader fills the frozen dataclasses without their __init__: every field, no
    other attribute, no __post_init__ skipped; equal (and hashed, shown) as the generic ones."""
    msg = common(cls, image_cls(id=4, width=2, height=3, data=b"abc"), scale_mode=sp.ImageScaleMode.NEAREST)
    body = msg.encode()
    fast, slow = fast_only(cls, body), generic(cls, body)
    for got, want in [
        (fast, slow),
        (fast.src_bitmap, slow.src_bitmap),
        (fast.box, slow.box),
        (fast.src_area, slow.src_area),
    ]:
        assert type(got) is type(want) and not hasattr(type(got), "__post_init__")
        assert list(vars(got)) == [f.name for f in dataclasses.fields(got)]
        assert got == want
    assert hash(fast.box) == hash(slow.box) and repr(fast.box) == repr(slow.box)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.surface_id = 1
