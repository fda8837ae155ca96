"""Stream frames kept back from the surface (``Session.defer_stream_frames``): written when the
surface is read or drawn on, never when the next frame replaces them unread; the picture
is always what eager placement gives."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import simplejpeg
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from spice_session._display import Display
from spice_session._surface import Surface
from spice_session.lowlevel import MediaClock, StreamManager
from test_streams_session import MM_TIME, Server, fake_server, idle

U8 = npt.NDArray[np.uint8]
DEST = sp.Rect(8, 4, 40, 36)
PRIMARY = sp.DisplaySurfaceCreate(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)


def solid_jpeg(rgb: tuple[int, int, int], width: int = 32, height: int = 32) -> bytes:
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = rgb
    data: bytes = simplejpeg.encode_jpeg(image, quality=95, colorspace="RGB")
    return data


def decoded(data: bytes) -> U8:
    """The frame's B, G, R, X as the session decodes it."""
    frame: U8 = simplejpeg.decode_jpeg(data, colorspace="BGRX", fastdct=True, fastupsample=True)
    return frame


RED, GREEN = solid_jpeg((255, 0, 0)), solid_jpeg((0, 255, 0))


def create(stream_id: int = 3, dest: sp.Rect = DEST) -> sp.DisplayStreamCreate:
    """A 32x32 MJPEG stream shown unscaled at ``dest``."""
    flags, mjpeg = sp.StreamFlags.TOP_DOWN, sp.VideoCodecType.MJPEG
    return sp.DisplayStreamCreate(0, stream_id, flags, mjpeg, 0, 32, 32, 32, 32, dest, sp.Clip())


def raw(surface: Surface, box: sp.Rect = DEST) -> U8:
    """What the buffer holds in ``box``, read without writing a frame kept back."""
    assert surface.words is not None
    words = surface.words[box.top : box.bottom, box.left : box.right]
    return np.ascontiguousarray(words).view(np.uint8).reshape(box.height, box.width, 4)


@pytest.fixture
def channel() -> tuple[Display, StreamManager]:
    """Display channel 0 with a deferring stream manager, its primary surface made."""
    manager = StreamManager(MediaClock(lambda: 1000.0))
    manager.defer_frames = True
    display = Display(1 << 20, 1 << 20)
    state = display.channel(0, manager)
    state.handle(PRIMARY)
    assert display.primary is not None
    display.primary.pixels[:] = 1  # something a frame must cover
    state.handle(create())
    return display, manager


def handle(display: Display, message: sp.Message) -> list[ss.events.Event]:
    return display.channels[0].handle(message)


def test_a_frame_is_written_when_the_surface_is_read(channel: tuple[Display, StreamManager]) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    (damage,) = handle(display, sp.DisplayStreamData(3, 50_100, RED))
    assert isinstance(damage, ss.events.Damage) and damage.rect == DEST
    assert damage.pixels is not None and np.array_equal(damage.pixels, decoded(RED))
    assert surface.deferred and (raw(surface) == 1).all()  # kept back: the buffer is as it was
    assert np.array_equal(surface.pixels[4:36, 8:40], decoded(RED))  # reading writes it first
    assert not surface.deferred and np.array_equal(raw(surface), decoded(RED))
    assert (surface.pixels[3, 8:40] == 1).all() and (surface.pixels[4:36, 7] == 1).all()


@pytest.mark.parametrize("read", ["pixels", "flat", "buffer", "copy", "to_rgb", "settle"])
def test_every_way_of_reading_the_surface_writes_the_frame(
    channel: tuple[Display, StreamManager], read: str
) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    handle(display, sp.DisplayStreamData(3, 50_100, GREEN))
    attribute = getattr(surface, read)
    if callable(attribute):
        attribute()
    assert not surface.deferred and np.array_equal(raw(surface), decoded(GREEN))


