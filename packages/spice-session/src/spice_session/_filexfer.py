"""Sending files to the guest through the agent (``session.files``).

FILE_XFER_START names the file and its size; the agent answers CAN_SEND_DATA (or an
error: disabled, no space, locked session...), then DATA messages follow, paced by the
agent queue, and the agent's final status says SUCCESS.  Cancelling the sending task
tells the agent CANCELLED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio
from spice_proto import (
    AgentCap,
    AgentFileXferData,
    AgentFileXferStart,
    AgentFileXferStatus,
    AgentFileXferStatusCode,
    AgentMessage,
)

from ._agent_port import AgentPort
from ._errors import AgentError

__all__ = ["FileTransferError", "FileTransfers"]

CHUNK_SIZE = 32 * 1024
#: DATA chunks (2 KiB each on the wire) allowed in our queue before reading more of the file.
_QUEUE_CHUNKS = 64


class FileTransferError(AgentError):
    """The agent refused or failed a transfer: ``status`` says how (None: the agent went away)."""

    def __init__(self, message: str, status: AgentFileXferStatus | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Xfer:
    statuses: list[AgentFileXferStatus] = field(default_factory=list)
    changed: trio.Event = field(default_factory=trio.Event)
    gone: bool = False


def _describe(status: AgentFileXferStatus) -> str:
    code = status.result
    name = AgentFileXferStatusCode(code).name if code in AgentFileXferStatusCode._value2member_map_ else code
    extra = ""
    if status.free_space is not None:
        extra = f" ({status.free_space} bytes free)"
    elif status.error is not None:
        extra = f" (error type {status.error[0]}, code {status.error[1]})"
    return f"{name}{extra}"


class FileTransfers:
    """File transfers to the guest; ``await session.files.send(path, progress=cb)``."""

    def __init__(self, agent: AgentPort) -> None:
        self._agent = agent
        self._next_id = 1
        self._xfers: dict[int, _Xfer] = {}

    async def send(
        self,
        path: str | Path,
        *,
        progress: Callable[[int, int], object] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Send one file; ``progress(sent, total)`` after each chunk.  FileTransferError on failure."""
        source = Path(path)
        size = source.stat().st_size
        agent = self._agent
        await agent.ready()
        if agent.has(AgentCap.FILE_XFER_DISABLED):
            raise FileTransferError("file transfer is disabled in the guest")
        xfer_id = self._next_id
        self._next_id += 1
        xfer = self._xfers[xfer_id] = _Xfer()
        finished = False
        try:
            agent.send(AgentFileXferStart(xfer_id, source.name, size).message())
            first = await self._status(xfer, 0, timeout)
            if first.result == AgentFileXferStatusCode.SUCCESS:
                finished = True
                return
            if first.result != AgentFileXferStatusCode.CAN_SEND_DATA:
                finished = True
                raise FileTransferError(f"{source.name}: the agent refused: {_describe(first)}", first)
            sent = 0
            async with await trio.open_file(source, "rb") as f:
                while sent < size:
                    chunk = await f.read(min(CHUNK_SIZE, size - sent))
                    if not chunk:
                        raise FileTransferError(f"{source.name} shrank while being sent")
                    if len(xfer.statuses) > 1:  # the agent stopped it midway
                        finished = True
                        raise FileTransferError(
                            f"{source.name}: {_describe(xfer.statuses[1])}", xfer.statuses[1]
                        )
                    agent.send(AgentFileXferData(xfer_id, chunk).message())
                    sent += len(chunk)
                    await agent.drained(below=_QUEUE_CHUNKS)
                    if progress is not None:
                        progress(sent, size)
            last = await self._status(xfer, 1, timeout)
            finished = True
            if last.result != AgentFileXferStatusCode.SUCCESS:
                raise FileTransferError(f"{source.name}: {_describe(last)}", last)
        finally:
            del self._xfers[xfer_id]
            if not finished and agent.connected:
                agent.send(AgentFileXferStatus(xfer_id, AgentFileXferStatusCode.CANCELLED).message())

    async def _status(self, xfer: _Xfer, index: int, timeout: float) -> AgentFileXferStatus:
        with trio.move_on_after(timeout):
            while len(xfer.statuses) <= index and not xfer.gone:
                await xfer.changed.wait()
        if xfer.gone:
            raise FileTransferError("the guest agent went away during the transfer")
        if len(xfer.statuses) <= index:
            raise FileTransferError(f"no answer from the agent within {timeout:g} s")
        return xfer.statuses[index]

    def handle(self, message: AgentMessage) -> None:
        """A FILE_XFER_STATUS from the agent."""
        status = AgentFileXferStatus.parse(message.data)
        xfer = self._xfers.get(status.id)
        if xfer is not None:
            xfer.statuses.append(status)
            xfer.changed.set()
            xfer.changed = trio.Event()

    def reset(self) -> None:
        """The agent went away: every transfer fails."""
        for xfer in self._xfers.values():
            xfer.gone = True
            xfer.changed.set()
