"""The golden codec vectors drawn by DRAW_COPY into a surface (zero-copy path and general path).

Each RGB/RGBA vector travels as the image type the manifest names, is drawn at an offset
inside a larger surface, and must reproduce the reference decoder's pixels exactly; the
surface around it stays untouched.  GLZ sequences go through the session's window in order.
"""

from __future__ import annotations

import numpy as np
import pytest
import spice_session as ss
import vectors
from spice_proto import (
    Clip,
    DisplayDrawCopy,
    DisplaySurfaceCreate,
    GlzRgbImage,
    Image,
    LzPltImage,
    LzRgbImage,
    Palette,
    QuicImage,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
)

X, Y = 3, 2  # where the image goes

_TYPES = {1: QuicImage, 101: LzRgbImage, 102: GlzRgbImage}


def drawable(case: vectors.Case) -> bool:
    formats = {e.format for e in case.expected}
    return case.raw["spice_image_type"] in (1, 100, 101, 102) and bool(formats & {"bgrx32", "bgra32"})


def image_for(case: vectors.Case) -> Image:
    kind = case.raw["spice_image_type"]
    if kind == 100:
        ents = tuple(case.raw["palette"]["ents_0x00RRGGBB"])
        return LzPltImage(width=case.width, height=case.height, data=case.blob, palette=Palette(1, ents))
    cls = _TYPES[kind]
    return cls(width=case.width, height=case.height, data=case.blob)


def expected_pixels(case: vectors.Case) -> tuple[np.ndarray, bool]:
    for e in case.expected:
        if e.format in ("bgrx32", "bgra32"):
            raw = np.frombuffer(e.read(), np.uint8).reshape(case.height, case.width, 4)
            return raw, e.format == "bgra32"
    raise AssertionError(case.name)


def draw(images: list[Image], clip: Clip, fmt: SurfaceFmt) -> ss.lowlevel.DisplayChannelState:
    width = max(i.width for i in images) + X + 5
    height = max(i.height for i in images) + Y + 4
    state = ss.Display(1 << 24, 1 << 24).channel(0)
    state.handle(DisplaySurfaceCreate(0, width, height, fmt, SurfaceFlags.PRIMARY))
    state.surfaces[0].flat[:] = 0x5A
    for image in images:
        box = Rect(X, Y, X + image.width, Y + image.height)
        events = state.handle(DisplayDrawCopy(0, box, clip, image, Rect(0, 0, image.width, image.height)))
        assert events == [ss.events.Damage(0, box, 0)], events
    return state


def check(state: ss.lowlevel.DisplayChannelState, case: vectors.Case) -> None:
    want, alpha = expected_pixels(case)
    got = state.surfaces[0].pixels
    region = got[Y : Y + case.height, X : X + case.width]
    channels = 4 if alpha else 3
    assert np.array_equal(region[..., :channels], want[..., :channels]), case.name
    outside = got.copy()
    outside[Y : Y + case.height, X : X + case.width] = 0x5A
    assert (outside == 0x5A).all()


SINGLE = [c for codec in ("quic", "lz") for c in vectors.cases(codec) if drawable(c)]


@pytest.mark.parametrize("general", [False, True], ids=["zero-copy", "general"])
@pytest.mark.parametrize("case", SINGLE, ids=[c.name for c in SINGLE])
def test_vector_drawn_exactly(case: vectors.Case, general: bool) -> None:
    _, alpha = expected_pixels(case)
    fmt = SurfaceFmt.FMT_32_ARGB if alpha else SurfaceFmt.FMT_32_xRGB
    box = Rect(X, Y, X + case.width, Y + case.height)
    # two clip rectangles covering the box take the general (decode, then composite) path
    clip = (
        Clip.of_rects(
            Rect(box.left, box.top, box.right, box.top + 1),
            Rect(box.left, box.top + 1, box.right, box.bottom),
        )
        if general
        else Clip()
    )
    check(draw([image_for(case)], clip, fmt), case)


@pytest.mark.parametrize("sequence", vectors.glz_sequences(), ids=lambda s: s[0].name.split("_")[0])
def test_glz_sequence_through_the_session_window(sequence: list[vectors.Case]) -> None:
    cases = [c for c in sequence if drawable(c)]
    assert len(cases) == len(sequence)  # GLZ carries RGB16/24/32 and RGBA only
    _, alpha = expected_pixels(cases[0])
    state = draw(
        [image_for(c) for c in cases], Clip(), SurfaceFmt.FMT_32_ARGB if alpha else SurfaceFmt.FMT_32_xRGB
    )
    assert state.errors == 0
    last = cases[-1]
    # the last image is on top at (X, Y); its pixels are exact
    want, alpha = expected_pixels(last)
    got = state.surfaces[0].pixels[Y : Y + last.height, X : X + last.width]
    assert np.array_equal(got[..., : 4 if alpha else 3], want[..., : 4 if alpha else 3])
