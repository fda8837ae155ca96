"""Image decoding: every bitmap format, the codecs, JPEG/JPEG_ALPHA, LZ4, ZLIB_GLZ, caches, bad data."""

from __future__ import annotations

import struct
import zlib

import lz4.block
import numpy as np
import pytest
import simplejpeg
import spice_glz
import spice_lz
import spice_quic
import spice_session as ss
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    FromCacheImage,
    FromCacheLosslessImage,
    GlzRgbImage,
    ImageFlags,
    JpegAlphaFlags,
    JpegAlphaImage,
    JpegImage,
    Lz4Image,
    LzPltImage,
    LzRgbImage,
    Palette,
    QuicImage,
    SurfaceFmt,
    SurfaceImage,
    ZlibGlzRgbImage,
)
from spice_session._images import ImageDecoder

PALETTE = Palette(7, (0x000000, 0xFF0000, 0x00FF00, 0x0000FF, 0x123456, 0xFFFFFF) + (0x010203,) * 10)


def decoder() -> ImageDecoder:
    store = ss.lowlevel.ImageStore(1 << 20, 1 << 20)
    surfaces = {9: ss.Surface(9, 4, 2, SurfaceFmt.FMT_32_xRGB)}
    surfaces[9].words[:] = np.arange(8, dtype=np.uint32).reshape(2, 4)  # type: ignore[index]

    def lookup(surface_id: int) -> ss.Surface:
        try:
            return surfaces[surface_id]
        except KeyError:
            raise ss.DisplayError(f"no surface {surface_id}") from None

    return ImageDecoder(store, ss.lowlevel.PaletteCache(), lookup)


def words(pixels: ss.lowlevel.Pixels) -> list[list[int]]:
    return [[int(v) & 0xFFFFFF for v in row] for row in pixels.words()]


def bitmap(fmt: BitmapFmt, w: int, h: int, stride: int, data: bytes, **kw: object) -> BitmapImage:
    return BitmapImage(width=w, height=h, format=fmt, stride=stride, data=data, **kw)  # type: ignore[arg-type]


def test_1bit_both_bit_orders_bottom_up_and_top_down() -> None:
    d = decoder()
    # rows of 3 pixels in a 2-byte stride; LE: bit 0 is the first pixel
    le = bitmap(BitmapFmt.FMT_1BIT_LE, 3, 2, 2, bytes([0b001, 0xEE, 0b110, 0xEE]), palette=PALETTE)
    assert words(d.decode(le)) == [[0x000000, 0xFF0000, 0xFF0000], [0xFF0000, 0, 0]]  # bottom-up
    be = bitmap(
        BitmapFmt.FMT_1BIT_BE,
        3,
        2,
        1,
        bytes([0b1000_0000, 0b0110_0000]),
        palette=PALETTE,
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )
    assert words(d.decode(be)) == [[0xFF0000, 0, 0], [0, 0xFF0000, 0xFF0000]]


def test_4bit_and_8bit() -> None:
    d = decoder()
    le = bitmap(BitmapFmt.FMT_4BIT_LE, 3, 1, 2, bytes([0x21, 0x03]), palette=PALETTE)
    be = bitmap(BitmapFmt.FMT_4BIT_BE, 3, 1, 2, bytes([0x12, 0x30]), palette=PALETTE)
    assert words(d.decode(le)) == words(d.decode(be)) == [[0xFF0000, 0x00FF00, 0x0000FF]]
    eight = bitmap(BitmapFmt.FMT_8BIT, 2, 1, 4, bytes([4, 5, 99, 99]), palette=PALETTE)
    assert words(d.decode(eight)) == [[0x123456, 0xFFFFFF]]


