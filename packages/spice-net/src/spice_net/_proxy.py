"""HTTP CONNECT proxies (what Proxmox's spiceproxy and squid/tinyproxy are) for SPICE channels.

A proxy is written as spice-gtk takes it (``proxy=`` of a .vv file, ``$SPICE_PROXY``):
``[http://][user:password@]host[:port]``, port 3128 by default.  The tunnel is a plain
TCP stream to the SPICE server; TLS to the server, when wanted, runs inside it.
"""

from __future__ import annotations

import base64
import re
from dataclasses import field
from urllib.parse import unquote, urlsplit

import trio
from spice_proto.lowlevel import frozen

from ._errors import ConnectFailed, SpiceNetError

__all__ = [
    "DEFAULT_PROXY_PORT",
    "HttpProxy",
    "InvalidProxy",
    "ProxyAuthRequired",
    "ProxyFailed",
    "open_tunnel",
    "parse_proxy",
]

#: The port of a proxy URL that names none (spice-gtk's default, squid's).
DEFAULT_PROXY_PORT = 3128
#: The most bytes of a proxy's reply header we read before giving up on it.
MAX_REPLY_HEADER = 16 * 1024
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})(?: ([^\r\n]*))?\r\n")
_HIDDEN = "***"


class InvalidProxy(SpiceNetError, ValueError):
    """A proxy URL that cannot be used; the message never shows its credentials."""


class ProxyFailed(ConnectFailed):
    """The proxy could not be reached, refused the tunnel or answered something that is not HTTP."""


class ProxyAuthRequired(ProxyFailed):
    """The proxy wants credentials (HTTP 407), or refused the ones we sent."""


@frozen
class HttpProxy:
    """An HTTP proxy that tunnels with CONNECT; ``repr`` and ``str`` hide the credentials."""

    host: str
    port: int = DEFAULT_PROXY_PORT
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = f"{_HIDDEN}@" if self.username is not None else ""
        return f"http://{auth}{host}:{self.port}"

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header value (Basic), or ``None`` without credentials."""
        if self.username is None:
            return None
        raw = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def _redacted(url: str) -> str:
    return re.sub(r"^([^/@]*//)?[^/@]*@", lambda m: (m.group(1) or "") + f"{_HIDDEN}@", url)


def parse_proxy(url: str) -> HttpProxy:
    """Parse ``[http://][user:password@]host[:port]``; :class:`InvalidProxy` names what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidProxy("empty proxy URL")
    if len(url) > 4096:
        raise InvalidProxy(f"proxy URL of {len(url)} characters (at most 4096)")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidProxy(f"proxy URL {_redacted(url)!r} contains spaces or control characters")
    text = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidProxy(f"proxy URL {_redacted(url)!r}: bad host or port") from None
    if parts.scheme.lower() != "http":
        raise InvalidProxy(f"proxy URL {_redacted(url)!r}: only http:// proxies are supported")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidProxy(f"proxy URL {_redacted(url)!r}: unexpected path, query or fragment")
    if not parts.hostname:
        raise InvalidProxy(f"proxy URL {_redacted(url)!r}: no host")
    if port == 0:
        raise InvalidProxy(f"proxy URL {_redacted(url)!r}: port 0")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return HttpProxy(parts.hostname, port or DEFAULT_PROXY_PORT, username, password)


def _authority(host: str, port: int) -> str:
    return (
        f"[{host}]:{port}"
        if ":" in host and not host.startswith("[") and _is_ipv6(host)
        else f"{host}:{port}"
    )


def _is_ipv6(host: str) -> bool:
    return bool(re.fullmatch(r"[0-9A-Fa-f:.]+(%\w+)?", host)) and host.count(":") >= 2


def _shown(data: bytes) -> str:
    text = data[:60].decode("latin-1")
    return repr(text + ("..." if len(data) > 60 else ""))


async def _read_reply(stream: trio.abc.Stream, proxy: HttpProxy) -> tuple[bytes, bytes]:
    """The proxy's reply header (up to the blank line), and any bytes that followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_REPLY_HEADER:
            raise ProxyFailed(f"proxy {proxy}: reply header longer than {MAX_REPLY_HEADER} bytes")
        if data and not data.startswith(b"HTTP/"[: len(data)]):
            raise ProxyFailed(f"proxy {proxy} answered something that is not HTTP: {_shown(data)}")
        try:
            chunk = await stream.receive_some(4096)
        except (trio.BrokenResourceError, OSError) as exc:
            raise ProxyFailed(f"proxy {proxy} broke the connection: {exc}") from exc
        if not chunk:
            what = f"after {_shown(data)}" if data else "without an answer"
            raise ProxyFailed(f"proxy {proxy} closed the connection {what}")
        data += chunk
    header, _, rest = data.partition(b"\r\n\r\n")
    return header + b"\r\n", rest


async def open_tunnel(proxy: HttpProxy, host: str, port: int) -> trio.SocketStream:
    """A TCP stream to ``host:port`` through ``proxy`` (HTTP CONNECT).

    ``host`` may be a name only the proxy knows (Proxmox's ``pvespiceproxy:...``).
    Raises :class:`ProxyFailed` (unreachable, refusing, not HTTP) or :class:`ProxyAuthRequired`;
    :class:`ConnectFailed` for a ``host`` that would break the request line (empty, spaces,
    control characters: a migration destination comes from the server).
    """
    if not host or any(c.isspace() or not c.isprintable() for c in host):
        raise ConnectFailed(f"cannot tunnel to {host[:80]!r}: not a host name")
    try:
        stream = await trio.open_tcp_stream(proxy.host, proxy.port)
    except OSError as exc:
        raise ProxyFailed(f"cannot connect to proxy {proxy}: {exc}") from exc
    try:
        target = _authority(host, port)
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        auth = proxy.authorization()
        if auth is not None:
            lines.append(f"Proxy-Authorization: {auth}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        try:
            await stream.send_all(request)
        except (trio.BrokenResourceError, OSError) as exc:
            raise ProxyFailed(f"proxy {proxy} broke the connection: {exc}") from exc
        header, rest = await _read_reply(stream, proxy)
        status = _STATUS.match(header)
        if status is None:
            raise ProxyFailed(f"proxy {proxy} answered something that is not HTTP: {_shown(header)}")
        code = int(status.group(1))
        reason = (status.group(2) or b"").decode("latin-1")[:80]
        # 407 is the standard answer; tinyproxy answers wrong credentials with a bare 401
        challenged = b"\nproxy-authenticate:" in header.lower()
        if code == 407 or (code == 401 and (auth is not None or challenged)):
            detail = "refused our credentials" if auth is not None else "asks for credentials"
            raise ProxyAuthRequired(f"proxy {proxy} {detail} (407 {reason})".rstrip())
        if not 200 <= code < 300:
            raise ProxyFailed(f"proxy {proxy} refused the tunnel: {code} {reason}".rstrip())
        if rest:  # the SPICE server speaks only after our link message
            raise ProxyFailed(
                f"proxy {proxy} sent {len(rest)} bytes after its reply, before the server spoke"
            )
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return stream
