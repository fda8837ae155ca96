"""How a session's channels are opened: TCP, TLS, a Unix socket or an HTTP proxy tunnel.

:func:`make_connector` turns what :func:`~spice_session.connect` was given (a URI, a
:class:`SpiceURI`, a :class:`VVFile` or the path of a .vv file, plus options) into one
:class:`Connector`.  A proxy comes from the ``proxy`` option, else the .vv file, else
``$SPICE_PROXY`` (as spice-gtk does); Unix sockets never use one.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import spice_net
from spice_net import Channel, HttpProxy, InvalidProxy, open_unix_channel, parse_proxy
from spice_proto import Caps, ChannelType

from ._channels import CLIENT_CHANNEL_CAPS
from ._errors import InvalidURI
from ._playback import playback_caps
from ._record import record_caps
from ._uri import SpiceURI, parse_uri
from ._video import stream_display_caps
from ._vv import VVFile, load_vv

__all__ = ["PROXY_ENV", "ConnectTarget", "Connector", "is_vv_path", "make_connector"]

#: The environment variable spice-gtk takes an HTTP proxy from.
PROXY_ENV = "SPICE_PROXY"

#: What :func:`~spice_session.connect` accepts as where to connect.
ConnectTarget = str | os.PathLike[str] | SpiceURI | VVFile


@dataclass
class Connector:
    """Opens channels the way the settings say: plain first, TLS when asked or on NEED_SECURED.

    ``secure_channels`` (channel names, or ``all``) always use TLS, as a .vv file's
    ``secure-channels`` asks.  Neither ``repr`` shows the password.
    """

    uri: SpiceURI
    password: str | None = field(repr=False)
    ca_file: str | Path | None = None
    host_subject: str | None = None
    timeout: float = 10.0
    opus: bool = True
    ca_data: str | None = field(default=None, repr=False)
    ciphers: str | None = None
    secure_channels: frozenset[str] = frozenset()
    proxy: HttpProxy | None = None
    _ssl: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = spice_net.client_ssl_context(
                ca_file=str(self.ca_file) if self.ca_file is not None else None,
                host_subject=self.host_subject,
                ca_data=self.ca_data,
                ciphers=self.ciphers,
            )
        return self._ssl

    def must_secure(self, channel_type: ChannelType) -> bool:
        """Whether the settings demand TLS for this channel type."""
        if not self.secure_channels:
            return False
        return "all" in self.secure_channels or channel_type.name.lower() in self.secure_channels

    def _caps(self, channel_type: ChannelType) -> Caps:
        caps = CLIENT_CHANNEL_CAPS.get(channel_type, Caps())
        if channel_type == ChannelType.DISPLAY:  # stream caps: codecs depend on the optional PyAV
            return Caps(caps | set(stream_display_caps()))
        if channel_type == ChannelType.PLAYBACK:  # Opus too depends on PyAV
            return playback_caps(self.opus)
        if channel_type == ChannelType.RECORD:
            return record_caps(self.opus)
        return caps

    async def open(
        self, channel_type: ChannelType, channel_id: int, connection_id: int, *, tls: bool
    ) -> tuple[Channel, bool]:
        """Link one channel; returns it and whether it runs over TLS."""
        caps = self._caps(channel_type)
        if self.uri.unix_path is not None:
            channel = await open_unix_channel(
                self.uri.unix_path,
                channel_type=channel_type,
                channel_id=channel_id,
                connection_id=connection_id,
                password=self.password,
                channel_caps=caps,
                timeout=self.timeout,
                username=self.uri.username,
            )
            return channel, False
        tls = tls or self.must_secure(channel_type)
        if not tls and self.uri.port is not None:
            try:
                channel = await spice_net.open_channel(
                    self.uri.host,
                    self.uri.port,
                    channel_type=channel_type,
                    channel_id=channel_id,
                    connection_id=connection_id,
                    password=self.password,
                    channel_caps=caps,
                    timeout=self.timeout,
                    proxy=self.proxy,
                    username=self.uri.username,
                )
                return channel, False
            except spice_net.NeedSecured:
                if self.uri.tls_port is None:
                    raise
        if self.uri.tls_port is None:
            raise spice_net.ConnectFailed(f"{self.uri}: TLS needed but the URI gives no tls-port")
        channel = await spice_net.open_channel(
            self.uri.host,
            self.uri.tls_port,
            channel_type=channel_type,
            channel_id=channel_id,
            connection_id=connection_id,
            password=self.password,
            ssl_context=self.ssl_context(),
            server_hostname=self.uri.host,
            channel_caps=caps,
            timeout=self.timeout,
            proxy=self.proxy,
            username=self.uri.username,
        )
        return channel, True


def is_vv_path(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a .vv file rather than a URI (no ``://``; ``.vv`` or an existing file)."""
    if isinstance(target, os.PathLike):
        return True
    return "://" not in target and (target.endswith(".vv") or os.path.isfile(target))


def _proxy_from(text: str, origin: str) -> HttpProxy:
    try:
        return parse_proxy(text)
    except InvalidProxy as exc:
        raise InvalidURI(f"{origin}: {exc}") from None


def make_connector(
    target: ConnectTarget,
    *,
    password: str | None = None,
    ca_file: str | Path | None = None,
    host_subject: str | None = None,
    timeout: float = 10.0,
    opus: bool = True,
    proxy: str | HttpProxy | None = None,
) -> Connector:
    """The :class:`Connector` for ``target``; explicit options override the .vv file's.

    ``proxy=""`` turns off a proxy the .vv file or ``$SPICE_PROXY`` would give.
    """
    vv: VVFile | None = None
    if isinstance(target, VVFile):
        vv = target
    elif not isinstance(target, SpiceURI) and is_vv_path(target):
        vv = load_vv(target)
    if vv is not None:
        uri = vv.uri()
        settings = Connector(
            uri,
            password if password is not None else vv.password,
            ca_file,
            host_subject if host_subject is not None else vv.host_subject,
            timeout,
            opus,
            ca_data=vv.ca,
            ciphers=vv.tls_ciphers,
            secure_channels=frozenset(vv.secure_channels),
            proxy=vv.proxy,
        )
    else:
        uri = target if isinstance(target, SpiceURI) else parse_uri(str(target))
        settings = Connector(
            uri, password if password is not None else uri.password, ca_file, host_subject, timeout, opus
        )
    if isinstance(proxy, HttpProxy):
        settings.proxy = proxy
    elif proxy is not None:
        settings.proxy = _proxy_from(proxy, "proxy") if proxy else None
    elif settings.proxy is None and (env := os.environ.get(PROXY_ENV)):
        settings.proxy = _proxy_from(env, f"${PROXY_ENV}")
    if uri.unix_path is not None:
        settings.proxy = None
    return settings
