"""spice_net against real libspice-server peers: Xspice (plain, password, TLS) and QEMU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import spice_net
import trio
from cryptography import x509
from cryptography.x509.oid import NameOID
from spice_net import AuthenticationFailed, Channel, NeedSecured, TLSVerificationFailed, client_ssl_context
from spice_proto import (
    ChannelType,
    CommonCap,
    DisplayInit,
    LinkErr,
    MainAttachChannels,
    MainInit,
    Message,
    Ping,
    SetAck,
    UnknownMessage,
)

pytestmark = pytest.mark.interop

HOST = "127.0.0.1"


async def _main_init(channel: Channel) -> MainInit:
    with trio.fail_after(10):
        while True:
            msg = await channel.receive()
            if isinstance(msg, MainInit):
                return msg


async def test_xspice_plain_main_pings_and_display_ack_flow(xspice_factory: Callable[..., Any]) -> None:
    server = xspice_factory(image_compression="off")
    # Keep the screen busy so the display channel carries far more than one ACK window.
    server.display.start_xterm("while true; do seq 1 500; done", geometry="100x40+0+0")
    main = await spice_net.open_channel(HOST, server.port, channel_type=ChannelType.MAIN)
    async with main:
        assert main.mini_header and CommonCap.AUTH_SPICE in main.server_common_caps
        init = await _main_init(main)
        await main.send(MainAttachChannels())
        display = await spice_net.open_channel(
            HOST, server.port, channel_type=ChannelType.DISPLAY, connection_id=init.session_id
        )
        async with display:
            await display.send(DisplayInit(1, 10_000_000, 1, 1_000_000))
            received: list[Message | UnknownMessage] = []
            with trio.fail_after(60):
                while len(received) < 500:
                    received.append(await display.receive())
            set_acks = [m for m in received if isinstance(m, SetAck)]
            assert set_acks and set_acks[0].window > 0
            # The server only keeps sending past 2 windows because our ACKs arrive.
            assert len(received) >= 10 * set_acks[0].window
        # libspice-server measures the link with pings (one with padding) on the main channel;
        # a wrong PONG gets the channel dropped, so the channel must still be alive after them.
        pings: list[Ping] = []
        with trio.fail_after(10):
            while len(pings) < 3:
                msg = await main.receive()
                if isinstance(msg, Ping):
                    pings.append(msg)
        assert any(p.data for p in pings)
        await main.send(MainAttachChannels())  # still writable


async def test_xspice_password(xspice_factory: Callable[..., Any]) -> None:
    server = xspice_factory(password="sesame")
    async with await spice_net.open_channel(
        HOST, server.port, channel_type=ChannelType.MAIN, password="sesame"
    ) as main:
        await _main_init(main)
    for wrong in ("sesam", None):
        with pytest.raises(AuthenticationFailed):
            await spice_net.open_channel(HOST, server.port, channel_type=ChannelType.MAIN, password=wrong)


def _spice_subject(cert_pem: bytes) -> str:
    """The certificate's subject written the SPICE way, in certificate order."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    short = {
        NameOID.ORGANIZATION_NAME: "O",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
        NameOID.COMMON_NAME: "CN",
        NameOID.COUNTRY_NAME: "C",
    }
    return ", ".join(f"{short[a.oid]}={a.value!s}" for a in cert.subject)


async def test_xspice_tls(xspice_factory: Callable[..., Any], pki: Any) -> None:
    server = xspice_factory(pki=pki)
    ca_file = str(pki.ca_file)
    async with await spice_net.open_channel(
        HOST, server.tls_port, channel_type=ChannelType.MAIN, ssl_context=client_ssl_context(ca_file)
    ) as main:
        assert isinstance(main.stream, trio.SSLStream)
        await _main_init(main)
    subject = _spice_subject((pki.directory / "server-cert.pem").read_bytes())
    ctx = client_ssl_context(ca_file, host_subject=subject)
    async with await spice_net.open_channel(
        HOST, server.tls_port, channel_type=ChannelType.MAIN, ssl_context=ctx, server_hostname="elsewhere"
    ) as main:
        await _main_init(main)
    with pytest.raises(TLSVerificationFailed):
        await spice_net.open_channel(
            HOST,
            server.tls_port,
            channel_type=ChannelType.MAIN,
            ssl_context=client_ssl_context(ca_file, host_subject="CN=someone else"),
        )


async def test_qemu_plain_and_password(qemu_factory: Callable[..., Any]) -> None:
    vm = qemu_factory(password="sesame")
    async with await spice_net.open_channel(
        HOST, vm.port, channel_type=ChannelType.MAIN, password="sesame"
    ) as main:
        init = await _main_init(main)
        assert init.session_id != 0
    with pytest.raises(AuthenticationFailed):
        await spice_net.open_channel(HOST, vm.port, channel_type=ChannelType.MAIN, password="nope")


async def test_qemu_need_secured_on_plain_port(qemu_factory: Callable[..., Any], pki: Any) -> None:
    vm = qemu_factory(pki=pki, extra_spice=",tls-channel=main")
    with pytest.raises(NeedSecured) as info:
        await spice_net.open_channel(HOST, vm.port, channel_type=ChannelType.MAIN)
    assert info.value.code == LinkErr.NEED_SECURED
    ctx = client_ssl_context(str(pki.ca_file))
    async with await spice_net.open_channel(
        HOST, vm.tls_port, channel_type=ChannelType.MAIN, ssl_context=ctx
    ) as main:
        await _main_init(main)
