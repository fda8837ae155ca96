"""MAIN_MULTI_MEDIA_TIME from a real libspice-server (Xspice) and from spice_server at the same
point, on tshark's wire, with remote-viewer (through a private PulseAudio) as the client.

A short tone is played (Xspice: written into its playback FIFO; ours: AudioSource.play).
libspice-server hands the clients' media clocks back to the server when playback stops: a
MAIN_MULTI_MEDIA_TIME follows PLAYBACK_STOP and none is sent while the sound plays.  It says
the server's time minus the default latency of 400 ms: checked against PLAYBACK_START's
stamp (the server's clock when it went out) plus the capture time between the two packets,
within 150 ms.  Both servers show the same; tshark finds no malformed packet.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import spice_server
import trio
from peers import procs
from peers.capture import Capture, start_capture, tshark_read
from peers.viewers import ViewerOptions, viewer_argv
from peers.xspice import Xspice
from peers.xvfb import Xvfb
from test_audio_viewers import pulse, tone
from test_audio_xspice import write_fifo
from test_server_streams import no_malformed

pytestmark = pytest.mark.interop

LATENCY, BOUND = 400, 150
TIMEOUT = 60.0

__all__ = ["pulse"]  # the fixture


@asynccontextmanager
async def serving(
    kind: str, xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> AsyncIterator[tuple[int, Callable[[], object]]]:
    """The server's port and a function that plays half a second of sound (async)."""
    sound = tone(440, 0.5)
    if kind == "xspice":
        fifo_dir = tmp_path / "audio"
        fifo_dir.mkdir()
        xspice = xspice_factory(extra_env={"XSPICE_PLAYBACK_FIFO_DIR": str(fifo_dir)})
        fifo = fifo_dir / "playback.fifo"
        os.mkfifo(fifo)

        async def play_fifo() -> None:
            await write_fifo(fifo, sound.astype("<i2").tobytes())

        yield xspice.port, play_fifo
        return
    audio = spice_server.AudioSource()
    server = spice_server.Server(spice_server.Framebuffer(320, 200), audio=audio)
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status))

        async def play() -> None:
            audio.play(sound)

        yield addr.port, play
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def watched(port: int, xvfb: Xvfb, pulse: dict[str, str], tmp_path: Path) -> AsyncIterator[Capture]:
    """tshark capturing ``port`` and remote-viewer (sound through ``pulse``) on it, until the end."""
    capture = await trio.to_thread.run_sync(start_capture, port, tmp_path)
    try:
        argv = viewer_argv("remote-viewer", ViewerOptions(port=port))
        viewer = procs.start("remote-viewer", argv, xvfb.display.log_dir, env={**xvfb.display.env, **pulse})
        try:
            yield capture
        finally:
            procs.stop(viewer)
    finally:
        await trio.to_thread.run_sync(capture.stop)


async def messages(capture: Path, port: int) -> list[tuple[float, str, int | None]]:
    """(capture time, name, media time or stamp) of the server's MULTI_MEDIA_TIME, MODE, START and
    STOP messages, in order."""
    fields = ["-e", "frame.time_relative", "-e", "_ws.col.Info", "-e", "spice.multimedia_time"]
    fields += ["-e", "spice.audio_timestamp"]
    table = await trio.to_thread.run_sync(
        lambda: tshark_read(capture, port, "-Y", "spice", "-T", "fields", *fields)
    )
    out: list[tuple[float, str, int | None]] = []
    for line in table.splitlines():
        when, info, media, stamps = [*line.split("\t"), "", "", ""][:4]
        names = [n.strip().removeprefix("Server ") for n in info.split(",")]
        for name in ("MULTI_MEDIA_TIME", "MODE", "START", "STOP"):
            values = {"MULTI_MEDIA_TIME": media, "START": stamps}.get(name, "")
            if name in names:
                (value,) = [int(v) for v in values.split(",") if v] or [None]
                out.append((float(when), name, value))
    return out


async def seen(capture: Path, port: int, name: str) -> list[tuple[float, str, int | None]]:
    """The messages once ``name`` is among them (the capture read again every half second)."""
    while True:
        try:
            found = await messages(capture, port)
        except subprocess.CalledProcessError:  # the capture ends in the middle of a packet
            found = []
        if any(n == name for _, n, _ in found):
            return found
        await trio.sleep(0.5)


@pytest.mark.parametrize("kind", ["xspice", "spice_server"])
async def test_multi_media_time_follows_playback_stop(
    kind: str,
    xvfb: Xvfb,
    pulse: dict[str, str],
    xspice_factory: Callable[..., Xspice],
    tmp_path: Path,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            serving(kind, xspice_factory, tmp_path) as (port, play),
            watched(port, xvfb, pulse, tmp_path) as capture,
        ):
            await seen(capture.path, port, "MODE")  # the playback channel is linked
            await play()
            await seen(capture.path, port, "MULTI_MEDIA_TIME")
    await no_malformed(capture.path, port)
    found = await messages(capture.path, port)
    names = [n for _, n, _ in found]
    # one sound: START, STOP, then the media time; none before the sound ended
    assert names.count("START") == 1 and names.count("STOP") == 1
    assert names.index("START") < names.index("STOP") < names.index("MULTI_MEDIA_TIME")
    started = found[names.index("START")]
    stopped = found[names.index("STOP")]
    when, _, media = found[names.index("MULTI_MEDIA_TIME")]
    assert started[2] is not None and media is not None
    assert when - stopped[0] < 1.0
    # the server's clock then, minus the default latency
    expected = started[2] + round((when - started[0]) * 1000) - LATENCY
    off = (media - expected + 2**31) % 2**32 - 2**31
    after = 1000 * (when - stopped[0])
    print(f"{kind}: MULTI_MEDIA_TIME {after:.1f} ms after STOP, {off:+d} ms from now - {LATENCY}")
    assert abs(off) < BOUND
