"""Our own clients against spice_server over TCP: exact pictures for every compression mode,
message order, resize, preferred compression, the image cache, TLS and passwords."""

from __future__ import annotations

import numpy as np
import pytest
import spice_server as ss
import spice_session
import trio
from miniclient import mini_session
from peers.pki import Pki
from peers.viewers import pattern_frame
from spice_net import AuthenticationFailed, NeedSecured, client_ssl_context, server_ssl_context
from spice_proto import (
    DisplayDrawCopy,
    DisplayInvalList,
    DisplayMark,
    DisplayMonitorsConfig,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    ImageCompression,
    ImageFlags,
    Rect,
    SetAck,
    SurfaceFlags,
    SurfaceFmt,
)

W, H = 320, 200

MODES = ["off", "quic", "lz", "glz", "auto_lz", "auto_glz"]
# image classes each mode may produce once the client announced its GLZ window
ALLOWED = {
    "off": {"BitmapImage"},
    "quic": {"QuicImage"},
    "lz": {"LzRgbImage"},
    "glz": {"GlzRgbImage", "LzRgbImage"},
    "auto_lz": {"QuicImage", "LzRgbImage", "BitmapImage"},
    "auto_glz": {"QuicImage", "GlzRgbImage", "LzRgbImage", "BitmapImage"},
}
REQUIRED = {
    "off": {"BitmapImage"},
    "quic": {"QuicImage"},
    "lz": {"LzRgbImage"},
    "glz": {"GlzRgbImage"},
    "auto_lz": {"QuicImage", "LzRgbImage", "BitmapImage"},
    "auto_glz": {"QuicImage", "GlzRgbImage", "BitmapImage"},
}


async def serve(nursery: trio.Nursery, server: ss.Server, **kwargs: object) -> ss.ServerAddress:
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status, **kwargs)
    )  # type: ignore[arg-type]
    return addr


