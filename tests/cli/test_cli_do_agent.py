"""``spice do`` agent actions against spice_server's srv.GuestAgent: clipboard, send-file, resize."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import spice_server as srv
import trio
from peers.spice_cli_proc import spice
from spice_cli._do import Action, parse_actions
from spice_cli._run import UsageError

pytestmark = pytest.mark.timeout(90)


async def _server(nursery: trio.Nursery, server: srv.Server) -> str:
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    return f"spice://127.0.0.1:{addr.port}"


def test_parse_agent_actions() -> None:
    assert parse_actions(
        ["clipboard-set", "hi there", "clipboard-get", "send-file", "a.txt", "resize", "800x600,1024x768"]
    ) == [
        Action("clipboard-set", ("hi there",)),
        Action("clipboard-get", ()),
        Action("send-file", ("a.txt",)),
        Action("resize", ((800, 600), (1024, 768))),
    ]
    for bad in ("800", "800x", "0x600", "axb", "800x600,"):
        with pytest.raises(UsageError, match="WxH"):
            parse_actions(["resize", bad])


async def test_agent_actions_reach_our_server(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent(files_dir=tmp_path / "inbox")
    events = agent.events()
    uri = await _server(nursery, srv.Server(fb, agent=agent))
    agent.set_text("from the server\nsecond")
    payload = tmp_path / "notes.txt"
    payload.write_bytes(b"x" * 100_000)
    done = trio.Event()
    results: list[subprocess.CompletedProcess[bytes]] = []

    async def run() -> None:
        results.append(
            await spice(
                "do",
                uri,
                "clipboard-get",
                "resize",
                "400x300",
                "send-file",
                str(payload),
                "clipboard-set",
                "typed in spice do",
                "pause",
                "3",
            )
        )
        done.set()

    nursery.start_soon(run)
    with trio.fail_after(60):
        async for event in events:
            if isinstance(event, srv.ClipboardOffered) and event.types:
                break
    assert await agent.get_text() == "typed in spice do"
    await done.wait()
    result = results[0]
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "from the server",
        "second",
        f"{payload}: 100000 bytes sent",
    ]
    assert (fb.width, fb.height) == (400, 300)
    assert (tmp_path / "inbox" / "notes.txt").read_bytes() == payload.read_bytes()


async def test_no_agent_is_exit_code_11(nursery: trio.Nursery) -> None:
    uri = await _server(nursery, srv.Server(srv.Framebuffer(64, 48)))
    result = await spice("do", uri, "clipboard-set", "x")
    assert result.returncode == 11, result.stderr
    assert b"agent" in result.stderr
