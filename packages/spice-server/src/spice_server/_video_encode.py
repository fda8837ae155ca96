"""Stream frame encoders (sans-I/O): MJPEG always, VP8, VP9 and H.264 with PyAV.

One encoder per stream; its frames are encoded one at a time, in order (any thread).
The PyAV encoders run without look-ahead (one packet out per frame in) and take their
bit rate from the stream's JPEG-style quality, which the client's STREAM_REPORTs steer
(:class:`~._video.RateController`): when the wanted rate moves by more than a quarter the
encoder starts afresh (its next frame is a key frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache, partial
from typing import Any, Protocol

import numpy as np
from spice_proto import Rect, VideoCodecType

from ._compress import encode_mjpeg
from ._shared import SharedEncodes
from ._source import Frame

__all__ = [
    "AvStreamEncoder",
    "MjpegStreamEncoder",
    "StreamEncoder",
    "bit_rate",
    "encodable_codecs",
    "fits_codec",
    "make_stream_encoder",
    "parse_video_codecs",
]

_NAMES = {
    "mjpeg": VideoCodecType.MJPEG,
    "h264": VideoCodecType.H264,
    "vp8": VideoCodecType.VP8,
    "vp9": VideoCodecType.VP9,
}

#: PyAV (FFmpeg) encoder names, with the options that keep them frame-in, packet-out.
#: libvpx on one thread: FFmpeg's default (a thread per core) makes VP8's row threads
#: spin-wait for each other, 5-10x the CPU of one thread for a worse picture (VP9: ~10 %
#: more CPU); the server runs several streams' encodes in parallel instead.
_VPX = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "threads": "1"}
_AV: dict[VideoCodecType, tuple[str, dict[str, str]]] = {
    VideoCodecType.VP8: ("libvpx", _VPX),
    VideoCodecType.VP9: ("libvpx-vp9", _VPX),
    VideoCodecType.H264: ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}),
}


class StreamEncoder(Protocol):
    def encode(self, frame: Frame, box: Rect, quality: int) -> bytes:
        """The area ``box`` of a BGRX ``frame`` as the stream's next frame (may be empty: dropped)."""


@cache
def encodable_codecs() -> frozenset[VideoCodecType]:
    """The stream codecs this server encodes: MJPEG, plus those PyAV has an encoder for."""
    out = {VideoCodecType.MJPEG}
    try:
        import av
    except ImportError:  # pragma: no cover - depends on the installation
        return frozenset(out)
    for codec, (name, _) in _AV.items():
        try:
            av.codec.Codec(name, "w")
        except Exception:  # FFmpeg builds differ: any failure means "not here"
            continue
        out.add(codec)
    return frozenset(out)


def parse_video_codecs(codecs: Sequence[str | VideoCodecType] | None) -> tuple[VideoCodecType, ...]:
    """A server's ``video_codecs`` setting: names (``mjpeg``, ``h264``, ``vp8``, ``vp9``) or
    :class:`VideoCodecType`, in order of preference; ``None``: all four in that order.

    :class:`ValueError` names a codec that is unknown or that this installation cannot encode.
    """
    if codecs is None:
        order = (VideoCodecType.MJPEG, VideoCodecType.H264, VideoCodecType.VP8, VideoCodecType.VP9)
        return tuple(c for c in order if c in encodable_codecs())
    out: list[VideoCodecType] = []
    for item in codecs:
        codec = _NAMES.get(item.lower()) if isinstance(item, str) else item
        if codec is None or codec not in _NAMES.values():
            raise ValueError(f"unknown video codec {item!r}; use some of {', '.join(_NAMES)}")
        if codec not in encodable_codecs():
            raise ValueError(f"cannot encode {codec.name} streams here (install PyAV with FFmpeg's encoder)")
        if codec not in out:
            out.append(codec)
    return tuple(out)


def fits_codec(codec: VideoCodecType, box: Rect) -> bool:
    """Whether ``codec`` can stream an area of this size (H.264 in 4:2:0 needs even sides)."""
    if codec is VideoCodecType.H264:
        return box.width % 2 == 0 and box.height % 2 == 0
    return True


