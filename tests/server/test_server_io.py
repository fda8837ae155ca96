"""Inputs, mouse modes and the cursor channel, with our own client against spice_server."""

from __future__ import annotations

import pytest
import spice_server as ss
import spice_session
import trio
from miniclient import mini_session
from spice_proto import (
    ChannelType,
    CursorFlags,
    CursorHide,
    CursorInit,
    CursorMove,
    CursorSet,
    CursorType,
    InputsInit,
    InputsMouseMotion,
    InputsMouseMotionAck,
    KeyboardModifierFlags,
    MainMouseMode,
    MainMouseModeRequest,
    MouseButtonMask,
    MouseMode,
)
from test_server_clients import serve

W, H = 320, 200


async def test_cursor_init_set_move_hide(nursery: trio.Nursery) -> None:
    server = ss.Server(ss.Framebuffer(W, H))
    addr = await serve(nursery, server)
    assert addr.port is not None
    async with mini_session(addr.port, kinds=(ChannelType.CURSOR,)) as s:
        cursor = s.channels[ChannelType.CURSOR]
        msgs = []
        with trio.fail_after(10):
            while not any(isinstance(m, CursorInit) for m in msgs):
                msgs.append(await cursor.receive())
        init = next(m for m in msgs if isinstance(m, CursorInit))
        assert init.visible and init.cursor.header is not None
        assert init.cursor.header.type == CursorType.ALPHA  # the default arrow
        server.set_cursor(bytes([10, 20, 30, 255]) * 64, 8, 8, 4, 5)
        with trio.fail_after(10):
            got = await cursor.receive()
        assert isinstance(got, CursorSet) and got.cursor.header is not None
        assert (got.cursor.header.width, got.cursor.header.hot_spot_x, got.cursor.header.hot_spot_y) == (
            8,
            4,
            5,
        )
        assert got.cursor.data == bytes([30, 20, 10, 255]) * 64 and got.cursor.flags == CursorFlags(0)
        server.move_cursor(40, 50)
        with trio.fail_after(10):
            assert await cursor.receive() == CursorMove(40, 50)
        server.hide_cursor()
        with trio.fail_after(10):
            assert await cursor.receive() == CursorHide()


async def test_client_mode_events_through_spice_session(nursery: trio.Nursery) -> None:
    server = ss.Server(ss.Framebuffer(W, H))
    addr = await serve(nursery, server)
    with server.input_events() as events:
        async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
            session.events().close()
            assert session.mouse_mode == MouseMode.CLIENT
            await session.inputs.type_text("Hi")
            await session.inputs.mouse_position(12, 34)
            await session.inputs.click()
            got: list[ss.InputEvent] = []
            with trio.fail_after(10):
                async for event in events:
                    got.append(event)
                    if isinstance(event, ss.ButtonEvent) and not event.pressed:
                        break
    keys = [(e.scancode, e.pressed) for e in got if isinstance(e, ss.KeyEvent)]
    assert keys == [(0x2A, True), (0x23, True), (0x23, False), (0x2A, False), (0x17, True), (0x17, False)]
    assert ss.PointerEvent(12, 34, MouseButtonMask(0), session.session_id, 0) in got
    buttons = [(e.pressed, e.x, e.y) for e in got if isinstance(e, ss.ButtonEvent)]
    assert buttons == [(True, 12, 34), (False, 12, 34)]


async def test_server_mouse_mode_relative_motion_acks_and_cursor(nursery: trio.Nursery) -> None:
    server = ss.Server(ss.Framebuffer(W, H))
    addr = await serve(nursery, server)
    assert addr.port is not None
    events = server.input_events()
    async with mini_session(addr.port, kinds=(ChannelType.INPUTS, ChannelType.CURSOR)) as s:
        await s.main.send(MainMouseModeRequest(MouseMode.SERVER))
        with trio.fail_after(10):
            while (reply := await s.main.receive()) is not None and not isinstance(reply, MainMouseMode):
                pass
        assert reply == MainMouseMode(MouseMode.SERVER | MouseMode.CLIENT, MouseMode.SERVER)
        inputs, cursor = s.channels[ChannelType.INPUTS], s.channels[ChannelType.CURSOR]
        assert await inputs.receive() == InputsInit(KeyboardModifierFlags(0))
        while not isinstance(await cursor.receive(), CursorInit):
            pass
        for _ in range(8):
            await inputs.send(InputsMouseMotion(5, 3, MouseButtonMask(0)))
        with trio.fail_after(10):
            assert await inputs.receive() == InputsMouseMotionAck()
            assert await inputs.receive() == InputsMouseMotionAck()
            motions = [await events.receive() for _ in range(8)]
            # the cursor channel follows this client's server-side pointer
            last = CursorMove(0, 0)
            while last != CursorMove(40, 24):
                msg = await cursor.receive()
                assert isinstance(msg, CursorMove)
                last = msg
    assert motions[-1] == ss.MotionEvent(5, 3, 40, 24, MouseButtonMask(0), s.init.session_id)
    events.close()


@pytest.mark.parametrize("mode", [MouseMode.SERVER, MouseMode.CLIENT])
async def test_initial_mouse_mode(mode: MouseMode, nursery: trio.Nursery) -> None:
    server = ss.Server(ss.Framebuffer(W, H), initial_mouse_mode=mode)
    addr = await serve(nursery, server)
    assert addr.port is not None
    async with mini_session(addr.port, kinds=()) as s:
        assert s.init.current_mouse_mode == mode
        assert s.init.supported_mouse_modes == MouseMode.SERVER | MouseMode.CLIENT
        assert s.init.session_id == server.clients[0].id
