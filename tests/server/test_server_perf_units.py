"""The server's cheaper paths give the same results: the photo-like test and pixmap-cache probing."""

from __future__ import annotations

import numpy as np
import pytest
import spice_glz
import spice_server as ss
import trio
from miniclient import decode_image
from spice_proto import DisplayDrawCopy, FromCacheImage, ImageFlags, Rect
from spice_server import _draw
from spice_server._cache import CHURN_TURNOVERS, PROBE_EVERY, PixmapCache
from spice_server._source import to_bgrx
from spice_server.lowlevel import ImageEncoder, is_photo_like


def reference_photo_like(pixels: np.ndarray) -> bool:
    """The definition, spelled out: sampled neighbours (every ``sy``-th row, ``sx``-th column)
    whose largest channel step is 1..24 make at least a quarter of all sampled steps."""
    h, w = pixels.shape[:2]
    if w < 2:
        return False
    sy, sx = max(1, h // 64), max(1, w // 256)
    rows = pixels[::sy, ::sx, :3].astype(np.int16)
    if rows.shape[1] < 2:
        return False
    diff = np.abs(rows[:, 1:] - rows[:, :-1]).max(axis=2)
    return int(np.count_nonzero((diff > 0) & (diff <= 24))) >= 0.25 * diff.size


def test_photo_like_matches_its_definition() -> None:
    rng = np.random.default_rng(7)
    answers = []
    for i in range(400):
        h, w = int(rng.integers(1, 200)), int(rng.integers(1, 1500))
        kind = i % 4
        if kind == 0:
            px = rng.integers(0, 256, (h, w, 4))
        elif kind == 1:
            px = np.cumsum(rng.integers(0, 3, (h, w, 4)), axis=1) % 256  # gradient with noise
        elif kind == 2:
            px = rng.integers(0, 4, (h, w, 4)) * 64  # flat colours, sharp edges
        else:
            px = np.cumsum(rng.integers(0, 40, (h, w, 4)), axis=1) % 256
        pixels = px.astype(np.uint8)
        want = reference_photo_like(pixels)
        assert is_photo_like(pixels) == want, (h, w, kind)
        # a strided view (a box of a larger frame) gives the same answer as a copy
        frame = np.zeros((h + 3, w + 5, 4), np.uint8)
        frame[2 : 2 + h, 3 : 3 + w] = pixels
        assert is_photo_like(frame[2 : 2 + h, 3 : 3 + w]) == want
        answers.append(want)
    assert 50 < sum(answers) < 350  # both answers were exercised


@pytest.mark.parametrize(("low", "high"), [(0, 255), (5, 250), (0, 233)])
def test_photo_like_steps_are_not_taken_modulo_256(low: int, high: int) -> None:
    # sharp edges whose byte difference wraps around to a small one are still sharp edges
    pixels = np.full((64, 512, 4), low, np.uint8)
    pixels[:, 1::2, :3] = high
    assert reference_photo_like(pixels) is False
    assert is_photo_like(pixels) is False


def test_cache_goes_to_probing_after_turnovers_without_a_hit() -> None:
    cache = PixmapCache(1000)
    image_id = 0
    while not cache.probing:
        assert cache.worth_keying(100)
        image_id += 1
        cache.add(b"k%d" % image_id, image_id, 100)
    assert image_id == CHURN_TURNOVERS * 1000 // 100
    chosen = [cache.worth_keying(100) for _ in range(10 * PROBE_EVERY)]
    assert sum(chosen) == 10
    assert not cache.worth_keying(2000)  # too big for the cache, probing or not
    # a hit (the newest entry is still cached) turns caching fully on again
    assert cache.lookup(b"k%d" % image_id) == image_id
    assert not cache.probing
    assert all(cache.worth_keying(100) for _ in range(PROBE_EVERY))


def _show(messages: list[object], canvas: np.ndarray, cache: dict[int, np.ndarray]) -> None:
    window = spice_glz.Window()
    for m in messages:
        if isinstance(m, DisplayDrawCopy):
            b = m.box
            canvas[b.top : b.bottom, b.left : b.right] = decode_image(m.src_bitmap, window, cache)


def test_never_repeating_bands_skip_hashing_and_repeats_are_found_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, h = 96, 96
    band = Rect(0, 0, w, h)
    hashed: list[int] = []
    real_key = _draw.content_key
    monkeypatch.setattr(_draw, "content_key", lambda *a: hashed.append(1) or real_key(*a))
    encoder = ImageEncoder(ss.Compression.LZ)
    cache = PixmapCache(4 * w * h)
    client_cache: dict[int, np.ndarray] = {}
    canvas = np.zeros((h, w, 4), np.uint8)
    rng = np.random.default_rng(3)

    def frame() -> np.ndarray:
        f = np.zeros((h, w, 4), np.uint8)
        f[:, :, :3] = rng.integers(0, 256, (h, w, 3))
        return f

    sent = []
    while not cache.probing:  # every band new: cached, never hit
        f = frame()
        _show(_draw.draw_band(f, band, encoder, cache), canvas, client_cache)
        assert np.array_equal(canvas, f)
        sent.append(f)
    assert len(sent) == CHURN_TURNOVERS * 4 and len(hashed) == len(sent)
    hashed.clear()
    flags = []
    for _ in range(2 * PROBE_EVERY):
        f = frame()
        messages = _draw.draw_band(f, band, encoder, cache)
        _show(messages, canvas, client_cache)
        assert np.array_equal(canvas, f)  # the picture stays exact either way
        draw = messages[-1]
        assert isinstance(draw, DisplayDrawCopy)
        flags.append(bool(draw.src_bitmap.flags & ImageFlags.CACHE_ME))
    assert len(hashed) == 2 and sum(flags) == 2  # only the probes were hashed and cached
    assert flags[-1] and not flags[0]
    # content the client still has (the last band before probing), on a slot that is no probe:
    # its sample matches, so it is hashed, found, and caching is fully on again
    messages = _draw.draw_band(sent[-1].copy(), band, encoder, cache)
    assert len(hashed) == 3
    assert isinstance(messages[-1], DisplayDrawCopy)
    assert isinstance(messages[-1].src_bitmap, FromCacheImage)
    _show(messages, canvas, client_cache)
    assert np.array_equal(canvas, sent[-1])
    assert not cache.probing


@pytest.mark.parametrize("fmt", ["bgrx", "bgra", "rgbx", "rgba", "rgb", "bgr"])
def test_framebuffer_update_writes_each_layout_in_place(fmt: str) -> None:
    rng = np.random.default_rng(11)
    b, g, r = (rng.integers(0, 256, (30, 40), dtype=np.uint8) for _ in range(3))
    channels = {
        "b": b,
        "g": g,
        "r": r,
        "x": np.full((30, 40), 99, np.uint8),
        "a": np.full((30, 40), 7, np.uint8),
    }
    pixels = np.stack([channels[c] for c in fmt], axis=2)
    fb = ss.Framebuffer(64, 48)
    fb.fill((1, 2, 3))
    before = fb.frame
    fb.update(pixels, Rect(10, 5, 50, 35), format=fmt)
    fb.update(pixels.tobytes(), Rect(0, 0, 40, 30), format=fmt)  # bytes-like too
    assert fb.frame is before  # drawn into, not replaced
    want = np.stack([b, g, r], axis=2)
    assert np.array_equal(fb.frame[0:30, 0:40, :3], want)
    assert np.array_equal(fb.frame[35:48, :, :3], np.full((13, 64, 3), (3, 2, 1)))  # untouched
    assert not fb.frame[:, :, 3].any()  # X stays 0 whatever the source's 4th byte


@pytest.mark.parametrize("fmt", ["bgrx", "bgra", "rgbx", "rgba", "rgb", "bgr"])
@pytest.mark.parametrize("width", [1, 2, 3, 37])
def test_framebuffer_update_any_width_and_layout_leaves_neighbours_alone(fmt: str, width: int) -> None:
    rng = np.random.default_rng(width)
    pixels = rng.integers(0, 256, (5, width, len(fmt)), dtype=np.uint8)
    order = [fmt.index(c) for c in "bgr"]
    want = pixels[:, :, order]
    strided = np.zeros((5, 2 * width, len(fmt)), np.uint8)[:, ::2]  # not contiguous: per channel
    strided[:] = pixels
    for src in (pixels, pixels.tobytes(), strided):
        fb = ss.Framebuffer(width + 4, 9)
        fb.fill((200, 201, 202))
        fb.update(src, Rect(2, 2, 2 + width, 7), format=fmt)
        assert np.array_equal(fb.frame[2:7, 2 : 2 + width, :3], want)
        assert not fb.frame[:, :, 3].any()
        outside = np.ones((9, width + 4), bool)
        outside[2:7, 2 : 2 + width] = False
        assert (fb.frame[outside][:, :3] == (202, 201, 200)).all()
        assert np.array_equal(to_bgrx(src, width, 5, fmt)[:, :, :3], want)


def test_framebuffer_update_from_its_own_frame_in_rgb_order() -> None:
    fb = ss.Framebuffer(8, 4)
    fb.update(np.arange(8 * 4 * 3, dtype=np.uint8).reshape(4, 8, 3), format="rgb")
    expected = fb.frame[:, :, 2::-1].copy()  # read as R, G, B: the channels swap
    fb.update(fb.frame[:, :, :3], format="rgb")  # a view of the frame itself
    assert np.array_equal(fb.frame[:, :, :3], expected)


def test_lz4_images_for_clients_that_decode_them() -> None:
    from miniclient import inflate_lz4
    from spice_proto import BitmapFmt, Lz4Image, LzRgbImage
    from spice_server.lowlevel import Codec

    rng = np.random.default_rng(5)
    frame = np.zeros((600, 1024, 4), np.uint8)
    frame[:, :, :3] = rng.integers(0, 4, (600, 1024, 3)) * 60  # compressible, not trivial
    box = Rect(3, 1, 1024, 600)  # 1021 wide: rows of 4084 bytes, three blocks of rows
    plain = ImageEncoder(ss.Compression.LZ4)  # a client without the LZ4_COMPRESSION cap
    assert isinstance(plain.encode(frame, box), LzRgbImage)
    encoder = ImageEncoder(ss.Compression.LZ4, lz4=True)
    image = encoder.encode(frame, box)
    assert isinstance(image, Lz4Image) and encoder.counts[Codec.LZ4] == 1
    assert len(image.data) < 4 * box.area * 0.6  # compressed
    assert image.data[:2] == bytes((1, BitmapFmt.FMT_32BIT))  # top-down 32-bit rows
    raw = inflate_lz4(image, box.width, box.height)  # three blocks of rows
    rows = np.frombuffer(raw, np.uint8).reshape(box.height, box.width, 4)
    assert np.array_equal(rows[:, :, :3], frame[1:600, 3:1024, :3])
    assert ss.Compression.from_wire(7) is ss.Compression.LZ4  # DISPLAY_PREFERRED_COMPRESSION LZ4


async def test_spice_session_gets_lz4_images_exactly(nursery: trio.Nursery) -> None:
    import spice_session
    from peers.viewers import pattern_frame
    from spice_server.lowlevel import Codec

    fb = ss.Framebuffer(320, 240)
    fb.update(pattern_frame(320, 240))
    server = ss.Server(fb, image_compression="lz4")
    addr = await nursery.start(server.serve, "127.0.0.1", 0)
    async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
        session.events().close()
        shot = await session.screenshot(settle=0.2)
        fb.update(pattern_frame(320, 240, variant=2))
        shot = await session.screenshot(settle=0.5)
        assert (shot.to_rgb() == fb.frame[:, :, 2::-1]).all()
        pipe = server.clients[0].display
        assert pipe is not None and pipe.encoder.counts[Codec.LZ4] >= 2
