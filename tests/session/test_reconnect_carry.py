"""run_reconnecting carries a lost session's state to the next one (spice_server restarted on
the same port): held keys and buttons released on the new server, the lock keys set again,
the typing layout kept, client mouse mode asked for again, the monitor layout and our
clipboard offer re-sent to the new agent."""

from __future__ import annotations

from collections.abc import Callable

import spice_server as srv
import spice_session
import trio
from peers.ports import free_tcp_port
from peers.server_task import serve_until as _serve_until
from spice_proto import AgentSelection, InputsKeyModifiers, KeyboardModifierFlags, MouseButton, MouseMode
from spice_session._carry import CarriedState, carried_state
from spice_session._reconnect import Backoff, run_reconnecting

W, H = 96, 64
A = 0x1E  # set-1 make code of A


async def _until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    with trio.move_on_after(timeout):
        while not condition():
            await trio.sleep(0.02)
    assert condition(), what


async def _restart(nursery: trio.Nursery, stop: trio.Event, port: int, second: srv.Server) -> None:
    stop.set()
    await trio.sleep(0.3)  # the client retries meanwhile: refused, then back
    await nursery.start(_serve_until, second, port, trio.Event())


async def test_held_keys_and_buttons_are_released_locks_and_mouse_mode_set_again(
    nursery: trio.Nursery,
) -> None:
    port = free_tcp_port()
    stop = trio.Event()
    await nursery.start(_serve_until, srv.Server(srv.Framebuffer(W, H)), port, stop)
    second = srv.Server(srv.Framebuffer(W, H))
    second_events = second.input_events()
    sessions: list[spice_session.Session] = []
    carried: list[CarriedState] = []
    received: list[srv.InputEvent] = []

    async def body(session: spice_session.Session) -> None:
        sessions.append(session)
        if len(sessions) > 1:
            with trio.move_on_after(20):
                async for event in second_events:
                    received.append(event)
                    if {srv.KeyEvent, srv.ButtonEvent, srv.ModifiersEvent} <= {type(e) for e in received}:
                        break
            await _until(lambda: session.mouse_mode == MouseMode.CLIENT, "client mouse mode again")
            return
        await session.screenshot(timeout=20)
        if session.mouse_mode != MouseMode.CLIENT:
            await session.request_mouse_mode(MouseMode.CLIENT)
            await _until(lambda: session.mouse_mode == MouseMode.CLIENT, "client mouse mode")
        # the guest's lock keys as a server reports them (QEMU does after each change; ours does not)
        session.inputs.handle(InputsKeyModifiers(KeyboardModifierFlags.NUM_LOCK))
        session.inputs.layout = spice_session.get_layout("de")  # what Driver(session, "de") does
        await session.inputs.key_down(A)  # held when the server goes
        await session.inputs.mouse_press(MouseButton.LEFT)
        carried.append(carried_state(session))
        nursery.start_soon(_restart, nursery, stop, port, second)
        await trio.sleep_forever()

    with trio.fail_after(60):
        await run_reconnecting(f"spice://127.0.0.1:{port}", body, backoff=Backoff(first=0.1, limit=0.2))
    state = carried[0]
    assert state.keys_down == {A} and state.buttons == (MouseButton.LEFT,)
    assert state.locks == KeyboardModifierFlags.NUM_LOCK and state.client_mouse
    keys = [e for e in received if isinstance(e, srv.KeyEvent)]
    assert [(k.scancode, k.pressed) for k in keys] == [(A, False)], received  # released, never pressed
    buttons = [e for e in received if isinstance(e, srv.ButtonEvent)]
    assert [(b.button, b.pressed) for b in buttons] == [(MouseButton.LEFT, False)]
    assert [e.modifiers for e in received if isinstance(e, srv.ModifiersEvent)][-1] == (
        KeyboardModifierFlags.NUM_LOCK
    )
    assert sessions[1].mouse_mode == MouseMode.CLIENT
    assert sessions[1].inputs.layout.name == "de"


async def test_the_new_agent_gets_the_layout_and_the_clipboard_again(nursery: trio.Nursery) -> None:
    port = free_tcp_port()
    stop = trio.Event()
    first = srv.Server(srv.Framebuffer(W, H), agent=srv.GuestAgent(follow_resize=False))
    await nursery.start(_serve_until, first, port, stop)
    second_agent = srv.GuestAgent(follow_resize=False)
    agent_events = second_agent.events()
    second = srv.Server(srv.Framebuffer(W, H), agent=second_agent)
    resizes: list[srv.ResizeRequested] = []
    pasted: list[str | None] = []

    async def body(session: spice_session.Session) -> None:
        if resizes or pasted:
            raise AssertionError("a third session")
        if session.uri.port == port and stop.is_set():  # the second session
            with trio.move_on_after(20):
                async for event in agent_events:
                    if isinstance(event, srv.ResizeRequested):
                        resizes.append(event)
                        break
            await _until(
                lambda: int(AgentSelection.CLIPBOARD) in second_agent.client_offers, "clipboard grab"
            )
            pasted.append(await second_agent.get_text())
            return
        await session.screenshot(timeout=20)
        await session.set_monitors([(80, 60)])
        await session.clipboard.set_text("carried over")
        nursery.start_soon(_restart, nursery, stop, port, second)
        await trio.sleep_forever()

    with trio.fail_after(60):
        await run_reconnecting(f"spice://127.0.0.1:{port}", body, backoff=Backoff(first=0.1, limit=0.2))
    assert resizes and [(m.width, m.height) for m in resizes[0].monitors] == [(80, 60)]
    assert pasted == ["carried over"]
