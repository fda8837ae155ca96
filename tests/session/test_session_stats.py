"""session.stats against an animated spice_server: frames/s, traffic per channel, draw time, RTT."""

from __future__ import annotations

import numpy as np
import spice_server as srv
import trio
from peers.server_task import animated_server, serve_uri
from spice_proto import Rect
from spice_session import connect
from spice_session.lowlevel import tcp_rtt_ms

W, H = 160, 120
#: How far behind its own media clock spice_server starts the client's (libspice-server's default).
MM_TIME_DELTA = 400


async def test_stats_count_frames_traffic_draw_time_and_rtt(nursery: trio.Nursery) -> None:
    uri = await animated_server(nursery, 20)
    async with connect(uri) as session:
        session.events().close()  # nobody reads events: stats do not depend on it
        await trio.sleep(2.0)
        stats = session.stats
        later = session.stats
    assert 8 <= stats.fps <= 30, stats.fps  # 20 draws a second, give or take a merged one
    assert stats.frames >= 25 and later.frames >= stats.frames
    by_name = {c.name: c for c in stats.channels}
    display = by_name["display:0"]
    assert display.bytes_in > 20 * 20 * 3 * 20  # noise: about 1200 bytes a frame
    assert display.messages_in >= stats.frames
    assert 8 * 1200 < display.bytes_in_per_s < 40 * 2000, display.bytes_in_per_s
    assert 8 <= display.messages_in_per_s <= 80
    assert by_name["main:0"].bytes_out > 0 and by_name["display:0"].messages_out >= 1  # DISPLAY_INIT
    assert stats.draw_ms > 0 and 0 < stats.draw_ms_per_s < 500
    assert stats.rtt_ms is not None and 0 <= stats.rtt_ms < 100  # loopback
    assert stats.audio_latency_ms is None and stats.streams == 0
    assert '"channels"' in stats.to_json()


async def test_a_still_screen_has_no_frames_per_second(nursery: trio.Nursery) -> None:
    fb = srv.Framebuffer(W, H)
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    async with connect(f"spice://127.0.0.1:{addr.port}") as session:
        await session.screenshot()
        await trio.sleep(1.5)
        stats = session.stats
    assert stats.fps == 0
    assert {c.name: c for c in stats.channels}["display:0"].bytes_in_per_s == 0


def test_rtt_of_a_non_tcp_stream_is_none() -> None:
    assert tcp_rtt_ms(object()) is None


async def test_video_stream_frames_per_second(nursery: trio.Nursery) -> None:
    """spice_server turns a smoothly animated area into an MJPEG stream: its frames are counted."""
    w, h, box = 480, 320, Rect(96, 64, 96 + 192, 64 + 144)
    fb = srv.Framebuffer(w, h)
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    y, x = np.mgrid[0 : box.height, 0 : box.width]
    async with connect(f"spice://127.0.0.1:{addr.port}") as session:
        session.events().close()
        await session.screenshot()
        for i in range(75):  # 3 s at 25 frames a second
            frame = np.zeros((box.height, box.width, 4), np.uint8)
            frame[:, :, 0] = 128 + 100 * np.sin((x + 4 * i) / 23)
            frame[:, :, 1] = 128 + 100 * np.cos((y - 3 * i) / 17)
            frame[:, :, 2] = 128 + 90 * np.sin((x + y + 5 * i) / 31)
            fb.update(frame, box)
            await trio.sleep(1 / 25)
        stats = session.stats
        pipe = server.clients[0].display
        assert pipe is not None and pipe.streams
        sent = sum(s.frames_sent for s in pipe.streams.values())
    assert stats.streams >= 1
    assert stats.stream_frames >= 20 and stats.stream_frames <= sent
    assert 10 <= stats.stream_fps <= 30, stats.stream_fps
    assert stats.stream_late <= stats.stream_frames


async def test_audio_delay_is_measured_on_the_playback_path(nursery: trio.Nursery) -> None:
    from spice_proto import ChannelType
    from spice_session import tone

    audio = srv.AudioSource()
    server = srv.Server(srv.Framebuffer(W, H), audio=audio)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    async with connect(f"spice://127.0.0.1:{addr.port}", audio=True) as session:
        session.events().close()
        with trio.fail_after(10):
            while not server.clients or (ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                await trio.sleep(0.05)
        assert session.stats.audio_delay_ms is None  # no sound yet
        audio.play(tone(440, 0.6))
        await trio.sleep(1.0)
        in_step = session.stats.audio_delay_ms
        # our clock 300 ms behind the server's: the sound arrives 300 ms before we would play it
        session.media_clock.sync((session.media_clock.now() - 300) & 0xFFFFFFFF)
        audio.play(tone(440, 2.0))
        await trio.sleep(2.0)
        behind = session.stats.audio_delay_ms
    # our server (like spice-server) gives the client a clock MM_TIME_DELTA ms behind its own
    # and stamps sound as it sends it: the sound waits that long to be played
    assert in_step is not None and MM_TIME_DELTA - 60 <= in_step <= MM_TIME_DELTA + 60, in_step
    assert behind is not None and 240 <= behind - in_step <= 360, (in_step, behind)


async def test_an_idle_session_takes_no_samples_and_rates_restart_after_it(
    nursery: trio.Nursery,
) -> None:
    """Samples are taken as messages come, at most four a second (no task wakes up for
    them): an idle session takes none, and the rates just after the idle spell count from
    then, not over it."""
    fb = srv.Framebuffer(W, H)
    uri = await serve_uri(nursery, srv.Server(fb))
    async with connect(uri) as session:
        session.events().close()
        await session.screenshot()
        await trio.sleep(0.5)
        idle_from = session._stats.taken
        await trio.sleep(2.0)  # a long rest: rates over it would be a quarter of the real ones
        assert session._stats.taken == idle_from
        rng = np.random.default_rng(0)
        for _ in range(12):  # 20 draws a second for 0.6 s
            fb.update(rng.integers(0, 255, (20, 20, 3), np.uint8), Rect(10, 10, 30, 30), format="rgb")
            await trio.sleep(0.05)
        busy = session._stats.taken - idle_from
        assert 2 <= busy <= 4, busy  # one at the first draw, then one a quarter second
        stats = session.stats
    # ~11 as a sampler that never rested counts (12 draws over its last 1.1 s); ~4 if the
    # second were measured from the last sample before the rest
    assert stats.fps >= 7, stats.fps
    assert {c.name: c for c in stats.channels}["display:0"].messages_in_per_s >= 7
