"""UsbRedirection.attach: the client-side filter is applied before any channel is linked."""

from __future__ import annotations

from pathlib import Path

import pytest
from spice_net import Channel
from spice_session import ChannelUnavailable, UsbRejected, usb_disk
from spice_session._usb import UsbRedirection
from spice_session.lowlevel import parse_filter


class Linked(Exception):
    """The opener was called: the filter let the device through."""


async def opener(channel_id: int) -> Channel:
    raise Linked(channel_id)


async def test_filter_decides_before_linking(tmp_path: Path) -> None:
    image = tmp_path / "d.img"
    image.write_bytes(bytes(1 << 16))
    usb = UsbRedirection(opener, [3])
    with pytest.raises(UsbRejected, match="does not allow 'Python USB disk' \\(deny\\)"):
        async with usb.attach(usb_disk(image), filter="0x08,-1,-1,-1,0|-1,-1,-1,-1,1"):
            pass
    with pytest.raises(UsbRejected, match="no-match"):
        async with usb.attach(usb_disk(image), filter=parse_filter("0x03,-1,-1,-1,1")):
            pass
    with pytest.raises(Linked, match="3"):
        async with usb.attach(usb_disk(image), filter="-1,0x1d6b,-1,-1,1"):
            pass
    assert usb.free_channels == 1  # the channel id is free again after the failure
    with pytest.raises(ChannelUnavailable, match="no free usbredir channel"):
        async with UsbRedirection(opener, []).attach(usb_disk(image)):
            pass
