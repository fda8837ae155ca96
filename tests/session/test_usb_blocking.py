"""A device whose hooks block (a physical one): the attachment calls it in a worker thread
and polls it, so interrupt transfers keep flowing without the guest asking again."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

import spice_proto as sp
import spice_session as ss
import trio
from hostile.evil_server import evil_server
from peers.usbredir_guest import run_usbredir_guest
from spice_proto.usbredir import (
    DeviceConnect,
    InterruptPacket,
    Received,
    StartInterruptReceiving,
    UsbRedirParser,
)
from spice_session._usb_hid import HidKeyboard, usb_keyboard


@dataclass
class BlockingKeyboard(HidKeyboard):
    """Our keyboard, marked blocking; records the threads its interrupt reads ran in."""

    threads: set[int] = field(default_factory=set)
    blocking: ClassVar[bool] = True

    def interrupt_in(self, endpoint: int) -> bytes | None:
        self.threads.add(threading.get_ident())
        return super().interrupt_in(endpoint)


async def test_a_blocking_device_is_served_from_a_worker_thread_and_polled() -> None:
    plain = usb_keyboard()
    keyboard = BlockingKeyboard(plain.info, report_descriptor=plain.report_descriptor)
    keyboard.tap([0x04, 0x05])  # four reports waiting: one goes out per host call
    got: list[Received] = []
    done = trio.Event()

    def answer(parser: UsbRedirParser, r: Received) -> bytes:
        got.append(r)
        if sum(isinstance(p.packet, InterruptPacket) for p in got) == 4:
            done.set()
        return parser.encode(StartInterruptReceiving(0x81), 1) if isinstance(r.packet, DeviceConnect) else b""

    guest = partial(run_usbredir_guest, name="test guest", answer=answer)

    with trio.fail_after(20):
        async with (
            evil_server({(sp.ChannelType.USBREDIR, 0): guest}) as uri,
            ss.connect(uri) as session,
            session.usb.attach(keyboard),
        ):
            await done.wait()
    reports = [r.packet.data for r in got if isinstance(r.packet, InterruptPacket)]
    assert reports == [bytes([0, 0, 4, 0, 0, 0, 0, 0]), bytes(8), bytes([0, 0, 5, 0, 0, 0, 0, 0]), bytes(8)]
    assert keyboard.threads and threading.get_ident() not in keyboard.threads
