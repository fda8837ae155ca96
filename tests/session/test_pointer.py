"""Exact relative motion for a guest's PS/2 mouse: split into packets, paced by the guest's confirmations."""

from __future__ import annotations

import itertools

import pytest
import spice_proto as sp
import spice_session as ss
import trio
import trio.testing
from spice_session import Driver, Inputs
from spice_session._pointer import PS2_MOUSE_PACKETS, PS2_STEP, PointerBudget, split_motion
from spice_session._typing import IDLE_RESET, PacingMode

CAPS_LOCK = 0x3A


class Ps2Mouse:
    """A VM's inputs channel in server mouse mode, in front of QEMU's PS/2 mouse and a slow guest.

    As QEMU does: each motion, press or release is one mouse event; its delta adds to
    what is held, then packets (3 bytes, at most 127 per axis) go into the 16-byte queue
    while there is room; what does not fit waits for the next event.  The guest reads a
    packet every ``packet_time`` and sums them; Caps Lock strokes come back as LED
    reports after ``led_delay``; every 4th motion is acknowledged.
    """

    def __init__(self, packet_time: float = 0.01, led_delay: float = 0.05) -> None:
        self.packet_time = packet_time
        self.led_delay = led_delay
        self.held = [0, 0]
        self.buttons = 0
        self.queue: list[tuple[int, int, int]] = []
        #: (x, y, buttons) after each packet the guest read.
        self.seen: list[tuple[int, int, int]] = []
        self.caps = False
        self.motions = 0
        self.inputs: Inputs | None = None
        self._x = self._y = 0
        self._leds_in, self._leds_out = trio.open_memory_channel[bool](100)

    async def send(self, message: sp.Message) -> None:
        assert self.inputs is not None
        if isinstance(message, sp.InputsKeyDown) and message.code == CAPS_LOCK:
            self.caps = not self.caps
            self._leds_in.send_nowait(self.caps)
            return
        if isinstance(message, sp.InputsMouseMotion):
            self.held[0] += message.dx
            self.held[1] += message.dy
            self.motions += 1
            if self.motions % sp.INPUT_MOTION_ACK_BUNCH == 0:
                self.inputs.handle(sp.InputsMouseMotionAck())
        elif isinstance(message, sp.InputsMousePress | sp.InputsMouseRelease):
            self.buttons = int(message.buttons_state)
        else:
            return
        while len(self.queue) < 16 // 3:  # QEMU: whole packets only, while there is room
            dx, dy = (max(-PS2_STEP, min(PS2_STEP, d)) for d in self.held)
            self.queue.append((dx, dy, self.buttons))
            self.held[0] -= dx
            self.held[1] -= dy
            if self.held == [0, 0]:
                break

    async def _leds(self) -> None:
        assert self.inputs is not None
        async for caps in self._leds_out:
            await trio.sleep(self.led_delay)
            self.inputs.handle(sp.InputsKeyModifiers(sp.KeyboardModifierFlags.CAPS_LOCK * caps))

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._leds)
            await self._read()

    async def _read(self) -> None:
        while True:
            await trio.sleep(self.packet_time)
            if self.queue:
                dx, dy, buttons = self.queue.pop(0)
                self._x += dx
                self._y += dy
                self.seen.append((self._x, self._y, buttons))

    def presses(self) -> list[tuple[int, int, int]]:
        """(x, y, buttons) of each packet whose buttons differ from the one before."""
        out, last = [], 0
        for x, y, buttons in self.seen:
            if buttons != last:
                out.append((x, y, buttons))
            last = buttons
        return out


def test_split_motion_takes_the_fewest_even_packets() -> None:
    assert split_motion(0, 0) == []
    assert split_motion(5, -3) == [(5, -3)]
    assert split_motion(127, -127) == [(127, -127)]
    assert split_motion(128, 0) == [(64, 0), (64, 0)]
    steps = split_motion(-10000, 767)
    assert len(steps) == 79  # ceil(10000 / 127)
    assert sum(s[0] for s in steps) == -10000 and sum(s[1] for s in steps) == 767
    assert all(abs(x) <= PS2_STEP and abs(y) <= PS2_STEP for x, y in steps)
    assert max(abs(x) for x, _ in steps) - min(abs(x) for x, _ in steps) <= 1
    with pytest.raises(ValueError):
        split_motion(1, 1, step=0)


