"""spice view FILE.vv applies the file's hot keys (SDL's dummy driver, keys synthesised as SDL
events, our server recording what reaches it): toggle-fullscreen=shift+f11 toggles the window
and F11 stays back, Ctrl+Alt+F (the default) goes to the guest, secure-attention=ctrl+alt+end
sends Ctrl+Alt+Del and never End; --hotkeys overrides the file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import spice_server as srv
import trio
from peers.ports import free_tcp_port
from peers.server_task import serve_until
from spice_cli import _sdl_viewer
from spice_cli._cli import build_parser
from test_view_reconnect_sdl import _push_key, _push_quit, _server, _until

LCTRL, LSHIFT, LALT = 0xE0, 0xE1, 0xE2
F, F11, END = 0x09, 0x44, 0x4D
# set-1 make codes
CTRL1, SHIFT1, ALT1, F1_, F11_1, END1, DEL1 = 0x1D, 0x2A, 0x38, 0x21, 0x57, 0xE04F, 0xE053


async def _keys_until(
    events: trio.MemoryReceiveChannel[srv.InputEvent], last: tuple[int, bool]
) -> list[tuple[int, bool]]:
    keys: list[tuple[int, bool]] = []
    while not keys or keys[-1] != last:
        event = await events.receive()
        if isinstance(event, srv.KeyEvent):
            keys.append((event.scancode, event.pressed))
    return keys


async def _viewing(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch, *extra: str
) -> tuple[list[Any], trio.MemoryReceiveChannel[srv.InputEvent], list[object]]:
    viewers: list[Any] = []

    class Kept(_sdl_viewer.Viewer):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            viewers.append(self)

    monkeypatch.setattr(_sdl_viewer, "Viewer", Kept)
    port = free_tcp_port()
    server = _server((10, 120, 10))
    events = server.input_events()
    await nursery.start(serve_until, server, port, trio.Event())
    vv = tmp_path / "hotkeys.vv"
    vv.write_text(
        f"[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport={port}\n"
        "toggle-fullscreen=shift+f11\nsecure-attention=ctrl+alt+end\nrelease-cursor=ctrl+alt\n"
    )
    args = build_parser().parse_args(["view", str(vv), "--no-audio", "--no-clipboard", *extra])
    codes: list[object] = []

    async def view() -> None:
        codes.append(await args.command(args, io.StringIO()))

    nursery.start_soon(view)
    await _until(lambda: bool(viewers) and viewers[0].window is not None and viewers[0].attached, "a window")
    return viewers, events, codes


async def test_vv_hot_keys_replace_the_defaults(
    sdl: None,
    nursery: trio.Nursery,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with trio.fail_after(60):
        viewers, events, codes = await _viewing(tmp_path, nursery, monkeypatch)
        window = viewers[0].window
        assert "Shift+F11 fullscreen" in viewers[0]._title()
        for code, pressed in [(LSHIFT, True), (F11, True), (F11, False), (LSHIFT, False)]:
            _push_key(code, pressed)
        await _until(lambda: window.fullscreen, "fullscreen by Shift+F11")
        assert await _keys_until(events, (SHIFT1, False)) == [(SHIFT1, True), (SHIFT1, False)]  # no F11
        for code, pressed in [
            (LCTRL, True),
            (LALT, True),
            (F, True),
            (F, False),
            (LALT, False),
            (LCTRL, False),
        ]:
            _push_key(code, pressed)
        keys = await _keys_until(events, (CTRL1, False))
        assert keys == [(CTRL1, True), (ALT1, True), (F1_, True), (F1_, False), (ALT1, False), (CTRL1, False)]
        assert window.fullscreen  # Ctrl+Alt+F went to the guest
        for code, pressed in [
            (LCTRL, True),
            (LALT, True),
            (END, True),
            (END, False),
            (LALT, False),
            (LCTRL, False),
        ]:
            _push_key(code, pressed)
        keys = await _keys_until(events, (CTRL1, False))  # Ctrl+Alt+Del sent whole: ends with Ctrl up
        keys += await _keys_until(events, (CTRL1, False))  # then the physical Alt and Ctrl let go
        assert (DEL1, True) in keys and (DEL1, False) in keys and all(k[0] != END1 for k in keys), keys
        _push_quit()
        await _until(lambda: bool(codes), "spice view returns")
    assert codes == [0]


async def test_hotkeys_option_over_the_file(
    sdl: None,
    nursery: trio.Nursery,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with trio.fail_after(60):
        viewers, events, codes = await _viewing(
            tmp_path, nursery, monkeypatch, "--hotkeys", "toggle-fullscreen=ctrl+alt+f11"
        )
        window = viewers[0].window
        for code, pressed in [(LSHIFT, True), (F11, True), (F11, False), (LSHIFT, False)]:
            _push_key(code, pressed)
        keys = await _keys_until(events, (SHIFT1, False))
        assert keys == [(SHIFT1, True), (F11_1, True), (F11_1, False), (SHIFT1, False)]  # the file's is gone
        assert not window.fullscreen
        for code, pressed in [
            (LCTRL, True),
            (LALT, True),
            (F11, True),
            (F11, False),
            (LALT, False),
            (LCTRL, False),
        ]:
            _push_key(code, pressed)
        await _until(lambda: window.fullscreen, "fullscreen by Ctrl+Alt+F11")
        _push_quit()
        await _until(lambda: bool(codes), "spice view returns")
    assert codes == [0]


def test_a_bad_hot_key_in_the_file_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spice_cli import main

    vv = tmp_path / "bad.vv"
    vv.write_text(
        "[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport=1\npassword=s3cret\ntoggle-fullscreen=ctrl+nokey\n"
    )
    assert main(["view", str(vv)]) == 2
    err = capsys.readouterr().err
    assert "hot key" in err and "nokey" in err and "s3cret" not in err and "Traceback" not in err
