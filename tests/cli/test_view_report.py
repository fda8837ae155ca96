"""spice view's bug report (Ctrl+Alt+R) on SDL's dummy driver, against our server: the bundle
spice report makes, with the newest traffic of the viewer's capture ring and no password."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import spice_server as srv
import trio
from PIL import Image
from spice_cli._sdl_logic import Command, HotKeys
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import KeyInput
from spice_net import capture_ring, read_pcap
from spice_proto import Rect
from spice_session import connect

W, H = 160, 120
CTRL, ALT, R = 0xE0, 0xE2, 0x15


def test_ctrl_alt_r_is_the_bug_report_hot_key() -> None:
    keys = HotKeys()
    assert keys.key(CTRL, True) == (True, Command.NONE)
    assert keys.key(ALT, True) == (True, Command.NONE)
    assert keys.key(R, True) == (False, Command.BUG_REPORT)  # R does not reach the guest
    assert keys.key(R, False) == (False, Command.NONE)
    assert keys.key(R, True) == (False, Command.BUG_REPORT)  # again while Ctrl+Alt are held


async def test_ctrl_alt_r_writes_the_bundle(
    sdl: None, nursery: trio.Nursery, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fb = srv.Framebuffer(W, H)
    picture = np.random.default_rng(11).integers(0, 255, (H, W, 3), np.uint8)
    fb.update(picture, Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb, password="s3cr3t")
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    with trio.fail_after(30), capture_ring(seconds=10) as ring:
        async with connect(f"spice://127.0.0.1:{addr.port}", password="s3cr3t") as session:
            await session.screenshot()
            viewer = Viewer(session, ring=ring, report_dir=tmp_path)
            for scancode, pressed in [(CTRL, True), (ALT, True), (R, True), (R, False)]:
                await viewer.on_input(KeyInput(scancode, pressed, False))
            await viewer.on_input(KeyInput(R, True, False))  # a second report, a file of its own
            for scancode, pressed in [(R, False), (ALT, False), (CTRL, False)]:
                await viewer.on_input(KeyInput(scancode, pressed, False))
    assert len(viewer.reports) == 2 and viewer.reports[0] != viewer.reports[1]
    err = capsys.readouterr().err
    assert f"spice view: bug report written to {viewer.reports[0]} " in err
    with zipfile.ZipFile(viewer.reports[0]) as bundle:
        names = set(bundle.namelist())
        assert {"screenshot.png", "stats.json", "stats.txt", "session.json"} <= names
        shot = np.array(Image.open(io.BytesIO(bundle.read("screenshot.png"))).convert("RGB"))
        assert np.array_equal(shot, picture)
        assert {c["name"] for c in json.loads(bundle.read("stats.json"))["channels"]} >= {
            "main:0",
            "display:0",
        }
        assert json.loads(bundle.read("session.json"))["screen"] == [W, H]
        captures = sorted(n for n in names if n.startswith("capture/"))
        assert captures[0] == "capture/01-main-0.pcap" and any("display" in n for n in captures)
        bundle.extractall(tmp_path / "x")
        for name in names:
            assert b"s3cr3t" not in bundle.read(name), name  # the ticket goes RSA-encrypted
    main = read_pcap(tmp_path / "x" / "capture" / "01-main-0.pcap")
    assert main[0].data.startswith(b"REDQ") and main[1].data.startswith(b"REDQ")  # the link
    display = next(n for n in captures if "display" in n)
    received = b"".join(s.data for s in read_pcap(tmp_path / "x" / display) if s.from_server)
    assert len(received) > W * H * 3  # noise does not compress: the picture is in the capture


async def test_a_report_that_cannot_be_written_says_so(
    sdl: None, nursery: trio.Nursery, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = srv.Server(srv.Framebuffer(W, H))
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    with trio.fail_after(30):
        async with connect(f"spice://127.0.0.1:{addr.port}") as session:
            await session.screenshot()
            viewer = Viewer(session, report_dir=tmp_path / "missing")
            assert await viewer.bug_report() is None
    assert "spice view: cannot write" in capsys.readouterr().err and not viewer.reports
