"""Streams: frame placement (scaling, orientation, clip), the stream lifecycle, MJPEG and the
PyAV codecs, unsupported codecs, and stream-report accounting against a controlled clock."""

from __future__ import annotations

import weakref
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest
import simplejpeg
import spice_proto as sp
import spice_session as ss
from spice_proto import INVALID_STREAM_DROPS
from spice_session import StreamError, _video, available_codecs
from spice_session._mediaclock import mm_diff
from spice_session._placement import place_frame, scale_nearest
from spice_session._reports import NO_AUDIO_DELAY
from spice_session._surface import Surface
from spice_session._video import stream_display_caps
from spice_session.events import Damage, StreamCreated, StreamDestroyed, StreamUnsupported
from spice_session.lowlevel import MediaClock, StreamManager

U8 = npt.NDArray[np.uint8]
V = sp.VideoCodecType
TOP_DOWN = sp.StreamFlags.TOP_DOWN
NO_CLIP = sp.Clip()


def numbered(width: int, height: int) -> U8:
    """A BGRX frame whose pixel (x, y) is B = x, G = y, R = 7, X = 0."""
    frame = np.zeros((height, width, 4), np.uint8)
    frame[:, :, 0] = np.arange(width, dtype=np.uint8)[None, :]
    frame[:, :, 1] = np.arange(height, dtype=np.uint8)[:, None]
    frame[:, :, 2] = 7
    return frame


def surface(width: int = 64, height: int = 48, fmt: sp.SurfaceFmt = sp.SurfaceFmt.FMT_32_xRGB) -> Surface:
    s = Surface(0, width, height, fmt, primary=True)
    s.pixels[:] = 1  # something a frame must overwrite
    return s


# --------------------------------------------------------------------------- pixels


def test_scale_nearest_upscale_by_two_repeats_each_pixel() -> None:
    frame = numbered(2, 2)
    out = scale_nearest(frame, 4, 4, slice(0, 4), slice(0, 4))
    assert out[:, :, 0].tolist() == [[0, 0, 1, 1]] * 4
    assert out[:, :, 1].tolist() == [[0] * 4, [0] * 4, [1] * 4, [1] * 4]


def test_scale_nearest_downscale_samples_pixel_centres() -> None:
    frame = numbered(6, 1)
    # dest x -> floor((x + 0.5) * 6 / 4) = 0, 2, 3, 5
    assert scale_nearest(frame, 4, 1, slice(0, 1), slice(0, 4))[0, :, 0].tolist() == [0, 2, 3, 5]
    # a part: dest columns 2..4 only
    assert scale_nearest(frame, 4, 1, slice(0, 1), slice(2, 4))[0, :, 0].tolist() == [3, 5]


def test_scale_nearest_same_size_is_a_view() -> None:
    frame = numbered(5, 3)
    out = scale_nearest(frame, 5, 3, slice(1, 3), slice(2, 5))
    assert np.shares_memory(out, frame)
    assert out[0, 0, :2].tolist() == [2, 1]


def test_place_frame_top_down_writes_opaque_and_reports_the_box() -> None:
    s = surface()
    box = place_frame(s, numbered(4, 3), sp.Rect(10, 5, 14, 8), top_down=True)
    assert box == sp.Rect(10, 5, 14, 8)
    region = s.pixels[5:8, 10:14]
    assert region[:, :, 0].tolist() == [[0, 1, 2, 3]] * 3
    assert region[:, :, 1].tolist() == [[0] * 4, [1] * 4, [2] * 4]
    assert (region[:, :, 2] == 7).all() and (region[:, :, 3] == 255).all()
    assert (s.pixels[4, 10:14] == 1).all() and (s.pixels[5, 9] == 1).all()  # nothing outside


def test_place_frame_of_an_opaque_frame_copies_its_pixels_as_they_are() -> None:
    s = surface()
    frame = numbered(4, 3)
    frame[..., 3] = 255
    frame[0, 0, 3] = 9  # a decoder that broke its promise shows as such, not as a crash
    assert place_frame(s, frame, sp.Rect(10, 5, 14, 8), opaque=True) == sp.Rect(10, 5, 14, 8)
    assert np.array_equal(s.pixels[5:8, 10:14], frame)
    assert (s.pixels[4, 10:14] == 1).all() and (s.pixels[5, 9] == 1).all()  # nothing outside


