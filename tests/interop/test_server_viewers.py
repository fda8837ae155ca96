"""remote-viewer and spicy (spice-gtk) against our server, checked on the Xvfb screen pixel by pixel."""

from __future__ import annotations

import logging
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import pytest
import spice_server as ss
import trio
from peers.pki import Pki
from peers.viewers import (
    VIEWERS,
    ViewerOptions,
    bgrx_to_rgb,
    differing_pixels,
    find_frame,
    pattern_frame,
    start_viewer,
)
from peers.xvfb import Xvfb
from spice_net import server_ssl_context
from spice_proto import Rect
from spice_server.lowlevel import Codec

pytestmark = pytest.mark.interop

# spicy scales the display to its window, which is at least as wide as its toolbar (~640 pixels):
# frames at least that wide are shown 1:1.
W, H = 640, 400
TIMEOUT = 30.0


async def shown_at(xvfb: Xvfb, frame: np.ndarray, timeout: float = TIMEOUT) -> tuple[int, int]:
    """Where the viewer shows ``frame`` (BGRX) exactly, waiting for it; fails with what it saw."""
    rgb = bgrx_to_rgb(frame)
    deadline = trio.current_time() + timeout
    last = "the frame's first row is not on the screen"
    while True:
        try:
            shot = await trio.to_thread.run_sync(xvfb.display.screenshot)
        except subprocess.CalledProcessError as exc:  # xwd can fail while a window is (un)mapped
            last = f"xwd failed: {exc.stderr!r}"
            pos = None
        else:
            pos = await trio.to_thread.run_sync(find_frame, shot, rgb)
        if pos is not None:
            x, y = pos
            diff = differing_pixels(shot[y : y + H, x : x + W], rgb)
            if diff == 0:
                return pos
            last = f"frame at {pos} with {diff} differing pixels"
        if trio.current_time() > deadline:
            raise AssertionError(f"no exact frame on screen after {timeout} s: {last}")
        await trio.sleep(0.2)


@asynccontextmanager
async def running(server: ss.Server, *, tls: bool = False) -> AsyncIterator[ss.ServerAddress]:
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(
            lambda task_status: server.serve(
                "127.0.0.1", 0, tls_port=0 if tls else None, task_status=task_status
            )
        )
        yield addr
        nursery.cancel_scope.cancel()


