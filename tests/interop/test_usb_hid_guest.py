"""A virtual USB keyboard and mouse in a real Linux guest: QEMU's ``usb-redir`` on a spicevmc
chardev, our client as the USB host, the reports on an interrupt IN endpoint.

The guest's kernel binds usbhid + hid-generic to the boot interface, evdev gives it a
/dev/input/eventN, and the keys we press and the motion we send arrive there as evdev
events (read over the serial shell).  Caps Lock makes the guest's console turn its LED on:
the kernel sends the LED output report to our keyboard's interrupt OUT endpoint.
"""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
import spice_session as ss
import trio
from peers.evdev import capture
from peers.linux_guest import LinuxGuest, start_guest
from spice_session.lowlevel import usb_keyboard, usb_mouse
from test_usb_guest import USB_ARGS, sh

pytestmark = pytest.mark.interop

#: Guest modules, in load order (hid.ko before its users).
HID_MODULES = (
    "drivers/hid/hid.ko",
    "drivers/hid/usbhid/usbhid.ko",
    "drivers/hid/hid-generic.ko",
    "drivers/input/evdev.ko",
)
EV_KEY, EV_REL = 1, 2
# HID usages and the Linux key codes they become
HID_A, HID_B, HID_CAPS = 0x04, 0x05, 0x39
KEY_A, KEY_B = 30, 48


def guest_extra(root: Path) -> Path:
    kernel = sorted(p.name.removeprefix("vmlinuz-") for p in Path("/boot").glob("vmlinuz-*"))[-1]
    root.mkdir()
    for module in HID_MODULES:
        shutil.copy(f"/lib/modules/{kernel}/kernel/{module}", root / Path(module).name)
    return root


@pytest.fixture
def hid_guest(peers: Any, tmp_path: Path) -> LinuxGuest:
    guest = start_guest(peers.log_dir, extra=guest_extra(tmp_path / "extra"), qemu_args=USB_ARGS)
    peers.started.append(guest)
    # (a module the guest already loads, e.g. evdev, is left alone)
    out = guest.sh(
        "; ".join(
            f"[ -d /sys/module/{Path(m).stem.replace('-', '_')} ] || insmod /extra/{Path(m).name}"
            f" || echo FAILED {m}"
            for m in HID_MODULES
        )
    )
    assert "FAILED" not in out, out
    return guest


async def event_node(guest: LinuxGuest, name: str) -> str:
    """The /dev/input/eventN the guest gave the input device ``name`` (waits up to 60 s)."""
    out = await sh(
        guest,
        f"for i in $(seq 240); do grep -q '{name}' /proc/bus/input/devices && break; sleep 0.25; done;"
        " cat /proc/bus/input/devices",
    )
    for block in out.split("\n\n"):
        if name in block and (found := re.search(r"Handlers=.*?\b(event\d+)", block)):
            return f"/dev/input/{found.group(1)}"
    raise AssertionError(f"no input device {name!r}: {out} {await sh(guest, 'dmesg | tail -20')}")


def parse_events(dump: str) -> list[tuple[int, int, int]]:
    """(type, code, value) of each x86-64 ``struct input_event`` (24 bytes) in a hex dump."""
    raw = bytes.fromhex("".join(dump.split()))
    return [struct.unpack_from("<HHi", raw, off + 16) for off in range(0, len(raw) - 23, 24)]


async def read_events(
    guest: LinuxGuest, path: str, done: Any, timeout: float = 60.0
) -> list[tuple[int, int, int]]:
    """The events captured in ``path`` once ``done(events)`` holds (polled, bounded)."""
    events: list[tuple[int, int, int]] = []
    with trio.move_on_after(timeout):
        while True:
            dump = await sh(guest, f'hexdump -v -e \'24/1 "%02x" "\\n"\' {path}')
            events = parse_events(dump)
            if done(events):
                return events
            await trio.sleep(0.5)
    raise AssertionError(f"events in {path} after {timeout} s: {events}")


async def test_usb_keyboard_and_mouse_reach_evdev(hid_guest: LinuxGuest) -> None:
    keyboard = usb_keyboard()
    with trio.fail_after(300):
        async with ss.connect(hid_guest.uri) as session:
            async with session.usb.attach(keyboard) as dev:
                await dev.wait_configured(timeout=60)
                node = await event_node(hid_guest, "Python USB keyboard")
                bound = await sh(hid_guest, "ls /sys/bus/usb/drivers/usbhid/")
                assert re.search(r"\d+-\d+:1\.0", bound), bound  # usbhid has our interface
                assert "OPEN" in await sh(hid_guest, capture(node, "/tmp/kbd.ev"))
                keyboard.tap([HID_A, HID_B])
                await dev.flush()
                wanted = [(EV_KEY, KEY_A, 1), (EV_KEY, KEY_A, 0), (EV_KEY, KEY_B, 1), (EV_KEY, KEY_B, 0)]

                def keys(events: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
                    return [e for e in events if e[0] == EV_KEY and e[2] != 2]  # no autorepeat

                events = await read_events(hid_guest, "/tmp/kbd.ev", lambda ev: keys(ev) == wanted)
                assert keys(events) == wanted
                # Caps Lock: the console turns its LED on through our interrupt OUT endpoint
                keyboard.tap([HID_CAPS])
                await dev.flush()
                with trio.fail_after(60):
                    while not keyboard.leds & 0x02:
                        await trio.sleep(0.1)
                keyboard.tap([HID_CAPS])
                await dev.flush()
                with trio.fail_after(60):
                    while keyboard.leds & 0x02:
                        await trio.sleep(0.1)
                assert 0x02 in keyboard.led_reports
                await sh(hid_guest, "killall cat 2>/dev/null; true")
            # detached: the guest's input device goes away
            out = await sh(
                hid_guest,
                "for i in $(seq 240); do grep -q 'Python USB keyboard' /proc/bus/input/devices || break;"
                " sleep 0.25; done; grep -c 'Python USB keyboard' /proc/bus/input/devices",
            )
            assert out.strip() == "0", out

            mouse = usb_mouse()
            async with session.usb.attach(mouse) as dev:
                await dev.wait_configured(timeout=60)
                node = await event_node(hid_guest, "Python USB mouse")
                assert "OPEN" in await sh(hid_guest, capture(node, "/tmp/mouse.ev"))
                mouse.move(10, -7)
                mouse.buttons(1)
                mouse.buttons(0)
                await dev.flush()

                def motion(events: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
                    return [e for e in events if e[0] in (EV_KEY, EV_REL)]

                btn_left = 0x110
                want = [(EV_REL, 0, 10), (EV_REL, 1, -7), (EV_KEY, btn_left, 1), (EV_KEY, btn_left, 0)]
                events = await read_events(hid_guest, "/tmp/mouse.ev", lambda ev: motion(ev) == want)
                assert motion(events) == want
                await sh(hid_guest, "killall cat 2>/dev/null; true")
