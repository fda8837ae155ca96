"""Drop channels whose client has gone silent: PING after half the timeout, close after all of it."""

from __future__ import annotations

import itertools
import time

import trio
from spice_net import ServerChannel
from spice_proto import Ping

__all__ = ["watch_silence"]


async def watch_silence(channel: ServerChannel, timeout: float) -> None:
    """Return once ``channel`` has received no message (not even ACK or PONG) for ``timeout`` s.

    After ``timeout / 2`` s of silence a PING goes out, which any live client answers with a PONG.
    Run it beside the channel's own tasks and cancel them when it returns.
    """
    ids = itertools.count(1)
    pinged_at = -1.0
    while True:
        last = channel.last_message_at
        now = trio.current_time()
        if now - last >= timeout:
            return
        if now - last >= timeout / 2 and pinged_at < last:
            pinged_at = now
            with trio.move_on_at(last + timeout):  # a client that stopped reading blocks this send
                await channel.send(Ping(next(ids) & 0xFFFFFFFF, time.monotonic_ns() // 1000))
            continue
        wake = last + (timeout if pinged_at >= last else timeout / 2)
        await trio.sleep_until(wake)
