"""The guest agent through Xspice with the real spice-vdagentd and spice-vdagent.

Clipboard both ways is checked with ``xclip`` on the Xspice display, monitors config
with ``xrandr`` and the new primary surface, file transfer with the agent's save
directory.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import spice_session
import trio
from peers.procs import PeerError, wait_until
from peers.require import require_binary
from peers.vdagent import VdAgent, start_vdagent, wait_xrandr, xspice_with_agent
from peers.xspice import Xspice
from spice_proto import AgentCap, AgentClipboardType, AgentSelection

pytestmark = pytest.mark.timeout(180)


class AgentRig:
    def __init__(self, xspice: Xspice, agent: VdAgent) -> None:
        self.xspice = xspice
        self.agent = agent

    def xclip_out(self, target: str = "UTF8_STRING", selection: str = "clipboard") -> bytes:
        result = self.xspice.display.run(["xclip", "-o", "-selection", selection, "-t", target], timeout=10)
        return result.stdout

    def shows(self, expected: bytes, target: str = "UTF8_STRING", selection: str = "clipboard") -> bool:
        """Whether pasting on the Xspice display gives ``expected`` now (no owner yet: False)."""
        try:
            return self.xclip_out(target, selection) == expected
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    def xclip_in(self, path: Path, target: str = "UTF8_STRING", selection: str = "clipboard") -> None:
        argv = ["xclip", "-quiet", "-selection", selection, "-t", target, "-i", str(path)]
        self.xspice.display.start_client("xclip", argv)

    def screen_size(self) -> tuple[int, int]:
        out = self.xspice.display.run(["xdpyinfo"]).stdout.decode()
        match = re.search(r"dimensions:\s+(\d+)x(\d+) pixels", out)
        assert match is not None
        return int(match[1]), int(match[2])


@pytest.fixture
def rig(xspice_factory: Callable[..., Xspice], peers: object, tmp_path: Path) -> AgentRig:
    require_binary("xclip")
    return AgentRig(*xspice_with_agent(xspice_factory, peers.started, tmp_path / "agent"))  # type: ignore[attr-defined]


async def _ready(session: spice_session.Session) -> None:
    await session.agent.ready(timeout=30)


def _png(width: int, height: int) -> tuple[bytes, np.ndarray]:
    from PIL import Image

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue(), pixels


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


async def test_agent_connects_and_announces(rig: AgentRig) -> None:
    async with spice_session.connect(rig.xspice.uri) as session:
        await _ready(session)
        assert session.agent.connected
        caps = session.agent.caps
        assert caps is not None
        assert AgentCap.CLIPBOARD_BY_DEMAND in caps and AgentCap.MONITORS_CONFIG in caps
        assert AgentCap.CLIPBOARD_SELECTION in caps
        assert session.agent.layout.selection


async def test_text_to_guest_and_back(rig: AgentRig, tmp_path: Path) -> None:
    text = "Grüße from the host\nsecond line 💡"
    async with spice_session.connect(rig.xspice.uri) as session:
        await _ready(session)
        await session.clipboard.set_text(text)
        got: list[bytes] = []

        def pasted() -> bool:
            try:
                got[:] = [rig.xclip_out()]
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False
            return got[0].decode() == text

        await trio.to_thread.run_sync(lambda: wait_until("xclip to paste the host text", pasted, timeout=20))
        # PRIMARY as well, independent of CLIPBOARD
        await session.clipboard.set_text("primary words", AgentSelection.PRIMARY)
        await trio.to_thread.run_sync(
            lambda: wait_until("PRIMARY", lambda: rig.shows(b"primary words", selection="primary"))
        )
        assert await trio.to_thread.run_sync(rig.xclip_out) == text.encode()

        # guest -> host: xclip owns CLIPBOARD in the guest, the agent grabs, we request
        source = tmp_path / "guest.txt"
        source.write_text("from the guest\nline two\n", encoding="utf-8")
        rig.xclip_in(source)
        with trio.fail_after(20):
            while AgentClipboardType.UTF8_TEXT not in session.clipboard.guest_types.get(0, ()):
                await trio.sleep(0.05)
        assert await session.clipboard.get_text() == "from the guest\nline two\n"


async def test_png_both_ways(rig: AgentRig, tmp_path: Path) -> None:
    png, pixels = _png(64, 48)
    async with spice_session.connect(rig.xspice.uri) as session:
        await _ready(session)
        await session.clipboard.set_image(png)
        got: list[bytes] = []

        def pasted() -> bool:
            try:
                got[:] = [rig.xclip_out("image/png")]
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False
            return got[0].startswith(b"\x89PNG")

        await trio.to_thread.run_sync(lambda: wait_until("xclip to paste the PNG", pasted, timeout=20))
        assert np.array_equal(_pixels(got[0]), pixels)

        guest_png, guest_pixels = _png(33, 21)
        source = tmp_path / "guest.png"
        source.write_bytes(guest_png)
        rig.xclip_in(source, "image/png")
        with trio.fail_after(20):
            while AgentClipboardType.IMAGE_PNG not in session.clipboard.guest_types.get(0, ()):
                await trio.sleep(0.05)
        back = await session.clipboard.get_image()
        assert back is not None
        assert np.array_equal(_pixels(back), guest_pixels)


async def test_guest_grab_event(rig: AgentRig, tmp_path: Path) -> None:
    async with spice_session.connect(rig.xspice.uri) as session:
        events = session.events()
        with trio.fail_after(30):
            async for event in events:
                if isinstance(event, spice_session.events.AgentReady):
                    break
        source = tmp_path / "g.txt"
        source.write_text("x", encoding="utf-8")
        rig.xclip_in(source)
        with trio.fail_after(20):
            async for event in events:
                if (
                    isinstance(event, spice_session.events.ClipboardGrabbed)
                    and event.selection == AgentSelection.CLIPBOARD
                ):
                    assert AgentClipboardType.UTF8_TEXT in event.types
                    break


async def test_monitors_config_resizes_the_x_screen(rig: AgentRig) -> None:
    require_binary("xrandr")
    assert rig.screen_size() == (1024, 768)
    async with spice_session.connect(rig.xspice.uri) as session:
        await _ready(session)
        await session.screenshot(timeout=20)
        await session.set_monitors([(1280, 800)])
        await trio.to_thread.run_sync(
            lambda: wait_until(
                "the X screen at 1280x800", lambda: rig.screen_size() == (1280, 800), timeout=20
            )
        )
        with trio.fail_after(20):
            while True:
                primary = session.display.primary
                if primary is not None and (primary.width, primary.height) == (1280, 800):
                    break
                await session.display_changed()
        shot = await session.screenshot(settle=0.3, timeout=20)
        assert (shot.width, shot.height) == (1280, 800)


async def test_file_lands_in_the_agents_directory(rig: AgentRig, tmp_path: Path) -> None:
    data = np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    source = tmp_path / "payload.bin"
    source.write_bytes(data)
    seen: list[tuple[int, int]] = []
    async with spice_session.connect(rig.xspice.uri) as session:
        await _ready(session)
        await session.files.send(source, progress=lambda sent, total: seen.append((sent, total)))
    landed = rig.agent.paths.downloads / "payload.bin"
    await trio.to_thread.run_sync(
        lambda: wait_until("the file", lambda: landed.exists() and landed.stat().st_size == len(data))
    )
    assert landed.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and len(seen) > 1


async def test_agent_going_away_and_coming_back(rig: AgentRig) -> None:
    async with spice_session.connect(rig.xspice.uri) as session:
        events = session.events()
        await _ready(session)
        rig.agent.stop()  # the daemon closes Xspice's agent port
        with trio.fail_after(20):
            async for event in events:
                if isinstance(event, spice_session.events.AgentDisconnected):
                    break
        assert not session.agent.connected and session.agent.caps is None
        with pytest.raises(spice_session.AgentError):
            await session.clipboard.set_text("nobody", timeout=0.5)
        # A new daemon: libspice-server kept our tokens while the agent was away and sends
        # the new agent's first chunks on them, before it reads our new AGENT_START (the
        # client used to drop such an agent as "beyond the tokens granted": about every
        # second comeback failed)
        rig.agent = await trio.to_thread.run_sync(lambda: start_vdagent(rig.xspice, rig.agent.paths))
        await session.agent.ready(timeout=30)
        assert session.agent.connected and session.agent.caps is not None
        kinds = []
        while True:
            try:
                kinds.append(type(events.receive_nowait()).__name__)
            except trio.WouldBlock:
                break
        assert "AgentConnected" in kinds and "AgentReady" in kinds  # the comeback is reported
        assert "AgentProblem" not in kinds, kinds

        def pasted() -> bool:
            try:
                return rig.xclip_out() == b"after the reconnect"
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False

        # The daemon announces itself before the X session agent has attached to it, and drops
        # clipboard messages meanwhile (spice-gtk sees the same): offer again until it lands.
        with trio.fail_after(30):
            while True:
                await session.clipboard.set_text("after the reconnect")
                if await trio.to_thread.run_sync(lambda: _within(pasted, 2.0)):
                    break
        rig.agent.stop()


def _within(check: Callable[[], bool], seconds: float) -> bool:
    try:
        wait_until("a check", check, timeout=seconds)
    except PeerError:
        return False
    return True


@pytest.fixture
def rig2(xspice_factory: Callable[..., Xspice], peers: object, tmp_path: Path) -> AgentRig:
    """Xspice with two QXL heads and the real agents."""
    return AgentRig(*xspice_with_agent(xspice_factory, peers.started, tmp_path / "agent", heads=2))  # type: ignore[attr-defined]


async def test_two_monitors_become_two_heads(rig2: AgentRig) -> None:
    require_binary("xrandr")
    async with spice_session.connect(rig2.xspice.uri) as session:
        await _ready(session)
        await session.screenshot(timeout=20)
        await session.set_monitors([(800, 600), (640, 480)])
        await trio.to_thread.run_sync(
            lambda: wait_xrandr(rig2.xspice.display, "800x600+0+0", "640x480+800+0")
        )
        with trio.fail_after(30):  # one display channel, its MONITORS_CONFIG naming both heads
            while [(m.channel_id, m.x, m.width, m.height) for m in session.display.monitor_layout()] != [
                (0, 0, 800, 600),
                (0, 800, 640, 480),
            ]:
                await session.display_changed()
