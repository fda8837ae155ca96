"""A relative (server-mode) mouse in a real Linux guest: every delta the Driver sends lands exactly.

The guest (QEMU/TCG, no agent, no tablet) has only QEMU's PS/2 mouse, driven by
``psmouse proto=bare``; its evdev device reports raw deltas (no acceleration),
copied to a file and read back over the serial shell.  QEMU's PS/2 mouse queues
16 bytes and keeps what does not fit for the next mouse event, so an unpaced
burst or one big delta would arrive merged into later events or not at all.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import spice_proto as sp
import spice_session as ss
from peers.evdev import BTN_LEFT, BTN_RIGHT, Report, capture, reports
from peers.linux_guest import LinuxGuest, start_guest
from peers.mouse_walk import PS2_STEP, ps2_packets, seeded_walk
from peers.qemu import Qmp
from spice_session.lowlevel import PacingMode

pytestmark = pytest.mark.interop

CLICKS = [(100, 50, "left"), (600, 400, "left"), (3, 700, "right"), (1000, 10, "left")]
DRAG = ((200, 200), (700, 500))


def _read_reports(guest: LinuxGuest, path: str, origin: tuple[int, int], clicks: int) -> list[Report]:
    """The guest's reports once ``clicks`` left/right releases arrived (bounded wait)."""
    deadline = time.monotonic() + 60
    while True:
        data = bytes.fromhex(guest.sh(f"hexdump -ve '1/1 \"%02x\"' {path}").strip())
        got = reports(data, origin)
        released = sum(r.keys.get(BTN_LEFT) == 0 or r.keys.get(BTN_RIGHT) == 0 for r in got)
        if released >= clicks or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def _presses(got: list[Report]) -> list[tuple[int, int, int]]:
    """(x, y, button) of each press and release, in order (button negative for a release)."""
    return [
        (r.x, r.y, code if value else -code)
        for r in got
        for code, value in sorted(r.keys.items())
        if code in (BTN_LEFT, BTN_RIGHT)
    ]


def _record_led_reports(session: ss.Session) -> list[tuple[float, int]]:
    """(seconds since now, lock flags) of each KEY_MODIFIERS the session gets (the list fills)."""
    start, reports = time.monotonic(), []
    inputs = session.inputs
    handle = inputs.handle

    def recording(message: Any) -> None:
        if isinstance(message, sp.InputsKeyModifiers):
            reports.append((round(time.monotonic() - start, 3), int(message.modifiers)))
        handle(message)

    inputs.handle = recording  # type: ignore[method-assign]
    return reports


async def test_relative_mouse_lands_exactly_in_the_guest(peers: Any) -> None:
    qmp_dir = Path(tempfile.mkdtemp(prefix="qmp-", dir="/tmp"))  # unix socket paths: 108 bytes at most
    try:
        qmp = qmp_dir / "qmp.sock"
        guest = start_guest(peers.log_dir, qemu_args=("-qmp", f"unix:{qmp},server=on,wait=off"))
        peers.started.append(guest)
        client = Qmp(qmp)
        try:
            mice = client.execute("query-mice")
        finally:
            client.close()
        # QEMU's only pointer is the PS/2 mouse, relative: the server can offer only server mode
        assert [(m["name"], m["absolute"], m["current"]) for m in mice] == [("QEMU PS/2 Mouse", False, True)]
        await _drive_and_check(guest)
    finally:
        shutil.rmtree(qmp_dir, ignore_errors=True)


async def _drive_and_check(guest: LinuxGuest) -> None:
    names = guest.sh("grep -l Mouse /sys/class/input/event*/device/name").split()
    assert len(names) == 1, names
    device = "/dev/input/" + names[0].split("/")[-3]
    # events that come before cat has the device open are lost: wait for it
    opened = guest.sh(f"{capture(device, '/tmp/mouse.ev')}; echo $! > /tmp/mouse.pid")
    assert "OPEN" in opened, opened
    async with ss.connect(guest.uri) as session:
        leds = _record_led_reports(session)
        assert session.mouse_mode == sp.MouseMode.SERVER
        assert not session.supported_mouse_modes & sp.MouseMode.CLIENT  # no agent, no tablet
        vm = ss.Driver(session)
        screen = await vm.screenshot()
        height, width = screen.shape[:2]
        origin = (width, height)  # the pin moves left and up by the screen's size
        for x, y, button in CLICKS:
            await vm.click(x, y, button=button)
        await vm.drag(*DRAG)
        path = seeded_walk(DRAG[1], 400, (width, height))
        start = time.monotonic()
        for point in path:
            await vm.move(*point)
        elapsed = time.monotonic() - start
        await vm.click()
        pacing = session.inputs.key_pacer.mode
    guest.sh("kill $(cat /tmp/mouse.pid)")
    got = _read_reports(guest, "/tmp/mouse.ev", origin, len(CLICKS) + 2)
    positions = [r.position for r in got]

    # The pin: whole packets straight to the corner, then each click exactly where it was asked.
    assert all(abs(r.motion[0]) <= PS2_STEP and abs(r.motion[1]) <= PS2_STEP for r in got)
    first_press = next(i for i, r in enumerate(got) if r.keys)
    corner = positions.index((0, 0))
    assert corner == ps2_packets((0, 0), origin) - 1
    assert first_press - corner == ps2_packets((0, 0), CLICKS[0][:2]) + 1
    left, right = BTN_LEFT, BTN_RIGHT
    want = []
    for x, y, button in CLICKS:
        code = right if button == "right" else left
        want += [(x, y, code), (x, y, -code)]
    want += [(*DRAG[0], left), (*DRAG[1], -left), (*path[-1], left), (*path[-1], -left)]
    assert _presses(got) == want

    # The drag: pressed at its start, then exactly its ten steps, released at its end.
    press = next(i for i, r in enumerate(got) if r.keys.get(left) == 1 and r.position == DRAG[0])
    (sx, sy), (ex, ey) = DRAG
    steps = [(sx + (ex - sx) * i // 10, sy + (ey - sy) * i // 10) for i in range(1, 11)]
    assert positions[press + 1 : press + 11] == steps
    assert got[press + 11].keys == {left: 0} and got[press + 11].motion == (0, 0)

    # The long path: every point reached in order, in the fewest packets, nothing merged or lost.
    walk = got[press + 12 : -2]
    expected_packets = sum(ps2_packets(a, b) for a, b in zip([DRAG[1], *path[:-1]], path, strict=True))
    assert len(walk) == expected_packets
    seen = iter(r.position for r in walk)
    assert all(point in seen for point in path)  # a subsequence, in order
    assert walk[-1].position == path[-1]
    # confirmed by the guest's Caps Lock LED, as typing is (the reports, for a failure)
    assert pacing is PacingMode.ECHO, f"LED reports (s, flags): {leds}"  # a str: shown whole
    rate = expected_packets / elapsed
    print(f"{len(path)} moves, {expected_packets} packets in {elapsed:.1f} s ({rate:.0f} packets/s)")
