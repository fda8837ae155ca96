"""spice record: frames from damage with real timing, decoded back with PyAV."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spice_server as srv
import trio
from peers.spice_cli_proc import demo_server
from spice_proto import ChannelType, Rect
from spice_session import connect

av = pytest.importorskip("av")

W, H = 320, 240
STEP = 0.5  # seconds between patterns


def pattern(k: int) -> np.ndarray:
    """Big flat blocks (the codec keeps them within a few levels), different for each k."""
    rng = np.random.default_rng(100 + k)
    blocks = rng.integers(0, 256, (H // 40, W // 40, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((40, 40, 1), np.uint8))


def decode(path: Path) -> tuple[list[tuple[float, np.ndarray]], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [
            (float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(stream)
        ]
        duration = float(stream.duration * stream.time_base) if stream.duration else frames[-1][0]
    return frames, duration


async def spice(*args: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(90):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args], capture_stdout=True, capture_stderr=True, check=False
        )


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
async def test_recording_follows_the_screen_in_real_time(
    nursery: trio.Nursery, tmp_path: Path, suffix: str
) -> None:
    fb = srv.Framebuffer(W, H)
    fb.update(pattern(0), Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    uri = f"spice://127.0.0.1:{addr.port}"

    async def change() -> None:
        for k in range(1, 100):
            await trio.sleep(STEP)
            fb.update(pattern(k), Rect(0, 0, W, H), format="rgb")

    out = tmp_path / f"rec{suffix}"
    async with connect(uri) as other:  # another client watches meanwhile
        nursery.start_soon(change)
        result = await spice("record", uri, str(out), "--duration", "3", "--fps", "10")
        assert (await other.screenshot()).width == W
    assert result.returncode == 0, result.stderr
    summary = re.search(rb"rec\.\w+: ([\d.]+) s, (\d+) frames", result.stdout)
    assert summary is not None, result.stdout
    frames, duration = decode(out)
    assert 2.8 <= duration <= 3.3, duration
    assert 6 <= len(frames) <= 31  # about one per change, never beyond the 10/s cap
    # every frame is one of the patterns the server showed (within the codec's tolerance),
    # in order, each held for about STEP seconds: frames follow the screen's own timing
    shown = []
    for t, rgb in frames:
        errors = [np.abs(rgb.astype(int) - pattern(k).astype(int)).mean() for k in range(12)]
        k = int(np.argmin(errors))
        assert errors[k] < 4, (t, errors[k])
        shown.append((t, k))
    ks = [k for _, k in shown]
    assert ks == sorted(ks) and len(set(ks)) >= 5
    firsts = {}
    for t, k in shown:
        firsts.setdefault(k, t)
    gaps = np.diff([firsts[k] for k in sorted(firsts)][1:])  # the first one starts whenever we connected
    assert np.all(np.abs(gaps - STEP) < 0.15), gaps


async def test_demo_recording_duration(tmp_path: Path) -> None:
    with demo_server("640x400") as uri:
        out = tmp_path / "demo.mp4"
        result = await spice("record", uri, str(out), "--duration", "2", "--fps", "15")
        assert result.returncode == 0, result.stderr
        frames, duration = decode(out)
        assert 1.8 <= duration <= 2.3
        assert (
            10 <= len(frames) <= 2 * 15 + 2
        )  # the demo animates all the time: 15 a second, + first and last
        assert frames[0][1].shape == (400, 640, 3)


async def test_usage_errors(tmp_path: Path) -> None:
    for args, message in (
        (["out.avi"], b"unknown video format"),
        (["out.mp4", "--fps", "0"], b"--fps"),
        (["out.mp4", "--duration", "-1"], b"--duration"),
    ):
        result = await spice("record", "spice://127.0.0.1:1", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr


async def test_recording_carries_the_guest_sound(nursery: trio.Nursery, tmp_path: Path) -> None:
    from spice_session import tone

    audio = srv.AudioSource()
    fb = srv.Framebuffer(W, H)
    fb.update(pattern(0), Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb, audio=audio)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]

    async def play() -> None:
        while not server.clients or (ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
            await trio.sleep(0.05)
        await trio.sleep(0.5)
        audio.play(tone(1000, 1.0))

    nursery.start_soon(play)
    out = tmp_path / "sound.mp4"
    result = await spice("record", f"spice://127.0.0.1:{addr.port}", str(out), "--duration", "3")
    assert result.returncode == 0, result.stderr
    assert b"with sound" in result.stdout
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        mono = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])  # planar: left
        rate = stream.rate
    loud = np.flatnonzero(np.abs(mono) > 0.1 * np.abs(mono).max())
    assert 0.8 * rate <= loud[-1] - loud[0] <= 1.2 * rate  # a second of tone
    piece = mono[loud[0] : loud[-1]]
    spectrum = np.abs(np.fft.rfft(piece))
    assert abs(np.argmax(spectrum) * rate / len(piece) - 1000) < 5
    assert 0.3 <= loud[0] / rate <= 1.5  # it starts where it was played, not at 0


async def interrupt(viewer: subprocess.Popen[bytes]) -> bytes:
    """Ctrl+C to ``spice view``; its stderr once it ended (killed, and the test failed, if it
    does not end within a minute: a hang is reported with what it wrote, not waited out)."""
    viewer.send_signal(signal.SIGINT)
    try:
        _, err = await trio.to_thread.run_sync(lambda: viewer.communicate(timeout=60))
    except subprocess.TimeoutExpired:
        viewer.kill()
        _, err = await trio.to_thread.run_sync(viewer.communicate)
        raise AssertionError(
            f"spice view did not end on SIGINT: {err.decode(errors='replace')[-3000:]}"
        ) from None
    return err


async def test_spice_view_records_what_it_shows(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.update(pattern(0), Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    out = tmp_path / "view.mp4"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    argv = [sys.executable, "-m", "spice_cli", "view", f"spice://127.0.0.1:{addr.port}", "--no-audio"]
    viewer = subprocess.Popen([*argv, "--record", str(out)], env=env, stderr=subprocess.PIPE)
    try:
        with trio.fail_after(30):
            # the recording opens its file on the first picture: the changes start after it
            # (a loaded machine took longer than a STEP from the link to that picture)
            while not out.exists():
                await trio.sleep(0.05)
        for k in range(1, 5):
            await trio.sleep(STEP)
            fb.update(pattern(k), Rect(0, 0, W, H), format="rgb")
        await trio.sleep(STEP)
    finally:
        err = await interrupt(viewer)
    assert viewer.returncode == 130, err.decode()
    frames, duration = decode(out)
    ks = []
    for _, rgb in frames:
        errors = [np.abs(rgb.astype(int) - pattern(k).astype(int)).mean() for k in range(6)]
        assert min(errors) < 4
        ks.append(int(np.argmin(errors)))
    assert ks == sorted(ks) and set(ks) >= {1, 2, 3, 4}
    assert duration >= 4 * STEP


async def test_spice_view_records_the_sound_it_plays(nursery: trio.Nursery, tmp_path: Path) -> None:
    """The decoded sound goes both to SDL (the disk driver's file) and into the recording."""
    from spice_session import tone

    audio = srv.AudioSource()
    fb = srv.Framebuffer(W, H)
    fb.update(pattern(0), Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb, audio=audio)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    out, heard_file = tmp_path / "view.mp4", tmp_path / "speaker.raw"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "disk",
        "SDL_DISKAUDIOFILE": str(heard_file),
    }
    argv = [sys.executable, "-m", "spice_cli", "view", f"spice://127.0.0.1:{addr.port}", "--record", str(out)]
    viewer = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
    try:
        with trio.fail_after(30):
            while not server.clients or (ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                await trio.sleep(0.05)
        await trio.sleep(0.5)
        audio.play(tone(1000, 1.0))
        await trio.sleep(2.0)
    finally:
        err = await interrupt(viewer)
    assert viewer.returncode == 130, err.decode()
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        mono = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])  # planar: left
        rate = stream.rate
    loud = np.flatnonzero(np.abs(mono) > 0.1 * np.abs(mono).max())
    assert 0.8 * rate <= loud[-1] - loud[0] <= 1.2 * rate  # a second of tone
    piece = mono[loud[0] : loud[-1]]
    assert abs(np.argmax(np.abs(np.fft.rfft(piece))) * rate / len(piece) - 1000) < 5
    heard = np.frombuffer(heard_file.read_bytes(), "<i2")
    heard = heard[: len(heard) // 2 * 2].reshape(-1, 2)[:, 0]  # the speaker played it too
    loud = np.flatnonzero(np.abs(heard) > 1000)
    assert len(loud) > 0.8 * 48000


async def test_spice_view_record_usage_error() -> None:
    result = await spice("view", "spice://127.0.0.1:1", "--record", "x.avi")
    assert result.returncode == 2 and b"unknown video format" in result.stderr


async def test_recording_ends_when_the_server_closes(tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.update(pattern(0), Rect(0, 0, W, H), format="rgb")
    out = tmp_path / "closed.mp4"
    async with trio.open_nursery() as outer:

        async def serve(task_status: trio.TaskStatus[int]) -> None:
            async with trio.open_nursery() as inner:
                server = srv.Server(fb)
                addr: srv.ServerAddress = await inner.start(
                    lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
                )  # type: ignore[arg-type]
                task_status.started(addr.port)
                with trio.fail_after(60):  # the recorder's start (an import-heavy process) under load
                    while not server.clients:
                        await trio.sleep(0.05)
                await trio.sleep(2.0)
                fb.update(pattern(1), Rect(0, 0, W, H), format="rgb")
                await trio.sleep(1.0)
                inner.cancel_scope.cancel()  # the server's listeners and client connections go

        port: int = await outer.start(serve)
        started = trio.current_time()
        result = await spice("record", f"spice://127.0.0.1:{port}", str(out), "--duration", "60")
        assert trio.current_time() - started < 60
    assert result.returncode == 0, result.stderr  # and not after 60 s: it ended with the session
    frames, duration = decode(out)
    assert 1.5 <= duration <= 10
    assert np.abs(frames[-1][1].astype(int) - pattern(1).astype(int)).mean() < 4  # the last picture