def test_16_24_32_rgba_and_a8() -> None:
    d = decoder()
    # x1r5g5b5: r=31 g=0 b=1 -> ff 00 08 ; r=1 g=31 b=0 -> 08 ff 00
    px16 = struct.pack("<HH", (31 << 10) | 1, (1 << 10) | (31 << 5))
    assert words(d.decode(bitmap(BitmapFmt.FMT_16BIT, 2, 1, 4, px16))) == [[0xFF0008, 0x08FF00]]
    px24 = bytes([1, 2, 3, 4, 5, 6, 0, 0])  # B G R B G R + padding
    assert words(d.decode(bitmap(BitmapFmt.FMT_24BIT, 2, 1, 8, px24))) == [[0x030201, 0x060504]]
    px32 = struct.pack("<II", 0xAA112233, 0x00445566)
    assert words(d.decode(bitmap(BitmapFmt.FMT_32BIT, 2, 1, 8, px32))) == [[0x112233, 0x445566]]
    rgba = d.decode(bitmap(BitmapFmt.RGBA, 1, 1, 4, struct.pack("<I", 0x80102030)))
    assert rgba.alpha and int(rgba.words()[0, 0]) == 0x80102030
    a8 = d.decode(bitmap(BitmapFmt.FMT_8BIT_A, 3, 2, 4, bytes([1, 2, 3, 0, 4, 5, 6, 0])))
    assert a8.is_mask and a8.data.tolist() == [[4, 5, 6], [1, 2, 3]]


def test_high_bits_set_makes_alpha_opaque() -> None:
    d = decoder()
    image = bitmap(
        BitmapFmt.FMT_32BIT, 1, 1, 4, struct.pack("<I", 0x00112233), flags=ImageFlags.HIGH_BITS_SET
    )
    assert int(d.decode(image).words()[0, 0]) == 0xFF112233


def test_palette_cache() -> None:
    d = decoder()
    first = bitmap(
        BitmapFmt.FMT_8BIT, 1, 1, 1, bytes([3]), palette=PALETTE, bitmap_flags=BitmapFlags.PAL_CACHE_ME
    )
    assert words(d.decode(first)) == [[0x0000FF]]
    again = bitmap(
        BitmapFmt.FMT_8BIT, 1, 1, 1, bytes([1]), palette_id=7, bitmap_flags=BitmapFlags.PAL_FROM_CACHE
    )
    assert words(d.decode(again)) == [[0xFF0000]]
    d.palettes.remove(7)
    with pytest.raises(ss.DisplayError, match="palette 0x7 is not in the palette cache"):
        d.decode(again)


def test_palette_index_out_of_range() -> None:
    small = Palette(1, (0x111111, 0x222222))
    with pytest.raises(ss.DisplayError, match="palette index 5 but the palette has 2 entries"):
        decoder().decode(bitmap(BitmapFmt.FMT_8BIT, 1, 1, 1, bytes([5]), palette=small))


def test_bitmap_stride_too_small() -> None:
    with pytest.raises(ss.DisplayError, match="stride 4 too small for 2 pixels of 32 bits"):
        decoder().decode(bitmap(BitmapFmt.FMT_32BIT, 2, 1, 4, bytes(4)))


