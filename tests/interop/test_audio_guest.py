"""Sound with a real guest: QEMU's intel-hda + hda-duplex (``-audiodev spice``) and the rig's
Linux guest with the HDA modules and alsa-utils' ``aplay`` / ``arecord`` (copied from the host).

The guest plays a 440 Hz tone: our client decodes it at 440 Hz.  Our client's record source is
a 700 Hz tone: the guest records it, and its zero crossings (counted in the guest) give 700 Hz.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spice_proto as sp
import spice_session
import trio
from peers.audio import peak_hz
from peers.linux_guest import start_guest
from peers.require import require_binary
from spice_session.events import AudioChunk

pytestmark = pytest.mark.interop

RATE = 48000
MODULES = ("snd-hda-codec-generic", "snd-hda-intel")  # the generic codec first, or probing fails
LIBS = ("libasound.so.2", "libc.so.6", "libm.so.6")
ALSA = "ALSA_CONFIG_PATH=/extra/alsa.conf /extra/lib/ld-linux-x86-64.so.2 --library-path /extra/lib"
PCM = "-D hw:0,0 -f S16_LE -r 48000 -c 2 -t raw"


def _modules(kernel: str) -> list[str]:
    """The sound modules and their dependencies, dependencies first, as paths under /lib/modules."""
    deps = {}
    for line in Path(f"/lib/modules/{kernel}/modules.dep").read_text().splitlines():
        name, _, rest = line.partition(":")
        deps[Path(name).name.removesuffix(".ko")] = (name, rest.split())
    out: list[str] = []

    def add(module: str) -> None:
        path, needs = deps[module]
        for dep in needs:
            add(Path(dep).name.removesuffix(".ko"))
        if path not in out:
            out.append(path)

    for module in MODULES:
        add(module)
    return out


def guest_extra(root: Path) -> Path:
    """/extra for the guest: the modules (and their order), aplay/arecord and their libraries, a tone."""
    aplay, arecord, amixer = require_binary("aplay"), require_binary("arecord"), require_binary("amixer")
    kernel = sorted(p.name.removeprefix("vmlinuz-") for p in Path("/boot").glob("vmlinuz-*"))[-1]
    (root / "mod").mkdir(parents=True)
    order = []
    for path in _modules(kernel):
        shutil.copy(f"/lib/modules/{kernel}/{path}", root / "mod" / Path(path).name)
        order.append(Path(path).name)
    (root / "mod" / "order").write_text("\n".join(order) + "\n")
    (root / "lib").mkdir()
    for binary in (aplay, arecord, amixer):
        shutil.copy(binary, root / "lib")
    for lib in LIBS:
        shutil.copy(f"/lib/x86_64-linux-gnu/{lib}", root / "lib" / lib)
    shutil.copy("/lib64/ld-linux-x86-64.so.2", root / "lib")
    shutil.copy("/usr/share/alsa/alsa.conf", root / "alsa.conf")
    (root / "tone.raw").write_bytes(spice_session.tone(440, 3.0).astype("<i2").tobytes())
    return root


async def test_guest_plays_and_records_through_our_client(tmp_path: Path, peers: Any) -> None:
    extra = guest_extra(tmp_path / "extra")
    audio_args = ("-audiodev", "spice,id=snd", "-device", "intel-hda", "-device", "hda-duplex,audiodev=snd")
    guest = await trio.to_thread.run_sync(
        lambda: start_guest(peers.log_dir, extra=extra, qemu_args=audio_args)
    )
    peers.started.append(guest)
    loaded = await trio.to_thread.run_sync(
        guest.sh,
        "for m in $(cat /extra/mod/order); do insmod /extra/mod/$m; done;"
        " for i in $(seq 40); do [ -e /dev/snd/pcmC0D0c ] && break; sleep 0.25; done; ls /dev/snd",
    )
    # the codec starts with Master and Capture at 0 and switched off: the server then tells us
    # RECORD_MUTE (and we would send silence) and PLAYBACK_MUTE
    mixer = f"{ALSA} /extra/lib/amixer -q -D hw:0 sset"
    await trio.to_thread.run_sync(guest.sh, f"{mixer} Master 100% unmute; {mixer} Capture 100% cap")
    if "pcmC0D0p" not in loaded or "pcmC0D0c" not in loaded:
        log = await trio.to_thread.run_sync(guest.sh, "dmesg | grep -i -E 'snd|hda|sound' | tail -20")
        raise AssertionError(f"no HDA PCM devices in the guest: {loaded!r}\n{log}")
    chunks: list[AudioChunk] = []
    with trio.fail_after(120):
        async with spice_session.connect(guest.uri, audio=True) as session:
            session.record.source = spice_session.ArraySource(spice_session.tone(700, 1.0), RATE, loop=True)
            async with trio.open_nursery() as nursery:

                async def play() -> None:
                    await trio.to_thread.run_sync(guest.sh, f"{ALSA} /extra/lib/aplay {PCM} /extra/tone.raw")

                nursery.start_soon(play)
                async for event in session.events():
                    if isinstance(event, AudioChunk):
                        chunks.append(event)
                        if sum(len(c.pcm) for c in chunks) >= 2 * RATE:
                            break
            # the guest records 3 s of what we send and measures the half periods of the left channel
            # (sign changes with hysteresis, so codec noise near zero does not count; half periods
            # cut short where QEMU dropped samples - TCG's clock lags under load - are left out)
            count = (
                "od -An -v -td2 -w4 /tmp/r.raw | awk 'NR>4800 {s=p; if ($1>2000) s=1; if ($1<-2000) s=0;"
                " if (n && s!=p) {d=n-last; if (last && d>=25 && d<=45) {t+=d; k++}; last=n}; p=s; n++}"
                " END {print k, t}'"
            )
            counted = await trio.to_thread.run_sync(
                guest.sh, f"{ALSA} /extra/lib/arecord {PCM} -d 3 /tmp/r.raw 2>/dev/null; {count}", 90.0
            )
            mode = session.record.recorder.mode
            muted = session.record.recorder.mute
    heard = np.concatenate([c.pcm for c in chunks])
    played_hz = peak_hz(heard[RATE // 2 :], RATE)
    words = counted.split()
    assert len(words) >= 2 and words[-1].isdigit() and words[-2].isdigit(), f"guest said {counted!r}"
    halves, frames = int(words[-2]), int(words[-1])  # half periods of a 700 Hz tone: ~34.3 frames
    assert halves > 2 * 700  # at least a second of the tone arrived
    recorded_hz = RATE / (2 * frames / halves)
    print(f"guest: played {played_hz:.2f} Hz (440), recorded {recorded_hz:.2f} Hz (700) in {mode.name}")
    assert abs(played_hz - 440) <= 2
    assert abs(recorded_hz - 700) <= 2
    assert mode in (sp.AudioDataMode.RAW, sp.AudioDataMode.OPUS) and not muted
