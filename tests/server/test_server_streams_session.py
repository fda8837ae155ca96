"""spice_server's streams and scrolls end to end over TCP: spice_session plays an animated area as an
MJPEG stream (within a stated JPEG tolerance, the rest exact), scrolls arrive as COPY_BITS and stay
exact, and a stalled client with a stream does not slow a fast one.

JPEG tolerance while a stream shows a smooth picture (absolute per-channel difference against the
frame, stream area only): mean <= 3 and 99th percentile <= 16 at the starting quality (measured here
mean ~1.3, p99 ~6).  Everything outside the stream is exact, and so is the stream area once the
stream ended and the server redrew it losslessly.
"""

from __future__ import annotations

import numpy as np
import spice_server as ss
import spice_session
import trio
from miniclient import mini_session
from peers.viewers import pattern_frame, smooth_frame
from spice_proto import Rect

W, H = 480, 320
ANIM = Rect(96, 64, 96 + 192, 64 + 144)
JPEG_MEAN, JPEG_P99 = 3.0, 16.0


async def serve(nursery: trio.Nursery, server: ss.Server) -> int:
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    assert addr.port is not None
    return addr.port


def smooth(variant: int, box: Rect = ANIM) -> np.ndarray:
    """A photo-like BGRX picture for ``box`` that moves with ``variant``."""
    return smooth_frame(box.width, box.height, variant)


async def animate(fb: ss.Framebuffer, frames: range, fps: float = 25.0, box: Rect = ANIM) -> None:
    for i in frames:
        fb.update(smooth(i, box), box)
        await trio.sleep(1 / fps)


def rgb(frame: np.ndarray) -> np.ndarray:
    return frame[:, :, 2::-1]


