"""PLAYBACK_LATENCY from spice_server to remote-viewer (spice-gtk, which has the LATENCY cap)
while sound plays and a video stream runs, on tshark's wire.

libspice-server's rule (reds_set_client_mm_time_latency): when a stream needs more latency
than the client's media clock gives, the server sends MAIN_MULTI_MEDIA_TIME while no sound
plays, and otherwise asks the playback channel (snd_set_playback_latency) with
SPICE_MSG_PLAYBACK_LATENCY, the latency in ms.  Ours, while sound plays: a STREAM_REPORT whose
last_frame_delay says the frame came late asks for the latency so far plus twice the lateness,
at most once a second, up to 5 s.

remote-viewer plays a long tone (through a private PulseAudio) while an area animates; the
stream's frames are stamped 500 ms early (a slow link, in effect), so remote-viewer, whose
clock follows the sound less its audio delay, reports them late.  The check: PLAYBACK_LATENCY
on the wire after PLAYBACK_START with exactly the values that rule gives for the reports the
server got (read on the server: tshark does not dissect last_frame_delay), no
MAIN_MULTI_MEDIA_TIME while the sound plays, no malformed packet.  Measured here: asked
1344 ms, remote-viewer's frames came only ~110 ms less late, so it was asked no more.

Xspice (libspice-server) in the same situation (an animated GIF streamed as MJPEG while its
playback FIFO plays a tone) sends PLAYBACK_LATENCY too, after PLAYBACK_START and with no
MAIN_MULTI_MEDIA_TIME meanwhile; its values are its MJPEG encoder's estimate of what a frame
needs (0 or 5 ms here, sent again on every rate update), not a measured lateness.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import spice_server as ss
import spice_session
import trio
from peers.audio import write_fifo
from peers.capture import tshark_read
from peers.viewers import smooth_frame
from peers.xspice import Xspice
from peers.xvfb import Xvfb
from PIL import Image
from spice_proto import ChannelType, Rect
from spice_server import _streams
from spice_server._mmtime import MAX_LATENCY, SETTLE
from spice_server._video import MM_TIME_DELTA, media_time
from test_audio_viewers import pulse
from test_media_time_servers import watched
from test_server_streams import no_malformed
from test_server_viewers import running
from test_streams_xspice import animation_frames

pytestmark = pytest.mark.interop

__all__ = ["pulse"]  # the fixture

W, H = 640, 400
ANIM = Rect(160, 100, 160 + 256, 100 + 192)
TIMEOUT = 90.0
#: How much earlier than now the stream's frames are stamped.
EARLY = 500


async def wire(capture: Path, port: int) -> list[tuple[str, int | None]]:
    """(name, value) of the server's MULTI_MEDIA_TIME, START, STOP and LATENCY, in order."""
    fields = ["-e", "_ws.col.Info", "-e", "spice.audio_latency"]
    table = await trio.to_thread.run_sync(
        lambda: tshark_read(capture, port, "-Y", "spice", "-T", "fields", *fields)
    )
    out: list[tuple[str, int | None]] = []
    for line in table.splitlines():
        info, latency = [*line.split("\t"), ""][:2]
        names = [n.strip().removeprefix("Server ") for n in info.split(",")]
        latencies = iter(int(v) for v in latency.split(",") if v)
        for name in names:
            if name in ("MULTI_MEDIA_TIME", "START", "STOP"):
                out.append((name, None))
            elif name == "LATENCY":
                out.append((name, next(latencies)))
    return out


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (the test's deadline bounds the wait)."""
    while not condition():
        await trio.sleep(0.05)
    assert condition(), what


def expected(reports: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The PLAYBACK_LATENCY values the rule gives for (server time, last_frame_delay) reports
    while the sound plays (from the default latency: no report came before the sound), with
    the server time of the report that asked each."""
    latency, out = MM_TIME_DELTA, []
    last: tuple[int, int, int] | None = None  # (when, raise, delay) of the last ask
    for when, delay in reports:
        if delay >= 0 or latency >= MAX_LATENCY:
            continue
        if last is not None and when - last[0] < SETTLE:
            continue
        if last is not None and delay - last[2] < last[1] / 4:
            break  # the viewer did not follow: no more asks during this sound
        raised = min(MAX_LATENCY, latency - 2 * delay) - latency
        latency += raised
        last = (when, raised, delay)
        out.append((when, latency))
    return out


async def test_remote_viewer_is_asked_for_the_latency_its_streams_need_while_sound_plays(
    xvfb: Xvfb, pulse: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_streams, "media_time", lambda: (media_time() - EARLY) & 0xFFFFFFFF)
    fb = ss.Framebuffer(W, H)
    audio = ss.AudioSource(max_seconds=TIMEOUT + 20)
    server = ss.Server(fb, audio=audio)
    reports: list[tuple[int, int]] = []
    asks: list[int] = []
    silent: list[bool] = []  # per report: no sound played then
    with trio.fail_after(TIMEOUT):
        async with running(server) as addr:
            port = addr.port
            async with watched(port, xvfb, pulse, tmp_path) as capture:
                await until(lambda: bool(server.clients), "a client")
                client = server.clients[0]
                await until(lambda: (ChannelType.PLAYBACK, 0) in client.channels, "playback channel")
                media = client.media
                report, now = media.stream_report, [0]
                # the control reads the time recorded with each report (the rule's SETTLE
                # compares the same numbers here)
                media._clock = lambda: now[0] or media_time()

                def recorded(delay: int) -> None:
                    now[0] = media_time()
                    reports.append((now[0], delay))
                    silent.append(media.enabled)
                    report(delay)
                    now[0] = 0

                media.stream_report = recorded  # type: ignore[method-assign]
                audio.play(spice_session.tone(440, TIMEOUT + 10))  # longer than the test
                await until(lambda: not media.enabled, "playback started")
                i, asked = 0, 0.0
                # until 2 s after the last PLAYBACK_LATENCY (the viewer follows it)
                while not asks or trio.current_time() - asked < 2 * SETTLE / 1000:
                    if media.playback_sent > len(asks):
                        asks.append(media.latency)
                        asked = trio.current_time()
                    fb.update(smooth_frame(ANIM.width, ANIM.height, i), ANIM)
                    i += 1
                    await trio.sleep(0.04)
                assert not media.enabled, "the sound stopped early"
    await no_malformed(capture.path, port)
    found = await wire(capture.path, port)
    names = [n for n, _ in found]
    print("reports (server ms, last_frame_delay):", [(w - reports[0][0], d) for w, d in reports])
    print("wire:", [f for f in found if f[0] != "MULTI_MEDIA_TIME"])
    assert names.count("START") == 1 and "STOP" not in names
    start = names.index("START")
    assert "MULTI_MEDIA_TIME" not in names[start:]
    latencies = [v for n, v in found[start:] if n == "LATENCY"]
    assert "LATENCY" not in names[:start]
    assert not any(silent)  # every report came while the sound played
    rule = expected(reports)
    assert latencies and latencies == [latency for _, latency in rule], (latencies, reports)
    assert latencies == asks
    # how far remote-viewer followed: its reports from a second after each ask
    for when, latency in rule:
        after = [d for w, d in reports if w - when >= SETTLE]
        print(f"asked {latency} ms; last_frame_delay {after[:1]} a second later")


async def test_xspice_asks_remote_viewer_for_latency_while_it_streams_and_plays(
    xvfb: Xvfb, pulse: dict[str, str], xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> None:
    fifo_dir = tmp_path / "audio"
    fifo_dir.mkdir()
    gif = tmp_path / "loop.gif"  # a block moving over a gradient, looping: an endless stream
    images = [Image.fromarray(f) for f in animation_frames(40)]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=[40] * 40, loop=0)
    env = {"QXL_ENABLE_SURFACES": "0", "XSPICE_PLAYBACK_FIFO_DIR": str(fifo_dir)}
    server = xspice_factory(streaming_video="all", extra_env=env)
    fifo = fifo_dir / "playback.fifo"
    os.mkfifo(fifo)
    sound = spice_session.tone(440, TIMEOUT + 10).astype("<i2").tobytes()  # longer than the test
    with trio.fail_after(TIMEOUT):
        async with watched(server.port, xvfb, pulse, tmp_path) as capture, trio.open_nursery() as nursery:
            server.display.start_client("animate", ["animate", str(gif)])
            nursery.start_soon(write_fifo, fifo, sound)
            while True:
                try:
                    found = await wire(capture.path, server.port)
                except subprocess.CalledProcessError:  # the capture ends in the middle of a packet
                    found = []
                if any(n == "LATENCY" for n, _ in found):
                    break
                await trio.sleep(0.5)
            nursery.cancel_scope.cancel()
    await no_malformed(capture.path, server.port)
    found = await wire(capture.path, server.port)
    names = [n for n, _ in found]
    print("Xspice:", [f for f in found if f[0] != "MULTI_MEDIA_TIME"][:12])
    assert "START" in names
    playing = False  # (a gap in the FIFO under load may stop and restart the sound)
    for i, (name, value) in enumerate(found):
        playing = {"START": True, "STOP": False}.get(name, playing)
        assert name != "LATENCY" or (playing and value is not None and 0 <= value <= MAX_LATENCY)
        # libspice-server turns the main channel's media clock back on (and sends it) on a
        # stop before it queues PLAYBACK_STOP, so the clock may reach the wire first, and when
        # the playback channel closes (remote-viewer leaving as the test ends), with no STOP.
        assert name != "MULTI_MEDIA_TIME" or not playing or stops_next(found[i + 1 :]), found


def stops_next(rest: list[tuple[str, int | None]]) -> bool:
    """Whether the next playback message in ``rest`` is PLAYBACK_STOP, or none follows."""
    following = [name for name, _ in rest if name != "MULTI_MEDIA_TIME"]
    return following[:1] in ([], ["STOP"])
