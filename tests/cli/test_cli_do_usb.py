"""``spice do`` USB actions: parsing and the errors that need no guest."""

from __future__ import annotations

from pathlib import Path

import pytest
from spice_cli._do import Action, parse_actions
from spice_cli._run import UsageError
from spice_cli._usb_actions import UsbSlots


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
