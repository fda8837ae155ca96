"""A scripted usbredir guest on an evil server's USBREDIR channel (:mod:`hostile.evil_server`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import spice_proto as sp
import trio
from spice_proto.usbredir import DeviceDisconnect, DeviceDisconnectAck, Received, UsbRedirParser

if TYPE_CHECKING:
    from hostile.evil_server import EvilChannel

DATA = int(sp.SpicevmcMsg.DATA)


async def run_usbredir_guest(
    chan: EvilChannel, name: str, answer: Callable[[UsbRedirParser, Received], bytes]
) -> None:
    """Say hello as guest ``name``, then hand every packet from the client's host to ``answer``
    and send back what it returns (a DEVICE_DISCONNECT is acknowledged as well), until cancelled."""
    parser = UsbRedirParser("guest")
    await chan.send(DATA, parser.hello(name))
    seen = 0
    while True:
        await chan.got_message.wait()
        chan.got_message = trio.Event()
        for msg_type, body in chan.received[seen:]:
            if msg_type == DATA:
                parser.receive_data(body)
        seen = len(chan.received)
        for r in parser.next_packets():
            reply = answer(parser, r)
            if isinstance(r.packet, DeviceDisconnect):
                reply += parser.encode(DeviceDisconnectAck())
            if reply:
                await chan.send(DATA, reply)
