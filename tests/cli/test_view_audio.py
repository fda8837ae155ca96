"""``spice view`` with sound: our server's tone comes out of SDL (the ``disk`` driver writes it
to a file), a tone in the SDL capture file reaches the server's record API, and the
Ctrl+Alt+M / Ctrl+Alt+N hot keys are kept from the guest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import spice_proto as sp
import spice_server
import trio
from peers.audio import peak_hz
from spice_cli._sdl_logic import Command, HotKeys
from spice_session import tone

RATE = 48000
LCTRL, LALT, M, N = 0xE0, 0xE2, 0x10, 0x11


def test_mute_hot_keys_are_commands_not_keys() -> None:
    keys = HotKeys()
    assert keys.key(LCTRL, True) == (True, Command.NONE)
    assert keys.key(LALT, True) == (True, Command.NONE)
    assert keys.key(M, True) == (False, Command.TOGGLE_MUTE)
    assert keys.key(M, False) == (False, Command.NONE)
    assert keys.key(N, True) == (False, Command.TOGGLE_MICROPHONE)
    assert keys.key(N, False) == (False, Command.NONE)
    assert keys.key(LALT, False) == (True, Command.NONE)  # a combination was used: no grab release


async def test_spice_view_plays_and_records(tmp_path: Path) -> None:
    out, mic = tmp_path / "out.raw", tmp_path / "in.raw"
    mic.write_bytes(tone(700, 4.0).astype("<i2").tobytes())
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "disk",
        "SDL_DISKAUDIOFILE": str(out),
        "SDL_DISKAUDIOFILEIN": str(mic),
    }
    audio = spice_server.AudioSource(record=True)
    server = spice_server.Server(spice_server.Framebuffer(64, 48), audio=audio)
    recorded: list[np.ndarray] = []
    with trio.fail_after(90):
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            argv = [sys.executable, "-m", "spice_cli", "view", f"spice://127.0.0.1:{addr.port}"]
            viewer = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                while not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                    await trio.sleep(0.05)
                audio.play(tone(1000, 1.0))
                with trio.move_on_after(2.5):
                    async for chunk in audio.recordings():
                        recorded.append(chunk.pcm)
            finally:
                viewer.send_signal(signal.SIGINT)
                _, stderr = await trio.to_thread.run_sync(viewer.communicate)
            nursery.cancel_scope.cancel()
    assert viewer.returncode == 130, stderr.decode()
    assert b"no sound" not in stderr
    heard = np.frombuffer(out.read_bytes(), "<i2")
    heard = heard[: len(heard) // 2 * 2].reshape(-1, 2)
    loud = np.flatnonzero(np.abs(heard[:, 0]) > 1000)
    # the whole second came out (a stall of the busy machine may put a little silence in it)
    assert 0.98 * RATE <= loud[-1] - loud[0] <= 1.25 * RATE
    assert abs(peak_hz(heard[loud[0] : loud[-1]], RATE) - 1000) <= 2
    sent = np.concatenate(recorded)
    loud = np.flatnonzero(np.abs(sent[:, 0]) > 1000)
    assert len(loud) > RATE
    assert abs(peak_hz(sent[loud[0] : loud[-1]], RATE) - 700) <= 2
