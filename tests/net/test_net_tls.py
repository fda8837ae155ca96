"""TLS: our client against our server on 127.0.0.1, CA / hostname / host-subject checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import spice_net
import trio
import trustme
from cryptography import x509
from cryptography.x509.oid import NameOID
from spice_net import ConnectFailed, TLSVerificationFailed, client_ssl_context, parse_host_subject
from spice_net._tls import subject_matches
from spice_proto import ChannelType, Ping


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="spice-python net test CA")


@pytest.fixture(scope="module")
def server_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("pki")
    leaf = ca.issue_cert(
        "127.0.0.1",
        common_name="tls server",
        organization_name="spice-python",
        organization_unit_name="net tests",
    )
    ca.cert_pem.write_to_path(str(d / "ca-cert.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(d / "server-cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "server-key.pem"))
    return d / "ca-cert.pem", d / "server-cert.pem", d / "server-key.pem"


async def _handler(stream: trio.abc.Stream) -> None:
    try:
        channel = await spice_net.accept_channel(stream, password="tls-pw")
    except spice_net.SpiceNetError:
        return  # e.g. the client rejected our certificate
    async with channel:
        await channel.send(Ping(4, 5))
        try:
            await channel.receive()
        except spice_net.SpiceNetError:
            pass


@pytest.fixture
async def tls_port(server_files: tuple[Path, Path, Path]) -> AsyncIterator[int]:
    _, cert, key = server_files
    ctx = spice_net.server_ssl_context(str(cert), str(key))
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, _handler, 0, ctx, host="127.0.0.1", https_compatible=False)
        )
        yield listeners[0].transport_listener.socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def _talk(port: int, ctx: spice_net.SpiceSSLContext, server_hostname: str | None = None) -> None:
    channel = await spice_net.open_channel(
        "127.0.0.1",
        port,
        channel_type=ChannelType.MAIN,
        password="tls-pw",
        ssl_context=ctx,
        server_hostname=server_hostname,
    )
    async with channel:
        assert isinstance(channel.stream, trio.SSLStream)
        assert await channel.receive() == Ping(4, 5)


async def test_tls_link_with_ca_and_hostname(tls_port: int, server_files: tuple[Path, Path, Path]) -> None:
    await _talk(tls_port, client_ssl_context(str(server_files[0])))


async def test_hostname_mismatch(tls_port: int, server_files: tuple[Path, Path, Path]) -> None:
    with pytest.raises(TLSVerificationFailed, match=r"Hostname mismatch|doesn.t match|not valid for"):
        await _talk(tls_port, client_ssl_context(str(server_files[0])), server_hostname="other.example")


async def test_unknown_ca(tls_port: int, tmp_path: Path) -> None:
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    with pytest.raises(TLSVerificationFailed, match="certificate"):
        await _talk(tls_port, client_ssl_context(str(tmp_path / "other.pem")))


async def test_host_subject_replaces_hostname_check(
    tls_port: int, server_files: tuple[Path, Path, Path]
) -> None:
    ctx = client_ssl_context(
        str(server_files[0]), host_subject="o=SPICE-python,  OU=net   tests, CN=tls server"
    )
    await _talk(tls_port, ctx, server_hostname="other.example")


@pytest.mark.parametrize(
    "subject",
    [
        "O=spice-python, CN=tls server",  # an entry missing
        "OU=net tests, O=spice-python, CN=tls server",  # order matters (OpenSSL name comparison)
        "O=spice-python, OU=net tests, CN=other server",
        "O=spice-python, OU=net tests, CN=tls server, C=IL",
    ],
)
async def test_host_subject_mismatch(
    tls_port: int, server_files: tuple[Path, Path, Path], subject: str
) -> None:
    ctx = client_ssl_context(str(server_files[0]), host_subject=subject)
    with pytest.raises(TLSVerificationFailed, match="does not match host subject"):
        await _talk(tls_port, ctx)


async def test_tls_client_against_plain_server() -> None:
    async def plain(stream: trio.SocketStream) -> None:
        await stream.send_all(b"REDQ" + bytes(200))

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, plain, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        with pytest.raises(ConnectFailed, match="TLS handshake"):
            await spice_net.open_channel(
                "127.0.0.1", port, channel_type=ChannelType.MAIN, ssl_context=client_ssl_context()
            )
        nursery.cancel_scope.cancel()


def test_parse_host_subject_spice_rules() -> None:
    parsed = parse_host_subject("C=IL, L=Raanana, O=Red Hat\\, Inc., CN=my server")
    assert parsed == [
        (NameOID.COUNTRY_NAME, "IL"),
        (NameOID.LOCALITY_NAME, "Raanana"),
        (NameOID.ORGANIZATION_NAME, "Red Hat, Inc."),
        (NameOID.COMMON_NAME, "my server"),
    ]
    assert parse_host_subject("CN=a\\\\b, ") == [(NameOID.COMMON_NAME, "a\\b")]
    assert parse_host_subject("2.5.4.3=x") == [(NameOID.COMMON_NAME, "x")]


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("CN", "has no value"),
        ("CN=", "empty value"),
        ("CN=a,,O=b", "without '='"),
        ("CN=a\\b", "may be escaped"),
        ("XX=a", "unknown attribute 'XX'"),
        ("", "empty"),
    ],
)
def test_parse_host_subject_errors(subject: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_host_subject(subject)
    with pytest.raises(ValueError, match=message):
        client_ssl_context(host_subject=subject)


def test_subject_comparison_is_case_and_space_insensitive_but_ordered() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IL"),
            x509.NameAttribute(NameOID.COMMON_NAME, "My  Server"),
        ]
    )
    assert subject_matches(name, parse_host_subject("C=il, CN= my server "))
    assert not subject_matches(name, parse_host_subject("CN=my server, C=IL"))
    assert not subject_matches(name, parse_host_subject("C=IL"))
