"""``spice://`` URIs as remote-viewer reads them.

``spice://[user@]host[:port][?port=N&tls-port=M&password=P]``, ``spice+tls://host[:port]``
(the port of a ``spice+tls`` URI is the TLS port) and ``spice+unix:///path/to/socket``
(QEMU ``-spice unix=on,addr=PATH``).  IPv6 literals go in brackets.  The user name is
for SASL; a password goes in ``?password=``, never in the user info.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from ._errors import InvalidURI

__all__ = ["SpiceURI", "parse_uri", "redact_uri"]

_SCHEMES = ("spice", "spice+tls", "spice+unix")
_KNOWN_QUERY = ("port", "tls-port", "password")
_PUBLIC_QUERY = ("port", "tls-port")
_USERINFO = re.compile(r"^([^:/?#]*://)[^/?#]*@")
_HIDDEN = "***"


def redact_uri(uri: str) -> str:
    """``uri`` fit to print: user info, fragment and every query value but the ports become ``***``.

    Works on any text, even one that is not a URI at all, so error messages can use it.
    """
    head, hash_, fragment = uri.partition("#")
    head, question, query = head.partition("?")
    head = _USERINFO.sub(rf"\1{_HIDDEN}@", head)
    fields = []
    for item in query.split("&") if question else []:
        key, equals, _ = item.partition("=")
        if equals and key.strip().lower() in _PUBLIC_QUERY:
            fields.append(item)
        else:
            fields.append(f"{key}={_HIDDEN}" if equals else (_HIDDEN if item else ""))
    return head + question + "&".join(fields) + (hash_ + _HIDDEN if fragment else hash_)


@dataclass(frozen=True, repr=False)
class SpiceURI:
    """Where to connect: host, plain ``port`` and/or ``tls_port`` (or a Unix socket's
    ``unix_path``), an optional password and SASL ``username``.

    Neither ``repr`` nor ``str`` shows the password.
    """

    host: str
    port: int | None = None
    tls_port: int | None = None
    password: str | None = field(default=None, repr=False)
    unix_path: str | None = None
    username: str | None = None

    @property
    def tls_only(self) -> bool:
        """No plain port (and no Unix socket): every channel must use TLS."""
        return self.port is None and self.unix_path is None

    def __repr__(self) -> str:
        text = f"SpiceURI(host={self.host!r}, port={self.port!r}, tls_port={self.tls_port!r}"
        for name in ("unix_path", "username"):
            if (value := getattr(self, name)) is not None:
                text += f", {name}={value!r}"
        return text + ")"

    def __str__(self) -> str:
        if self.unix_path is not None:
            return f"spice+unix://{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        text = f"spice://{host}" + (f":{self.port}" if self.port is not None else "")
        return text + (f"?tls-port={self.tls_port}" if self.tls_port is not None else "")


def _invalid(uri: str, fault: str) -> InvalidURI:
    return InvalidURI(f"{redact_uri(uri)!r}: {fault}")


def _port(uri: str, what: str, text: str) -> int:
    if not text.isdigit():
        raise _invalid(uri, f"{what} {text!r} is not a number")
    value = int(text)
    if not 0 < value < 65536:
        raise _invalid(uri, f"{what} {value} is outside 1-65535")
    return value


def parse_uri(uri: str) -> SpiceURI:
    """Parse a SPICE URI; :class:`InvalidURI` names the URI (secrets hidden) and the fault."""
    if not isinstance(uri, str):
        raise InvalidURI(f"a SPICE URI is a str, not {type(uri).__name__}")
    if not uri:
        raise _invalid(uri, "empty URI")
    if "://" not in uri:
        raise _invalid(uri, "expected spice://host[:port] or spice+tls://host[:port]")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        # urlsplit's message may quote the whole host part, user info included
        raise _invalid(uri, str(exc) if "@" not in uri else "not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise _invalid(uri, f"scheme {parts.scheme!r} is not spice or spice+tls")
    if parts.password is not None or (parts.username is not None and not parts.username):
        raise _invalid(uri, "a password in the user info is not supported; use ?password=")
    username = unquote(parts.username) if parts.username is not None else None
    if parts.fragment:
        raise _invalid(uri, "unexpected fragment")
    if scheme == "spice+unix":
        return _parse_unix(uri, parts.netloc, parts.path, parts.query)
    if parts.path not in ("", "/"):
        raise _invalid(uri, f"unexpected path {parts.path!r}")
    host = parts.hostname
    if not host:
        raise _invalid(uri, "no host")
    netloc_port = parts.netloc.rpartition("]")[2] if parts.netloc.startswith("[") else parts.netloc
    port_text = netloc_port.rpartition(":")[2] if ":" in netloc_port else None
    authority_port = _port(uri, "port", port_text) if port_text is not None else None

    query = _query(uri, parts.query)
    q_port = _port(uri, "port", query["port"][0]) if "port" in query else None
    q_tls = _port(uri, "tls-port", query["tls-port"][0]) if "tls-port" in query else None
    password = query["password"][0] if "password" in query else None

    if scheme == "spice+tls":
        if q_port is not None:
            raise _invalid(uri, "spice+tls URIs take no plain ?port=")
        if authority_port is not None and q_tls is not None and authority_port != q_tls:
            raise _invalid(uri, "two different TLS ports")
        tls_port = authority_port if authority_port is not None else q_tls
        if tls_port is None:
            raise _invalid(uri, "no port")
        return SpiceURI(host, None, tls_port, password, username=username)

    if authority_port is not None and q_port is not None and authority_port != q_port:
        raise _invalid(uri, f"two different ports ({authority_port} and ?port={q_port})")
    port = authority_port if authority_port is not None else q_port
    if port is None and q_tls is None:
        raise _invalid(uri, "no port (give spice://host:port or ?tls-port=)")
    return SpiceURI(host, port, q_tls, password, username=username)


def _query(uri: str, text: str) -> dict[str, list[str]]:
    try:
        query = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:  # its message quotes the field, which may hold a password
        raise _invalid(uri, "malformed query: every field must be name=value") from None
    for key, values in query.items():
        if key not in _KNOWN_QUERY:
            raise _invalid(uri, f"unknown query parameter {key!r}")
        if len(values) != 1:
            raise _invalid(uri, f"query parameter {key!r} given {len(values)} times")
    return query


def _parse_unix(uri: str, netloc: str, path: str, query_text: str) -> SpiceURI:
    """``spice+unix:///absolute/path`` (only ``?password=`` may follow)."""
    if netloc:
        raise _invalid(uri, "spice+unix URIs take no host: spice+unix:///path/to/socket")
    if not path.startswith("/") or path == "/":
        raise _invalid(uri, "spice+unix needs an absolute socket path: spice+unix:///path/to/socket")
    if len(path.encode()) > 107:
        raise _invalid(uri, f"socket path of {len(path.encode())} bytes (a Unix socket path holds 107)")
    query = _query(uri, query_text)
    if "port" in query or "tls-port" in query:
        raise _invalid(uri, "spice+unix URIs take no ports")
    password = query["password"][0] if "password" in query else None
    return SpiceURI("", password=password, unix_path=unquote(path))