def test_budget_allows_a_queue_of_packets_then_asks_for_a_confirmation() -> None:
    budget = PointerBudget()
    for _ in range(PS2_MOUSE_PACKETS):
        assert not budget.must_settle(0.0)
        budget.sent(0.0)
    assert budget.must_settle(0.0)
    assert not budget.must_settle(IDLE_RESET)  # idle long enough: the guest has read it all
    budget.sent(IDLE_RESET)
    budget.settled()
    assert budget.unconfirmed == 0


async def _drive(mouse: Ps2Mouse, script: object, drain: float = 10.0) -> Inputs:
    inputs = Inputs(mouse)
    mouse.inputs = inputs
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mouse.run)
        await script(inputs)  # type: ignore[operator]
        await trio.sleep(drain)
        nursery.cancel_scope.cancel()
    return inputs


async def test_exact_motion_lands_whole_in_a_slow_guest(autojump_clock: trio.testing.MockClock) -> None:
    mouse = Ps2Mouse()
    left = int(sp.MouseButtonMask.LEFT)

    async def script(inputs: Inputs) -> None:
        await inputs.move_by(-10000, -10000)  # pin: 79 packets
        await inputs.move_by(300, 200)
        await inputs.click(exact=True)
        for _ in range(40):  # a fast path of small moves
            await inputs.move_by(7, -3)
        await inputs.mouse_press(exact=True)
        await inputs.move_by(-500, 0)
        await inputs.mouse_release(exact=True)

    inputs = await _drive(mouse, script)
    pin = (-10000, -10000)
    click = (pin[0] + 300, pin[1] + 200)
    path_end = (click[0] + 280, click[1] - 120)
    assert mouse.presses() == [
        (*click, left),
        (*click, 0),
        (*path_end, left),
        (path_end[0] - 500, path_end[1], 0),
    ]
    # every move is its own packets, none merged: the path's 40 points are all there
    positions = [(x, y) for x, y, _ in mouse.seen]
    assert all((click[0] + 7 * i, click[1] - 3 * i) in positions for i in range(1, 41))
    assert mouse.held == [0, 0] and len(mouse.seen) == 79 + 3 + 2 + 40 + 1 + 4 + 1
    assert inputs.key_pacer.mode is PacingMode.ECHO and not mouse.caps


async def test_unpaced_motion_would_not_land(autojump_clock: trio.testing.MockClock) -> None:
    """The simulated mouse really holds back what does not fit (so the test above can fail)."""
    mouse = Ps2Mouse()

    async def script(inputs: Inputs) -> None:
        await inputs.mouse_motion(-10000, -10000)
        await inputs.mouse_motion(300, 200)
        await inputs.click()

    await _drive(mouse, script)
    assert mouse.held != [0, 0]  # stuck in QEMU until some later mouse event
    assert (-9700, -9800, int(sp.MouseButtonMask.LEFT)) not in mouse.presses()  # the click: lost


async def test_a_server_without_a_vm_gets_motion_unsplit_and_unpaced() -> None:
    sent: list[sp.Message] = []

    class Server:
        async def send(self, message: sp.Message) -> None:
            sent.append(message)

    inputs = Inputs(Server(), paced=False)
    with trio.fail_after(0.5):  # the window (two bunches) never fills: nothing waits
        for _ in range(4):
            await inputs.move_by(-10000, 5)
        await inputs.click(exact=True)
    assert [(m.dx, m.dy) for m in sent if isinstance(m, sp.InputsMouseMotion)] == [(-10000, 5)] * 4
    assert inputs.pointer_budget.unconfirmed == 6 and not any(isinstance(m, sp.InputsKeyDown) for m in sent)


