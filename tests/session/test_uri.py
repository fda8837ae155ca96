"""spice:// URI parsing."""

from __future__ import annotations

import re

import pytest
from spice_session import InvalidURI, SpiceURI, parse_uri
from spice_session.lowlevel import redact_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("spice://127.0.0.1:5900", SpiceURI("127.0.0.1", 5900)),
        ("spice://127.0.0.1:5900/", SpiceURI("127.0.0.1", 5900)),
        ("SPICE://host:1", SpiceURI("host", 1)),
        ("spice://127.0.0.1?port=5900", SpiceURI("127.0.0.1", 5900)),
        ("spice://127.0.0.1:5900?port=5900", SpiceURI("127.0.0.1", 5900)),
        ("spice://127.0.0.1?tls-port=5901", SpiceURI("127.0.0.1", None, 5901)),
        ("spice://127.0.0.1:5900?tls-port=5901", SpiceURI("127.0.0.1", 5900, 5901)),
        ("spice://h:5900?password=se%20s%26me", SpiceURI("h", 5900, None, "se s&me")),
        ("spice://h:5900?password=", SpiceURI("h", 5900, None, "")),
        ("spice+tls://h:5901", SpiceURI("h", None, 5901)),
        ("spice+tls://h?tls-port=5901&password=x", SpiceURI("h", None, 5901, "x")),
        ("spice://[::1]:5900", SpiceURI("::1", 5900)),
    ],
)
def test_valid(uri: str, expected: SpiceURI) -> None:
    assert parse_uri(uri) == expected


def test_tls_only() -> None:
    assert parse_uri("spice://h?tls-port=5901").tls_only
    assert not parse_uri("spice://h:5900?tls-port=5901").tls_only


@pytest.mark.parametrize(
    ("uri", "fault"),
    [
        ("", "empty URI"),
        ("127.0.0.1:5900", "expected spice://"),
        ("vnc://h:5900", "scheme 'vnc'"),
        ("spice://:5900", "no host"),
        ("spice://h", "no port"),
        ("spice://h:abc", "'abc' is not a number"),
        ("spice://h:0", "outside 1-65535"),
        ("spice://h:70000", "outside 1-65535"),
        ("spice://h?tls-port=-1", "not a number"),
        ("spice://h:5900?port=5901", "two different ports"),
        ("spice://h:5900?colour=red", "unknown query parameter 'colour'"),
        ("spice://h:5900?port=1&port=1", "given 2 times"),
        ("spice://h:5900/vm", "unexpected path"),
        ("spice://h:5900#x", "unexpected fragment"),
        ("spice://user:pw@h:5900", "user info"),
        ("spice+tls://h", "no port"),
        ("spice+tls://h:1?port=2", "no plain"),
        ("spice+tls://h:1?tls-port=2", "two different TLS ports"),
    ],
)
def test_invalid(uri: str, fault: str) -> None:
    with pytest.raises(InvalidURI, match=re.escape(fault)) as info:
        parse_uri(uri)
    assert repr(redact_uri(uri)) in str(info.value)


@pytest.mark.parametrize(
    "uri",
    [
        "spice://h:5900?password=s3cr3t&colour=red",  # unknown parameter after the password
        "spice://h:5900?password=s3cr3t&password=s3cr3t",  # given twice
        "spice://h:5900?password=s3cr3t&s3cr3t",  # a field without '='
        "spice://h?password=s3cr3t",  # no port
        "spice://h:abc?password=s3cr3t",  # bad port
        "spice://h:5900/vm?password=s3cr3t",  # path
        "spice://user:s3cr3t@h:5900",  # user info
        "spice://user:s3cr3t@[::1:5900",  # urlsplit's own error
        "spice://h:5900#password=s3cr3t",  # fragment
        "spice://h:5900?pass%77ord=s3cr3t&pass%77ord=s3cr3t",  # encoded key, given twice
        "vnc://h:5900?password=s3cr3t",  # scheme
        "h:5900?password=s3cr3t",  # no scheme
        "spice+tls://h:1?port=2&password=s3cr3t",  # plain port on a TLS URI
    ],
)
def test_invalid_uri_messages_hide_the_password(uri: str) -> None:
    with pytest.raises(InvalidURI) as info:
        parse_uri(uri)
    assert "s3cr3t" not in str(info.value)
    assert "s3cr3t" not in repr(info.value)
    assert "***" in str(info.value)


def test_non_str_uri_is_not_echoed() -> None:
    with pytest.raises(InvalidURI, match="is a str, not bytes") as info:
        parse_uri(b"spice://h:5900?password=s3cr3t")  # type: ignore[arg-type]
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("spice://h:5900?port=5900&tls-port=5901", "spice://h:5900?port=5900&tls-port=5901"),
        ("spice://h:5900?tls-port=5901&password=x&y", "spice://h:5900?tls-port=5901&password=***&***"),
        ("spice://u:p@h:1?password=", "spice://***@h:1?password=***"),
        ("spice://h:1#frag", "spice://h:1#***"),
        ("not a uri", "not a uri"),
    ],
)
def test_redact_uri(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_repr_hides_the_password() -> None:
    parsed = parse_uri("spice://h:5900?tls-port=5901&password=s3cr3t")
    assert parsed.password == "s3cr3t"
    assert "s3cr3t" not in repr(parsed) and "s3cr3t" not in str(parsed)
    assert repr(parsed) == "SpiceURI(host='h', port=5900, tls_port=5901)"


def test_invalid_uri_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no port"):
        parse_uri("spice://h")


def test_str_round_trips() -> None:
    for uri in ("spice://h:5900?tls-port=5901", "spice://[::1]?tls-port=1", "spice://h?port=2"):
        parsed = parse_uri(uri)
        assert parse_uri(str(parsed)) == parsed
