"""remote-viewer and spicy (spice-gtk) against our server's built-in agent, on Xvfb.

Clipboard both ways between ``xclip`` on the viewer's display and ss.GuestAgent, a viewer
window resized with xdotool resizing our Framebuffer (the picture exact), and a .vv file's
display config reaching the agent from remote-viewer and spice view alike.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
import spice_server as ss
import trio
from peers import procs
from peers.procs import wait_until
from peers.require import require_binary
from peers.spice_view import start_spice_view
from peers.viewers import (
    VIEWERS,
    ViewerOptions,
    bgrx_to_rgb,
    differing_pixels,
    find_frame,
    pattern_frame,
    start_viewer,
    viewer_argv,
)
from peers.xvfb import Xvfb
from spice_proto import AgentClipboardType, AgentDisplayConfigFlags

pytestmark = [pytest.mark.interop, pytest.mark.timeout(150)]

W, H = 640, 400
TIMEOUT = 40.0


@asynccontextmanager
async def running(server: ss.Server) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status))
        yield addr.port
        nursery.cancel_scope.cancel()


async def agent_ready(agent: ss.GuestAgent) -> None:
    with trio.fail_after(TIMEOUT):
        while not any(c.caps is not None for c in agent._clients.values()):
            await trio.sleep(0.05)


async def exact_on_screen(xvfb: Xvfb, frame: np.ndarray) -> None:
    rgb = bgrx_to_rgb(frame)
    h, w = rgb.shape[:2]
    last = "not found"
    with trio.move_on_after(TIMEOUT):
        while True:
            try:
                shot = await trio.to_thread.run_sync(xvfb.display.screenshot)
            except subprocess.CalledProcessError:
                await trio.sleep(0.2)
                continue
            pos = await trio.to_thread.run_sync(find_frame, shot, rgb)
            if pos is not None:
                diff = differing_pixels(shot[pos[1] : pos[1] + h, pos[0] : pos[0] + w], rgb)
                if diff == 0:
                    return
                last = f"{diff} differing pixels at {pos}"
            await trio.sleep(0.2)
    raise AssertionError(f"the {w}x{h} frame is not on screen exactly: {last}")


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_clipboard_both_ways_with_xclip(viewer: str, xvfb: Xvfb, tmp_path: Path) -> None:
    require_binary("xclip")
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    agent = ss.GuestAgent(follow_resize=False)
    events = agent.events()
    server = ss.Server(fb, agent=agent)
    async with running(server) as port:
        start_viewer(xvfb.display, viewer, ViewerOptions(port=port))
        await agent_ready(agent)
        # host -> server: xclip owns the Xvfb CLIPBOARD, spice-gtk grabs it for the "guest"
        source = tmp_path / "host.txt"
        source.write_text("copied on the host\nsecond line ✓", encoding="utf-8")
        xvfb.display.start_client("xclip", ["xclip", "-quiet", "-selection", "clipboard", "-i", str(source)])
        with trio.fail_after(TIMEOUT):
            while True:
                event = await events.receive()
                if isinstance(event, ss.ClipboardOffered) and AgentClipboardType.UTF8_TEXT in event.types:
                    break
        assert await agent.get_text() == "copied on the host\nsecond line ✓"
        # server -> host: spice-gtk takes the Xvfb CLIPBOARD and asks us on paste
        agent.set_text("pasted from the server\nline 2")

        def pasted() -> bool:
            try:
                out = xvfb.display.run(["xclip", "-o", "-selection", "clipboard", "-t", "UTF8_STRING"]).stdout
            except subprocess.CalledProcessError:
                return False
            return out == b"pasted from the server\nline 2"

        await trio.to_thread.run_sync(
            lambda: wait_until("xclip to paste the server's text", pasted, timeout=TIMEOUT)
        )


async def settled_size(fb: ss.Framebuffer, quiet: float = 1.0) -> tuple[int, int]:
    """The framebuffer's size once no resize changed it for ``quiet`` seconds."""
    size = (fb.width, fb.height)
    since = trio.current_time()
    with trio.fail_after(TIMEOUT):
        while trio.current_time() - since < quiet:
            await trio.sleep(0.05)
            if (fb.width, fb.height) != size:
                size, since = (fb.width, fb.height), trio.current_time()
    return size


SECOND_WINDOW = {"remote-viewer": r"spice-python \(2\)", "spicy": "spice display 1:0"}  # regexes


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_two_monitors_give_two_windows(viewer: str, xvfb_factory: Callable[..., Xvfb]) -> None:
    require_binary("xdotool")
    xvfb = xvfb_factory("1400x900x24")  # room for two windows side by side
    left, right = ss.Framebuffer(W, H), ss.Framebuffer(W, H)
    left.update(pattern_frame(W, H, variant=0))
    right.update(pattern_frame(W, H, variant=2))
    server = ss.Server([left, right], agent=ss.GuestAgent(follow_resize=False))
    async with running(server) as port:
        start_viewer(xvfb.display, viewer, ViewerOptions(port=port))
        second = await trio.to_thread.run_sync(lambda: xvfb.display.wait_window(SECOND_WINDOW[viewer], 30))
        # without a window manager both windows open at 0,0: move the second one beside the first
        await trio.to_thread.run_sync(lambda: xvfb.display.run(["xdotool", "windowmove", second, "700", "0"]))
        await exact_on_screen(xvfb, left.frame)
        await exact_on_screen(xvfb, right.frame)


