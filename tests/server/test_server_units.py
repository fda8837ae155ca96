"""The sans-I/O parts of spice_server: dirty region, encoder choice and codecs, pipeline, inputs,
sources, cursor shapes and the pixmap-cache mirror."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import spice_glz
import spice_lz
import spice_quic
import spice_server as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from miniclient import decode_image
from peers.viewers import pattern_frame
from spice_proto import (
    DisplayDrawCopy,
    DisplayInvalList,
    DisplayMark,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    ImageCompression,
    InputsKeyDown,
    InputsKeyScancode,
    InputsKeyUp,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    MouseButton,
    MouseButtonMask,
    MouseMode,
    Rect,
    scancode_down,
    scancode_up,
)
from spice_server._cache import PixmapCache
from spice_server._region import split_box
from spice_server.lowlevel import (
    Codec,
    DirtyRegion,
    DisplayPipeline,
    ImageEncoder,
    InputsState,
    ScancodeParser,
    is_photo_like,
)

# --- dirty region -----------------------------------------------------------------------------

boxes = st.builds(
    lambda x, y, w, h: Rect(x, y, x + w, y + h),
    st.integers(-50, 300),
    st.integers(-50, 200),
    st.integers(0, 120),
    st.integers(0, 120),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(boxes, max_size=60), st.integers(1, 8))
def test_region_covers_all_damage_with_few_boxes(added: list[Rect], max_boxes: int) -> None:
    region = DirtyRegion(256, 160, max_boxes)
    want = np.zeros((160, 256), bool)
    for box in added:
        region.add(box)
        c = box.intersect(region.bounds)
        if not c.empty:
            want[c.top : c.bottom, c.left : c.right] = True
    assert len(region.boxes) <= max_boxes
    got = np.zeros_like(want)
    for box in region.take():
        assert region.bounds.contains(box) and not box.empty
        got[box.top : box.bottom, box.left : box.right] = True
    assert not (want & ~got).any()
    assert not region and region.take() == []


def test_region_merges_overlaps_and_keeps_far_apart_boxes() -> None:
    region = DirtyRegion(1000, 1000)
    region.add(Rect(0, 0, 10, 10))
    region.add(Rect(0, 5, 10, 15))  # overlapping: the union costs less than both -> merged
    region.add(Rect(2, 2, 4, 4))  # contained -> nothing new
    region.add(Rect(900, 900, 910, 910))  # far away -> its own box
    assert sorted((b.left, b.top, b.right, b.bottom) for b in region.boxes) == [
        (0, 0, 10, 15),
        (900, 900, 910, 910),
    ]


def test_split_box_makes_bands_within_the_limit() -> None:
    bands = split_box(Rect(3, 7, 1003, 1007), 10_000)
    assert all(b.area <= 10_000 and (b.left, b.right) == (3, 1003) for b in bands)
    assert bands[0].top == 7 and bands[-1].bottom == 1007
    assert all(a.bottom == b.top for a, b in itertools.pairwise(bands))


# --- encoder choice and codecs --------------------------------------------------------------


def test_photo_like_detection() -> None:
    frame = pattern_frame(256, 128)
    assert is_photo_like(frame[:, :128])  # gradients with noise
    assert not is_photo_like(frame[:, 128:])  # flat tiles and stripes
    assert not is_photo_like(np.zeros((64, 64, 4), np.uint8))


@pytest.mark.parametrize(
    ("mode", "glz", "area", "expected"),
    [
        ("off", True, "photo", Codec.BITMAP),
        ("quic", True, "flat", Codec.QUIC),
        ("lz", True, "photo", Codec.LZ),
        ("glz", True, "flat", Codec.GLZ),
        ("glz", False, "flat", Codec.LZ),  # no dictionary announced yet
        ("auto_glz", True, "photo", Codec.QUIC),
        ("auto_glz", True, "flat", Codec.GLZ),
        ("auto_glz", False, "flat", Codec.LZ),
        ("auto_glz", True, "tiny", Codec.BITMAP),
        ("auto_lz", True, "flat", Codec.LZ),
        ("auto_lz", True, "photo", Codec.QUIC),
    ],
)
def test_codec_choice(mode: str, glz: bool, area: str, expected: Codec) -> None:
    frame = pattern_frame(256, 128)
    pixels = {"photo": frame[:, :128], "flat": frame[:, 128:], "tiny": frame[:8, 128:136]}[area]
    enc = ImageEncoder(ss.Compression.parse(mode))
    if glz:
        enc.set_glz_dictionary(1, 1 << 20)
    assert enc.choose(pixels) is expected


def test_glz_is_not_used_for_images_larger_than_the_window() -> None:
    enc = ImageEncoder(ss.Compression.GLZ)
    enc.set_glz_dictionary(1, 1000)
    assert enc.choose(np.zeros((10, 10, 4), np.uint8)) is Codec.GLZ
    assert enc.choose(np.zeros((40, 40, 4), np.uint8)) is Codec.LZ


@pytest.mark.parametrize("codec", list(Codec))
def test_encoded_windows_of_a_frame_decode_exactly(codec: Codec) -> None:
    frame = np.ascontiguousarray(pattern_frame(300, 200, variant=1))
    enc = ImageEncoder()
    enc.set_glz_dictionary(1, 1 << 20)
    window = spice_glz.Window(1 << 20)
    for box in (Rect(0, 0, 300, 200), Rect(17, 5, 151, 99), Rect(299, 199, 300, 200)):
        image = enc.encode(frame, box, codec)
        got = decode_image(image, window, {})
        want = frame[box.top : box.bottom, box.left : box.right]
        assert (got[:, :, :3] == want[:, :, :3]).all()
    assert enc.counts[codec] == 3


def test_codec_modules_agree_on_header_sizes() -> None:
    frame = np.ascontiguousarray(pattern_frame(64, 32))
    enc = ImageEncoder(ss.Compression.QUIC)
    image = enc.encode(frame, Rect(0, 0, 64, 32))
    assert spice_quic.read_header(image.data).width == 64  # type: ignore[attr-defined]
    image = enc.encode(frame, Rect(0, 0, 64, 32), Codec.LZ)
    assert spice_lz.read_header(image.data).height == 32  # type: ignore[attr-defined]


def test_compression_names() -> None:
    assert ss.Compression.parse("auto_glz") is ss.Compression.AUTO_GLZ
    with pytest.raises(ValueError, match="unknown image compression 'zip'"):
        ss.Compression.parse("zip")
    assert ss.Compression.from_wire(ImageCompression.QUIC) is ss.Compression.QUIC
    assert ss.Compression.from_wire(ImageCompression.LZ4) is ss.Compression.LZ4  # clients with the cap
    assert ss.Compression.from_wire(999) is None


# --- pipeline ---------------------------------------------------------------------------------


def test_pipeline_first_frame_then_only_damage() -> None:
    fb = ss.Framebuffer(100, 60)
    woken: list[int] = []
    pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), wake=lambda: woken.append(1))
    pipe.attach()
    first = list(pipe.messages())
    assert isinstance(first[0], DisplaySurfaceCreate) and isinstance(first[-1], DisplayMark)
    assert not pipe.has_work
    woken.clear()
    fb.fill((9, 9, 9), Rect(10, 10, 20, 30))
    assert woken and pipe.has_work
    (draw,) = list(pipe.messages())
    assert isinstance(draw, DisplayDrawCopy)
    assert (draw.box.left, draw.box.top, draw.box.right, draw.box.bottom) == (10, 10, 20, 30)
    pipe.detach()
    fb.fill((1, 1, 1))
    assert not pipe.has_work  # detached: no longer listening


def test_pipeline_resize_and_cache() -> None:
    fb = ss.Framebuffer(100, 60)
    pipe = DisplayPipeline(fb)
    pipe.attach()
    list(pipe.messages())
    fb.resize(120, 80)
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplaySurfaceDestroy) and isinstance(msgs[1], DisplaySurfaceCreate)
    assert (msgs[1].width, msgs[1].height) == (120, 80)
    pipe.set_cache_size(120 * 80)  # room for one full frame
    a, b = pattern_frame(120, 80), pattern_frame(120, 80, variant=1)
    sent = []
    for frame in (a, b, a):
        fb.update(frame)
        sent.append(list(pipe.messages()))
    assert [type(m) for m in sent[0]] == [DisplayDrawCopy]
    assert [type(m) for m in sent[1]] == [DisplayInvalList, DisplayDrawCopy]  # b pushes a out
    assert sent[1][0].resources[0].id == sent[0][0].src_bitmap.id  # type: ignore[attr-defined]


def test_pixmap_cache_lru() -> None:
    cache = PixmapCache(100)
    assert cache.add(b"a", 1, 60) == []
    assert cache.add(b"b", 2, 40) == []
    assert cache.lookup(b"a") == 1  # a is now the most recent
    assert cache.add(b"c", 3, 30) == [2]
    assert cache.lookup(b"b") is None and cache.used == 90 and len(cache) == 2
    assert not cache.fits(101)
    with pytest.raises(ValueError, match="do not fit"):
        cache.add(b"d", 4, 101)


# --- inputs -----------------------------------------------------------------------------------


def test_scancode_parser() -> None:
    p = ScancodeParser()
    assert p.feed(bytes([0x1E, 0x9E])) == [(0x1E, True), (0x1E, False)]
    assert p.feed(bytes([0xE0])) == []
    assert p.feed(bytes([0x4D, 0xE0, 0xCD])) == [(0xE04D, True), (0xE04D, False)]
    assert p.feed(bytes([0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5])) == [(0xE11D45, True), (0xE11D45, False)]


def _state(mode: MouseMode = MouseMode.CLIENT) -> InputsState:
    return InputsState(7, lambda: mode, lambda: (100, 50))


def test_key_messages_become_key_events() -> None:
    s = _state()
    for sc in (0x1E, 0xE04D, 0xE01C):
        down, _ = s.handle(InputsKeyDown(scancode_down(sc)))
        up, _ = s.handle(InputsKeyUp(scancode_up(sc)))
        assert down == [ss.KeyEvent(sc, True, 7)] and up == [ss.KeyEvent(sc, False, 7)]
    events, _ = s.handle(InputsKeyScancode(bytes([0x2A, 0x10, 0x90, 0xAA])))
    assert [(e.scancode, e.pressed) for e in events] == [
        (0x2A, True),
        (0x10, True),
        (0x10, False),
        (0x2A, False),
    ]  # type: ignore[union-attr]


def test_pointer_positions_clicks_and_motion_acks() -> None:
    s = _state()
    replies = []
    for i in range(9):
        events, r = s.handle(InputsMousePosition(i, 2 * i, MouseButtonMask(0), 0))
        assert events == [ss.PointerEvent(i, 2 * i, MouseButtonMask(0), 7, 0)]
        replies += r
    assert replies == [InputsMouseMotionAck(), InputsMouseMotionAck()]  # after the 4th and the 8th
    (press,), _ = s.handle(InputsMousePress(MouseButton.LEFT, MouseButtonMask.LEFT))
    (release,), _ = s.handle(InputsMouseRelease(MouseButton.LEFT, MouseButtonMask(0)))
    assert press == ss.ButtonEvent(MouseButton.LEFT, True, 8, 16, MouseButtonMask.LEFT, MouseMode.CLIENT, 7)
    assert release == ss.ButtonEvent(MouseButton.LEFT, False, 8, 16, MouseButtonMask(0), MouseMode.CLIENT, 7)


def test_server_mode_motion_is_relative_and_clamped() -> None:
    s = _state(MouseMode.SERVER)
    (ev,), _ = s.handle(InputsMouseMotion(30, 20))
    assert ev == ss.MotionEvent(30, 20, 30, 20, MouseButtonMask(0), 7)
    (ev,), _ = s.handle(InputsMouseMotion(500, -500))
    assert ev == ss.MotionEvent(500, -500, 99, 0, MouseButtonMask(0), 7)


# --- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["bgrx", "bgra", "rgbx", "rgba", "rgb", "bgr"])
def test_framebuffer_pixel_formats(fmt: str) -> None:
    rgb = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)
    order = {
        "r": rgb[:, :, 0],
        "g": rgb[:, :, 1],
        "b": rgb[:, :, 2],
        "x": rgb[:, :, 0] * 0,
        "a": rgb[:, :, 0] * 0,
    }
    pixels = np.stack([order[c] for c in fmt], axis=2)
    fb = ss.Framebuffer(10, 10)
    fb.update(pixels.tobytes(), Rect(2, 3, 6, 6), format=fmt)
    assert (fb.frame[3:6, 2:6, 2::-1] == rgb).all()
    assert not fb.frame[:3].any() and not fb.frame[6:].any()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda fb: fb.update(b"\0" * 10), "10 bytes of pixels"),
        (lambda fb: fb.update(np.zeros((2, 2, 4), np.uint8), Rect(9, 9, 11, 11)), "outside"),
        (lambda fb: fb.update(np.zeros((10, 10, 4), np.float32)), "must be uint8"),
        (lambda fb: fb.update(np.zeros((10, 10, 4), np.uint8), format="yuv"), "unknown pixel format"),
        (lambda fb: fb.update(np.zeros((3, 10, 4), np.uint8)), "shape (3, 10, 4)"),
        (lambda fb: fb.update(object()), "bytes-like"),
        (lambda fb: fb.update(b"", (1, 2)), "left, top, right, bottom"),
        (lambda fb: fb.resize(0, 10), "each side"),
    ],
)
def test_framebuffer_rejects_bad_input(call: object, message: str) -> None:
    fb = ss.Framebuffer(10, 10)
    with pytest.raises(ss.SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(fb)  # type: ignore[operator]


def test_image_source(tmp_path: object) -> None:
    from pathlib import Path

    from PIL import Image

    path = Path(str(tmp_path)) / "img.png"
    rgb = np.random.default_rng(1).integers(0, 256, (30, 40, 3), np.uint8)
    Image.fromarray(rgb).save(path)
    fb = ss.image_source(path)
    assert (fb.width, fb.height) == (40, 30)
    assert (fb.frame[:, :, 2::-1] == rgb).all()
    (Path(str(tmp_path)) / "junk.png").write_bytes(b"not a png")
    with pytest.raises(ss.SourceError, match="cannot read image"):
        ss.image_source(Path(str(tmp_path)) / "junk.png")


# --- cursor -----------------------------------------------------------------------------------


def test_cursor_shapes() -> None:
    shape = ss.CursorShape.from_rgba(bytes([1, 2, 3, 4] * 6), 3, 2, 2, 1)
    assert shape.bgra == bytes([3, 2, 1, 4] * 6)
    wire = shape.to_wire()
    assert wire.header is not None and (wire.header.width, wire.header.hot_spot_x) == (3, 2)
    assert shape.unique == ss.CursorShape.from_rgba(bytes([1, 2, 3, 4] * 6), 3, 2, 2, 1).unique
    with pytest.raises(ValueError, match="outside"):
        ss.CursorShape.from_rgba(bytes(24), 3, 2, 3, 0)
    with pytest.raises(ValueError, match="needs 24"):
        ss.CursorShape.from_rgba(bytes(23), 3, 2)
    arrow = ss.default_cursor()
    assert arrow.width * arrow.height * 4 == len(arrow.bgra)


# --- server configuration ---------------------------------------------------------------------


def test_server_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="unknown image compression"):
        ss.Server(image_compression="jpeg")
    with pytest.raises(ValueError, match="at most 60 bytes"):
        ss.Server(password="x" * 61)
    with pytest.raises(ValueError, match="negative"):
        ss.Server(password="x", password_lifetime=-1)
    with pytest.raises(ValueError, match="initial_mouse_mode"):
        ss.Server(initial_mouse_mode=MouseMode(3))


async def test_serve_needs_a_port_and_tls_needs_a_context() -> None:
    server = ss.Server()
    with pytest.raises(ValueError, match="give a port"):
        await server.serve(port=None)
    with pytest.raises(ValueError, match="ssl_context"):
        await server.serve(port=0, tls_port=0)