async def test_exact_motion_waits_for_the_ack_window_not_forever(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sent: list[sp.Message] = []

    class Silent:  # never acknowledges
        async def send(self, message: sp.Message) -> None:
            sent.append(message)

    inputs = Inputs(Silent(), paced=False)
    start = trio.current_time()
    for _ in range(2 * sp.INPUT_MOTION_ACK_BUNCH):
        await inputs.move_by(1, 1)
    assert trio.current_time() == start  # a full window goes out at once
    await inputs.move_by(1, 1)
    assert trio.current_time() - start == pytest.approx(1.0)  # then waits for an ack, bounded
    for _ in range(20):
        await inputs.move_by(1, 1)
    assert trio.current_time() - start == pytest.approx(1.0)  # and not again before an ack
    assert len(sent) == 2 * sp.INPUT_MOTION_ACK_BUNCH + 21
    inputs.handle(sp.InputsMouseMotionAck())  # acks again: the window applies again
    inputs.pacer.unacked = 2 * sp.INPUT_MOTION_ACK_BUNCH

    async def ack_soon() -> None:
        await trio.sleep(0.1)
        inputs.handle(sp.InputsMouseMotionAck())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ack_soon)
        start = trio.current_time()
        await inputs.move_by(1, 1)
    assert trio.current_time() - start == pytest.approx(0.1)


async def test_driver_pins_by_the_screen_size_then_moves_exactly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mouse = Ps2Mouse()

    class Screen:
        width, height = 1024, 768

    class Display:
        primary = Screen()

    class Session:
        mouse_mode = sp.MouseMode.SERVER
        supported_mouse_modes = sp.MouseMode.SERVER
        display = Display()

    async def script(inputs: Inputs) -> None:
        session = Session()
        session.inputs = inputs  # type: ignore[attr-defined]
        vm = Driver(session)  # type: ignore[arg-type]
        await vm.click(100, 50)
        await vm.drag((10, 10), (210, 110), steps=4)

    await _drive(mouse, script)
    left = int(sp.MouseButtonMask.LEFT)
    origin = (-1024 + 0, -768 + 0)
    at = [(x - origin[0], y - origin[1], b) for x, y, b in mouse.presses()]
    assert at == [(100, 50, left), (100, 50, 0), (10, 10, left), (210, 110, 0)]
    assert [(x - origin[0], y - origin[1]) for x, y, _ in mouse.seen][-5:-1] == [
        (60, 35),
        (110, 60),
        (160, 85),
        (210, 110),
    ]


async def test_against_our_server_every_delta_arrives_in_packet_sized_steps() -> None:
    """Over a real connection: our server names a VM (MAIN_UUID), so exact motion is split and
    confirmed by its Caps Lock LED reports; the motion events add up to every point asked."""
    import spice_server as srv

    server = srv.Server(srv.Framebuffer(1024, 768), initial_mouse_mode=sp.MouseMode.SERVER)
    path = [(500, 400), (100, 700), (1000, 5), (1003, 9), (0, 0)]
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        events = server.input_events(max_buffer=10_000)
        async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
            inputs = session.inputs
            with trio.fail_after(20):
                for a, b in itertools.pairwise(path):
                    await inputs.move_by(b[0] - a[0], b[1] - a[1])
                await inputs.click(exact=True)
            mode = inputs.key_pacer.mode
        seen: list[tuple[int, int]] = []
        clicks: list[tuple[int, int]] = []
        x, y = path[0]
        with trio.fail_after(20):
            async for event in events:
                if isinstance(event, srv.MotionEvent):
                    assert abs(event.dx) <= PS2_STEP and abs(event.dy) <= PS2_STEP
                    x, y = x + event.dx, y + event.dy
                    seen.append((x, y))
                elif isinstance(event, srv.ButtonEvent):
                    clicks.append((x, y))
                    if len(clicks) == 2:
                        break
        nursery.cancel_scope.cancel()
    assert mode is PacingMode.ECHO
    walk = iter(seen)
    assert all(point in walk for point in path[1:])
    assert seen[-1] == path[-1] and clicks == [path[-1], path[-1]]
    assert len(seen) == 4 + 8 + 1 + 8  # the fewest packets for each move
