"""Audio: CPU per second of Opus encoded and decoded, and playback latency end to end.

- CPU: 10 s of 48 kHz stereo (a 440 Hz tone plus noise) through spice_session's OpusEncoder
  and OpusDecoder in 10 ms packets; process CPU seconds per second of audio.
- Latency: spice_server (an AudioSource) and spice_session in this process over TCP; a
  20 ms burst is played after silence, and the time from ``AudioSource.play`` to the
  client's decoded AudioChunk holding it is measured, ``--rounds`` times, raw and Opus.
  (The jitter buffer's own delay, the server's LATENCY, comes on top in a player.)

    python tools/bench_audio.py [--seconds 10] [--rounds 20]

Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import spice_proto as sp
import spice_server
import spice_session
import trio

RATE = 48000


def opus_cpu(seconds: float) -> tuple[float, float]:
    """(encode, decode) CPU seconds per second of audio."""
    rng = np.random.default_rng(1)
    pcm = spice_session.tone(440, seconds)
    pcm = (pcm + rng.integers(-500, 500, pcm.shape)).astype(np.int16)
    enc = spice_session.lowlevel.OpusEncoder(2)
    t0 = time.process_time()
    packets = [enc.encode(pcm[i : i + 480]) for i in range(0, len(pcm) - 479, 480)]
    encode = time.process_time() - t0
    dec = spice_session.lowlevel.OpusDecoder(2)
    t0 = time.process_time()
    for p in packets:
        dec.decode(p)
    decode = time.process_time() - t0
    return encode / seconds, decode / seconds


async def latency(mode: sp.AudioDataMode, rounds: int) -> list[float]:
    """Seconds from AudioSource.play to the decoded chunk, per round."""
    audio = spice_server.AudioSource()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), audio=audio)
    out: list[float] = []
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status))
        # a client that does not offer Opus gets raw sound
        opus = mode == sp.AudioDataMode.OPUS
        async with spice_session.connect(f"spice://127.0.0.1:{addr.port}", audio=True, opus=opus) as session:
            while not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                await trio.sleep(0.01)
            events = session.events()
            burst = spice_session.tone(1000, 0.02, amplitude=0.5)
            for _ in range(rounds):
                await trio.sleep(0.4)  # the server stops after 0.2 s of silence: each round starts anew
                sent = trio.current_time()
                audio.play(burst)
                async for event in events:
                    if isinstance(event, spice_session.events.AudioChunk) and np.abs(event.pcm).max() > 1000:
                        out.append(trio.current_time() - sent)
                        break
        nursery.cancel_scope.cancel()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not spice_session.opus_available():
        print("PyAV with Opus is not installed: Opus rows skipped")
    else:
        enc, dec = opus_cpu(args.seconds)
        print(
            f"Opus 48 kHz stereo, 10 ms packets: encode {enc * 1000:.1f} ms CPU/s,"
            f" decode {dec * 1000:.1f} ms CPU/s"
        )
    modes = [sp.AudioDataMode.RAW] + ([sp.AudioDataMode.OPUS] if spice_session.opus_available() else [])
    for mode in modes:
        got = trio.run(latency, mode, args.rounds)
        ms = sorted(x * 1000 for x in got)
        print(
            f"playback latency {mode.name:4}: play() -> decoded chunk median {statistics.median(ms):.1f} ms, "
            f"max {ms[-1]:.1f} ms over {len(ms)} rounds"
        )


if __name__ == "__main__":
    main()
