"""Display sources: where the pixels a server shows come from.

A :class:`FrameSource` owns the current frame (a ``(height, width, 4)`` uint8 numpy
array, bytes in B, G, R, X order: SPICE's 32-bit xRGB surface) and tells its
listeners which rectangles changed.  Listeners are the per-client display pipelines;
they only record the damage, so a source never waits for a client.

Ready-made sources: :class:`Framebuffer` (the application draws into it with
:meth:`Framebuffer.update`), :func:`image_source` (a still image file) and
:class:`spice_server.DemoSource` (an animation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import trio
from spice_proto import Rect

from ._video import DamageHistory

__all__ = [
    "PIXEL_FORMATS",
    "DamageListener",
    "Frame",
    "FrameSource",
    "Framebuffer",
    "ScrollListener",
    "SourceError",
    "image_source",
]

#: A frame: (height, width, 4) uint8, bytes B, G, R, X.
Frame = npt.NDArray[np.uint8]

#: Pixel layouts :meth:`Framebuffer.update` accepts (byte order in memory).
PIXEL_FORMATS = ("bgrx", "bgra", "rgbx", "rgba", "rgb", "bgr")

MAX_SIDE = 8192


class SourceError(ValueError):
    """Pixels, a rectangle or an image file a source cannot use; the message says which and why."""


class _RectLike(Protocol):
    @property
    def left(self) -> int: ...
    @property
    def top(self) -> int: ...
    @property
    def right(self) -> int: ...
    @property
    def bottom(self) -> int: ...


class DamageListener(Protocol):
    """What a source notifies (a client's display pipeline)."""

    def damaged(self, box: Rect) -> None:
        """``box`` of the current frame changed."""

    def resized(self, width: int, height: int) -> None:
        """The frame has a new size; all of it is new."""


class ScrollListener(DamageListener, Protocol):
    """A listener that also understands scrolls (without :meth:`scrolled` it gets damage instead)."""

    def scrolled(self, box: Rect, dx: int, dy: int) -> None:
        """The pixels inside ``box`` moved by ``dx, dy``; the strip they uncovered is unchanged."""


class FrameSource:
    """Base class of display sources: a current frame plus damage notifications.

    Subclasses set the frame with :meth:`_set_frame` and report changes with
    :meth:`_damage`.  :meth:`run` is started by the server in its nursery; an
    animated source overrides it to produce frames (the default does nothing).
    """

    def __init__(self, width: int, height: int) -> None:
        _check_size(width, height)
        self._frame: Frame = np.zeros((height, width, 4), np.uint8)
        self._listeners: list[DamageListener] = []
        #: Counts changes (damage, scrolls, new frames): listeners may memoise per change.
        self.serial = 0
        #: Runs of repeated damage, kept whether or not anyone listens (stream detection).
        self.history = DamageHistory()

    @property
    def width(self) -> int:
        return int(self._frame.shape[1])

    @property
    def height(self) -> int:
        return int(self._frame.shape[0])

    @property
    def frame(self) -> Frame:
        """The current frame (read it, do not write it: use the source's own methods)."""
        return self._frame

    def subscribe(self, listener: DamageListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: DamageListener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def _damage(self, box: Rect) -> None:
        box = box.intersect(Rect.of_size(self.width, self.height))
        if box.empty:
            return
        self.serial += 1
        self.history.record(box)
        for listener in list(self._listeners):
            listener.damaged(box)

    def _scroll(self, box: Rect, dx: int, dy: int) -> None:
        """Move the pixels inside ``box`` by ``dx, dy`` and tell the listeners (a scroll, or damage)."""
        box = box.intersect(Rect.of_size(self.width, self.height))
        dest = box.intersect(box.shifted(dx, dy))
        if dest.empty or (dx == 0 and dy == 0):
            return
        src = dest.shifted(-dx, -dy)
        f = self._frame
        # numpy copies through a temporary when the two views overlap
        f[dest.top : dest.bottom, dest.left : dest.right] = f[src.top : src.bottom, src.left : src.right]
        self.serial += 1
        for listener in list(self._listeners):
            scrolled = getattr(listener, "scrolled", None)
            if scrolled is not None:
                scrolled(box, dx, dy)
            else:
                listener.damaged(dest)

    def _set_frame(self, frame: Frame) -> None:
        """Replace the whole frame (any size); listeners see a resize or full damage."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 4:
            raise SourceError(f"a frame is (height, width, 4) uint8, got {frame.dtype} {frame.shape}")
        _check_size(frame.shape[1], frame.shape[0])
        resized = frame.shape != self._frame.shape
        self._frame = np.ascontiguousarray(frame)
        self.serial += 1
        if resized:
            self.history.clear()
        else:
            self.history.record(Rect.of_size(self.width, self.height))
        for listener in list(self._listeners):
            if resized:
                listener.resized(self.width, self.height)
            else:
                listener.damaged(Rect.of_size(self.width, self.height))

    async def run(self) -> None:
        """Produce frames until cancelled (the server runs this); the default source is passive."""
        await trio.sleep_forever()


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise SourceError(f"frame size {width}x{height}: each side must be 1..{MAX_SIDE}")


def to_bgrx(pixels: Any, width: int, height: int, fmt: str) -> Frame:
    """``pixels`` (bytes-like or a numpy array) in layout ``fmt`` as a (height, width, 4) BGRX array."""
    arr: Frame = _pixel_array(pixels, width, height, fmt)
    if fmt in ("bgrx", "bgra"):
        return arr
    out = np.empty((height, width, 4), np.uint8)
    _put_bgr(out, arr, fmt)
    return out


def _put_bgr(dest: Frame, arr: Any, fmt: str) -> None:
    """Write the B, G, R bytes of ``arr`` (layout ``fmt``, same height and width) into ``dest``
    (its X bytes become 0).

    One pass of 32-bit words: each source pixel read as the word starting at its first byte
    (big-endian for RGB orders, so a shift puts B, G, R in place; little-endian for BGR
    orders, masked), written straight into the frame.  A 3-byte pixel's word takes one byte
    of the next pixel, so a row's last pixel is read from the byte before it instead (then
    masked for RGB, shifted for BGR); arrays laid out otherwise go channel by channel.
    """
    h, w, channels = arr.shape
    rgb_order = fmt in ("rgbx", "rgba", "rgb")
    if not arr.flags.c_contiguous or dest.strides[2] != 1 or (channels == 3 and w < 2):
        _put_bgr_channels(dest, arr, rgb_order)
        return
    words = dest.view("<u4")[:, :, 0]
    order = ">u4" if rgb_order else "<u4"
    if channels == 4:
        src = arr.view(order)[:, :, 0]
    else:
        w -= 1  # all but each row's last pixel
        src = np.ndarray((h, w), order, arr, 0, (arr.strides[0], 3))
        last = np.ndarray((h, 1), order, arr, 3 * w - 1, (arr.strides[0], 4))
        if rgb_order:
            np.bitwise_and(last, 0x00FFFFFF, out=words[:, w:])  # x R G B
        else:
            np.right_shift(last, 8, out=words[:, w:])  # x B G R, little-endian
    if rgb_order:
        np.right_shift(src, 8, out=words[:, :w])  # R G B x -> 0 R G B: bytes B G R 0
    else:
        np.bitwise_and(src, 0x00FFFFFF, out=words[:, :w])


def _put_bgr_channels(dest: Frame, arr: Any, rgb_order: bool) -> None:
    """:func:`_put_bgr` one strided copy per channel."""
    order = (2, 1, 0) if rgb_order else (0, 1, 2)
    for channel, source in enumerate(order):
        dest[:, :, channel] = arr[:, :, source]
    dest[:, :, 3] = 0


def _pixel_array(pixels: Any, width: int, height: int, fmt: str) -> Any:
    """``pixels`` as a (height, width, channels) uint8 array of layout ``fmt`` (no copy)."""
    if fmt not in PIXEL_FORMATS:
        raise SourceError(f"unknown pixel format {fmt!r}; use one of {', '.join(PIXEL_FORMATS)}")
    channels = 3 if fmt in ("rgb", "bgr") else 4
    if isinstance(pixels, np.ndarray):
        arr = pixels
        if arr.dtype != np.uint8:
            raise SourceError(f"pixel array must be uint8, got {arr.dtype}")
        if arr.shape == (height, width * channels) or arr.shape == (height * width * channels,):
            arr = arr.reshape(height, width, channels)
        if arr.shape != (height, width, channels):
            raise SourceError(
                f"pixel array has shape {arr.shape}, a {width}x{height} {fmt} area needs "
                f"{(height, width, channels)}"
            )
    else:
        try:
            raw = memoryview(pixels).cast("B")
        except TypeError as exc:
            raise SourceError(f"pixels must be bytes-like or a numpy array: {exc}") from None
        need = width * height * channels
        if raw.nbytes != need:
            raise SourceError(
                f"{raw.nbytes} bytes of pixels, a {width}x{height} {fmt} area needs {need} "
                f"(tightly packed rows of {width * channels} bytes)"
            )
        arr = np.frombuffer(raw, np.uint8).reshape(height, width, channels)
    return arr


class Framebuffer(FrameSource):
    """A frame the application draws into.

    >>> fb = Framebuffer(640, 480)
    >>> fb.update(bytes(4 * 10 * 10), spice_proto.Rect(0, 0, 10, 10))  # a black 10x10 square, BGRX
    """

    def update(self, pixels: Any, rect: _RectLike | None = None, *, format: str = "bgrx") -> None:
        """Copy ``pixels`` into ``rect`` (default: the whole frame) and notify the clients.

        ``pixels`` is bytes-like (tightly packed rows) or a numpy uint8 array of shape
        ``(h, w, channels)``; ``format`` is its byte order (see :data:`PIXEL_FORMATS`).
        """
        box = Rect.of_size(self.width, self.height) if rect is None else _box(rect)
        if box.empty or not Rect.of_size(self.width, self.height).contains(box):
            raise SourceError(
                f"rectangle {box.left},{box.top}-{box.right},{box.bottom} is empty or outside "
                f"the {self.width}x{self.height} frame"
            )
        src = _pixel_array(pixels, box.width, box.height, format)
        if np.may_share_memory(src, self._frame):
            src = np.array(src)  # channel by channel from an overlapping area would read written bytes
        _put_bgr(self._frame[box.top : box.bottom, box.left : box.right], src, format)
        self._damage(box)

    def fill(self, rgb: tuple[int, int, int], rect: _RectLike | None = None) -> None:
        """Paint ``rect`` (default: everything) with one colour."""
        box = Rect.of_size(self.width, self.height) if rect is None else _box(rect)
        box = box.intersect(Rect.of_size(self.width, self.height))
        if box.empty:
            return
        r, g, b = rgb
        self._frame[box.top : box.bottom, box.left : box.right] = (b, g, r, 0)
        self._damage(box)

    def scroll(self, dx: int, dy: int, rect: _RectLike | None = None) -> None:
        """Move the pixels inside ``rect`` (default: everything) by ``dx, dy``.

        Pixels moved past the edge of ``rect`` are gone; the strip uncovered keeps its old
        pixels, so draw it next with :meth:`update`.  Clients that can follow get a
        COPY_BITS instead of the whole area again.
        """
        box = Rect.of_size(self.width, self.height) if rect is None else _box(rect)
        if not Rect.of_size(self.width, self.height).contains(box) or box.empty:
            raise SourceError(
                f"scroll rectangle {box.left},{box.top}-{box.right},{box.bottom} is empty or outside "
                f"the {self.width}x{self.height} frame"
            )
        self._scroll(box, int(dx), int(dy))

    def resize(self, width: int, height: int) -> None:
        """A new, black frame of another size (clients get a new surface)."""
        _check_size(width, height)
        self._set_frame(np.zeros((height, width, 4), np.uint8))


def _box(rect: _RectLike) -> Rect:
    try:
        return Rect(int(rect.left), int(rect.top), int(rect.right), int(rect.bottom))
    except AttributeError:
        raise SourceError(
            f"rect must have left, top, right, bottom (such as a spice_proto.Rect), got {rect!r}"
        ) from None


def image_source(path: str | Path) -> Framebuffer:
    """A :class:`Framebuffer` showing the image file at ``path`` (any format Pillow reads)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - depends on the installation
        raise SourceError("reading image files needs Pillow: pip install 'spice-server[image]'") from None
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise SourceError(f"cannot read image {str(path)!r}: {exc}") from None
    width, height = rgb.size
    fb = Framebuffer(width, height)
    fb.update(np.asarray(rgb, np.uint8), format="rgb")
    return fb