def _ssl(pki: Pki) -> ssl.SSLContext:
    return server_ssl_context(str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem"))


async def _client(server: ss.Server, timeout: float = TIMEOUT) -> ss.ClientSession:
    with trio.fail_after(timeout):
        while not server.clients or server.clients[0].display is None:
            await trio.sleep(0.05)
    return server.clients[0]


@pytest.mark.parametrize("security", ["plain", "password", "tls"])
@pytest.mark.parametrize("viewer", VIEWERS)
async def test_viewer_shows_our_frame_exactly(viewer: str, security: str, xvfb: Xvfb, pki: Pki) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    password = "sesame" if security == "password" else None
    server = ss.Server(fb, password=password, ssl_context=_ssl(pki) if security == "tls" else None)
    async with running(server, tls=security == "tls") as addr:
        opts = ViewerOptions(
            port=addr.tls_port if security == "tls" else addr.port,
            password=password,
        )
        if security == "tls":
            opts = ViewerOptions(tls_port=addr.tls_port, ca_file=pki.ca_file)
        start_viewer(xvfb.display, viewer, opts)
        await shown_at(xvfb, fb.frame)
        client = await _client(server)
        assert client.secure == (security == "tls")
        # a change of one area reaches the screen too
        new = pattern_frame(W, H, variant=1)
        fb.update(new[40:200, 100:400], Rect(100, 40, 400, 200))
        await shown_at(xvfb, fb.frame)


EXPECTED_CODECS: dict[str, tuple[set[Codec], set[Codec]]] = {
    # mode: (codecs that must appear, codecs allowed)
    "off": ({Codec.BITMAP}, {Codec.BITMAP}),
    "quic": ({Codec.QUIC}, {Codec.QUIC}),
    "lz": ({Codec.LZ}, {Codec.LZ}),
    "glz": ({Codec.GLZ}, {Codec.LZ, Codec.GLZ}),
    "auto_glz": ({Codec.QUIC, Codec.GLZ}, {Codec.QUIC, Codec.LZ, Codec.GLZ, Codec.BITMAP}),
    "auto_lz": ({Codec.QUIC, Codec.LZ}, {Codec.QUIC, Codec.LZ, Codec.BITMAP}),
}


@pytest.mark.parametrize("mode", list(EXPECTED_CODECS))
async def test_remote_viewer_every_compression_exact(mode: str, xvfb: Xvfb) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, image_compression=mode)
    async with running(server) as addr:
        start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
        await shown_at(xvfb, fb.frame)
        client = await _client(server)
        assert client.display is not None
        # By now the client's DISPLAY_INIT (GLZ window) has arrived: redraw the photo-like left half,
        # then the synthetic right half, then a small detail.
        new = pattern_frame(W, H, variant=2)
        fb.update(new[:, : W // 2], Rect(0, 0, W // 2, H))
        await shown_at(xvfb, fb.frame)
        fb.update(new[:, W // 2 :], Rect(W // 2, 0, W, H))
        await shown_at(xvfb, fb.frame)
        fb.update(pattern_frame(W, H, variant=3)[10:30, 300:320], Rect(300, 10, 320, 30))
        await shown_at(xvfb, fb.frame)
        counts = {codec for codec, n in client.display.encoder.counts.items() if n}
    must, allowed = EXPECTED_CODECS[mode]
    assert must <= counts <= allowed, counts


async def test_spicy_preferred_compression_is_honoured(xvfb: Xvfb) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, image_compression="lz")
    async with running(server) as addr:
        start_viewer(xvfb.display, "spicy", ViewerOptions(port=addr.port, preferred_compression="quic"))
        await shown_at(xvfb, fb.frame)
        client = await _client(server)
        assert client.display is not None
        assert client.display.encoder.compression is ss.Compression.QUIC
        before = client.display.encoder.counts[Codec.QUIC]
        fb.update(pattern_frame(W, H, variant=1))
        await shown_at(xvfb, fb.frame)
        assert client.display.encoder.counts[Codec.QUIC] > before


async def test_two_viewers_at_once(xvfb: Xvfb, xvfb_factory: Callable[..., Xvfb]) -> None:
    other = xvfb_factory()
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    async with running(server) as addr:
        start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
        start_viewer(other.display, "spicy", ViewerOptions(port=addr.port))
        await shown_at(xvfb, fb.frame)
        await shown_at(other, fb.frame)
        assert len(server.clients) == 2
        fb.update(pattern_frame(W, H, variant=4))
        await shown_at(xvfb, fb.frame)
        await shown_at(other, fb.frame)


def _log_has(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def test_viewer_with_wrong_password_gets_no_session(
    xvfb: Xvfb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    server = ss.Server(ss.Framebuffer(W, H), password="right")
    async with running(server) as addr:
        start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port, password="wrong"))
        with trio.fail_after(TIMEOUT):
            while not _log_has(caplog, "PERMISSION_DENIED"):
                await trio.sleep(0.05)
        assert server.clients == []


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_content_shown_before_comes_from_the_viewers_cache(viewer: str, xvfb: Xvfb) -> None:
    first, second = pattern_frame(W, H), pattern_frame(W, H, variant=5)
    fb = ss.Framebuffer(W, H)
    fb.update(first)
    server = ss.Server(fb)
    async with running(server) as addr:
        start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port))
        await shown_at(xvfb, fb.frame)
        client = await _client(server)
        assert client.display is not None
        with trio.fail_after(TIMEOUT):  # DISPLAY_INIT announced the viewer's cache
            while client.display.cache is None:
                await trio.sleep(0.05)
        for frame in (second, first):
            fb.update(frame)
            await shown_at(xvfb, fb.frame)
        # Both pictures have now gone out since the viewer announced its cache, so it holds them.
        # (Whether the very first frame was cacheable depends on whether it left before DISPLAY_INIT.)
        for frame in (second, first):
            hits = client.display.cache.hits
            fb.update(frame)
            await shown_at(xvfb, fb.frame)
            assert client.display.cache.hits == hits + 1  # sent as a FROM_CACHE reference
