"""The session's codec table (spice_session._image_codecs) and what goes through it."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import spice_glz
import spice_lz
import spice_quic
from spice_proto import (
    Clip,
    DisplayDrawCopy,
    DisplaySurfaceCreate,
    GlzRgbImage,
    ImageFlags,
    ImageType,
    LzPltImage,
    LzRgbImage,
    Palette,
    QuicImage,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
    ZlibGlzRgbImage,
)
from spice_session import Display, DisplayError
from spice_session._image_cache import ImageStore, PaletteCache
from spice_session._image_codecs import CODECS
from spice_session._images import ImageDecoder
from spice_session._surface import Surface
from spice_session.events import Damage

W, H = 12, 7


def picture(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    px[..., 3] = 0
    return px


def decoder() -> ImageDecoder:
    def no_surface(surface_id: int) -> Surface:
        raise DisplayError(f"no surface {surface_id}")

    return ImageDecoder(ImageStore(1 << 16, 1 << 16), PaletteCache(), no_surface)


def zlib_glz(px: np.ndarray, *, junk: bytes = b"", size_delta: int = 0) -> ZlibGlzRgbImage:
    blob = spice_glz.Encoder(1 << 16).encode(px.tobytes(), W, H, spice_glz.ImageType.RGB32)
    return ZlibGlzRgbImage(
        width=W, height=H, glz_data_size=len(blob) + size_delta, data=zlib.compress(blob) + junk
    )


def test_every_compressed_image_type_has_one_entry() -> None:
    assert set(CODECS) == {
        ImageType.QUIC,
        ImageType.LZ_RGB,
        ImageType.LZ_PLT,
        ImageType.GLZ_RGB,
        ImageType.ZLIB_GLZ_RGB,
    }
    lz_rgb, lz_plt = CODECS[ImageType.LZ_RGB].carries, CODECS[ImageType.LZ_PLT].carries
    assert lz_rgb | lz_plt == set(spice_lz.ImageType) and not lz_rgb & lz_plt
    assert lz_plt == {t for t in spice_lz.ImageType if t.is_palette}
    assert CODECS[ImageType.QUIC].carries == set(spice_quic.ImageType)
    assert (
        CODECS[ImageType.GLZ_RGB].carries
        == CODECS[ImageType.ZLIB_GLZ_RGB].carries
        == set(spice_glz.ImageType)
    )


def test_zlib_glz_goes_through_spice_glz_inflate() -> None:
    px = picture()
    assert np.array_equal(decoder().decode(zlib_glz(px)).data[..., :3], px[..., :3])
    # data after the zlib stream, and a stream longer than glz_data_size, are refused
    with pytest.raises(DisplayError, match=r"ZLIB_GLZ_RGB image id 0x0.*data after the zlib stream"):
        decoder().decode(zlib_glz(px, junk=b"junk"))
    with pytest.raises(DisplayError, match="inflates to more bytes"):
        decoder().decode(zlib_glz(px, size_delta=-1))
    with pytest.raises(DisplayError, match="inflates to"):
        decoder().decode(zlib_glz(px, size_delta=+1))


@pytest.mark.parametrize("kind", ["quic", "lz", "glz", "zlib"])
def test_decode_into_writes_straight_into_the_surface(kind: str) -> None:
    px = picture(7)
    raw = px.tobytes()
    image = {
        "quic": lambda: QuicImage(
            width=W, height=H, data=spice_quic.encode(raw, W, H, spice_quic.ImageType.RGB32)
        ),
        "lz": lambda: LzRgbImage(
            width=W, height=H, data=spice_lz.encode(raw, W, H, spice_lz.ImageType.RGB32)
        ),
        "glz": lambda: GlzRgbImage(
            width=W, height=H, data=spice_glz.Encoder(1 << 16).encode(raw, W, H, spice_glz.ImageType.RGB32)
        ),
        "zlib": lambda: zlib_glz(px),
    }[kind]()
    surface = Surface(0, 20, 10, SurfaceFmt.FMT_32_xRGB)
    assert decoder().decode_into(image, surface, 3, 2)
    assert np.array_equal(surface.pixels[2 : 2 + H, 3 : 3 + W, :3], px[..., :3])
    assert not surface.pixels[:2].any() and not surface.pixels[:, :3].any()
    # RGB pixels would need converting for an ARGB surface: not taken
    argb = Surface(1, 20, 10, SurfaceFmt.FMT_32_ARGB)
    assert not decoder().decode_into(image, argb, 0, 0)
    assert not argb.pixels.any()


def test_decode_into_refuses_a_bad_zlib_payload_without_touching_the_surface() -> None:
    surface = Surface(0, 20, 10, SurfaceFmt.FMT_32_xRGB)
    with pytest.raises(DisplayError, match="data after the zlib stream"):
        decoder().decode_into(zlib_glz(picture(), junk=b"x"), surface, 0, 0)
    assert not surface.pixels.any()


def test_lz_types_must_match_the_spice_image_type() -> None:
    indices = bytes(range(W)) * H
    plt_blob = spice_lz.encode(indices, W, H, spice_lz.ImageType.PLT8)
    rgb_blob = spice_lz.encode(picture().tobytes(), W, H, spice_lz.ImageType.RGB32)
    palette = Palette(1, tuple(range(256)))
    with pytest.raises(DisplayError, match="LZ_RGB cannot carry PLT8"):
        decoder().decode(LzRgbImage(width=W, height=H, data=plt_blob))
    with pytest.raises(DisplayError, match="LZ_PLT cannot carry RGB32"):
        decoder().decode(LzPltImage(width=W, height=H, data=rgb_blob, palette=palette))
    # palette images always convert: never the zero-copy path
    surface = Surface(0, W, H, SurfaceFmt.FMT_32_xRGB)
    assert not decoder().decode_into(
        LzPltImage(width=W, height=H, data=plt_blob, palette=palette), surface, 0, 0
    )
    pixels = decoder().decode(LzPltImage(width=W, height=H, data=plt_blob, palette=palette))
    assert pixels.words()[0, :W].tolist() == list(range(W))


def test_glz_zero_copy_checks_the_header_against_the_descriptor_in_one_call() -> None:
    px = picture(9)
    px[..., 3] = np.arange(W, dtype=np.uint8)[None, :] * 20
    blob = spice_glz.Encoder(1 << 16).encode(px.tobytes(), W, H, spice_glz.ImageType.RGBA)
    dec = decoder()
    # a descriptor that disagrees with the GLZ header: not taken, nothing written or kept
    surface = Surface(0, 20, 10, SurfaceFmt.FMT_32_ARGB)
    assert not dec.decode_into(GlzRgbImage(width=W, height=H - 1, data=blob), surface, 0, 0)
    assert not surface.pixels.any() and len(dec.store.glz) == 0
    # RGBA goes straight into an ARGB surface with its alpha, and is cached when asked
    image = GlzRgbImage(width=W, height=H, data=blob, id=5, flags=ImageFlags.CACHE_ME)
    assert dec.decode_into(image, surface, 8, 3)
    assert np.array_equal(surface.pixels[3 : 3 + H, 8 : 8 + W], px)
    assert not surface.pixels[:3].any() and not surface.pixels[:, :8].any()
    cached = dec.store.get(5)
    assert cached.alpha and np.array_equal(cached.data, px)
    # a corrupt blob is a DisplayError naming the image, the surface keeps its pixels
    before = surface.pixels.copy()
    with pytest.raises(DisplayError, match=r"GLZ_RGB image id 0x0.*stream ends early"):
        dec.decode_into(GlzRgbImage(width=W, height=H, data=blob[:-2]), surface, 0, 0)
    assert np.array_equal(surface.pixels, before)


def test_glz_draws_follow_a_surface_that_is_replaced() -> None:
    """Each surface exports its buffer once for GLZ draws; a new surface under the same id
    gets the next draws, the old one keeps what it had."""
    encoder = spice_glz.Encoder(1 << 16)
    state = Display(1 << 16, 1 << 16).channel(0)
    state.handle(DisplaySurfaceCreate(0, 20, 10, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY))

    def draw(seed: int, x: int, y: int) -> np.ndarray:
        px = picture(seed)
        image = GlzRgbImage(
            width=W, height=H, data=encoder.encode(px.tobytes(), W, H, spice_glz.ImageType.RGB32)
        )
        box = Rect(x, y, x + W, y + H)
        assert state.handle(DisplayDrawCopy(0, box, Clip(), image, Rect(0, 0, W, H))) == [Damage(0, box, 0)]
        return px

    first = state.surfaces[0]
    px = draw(1, 2, 1)
    px2 = draw(2, 8, 3)
    expected = np.zeros((10, 20, 4), np.uint8)
    expected[1 : 1 + H, 2 : 2 + W, :3] = px[..., :3]
    expected[3 : 3 + H, 8 : 8 + W, :3] = px2[..., :3]
    assert np.array_equal(first.pixels, expected)
    state.handle(DisplaySurfaceCreate(0, 30, 12, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY))
    second = state.surfaces[0]
    assert second is not first
    px3 = draw(3, 15, 4)
    assert np.array_equal(second.pixels[4 : 4 + H, 15 : 15 + W, :3], px3[..., :3])
    assert second.pixels[:4].sum() == 0 and second.pixels[:, :15].sum() == 0
    assert np.array_equal(first.pixels, expected)
    assert state.errors == 0