SECOND_HEAD_WINDOW = {"remote-viewer": r"spice-python \(2\)", "spicy": "spice display 0:1"}  # regexes


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_two_heads_in_one_channel_give_two_windows(
    viewer: str, xvfb_factory: Callable[..., Xvfb], tmp_path: Path
) -> None:
    """One display channel, one surface, two heads in its MONITORS_CONFIG (ss.Heads); with
    remote-viewer, resizing the second head's window sends a monitors config of both, and
    that head follows.

    spicy opens every head's window at the first one's size and scales the picture into it
    (seen on a screenshot), so its heads are the same size here, and it runs without
    "Resize guest" (on, it sizes both heads to its windows' insides at once).
    """
    require_binary("xdotool")
    xvfb = xvfb_factory("1400x900x24")
    width, height = (W, H) if viewer == "spicy" else (W - 160, H - 100)
    left, right = ss.Framebuffer(W, H), ss.Framebuffer(width, height)
    left.update(pattern_frame(W, H, variant=0))
    right.update(pattern_frame(width, height, variant=2))
    agent = ss.GuestAgent()
    events = agent.events()
    server = ss.Server(ss.Heads([left, right]), agent=agent)
    async with running(server) as port:
        if viewer == "spicy":
            start_viewer(xvfb.display, viewer, ViewerOptions(port=port))
        else:
            start_resizing_viewer(xvfb, viewer, port, tmp_path / "config")
        second = await trio.to_thread.run_sync(
            lambda: xvfb.display.wait_window(SECOND_HEAD_WINDOW[viewer], 30)
        )
        await trio.to_thread.run_sync(lambda: xvfb.display.run(["xdotool", "windowmove", second, "700", "0"]))
        await exact_on_screen(xvfb, left.frame)
        await exact_on_screen(xvfb, right.frame)
        if viewer == "spicy":
            return
        await agent_ready(agent)
        await trio.to_thread.run_sync(
            lambda: xvfb.display.run(["xdotool", "windowsize", second, "600", "560"])
        )
        with trio.fail_after(TIMEOUT):
            while True:
                event = await events.receive()
                if (
                    isinstance(event, ss.ResizeRequested)
                    and len([m for m in event.monitors if m.width]) == 2
                    and right.height > height
                ):
                    break
        right_size = await settled_size(right)
        right.update(pattern_frame(*right_size, variant=3))
        await exact_on_screen(xvfb, right.frame)
        await exact_on_screen(xvfb, left.frame)


def _spice_view_window(xvfb: Xvfb, suffix: str, timeout: float = 30.0) -> str:
    """The spice view window whose title ends with ``suffix`` (xdotool's --name search does not
    see SDL's titles: windows are found by class, then named)."""
    found: list[str] = []

    def named() -> bool:
        try:
            ids = xvfb.display.run(
                ["xdotool", "search", "--onlyvisible", "--class", "spice-view"]
            ).stdout.split()
        except subprocess.CalledProcessError:
            return False
        for window in ids:
            name = xvfb.display.run(["xdotool", "getwindowname", window.decode()]).stdout.decode().strip()
            if name.endswith(suffix):
                found.append(window.decode())
                return True
        return False

    wait_until(f"a spice view window named ...{suffix}", named, timeout=timeout)
    return found[0]


async def test_spice_view_shows_two_heads_in_two_windows(xvfb_factory: Callable[..., Xvfb]) -> None:
    """spice view (SDL on X11) against Heads: the second head's window, found by its title, and
    both heads pixel-exact on the X screen."""
    require_binary("xdotool")
    xvfb = xvfb_factory("1400x900x24")
    left, right = ss.Framebuffer(W, H), ss.Framebuffer(W - 160, H - 100)
    left.update(pattern_frame(W, H, variant=0))
    right.update(pattern_frame(W - 160, H - 100, variant=2))
    server = ss.Server(ss.Heads([left, right]))
    async with running(server) as port:
        uri = f"spice://127.0.0.1:{port}"
        view = await trio.to_thread.run_sync(lambda: start_spice_view(xvfb.display, uri, "--no-audio"))
        second = await trio.to_thread.run_sync(lambda: _spice_view_window(xvfb, "(1:2)"))
        for window, x in ((view.window, "0"), (second, "700")):  # SDL centres both: side by side
            await trio.to_thread.run_sync(xvfb.display.run, ["xdotool", "windowmove", window, x, "0"])
        await exact_on_screen(xvfb, left.frame)
        await exact_on_screen(xvfb, right.frame)


def _png(width: int, height: int, seed: int) -> tuple[bytes, np.ndarray]:
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue(), pixels


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