def test_a_frame_replaced_unread_is_never_written(
    channel: tuple[Display, StreamManager], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    written: list[U8] = []
    copyto = np.copyto

    def spy(dst: U8, src: U8, *args: object, **kwargs: object) -> None:
        written.append(np.array(src))
        copyto(dst, src, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "copyto", spy)
    handle(display, sp.DisplayStreamData(3, 50_100, RED))
    handle(display, sp.DisplayStreamData(3, 50_140, GREEN))
    assert written == [] and (raw(surface) == 1).all()
    assert np.array_equal(surface.pixels[4:36, 8:40], decoded(GREEN))
    assert len(written) == 1  # only the last frame, once


def test_a_draw_after_a_kept_frame_lands_on_top_of_it(channel: tuple[Display, StreamManager]) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    handle(display, sp.DisplayStreamData(3, 50_100, RED))
    fill = sp.Rect(0, 0, 16, 16)  # over the frame's top-left corner and beside it
    handle(display, sp.DisplayDrawFill(0, fill, sp.Clip(), sp.Brush.solid(0x0000FF)))
    assert not surface.deferred  # the draw wrote the frame first
    rgb = surface.to_rgb()
    assert (rgb[0:16, 0:16] == (0, 0, 255)).all()  # the fill, where it overlaps the frame too
    assert np.array_equal(surface.pixels[16:36, 16:40], decoded(RED)[12:, 8:])


def test_a_copy_bits_after_a_kept_frame_copies_the_frame(channel: tuple[Display, StreamManager]) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    handle(display, sp.DisplayStreamData(3, 50_100, GREEN))
    # the frame's left half copied 24 pixels to the right (SPICE's COPY_BITS reads the surface)
    box = sp.Rect(32, 4, 48, 36)
    handle(display, sp.DisplayCopyBits(0, box, sp.Clip(), sp.Point(8, 4)))
    assert np.array_equal(surface.pixels[4:36, 32:48], decoded(GREEN)[:, :16])


def test_a_clipped_frame_goes_over_the_kept_one(channel: tuple[Display, StreamManager]) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    handle(display, sp.DisplayStreamData(3, 50_100, RED))
    handle(display, sp.DisplayStreamClip(3, sp.Clip.of_rects(sp.Rect(8, 4, 24, 36))))
    (damage,) = handle(display, sp.DisplayStreamData(3, 50_140, GREEN))
    assert damage.rect == sp.Rect(8, 4, 24, 36) and damage.pixels is None  # clipped: placed at once
    assert np.array_equal(raw(surface, sp.Rect(8, 4, 24, 36)), decoded(GREEN)[:, :16])
    assert np.array_equal(raw(surface, sp.Rect(24, 4, 40, 36)), decoded(RED)[:, 16:])  # written first


def test_frames_of_two_streams_on_one_surface(channel: tuple[Display, StreamManager]) -> None:
    display, _ = channel
    surface = display.primary
    assert surface is not None
    other = sp.Rect(24, 20, 56, 44)  # overlaps the first stream's corner
    handle(display, create(4, other))
    handle(display, sp.DisplayStreamData(3, 50_100, RED))
    handle(display, sp.DisplayStreamData(4, 50_100, GREEN))
    assert np.array_equal(raw(surface, sp.Rect(8, 4, 24, 20)), decoded(RED)[:16, :16])  # written first
    assert np.array_equal(surface.pixels[20:44, 24:56], decoded(GREEN)[:24])  # the later one on top


def test_a_surface_goes_with_its_last_frame_written(channel: tuple[Display, StreamManager]) -> None:
    """Whoever still holds a destroyed surface sees its last picture; the new one starts clean."""
    display, _ = channel
    old = display.primary
    assert old is not None
    handle(display, sp.DisplayStreamData(3, 50_100, RED))
    handle(display, sp.DisplaySurfaceDestroy(0))
    assert not old.deferred and np.array_equal(raw(old), decoded(RED))
    handle(display, PRIMARY)
    new = display.primary
    assert new is not None and new is not old and not new.deferred
    assert (new.pixels == 0).all()


def test_without_deferral_frames_are_placed_at_once() -> None:
    manager = StreamManager(MediaClock(lambda: 1000.0))
    surface = Surface(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    manager.handle(create(), {0: surface})
    manager.handle(sp.DisplayStreamData(3, 50_100, RED), {0: surface})
    assert not surface.deferred and np.array_equal(raw(surface), decoded(RED))


def test_a_frame_outside_the_surface_is_refused() -> None:
    surface = Surface(0, 16, 16, sp.SurfaceFmt.FMT_32_xRGB)
    words = np.zeros((8, 8), np.uint32)
    with pytest.raises(ss.DisplayError, match="outside"):
        surface.defer_frame(words, 12, 0)
    alpha = Surface(1, 16, 16, sp.SurfaceFmt.FMT_8_A)
    with pytest.raises(ss.DisplayError, match="cannot show video"):
        alpha.defer_frame(words, 0, 0)


async def test_a_session_keeps_frames_back_when_asked_and_writes_them_when_told_not_to() -> None:
    asked, shown = trio.Event(), trio.Event()

    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(PRIMARY)
        await chan.send(create())
        await asked.wait()  # the first frame only once the client asked for frames kept back
        await chan.send(sp.DisplayStreamData(3, MM_TIME + 5_000, RED))
        await shown.wait()
        await chan.send(sp.DisplayStreamData(3, MM_TIME + 5_040, GREEN))

    async with fake_server(Server(display, idle)) as uri, ss.connect(uri) as session:
        assert not session.defer_stream_frames
        session.defer_stream_frames = True
        asked.set()
        frames: list[ss.events.Damage] = []
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.Damage) and event.mm_time is not None:
                    frames.append(event)
                    primary = session.display.primary
                    assert primary is not None and primary.deferred
                    if len(frames) == 1:
                        shown.set()
                    else:
                        break
        session.defer_stream_frames = False  # writes what was kept back
        primary = session.display.primary
        assert primary is not None and not primary.deferred
        assert np.array_equal(raw(primary), decoded(GREEN))