def jpeg_error(shown: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    diff = np.abs(shown.astype(int) - want.astype(int))
    return float(diff.mean()), float(np.percentile(diff, 99))


async def still_stream_shown(
    session: spice_session.Session, fb: ss.Framebuffer, last: np.ndarray, mean_max: float, p99_max: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Keep ``last`` coming into ANIM at 25 fps until the session shows it within the tolerance
    (10 s at most); (the whole picture shown, its ANIM part, error mean, 99th percentile)."""
    with trio.fail_after(10):
        while True:
            fb.update(last, ANIM)
            await trio.sleep(0.04)
            primary = session.display.primary
            assert primary is not None
            shown = primary.copy().to_rgb()
            part = shown[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right]
            mean, p99 = jpeg_error(part, rgb(last))
            if mean <= mean_max and p99 <= p99_max:
                return shown, part, mean, p99


def outside(a: np.ndarray, box: Rect) -> np.ndarray:
    """``a`` with ``box`` blanked (to compare everything but the stream)."""
    out = a.copy()
    out[box.top : box.bottom, box.left : box.right] = 0
    return out


async def test_spice_session_plays_an_animated_area_as_a_stream(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    port = await serve(nursery, server)
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        shot = await session.screenshot(settle=0.2)
        assert (shot.to_rgb() == rgb(fb.frame)).all()
        started = trio.current_time()
        await animate(fb, range(50))
        elapsed = trio.current_time() - started
        pipe = server.clients[0].display
        assert pipe is not None
        (stream,) = pipe.streams.values()
        assert stream.box == ANIM and stream.frames_sent >= 20
        # keep the stream alive on a still picture: the client shows it within the JPEG tolerance
        last = smooth(49)
        shown, part, mean, p99 = await still_stream_shown(session, fb, last, JPEG_MEAN, JPEG_P99)
        assert pipe.streams  # still a stream, so what we saw came from JPEG frames
        assert (outside(shown, ANIM) == outside(rgb(fb.frame), ANIM)).all()
        assert not (part == rgb(last)).all()  # lossy, as a stream is
        print(
            f"stream: {stream.frames_sent} frames sent of {stream.frames_in} in {elapsed:.2f} s, "
            f"{stream.bytes_sent / max(1, stream.frames_sent) / 1024:.1f} KiB a frame "
            f"({ANIM.width}x{ANIM.height}), error mean {mean:.2f} p99 {p99:.1f}"
        )
        # the animation stops: the stream ends and the area is redrawn losslessly
        shot = await session.screenshot(settle=0.6)
        assert not pipe.streams and pipe.stats["streams_destroyed"] == 1
        assert (shot.to_rgb() == rgb(fb.frame)).all()


async def test_clients_without_mjpeg_get_lossless_draws_only(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    server = ss.Server(fb, streaming_video="off")
    port = await serve(nursery, server)
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        await session.screenshot(settle=0.1)
        await animate(fb, range(40))
        pipe = server.clients[0].display
        assert pipe is not None and pipe.stats["streams_created"] == 0
        shot = await session.screenshot(settle=0.2)
        assert (shot.to_rgb() == rgb(fb.frame)).all()


def text_rows(height: int, seed: int) -> np.ndarray:
    """Rows of sharp-edged 'text' on white, BGRX."""
    rng = np.random.default_rng(seed)
    rows = np.full((height, W, 4), 250, np.uint8)
    ink = rng.random((height // 2, W // 2)) < 0.25
    rows[: (height // 2) * 2, : (W // 2) * 2][np.kron(ink, np.ones((2, 2), bool))] = (30, 30, 30, 0)
    return rows


async def test_scrolls_arrive_as_copy_bits_and_stay_exact(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(text_rows(H, 0))
    server = ss.Server(fb)
    port = await serve(nursery, server)
    view = Rect(0, 40, W, H - 20)  # a scrolling pane between a header and a footer
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        await session.screenshot(settle=0.1)
        for step in range(1, 31):
            fb.scroll(0, -12, view)
            fb.update(text_rows(12, step), Rect(0, view.bottom - 12, W, view.bottom))
            if step % 3 == 0:
                fb.scroll(0, 12, view)  # and back down a little
                fb.update(text_rows(12, 100 + step), Rect(0, view.top, W, view.top + 12))
            await trio.sleep(0.02)
        shot = await session.screenshot(settle=0.3)
        assert (shot.to_rgb() == rgb(fb.frame)).all()
        pipe = server.clients[0].display
        assert pipe is not None
        # a scroll finding unsent damage in its source area may fall back; most must not
        assert pipe.stats["copy_bits"] >= 30, pipe.stats


async def test_a_stalled_client_with_a_stream_does_not_slow_a_fast_one(nursery: trio.Nursery) -> None:
    big_w, big_h = 1024, 768
    anim = Rect(200, 150, 200 + 480, 150 + 360)
    fb = ss.Framebuffer(big_w, big_h)
    fb.update(pattern_frame(big_w, big_h))
    server = ss.Server(fb)
    port = await serve(nursery, server)
    async with (
        mini_session(port) as stalled,  # from before MULTI_CODEC: it gets MJPEG too
        spice_session.connect(f"spice://127.0.0.1:{port}") as fast,
    ):
        fast.events().close()
        await stalled.show(fb.frame)
        await fast.screenshot(settle=0.2)
        stalled_id = stalled.init.session_id
        # the stalled client never reads its display channel again (no ACKs either)
        await animate(fb, range(100), box=anim)  # 4 s at 25 fps
        victim = next(c for c in server.clients if c.id == stalled_id).display
        other = next(c for c in server.clients if c.id != stalled_id).display
        assert victim is not None and other is not None
        (slow,) = victim.streams.values()
        (good,) = other.streams.values()
        # the fast client got (almost) every frame since its stream started...
        assert good.frames_sent >= 0.8 * good.frames_in, (good.frames_sent, good.frames_in)
        # ... the stalled one stopped at the ACK window and keeps one pending frame, not a queue
        assert slow.frames_sent <= 45 and slow.pending and slow.coalesced >= good.frames_in - 45
        assert len(victim.region.boxes) <= victim.region.max_boxes
        print(
            f"fast client: {good.frames_sent}/{good.frames_in} frames, "
            f"{good.bytes_sent / max(1, good.frames_sent) / 1024:.1f} KiB each; "
            f"stalled: {slow.frames_sent} sent, {slow.coalesced} waiting as one"
        )
        shot = await fast.screenshot(settle=0.6)
        assert (shot.to_rgb() == rgb(fb.frame)).all()


async def test_drawing_over_part_of_a_stream_clips_it_on_the_client(nursery: trio.Nursery) -> None:
    """A "window" drawn over a corner of a live stream: the server sends STREAM_CLIP, the client
    clips the stream's frames to it, and the covered corner stays exact under the still-running
    stream (whose frames carry the corner lossy) while the rest of the stream is within tolerance."""
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    port = await serve(nursery, server)
    window = Rect(ANIM.left - 40, ANIM.top - 30, ANIM.left + 70, ANIM.top + 50)
    corner = window.intersect(ANIM)
    content = pattern_frame(window.width, window.height, variant=2)
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        await animate(fb, range(30))
        pipe = server.clients[0].display
        assert pipe is not None
        (stream,) = pipe.streams.values()
        fb.update(content, window)

        def composed(variant: int) -> np.ndarray:
            """The stream's next picture as an application shows it: the window stays on top."""
            out = smooth(variant)
            c = corner.shifted(-ANIM.left, -ANIM.top)
            w = corner.shifted(-window.left, -window.top)
            out[c.top : c.bottom, c.left : c.right] = content[w.top : w.bottom, w.left : w.right]
            return out

        (client_stream,) = session._stream_managers[0].streams.values()
        mean = p99 = 255.0
        with trio.fail_after(10):
            for i in range(30, 10_000):
                fb.update(composed(i if i < 60 else 60), ANIM)
                await trio.sleep(0.04)
                primary = session.display.primary
                assert primary is not None
                shown = primary.copy().to_rgb()
                want = rgb(fb.frame)
                part = shown[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right]
                mean, p99 = jpeg_error(part, want[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right])
                exact_corner = (
                    shown[corner.top : corner.bottom, corner.left : corner.right]
                    == want[corner.top : corner.bottom, corner.left : corner.right]
                ).all()
                if i > 60 and mean <= JPEG_MEAN and p99 <= JPEG_P99 and exact_corner:
                    break
        assert pipe.streams == {stream.id: stream}  # the same stream, never ended
        assert stream.frames_sent > 30
        visible = set(client_stream.clip.rects)
        assert visible and sum(r.area for r in visible) == ANIM.area - corner.area
        assert all(r.intersect(corner).empty for r in visible)
        assert (outside(shown, ANIM) == outside(want, ANIM)).all()
        print(f"clipped stream: error mean {mean:.2f} p99 {p99:.1f} outside the covered corner")
