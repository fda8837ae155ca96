"""USB redirection for a session: each attached device runs on a usbredir channel of its own.

``async with UsbRedirection.for_session(session).attach(usb_disk("stick.img")) as dev:``
links a free usbredir channel, serves the device until the block ends, then sends
DEVICE_DISCONNECT (the guest unplugs it), waits briefly for the acknowledgement and
closes the channel.  The channel's reader runs in the block's own nursery.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import spice_net
import trio
from spice_net import Channel
from spice_net.lowlevel import single_error
from spice_proto import ChannelType, Direction, SpicevmcMsg, SpicevmcMsgc, UnknownMessage

from ._errors import ChannelUnavailable
from ._extra_channels import ExtraChannelHost
from ._usb_device import VirtualDevice
from ._usb_host import UsbRedirHost
from ._usbredir import UsbRedirError
from ._usbredir_filter import FilterRule, FilterVerdict, parse_filter

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["UsbAttachment", "UsbRedirection", "UsbRejected"]

#: Largest SPICEVMC_DATA body we send.
CHUNK = 64 * 1024
#: Pause between polls of a physical device that had nothing ready (seconds).
POLL_INTERVAL = 0.002
#: How often a physical device with nothing to poll (no IN waiting) is looked at again.
IDLE_INTERVAL = 0.02
_ACK_TIMEOUT = 5.0

Opener = Callable[[int], Awaitable[Channel]]


class UsbRejected(UsbRedirError):
    """The guest refused the device (its usbredir filter)."""


def check_allowed(device: VirtualDevice, rules: Sequence[FilterRule]) -> None:
    """:class:`UsbRejected` unless ``rules`` allow ``device`` (device class, then its interfaces)."""
    info = device.info
    verdict = info.filter_verdict(rules)
    if verdict != FilterVerdict.ALLOW:
        raise UsbRejected(f"the USB filter does not allow {info.product!r} ({verdict.value})")


class UsbAttachment:
    """One device attached through one usbredir channel."""

    def __init__(self, host: UsbRedirHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel
        self._configured = trio.Event()
        self._rejected = trio.Event()
        self._acked = trio.Event()
        self._send_lock = trio.Lock()
        self._host_lock = trio.Lock()

    @property
    def device(self) -> VirtualDevice:
        return self.host.device

    async def wait_configured(self, timeout: float = 30.0) -> None:
        """Return once the guest has configured the device (its driver can bind).

        :class:`UsbRejected` if the guest refused it, ``TimeoutError`` after ``timeout`` s.
        """
        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:

                async def rejected() -> None:
                    await self._rejected.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(rejected)
                await self._configured.wait()
                nursery.cancel_scope.cancel()
            if self.host.rejected is not None:
                raise UsbRejected(self.host.rejected)
            return
        raise TimeoutError(f"the guest did not configure the USB device within {timeout:g} s")

    async def send(self, data: bytes) -> None:
        async with self._send_lock:  # the reader and flush() both send
            for start in range(0, len(data), CHUNK):
                body = data[start : start + CHUNK]
                await self.channel.send(
                    UnknownMessage(ChannelType.USBREDIR, Direction.CLIENT_TO_SERVER, SpicevmcMsgc.DATA, body)
                )

    async def flush(self) -> None:
        """Send what the device has ready on its interrupt and iso IN endpoints (HID reports
        queued by ``press``/``move``...) once the guest receives from them; call after queueing."""
        data = await self._host_call(self.host.stream_data)
        if data:
            await self.send(data)

    async def _host_call(self, call: Callable[..., bytes], *args: bytes) -> bytes:
        """One call into the host, one at a time; in a worker thread for a blocking device."""
        async with self._host_lock:
            if self.host.device.blocking:
                return await trio.to_thread.run_sync(call, *args)
            return call(*args)

    async def _poll(self) -> None:
        """Forward what a physical device has ready (its hooks wait at most a few ms each)."""
        while True:
            if not self.host.wants_poll:
                await trio.sleep(IDLE_INTERVAL)
                continue
            data = await self._host_call(self.host.poll)
            if data:
                await self.send(data)
            else:
                await trio.sleep(POLL_INTERVAL)

    async def _read(self) -> None:
        """Answer the guest's packets until the channel closes."""
        while True:
            try:
                message = await self.channel.receive()
            except spice_net.ChannelClosed:
                return
            if int(message.type) == SpicevmcMsg.COMPRESSED_DATA:
                raise UsbRedirError("the server sent compressed usbredir data, which we did not offer")
            if int(message.type) != SpicevmcMsg.DATA:
                continue  # SET_ACK, PING... are answered by spice_net
            reply = await self._host_call(self.host.receive_data, message.encode())
            if reply:
                await self.send(reply)
            if self.host.configurations:
                self._configured.set()
            if self.host.rejected is not None:
                self._rejected.set()
            if self.host.disconnected:
                self._acked.set()


class UsbRedirection:
    """Attaches virtual devices through the server's usbredir channels."""

    def __init__(self, opener: Opener, channel_ids: Sequence[int]) -> None:
        self._opener = opener
        self._free = list(channel_ids)

    @classmethod
    def for_session(cls, session: ExtraChannelHost) -> UsbRedirection:
        """Link usbredir channels to ``session``'s server, the way the session linked its own."""
        ids = [int(c.id) for c in session.channels if c.type == ChannelType.USBREDIR]
        return cls(lambda channel_id: session.open_extra_channel(ChannelType.USBREDIR, channel_id), ids)

    @property
    def free_channels(self) -> int:
        return len(self._free)

    @asynccontextmanager
    async def attach(
        self, device: VirtualDevice, *, filter: str | Sequence[FilterRule] | None = None
    ) -> AsyncIterator[UsbAttachment]:
        """Plug ``device`` into the guest for the duration of the block.

        ``filter`` (usbredir rules, e.g. a ``.vv`` file's ``usb-filter``) must allow the
        device, or :class:`UsbRejected` is raised before anything is linked.
        """
        if filter is not None:
            check_allowed(device, parse_filter(filter) if isinstance(filter, str) else filter)
        if not self._free:
            raise ChannelUnavailable("no free usbredir channel (the server offers none, or all are in use)")
        channel_id = self._free.pop(0)
        try:
            channel = await self._opener(channel_id)
            attachment = UsbAttachment(UsbRedirHost(device), channel)
            try:
                async with trio.open_nursery() as nursery:
                    await attachment.send(attachment.host.start())
                    nursery.start_soon(attachment._read, name="spice-usbredir")
                    if device.blocking:
                        nursery.start_soon(attachment._poll, name="spice-usbredir-poll")
                    yield attachment
                    await self._detach(attachment)
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                single = single_error(group)
                if single is None:
                    raise
                raise single from None
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(2.0):
                    await channel.aclose()
        finally:
            self._free.insert(0, channel_id)

    @staticmethod
    async def _detach(attachment: UsbAttachment) -> None:
        goodbye = attachment.host.disconnect()
        if not goodbye:
            return
        try:
            await attachment.send(goodbye)
        except spice_net.ChannelClosed:
            return
        with trio.move_on_after(_ACK_TIMEOUT):
            await attachment._acked.wait()
