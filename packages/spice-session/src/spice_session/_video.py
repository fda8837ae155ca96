"""Video stream decoders: MJPEG with simplejpeg, VP8/VP9/H.264/H.265 with PyAV when installed.

A stream whose codec has no decoder here is refused with :class:`StreamError`; the codecs
this client decodes decide the display capabilities it advertises.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import simplejpeg  # type: ignore[import-untyped]
from spice_proto import DisplayCap, Payload, VideoCodecType

from ._budget import MemoryBudget
from ._errors import StreamError

__all__ = [
    "MAX_FRAME_SIDE",
    "AvDecoder",
    "Frame",
    "FrameBuffers",
    "MjpegDecoder",
    "VideoDecoder",
    "available_codecs",
    "make_decoder",
    "stream_display_caps",
]

#: Largest decoded frame side accepted (the SPICE server streams at most screen-sized areas).
MAX_FRAME_SIDE = 1 << 14

Frame = npt.NDArray[np.uint8]

_AV_CODECS: dict[VideoCodecType, tuple[str, DisplayCap]] = {
    VideoCodecType.VP8: ("vp8", DisplayCap.CODEC_VP8),
    VideoCodecType.VP9: ("vp9", DisplayCap.CODEC_VP9),
    VideoCodecType.H264: ("h264", DisplayCap.CODEC_H264),
    VideoCodecType.H265: ("hevc", DisplayCap.CODEC_H265),
}


class FrameBuffers(Protocol):
    """Where an application wants decoded MJPEG frames written (a viewer's shared memory
    that the display server reads from directly, say).

    :meth:`allocate` gives a writable, C-contiguous (height, width, 4) uint8 array, or
    ``None`` to let the decoder allocate as usual.  The array is the frame the session hands
    on (``Damage.pixels``, a surface's kept-back frame), so its memory must stay the
    frame's for as long as anything refers to it.
    """

    def allocate(self, height: int, width: int) -> Frame | None: ...


class VideoDecoder(Protocol):
    """Turns the encoded frames of one stream into (height, width, 4) uint8 BGRX arrays."""

    #: Whether every frame's fourth byte is already 255 (then placing it is a plain copy).
    opaque: bool

    def decode(self, data: Payload) -> list[Frame]: ...

    def close(self) -> None: ...


class MjpegDecoder:
    """MJPEG: every frame is a complete JPEG (libjpeg-turbo through simplejpeg).

    The size a JPEG header claims is checked against ``budget`` before it is decoded.  Decoded
    as spice-gtk's MJPEG decoder does: the fast integer DCT, no fancy upsampling (a quarter
    less time than libjpeg's defaults, and closer to remote-viewer's picture).

    With ``size``, the (width, height) the stream's frames have (its STREAM_CREATE says so, and
    paid for them), a frame is decoded straight into a buffer of the size the last frame had,
    the header read once: libjpeg-turbo refuses a buffer too small for the picture, and such a
    frame (or one that does not decode) takes the checked way above.  Frames larger than the
    stream paid for always take that way (no buffer of the paid size asked for them first).
    """

    #: libjpeg-turbo fills the X of BGRX with 255.
    opaque = True

    def __init__(
        self,
        budget: MemoryBudget | None = None,
        buffers: FrameBuffers | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.budget = budget if budget is not None else MemoryBudget()
        #: Where frames are decoded into (``None``: arrays of their own).
        self.buffers = buffers
        width, height = size if size is not None else (0, 0)
        if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
            width = height = 0
        #: Pixels a frame the stream paid for has (0: none said).
        self.paid = width * height
        #: The (width, height) the next frame is expected to have (the last one's, while no
        #: larger than what was paid for); (0, 0): none, the header is read first.
        self.size = (width, height)

    def decode(self, data: Payload) -> list[Frame]:
        expected = self.size
        failed = ""
        out: Frame | None
        if expected[0]:  # one pass through the header, into a buffer of the expected size
            width, height = expected
            try:
                out = self._lent(height, width)
                if out is None:  # one of ours: no larger than the stream paid for
                    out = np.empty((height, width, 4), np.uint8)
                frame: Frame = simplejpeg.decode_jpeg(
                    data, colorspace="BGRX", fastdct=True, fastupsample=True, buffer=out
                )
            except ValueError as exc:  # larger than expected, or broken: its header says which
                out, failed = None, str(exc)
            else:
                if frame.shape[0] != height or frame.shape[1] != width:  # smaller: the next
                    self.size = (frame.shape[1], frame.shape[0])  # ones get buffers of its size
                return [frame]
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
            if failed and (width, height) == expected:
                raise ValueError(failed)  # (that size was tried: the frame is broken)
            if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
                raise ValueError(f"its header says {width}x{height}")
            self.budget.check(4 * width * height, f"MJPEG frame of {width}x{height}")
            out = self._lent(height, width)
            frame = simplejpeg.decode_jpeg(
                data, colorspace="BGRX", fastdct=True, fastupsample=True, buffer=out
            )
        except ValueError as exc:
            out = None  # (the error's traceback keeps this frame: a lent buffer goes back now)
            raise StreamError(f"MJPEG frame of {len(data)} bytes does not decode: {exc}") from None
        if self.paid:  # the size the next frame is decoded in one pass at, if paid for
            self.size = (width, height) if width * height <= self.paid else (0, 0)
        return [frame]

    def _lent(self, height: int, width: int) -> Frame | None:
        """A buffer :attr:`buffers` lends for a frame of that size, checked; ``None``: none."""
        out = self.buffers.allocate(height, width) if self.buffers is not None else None
        if out is not None:
            _check_buffer(out, height, width)
        return out

    def close(self) -> None:
        pass


def _check_buffer(out: Frame, height: int, width: int) -> None:
    """Refuse (``TypeError``: the application's mistake, not the stream's) an array
    :meth:`FrameBuffers.allocate` gave that is not a writable contiguous frame of the size."""
    if (
        out.shape != (height, width, 4)
        or out.dtype != np.uint8
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        raise TypeError(
            f"FrameBuffers.allocate({height}, {width}) gave a {out.dtype} array of shape {out.shape}"
            f" (contiguous {out.flags.c_contiguous}, writable {out.flags.writeable}); a writable"
            f" C-contiguous ({height}, {width}, 4) uint8 array is needed"
        )


class AvDecoder:
    """VP8 / VP9 / H.264 / H.265 through PyAV; one packet per STREAM_DATA."""

    #: FFmpeg's conversion from YUV without alpha to BGRA writes alpha 255.
    opaque = True

    def __init__(self, codec_name: str) -> None:
        try:
            av = importlib.import_module("av")
            context = av.CodecContext.create(codec_name, "r")
        except Exception as exc:  # PyAV or its decoder went since the codecs were cached
            _forget_cache()
            raise StreamError(f"no {codec_name} decoder in PyAV: {exc}") from None
        self._av: Any = av
        self.codec_name = codec_name
        self._context: Any = context

    def decode(self, data: Payload) -> list[Frame]:
        try:
            frames = self._context.decode(self._av.Packet(data))
            return [np.ascontiguousarray(f.to_ndarray(format="bgra")) for f in frames]
        except self._av.FFmpegError as exc:
            raise StreamError(
                f"{self.codec_name} frame of {len(data)} bytes does not decode: {exc}"
            ) from None

    def close(self) -> None:
        self._context = None


#: Where the PyAV probe's answer is kept between runs (under ``$XDG_CACHE_HOME``).
CACHE_NAME = "spice-python/video-decoders.json"


@functools.cache
def _av_codecs() -> dict[VideoCodecType, str]:
    """The PyAV decoders available here (empty without the ``video`` extra).

    Finding out means importing PyAV and FFmpeg (~80 ms, on the way to the display
    channel's link, whose capabilities name them): the answer is kept in a cache file for
    as long as the PyAV installation it came from stays as it is."""
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return {}
    try:
        info = os.stat(spec.origin)
    except OSError:
        return {}
    key = f"{spec.origin}|{info.st_mtime_ns}|{info.st_size}"
    by_name = {name: codec for codec, (name, _) in _AV_CODECS.items()}
    cached = _read_cache(key)
    if cached is not None and all(name in by_name for name in cached):
        return {by_name[name]: name for name in cached}
    found = _probe_av()
    _write_cache(key, sorted(found.values()))
    return found


def _probe_av() -> dict[VideoCodecType, str]:
    try:
        av: Any = importlib.import_module("av")
    except ImportError:
        return {}
    found: dict[VideoCodecType, str] = {}
    for codec, (name, _) in _AV_CODECS.items():
        try:
            av.codec.Codec(name, "r")
        except Exception:  # this FFmpeg build lacks the decoder
            continue
        found[codec] = name
    return found


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / CACHE_NAME


def _read_cache(key: str) -> list[str] | None:
    try:
        data = json.loads(_cache_file().read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    names = data.get("decoders")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def _write_cache(key: str, names: list[str]) -> None:
    """Keep the answer (a cache: a failure to write it is no error)."""
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"key": key, "decoders": names}), "utf-8")
        os.replace(temporary, path)
    except OSError:
        pass


def _forget_cache() -> None:
    """The cached answer was wrong (a decoder it named is gone): ask PyAV again next time."""
    _av_codecs.cache_clear()
    try:
        _cache_file().unlink()
    except OSError:
        pass


def available_codecs() -> frozenset[VideoCodecType]:
    """The stream codecs this client decodes: MJPEG always, the others with PyAV installed."""
    return frozenset({VideoCodecType.MJPEG, *_av_codecs()})


def stream_display_caps() -> tuple[DisplayCap, ...]:
    """Display channel capabilities for streams: sized frames, reports, and one per decodable codec."""
    caps = [DisplayCap.SIZED_STREAM, DisplayCap.STREAM_REPORT, DisplayCap.MULTI_CODEC, DisplayCap.CODEC_MJPEG]
    caps += [_AV_CODECS[c][1] for c in sorted(_av_codecs())]
    return tuple(caps)


def make_decoder(
    codec: int,
    budget: MemoryBudget | None = None,
    buffers: FrameBuffers | None = None,
    size: tuple[int, int] | None = None,
) -> VideoDecoder:
    """A decoder for ``codec`` (MJPEG frames into ``buffers`` when given, expected to be ``size``
    (width, height) when given); :class:`StreamError` when this client has none."""
    if codec == VideoCodecType.MJPEG:
        return MjpegDecoder(budget, buffers, size)
    try:
        known = VideoCodecType(codec)
    except ValueError:
        raise StreamError(f"no decoder for unknown codec {codec}") from None
    name = _av_codecs().get(known)
    if name is None:
        raise StreamError(f"no decoder for {known.name} (install spice-session[video] for PyAV)")
    return AvDecoder(name)