@pytest.mark.parametrize("mode", MODES)
async def test_every_compression_is_exact_with_own_decoders(mode: str, nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    addr = await serve(nursery, ss.Server(fb, image_compression=mode))
    assert addr.port is not None
    async with mini_session(addr.port) as s:
        await s.show(fb.frame)
        s.screen.image_types.clear()
        new = pattern_frame(W, H, variant=1)
        fb.update(new[:, : W // 2], Rect(0, 0, W // 2, H))
        await s.show(fb.frame)
        fb.update(new[:, W // 2 :], Rect(W // 2, 0, W, H))
        await s.show(fb.frame)
        fb.update(new[3:9, 3:9] ^ 0xFF, Rect(3, 3, 9, 9))
        await s.show(fb.frame)
        fb.fill((1, 2, 3), Rect(100, 50, 300, 150))
        await s.show(fb.frame)
    kinds = set(s.screen.image_types)
    assert REQUIRED[mode] <= kinds <= ALLOWED[mode], kinds


@pytest.mark.parametrize("mode", MODES)
async def test_spice_session_sees_the_frame_exactly(mode: str, nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    addr = await serve(nursery, ss.Server(fb, image_compression=mode))
    async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
        session.events().close()
        shot = await session.screenshot(settle=0.2)
        assert (shot.to_rgb() == fb.frame[:, :, 2::-1]).all()
        new = pattern_frame(W, H, variant=2)
        fb.update(new[:, : W // 2], Rect(0, 0, W // 2, H))
        fb.update(new[20:40, 200:260], Rect(200, 20, 260, 40))
        shot = await session.screenshot(settle=0.3)
        assert (shot.to_rgb() == fb.frame[:, :, 2::-1]).all()


async def test_message_order_surface_monitors_draws_mark(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    addr = await serve(nursery, ss.Server(fb))
    assert addr.port is not None
    async with mini_session(addr.port) as s:
        await s.show(fb.frame)
        msgs = s.screen.messages
    assert msgs.pop(0) == SetAck(1, 20)
    assert msgs[0] == DisplaySurfaceCreate(0, W, H, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY)
    assert isinstance(msgs[1], DisplayMonitorsConfig)
    assert (msgs[1].heads[0].width, msgs[1].heads[0].height) == (W, H)
    assert all(isinstance(m, DisplayDrawCopy) for m in msgs[2:-1]) and len(msgs) > 3
    assert isinstance(msgs[-1], DisplayMark)


async def test_resize_makes_a_new_surface(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    addr = await serve(nursery, ss.Server(fb))
    assert addr.port is not None
    async with mini_session(addr.port) as s:
        await s.show(fb.frame)
        fb.resize(200, 120)
        fb.update(pattern_frame(200, 120, variant=3))
        await s.show(fb.frame)
        kinds = [type(m) for m in s.screen.messages]
    assert DisplaySurfaceDestroy in kinds
    assert s.screen.canvas is not None and s.screen.canvas.shape == (120, 200, 4)


async def test_preferred_compression_overrides_the_server_setting(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    addr = await serve(nursery, ss.Server(fb, image_compression="lz"))
    assert addr.port is not None
    async with mini_session(addr.port, preferred=ImageCompression.QUIC) as s:
        await s.show(fb.frame)
        s.screen.image_types.clear()
        fb.update(pattern_frame(W, H, variant=4))
        await s.show(fb.frame)
    assert set(s.screen.image_types) == {"QuicImage"}


async def test_cache_hits_and_evictions_keep_the_picture_exact(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(W, H)
    frames = [pattern_frame(W, H, variant=v) for v in range(3)]
    fb.update(frames[0])
    addr = await serve(nursery, ss.Server(fb))
    assert addr.port is not None
    # a cache that holds two full frames: least recently used ones are evicted
    async with mini_session(addr.port, cache_size=2 * W * H + 10) as s:
        await s.show(fb.frame)
        for v in (1, 2, 1, 0, 2, 1):
            fb.update(frames[v])
            await s.show(fb.frame)
        assert len(s.screen.cache) == 2
    assert s.screen.image_types["FromCacheImage"] == 1
    # whether the very first frame was cached depends on when DISPLAY_INIT arrived
    first = next(m for m in s.screen.messages if isinstance(m, DisplayDrawCopy))
    first_cached = int(bool(first.src_bitmap.flags & ImageFlags.CACHE_ME))
    evictions = sum(len(m.resources) for m in s.screen.messages if isinstance(m, DisplayInvalList))
    assert evictions == 3 + first_cached


async def test_tls_and_password(nursery: trio.Nursery, pki: Pki) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    ctx = server_ssl_context(str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem"))
    server = ss.Server(fb, password="sesame", ssl_context=ctx, secure_only=True)
    addr = await serve(nursery, server, tls_port=0)
    assert addr.port is not None and addr.tls_port is not None
    client_ctx = client_ssl_context(str(pki.ca_file))
    async with mini_session(addr.tls_port, password="sesame", ssl_context=client_ctx) as s:
        await s.show(fb.frame)
        assert server.clients[0].secure
    with pytest.raises(AuthenticationFailed):
        async with mini_session(addr.tls_port, password="wrong", ssl_context=client_ctx):
            pass
    with pytest.raises(NeedSecured):
        async with mini_session(addr.port, password="sesame"):
            pass


async def test_password_expires(nursery: trio.Nursery, autojump_clock: trio.testing.MockClock) -> None:
    server = ss.Server(ss.Framebuffer(W, H), password="sesame", password_lifetime=60)
    addr = await serve(nursery, server)
    assert addr.port is not None
    async with mini_session(addr.port, password="sesame", kinds=()):
        pass
    await trio.sleep(61)
    with pytest.raises(AuthenticationFailed):
        async with mini_session(addr.port, password="sesame", kinds=()):
            pass
    server.set_password("new")
    async with mini_session(addr.port, password="new", kinds=()):
        pass


def test_frames_are_bgrx_copies() -> None:
    fb = ss.Framebuffer(4, 2)
    src = np.arange(4 * 2 * 3, dtype=np.uint8).reshape(2, 4, 3)
    fb.update(src, format="rgb")
    assert (fb.frame[:, :, 2] == src[:, :, 0]).all() and (fb.frame[:, :, 0] == src[:, :, 2]).all()
