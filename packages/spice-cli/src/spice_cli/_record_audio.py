"""``spice record-audio``: connect with audio, write what the guest plays for N seconds as a WAV file."""

from __future__ import annotations

import argparse
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import numpy as np
import spice_session as ss
import trio
from spice_session.events import AudioChunk

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session

__all__ = [
    "RECORDER_BUFFER_MS",
    "add_parser",
    "assemble",
    "capture",
    "keep_sound",
    "run",
    "save_wav",
    "write_wav",
]

#: A jump of more than this in the DATA times is a pause (the server stamps packets as it sends them).
PAUSE_MS = 100
#: How much sound the playback buffer holds for a recorder between two of its reads.  A
#: player's buffer keeps 500 ms and pushes the oldest out; a recorder that reads late (a
#: loaded machine) while the server sends a second of sound at once (Xspice reading its
#: FIFO) would lose the start of it.
RECORDER_BUFFER_MS = 10_000.0


@contextmanager
def keep_sound(session: ss.Session) -> Iterator[None]:
    """While recording: the session's playback buffer holds up to :data:`RECORDER_BUFFER_MS`
    (as it was after)."""
    jitter = session.playback.jitter
    limit = jitter.max_ms
    jitter.max_ms = max(limit, RECORDER_BUFFER_MS)
    try:
        yield
    finally:
        jitter.max_ms = limit


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "record-audio",
        help=HELP["record-audio"],
        description="Connect to a SPICE server with its playback channel, record what the guest plays "
        "for --seconds seconds and write it to OUT as 16-bit PCM WAV (silence where nothing played "
        "after the first sound).",
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument("out", metavar="OUT.wav", help="where to write the WAV file")
    p.add_argument("--seconds", type=float, default=5.0, metavar="N", help="how long to record (default 5)")
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> Path:
    if args.timeout <= 0 or args.seconds <= 0:
        raise UsageError("--timeout and --seconds must be > 0")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"output path is a directory: {out}")
    if not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    check_connection_args(args)
    return out


async def capture(session: ss.Session, seconds: float) -> list[AudioChunk]:
    """What the session's playback channel delivers during ``seconds``, in order.

    Read from ``session.playback.jitter`` (which gets every chunk whether or not anyone
    reads the session's events), emptied every 50 ms; it holds up to
    :data:`RECORDER_BUFFER_MS` meanwhile (:func:`keep_sound`).
    """
    chunks: list[AudioChunk] = []
    with keep_sound(session):
        with trio.move_on_after(seconds):
            while True:
                chunks += session.playback.jitter.drain()
                await trio.sleep(0.05)
        return chunks + session.playback.jitter.drain()


def assemble(chunks: list[AudioChunk]) -> np.ndarray:
    """The chunks in order, with silence where the media times say sound paused (after a STOP)."""
    if not chunks:
        return np.zeros((0, 2), np.int16)
    rate, channels = chunks[0].rate, chunks[0].pcm.shape[1]
    parts: list[np.ndarray] = []
    expected = float(chunks[0].time)  # media time (ms) where the next chunk would follow on
    for chunk in chunks:
        if chunk.rate != rate or chunk.pcm.shape[1] != channels:
            continue  # a format change mid-recording: keep the first format only
        ahead = (chunk.time - round(expected)) & 0xFFFFFFFF
        if PAUSE_MS < ahead < 0x80000000:  # sound resumed after a pause: keep the pause
            parts.append(np.zeros((ahead * rate // 1000, channels), np.int16))
            expected = float(chunk.time)
        parts.append(chunk.pcm)
        expected += chunk.duration_ms
    return np.concatenate(parts)


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    """16-bit little-endian PCM WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, collect playback for ``--seconds``, write the WAV and a one-line summary."""
    path = _check_args(args)
    async with open_session(args, audio=True) as session:
        session.events().close()  # nobody reads the events: the playback buffer is read instead
        chunks = await capture(session, args.seconds)
    print(f"{path}: {save_wav(path, chunks)}", file=out, flush=True)
    return ExitCode.OK


def save_wav(path: Path, chunks: list[AudioChunk]) -> str:
    """Write the chunks (see :func:`assemble`) as a WAV file; what it holds, in words.
    A file that cannot be written is a UsageError."""
    pcm = assemble(chunks)
    rate = chunks[0].rate if chunks else 48000
    try:
        write_wav(path, pcm, rate)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return f"{len(pcm) / rate:.2f} s, {pcm.shape[1]} ch, {rate} Hz" if chunks else "no sound played"