async def test_remote_viewer_png_both_ways_with_xclip(xvfb: Xvfb, tmp_path: Path) -> None:
    require_binary("xclip")
    fb = ss.Framebuffer(W, H)
    agent = ss.GuestAgent(follow_resize=False)
    events = agent.events()
    server = ss.Server(fb, agent=agent)
    async with running(server) as port:
        start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=port))
        await agent_ready(agent)
        host_png, host_pixels = _png(40, 30, 1)
        (tmp_path / "host.png").write_bytes(host_png)
        argv = [
            "xclip",
            "-quiet",
            "-selection",
            "clipboard",
            "-t",
            "image/png",
            "-i",
            str(tmp_path / "host.png"),
        ]
        xvfb.display.start_client("xclip", argv)
        with trio.fail_after(TIMEOUT):
            while True:
                event = await events.receive()
                if isinstance(event, ss.ClipboardOffered) and AgentClipboardType.IMAGE_PNG in event.types:
                    break
        got = await agent.get_image()
        assert got is not None and np.array_equal(_pixels(got), host_pixels)

        server_png, server_pixels = _png(50, 20, 2)
        agent.set_image(server_png)
        out: list[bytes] = []

        def pasted() -> bool:
            try:
                out[:] = [
                    xvfb.display.run(["xclip", "-o", "-selection", "clipboard", "-t", "image/png"]).stdout
                ]
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False
            # until remote-viewer takes the selection for the guest, the host's own xclip
            # still answers with the first picture
            return out[0].startswith(b"\x89PNG") and np.array_equal(_pixels(out[0]), server_pixels)

        await trio.to_thread.run_sync(
            lambda: wait_until("xclip to paste the server's PNG", pasted, timeout=TIMEOUT)
        )


def start_resizing_viewer(xvfb: Xvfb, viewer: str, port: int, config: Path) -> str:
    """Start ``viewer`` with guest resizing on; the title of its window.

    spicy's "Resize guest" is off by default: it is switched on in spicy's settings file.
    """
    if viewer == "remote-viewer":
        start_viewer(xvfb.display, viewer, ViewerOptions(port=port))
        return "spice-python"
    require_binary("spicy")
    settings = config / "spicy" / "settings"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[general]\nresize-guest=true\n", encoding="utf-8")
    argv = viewer_argv("spicy", ViewerOptions(port=port))
    env = {**xvfb.display.env, "XDG_CONFIG_HOME": str(config)}
    xvfb.display.clients.append(procs.start("spicy", argv, xvfb.display.log_dir, env=env))
    return "spice display 0:0"


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_window_resize_resizes_the_framebuffer(viewer: str, xvfb: Xvfb, tmp_path: Path) -> None:
    require_binary("xdotool")
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    agent = ss.GuestAgent()
    events = agent.events()
    server = ss.Server(fb, agent=agent)
    async with running(server) as port:
        title = start_resizing_viewer(xvfb, viewer, port, tmp_path / "config")
        await agent_ready(agent)
        await exact_on_screen(xvfb, fb.frame)
        window = await trio.to_thread.run_sync(lambda: xvfb.display.wait_window(title))
        await trio.to_thread.run_sync(
            lambda: xvfb.display.run(["xdotool", "windowsize", window, "900", "700"])
        )
        with trio.fail_after(TIMEOUT):
            while True:
                event = await events.receive()
                if isinstance(event, ss.ResizeRequested) and event.applied and fb.width > W and fb.height > H:
                    break
        # a window 900x700 minus the viewer's menu, tool and status bars: the framebuffer follows its inside
        assert fb.width <= 900 and fb.height <= 700
        width, height = await settled_size(fb)
        fb.update(pattern_frame(width, height, variant=1))
        await exact_on_screen(xvfb, fb.frame)


@pytest.mark.parametrize("client", ["remote-viewer", "spice view"])
async def test_vv_display_config_reaches_the_agent(client: str, xvfb: Xvfb, tmp_path: Path) -> None:
    """The .vv keys disable-effects and color-depth: spice-gtk's DISPLAY_CONFIG is the reference
    (it ignores color-depth since 0.37: no SET_COLOR_DEPTH)."""
    fb = ss.Framebuffer(W, H)
    agent = ss.GuestAgent(follow_resize=False)
    events = agent.events()
    server = ss.Server(fb, agent=agent)
    async with running(server) as port:
        vv = tmp_path / "console.vv"
        vv.write_text(
            f"[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport={port}\n"
            "disable-effects=wallpaper;animation\ncolor-depth=16\n",
            encoding="utf-8",
        )
        if client == "remote-viewer":
            require_binary("remote-viewer")
            xvfb.display.start_client("remote-viewer", ["remote-viewer", str(vv)])
        else:
            await trio.to_thread.run_sync(lambda: start_spice_view(xvfb.display, str(vv), "--no-audio"))
        with trio.fail_after(TIMEOUT):
            while not isinstance(event := await events.receive(), ss.DisplayConfigured):
                pass
    flags = AgentDisplayConfigFlags
    assert (event.flags, event.depth) == (flags.DISABLE_WALLPAPER | flags.DISABLE_ANIMATION, 0)
