"""spice view on X11: video frames in shared memory the X server shows without a copy of ours.

The window lends frames in MIT-SHM segments (``Window.frame_buffers``); one put at 1:1 is
copied by the X server from there.  What the X screen shows (``xwd -root`` of the Xvfb) must
be what drawing everything through the window's image gives, whatever comes after the frame:
damage over it, the drawn cursor, another frame elsewhere, a read of the window.  A segment is
written again only once nothing refers to the frame lent from it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
import sdl2
import simplejpeg
import spice_proto as sp
import spice_session as ss
import trio
from peers.xvfb import Xvfb
from spice_cli import _sdl_window, _sdl_xshm
from spice_cli._sdl_window import Window
from spice_cli._sdl_xshm import SPARE, XShmFrames
from test_view_av_sync import _sdl_loop_running, _viewer_on_clock

pytestmark = pytest.mark.interop

U8 = npt.NDArray[np.uint8]
W, H = 96, 64


def picture(h: int, w: int, seed: int) -> U8:
    out = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    out[:, :, 3] = 255
    return out


@pytest.fixture
def window(x11_sdl: Xvfb) -> Iterator[Window]:
    """A 96x64 window on the Xvfb, shown once (a random picture)."""
    win = Window("xshm", W, H)
    win.update(picture(H, W, 0), W * 4, 0, 0, W, H)
    win.present()
    yield win
    win.close()


def on_screen(xvfb: Xvfb, window: Window) -> U8:
    """What the X server shows in the window, as (height, width, 3) B, G, R."""
    x, y = window.position()
    rgb = xvfb.display.screenshot()[y : y + H, x : x + W]
    return np.ascontiguousarray(rgb[:, :, ::-1])


def frames_of(window: Window) -> XShmFrames:
    frames = window.frame_buffers
    assert frames is not None, "MIT-SHM is there on a local Xvfb"
    return frames


def lent(frames: XShmFrames, h: int, w: int, seed: int) -> U8:
    frame = frames.allocate(h, w)
    assert frame is not None
    frame[:] = picture(h, w, seed)
    return frame


@pytest.fixture
def sdl_updates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rectangle counts of SDL's framebuffer updates."""
    calls: list[int] = []
    real = sdl2.SDL_UpdateWindowSurfaceRects

    def record(win: object, rects: object, count: int) -> int:
        calls.append(count)
        return int(real(win, rects, count))

    monkeypatch.setattr(_sdl_window.sdl2, "SDL_UpdateWindowSurfaceRects", record)
    return calls


def test_a_frame_in_shared_memory_is_shown_by_the_x_server_alone(
    x11_sdl: Xvfb, window: Window, sdl_updates: list[int]
) -> None:
    frames = frames_of(window)
    expected = window.read_pixels()[:H, :W, :3].copy()
    frame = lent(frames, 24, 40, 1)
    window.put(frame, 30, 20)
    window.present()
    expected[20:44, 30:70] = frame[:, :, :3]
    assert frames.puts == 1 and sdl_updates == []  # the X server copied it; SDL sent nothing
    assert np.array_equal(on_screen(x11_sdl, window), expected)
    # neither the framebuffer nor the image has it until needed: a read of the window settles it
    assert not np.array_equal(window._framebuffer_pixels(window._framebuffer())[20:44, 30:70], frame)
    assert np.array_equal(window.read_pixels()[:H, :W, :3], expected)
    assert np.array_equal(window._image[20:44, 30:70], frame)


def test_what_is_drawn_after_a_frame_from_shared_memory_goes_over_it(x11_sdl: Xvfb, window: Window) -> None:
    frames = frames_of(window)
    expected = picture(H, W, 0)[:, :, :3].copy()
    frame = lent(frames, 32, 48, 2)
    window.put(frame, 8, 8)
    window.present()
    expected[8:40, 8:56] = frame[:, :, :3]
    # damage over part of it
    patch = picture(10, 20, 3)
    window.update(patch, 20 * 4, 0, 0, 20, 10)
    update = picture(H, W, 4)
    window.update(update, W * 4, 30, 20, 20, 10)
    window.present()
    expected[0:10, 0:20] = patch[:, :, :3]
    expected[20:30, 30:50] = update[20:30, 30:50, :3]
    assert np.array_equal(on_screen(x11_sdl, window), expected)
    # another frame in shared memory, then one of the decoder's own arrays elsewhere
    second = lent(frames, 16, 16, 5)
    window.put(second, 70, 40)
    own = picture(12, 12, 6)
    window.put(own, 2, 50)
    window.present()
    expected[40:56, 70:86] = second[:, :, :3]
    expected[50:62, 2:14] = own[:, :, :3]
    assert np.array_equal(on_screen(x11_sdl, window), expected)
    assert np.array_equal(window.read_pixels()[:H, :W, :3], expected)


