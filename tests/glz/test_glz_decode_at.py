"""decode_at: one GLZ image straight into a rectangle of a surface-like buffer, or nothing."""

from __future__ import annotations

import random

import pytest
import spice_glz
from spice_glz import DecodeError, DirectFormats, ImageType

SURFACE_W, SURFACE_H = 64, 40
STRIDE = SURFACE_W * 4
XRGB = DirectFormats(
    {
        ImageType.RGB16: "bgrx32",
        ImageType.RGB24: "bgrx32",
        ImageType.RGB32: "bgrx32",
        ImageType.RGBA: "bgra32",
    }
)


def _frames(itype: ImageType, width: int, height: int, count: int, seed: int = 7) -> list[bytes]:
    """Blobs of a picture that scrolls one row per image (later ones refer to earlier ones)."""
    rng = random.Random(seed)
    bpp = {ImageType.RGB16: 2, ImageType.RGB24: 3}.get(itype, 4)
    rows = [bytes(rng.choice((0, 0x55, 0xFF)) for _ in range(width * bpp)) for _ in range(height + count)]
    encoder = spice_glz.Encoder(1 << 16)
    return [encoder.encode(b"".join(rows[i : i + height]), width, height, itype) for i in range(count)]


def _surface() -> bytearray:
    return bytearray(random.Random(1).randbytes(STRIDE * SURFACE_H))


@pytest.mark.parametrize("itype", list(ImageType), ids=lambda t: t.name)
def test_same_pixels_as_decode_into_and_nothing_else_touched(itype: ImageType) -> None:
    width, height, x, y = 21, 9, 17, 30
    at_window, into_window = spice_glz.Window(1 << 16), spice_glz.Window(1 << 16)
    surface, expected = _surface(), _surface()
    for blob in _frames(itype, width, height, 4):
        fmt = spice_glz.decode_at(blob, surface, STRIDE, x, y, width, height, formats=XRGB, window=at_window)
        assert fmt == XRGB.formats[itype]
        offset = y * STRIDE + x * 4
        spice_glz.decode_into(blob, memoryview(expected)[offset:], STRIDE, format=fmt, window=into_window)
        assert surface == expected
    assert at_window.ids() == into_window.ids() == [0, 1, 2, 3]


def test_x1r5g5b5_rows_use_two_bytes_a_pixel() -> None:
    (blob,) = _frames(ImageType.RGB16, 10, 3, 1)
    out = bytearray(b"\xaa" * 200)
    fmt = spice_glz.decode_at(
        blob, out, 40, 5, 2, 10, 3, formats={ImageType.RGB16: "x1r5g5b5"}, window=spice_glz.Window()
    )
    assert fmt == "x1r5g5b5"
    expected = bytearray(b"\xaa" * 200)
    spice_glz.decode_into(
        blob, memoryview(expected)[2 * 40 + 10 :], 40, format=fmt, window=spice_glz.Window()
    )
    assert out == expected


def test_other_size_or_type_is_skipped_untouched() -> None:
    window = spice_glz.Window(1 << 16)
    (blob,) = _frames(ImageType.RGB32, 8, 4, 1)
    surface = _surface()
    before = bytes(surface)
    assert spice_glz.decode_at(blob, surface, STRIDE, 0, 0, 8, 5, formats=XRGB, window=window) is None
    assert spice_glz.decode_at(blob, surface, STRIDE, 0, 0, 7, 4, formats=XRGB, window=window) is None
    rgba_only = {ImageType.RGBA: "bgra32"}
    assert spice_glz.decode_at(blob, surface, STRIDE, 0, 0, 8, 4, formats=rgba_only, window=window) is None
    assert bytes(surface) == before and len(window) == 0
    assert spice_glz.decode_at(blob, surface, STRIDE, 0, 0, 8, 4, formats=XRGB, window=window) == "bgrx32"
    assert window.ids() == [0]


@pytest.mark.parametrize(
    ("x", "y", "stride"),
    [
        (SURFACE_W - 7, 0, STRIDE),  # one pixel past the row
        (0, SURFACE_H - 3, STRIDE),  # one row past the end
        (0, 1 << 40, STRIDE),
        (-1, 0, STRIDE),
        (0, 0, -STRIDE),
        (0, 0, 0),
        (0, 0, 8 * 4 - 1),  # stride shorter than the rectangle's row
    ],
)
def test_rectangle_outside_the_buffer_is_a_decode_error(x: int, y: int, stride: int) -> None:
    window = spice_glz.Window(1 << 16)
    (blob,) = _frames(ImageType.RGBA, 8, 4, 1)
    surface = _surface()
    before = bytes(surface)
    with pytest.raises(DecodeError, match="not inside"):
        spice_glz.decode_at(blob, surface, stride, x, y, 8, 4, formats=XRGB, window=window)
    assert bytes(surface) == before and len(window) == 0