def bit_rate(width: int, height: int, fps: float, quality: int) -> int:
    """Bits a second for a ``width`` x ``height`` stream at ``fps`` and JPEG-style ``quality``."""
    bits_per_pixel = 0.02 + 0.2 * (max(1, min(quality, 100)) / 100) ** 2
    return max(20_000, int(width * height * fps * bits_per_pixel))


class MjpegStreamEncoder:
    """Every frame a baseline JPEG: a function of the pixels and the quality, so with
    ``shared`` (the source's) clients streaming the same box at the same quality share it."""

    def __init__(self, shared: SharedEncodes | None = None) -> None:
        self.shared = shared

    def encode(self, frame: Frame, box: Rect, quality: int) -> bytes:
        if self.shared is None:
            return encode_mjpeg(frame, box, quality)
        data: bytes = self.shared.live(
            frame, box, ("mjpeg", quality), partial(encode_mjpeg, frame, box, quality)
        )
        return data


class AvStreamEncoder:
    """VP8, VP9 or H.264 through PyAV, frames in 4:2:0 at the stream's current size."""

    def __init__(self, codec: VideoCodecType, fps: float) -> None:
        if codec not in _AV:
            raise ValueError(f"no PyAV encoder for {codec.name}")
        self.codec = codec
        self.fps = max(1, round(fps))
        self._ctx: Any = None
        self._size = (0, 0)
        self._rate = 0
        self._pts = 0
        self._reformatter: Any = None  # keeps swscale's context from frame to frame
        #: Encoders started (the first, then one per size or rate change or :meth:`restart`).
        self.opened = 0
        #: The last frame encoded was a key frame.
        self.key = False

    def _open(self, width: int, height: int, rate: int) -> None:
        import av

        name, options = _AV[self.codec]
        ctx: Any = av.CodecContext.create(name, "w")  # a VideoCodecContext
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, self.fps)
        ctx.framerate = Fraction(self.fps)
        ctx.bit_rate = rate
        ctx.gop_size = 10 * self.fps
        ctx.options = dict(options)
        ctx.open()
        self._ctx, self._size, self._rate, self._pts = ctx, (width, height), rate, 0
        self.opened += 1

    def restart(self) -> None:
        """Start afresh: the next frame is a key frame (no reference to the frames before it)."""
        self._ctx = None

    def encode(self, frame: Frame, box: Rect, quality: int) -> bytes:
        import av

        if not fits_codec(self.codec, box):
            raise ValueError(f"{self.codec.name} cannot stream a {box.width}x{box.height} area")
        rate = bit_rate(box.width, box.height, self.fps, quality)
        size = (box.width, box.height)
        if self._ctx is None or size != self._size or abs(rate - self._rate) * 4 > self._rate:
            self._open(box.width, box.height, rate)
        if self._reformatter is None:
            from av.video.reformatter import VideoReformatter

            self._reformatter = VideoReformatter()
        # the box read in place (rows a frame's stride apart), B, G, R, X as BGRA: swscale
        # converts it to 4:2:0 in one pass, dropping the X byte
        pixels = frame[box.top : box.bottom, box.left : box.right]
        if pixels.strides[1:] != (4, 1) or pixels.strides[0] <= 0:  # not a frame's usual layout
            pixels = np.ascontiguousarray(pixels)
        picture = self._reformatter.reformat(
            av.VideoFrame.from_numpy_buffer(pixels, format="bgra"), format="yuv420p"
        )
        picture.pts = self._pts
        self._pts += 1
        packets = self._ctx.encode(picture)
        self.key = any(packet.is_keyframe for packet in packets)
        return b"".join(bytes(packet) for packet in packets)


def make_stream_encoder(
    codec: VideoCodecType, fps: float, shared: SharedEncodes | None = None
) -> StreamEncoder:
    """An encoder for one stream in ``codec`` (one of :func:`encodable_codecs`); MJPEG frames
    are shared through ``shared`` (VP8/VP9/H.264 encoders keep per-stream state: the streams
    share them through :mod:`._video_share` instead)."""
    if codec is VideoCodecType.MJPEG:
        return MjpegStreamEncoder(shared)
    return AvStreamEncoder(codec, fps)