def rgb_picture(w: int, h: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    px[..., 3] = 0
    return px


def test_quic_lz_glz_match_the_source() -> None:
    d = decoder()
    px = rgb_picture(21, 13)
    quic = QuicImage(
        width=21, height=13, data=spice_quic.encode(px.tobytes(), 21, 13, spice_quic.ImageType.RGB32)
    )
    assert np.array_equal(d.decode(quic).data[..., :3], px[..., :3])
    lz = LzRgbImage(width=21, height=13, data=spice_lz.encode(px.tobytes(), 21, 13, spice_lz.ImageType.RGB32))
    assert np.array_equal(d.decode(lz).data[..., :3], px[..., :3])
    enc = spice_glz.Encoder(1 << 20)
    blob = enc.encode(px.tobytes(), 21, 13, spice_glz.ImageType.RGB32)
    assert np.array_equal(d.decode(GlzRgbImage(width=21, height=13, data=blob)).data[..., :3], px[..., :3])
    # a second GLZ image referring to the first, through the session's window
    blob2 = enc.encode(px.tobytes(), 21, 13, spice_glz.ImageType.RGB32)
    assert np.array_equal(d.decode(GlzRgbImage(width=21, height=13, data=blob2)).data[..., :3], px[..., :3])
    zipped = zlib.compress(enc.encode(px.tobytes(), 21, 13, spice_glz.ImageType.RGB32))
    glz_size = len(zlib.decompress(zipped))
    image = ZlibGlzRgbImage(width=21, height=13, glz_data_size=glz_size, data=zipped)
    assert np.array_equal(d.decode(image).data[..., :3], px[..., :3])


def test_lz_plt_with_inline_and_cached_palette() -> None:
    d = decoder()
    indices = bytes([0, 1, 2, 3, 4, 5])
    blob = spice_lz.encode(indices, 6, 1, spice_lz.ImageType.PLT8)
    image = LzPltImage(width=6, height=1, data=blob, palette=PALETTE, bitmap_flags=BitmapFlags.PAL_CACHE_ME)
    expected = [[0x000000, 0xFF0000, 0x00FF00, 0x0000FF, 0x123456, 0xFFFFFF]]
    assert words(d.decode(image)) == expected
    cached = LzPltImage(width=6, height=1, data=blob, palette_id=7, bitmap_flags=BitmapFlags.PAL_FROM_CACHE)
    assert words(d.decode(cached)) == expected


def test_jpeg_and_jpeg_alpha() -> None:
    d = decoder()
    y, x = np.mgrid[0:16, 0:24]
    rgb = np.stack([x * 10, y * 15, (x + y) * 5], axis=2).astype(np.uint8)
    jpeg = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=95, colorspace="RGB")
    got = d.decode(JpegImage(width=24, height=16, data=jpeg))
    assert got.lossy and not got.alpha
    assert np.abs(got.data[..., 2::-1].astype(int) - rgb).max() <= 8  # BGRX holds R at byte 2
    alpha = ((x * 7 + y) % 256).astype(np.uint8)
    xxxa = np.zeros((16, 24, 4), np.uint8)
    xxxa[..., 3] = alpha
    alpha_blob = spice_lz.encode(xxxa.tobytes(), 24, 16, spice_lz.ImageType.XXXA)
    image = JpegAlphaImage(
        width=24, height=16, jpeg_size=len(jpeg), data=jpeg + alpha_blob, jpeg_flags=JpegAlphaFlags.TOP_DOWN
    )
    both = d.decode(image)
    assert both.alpha and both.lossy
    assert np.array_equal(both.data[..., 3], alpha)
    with pytest.raises(ss.DisplayError, match="jpeg_size 9999 outside"):
        d.decode(JpegAlphaImage(width=24, height=16, jpeg_size=9999, data=jpeg))
    with pytest.raises(ss.DisplayError, match="the JPEG is 24x16"):
        d.decode(JpegImage(width=25, height=16, data=jpeg))


def lz4_payload(raw: bytes, fmt: BitmapFmt, top_down: bool, split: int) -> bytes:
    """LZ4 image data: two blocks, the second compressed against the first (continuation)."""
    first = lz4.block.compress(raw[:split], store_size=False)
    second = lz4.block.compress(raw[split:], store_size=False, dict=raw[:split][-65536:])
    out = bytes([int(top_down), int(fmt)])
    for block in (first, second):
        out += struct.pack(">I", len(block)) + block
    return out


