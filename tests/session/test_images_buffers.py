"""A DRAW_COPY whose image fails to decode is skipped, and nothing it leaves behind (the
DisplayProblem event, its error) keeps a buffer or a view into the message body alive.

It used to: the codec error, chained as ``__context__`` of the DisplayError stored in the
event, held a cffi buffer exported from the body's memoryview through its traceback, and
the collector freed the view under it (SIGSEGV in ``spice screenshot``).  The in-process
test runs in a child interpreter so that a crash fails it; the end-to-end one runs
``spice screenshot`` against the scripted evil server.
"""

from __future__ import annotations

from pathlib import Path

import spice_lz
import spice_proto as sp
import vectors
from buffers import assert_survived, run_child
from hostile.bodies import surface_create
from hostile.client import run_spice
from hostile.evil_server import Script
from spice_proto import GlzRgbImage, LzRgbImage

_CHILD = """
import gc
import zlib

import numpy as np
import spice_glz
import spice_lz
import spice_quic
import spice_session as ss
import vectors
from spice_proto import Clip, DisplayDrawCopy, DisplaySurfaceCreate, Rect, SurfaceFlags, SurfaceFmt
from spice_proto import (
    GlzRgbImage, JpegAlphaImage, LzPltImage, LzRgbImage, Palette, QuicImage, ZlibGlzRgbImage,
)
from spice_proto import JpegAlphaFlags
import simplejpeg

W, H = 24, 16
rng = np.random.default_rng(7)
px = rng.integers(0, 4, (H, W, 4), dtype=np.uint8) * 60
(seq,) = [s for s in vectors.glz_sequences() if s[0].name.startswith("glz/mixed_")]
glz_orphan = seq[1]  # copies from seq[0], which this client never saw
lz = spice_lz.encode(px.tobytes(), W, H, spice_lz.ImageType.RGB32)
quic = spice_quic.encode(px.tobytes(), W, H, spice_quic.ImageType.RGB32)
plt = spice_lz.encode((px[..., 0] % 4).tobytes(), W, H, spice_lz.ImageType.PLT8)
jpeg = simplejpeg.encode_jpeg(np.ascontiguousarray(px[..., :3]), colorspace="BGR")
alpha = spice_lz.encode(px.tobytes(), W, H, spice_lz.ImageType.XXXA)
bad_alpha = alpha[: len(alpha) - 3]
images = [
    GlzRgbImage(width=glz_orphan.width, height=glz_orphan.height, data=glz_orphan.blob),
    ZlibGlzRgbImage(
        width=glz_orphan.width, height=glz_orphan.height, glz_data_size=len(glz_orphan.blob),
        data=zlib.compress(glz_orphan.blob),
    ),
    LzRgbImage(width=W, height=H, data=lz[:92]),
    QuicImage(width=W, height=H, data=quic[: len(quic) // 8 * 4]),
    LzPltImage(width=W, height=H, data=plt[:-2], palette=Palette(1, (1, 2, 3, 4))),
    JpegAlphaImage(
        width=W, height=H, jpeg_size=len(jpeg), data=jpeg + bad_alpha, jpeg_flags=JpegAlphaFlags.TOP_DOWN
    ),
]
problems = 0
for fmt in (SurfaceFmt.FMT_32_xRGB, SurfaceFmt.FMT_32_ARGB, SurfaceFmt.FMT_16_565):
    for image in images:
        for _ in range(3):
            state = ss.Display(1 << 20, 1 << 20).channel(0)
            state.handle(DisplaySurfaceCreate(0, 200, 150, fmt, SurfaceFlags.PRIMARY))
            box = Rect(0, 0, image.width, image.height)
            body = DisplayDrawCopy(0, box, Clip(), image, box).encode()
            message = DisplayDrawCopy.decode(body)
            assert isinstance(message.src_bitmap.data, memoryview)  # a view into body
            events = state.handle(message)
            for event in events:
                assert isinstance(event, ss.events.DisplayProblem), events
                err = event.error
                assert err.__traceback__ is None and err.__context__ is None and err.__cause__ is None
                problems += 1
            kept = [events, state, message]
            kept.append(kept)  # an unreachable cycle: only the collector frees it
            del kept, events, state, message, body
        gc.collect()
print(problems)
"""


def test_failed_image_decodes_leave_nothing_holding_the_body() -> None:
    lines = assert_survived(run_child(_CHILD))
    assert lines == [str(3 * 6 * 3)]  # every draw was skipped with one DisplayProblem


def _glz_orphan_and_truncated_lz() -> list[bytes]:
    """DRAW_COPY bodies: a GLZ image copying from one never sent, a 92-byte truncated LZ image."""
    (seq,) = [s for s in vectors.glz_sequences() if s[0].name.startswith("glz/mixed_")]
    orphan = seq[1]
    lz = spice_lz.encode(bytes(range(256)) * 6, 24, 16, spice_lz.ImageType.RGB32)
    bodies = []
    for image in (
        GlzRgbImage(id=1, width=orphan.width, height=orphan.height, data=orphan.blob),
        LzRgbImage(id=2, width=24, height=16, data=lz[:92]),
    ):
        box = sp.Rect(0, 0, image.width, image.height)
        bodies.append(sp.DisplayDrawCopy(0, box, sp.Clip(), image, box).encode())
    return bodies


def test_spice_screenshot_survives_undecodable_glz_and_lz_draws(tmp_path: Path) -> None:
    d = sp.DisplayMsg
    draws = [(d.DRAW_COPY, body) for body in _glz_orphan_and_truncated_lz()] * 5
    script: Script = {
        (sp.ChannelType.DISPLAY, 0): [(d.SURFACE_CREATE, surface_create(0, 200, 150)), *draws, (d.MARK, b"")]
    }
    outcome = run_spice(script, "screenshot", tmp_path=tmp_path)
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    skipped = [line for line in outcome.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 10, outcome.stderr[-3000:]
    assert "Exception ignored" not in outcome.stderr
    assert (tmp_path / "shot.png").stat().st_size > 0
