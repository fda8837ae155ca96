"""spice_session's media clock follows spice_server's over TCP: MAIN_INIT sets it, a stream whose
reports show late frames makes the server raise the latency and send MAIN_MULTI_MEDIA_TIME, and
when sound stops the server sends the time with the default latency again (libspice-server's
points).  The bound: the client's clock within 150 ms of what the server says it should read
(a few ms measured; the latency steps checked are 200 ms and more).  While sound plays, such a
stream makes the server send PLAYBACK_LATENCY instead, and the session's clock follows the sound
that far behind."""

from __future__ import annotations

from collections.abc import Callable

import spice_proto as sp
import spice_server as ss
import spice_session
import trio
from spice_server._video import MM_TIME_DELTA, media_time
from test_server_streams_session import ANIM, H, W, serve, smooth

BOUND = 150


def mm_diff(a: int, b: int) -> int:
    """``a - b`` for u32 media times."""
    return (a - b + 2**31) % 2**32 - 2**31


async def until(condition: Callable[[], bool], what: str, fps: float = 25.0) -> None:
    with trio.fail_after(20):
        while not condition():
            await trio.sleep(1 / fps)
    assert condition(), what


async def animate_until(fb: ss.Framebuffer, condition: Callable[[], bool], what: str) -> None:
    """Draw the next frame of the animation at each check of :func:`until` until ``condition()``."""
    frames = iter(range(10**6))

    def next_frame() -> bool:
        fb.update(smooth(next(frames)), ANIM)
        return condition()

    await until(next_frame, what)


async def test_the_session_media_clock_follows_the_server(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    audio = ss.AudioSource()
    server = ss.Server(fb, audio=audio)
    port = await serve(nursery, server)
    async with spice_session.connect(f"spice://127.0.0.1:{port}", audio=True) as session:
        session.events().close()
        await until(lambda: bool(server.clients), "a client")
        media = server.clients[0].media
        clock = session.media_clock

        def gap() -> int:
            return abs(mm_diff(clock.now(), media.client_time()))

        assert clock.synced and gap() < BOUND, gap()  # from MAIN_INIT
        assert media.sent == 0
        # our clock 300 ms ahead: the stream's frames arrive with 100 ms to spare at most
        clock.sync((clock.now() + 300) & 0xFFFFFFFF)
        await animate_until(fb, lambda: media.sent >= 1, "MAIN_MULTI_MEDIA_TIME after late frames")
        raised = media.latency
        # twice the ~300 ms the frames seem to travel, less the error of the client's sync
        assert raised >= 2 * (MM_TIME_DELTA - 100) - 50
        await until(lambda: gap() < BOUND, "the clock set by MAIN_MULTI_MEDIA_TIME")
        print(f"latency raised to {raised} ms; client clock {gap()} ms from the server's")
        # sound plays, then stops: the time with the default latency
        while (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
            await trio.sleep(0.01)
        audio.play(spice_session.tone(440, 0.3))
        await until(lambda: not media.enabled, "playback started")
        await until(lambda: media.enabled and media.sent == 2, "MAIN_MULTI_MEDIA_TIME after playback stop")
        assert media.latency == MM_TIME_DELTA
        await until(lambda: gap() < BOUND, "the clock set after playback")
        off = mm_diff(media_time() - MM_TIME_DELTA, clock.now())
        assert abs(off) < BOUND, off


async def test_late_frames_while_sound_plays_set_the_session_clock_by_playback_latency(
    nursery: trio.Nursery,
) -> None:
    fb = ss.Framebuffer(W, H)
    audio = ss.AudioSource(max_seconds=60)
    server = ss.Server(fb, audio=audio)
    port = await serve(nursery, server)
    async with spice_session.connect(f"spice://127.0.0.1:{port}", audio=True) as session:
        session.events().close()
        await until(lambda: bool(server.clients), "a client")
        client = server.clients[0]
        media, clock = client.media, session.media_clock
        await until(lambda: (sp.ChannelType.PLAYBACK, 0) in client.channels, "the playback channel")
        audio.play(spice_session.tone(440, 30.0))  # longer than the test
        await until(lambda: not media.enabled, "playback started")
        assert media.playback_sent == 0  # the default latency: nothing to ask
        # our clock 500 ms ahead: the stream's frames arrive 100 ms late at least
        clock.sync((clock.now() + 500) & 0xFFFFFFFF)
        await animate_until(fb, lambda: media.playback_sent >= 1, "PLAYBACK_LATENCY after late frames")
        assert media.sent == 0  # no MAIN_MULTI_MEDIA_TIME while the sound plays
        assert media.latency >= MM_TIME_DELTA + 2 * 100 - 50  # twice the lateness more
        await until(lambda: clock.latency_ms == media.latency, "the session told the latency")
        assert session.playback.latency_ms == media.latency
        # the session's clock now runs that latency behind the server's, as the sound stamps
        # say (not followed, it would be ~500 ms ahead of that); a loaded server's sound stamps
        # may lag its clock, so only the client running ahead is bounded tightly
        off = mm_diff(clock.now(), media.client_time())
        print(f"PLAYBACK_LATENCY {media.latency} ms; client clock {off:+d} ms from the server's")
        assert -1000 < off < BOUND, off
