"""Linking more channels to a running session: usbredir and port channels, on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import spice_net
from spice_net import Channel
from spice_proto import ChannelType

from ._errors import ChannelUnavailable

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["ChannelOpener", "session_opener"]

#: Links one channel of the session's server: ``await opener(channel_type, channel_id)``.
ChannelOpener = Callable[[ChannelType, int], Awaitable[Channel]]


def session_opener(session: Session, *, password: str | None = None) -> ChannelOpener:
    """An opener for ``session``'s server (plain TCP, its host and port, its session id)."""
    uri = session.uri
    if session.tls or uri.port is None:
        raise ChannelUnavailable(f"{uri}: extra channels over TLS are not supported yet")
    port = uri.port
    secret = password if password is not None else uri.password

    async def opener(channel_type: ChannelType, channel_id: int) -> Channel:
        return await spice_net.open_channel(
            uri.host,
            port,
            channel_type=channel_type,
            channel_id=channel_id,
            connection_id=session.session_id,
            password=secret,
        )

    return opener
