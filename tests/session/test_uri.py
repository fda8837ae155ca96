"""spice:// URI parsing."""

from __future__ import annotations

import re

import pytest
from spice_session import InvalidURI, SpiceURI, parse_uri


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
    assert repr(uri) in str(info.value)


def test_invalid_uri_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no port"):
        parse_uri("spice://h")


def test_str_round_trips() -> None:
    for uri in ("spice://h:5900?tls-port=5901", "spice://[::1]?tls-port=1", "spice://h?port=2"):
        parsed = parse_uri(uri)
        assert parse_uri(str(parsed)) == parsed
