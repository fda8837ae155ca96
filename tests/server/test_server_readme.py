"""The README example runs: it serves, a client sees the colour it fills, its events come out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spice_server
import trio
from miniclient import mini_session
from spice_proto import ChannelType, InputsKeyDown

README = Path(__file__).resolve().parents[2] / "packages" / "spice-server" / "README.md"


def _example() -> str:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    return code.group(1)


async def test_readme_example(
    nursery: trio.Nursery, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[spice_server.Server] = []
    serve = spice_server.Server.serve

    async def recording_serve(self: spice_server.Server, *args: Any, **kwargs: Any) -> None:
        started.append(self)
        await serve(self, *args, **kwargs)

    monkeypatch.setattr(spice_server.Server, "serve", recording_serve)
    # the example as printed, on a free port and without trio.run (we are inside trio already)
    source = _example().replace("trio.run(main)\n", "").replace('"127.0.0.1", 5900', '"127.0.0.1", 0')
    namespace: dict[str, Any] = {}
    exec(compile(source, str(README), "exec"), namespace)
    nursery.start_soon(namespace["main"])
    with trio.fail_after(10):
        while not started or started[0].address is None:
            await trio.sleep(0.01)
    addr = started[0].address
    assert addr is not None and addr.port is not None
    expected = np.zeros((480, 640, 4), np.uint8)
    expected[:, :] = (128, 64, 0, 0)  # fill((0, 64, 128)) is R, G, B; frames are B, G, R, X
    async with mini_session(addr.port, password="secret") as s:
        await s.show(expected)
        await s.channels[ChannelType.INPUTS].send(InputsKeyDown(0x1E))
        with trio.fail_after(10):
            while "KeyEvent(scancode=30, pressed=True" not in capsys.readouterr().out:
                await trio.sleep(0.02)
    nursery.cancel_scope.cancel()
