"""The URI forms spice-gtk takes beyond host:port: spice+unix://, user@."""

from __future__ import annotations

import pytest
from spice_session import InvalidURI, SpiceURI, parse_uri


def test_unix_socket_uri() -> None:
    parsed = parse_uri("spice+unix:///run/qemu/vm1.sock")
    assert parsed == SpiceURI("", unix_path="/run/qemu/vm1.sock")
    assert not parsed.tls_only
    assert str(parsed) == "spice+unix:///run/qemu/vm1.sock"
    assert parse_uri("spice+unix:///tmp/a%20b.sock?password=pw").unix_path == "/tmp/a b.sock"
    assert parse_uri("spice+unix:///tmp/s?password=pw").password == "pw"


@pytest.mark.parametrize(
    ("uri", "fault"),
    [
        ("spice+unix://host/tmp/s", "take no host"),
        ("spice+unix://", "absolute socket path"),
        ("spice+unix:///", "absolute socket path"),
        ("spice+unix:///tmp/s?port=5900", "take no ports"),
        ("spice+unix:///" + "d" * 200, "a Unix socket path holds 107"),
        ("spice+unix:///tmp/s?colour=red&password=s3cr3t", "unknown query parameter"),
    ],
)
def test_bad_unix_uris(uri: str, fault: str) -> None:
    with pytest.raises(InvalidURI, match=fault) as info:
        parse_uri(uri)
    assert "s3cr3t" not in str(info.value)


def test_user_name_for_sasl() -> None:
    parsed = parse_uri("spice://alice@127.0.0.1:5900?password=s3cr3t")
    assert parsed.username == "alice" and parsed.host == "127.0.0.1" and parsed.port == 5900
    assert parse_uri("spice+tls://al%40ice@h:5901").username == "al@ice"
    assert "s3cr3t" not in repr(parsed) and "s3cr3t" not in str(parsed)
    assert repr(parsed) == "SpiceURI(host='127.0.0.1', port=5900, tls_port=None, username='alice')"


@pytest.mark.parametrize("uri", ["spice://alice:s3cr3t@h:5900", "spice://:s3cr3t@h:5900", "spice://@h:5900"])
def test_password_in_user_info_is_refused(uri: str) -> None:
    with pytest.raises(InvalidURI, match="use \\?password=") as info:
        parse_uri(uri)
    assert "s3cr3t" not in str(info.value)
