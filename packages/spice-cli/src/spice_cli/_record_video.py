"""``spice record URI OUT.mp4``: the session as a video, frames taken when the screen changes.

A frame is encoded when the display changes (never by a fixed sampler), stamped with the
time it changed (milliseconds since the first picture), at most ``--fps`` a second: a
change sooner than 1/fps after the last frame is taken once that interval has passed, so
the newest picture always ends up in the video.  H.264 (``.mp4``, ``.mkv``) or VP9
(``.webm``; ``--codec`` overrides) through PyAV; the guest's sound as AAC (MP4) or Opus
when the server has a playback channel.  It ends after ``--duration`` seconds, on Ctrl+C
or SIGTERM, or when the server closes the session; the last picture is held until then,
so the video lasts as long as the recording did.  A progress line goes to a terminal's
stderr; the summary to stdout.  Other clients may use the server meanwhile.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np
import numpy.typing as npt
import spice_session as ss
import trio
from spice_proto import ChannelType

from ._commands import HELP
from ._exitcodes import ExitCode
from ._record_audio import keep_sound
from ._run import UsageError, add_connection_args, check_connection_args, open_session

__all__ = ["CODECS", "VideoWriter", "add_parser", "check_video_path", "record", "record_screen", "run"]

#: Codec name -> PyAV encoder.
CODECS = {"h264": "libx264", "vp9": "libvpx-vp9"}
_MS = Fraction(1, 1000)


class VideoWriter:
    """A PyAV container with one video stream (and maybe one audio stream), fed in real time."""

    def __init__(self, path: Path, codec: str, width: int, height: int, audio_rate: int | None) -> None:
        try:
            import av
        except ImportError:
            raise UsageError("spice record needs PyAV: pip install av") from None
        self._av = av
        try:
            self.container: Any = cast(Any, av.open(str(path), mode="w"))
        except (OSError, av.FFmpegError) as exc:
            raise UsageError(f"cannot write {path}: {exc}") from None
        self.width, self.height = width + width % 2, height + height % 2  # 4:2:0 wants even sizes
        self.video: Any = self.container.add_stream(CODECS[codec], rate=30)
        self.video.width, self.video.height = self.width, self.height
        self.video.pix_fmt = "yuv420p"
        self.video.time_base = _MS
        self.video.codec_context.time_base = _MS
        if codec == "h264":
            self.video.options = {"preset": "veryfast", "crf": "18", "tune": "zerolatency"}
        else:
            self.video.options = {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"}
        self.audio: Any = None
        if audio_rate is not None:
            name = "aac" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else "libopus"
            self.audio = self.container.add_stream(name, rate=48000 if name == "libopus" else audio_rate)
            self.audio.layout = "stereo"
        self._lock = threading.Lock()  # video frames are encoded in a worker thread, sound here
        self.frames = 0
        self.last_pts = -1
        self.audio_samples = 0

    def add(self, rgb: npt.NDArray[np.uint8], ms: int) -> None:
        """One picture shown from ``ms`` on (a later ``ms`` than the previous picture's)."""
        if ms <= self.last_pts:
            ms = self.last_pts + 1
        h, w = rgb.shape[:2]
        if (w, h) != (self.width, self.height):  # odd size or a resize: pad or crop to the stream's
            canvas = np.zeros((self.height, self.width, 3), np.uint8)
            canvas[: min(h, self.height), : min(w, self.width)] = rgb[: self.height, : self.width]
            rgb = canvas
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = ms
        frame.time_base = _MS
        with self._lock:
            for packet in self.video.encode(frame):
                self.container.mux(packet)
            self.frames += 1
            self.last_pts = ms

    def add_audio(self, pcm: npt.NDArray[np.int16], rate: int, ms: int) -> None:
        """Stereo (or mono) int16 sound that had arrived ``ms`` after the first picture."""
        if self.audio is None or len(pcm) == 0:
            return
        if pcm.shape[1] == 1:
            pcm = np.repeat(pcm, 2, axis=1)
        pcm = pcm[:, :2]
        behind = ms * rate // 1000 - len(pcm) - self.audio_samples
        if behind > rate // 10:  # before the first sound, or a pause (STOP): silence keeps A/V in step
            pcm = np.concatenate([np.zeros((behind, 2), np.int16), pcm])
        interleaved = np.ascontiguousarray(pcm[:, :2]).reshape(1, -1)
        frame = self._av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
        frame.sample_rate = rate
        frame.pts = self.audio_samples
        frame.time_base = Fraction(1, rate)
        self.audio_samples += len(pcm)
        with self._lock:
            for packet in self.audio.encode(frame):
                self.container.mux(packet)

    def close(self) -> None:
        with self._lock:
            for stream in (self.video, self.audio):
                if stream is not None:
                    for packet in stream.encode(None):
                        self.container.mux(packet)
            self.container.close()


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "record",
        help=HELP["record"],
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument("output", metavar="OUT.mp4", help="the video file (.mp4, .mkv: H.264; .webm: VP9)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl+C)")
    p.add_argument(
        "--fps", type=float, default=30.0, metavar="N", help="at most N frames a second (default 30)"
    )
    p.add_argument("--codec", choices=sorted(CODECS), help="video codec (default: by the file's extension)")
    p.add_argument("--no-audio", action="store_true", help="leave the sound out")
    p.set_defaults(command=run)


def check_video_path(output: str) -> str:
    """The codec a file name asks for (``h264`` or ``vp9``); :class:`UsageError` for others."""
    suffix = Path(output).suffix.lower()
    if suffix == ".webm":
        return "vp9"
    if suffix in (".mp4", ".m4v", ".mov", ".mkv"):
        return "h264"
    raise UsageError(f"{output}: unknown video format (use .mp4, .mkv or .webm)")


def _codec(args: argparse.Namespace) -> str:
    return str(args.codec) if args.codec else check_video_path(args.output)


async def record_screen(session: ss.Session, output: str, fps: float = 30.0, *, sound: bool = True) -> None:
    """Record the screen into ``output`` until cancelled, with the guest's sound when ``sound``
    and the session has a playback channel (its jitter buffer gets every decoded chunk, so a
    viewer playing the same chunks from the session's events loses none to the recording)."""
    codec = check_video_path(output)

    def writer_for(width: int, height: int, audio_rate: int | None) -> VideoWriter:
        return VideoWriter(Path(output), codec, width, height, audio_rate)

    await record(session, writer_for, None, fps, None, [], sound=sound)


async def record(
    session: ss.Session,
    writer_for: Any,
    duration: float | None,
    fps: float,
    progress: TextIO | None,
    made: list[VideoWriter],
    *,
    sound: bool = True,
) -> None:
    """Record until ``duration`` passes or the caller is cancelled; the writer goes into ``made``."""
    first = await session.screenshot(timeout=30.0)
    start = trio.current_time()
    audio = sound and (ChannelType.PLAYBACK, 0) in session.opened
    writer: VideoWriter = writer_for(first.width, first.height, 48000 if audio else None)
    made.append(writer)
    writer.add(first.to_rgb(), 0)
    interval = 1.0 / fps
    last = start
    try:
        with trio.move_on_after(duration if duration is not None else float("inf")):
            async with trio.open_nursery() as nursery:
                if audio:
                    nursery.start_soon(_pump_audio, session, writer, start)
                if progress is not None:
                    nursery.start_soon(_progress, writer, start, progress)
                while True:
                    await session.display_changed()
                    wait = last + interval - trio.current_time()
                    if wait > 0:
                        await trio.sleep(wait)
                    picture = session.picture()
                    if picture is None:
                        continue
                    last = trio.current_time()
                    rgb = picture.to_rgb()
                    await trio.to_thread.run_sync(writer.add, rgb, round((last - start) * 1000))
    finally:
        with trio.CancelScope(shield=True):
            end = trio.current_time()
            picture = session.picture()
            if picture is not None:  # hold the last picture to the end: the real duration
                writer.add(picture.to_rgb(), round((end - start) * 1000))
            await trio.to_thread.run_sync(writer.close)
            if progress is not None:
                progress.write("\n")


async def _pump_audio(session: ss.Session, writer: VideoWriter, start: float) -> None:
    with keep_sound(session):  # a late read loses nothing
        while True:
            for chunk in session.playback.jitter.drain():
                writer.add_audio(chunk.pcm, chunk.rate, round((trio.current_time() - start) * 1000))
            await trio.sleep(0.05)


async def _progress(writer: VideoWriter, start: float, err: TextIO) -> None:
    while True:
        err.write(f"\rrecording {trio.current_time() - start:6.1f} s, {writer.frames} frames ")
        err.flush()
        await trio.sleep(0.5)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    check_connection_args(args)
    codec = _codec(args)
    if args.duration is not None and not 0 < args.duration <= 86400:
        raise UsageError("--duration must be in (0, 86400] seconds")
    if not 0 < args.fps <= 240:
        raise UsageError("--fps must be in (0, 240]")
    path = Path(args.output)

    def writer_for(width: int, height: int, audio_rate: int | None) -> VideoWriter:
        return VideoWriter(path, codec, width, height, None if args.no_audio else audio_rate)

    progress = sys.stderr if sys.stderr.isatty() else None
    async with open_session(args, audio=not args.no_audio) as session:
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                result: list[VideoWriter] = []

                async def recording() -> None:
                    await record(session, writer_for, args.duration, args.fps, progress, result)
                    nursery.cancel_scope.cancel()

                async def on_sigterm() -> None:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()

                async def until_closed() -> None:
                    async for event in session.events():  # nothing else reads them
                        if isinstance(event, ss.events.SessionClosed):
                            nursery.cancel_scope.cancel()

                nursery.start_soon(recording)
                nursery.start_soon(on_sigterm)
                nursery.start_soon(until_closed)
    writer = result[0] if result else None
    if writer is not None:
        seconds = writer.last_pts / 1000
        sound = ", with sound" if writer.audio is not None else ""
        print(
            f"{path}: {seconds:.2f} s, {writer.frames} frames, {codec} {writer.width}x{writer.height}{sound}",
            file=out,
            flush=True,
        )
    return ExitCode.OK