def test_mjpeg_decodes_as_spice_gtk_does_into_opaque_frames() -> None:
    rgb = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    data = simplejpeg.encode_jpeg(rgb, quality=80, colorspace="RGB", colorsubsampling="420")
    mjpeg = _video.MjpegDecoder()
    (frame,) = mjpeg.decode(data)
    # spice-gtk: JDCT_IFAST and no fancy upsampling, which differ from libjpeg's defaults
    fast = simplejpeg.decode_jpeg(data, colorspace="BGRX", fastdct=True, fastupsample=True)
    assert np.array_equal(frame, fast) and not np.array_equal(
        frame, simplejpeg.decode_jpeg(data, colorspace="BGRX")
    )
    assert mjpeg.opaque and (frame[..., 3] == 255).all()


def test_mjpeg_of_the_size_the_stream_said_reads_its_header_once_and_others_the_checked_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[int, int]] = []

    class Lend:
        def allocate(self, height: int, width: int) -> U8:
            asked.append((height, width))
            return np.zeros((height, width, 4), np.uint8)

    def rgb(h: int, w: int) -> U8:
        return np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)

    def reference(data: bytes) -> U8:
        out: U8 = simplejpeg.decode_jpeg(data, colorspace="BGRX", fastdct=True, fastupsample=True)
        return out

    mjpeg = _video.MjpegDecoder(ss.MemoryBudget(1 << 20), Lend(), size=(64, 48))
    same, smaller, larger = jpeg(rgb(48, 64)), jpeg(rgb(24, 40)), jpeg(rgb(96, 128))
    headers = []
    real_header = simplejpeg.decode_jpeg_header
    monkeypatch.setattr(simplejpeg, "decode_jpeg_header", lambda d: headers.append(d) or real_header(d))

    def decoded(data: bytes) -> U8:
        (frame,) = mjpeg.decode(data)
        assert np.array_equal(frame, reference(data))
        return frame

    decoded(same)  # in one pass, into a buffer of the size the stream said
    assert headers == [] and asked == [(48, 64)]
    assert decoded(smaller).shape == (24, 40, 4)  # into the start of that buffer, its own shape
    decoded(smaller)  # the next one into a buffer of its size
    assert headers == [] and asked == [(48, 64)] * 2 + [(24, 40)]
    asked.clear()
    decoded(larger)  # the buffer refused: the header read, the budget asked, a buffer of its size
    decoded(larger)  # larger than the stream paid for: the header first, no buffer asked in vain
    decoded(same)
    decoded(same)  # the paid size again: one pass
    assert headers == [larger, larger, same] and asked == [(24, 40), (96, 128), (96, 128), (48, 64), (48, 64)]
    asked.clear()
    sof = same.index(b"\xff\xc0") + 5  # (marker, length, precision: then height and width)
    huge = same[:sof] + (4000).to_bytes(2, "big") * 2 + same[sof + 4 :]
    with pytest.raises(ss.BudgetExceeded, match="MJPEG frame of 4000x4000"):  # larger than the budget
        mjpeg.decode(huge)
    with pytest.raises(StreamError, match="does not decode"):  # broken: the size tried is not tried again
        mjpeg.decode(same[: len(same) // 2])
    assert asked == [(48, 64), (48, 64)]
    unknown = _video.MjpegDecoder(size=(0, 48))  # no size said: the header first
    unknown.decode(same)
    unknown.decode(same)
    assert headers[-2:] == [same, same]


def test_place_frame_bottom_up_flips_rows() -> None:
    s = surface()
    place_frame(s, numbered(4, 3), sp.Rect(0, 0, 4, 3), top_down=False)
    assert s.pixels[0:3, 0, 1].tolist() == [2, 1, 0]


def test_place_frame_scales_then_clips_to_rects_and_surface() -> None:
    s = surface(16, 16)
    clip = sp.Clip.of_rects(sp.Rect(0, 0, 3, 3), sp.Rect(6, 6, 30, 30))
    box = place_frame(s, numbered(4, 4), sp.Rect(2, 2, 10, 10), clip, top_down=True)
    assert box == sp.Rect(2, 2, 10, 10)
    # inside the first clip rect: (2, 2) only; inside the second: (6..10, 6..10)
    assert s.pixels[2, 2, :3].tolist() == [0, 0, 7]
    assert (s.pixels[2, 3] == 1).all() and (s.pixels[5, 5] == 1).all()
    # (6, 6) is dest pixel (4, 4) of an 8x8 dest of a 4x4 frame: source (2, 2)
    assert s.pixels[6, 6, :2].tolist() == [2, 2]
    assert s.pixels[9, 9, :2].tolist() == [3, 3]
    assert (s.pixels[10:, :] == 1).all()


def test_place_frame_outside_the_surface_changes_nothing() -> None:
    s = surface(16, 16)
    assert place_frame(s, numbered(4, 4), sp.Rect(20, 0, 24, 4)) is None
    assert (s.pixels == 1).all()
    box = place_frame(s, numbered(4, 4), sp.Rect(-2, 14, 2, 18))
    assert box == sp.Rect(0, 14, 2, 16)
    assert s.pixels[14, 0, :2].tolist() == [2, 0]


def test_place_frame_rejects_empty_dest_and_alpha_surfaces() -> None:
    with pytest.raises(StreamError, match="empty"):
        place_frame(surface(), numbered(4, 4), sp.Rect(5, 5, 5, 9))
    with pytest.raises(StreamError, match="FMT_8_A"):
        place_frame(surface(fmt=sp.SurfaceFmt.FMT_8_A), numbered(4, 4), sp.Rect(0, 0, 4, 4))


# --------------------------------------------------------------------------- a controllable clock


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> tuple[MediaClock, FakeTime]:
    t = FakeTime()
    c = MediaClock(t)
    c.sync(50_000)  # the server's media time now is 50000 ms
    return c, t


def blocks_rgb(width: int, height: int) -> U8:
    """Four flat quadrants (red, green, blue, white): survive lossy coding nearly unchanged."""
    img = np.zeros((height, width, 3), np.uint8)
    h2, w2 = height // 2, width // 2
    img[:h2, :w2] = (255, 0, 0)
    img[:h2, w2:] = (0, 255, 0)
    img[h2:, :w2] = (0, 0, 255)
    img[h2:, w2:] = (255, 255, 255)
    return img


def jpeg(rgb: U8) -> bytes:
    data: bytes = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=95, colorspace="RGB")
    return data


def create(
    stream_id: int = 3,
    codec: int = V.MJPEG,
    dest: sp.Rect | None = None,
    size: tuple[int, int] = (32, 32),
    flags: sp.StreamFlags = TOP_DOWN,
    clip: sp.Clip = NO_CLIP,
) -> sp.DisplayStreamCreate:
    dest = dest if dest is not None else sp.Rect(8, 4, 40, 36)
    return sp.DisplayStreamCreate(0, stream_id, flags, codec, 0, *size, *size, dest, clip)


def quadrant_means(s: Surface, dest: sp.Rect) -> list[tuple[int, int, int]]:
    """RGB means of the centres of the four quadrants of ``dest`` on ``s``."""
    rgb = s.to_rgb()[dest.top : dest.bottom, dest.left : dest.right].astype(int)
    h, w = rgb.shape[:2]
    out = []
    for y, x in ((h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)):
        patch = rgb[y - 2 : y + 2, x - 2 : x + 2].reshape(-1, 3).mean(axis=0)
        out.append(tuple(round(float(v)) for v in patch))
    return out


def near(a: list[tuple[int, int, int]], b: list[tuple[int, int, int]], tol: int = 6) -> bool:
    return all(abs(x - y) <= tol for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb, strict=True))


