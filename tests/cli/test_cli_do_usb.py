"""``spice do`` USB actions: parsing and the errors that need no guest."""

from __future__ import annotations

from pathlib import Path

import pytest
from spice_cli._do import Action, parse_actions
from spice_cli._run import UsageError
from spice_cli._usb_actions import UsbDeviceId, UsbSlots, device_option
from spice_session.lowlevel import UsbDeviceError


def test_usb_actions_parse() -> None:
    assert parse_actions(["usb-attach", "a.img", "usb-attach", "b.img,ro", "usb-detach", "pause", "1"]) == [
        Action("usb-attach", ("a.img", False)),
        Action("usb-attach", ("b.img", True)),
        Action("usb-detach", ()),
        Action("pause", (1.0,)),
    ]
    with pytest.raises(UsageError, match="usb-attach: expected PATH"):
        parse_actions(["usb-attach", ",ro"])
    with pytest.raises(UsageError, match="usb-attach: needs 1"):
        parse_actions(["usb-attach"])


async def test_missing_image_and_detach_without_device_are_usage_errors(tmp_path: Path) -> None:
    slots = UsbSlots(session=None, out=None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="is not a readable file"):
        await slots.attach(str(tmp_path / "nope.img"), False)
    tiny = tmp_path / "tiny.img"
    tiny.write_bytes(b"x")
    with pytest.raises(UsageError, match="smaller than one"):
        await slots.attach(str(tiny), False)
    with pytest.raises(UsageError, match="no USB device is attached"):
        await slots.detach()


def test_usb_attach_device_parses_vid_pid() -> None:
    assert parse_actions(["usb-attach", "--device", "046d:C077", "usb-detach"]) == [
        Action("usb-attach", (UsbDeviceId(0x046D, 0xC077), False)),
        Action("usb-detach", ()),
    ]
    assert str(UsbDeviceId(0x46D, 0xC077)) == "046d:c077"
    with pytest.raises(UsageError, match="--device needs VID:PID"):
        parse_actions(["usb-attach", "--device"])
    with pytest.raises(UsageError, match=r"usb-attach: .*expected VID:PID"):
        parse_actions(["usb-attach", "--device", "mouse"])
    assert device_option("1d6b:0d21") == UsbDeviceId(0x1D6B, 0x0D21)
    with pytest.raises(UsageError, match=r"--usb-device: .*expected VID:PID"):
        device_option("1d6b")


async def test_a_missing_physical_device_is_a_session_error() -> None:
    """No such device on the bus (this machine has none): UsbDeviceError before any channel."""
    slots = UsbSlots(session=None, out=None)  # type: ignore[arg-type]
    with pytest.raises(UsbDeviceError, match="no USB device ffff:fffe"):
        await slots.attach(UsbDeviceId(0xFFFF, 0xFFFE), False)
