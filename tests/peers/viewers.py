"""Real SPICE clients (remote-viewer, spicy) on an Xvfb display, and finding a frame on screen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import procs
from .require import require_binary
from .x11 import RGBImage, XDisplay

VIEWERS = ("remote-viewer", "spicy")


@dataclass(frozen=True)
class ViewerOptions:
    """How to reach the server; ``tls_port`` with ``ca_file`` makes the viewer use TLS."""

    port: int | None = None
    tls_port: int | None = None
    password: str | None = None
    ca_file: Path | None = None
    preferred_compression: str | None = None  # spice-gtk's names: auto-glz, quic, lz, off...
    host: str = "127.0.0.1"


def viewer_argv(kind: str, opts: ViewerOptions) -> list[str]:
    """The command line that connects viewer ``kind`` as ``opts`` says."""
    extra: list[str] = []
    if opts.ca_file is not None:
        extra.append(f"--spice-ca-file={opts.ca_file}")
    if opts.preferred_compression is not None:
        extra.append(f"--spice-preferred-compression={opts.preferred_compression}")
    if kind == "remote-viewer":
        query = []
        if opts.port is not None:
            query.append(f"port={opts.port}")
        if opts.tls_port is not None:
            query.append(f"tls-port={opts.tls_port}")
        if opts.password is not None:
            query.append(f"password={opts.password}")
        return ["remote-viewer", *extra, f"spice://{opts.host}?{'&'.join(query)}"]
    if kind == "spicy":
        argv = ["spicy", *extra, "-h", opts.host]
        if opts.port is not None:
            argv += ["-p", str(opts.port)]
        if opts.tls_port is not None:
            argv += ["-s", str(opts.tls_port)]
        if opts.password is not None:
            argv += ["-w", opts.password]
        return argv
    raise ValueError(f"unknown viewer {kind!r}; use one of {VIEWERS}")


def start_viewer(display: XDisplay, kind: str, opts: ViewerOptions) -> procs.Proc:
    """Start viewer ``kind`` on ``display`` (stopped with the display)."""
    require_binary(kind)
    return display.start_client(kind, viewer_argv(kind, opts))


def find_frame(shot: RGBImage, frame: RGBImage, probe: int = 16) -> tuple[int, int] | None:
    """Top-left (x, y) where ``frame``'s first row appears exactly in ``shot``, or ``None``.

    Candidates are the places whose first ``probe`` pixels match; among them the one
    with the fewest differing pixels over the whole frame wins.
    """
    fh, fw = frame.shape[:2]
    sh, sw = shot.shape[:2]
    if fh > sh or fw > sw:
        return None
    probe = min(probe, fw)
    area = shot[: sh - fh + 1, : sw - fw + 1]
    ys, xs = np.nonzero((area == frame[0, 0]).all(axis=2))
    for k in range(1, probe):
        if not len(ys):
            return None
        keep = (shot[ys, xs + k] == frame[0, k]).all(axis=1)
        ys, xs = ys[keep], xs[keep]
    best: tuple[int, tuple[int, int]] | None = None
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        if not (shot[y, x : x + fw] == frame[0]).all():
            continue
        diff = differing_pixels(shot[y : y + fh, x : x + fw], frame)
        if best is None or diff < best[0]:
            best = (diff, (x, y))
    return None if best is None else best[1]


def differing_pixels(a: RGBImage, b: RGBImage) -> int:
    """How many pixels of two same-size RGB images differ."""
    return int(np.count_nonzero((a != b).any(axis=2)))


def bgrx_to_rgb(frame: np.ndarray) -> RGBImage:
    """A (h, w, 4) B, G, R, X frame as (h, w, 3) R, G, B."""
    return np.ascontiguousarray(frame[:, :, 2::-1])


def pattern_frame(width: int, height: int, variant: int = 0) -> np.ndarray:
    """A (h, w, 4) BGRX frame with a photo-like gradient half and a flat, sharp-edged half.

    The first row holds a unique sequence of colours so :func:`find_frame` locates it
    quickly; ``variant`` changes the content everywhere.
    """
    y, x = np.mgrid[0:height, 0:width]
    frame = np.zeros((height, width, 4), np.uint8)
    half = width // 2
    # left: smooth gradients with a little deterministic noise (QUIC territory)
    noise = ((x * 7919 + y * 104729 + variant * 31) % 5).astype(np.int32)
    frame[:, :half, 0] = ((x[:, :half] * 200 // max(1, half)) + noise[:, :half] + variant * 10) % 256
    frame[:, :half, 1] = ((y[:, :half] * 255 // max(1, height)) + noise[:, :half]) % 256
    frame[:, :half, 2] = (((x + y)[:, :half] * 128 // max(1, width + height)) + 60 + variant * 40) % 256
    # right: flat tiles and stripes (LZ / GLZ territory)
    tiles = ((x[:, half:] // 24 + y[:, half:] // 24 + variant) % 4).astype(np.uint8)
    palette = np.array([[250, 250, 250], [30, 30, 200], [20, 160, 40], [0, 0, 0]], np.uint8)
    frame[:, half:, :3] = palette[tiles]
    frame[::7, half:, :3] = (variant * 50) % 256
    # first row: a unique run of colours
    frame[0, :, 0] = np.arange(width) % 256
    frame[0, :, 1] = (np.arange(width) // 256 + 17 * variant + 1) % 256
    frame[0, :, 2] = 255 - np.arange(width) % 256
    return frame


def smooth_frame(width: int, height: int, variant: int) -> np.ndarray:
    """A (h, w, 4) BGRX photo-like picture (crossing sines) that moves with ``variant``: what
    a video looks like to the server's stream detection and encoders."""
    y, x = np.mgrid[0:height, 0:width]
    out = np.zeros((height, width, 4), np.uint8)
    out[:, :, 0] = 128 + 100 * np.sin((x + 4 * variant) / 23)
    out[:, :, 1] = 128 + 100 * np.cos((y - 3 * variant) / 17)
    out[:, :, 2] = 128 + 90 * np.sin((x + y + 5 * variant) / 31)
    return out
