"""Finding a needle image on the screen: exact and tolerant matching, openQA needles (no I/O but files).

Frames and needles are ``(height, width, 3)`` uint8 RGB arrays.  The score of a
position is ``1 - mean(|frame - needle|) / 255`` over the needle's compared
pixels (exclude areas left out): 1.0 is pixel-exact.  :func:`find` first looks
for an exact occurrence (a few sample pixels filter the candidate positions,
then each survivor is checked whole), then, when a lower threshold allows it,
for the best tolerant one: a coarse sum-of-squared-differences search on
block-averaged grey images (FFT correlation), refined at full resolution
around the best few candidates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from spice_proto.lowlevel import frozen

from ._errors import SessionError

__all__ = [
    "DEFAULT_THRESHOLD",
    "Match",
    "MatchError",
    "Needle",
    "NeedleError",
    "Rect",
    "find",
    "load_needle",
    "score_at",
]

RGB = npt.NDArray[np.uint8]
#: Score a tolerant match must reach unless the needle or the caller says otherwise.
DEFAULT_THRESHOLD = 0.96
#: openQA searches a needle's area within this many pixels of where it was recorded.
OPENQA_MARGIN = 50
_SAMPLES = 12
_CANDIDATES = 6

#: (x, y, width, height)
Rect = tuple[int, int, int, int]


class NeedleError(SessionError, ValueError):
    """A needle that cannot be used: unreadable file, bad JSON, areas outside the image."""


class MatchError(SessionError, TimeoutError):
    """A needle was not found in time; names the best score, where, and the saved frame if any."""

    def __init__(self, message: str, best: Match | None = None, frame_path: Path | None = None) -> None:
        super().__init__(message)
        self.best = best
        self.frame_path = frame_path


@frozen
class Match:
    """Where a needle was found (``x``, ``y``, ``w``, ``h``, screen pixels) and how well (``score`` 0..1)."""

    x: int
    y: int
    w: int
    h: int
    score: float
    needle: str = ""

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@frozen
class Needle:
    """An image to find: pixels, the pixels that count (``mask``), threshold, where to look.

    ``region`` limits the search to a screen rectangle; ``tags`` and ``ocr`` come
    from openQA needle files.  Several needles (openQA's several match areas)
    are in ``also``: all must be found for a match.
    """

    image: RGB
    mask: npt.NDArray[np.bool_] | None = None
    threshold: float = DEFAULT_THRESHOLD
    region: Rect | None = None
    name: str = ""
    tags: tuple[str, ...] = ()
    ocr: tuple[Rect, ...] = ()
    also: tuple[Needle, ...] = field(default=())

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


def as_rgb(image: object, what: str = "image") -> RGB:
    """A ``(h, w, 3)`` uint8 array from an array (RGB, RGBA or grey) or a PIL image."""
    array = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise NeedleError(f"{what}: expected an (h, w, 3) uint8 RGB array, got {array.shape} {array.dtype}")
    return np.ascontiguousarray(array[:, :, :3])


def _read_png(path: Path) -> RGB:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is a test dependency
        raise NeedleError(f"{path}: reading PNG needles needs Pillow (pip install pillow)") from exc
    try:
        with Image.open(path) as image:
            return as_rgb(image, str(path))
    except OSError as exc:
        raise NeedleError(f"{path}: cannot read the image: {exc}") from exc


def _area(entry: object, path: Path, shape: tuple[int, ...]) -> tuple[Rect, str, dict[str, object]]:
    if not isinstance(entry, dict):
        raise NeedleError(f"{path}: each area must be an object, got {entry!r}")
    try:
        rect = tuple(int(entry[k]) for k in ("xpos", "ypos", "width", "height"))
    except (KeyError, TypeError, ValueError) as exc:
        raise NeedleError(f"{path}: area {entry!r} needs integer xpos, ypos, width, height") from exc
    x, y, w, h = rect
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
        raise NeedleError(f"{path}: area {rect} is outside the {shape[1]}x{shape[0]} image")
    return (x, y, w, h), str(entry.get("type", "match")), entry


def load_needle(source: str | Path | Needle | object, threshold: float | None = None) -> Needle:
    """A needle from a PNG, an openQA needle (``.json`` beside its ``.png``), an array or PIL image.

    openQA: each ``match`` area is searched within :data:`OPENQA_MARGIN` pixels of
    where it was recorded (or the area's ``margin``), ``exclude`` areas inside it
    do not count, its ``match`` level (percent) is the threshold; all match areas
    must be found.
    """
    if isinstance(source, Needle):
        return source if threshold is None else _with_threshold(source, threshold)
    if not isinstance(source, str | Path):
        return Needle(as_rgb(source), threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    path = Path(source)
    if path.suffix.lower() != ".json":
        return Needle(
            _read_png(path), threshold=DEFAULT_THRESHOLD if threshold is None else threshold, name=path.name
        )
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NeedleError(f"{path}: not a readable needle JSON: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("area"), list):
        raise NeedleError(f"{path}: a needle JSON needs an 'area' list")
    image = _read_png(path.with_suffix(".png"))
    areas = [_area(entry, path, image.shape) for entry in spec["area"]]
    excludes = [rect for rect, kind, _ in areas if kind == "exclude"]
    ocr = tuple(rect for rect, kind, _ in areas if kind == "ocr")
    tags = tuple(str(t) for t in spec.get("tags", []))
    needles = []
    for (x, y, w, h), kind, entry in areas:
        if kind != "match":
            continue
        mask = np.ones((h, w), bool)
        for ex, ey, ew, eh in excludes:
            mask[max(0, ey - y) : max(0, ey + eh - y), max(0, ex - x) : max(0, ex + ew - x)] = False
        level = float(entry.get("match", 96)) / 100 if threshold is None else threshold  # type: ignore[arg-type]
        margin = int(entry.get("margin", OPENQA_MARGIN))  # type: ignore[call-overload]
        region = (max(0, x - margin), max(0, y - margin), w + 2 * margin, h + 2 * margin)
        part = image[y : y + h, x : x + w].copy()
        needles.append(Needle(part, None if mask.all() else mask, level, region, path.name, tags, ocr))
    if not needles:
        raise NeedleError(f"{path}: no 'match' area")
    first, *rest = needles
    return Needle(first.image, first.mask, first.threshold, first.region, path.name, tags, ocr, tuple(rest))


def _with_threshold(needle: Needle, threshold: float) -> Needle:
    also = tuple(_with_threshold(n, threshold) for n in needle.also)
    return Needle(
        needle.image, needle.mask, threshold, needle.region, needle.name, needle.tags, needle.ocr, also
    )


def score_at(frame: RGB, needle: Needle, x: int, y: int) -> float:
    """The score of ``needle`` with its top-left corner at (x, y) of ``frame``."""
    w, h = needle.size
    patch = frame[y : y + h, x : x + w].astype(np.int16)
    diff = np.abs(patch - needle.image.astype(np.int16))
    if needle.mask is not None:
        diff = diff[needle.mask]
    return 1.0 - float(diff.mean()) / 255.0 if diff.size else 1.0


def _crop(frame: RGB, region: Rect | None) -> tuple[RGB, int, int]:
    height, width = frame.shape[:2]
    if region is None:
        return frame, 0, 0
    x, y, w, h = region
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return frame[y0:y1, x0:x1], x0, y0


def _exact(frame: RGB, needle: Needle) -> tuple[int, int] | None:
    """The first position where every compared pixel of the needle is equal, or ``None``."""
    w, h = needle.size
    height, width = frame.shape[:2]
    if w > width or h > height:
        return None
    image = needle.image
    ys, xs = np.nonzero(needle.mask) if needle.mask is not None else np.indices((h, w)).reshape(2, -1)
    if ys.size == 0:
        return 0, 0
    values = image[ys, xs].astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)
    # sample pixels: the rarest colours of the needle first (background colours filter badly)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = np.argsort(counts[inverse.ravel()], kind="stable")
    picks = order[np.linspace(0, order.size - 1, num=min(_SAMPLES, order.size)).astype(int)]
    first = int(order[0])
    dy, dx = int(ys[first]), int(xs[first])
    span_h, span_w = height - h + 1, width - w + 1
    # one channel over the whole frame, then everything else on the survivors only
    hits = np.flatnonzero(frame[dy : dy + span_h, dx : dx + span_w, 0] == image[dy, dx, 0])
    cy, cx = np.divmod(hits, span_w)
    for pick in (first, *picks.tolist()):
        py, px = int(ys[pick]), int(xs[pick])
        keep = np.all(frame[cy + py, cx + px] == image[py, px], axis=1)
        cy, cx = cy[keep], cx[keep]
        if cy.size == 0:
            return None
    for y, x in zip(cy.tolist(), cx.tolist(), strict=True):
        same = np.all(frame[y : y + h, x : x + w] == image, axis=2)
        if (same[needle.mask] if needle.mask is not None else same).all():
            return x, y
    return None


def _blocks(plane: npt.NDArray[np.uint8] | npt.NDArray[np.uint16], step: int) -> npt.NDArray[np.float32]:
    """Sums of ``step`` x ``step`` blocks of a 2-D array (edges that do not fill a block dropped)."""
    h, w = plane.shape[0] // step * step, plane.shape[1] // step * step
    rows = plane[0:h:step, :w].astype(np.float32)
    for k in range(1, step):
        rows += plane[k:h:step, :w]
    out: npt.NDArray[np.float32] = rows[:, 0:w:step].copy()
    for k in range(1, step):
        out += rows[:, k:w:step]
    return out


def _grey(rgb: RGB) -> npt.NDArray[np.uint16]:
    grey: npt.NDArray[np.uint16] = rgb[:, :, 0].astype(np.uint16)
    grey += rgb[:, :, 1]
    grey += rgb[:, :, 2]
    return grey


def _correlate(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Valid cross-correlation of ``a`` with the smaller ``b`` (FFT)."""
    shape = (a.shape[0] + b.shape[0], a.shape[1] + b.shape[1])
    fa = np.fft.rfft2(a, shape)
    fb = np.fft.rfft2(b[::-1, ::-1], shape)
    full = np.fft.irfft2(fa * fb, shape)
    return full[b.shape[0] - 1 : a.shape[0], b.shape[1] - 1 : a.shape[1]].astype(np.float32)


def _tolerant(frame: RGB, needle: Needle) -> tuple[int, int, float]:
    w, h = needle.size
    step = max(1, min(w, h) // 12)
    f = _blocks(_grey(frame), step)
    n = _blocks(_grey(needle.image), step)
    m = np.full_like(n, step * step) if needle.mask is None else _blocks(needle.mask.astype(np.uint8), step)
    if n.shape[0] > f.shape[0] or n.shape[1] > f.shape[1] or n.size == 0:
        return 0, 0, score_at(frame, needle, 0, 0)
    ssd = _correlate(f * f, m) - 2 * _correlate(f, m * n)  # + sum(m n^2), constant
    best: list[tuple[int, int]] = []
    flat = np.argsort(ssd, axis=None)[: _CANDIDATES * 4]
    for index in flat.tolist():
        cy, cx = divmod(index, ssd.shape[1])
        if all(abs(cy - by) > 1 or abs(cx - bx) > 1 for by, bx in best):
            best.append((cy, cx))
        if len(best) == _CANDIDATES:
            break
    height, width = frame.shape[:2]
    grey_needle = _grey(needle.image).astype(np.int32)
    weight = np.ones((h, w), bool) if needle.mask is None else needle.mask
    top = (0, 0, -1.0)
    for cy, cx in best:
        # full resolution around the candidate: grey differences pick the offset, RGB scores it
        y0, x0 = max(0, cy * step - step), max(0, cx * step - step)
        y1, x1 = min(height - h, cy * step + step), min(width - w, cx * step + step)
        if y1 < y0 or x1 < x0:
            continue
        window = _grey(frame[y0 : y1 + h, x0 : x1 + w]).astype(np.int32)
        sub = max(1, min(h, w) // 32)  # every sub-th pixel is enough to choose the offset
        views = np.lib.stride_tricks.sliding_window_view(window, (h, w))[:, :, ::sub, ::sub]
        sad = (np.abs(views - grey_needle[::sub, ::sub]) * weight[::sub, ::sub]).sum(axis=(2, 3))
        oy, ox = np.unravel_index(int(np.argmin(sad)), sad.shape)
        x, y = x0 + int(ox), y0 + int(oy)
        score = score_at(frame, needle, x, y)
        if score > top[2]:
            top = (x, y, score)
    return top


def _find_one(frame: RGB, needle: Needle, region: Rect | None) -> Match:
    area, ox, oy = _crop(frame, region if region is not None else needle.region)
    w, h = needle.size
    if w > area.shape[1] or h > area.shape[0]:
        return Match(ox, oy, w, h, 0.0, needle.name)
    spot = _exact(area, needle)
    if spot is not None:
        return Match(spot[0] + ox, spot[1] + oy, w, h, 1.0, needle.name)
    x, y, score = _tolerant(area, needle)
    return Match(x + ox, y + oy, w, h, max(0.0, score), needle.name)


def find(
    frame: RGB,
    needle: Needle | str | Path | object,
    *,
    threshold: float | None = None,
    region: Rect | None = None,
    exclude: Sequence[Rect] = (),
) -> tuple[Match | None, Match]:
    """(the match if its score reaches the threshold else ``None``, the best position found).

    ``region`` (x, y, w, h) limits the search (default: the needle's own region);
    ``exclude`` screen rectangles are blanked in the frame before searching
    (an openQA needle's exclude areas already leave parts of the needle out).
    """
    spec = load_needle(needle, threshold)
    frame = as_rgb(frame, "frame")
    if exclude:
        frame = frame.copy()
        for ex, ey, ew, eh in exclude:
            frame[max(0, ey) : ey + eh, max(0, ex) : ex + ew] = 0
    best = _find_one(frame, spec, region)
    if best.score + 1e-9 < spec.threshold:
        return None, best
    for part in spec.also:
        other = _find_one(frame, part, region)
        if other.score + 1e-9 < part.threshold:
            return None, other
    return best, best
