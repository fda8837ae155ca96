"""remote-viewer against our server's audio, through a private PulseAudio with a null sink.

What our AudioSource plays is recorded from the sink's monitor (``parec``) and has the
right frequency; a tone played into the sink (``pacat``), which remote-viewer records from
the monitor (the default source), reaches our server's ``recordings()``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import spice_server
import trio
from peers import procs
from peers.audio import peak_hz
from peers.require import require_binary
from peers.viewers import ViewerOptions, viewer_argv
from peers.xvfb import Xvfb
from spice_session import tone

pytestmark = pytest.mark.interop

RATE = 48000
TIMEOUT = 60.0


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private PulseAudio daemon with the null sink ``nullout`` as default; the env to reach it."""
    require_binary("pulseaudio")
    require_binary("parec")
    base = tmp_path / "pulse"
    (base / "run").mkdir(parents=True)
    (base / "home").mkdir()
    env = {
        "PULSE_RUNTIME_PATH": str(base / "run"),
        "XDG_RUNTIME_DIR": str(base / "run"),
        "HOME": str(base / "home"),
        "PULSE_SERVER": f"unix:{base / 'run' / 'native'}",
    }
    argv = ["pulseaudio", "--system=false", "-n", "--daemonize=no", "--exit-idle-time=-1"]
    argv += ["--use-pid-file=false", "--log-target=stderr"]
    argv += ["-L", f"module-null-sink sink_name=nullout rate={RATE} channels=2"]
    argv += ["-L", f"module-native-protocol-unix socket={base / 'run' / 'native'} auth-anonymous=1"]
    argv += ["-L", "module-always-sink"]
    proc = procs.start("pulseaudio", argv, tmp_path, env=env)
    try:
        procs.wait_until("PulseAudio socket", (base / "run" / "native").exists, proc)
        yield env
    finally:
        procs.stop(proc)


@contextlib.asynccontextmanager
async def serving(server: spice_server.Server) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status))
        yield addr.port
        nursery.cancel_scope.cancel()


async def attached(server: spice_server.Server, kind: int) -> None:
    """Until a client has linked channel type ``kind``."""
    while not server.clients or (kind, 0) not in server.clients[0].channels:
        await trio.sleep(0.05)


async def capture(env: dict[str, str], seconds: float) -> np.ndarray:
    """``seconds`` of what the null sink plays, from its monitor."""
    argv = ["parec", "-d", "nullout.monitor", "--format=s16le", f"--rate={RATE}", "--channels=2", "--raw"]
    argv.append("--latency-msec=20")
    raw = bytearray()
    with trio.move_on_after(seconds):
        proc = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE, env={**os.environ, **env})
        try:
            assert proc.stdout is not None
            while chunk := await proc.stdout.receive_some(65536):
                raw += chunk
        finally:
            proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()
    return np.frombuffer(bytes(raw[: len(raw) // 4 * 4]), "<i2").reshape(-1, 2)


async def test_remote_viewer_plays_and_records_through_pulse(xvfb: Xvfb, pulse: dict[str, str]) -> None:
    audio = spice_server.AudioSource(record=True)
    server = spice_server.Server(spice_server.Framebuffer(320, 200), audio=audio)
    with trio.fail_after(TIMEOUT):
        async with serving(server) as port:
            argv = viewer_argv("remote-viewer", ViewerOptions(port=port))
            viewer = procs.start(
                "remote-viewer", argv, xvfb.display.log_dir, env={**xvfb.display.env, **pulse}
            )
            try:
                await attached(server, 5)  # PLAYBACK
                await attached(server, 6)  # RECORD
                # playback: our tone, recorded from the sink's monitor
                async with trio.open_nursery() as nursery:
                    got: list[np.ndarray] = []

                    async def record_sink() -> None:
                        got.append(await capture(pulse, 4.0))

                    nursery.start_soon(record_sink)
                    await trio.sleep(0.5)
                    audio.play(tone(1000, 3.0))
                heard = got[0]
                loud = np.flatnonzero(np.abs(heard[:, 0]) > 1000)
                assert len(loud) > RATE, f"only {len(loud)} loud frames reached the sink"
                played_hz = peak_hz(heard[loud[0] : loud[-1]], RATE)
                # On a loaded machine the sink played the 1000 Hz tone late, into the record part:
                # remote-viewer records the sink's monitor, so wait for silence there and forget
                # what it recorded so far (the tone), then play the 700 Hz one.
                with trio.fail_after(TIMEOUT):
                    while np.abs(await capture(pulse, 0.5)).max(initial=0) > 1000:
                        pass
                while True:
                    try:
                        audio.recordings().receive_nowait()
                    except trio.WouldBlock:
                        break
                # record: a tone into the sink; remote-viewer records the monitor and sends it to us
                recorded: list[spice_server.RecordedAudio] = []
                pacat = [
                    "pacat",
                    "-d",
                    "nullout",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=2",
                    "--raw",
                ]
                player = await trio.lowlevel.open_process(
                    pacat, stdin=subprocess.PIPE, env={**os.environ, **pulse}
                )
                try:
                    assert player.stdin is not None
                    await player.stdin.send_all(tone(700, 3.0).astype("<i2").tobytes())
                    await player.stdin.aclose()
                    with trio.move_on_after(4.0):
                        async for chunk in audio.recordings():
                            recorded.append(chunk)
                finally:
                    player.kill()
                    with trio.CancelScope(shield=True):
                        await player.wait()
            finally:
                procs.stop(viewer)
    sent = np.concatenate([c.pcm for c in recorded]) if recorded else np.zeros((0, 2), np.int16)
    loud_rec = np.flatnonzero(np.abs(sent[:, 0]) > 1000)
    assert len(loud_rec) > RATE // 2, f"only {len(loud_rec)} loud recorded frames reached our server"
    recorded_hz = peak_hz(sent[loud_rec[0] : loud_rec[-1]], RATE)
    print(f"remote-viewer: played {played_hz:.2f} Hz (1000), recorded {recorded_hz:.2f} Hz (700)")
    assert abs(played_hz - 1000) <= 2
    assert abs(recorded_hz - 700) <= 2
