"""A .vv file's USB keys in spice view and spice do: enable-usbredir=0 forbids every device,
enable-usb-autoshare=0 keeps spice view's command-line devices from being attached at
connection (spice do's explicit usb-attach still may), usb-filter decides which may."""

from __future__ import annotations

import io
import threading
from contextlib import AsyncExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import spice_session.lowlevel
import trio
from spice_cli._run import UsageError
from spice_cli._usb_actions import UsbDeviceId, UsbPolicy, UsbSlots, attach_all
from spice_session import UsbRedirection
from spice_session.lowlevel import parse_vv, usb_keyboard

BASE = "[virt-viewer]\ntype=spice\nhost=h\nport=5900\n"
NO_STORAGE = "0x08,-1,-1,-1,0|-1,-1,-1,-1,1"  # usbredir filter: mass storage refused, the rest allowed


def _session() -> tuple[Any, list[int]]:
    opened: list[int] = []

    async def opener(channel_id: int) -> Any:
        opened.append(channel_id)
        raise AssertionError("no channel may be linked in these tests")

    return SimpleNamespace(usb=UsbRedirection(opener, [])), opened


def _image(tmp_path: Path) -> str:
    path = tmp_path / "stick.img"
    path.write_bytes(bytes(1 << 20))
    return str(path)


def test_policy_of_a_file() -> None:
    assert UsbPolicy.of(None) == UsbPolicy(True, True, None)
    assert UsbPolicy.of(parse_vv(BASE)) == UsbPolicy(True, True, None)  # keys not given: allowed
    off = UsbPolicy.of(parse_vv(BASE + "enable-usbredir=0\nenable-usb-autoshare=1\n"))
    assert not off.enabled and "enable-usbredir=0" in (off.refusal(automatic=False) or "")
    manual = UsbPolicy.of(parse_vv(BASE + f"enable-usb-autoshare=0\nusb-filter={NO_STORAGE}\n"))
    assert manual == UsbPolicy(True, False, NO_STORAGE)
    assert manual.refusal(automatic=False) is None and "auto-sharing off" in (
        manual.refusal(automatic=True) or ""
    )


@pytest.mark.parametrize(
    ("keys", "note"),
    [
        ("enable-usbredir=0\n", "not attached: the .vv file turns USB redirection off (enable-usbredir=0)"),
        ("enable-usb-autoshare=0\n", "not attached: the .vv file turns USB auto-sharing off"),
        (f"usb-filter={NO_STORAGE}\n", "not attached: "),
        ("usb-filter=-1,-1,-1,-1,1\nenable-usbredir=1\n", "not attached: no free usbredir channel"),
    ],
)
async def test_view_devices_follow_the_file(tmp_path: Path, keys: str, note: str) -> None:
    session, opened = _session()
    err = io.StringIO()
    image = _image(tmp_path)
    async with AsyncExitStack() as stack:
        await attach_all(stack, session, [(image, True)], [], err, UsbPolicy.of(parse_vv(BASE + keys)))
    assert f"spice view: {image} {note}" in err.getvalue()
    assert opened == []


async def test_filter_refusal_names_the_rule(tmp_path: Path) -> None:
    session, _ = _session()
    err = io.StringIO()
    async with AsyncExitStack() as stack:
        await attach_all(stack, session, [(_image(tmp_path), False)], [], err, UsbPolicy(filter=NO_STORAGE))
    assert "not attached" in err.getvalue() and "no free usbredir channel" not in err.getvalue()


async def test_do_usb_attach_follows_the_file(tmp_path: Path) -> None:
    session, _ = _session()
    image = _image(tmp_path)
    slots = UsbSlots(session, io.StringIO(), UsbPolicy.of(parse_vv(BASE + "enable-usbredir=0\n")))
    with pytest.raises(UsageError, match=r"usb-attach: .*enable-usbredir=0"):
        await slots.attach(image, False)
    explicit = UsbSlots(session, io.StringIO(), UsbPolicy.of(parse_vv(BASE + "enable-usb-autoshare=0\n")))
    with pytest.raises(Exception, match="no free usbredir channel"):  # allowed: it gets as far as a channel
        await explicit.attach(image, False)


class _StandIn:
    """What the CLI needs of a physical device: an identity for the filter, and close()."""

    def __init__(self) -> None:
        self.info = usb_keyboard().info
        self.closed_in: list[threading.Thread] = []

    def close(self) -> None:
        self.closed_in.append(threading.current_thread())


async def test_physical_devices_are_closed_in_a_worker_thread_even_when_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libusb's close blocks: never on the event loop, and never skipped by a cancellation."""
    devices: list[_StandIn] = []

    def open_usb_device(vendor_id: int, product_id: int) -> _StandIn:
        devices.append(_StandIn())
        return devices[-1]

    monkeypatch.setattr(spice_session.lowlevel, "open_usb_device", open_usb_device)
    session, _ = _session()
    err = io.StringIO()
    with trio.CancelScope() as scope:
        async with AsyncExitStack() as stack:
            await attach_all(stack, session, [], [], err, devices=[UsbDeviceId(0x1D6B, 0x0D21)])
            assert "no free usbredir channel" in err.getvalue() and devices[0].closed_in == []
            scope.cancel()
    slots = UsbSlots(session, io.StringIO())
    with pytest.raises(Exception, match="no free usbredir channel"):
        await slots.attach(UsbDeviceId(0x1D6B, 0x0D21), False)
    assert len(devices) == 2
    for device in devices:
        [thread] = device.closed_in
        assert thread is not threading.main_thread()