def test_bad_blobs_and_buffers_are_decode_errors_and_change_nothing() -> None:
    window = spice_glz.Window(1 << 16)
    (blob,) = _frames(ImageType.RGBA, 8, 4, 1)
    surface = _surface()
    before = bytes(surface)
    for bad, match in [
        (blob[:-3], "stream ends early"),
        (blob + b"\0", "left after the image"),
        (b"\0" * 40, "bad magic"),
        (blob[:20], "shorter than its 33-byte header"),
    ]:
        with pytest.raises(DecodeError, match=match):
            spice_glz.decode_at(bad, surface, STRIDE, 1, 1, 8, 4, formats=XRGB, window=window)
    with pytest.raises(DecodeError, match="bytes-like"):
        spice_glz.decode_at("text", surface, STRIDE, 1, 1, 8, 4, formats=XRGB, window=window)  # type: ignore[arg-type]
    with pytest.raises(DecodeError, match="writable"):
        spice_glz.decode_at(blob, bytes(surface), STRIDE, 1, 1, 8, 4, formats=XRGB, window=window)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_glz.decode_at(
            blob,
            surface,
            STRIDE,
            1,
            1,
            8,
            4,
            formats=XRGB,
            window=window,
            limits=spice_glz.Limits(max_pixels=31),
        )
    with pytest.raises(DecodeError, match="cannot be decoded to 'gray8'"):
        DirectFormats({ImageType.RGB32: "gray8"})
    assert bytes(surface) == before and len(window) == 0


@pytest.mark.parametrize("itype", list(ImageType), ids=lambda t: t.name)
def test_target_writes_what_decode_at_writes(itype: ImageType) -> None:
    width, height, x, y = 21, 9, 17, 30
    target_window, at_window = spice_glz.Window(1 << 16), spice_glz.Window(1 << 16)
    surface, expected = _surface(), _surface()
    with spice_glz.DecodeTarget(surface, STRIDE, formats=XRGB) as target:
        for blob in _frames(itype, width, height, 4):
            fmt = target.decode_at(blob, x, y, width, height, target_window)
            assert fmt == spice_glz.decode_at(
                blob, expected, STRIDE, x, y, width, height, formats=XRGB, window=at_window
            )
            assert surface == expected
        # another size or a type without a format: nothing done
        (blob,) = _frames(itype, 8, 4, 1, seed=3)
        assert target.decode_at(blob, 0, 0, 8, 5, target_window) is None
        assert surface == expected
    assert target_window.ids() == at_window.ids() == [0, 1, 2, 3]


def test_target_keeps_its_buffer_exported_until_released() -> None:
    surface = _surface()
    target = spice_glz.DecodeTarget(surface, STRIDE, formats={ImageType.RGBA: "bgra32"})
    with pytest.raises(BufferError):
        surface.extend(b"more")  # exported: it cannot move under the C code
    (blob,) = _frames(ImageType.RGBA, 8, 4, 1)
    target.release()
    target.release()
    surface.extend(b"more")
    with pytest.raises(DecodeError, match="released"):
        target.decode_at(blob, 0, 0, 8, 4, spice_glz.Window())
    # a buffer only the target refers to stays alive with it
    lone = spice_glz.DecodeTarget(bytearray(STRIDE * SURFACE_H), STRIDE, formats=XRGB)
    assert lone.decode_at(blob, 1, 1, 8, 4, spice_glz.Window()) == "bgra32"


def test_target_checks_what_decode_at_checks() -> None:
    window = spice_glz.Window(1 << 16)
    (blob,) = _frames(ImageType.RGBA, 8, 4, 1)
    surface = _surface()
    before = bytes(surface)
    with pytest.raises(DecodeError, match="writable"):
        spice_glz.DecodeTarget(bytes(surface), STRIDE, formats=XRGB)
    with pytest.raises(DecodeError, match="cannot be decoded to 'gray8'"):
        spice_glz.DecodeTarget(surface, STRIDE, formats={ImageType.RGB32: "gray8"})
    target = spice_glz.DecodeTarget(surface, STRIDE, formats=XRGB)
    for bad, match in [
        (blob[:-3], "stream ends early"),
        (blob + b"\0", "left after the image"),
        (b"\0" * 40, "bad magic"),
        ("text", "bytes-like"),
    ]:
        with pytest.raises(DecodeError, match=match):
            target.decode_at(bad, 1, 1, 8, 4, window)
    with pytest.raises(DecodeError, match="not inside"):
        target.decode_at(blob, SURFACE_W - 7, 0, 8, 4, window)
    small = spice_glz.DecodeTarget(surface, STRIDE, formats=XRGB, limits=spice_glz.Limits(max_pixels=31))
    with pytest.raises(DecodeError, match="exceeds the limit"):
        small.decode_at(blob, 1, 1, 8, 4, window)
    assert bytes(surface) == before and len(window) == 0


def test_target_holds_no_export_of_the_blob_after_a_call() -> None:
    (blob,) = _frames(ImageType.RGBA, 8, 4, 1)
    target = spice_glz.DecodeTarget(_surface(), STRIDE, formats=XRGB)
    window = spice_glz.Window(1 << 16)
    good = bytearray(blob)
    assert target.decode_at(good, 1, 1, 8, 4, window) == "bgra32"
    good.extend(b"more")  # a bytearray with an export left could not change size
    bad = bytearray(blob[:-3])
    with pytest.raises(DecodeError, match="stream ends early") as failed:
        target.decode_at(bad, 1, 1, 8, 4, window)
    bad.extend(b"more")  # nor while the kept exception's frames hold the blob's export
    assert failed.value is not None
