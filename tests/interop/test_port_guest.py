"""Port channels into a real Linux guest: ``-chardev spiceport`` + a virtserialport.

Bytes our client writes come out of the guest's /dev/vport*, bytes the guest writes
come back; PORT_EVENT follows the guest opening and closing its end.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import spice_session as ss
import trio
from peers.linux_guest import LinuxGuest, start_guest
from spice_proto import PortEvent
from spice_session import PortError

pytestmark = pytest.mark.interop

NAME = "org.spice-python.test.0"
PORT_ARGS = (
    "-device", "virtio-serial-pci,id=vs",
    "-chardev", f"spiceport,id=tp,name={NAME}",
    "-device", f"virtserialport,bus=vs.0,chardev=tp,name={NAME}",
)  # fmt: skip
FIND = f'for f in /sys/class/virtio-ports/*; do [ "$(cat $f/name)" = {NAME} ] && echo /dev/${{f##*/}}; done'


@pytest.fixture
def port_guest(peers: Any) -> LinuxGuest:
    guest = start_guest(peers.log_dir, qemu_args=PORT_ARGS)
    peers.started.append(guest)
    return guest


async def sh(guest: LinuxGuest, command: str, timeout: float = 90.0) -> str:
    return await trio.to_thread.run_sync(guest.sh, command, timeout)


async def test_bytes_both_ways_through_a_named_port(port_guest: LinuxGuest) -> None:
    device = (await sh(port_guest, FIND)).strip()
    assert device.startswith("/dev/vport"), device
    payload = bytes(range(256)) * 300  # 76800 bytes: more than one SPICEVMC_DATA message
    with trio.fail_after(180):
        async with ss.connect(port_guest.uri) as session:
            ports = session.ports
            assert NAME in await ports.names()
            async with ports.open(NAME) as port:
                assert port.name == NAME and not port.peer_opened
                await sh(
                    port_guest,
                    f"(exec 3<>{device}; head -c {len(payload)} <&3 > /tmp/in; echo reply-from-guest >&3;"
                    " sleep 1) >/dev/null 2>&1 & true",
                )
                await port.wait_peer(True)
                await port.send(payload)
                assert await port.receive_exactly(17) == b"reply-from-guest\n"
                await port.wait_peer(False)
                assert port.events[-2:] == [PortEvent.OPENED, PortEvent.CLOSED]
            with pytest.raises(PortError, match="no port named 'nope'"):
                async with ports.open("nope"):
                    pass
    got = await sh(port_guest, "md5sum /tmp/in; wc -c < /tmp/in")
    assert hashlib.md5(payload).hexdigest() in got and str(len(payload)) in got, got
