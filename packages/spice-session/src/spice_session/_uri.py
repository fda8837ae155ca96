"""``spice://`` URIs as remote-viewer reads them.

``spice://host[:port][?port=N&tls-port=M&password=P]`` and ``spice+tls://host[:port]``
(the port of a ``spice+tls`` URI is the TLS port).  IPv6 literals go in brackets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ._errors import InvalidURI

__all__ = ["SpiceURI", "parse_uri"]

_SCHEMES = ("spice", "spice+tls")
_KNOWN_QUERY = ("port", "tls-port", "password")


@dataclass(frozen=True)
class SpiceURI:
    """Where to connect: host, plain ``port`` and/or ``tls_port``, and an optional password."""

    host: str
    port: int | None = None
    tls_port: int | None = None
    password: str | None = None

    @property
    def tls_only(self) -> bool:
        """No plain port: every channel must use TLS."""
        return self.port is None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        text = f"spice://{host}" + (f":{self.port}" if self.port is not None else "")
        return text + (f"?tls-port={self.tls_port}" if self.tls_port is not None else "")


def _port(uri: str, what: str, text: str) -> int:
    if not text.isdigit():
        raise InvalidURI(f"{uri!r}: {what} {text!r} is not a number")
    value = int(text)
    if not 0 < value < 65536:
        raise InvalidURI(f"{uri!r}: {what} {value} is outside 1-65535")
    return value


def parse_uri(uri: str) -> SpiceURI:
    """Parse a SPICE URI; :class:`InvalidURI` names the URI and the fault."""
    if not isinstance(uri, str) or not uri:
        raise InvalidURI(f"{uri!r}: empty URI")
    if "://" not in uri:
        raise InvalidURI(f"{uri!r}: expected spice://host[:port] or spice+tls://host[:port]")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise InvalidURI(f"{uri!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidURI(f"{uri!r}: scheme {parts.scheme!r} is not spice or spice+tls")
    if parts.username is not None or parts.password is not None:
        raise InvalidURI(f"{uri!r}: user info before the host is not supported; use ?password=")
    if parts.path not in ("", "/"):
        raise InvalidURI(f"{uri!r}: unexpected path {parts.path!r}")
    if parts.fragment:
        raise InvalidURI(f"{uri!r}: unexpected fragment {parts.fragment!r}")
    host = parts.hostname
    if not host:
        raise InvalidURI(f"{uri!r}: no host")
    netloc_port = parts.netloc.rpartition("]")[2] if parts.netloc.startswith("[") else parts.netloc
    port_text = netloc_port.rpartition(":")[2] if ":" in netloc_port else None
    authority_port = _port(uri, "port", port_text) if port_text is not None else None

    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise InvalidURI(f"{uri!r}: malformed query: {exc}") from None
    for key, values in query.items():
        if key not in _KNOWN_QUERY:
            raise InvalidURI(f"{uri!r}: unknown query parameter {key!r}")
        if len(values) != 1:
            raise InvalidURI(f"{uri!r}: query parameter {key!r} given {len(values)} times")
    q_port = _port(uri, "port", query["port"][0]) if "port" in query else None
    q_tls = _port(uri, "tls-port", query["tls-port"][0]) if "tls-port" in query else None
    password = query["password"][0] if "password" in query else None

    if scheme == "spice+tls":
        if q_port is not None:
            raise InvalidURI(f"{uri!r}: spice+tls URIs take no plain ?port=")
        if authority_port is not None and q_tls is not None and authority_port != q_tls:
            raise InvalidURI(f"{uri!r}: two different TLS ports")
        tls_port = authority_port if authority_port is not None else q_tls
        if tls_port is None:
            raise InvalidURI(f"{uri!r}: no port")
        return SpiceURI(host, None, tls_port, password)

    if authority_port is not None and q_port is not None and authority_port != q_port:
        raise InvalidURI(f"{uri!r}: two different ports ({authority_port} and ?port={q_port})")
    port = authority_port if authority_port is not None else q_port
    if port is None and q_tls is None:
        raise InvalidURI(f"{uri!r}: no port (give spice://host:port or ?tls-port=)")
    return SpiceURI(host, port, q_tls, password)
