"""``spice screenshot`` against Xspice equals ``xwd -root`` of its X display.

The screen holds an xterm with text, an xclock (no seconds hand, so it changes only
when the minute ticks: a comparison that straddles a minute is retried) and a photo-like
picture shown with ImageMagick ``display``.  The clients start after our session is
connected, so the picture arrives as the server's stream of draw commands (surfaces,
SURFACE images, the pixmap cache, GLZ dictionary references...), not as one image.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.require import require_binary
from peers.spice_cli_proc import spice
from peers.xspice import Xspice
from PIL import Image

pytestmark = pytest.mark.interop

RGB = npt.NDArray[np.uint8]
PHOTO_POS = (300, 400)  # where `display` puts the picture (x, y)
PHOTO_SIZE = (320, 240)
BORDER = 2  # the picture sits inside the window's 2-pixel border


def make_photo(path: Path) -> None:
    """A deterministic photo-like picture: smooth gradients plus noise at several scales."""
    rng = np.random.default_rng(1234)
    w, h = PHOTO_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([x / w * 160, y / h * 160, (x + y) / (w + h) * 120], axis=2)
    for scale, amp in ((40, 50.0), (10, 25.0), (3, 12.0), (1, 8.0)):
        small = rng.standard_normal((h // scale + 2, w // scale + 2, 3))
        ys = np.minimum((np.arange(h) / scale).astype(int), small.shape[0] - 1)
        xs = np.minimum((np.arange(w) / scale).astype(int), small.shape[1] - 1)
        img += small[ys][:, xs] * amp
    img += 40 * np.sin(x / 17.0)[..., None] * np.cos(y / 23.0)[..., None]
    Image.fromarray(np.clip(img + 40, 0, 255).astype(np.uint8), "RGB").save(path)


def start_scene(server: Xspice, photo: Path) -> None:
    require_binary("display")
    server.display.start_xterm("ls -l /usr/bin | head -30; exec sleep infinity", geometry="80x24+10+10")
    server.display.start_client("xclock", ["xclock", "-geometry", "200x200+600+50"])
    x, y = PHOTO_POS
    server.display.start_client("display", ["display", "-geometry", f"+{x}+{y}", str(photo)])
    server.display.wait_window("rig-xterm")
    server.display.wait_window("xclock")


async def cli_screenshot(uri: str, out: Path) -> RGB:
    result = await spice("screenshot", uri, str(out), "--settle", "1", "--timeout", "30")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    with Image.open(out) as image:
        assert image.mode == "RGB"
        pixels: RGB = np.array(image)
    return pixels


def differing(ours: RGB, truth: RGB) -> npt.NDArray[np.bool_]:
    assert ours.shape == truth.shape
    return np.any(ours != truth, axis=2)


async def connected_scene(
    server: Xspice, photo: Path, preferred: sp.ImageCompression | None = None
) -> tuple[ss.Surface, Counter[str]]:
    """Connect first, then open the clients, then take a settled screenshot through the API.

    Also returns how many images of each type the draw commands carried, and checks that
    no draw command was skipped.
    """
    images: Counter[str] = Counter()

    async def tally(session: ss.Session) -> None:
        async for event in session.events():
            if isinstance(event, ss.events.DrawEvent):
                image = getattr(event.message, "src_bitmap", None)
                if image is not None:
                    images[type(image).__name__] += 1
            assert not isinstance(event, ss.events.DisplayProblem), event

    async with ss.connect(server.uri) as session, trio.open_nursery() as nursery:
        nursery.start_soon(tally, session)
        if preferred is not None:
            await session.channel(sp.ChannelType.DISPLAY).send(sp.DisplayPreferredCompression(preferred))
        await session.screenshot(timeout=20)  # the empty desktop arrived
        await trio.to_thread.run_sync(start_scene, server, photo)
        await trio.sleep(1.5)
        shot = await session.screenshot(settle=1.0, timeout=30)
        nursery.cancel_scope.cancel()
    assert session.display.errors == 0
    return shot, images


#: The image type each setting puts on the wire (besides cached and SURFACE images).
WIRE_IMAGE = {
    "off": "BitmapImage",
    "quic": "QuicImage",
    "lz": "LzRgbImage",
    "glz": "GlzRgbImage",
    "auto_glz": "GlzRgbImage",
}


@pytest.mark.parametrize("compression", list(WIRE_IMAGE))
async def test_screenshot_equals_xwd(
    compression: str, xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> None:
    server = xspice_factory(image_compression=compression)
    photo = tmp_path / "photo.png"
    make_photo(photo)
    for attempt in range(2):  # the clock's minute may tick between the two captures
        shot, images = await connected_scene(server, photo)
        truth = server.display.screenshot()
        diff = differing(shot.to_rgb(), truth)
        if not diff.any() or attempt:
            break
        server.display.stop_clients()
    assert int(diff.sum()) == 0, f"{compression}: {int(diff.sum())} pixels differ"
    assert images[WIRE_IMAGE[compression]] > 0, images
    # the scene is really there: text, the clock face and the picture
    assert (truth[20:300, 20:400] == 0).any() and (truth[60:240, 610:790] == 255).any()
    x, y = PHOTO_POS
    assert len(np.unique(truth[y + 10 : y + 200, x + 10 : x + 300].reshape(-1, 3), axis=0)) > 1000
    # and the CLI writes the same picture
    for attempt in range(2):
        png = await cli_screenshot(server.uri, tmp_path / f"{compression}.png")
        truth = server.display.screenshot()
        diff = differing(png, truth)
        if not diff.any() or attempt:
            break
    assert int(diff.sum()) == 0, f"spice screenshot ({compression}): {int(diff.sum())} pixels differ"


async def test_lz4_by_preferred_compression(xspice_factory: Callable[..., Xspice], tmp_path: Path) -> None:
    """The client asks for LZ4 (DISPLAY_PREFERRED_COMPRESSION, as spicy's --spice-preferred-compression)."""
    server = xspice_factory()
    photo = tmp_path / "photo.png"
    make_photo(photo)
    for attempt in range(2):
        shot, images = await connected_scene(server, photo, sp.ImageCompression.LZ4)
        diff = differing(shot.to_rgb(), server.display.screenshot())
        if not diff.any() or attempt:
            break
        server.display.stop_clients()
    assert int(diff.sum()) == 0
    assert images["Lz4Image"] > 0, images


#: Lossy (JPEG) tolerance inside the picture, per colour channel against the X server's pixels:
#: mean absolute error, 99th percentile, and no colour cast (mean signed error).  The picture is
#: deliberately noisy; the server's JPEG of it measures about 9.5 / 38 / 0.3 (26 dB PSNR).
#: Outside the picture: exact.
LOSSY_MEAN = 12.0
LOSSY_P99 = 48
LOSSY_BIAS = 1.5


@pytest.mark.parametrize(
    ("jpeg", "zlib"), [("always", None), (None, "always")], ids=["jpeg-wan", "zlib-glz-wan"]
)
async def test_wan_compression(
    jpeg: str | None, zlib: str | None, xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> None:
    server = xspice_factory(jpeg_wan_compression=jpeg, zlib_glz_wan_compression=zlib)
    photo = tmp_path / "photo.png"
    make_photo(photo)
    x, y = PHOTO_POS
    w, h = PHOTO_SIZE
    for attempt in range(2):
        shot, images = await connected_scene(server, photo)
        ours, truth = shot.to_rgb(), server.display.screenshot()
        diff = differing(ours, truth)
        outside = diff.copy()
        outside[y : y + h + 2 * BORDER, x : x + w + 2 * BORDER] = False
        if not outside.any() or attempt:
            break
        server.display.stop_clients()
    assert int(outside.sum()) == 0, f"{int(outside.sum())} pixels differ outside the picture"
    area = (slice(y + BORDER, y + BORDER + h), slice(x + BORDER, x + BORDER + w))
    signed = ours[area].astype(int) - truth[area].astype(int)
    inside = np.abs(signed)
    assert inside.mean() <= LOSSY_MEAN, inside.mean()
    assert np.percentile(inside, 99) <= LOSSY_P99, np.percentile(inside, 99)
    assert np.all(np.abs(signed.mean(axis=(0, 1))) <= LOSSY_BIAS), signed.mean(axis=(0, 1))
    if zlib is not None:
        assert images["ZlibGlzRgbImage"] > 0, images
        assert not diff.any()  # ZLIB_GLZ is lossless
    else:
        assert images["JpegImage"] + images["JpegAlphaImage"] > 0, images