QUADRANTS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


# --------------------------------------------------------------------------- lifecycle with MJPEG


def test_mjpeg_stream_create_data_destroy(clock: tuple[MediaClock, FakeTime]) -> None:
    c, _ = clock
    s = surface()
    surfaces = {0: s}
    mgr = StreamManager(c, channel_id=1)
    dest = sp.Rect(8, 4, 40, 36)
    (created,) = mgr.handle(create(dest=dest), surfaces)
    assert created == StreamCreated(3, 0, V.MJPEG, 32, 32, dest, 1)
    data = jpeg(blocks_rgb(32, 32))
    out = mgr.handle(sp.DisplayStreamData(3, 50_100, data), surfaces)
    assert out == [Damage(0, dest, 1)]
    assert out[0].mm_time == 50_100  # the frame's media time, for a player to show it on the clock
    held = out[0].pixels  # placed as decoded: the frame itself, read-only, what dest holds now
    assert held is not None and not held.flags.writeable
    assert np.array_equal(held, s.pixels[4:36, 8:40])
    # exactly libjpeg-turbo's pixels with spice-gtk's settings (fast DCT, plain upsampling)
    expected = simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=True, fastupsample=True)
    assert np.array_equal(s.to_rgb()[4:36, 8:40], expected)
    assert near(quadrant_means(s, dest), QUADRANTS)
    assert (s.pixels[4:36, 8:40, 3] == 255).all() and (s.pixels[3, 8:40] == 1).all()
    assert mgr.handle(sp.DisplayStreamDestroy(3), surfaces) == [StreamDestroyed(3, 1, 1)]
    assert mgr.streams == {}


