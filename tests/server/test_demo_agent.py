"""The demo with the built-in agent: it follows the client's monitor size, Ctrl+V pastes the
client's clipboard into the text panel, Ctrl+C offers the panel's text to the client."""

from __future__ import annotations

import pytest
import spice_server
import spice_session
import trio
from spice_proto import AgentClipboardType

pytestmark = pytest.mark.timeout(60)

MIN_SIZE = (320, 200)  # the smallest scene DemoSource lays out (DEMO_MIN_SIZE)


async def test_demo_resizes_and_shares_the_clipboard() -> None:
    demo = spice_server.DemoSource(800, 600)
    agent = spice_server.GuestAgent()
    server = spice_server.Server(demo, agent=agent)
    with trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            addr: spice_server.ServerAddress = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )  # type: ignore[arg-type]
            nursery.start_soon(demo.consume, server.input_events())
            nursery.start_soon(demo.share_clipboard, agent)
            async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
                await session.set_monitors([(1000, 700)])
                assert (demo.width, demo.height) == (1000, 700)
                while True:
                    shot = await session.screenshot(timeout=10)
                    if (shot.width, shot.height) == (1000, 700):
                        break
                    await session.display_changed()
                await session.set_monitors([(100, 100)])  # below the demo's minimum: clamped, not refused
                assert (demo.width, demo.height) == MIN_SIZE

                await session.inputs.type_text("ab")
                await session.clipboard.set_text("pasted words")
                await session.inputs.key("ctrl-v")
                while "pasted words" not in demo.typed:
                    await trio.sleep(0.02)
                assert demo.typed == "abpasted words"

                await session.inputs.key("ctrl-c")
                while AgentClipboardType.UTF8_TEXT not in session.clipboard.guest_types.get(0, ()):
                    await trio.sleep(0.02)
                assert await session.clipboard.get_text() == "abpasted words"
            nursery.cancel_scope.cancel()
