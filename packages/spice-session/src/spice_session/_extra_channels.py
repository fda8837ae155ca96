"""Linking more channels to a running session: usbredir and port channels, on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from spice_net import Channel
from spice_proto import ChannelId, ChannelType

__all__ = ["ChannelOpener", "ExtraChannelHost"]

#: Links one channel of the session's server: ``await opener(channel_type, channel_id)``.
ChannelOpener = Callable[[ChannelType, int], Awaitable[Channel]]


class ExtraChannelHost(Protocol):
    """What USB redirection and ports need of a session: its channel list and a way to link."""

    @property
    def channels(self) -> tuple[ChannelId, ...]: ...

    async def open_extra_channel(self, channel_type: ChannelType, channel_id: int) -> Channel: ...
