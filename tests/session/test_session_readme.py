"""The README example runs against our own spice_server: it sees the screen, its input arrives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import spice_proto as sp
import spice_server
import trio

README = Path(__file__).resolve().parents[2] / "packages" / "spice-session" / "README.md"


def _example() -> str:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    return code.group(1)


async def test_readme_example(capsys: pytest.CaptureFixture[str]) -> None:
    framebuffer = spice_server.Framebuffer(320, 200)
    framebuffer.fill((200, 100, 50))
    server = spice_server.Server(framebuffer, password="secret")
    received: list[object] = []

    async def collect(events: trio.MemoryReceiveChannel[Any]) -> None:
        async for event in events:
            received.append(event)

    async with trio.open_nursery() as nursery:
        addr: spice_server.ServerAddress = await nursery.start(server.serve, "127.0.0.1", 0)
        nursery.start_soon(collect, server.input_events())
        # the example as printed, against this server and without trio.run (we are inside trio)
        source = _example().replace("trio.run(main)\n", "").replace(":5900", f":{addr.port}")
        namespace: dict[str, Any] = {}
        exec(compile(source, str(README), "exec"), namespace)
        with trio.fail_after(20):
            await namespace["main"]()
            while sum(isinstance(e, spice_server.ButtonEvent) for e in received) < 2:
                await trio.sleep(0.02)  # the click is sent last
        nursery.cancel_scope.cancel()
    # (Caps Lock strokes are the typing pacer's probe for an LED echo: our server names a VM UUID)
    typed = [e for e in received if isinstance(e, spice_server.KeyEvent) and e.pressed and e.scancode != 0x3A]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "320 200 [200 100  50]"
    assert re.fullmatch(r"changed: 0 Rect\(left=\d+, top=\d+, right=\d+, bottom=\d+\)", lines[1]), lines
    # "Hello, World!\n": 14 keys, plus Shift for H, W and !
    assert len(typed) == 17 and typed[0].scancode == 0x2A and typed[1].scancode == 0x23  # Shift, H
    pointer = [e for e in received if isinstance(e, spice_server.PointerEvent)]
    assert pointer and (pointer[-1].x, pointer[-1].y) == (100, 50)  # the server starts in client mode
    buttons = [(e.button, e.pressed, e.x, e.y) for e in received if isinstance(e, spice_server.ButtonEvent)]
    assert buttons == [(sp.MouseButton.LEFT, True, 100, 50), (sp.MouseButton.LEFT, False, 100, 50)]