class Lender:
    """Frame buffers an application lends (``None`` once it has none left)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lent: list[U8] = []
        self.asked: list[tuple[int, int]] = []

    def allocate(self, height: int, width: int) -> U8 | None:
        self.asked.append((height, width))
        if len(self.lent) == self.count:
            return None
        self.lent.append(np.zeros((height, width, 4), np.uint8))
        return self.lent[-1]


def test_mjpeg_frames_are_decoded_into_the_buffers_the_application_lends(
    clock: tuple[MediaClock, FakeTime],
) -> None:
    c, _ = clock
    s = surface()
    surfaces = {0: s}
    mgr = StreamManager(c, channel_id=1)
    mgr.handle(create(), surfaces)
    lender = Lender(2)
    mgr.frame_buffers = lender  # a stream there already decodes into them from now on
    frames = [blocks_rgb(32, 32), blocks_rgb(32, 32)[::-1].copy(), blocks_rgb(32, 32)[:, ::-1].copy()]
    shown = []
    for i, rgb in enumerate(frames):
        data = jpeg(rgb)
        (damage,) = mgr.handle(sp.DisplayStreamData(3, 50_100 + i, data), surfaces)
        assert damage.pixels is not None
        expected = simplejpeg.decode_jpeg(data, colorspace="BGRX", fastdct=True, fastupsample=True)
        assert np.array_equal(damage.pixels, expected) and np.array_equal(s.pixels[4:36, 8:40], expected)
        shown.append(damage.pixels)
    assert lender.asked == [(32, 32)] * 3
    # the first two are the lent arrays; the third, with none left, an array of the decoder's
    assert np.shares_memory(shown[0], lender.lent[0]) and np.shares_memory(shown[1], lender.lent[1])
    assert not any(np.shares_memory(shown[2], lent) for lent in lender.lent)
    # streams made later decode into them too; None stops it
    mgr.handle(create(stream_id=4), surfaces)
    lender.count = 3
    (damage,) = mgr.handle(sp.DisplayStreamData(4, 50_200, jpeg(frames[0])), surfaces)
    assert damage.pixels is not None and np.shares_memory(damage.pixels, lender.lent[2])
    mgr.frame_buffers = None
    mgr.handle(sp.DisplayStreamData(4, 50_201, jpeg(frames[0])), surfaces)
    assert len(lender.asked) == 4


def test_a_truncated_mjpeg_frame_fails_and_gives_its_lent_buffer_back(
    clock: tuple[MediaClock, FakeTime],
) -> None:
    """Every cut of a frame is a StreamError; the one buffer lent for it (the stream says the
    frame's size, so it is decoded into a buffer before its header is read) is not kept
    afterwards, and the surface keeps its pixels."""
    c, _ = clock

    class WeakLender:
        def __init__(self) -> None:
            self.lent: list[weakref.ref[U8]] = []

        def allocate(self, height: int, width: int) -> U8:
            out = np.zeros((height, width, 4), np.uint8)
            self.lent.append(weakref.ref(out))
            return out

    s = surface()
    mgr = StreamManager(c, channel_id=1)
    mgr.handle(create(), {0: s})
    lender = WeakLender()
    mgr.frame_buffers = lender
    before = s.pixels.copy()
    data = jpeg(blocks_rgb(32, 32))
    cuts = range(1, len(data) - 1, 3)
    for cut in cuts:
        with pytest.raises(StreamError, match="does not decode"):
            mgr.handle(sp.DisplayStreamData(3, 50_100 + cut, data[:cut]), {0: s})
        assert all(ref() is None for ref in lender.lent), f"a lent buffer is still held after a cut at {cut}"
        assert np.array_equal(s.pixels, before), cut
    assert len(lender.lent) == len(cuts)  # one a cut: a frame of the size tried is not tried again
    (damage,) = mgr.handle(sp.DisplayStreamData(3, 60_000, data), {0: s})  # the stream goes on
    assert damage.pixels is not None and lender.lent[-1]() is not None


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((16, 32, 4), np.uint8),  # another size
        np.zeros((32, 32, 3), np.uint8),  # three bytes a pixel
        np.zeros((32, 32, 4), np.uint16),
        np.zeros((32, 64, 4), np.uint8)[:, ::2],  # not contiguous
        np.zeros((32, 32, 4), np.uint8).copy(),  # read-only (below)
    ],
)
def test_a_lent_buffer_that_is_not_a_frame_of_the_size_is_the_applications_error(
    clock: tuple[MediaClock, FakeTime], bad: npt.NDArray[np.generic]
) -> None:
    c, _ = clock
    if bad.shape == (32, 32, 4) and bad.dtype == np.uint8:
        bad.flags.writeable = False

    class Wrong:
        def allocate(self, height: int, width: int) -> U8:
            return bad  # type: ignore[return-value]

    s = surface()
    mgr = StreamManager(c, channel_id=1)
    mgr.frame_buffers = Wrong()
    mgr.handle(create(), {0: s})
    with pytest.raises(TypeError, match=r"FrameBuffers.allocate\(32, 32\)"):
        mgr.handle(sp.DisplayStreamData(3, 50_100, jpeg(blocks_rgb(32, 32))), {0: s})


def test_bottom_up_stream_is_flipped(clock: tuple[MediaClock, FakeTime]) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    dest = sp.Rect(0, 0, 32, 32)
    mgr.handle(create(dest=dest, flags=sp.StreamFlags(0)), {0: s})
    (damage,) = mgr.handle(sp.DisplayStreamData(3, 50_100, jpeg(blocks_rgb(32, 32))), {0: s})
    # rows reversed: the blue/white half is now on top
    assert near(quadrant_means(s, dest), [QUADRANTS[2], QUADRANTS[3], QUADRANTS[0], QUADRANTS[1]])
    assert isinstance(damage, Damage) and damage.pixels is None  # flipped: not the frame as decoded


def test_sized_frames_scale_into_their_own_dest_and_clip_changes(clock: tuple[MediaClock, FakeTime]) -> None:
    s = surface(96, 96)
    mgr = StreamManager(clock[0])
    mgr.handle(create(dest=sp.Rect(0, 0, 32, 32)), {0: s})
    big = sp.Rect(10, 20, 74, 84)  # 16x16 frame shown at 64x64
    frame = jpeg(blocks_rgb(16, 16))
    out = mgr.handle(sp.DisplayStreamDataSized(3, 50_100, 16, 16, big, frame), {0: s})
    assert out == [Damage(0, big, 0)]
    assert out[0].pixels is None  # scaled: the surface does not hold the decoded frame
    assert near(quadrant_means(s, big), QUADRANTS)
    assert (s.pixels[0:20, 0:10] == 1).all()
    # a clip covering only the left half of the next frame's destination
    s.pixels[:] = 1
    mgr.handle(sp.DisplayStreamClip(3, sp.Clip.of_rects(sp.Rect(10, 20, 42, 84))), {0: s})
    (damage,) = mgr.handle(sp.DisplayStreamDataSized(3, 50_140, 16, 16, big, frame), {0: s})
    assert damage == Damage(0, sp.Rect(10, 20, 42, 84), 0)
    assert (s.pixels[20:84, 42:74] == 1).all()
    assert near(quadrant_means(s, big)[::2], QUADRANTS[::2])


def test_a_clip_of_several_rects_damages_each_and_not_the_covered_part(
    clock: tuple[MediaClock, FakeTime],
) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    dest = sp.Rect(8, 4, 40, 36)
    mgr.handle(create(dest=dest), {0: s})
    # the server's clip after a window covered the top-left 12x10 corner: below it, right of it
    below, right = sp.Rect(8, 14, 40, 36), sp.Rect(20, 4, 40, 14)
    mgr.handle(sp.DisplayStreamClip(3, sp.Clip.of_rects(below, right)), {0: s})
    out = mgr.handle(sp.DisplayStreamData(3, 50_100, jpeg(blocks_rgb(32, 32))), {0: s})
    assert out == [Damage(0, below, 0), Damage(0, right, 0)]
    assert all(d.mm_time == 50_100 for d in out if isinstance(d, Damage))
    assert all(d.pixels is None for d in out if isinstance(d, Damage))  # clipped: partly drawn
    assert (s.pixels[4:14, 8:20] == 1).all()  # the covered corner untouched
    assert (s.pixels[14:36, 8:40, 3] == 255).all() and (s.pixels[4:14, 20:40, 3] == 255).all()


def test_destroy_all_and_surface_destroyed(clock: tuple[MediaClock, FakeTime]) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    for i in (1, 2):
        mgr.handle(create(stream_id=i), {0: s})
    assert mgr.surface_destroyed(5) == []
    assert sorted(e.stream_id for e in mgr.handle(sp.DisplayStreamDestroyAll(), {0: s})) == [1, 2]
    mgr.handle(create(stream_id=4), {0: s})
    assert mgr.surface_destroyed(0) == [StreamDestroyed(4, 0, 0)]
    assert mgr.streams == {}


def test_bad_commands_raise_stream_errors(clock: tuple[MediaClock, FakeTime]) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    with pytest.raises(StreamError, match="unknown surface 0"):
        mgr.handle(create(), {})
    mgr.handle(create(), {0: s})
    with pytest.raises(StreamError, match="stream 3 already exists"):
        mgr.handle(create(), {0: s})
    with pytest.raises(StreamError, match="MJPEG frame of 5 bytes does not decode"):
        mgr.handle(sp.DisplayStreamData(3, 1, b"\xff\xd8junk"[:5]), {0: s})
    with pytest.raises(StreamError, match="surface 0 is gone"):
        mgr.handle(sp.DisplayStreamData(3, 1, jpeg(blocks_rgb(8, 8))), {})


def test_mjpeg_frame_claiming_a_huge_size_is_refused_before_decoding(
    clock: tuple[MediaClock, FakeTime],
) -> None:
    data = bytearray(jpeg(blocks_rgb(16, 16)))
    sof = data.index(b"\xff\xc0")  # SOF0: length u16, precision u8, height u16, width u16 (big-endian)
    data[sof + 5 : sof + 9] = (60_000).to_bytes(2, "big") * 2
    mgr = StreamManager(clock[0])
    mgr.handle(create(), {0: surface()})
    with pytest.raises(StreamError, match="header says 60000x60000"):
        mgr.handle(sp.DisplayStreamData(3, 1, bytes(data)), {0: surface()})


def test_frames_for_an_unknown_stream_get_an_invalid_stream_report(
    clock: tuple[MediaClock, FakeTime],
) -> None:
    mgr = StreamManager(clock[0])
    invalid = sp.DisplayStreamReport(9, 0, 0, 0, 0, INVALID_STREAM_DROPS, 0, 0)
    assert mgr.handle(sp.DisplayStreamData(9, 1, b""), {}) == [invalid]
    assert mgr.handle(sp.DisplayStreamClip(9, NO_CLIP), {}) == [invalid]
    assert mgr.handle(sp.DisplayStreamActivateReport(9, 1, 10, 1000), {}) == [invalid]
    assert StreamManager(clock[0], reports=False).handle(sp.DisplayStreamData(9, 1, b""), {}) == []


# --------------------------------------------------------------------------- codecs


@pytest.fixture
def without_av(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as if PyAV (the ``video`` extra) were not installed."""
    monkeypatch.setattr(_video, "_av_codecs", dict)


@pytest.mark.usefixtures("without_av")
def test_codec_without_decoder_is_reported_not_fatal(
    clock: tuple[MediaClock, FakeTime], caplog: pytest.LogCaptureFixture
) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    out = mgr.handle(create(codec=V.VP8), {0: s})
    assert len(out) == 2
    event, report = out
    assert isinstance(event, StreamUnsupported) and event.stream_id == 3 and event.codec == V.VP8
    assert "spice-session[video]" in event.reason
    assert report == sp.DisplayStreamReport(3, 0, 0, 0, 0, INVALID_STREAM_DROPS, 0, 0)
    assert "stream 3: no decoder for VP8" in caplog.text
    # its frames are dropped quietly, and its id can be reused
    assert mgr.handle(sp.DisplayStreamData(3, 1, b"whatever"), {0: s}) == []
    assert (s.pixels == 1).all()
    assert isinstance(mgr.handle(create(codec=V.MJPEG), {0: s})[0], StreamCreated)
    assert available_codecs() == {V.MJPEG}
    caps = stream_display_caps()
    assert sp.DisplayCap.CODEC_MJPEG in caps and sp.DisplayCap.STREAM_REPORT in caps
    assert not {sp.DisplayCap.CODEC_VP8, sp.DisplayCap.CODEC_H264, sp.DisplayCap.CODEC_VP9} & set(caps)


def test_unknown_codec_number_is_unsupported(clock: tuple[MediaClock, FakeTime]) -> None:
    out = StreamManager(clock[0]).handle(create(codec=77), {0: surface()})
    assert isinstance(out[0], StreamUnsupported) and "unknown codec 77" in out[0].reason


def encode_av(codec: str, frames: list[U8], options: dict[str, str] | None = None) -> list[bytes]:
    """Encode RGB frames with PyAV; one packet's bytes per frame."""
    import av

    h, w = frames[0].shape[:2]
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
    ctx.time_base = Fraction(1, 25)
    ctx.options = options or {}
    out: list[bytes] = []
    for i, rgb in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        vf.pts = i
        packets = ctx.encode(vf)
        out += [bytes(p) for p in packets]
    out += [bytes(p) for p in ctx.encode(None)]
    return out


@pytest.mark.parametrize(
    ("codec", "encoder", "options", "cap"),
    [
        (V.VP8, "libvpx", {"deadline": "realtime", "lag-in-frames": "0"}, sp.DisplayCap.CODEC_VP8),
        (V.VP9, "libvpx-vp9", {"deadline": "realtime", "lag-in-frames": "0"}, sp.DisplayCap.CODEC_VP9),
        (V.H264, "libx264", {"tune": "zerolatency", "preset": "ultrafast"}, sp.DisplayCap.CODEC_H264),
    ],
)
def test_pyav_codecs_decode_and_place(
    clock: tuple[MediaClock, FakeTime], codec: V, encoder: str, options: dict[str, str], cap: sp.DisplayCap
) -> None:
    assert codec in available_codecs() and cap in stream_display_caps()
    first, second = blocks_rgb(64, 48), blocks_rgb(64, 48)[::-1, ::-1].copy()
    packets = encode_av(encoder, [first, second], options)
    assert len(packets) == 2  # no look-ahead: one packet per frame, as a SPICE server sends
    s = surface(128, 96)
    mgr = StreamManager(clock[0])
    dest = sp.Rect(32, 16, 96, 64)
    mgr.handle(create(codec=codec, dest=dest, size=(64, 48)), {0: s})
    assert mgr.handle(sp.DisplayStreamData(3, 50_100, packets[0]), {0: s}) == [Damage(0, dest, 0)]
    assert near(quadrant_means(s, dest), QUADRANTS, tol=12)
    mgr.handle(sp.DisplayStreamData(3, 50_140, packets[1]), {0: s})  # an inter frame
    assert near(quadrant_means(s, dest), QUADRANTS[::-1], tol=12)
    assert (s.pixels[:16] == 1).all() and (s.pixels[:, :32] == 1).all()
    assert mgr.streams[3].frames == 2
    assert mgr.streams[3].decoder.opaque and (s.pixels[16:64, 32:96, 3] == 255).all()  # copied as decoded


def test_corrupt_pyav_frame_is_a_stream_error(clock: tuple[MediaClock, FakeTime]) -> None:
    mgr = StreamManager(clock[0])
    mgr.handle(create(codec=V.VP8), {0: surface()})
    with pytest.raises(StreamError, match="vp8 frame of 16 bytes does not decode"):
        mgr.handle(sp.DisplayStreamData(3, 1, bytes(range(16))), {0: surface()})


# --------------------------------------------------------------------------- reports


def feed(mgr: StreamManager, s: Surface, frame: bytes, mm_times: list[int]) -> list[object]:
    out: list[object] = []
    for t in mm_times:
        out += [o for o in mgr.handle(sp.DisplayStreamData(3, t, frame), {0: s}) if not isinstance(o, Damage)]
    return out


def test_no_reports_before_activate_report(clock: tuple[MediaClock, FakeTime]) -> None:
    s = surface()
    mgr = StreamManager(clock[0])
    mgr.handle(create(), {0: s})
    assert feed(mgr, s, jpeg(blocks_rgb(32, 32)), [50_100] * 5) == []


def test_report_after_a_full_window(clock: tuple[MediaClock, FakeTime]) -> None:
    c, t = clock
    s = surface()
    frame = jpeg(blocks_rgb(32, 32))
    mgr = StreamManager(c)
    mgr.handle(create(), {0: s})
    assert mgr.handle(sp.DisplayStreamActivateReport(3, 77, 3, 60_000), {0: s}) == []
    # client media time is 50000 (+ elapsed); frames due at 50100, 49990 (late by 10), 50200
    assert feed(mgr, s, frame, [50_100, 49_990]) == []
    t.t += 0.05  # 50 ms pass: now 50050
    (report,) = feed(mgr, s, frame, [50_200])
    assert report == sp.DisplayStreamReport(
        stream_id=3,
        unique_id=77,
        start_frame_mm_time=50_100,
        end_frame_mm_time=50_200,
        num_frames=3,
        num_drops=1,
        last_frame_delay=150,
        audio_delay=NO_AUDIO_DELAY,
    )
    # the window starts over
    (second,) = feed(mgr, s, frame, [50_300, 50_340, 50_380])
    assert (second.start_frame_mm_time, second.num_frames, second.num_drops) == (50_300, 3, 0)


def test_report_on_timeout_and_on_three_drops_in_a_row(clock: tuple[MediaClock, FakeTime]) -> None:
    c, t = clock
    s = surface()
    frame = jpeg(blocks_rgb(32, 32))
    mgr = StreamManager(c)
    mgr.handle(create(), {0: s})
    mgr.handle(sp.DisplayStreamActivateReport(3, 5, 100, 250), {0: s})
    assert feed(mgr, s, frame, [50_500]) == []
    t.t += 0.125
    assert feed(mgr, s, frame, [50_500]) == []
    t.t += 0.125  # 250 ms after the window's first frame
    (report,) = feed(mgr, s, frame, [50_600])
    assert (report.num_frames, report.start_frame_mm_time, report.last_frame_delay) == (3, 50_500, 350)
    # now is 50250: three late frames in a row report at once, even with room in the window
    assert feed(mgr, s, frame, [50_100, 50_300, 50_240, 50_230]) == []  # 50300 is on time: breaks the run
    (late,) = feed(mgr, s, frame, [50_220])
    assert (late.num_frames, late.num_drops, late.last_frame_delay) == (5, 4, -30)
    assert (late.start_frame_mm_time, late.end_frame_mm_time) == (50_100, 50_220)
    assert mgr.streams[3].late == 4 and mgr.streams[3].frames == 8


def test_media_clock_wraps_and_syncs() -> None:
    t = FakeTime()
    c = MediaClock(t)
    assert not c.synced and c.now() == 0
    c.observe(sp.MainMultiMediaTime(0xFFFFFFF0))
    t.t += 0.032
    assert c.synced and c.now() == 0x10
    assert mm_diff(0x5, 0xFFFFFFFB) == 10 and mm_diff(0xFFFFFFFB, 0x5) == -10