def test_the_drawn_cursor_goes_over_a_frame_from_shared_memory(x11_sdl: Xvfb, window: Window) -> None:
    frames = frames_of(window)
    frame = lent(frames, 32, 48, 7)
    window.put(frame, 8, 8)
    window.present()
    cursor = np.zeros((6, 6, 4), np.uint8)
    cursor[:, :] = (255, 255, 0, 255)  # opaque yellow (RGBA)
    cursor[2:4, 2:4, 3] = 0  # with a see-through middle
    window.set_cursor(cursor, 0, 0)
    window.present(cursor_at=(20, 20))
    shown = on_screen(x11_sdl, window)
    expected = picture(H, W, 0)[:, :, :3].copy()
    expected[8:40, 8:56] = frame[:, :, :3]
    ring = np.ones((6, 6), bool)
    ring[2:4, 2:4] = False
    assert (shown[20:26, 20:26][ring] == (0, 255, 255)).all()
    assert np.array_equal(shown[22:24, 22:24], expected[22:24, 22:24])  # the frame, not what was there before
    outside = np.ones((H, W), bool)
    outside[20:26, 20:26] = False
    assert np.array_equal(shown[outside], expected[outside])


def test_a_present_after_a_frame_the_x_server_showed_looks_at_the_framebuffer_only_after_events(
    x11_sdl: Xvfb, window: Window, sdl_updates: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = frames_of(window)
    looked = []
    real = window._framebuffer

    def framebuffer() -> sdl2.SDL_Surface:
        looked.append(1)
        return real()

    monkeypatch.setattr(window, "_framebuffer", framebuffer)
    _sdl_window.poll_events()  # (what the window's first showing brought, painted)
    window.present()
    sdl_updates.clear()
    window.put(lent(frames, 24, 40, 1), 30, 20)
    looked.clear()
    window.present()  # the put found the framebuffer as presented: nothing to send or look up
    assert looked == [] and sdl_updates == [] and frames.puts == 1
    window.put(lent(frames, 24, 40, 2), 30, 20)
    _sdl_window.poll_events()  # events taken: the framebuffer may have changed since the put
    looked.clear()
    window.present()
    assert looked == [1] and sdl_updates == []
    window.put(lent(frames, 24, 40, 3), 30, 20)
    window.zoom(1.0)  # (the window resized by us: as events, the framebuffer may be another)
    looked.clear()
    window.present()
    assert looked == [1]
    window.put(lent(frames, 24, 40, 3), 30, 20)
    sent = len(sdl_updates)
    _sdl_window._exposed.add(window.id)  # (an expose, as poll_events notes it): all painted again
    window.present()
    assert sdl_updates[sent:] == [1] and frames.puts == 4
    expected = picture(H, W, 0)[:, :, :3].copy()
    expected[20:44, 30:70] = picture(24, 40, 3)[:, :, :3]
    assert np.array_equal(on_screen(x11_sdl, window), expected)


def test_a_segment_is_lent_again_only_once_nothing_refers_to_its_frame(window: Window) -> None:
    frames = frames_of(window)
    first = lent(frames, 24, 40, 1)
    address = first.__array_interface__["data"][0]
    part = first[4:8]  # a view keeps the frame's memory lent
    del first
    gc.collect()
    second = frames.allocate(24, 40)
    assert second is not None and second.__array_interface__["data"][0] != address
    del part, second
    gc.collect()
    again = frames.allocate(24, 40)
    assert again is not None and frames.segment_of(again) is not None
    assert again.__array_interface__["data"][0] in {s.address for s in frames._segments.values()}
    assert len(frames._segments) == 2  # none made for it
    # a piece of a lent frame is not shown from shared memory (only the whole frame is)
    assert (
        frames.segment_of(again[2:10]) is None and frames.segment_of(np.zeros((24, 40, 4), np.uint8)) is None
    )


def test_a_decoders_output_is_known_as_its_segment_by_identity(
    window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = frames_of(window)
    buffer = frames.allocate(24, 40)
    assert buffer is not None
    decoded = simplejpeg.decode_jpeg(
        simplejpeg.encode_jpeg(picture(24, 40, 3)[:, :, :3].copy()), colorspace="BGRX", buffer=buffer
    )
    assert decoded is not buffer and decoded.base is buffer.base  # simplejpeg answers a view
    segment = frames.segment_of(buffer)
    assert segment is not None
    # found without its address: the lent array and the decoder's whole view of it, not a piece
    monkeypatch.setattr(frames, "_segments", {})
    assert frames.segment_of(buffer) is segment and frames.segment_of(decoded) is segment
    assert frames.segment_of(decoded[1:]) is None and frames.segment_of(buffer[:, ::-1]) is None
    # an id of a lent array that died may be another array's by now: that one is not the segment
    flat = np.zeros(24 * 40 * 4, np.uint8)
    frames._by_frame[id(flat)] = segment
    assert frames.segment_of(flat.reshape(24, 40, 4)) is None


def test_the_pool_is_bounded_and_frames_of_a_new_size_take_the_room_of_free_old_ones(
    window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sdl_xshm, "MAX_SEGMENTS", 3)
    frames = frames_of(window)
    held = [frames.allocate(8, 8) for _ in range(3)]
    assert all(f is not None for f in held)
    assert frames.allocate(8, 8) is None  # all three lent: the decoder allocates its own
    del held[:2]
    gc.collect()
    bigger = frames.allocate(16, 16)  # a free 8x8 segment makes room
    assert bigger is not None and len(frames._segments) == 3
    assert sorted((s.width, s.height, s.lent) for s in frames._segments.values()) == [
        (8, 8, False),
        (8, 8, True),
        (16, 16, True),
    ]


async def test_the_segments_of_an_ended_stream_are_let_go(x11_sdl: Xvfb) -> None:
    """After a stream ends, the segments nobody holds go at once, and those whose frames are
    still held (on screen, kept back) when these come back; a new stream makes new ones."""
    viewer, _, _ = await _viewer_on_clock(frame_buffers=None)
    window = viewer.window
    assert window is not None
    frames = frames_of(window)
    held = [lent(frames, 16, 16, i) for i in range(3)]
    window.put(held[0], 8, 4)
    window.present()
    del held[1:]
    gc.collect()
    assert len(frames._segments) == 3
    await viewer.on_session_event(ss.events.StreamDestroyed(3, 3))
    assert len(frames._segments) == 1  # the free two went
    window.put(lent(frames, 16, 16, 9), 8, 4)  # (a frame lent after the end: trimming stops)
    assert frames.trimming is False
    frames.trim()
    del held
    gc.collect()
    window.present()  # the frame that was on screen came back: let go
    assert len(frames._segments) == 1 and all(s.lent for s in frames._segments.values())
    viewer.close()


def test_a_frame_from_shared_memory_is_not_covered_by_an_earlier_framebuffer_write(
    x11_sdl: Xvfb, window: Window
) -> None:
    """An own array put, then a lent frame over part of it, one present: the lent frame is on
    top (present() sends the framebuffer's rectangle after the X server drew the frame, so
    the frame goes through the framebuffer then)."""
    frames = frames_of(window)
    expected = picture(H, W, 0)[:, :, :3].copy()
    own = picture(20, 20, 11)
    window.put(own, 10, 10)
    frame = lent(frames, 20, 20, 12)
    window.put(frame, 20, 20)
    window.present()
    expected[10:30, 10:30] = own[:, :, :3]
    expected[20:40, 20:40] = frame[:, :, :3]
    assert np.array_equal(on_screen(x11_sdl, window), expected)
    # the same rectangle: an own array, then a lent frame
    own = picture(20, 20, 13)
    window.put(own, 50, 30)
    frame = lent(frames, 20, 20, 14)
    window.put(frame, 50, 30)
    window.present()
    expected[30:50, 50:70] = frame[:, :, :3]
    assert np.array_equal(on_screen(x11_sdl, window), expected)
    assert np.array_equal(window.read_pixels()[:H, :W, :3], expected)


def test_a_segment_put_is_lent_again_only_once_the_x_server_is_done_with_it(
    x11_sdl: Xvfb, window: Window
) -> None:
    """Puts do not wait for the X server.  A free segment put since the last wait is not
    written again until the pool waited (once for several), or a spare is made instead; the
    screen shows the last frame put."""
    frames = frames_of(window)
    held: list[U8] = []
    for i in range(60):
        frame = frames.allocate(16, 24)
        assert frame is not None
        segment = frames.segment_of(frame)
        assert segment is not None
        assert segment.put_request < frames._synced_before, f"frame {i}: the X server may still read it"
        frame[:] = picture(16, 24, i)
        frames.put(segment, 10, 6)
        held = [*held[-2:], frame]  # three frames held at once, as the viewer holds them
    assert 2 <= frames.waits <= 60 // (SPARE + 1), frames.waits  # (each wait covers the spares too)
    assert len(frames._segments) <= 3 + SPARE
    assert np.array_equal(on_screen(x11_sdl, window)[6:22, 10:34], held[-1][:, :, :3])


def test_a_spare_segment_the_system_refuses_leaves_the_pool_working(
    window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spares are only for fewer waits: once one is refused, frames come from the segments
    there are (after a wait), and no spare is asked for again."""
    frames = frames_of(window)
    first = lent(frames, 16, 24, 1)
    segment = frames.segment_of(first)
    assert segment is not None
    frames.put(segment, 0, 0)
    del first  # free, but put since the last wait: a spare would be made for the next frame
    asked: list[int] = []

    def refuse(key: int, size: int, flags: int) -> int:
        asked.append(size)
        return -1

    monkeypatch.setattr(frames._libs, "shmget", refuse)
    for i in range(3):
        frame = frames.allocate(16, 24)
        assert frame is not None, f"frame {i}: the pool stopped lending"
        again = frames.segment_of(frame)
        assert again is segment and again.put_request < frames._synced_before
        frames.put(again, 0, 0)
        del frame, again
    assert asked == [16 * 24 * 4]  # one spare asked for, refused, never again
    assert frames.waits == 3 and len(frames._segments) == 1


def test_free_segments_of_each_size_are_lent_again(window: Window) -> None:
    """Two streams of different sizes, each keeping its latest frame: no segment is made after
    the first few, and a free segment of a size seen before is lent again."""
    frames = frames_of(window)
    kept: dict[int, U8] = {}
    for i in range(40):
        size = (8, 8) if i % 2 else (16, 24)
        frame = frames.allocate(*size)
        assert frame is not None
        kept[i % 2] = frame  # the frame before of the same stream goes back
    assert len(frames._segments) <= 4
    del kept[0]
    small = frames.allocate(16, 24)
    assert small is not None and len(frames._segments) <= 4


def test_a_jpeg_decoded_into_shared_memory_by_the_session_is_shown(x11_sdl: Xvfb, window: Window) -> None:
    """The session's stream decoder writes a real MJPEG frame into a lent segment (only
    simplejpeg's array is kept); the X server shows exactly the decoded pixels."""
    frames = frames_of(window)
    manager = ss.lowlevel.StreamManager(ss.lowlevel.MediaClock(lambda: 1000.0))
    manager.frame_buffers = frames
    surface = ss.Surface(0, W, H, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    dest = sp.Rect(16, 8, 64, 40)
    create = sp.DisplayStreamCreate(
        0, 3, sp.StreamFlags.TOP_DOWN, sp.VideoCodecType.MJPEG, 0, 48, 32, 48, 32, dest, sp.Clip()
    )
    manager.handle(create, {0: surface})
    rgb = np.ascontiguousarray(picture(32, 48, 21)[:, :, :3])
    data = simplejpeg.encode_jpeg(rgb, quality=90, colorspace="RGB")
    (damage,) = manager.handle(sp.DisplayStreamData(3, 50_100, data), {0: surface})
    assert damage.pixels is not None and frames.segment_of(damage.pixels) is not None
    window.put(damage.pixels, dest.left, dest.top)
    window.present()
    assert frames.puts == 1
    decoded = simplejpeg.decode_jpeg(data, colorspace="BGRX", fastdct=True, fastupsample=True)
    assert np.array_equal(on_screen(x11_sdl, window)[8:40, 16:64], decoded[:, :, :3])


def test_frames_still_lent_when_the_window_closes_stay_readable_and_are_unmapped_after(
    x11_sdl: Xvfb,
) -> None:
    win = Window("closing", W, H)
    frames = frames_of(win)
    frame = lent(frames, 16, 16, 31)
    copy = frame.copy()
    free = frames.allocate(16, 16)
    del free
    gc.collect()
    win.close()
    assert frames._segments == {} and frames.allocate(16, 16) is None
    assert np.array_equal(frame, copy)  # still mapped while the frame lives
    address = frame.__array_interface__["data"][0]

    def mapped() -> bool:
        with open("/proc/self/maps") as maps:
            return any(int(line.split("-")[0], 16) == address for line in maps)

    assert mapped()
    del frame
    gc.collect()
    assert not mapped()


def test_no_shared_memory_frames_when_turned_off(x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPICE_VIEW_XSHM", "0")
    win = Window("no xshm", W, H)
    try:
        assert win.frame_buffers is None
    finally:
        win.close()


def test_no_shared_memory_frames_off_x11(sdl: None) -> None:
    win = Window("dummy", W, H)
    try:
        assert win.frame_buffers is None
    finally:
        win.close()


async def test_spice_view_shows_whole_stream_frames_from_shared_memory(x11_sdl: Xvfb) -> None:
    """The viewer lends its window's frames to the session; whole frames decoded into them
    are shown by the X server, each segment written again only after its frame was shown
    and let go."""
    viewer, clock, _ = await _viewer_on_clock(frame_buffers=None)
    window = viewer.window
    assert window is not None
    frames = frames_of(window)
    assert viewer.session.frame_buffers is frames
    start, start_mm = trio.current_time(), clock.t
    box = sp.Rect(8, 4, 24, 20)
    colours = [(i * 12, 255 - i * 12, 100) for i in range(20)]
    with trio.fail_after(20):
        async with _sdl_loop_running(viewer, clock, start, start_mm):
            for bgr in colours:
                clock.t = start_mm + round((trio.current_time() - start) * 1000)
                pixels = frames.allocate(16, 16)
                assert pixels is not None
                pixels[:, :, :3] = bgr
                pixels[:, :, 3] = 255
                pixels.flags.writeable = False
                assert viewer._damage_at_once(
                    ss.events.Damage(0, box, 0, mm_time=clock.t + 100, pixels=pixels)
                )
                del pixels
                await trio.sleep(0.04)
            await trio.sleep(0.3)  # the last ones come out on their own wake-ups
    assert viewer.frames is not None and viewer.frames.dropped == 0
    assert frames.puts >= 15  # (the last few may come out the general way, also from shared memory)
    # the frames held at most at once (~100 ms / 40 ms, and one on screen) and the spares,
    # not one a frame; the X server waited for about once every SPARE frames, not every put
    print(f"{len(frames._segments)} segments, {frames.puts} puts, {frames.waits} waits")
    assert len(frames._segments) <= 6 + SPARE
    assert frames.waits <= frames.puts // 2
    x, y = window.position()
    shown = x11_sdl.display.screenshot()[y + 4 : y + 20, x + 8 : x + 24, ::-1]
    assert (shown == colours[-1]).all()
    assert (window.read_pixels()[4:20, 8:24, :3] == colours[-1]).all()
    viewer.close()
    assert viewer.session.frame_buffers is None


def test_an_event_xlib_read_while_it_flushed_is_known_as_queued(x11_sdl: Xvfb, window: Window) -> None:
    """Writing a request, the X library reads what the socket has (libxcb polls for both):
    the socket then no longer says, and the viewer, which waits on it, must learn of the
    event from ``events_queued`` (it asks after each frame it draws outside the SDL loop)."""
    import ctypes
    import select

    fd = window.event_fd()
    assert fd is not None
    x11 = window._x11()
    assert x11 is not None
    xlib = ctypes.CDLL("libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XMoveWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int]
    xlib.XNoOp.argtypes = xlib.XFlush.argtypes = xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    other = xlib.XOpenDisplay(None)
    assert other
    try:
        _sdl_window.poll_events()
        assert not window.events_queued()
        xlib.XMoveWindow(other, x11[1], 40, 30)  # a ConfigureNotify for SDL's connection
        xlib.XFlush(other)
        assert select.select([fd], [], [], 5)[0] == [fd]
        ours = ctypes.c_void_p(x11[0])
        xlib.XNoOp(ours)
        xlib.XFlush(ours)  # the write's poll finds the event and reads it
        assert select.select([fd], [], [], 0)[0] == []  # the socket no longer says
        assert window.events_queued()
    finally:
        xlib.XCloseDisplay(other)