def test_lz4_block_continuation_and_row_order() -> None:
    d = decoder()
    row = bytes(range(64)) * 2  # 32 BGRX pixels
    raw = row * 8  # the second half repeats the first: the second block refers back
    image = Lz4Image(width=32, height=8, data=lz4_payload(raw, BitmapFmt.FMT_32BIT, True, len(raw) // 2))
    assert d.decode(image).data.tobytes() == raw
    rows = [bytes([r] * 96) for r in range(4)]  # 24-bit, 32 pixels, bottom-up
    data = lz4_payload(b"".join(rows), BitmapFmt.FMT_24BIT, False, 96 * 2)
    got = d.decode(Lz4Image(width=32, height=4, data=data)).data
    assert [int(got[y, 0, 0]) for y in range(4)] == [3, 2, 1, 0]
    with pytest.raises(ss.DisplayError, match="LZ4 data holds"):
        d.decode(Lz4Image(width=32, height=9, data=lz4_payload(raw, BitmapFmt.FMT_32BIT, True, 100)))
    with pytest.raises(ss.DisplayError, match="LZ4 bitmap format 5 not supported"):
        d.decode(Lz4Image(width=1, height=1, data=bytes([1, 5])))


def test_pixmap_cache_lossy_and_lossless() -> None:
    d = decoder()
    px = struct.pack("<I", 0x00ABCDEF)
    d.decode(bitmap(BitmapFmt.FMT_32BIT, 1, 1, 4, px, id=42, flags=ImageFlags.CACHE_ME))
    assert 42 in d.store and words(d.decode(FromCacheImage(width=1, height=1, id=42))) == [[0xABCDEF]]
    assert words(d.decode(FromCacheLosslessImage(width=1, height=1, id=42))) == [[0xABCDEF]]
    gray = np.full((8, 8, 3), 128, np.uint8)
    jpeg = simplejpeg.encode_jpeg(gray, quality=90, colorspace="RGB")
    d.decode(JpegImage(width=8, height=8, data=jpeg, id=43, flags=ImageFlags.CACHE_ME))
    assert d.decode(FromCacheImage(width=8, height=8, id=43)).lossy
    with pytest.raises(ss.DisplayError, match="FROM_CACHE_LOSSLESS of image 0x2b, cached only lossy"):
        d.decode(FromCacheLosslessImage(width=8, height=8, id=43))
    lossless = bitmap(BitmapFmt.FMT_32BIT, 8, 8, 32, bytes(256), id=43, flags=ImageFlags.CACHE_REPLACE_ME)
    d.decode(lossless)
    assert not d.decode(FromCacheLosslessImage(width=8, height=8, id=43)).lossy
    d.store.remove(42)
    with pytest.raises(ss.DisplayError, match="image 0x2a is not in the pixmap cache"):
        d.decode(FromCacheImage(width=1, height=1, id=42))


def test_surface_image() -> None:
    d = decoder()
    got = d.decode(SurfaceImage(width=4, height=2, surface_id=9))
    assert got.words().tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ss.DisplayError, match="no surface 3"):
        d.decode(SurfaceImage(width=1, height=1, surface_id=3))


@pytest.mark.parametrize(
    "image",
    [
        QuicImage(width=4, height=4, data=b"QUIC" + bytes(30)),
        LzRgbImage(width=4, height=4, data=bytes(40)),
        GlzRgbImage(width=4, height=4, data=bytes(40)),
        ZlibGlzRgbImage(width=4, height=4, glz_data_size=10, data=b"not zlib"),
        JpegImage(width=4, height=4, data=b"\xff\xd8 nope"),
    ],
    ids=["quic", "lz", "glz", "zlib", "jpeg"],
)
def test_corrupt_codec_data_is_a_display_error(image: object) -> None:
    with pytest.raises(ss.DisplayError, match="image id 0x0"):
        decoder().decode(image)  # type: ignore[arg-type]


def test_header_size_must_match_descriptor() -> None:
    px = rgb_picture(5, 5)
    blob = spice_lz.encode(px.tobytes(), 5, 5, spice_lz.ImageType.RGB32)
    with pytest.raises(ss.DisplayError, match="the data holds a 5x5 picture"):
        decoder().decode(LzRgbImage(width=6, height=5, data=blob))
