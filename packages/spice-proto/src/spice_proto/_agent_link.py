"""One end of the agent stream on the main channel: chunks, tokens, reassembly (sans-I/O).

Both directions are token-counted per AGENT_DATA message.  The side that receives
grants tokens (client: AGENT_START and MSGC_AGENT_TOKEN; server: MAIN_INIT /
AGENT_CONNECTED_TOKENS and MSG_AGENT_TOKEN); the sender may have at most that many
chunks in flight.  :class:`AgentLink` holds queued chunks until tokens allow them,
refuses chunks the peer sent without a token, and counts the tokens to hand back.
"""

from __future__ import annotations

from collections import deque

from ._agent import AGENT_MAX_DATA_SIZE, AgentMessage, AgentStream, agent_chunks
from ._errors import ProtocolError

__all__ = ["AgentLink"]


class AgentLink:
    """Token flow control both ways and the reassembly of one agent stream.

    ``window`` is how many chunks we let the peer have in flight (the number we grant
    first); ``max_message_size`` bounds one reassembled agent message.
    """

    def __init__(self, window: int = 10, max_message_size: int = 64 << 20) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        self.window = window
        self.max_message_size = max_message_size
        #: Chunks we may still send.
        self.send_tokens = 0
        self._out: deque[bytes] = deque()
        self._stream = AgentStream(max_message_size)
        self._allowed = 0
        self._to_return = 0

    def start(self, send_tokens: int) -> int:
        """Begin a fresh stream (the agent (re)connected); returns the tokens we grant now.

        Tokens granted earlier may still be spent: libspice-server keeps a client's tokens
        while its agent is away and sends the new agent's first chunks with them, before
        it reads the new grant (which replaces its count).  The peer never holds more than
        ``window``, so at most ``2 * window`` chunks are allowed until tokens come back.
        """
        earlier = min(self._allowed, self.window)
        self.reset()
        self.send_tokens = send_tokens
        self._allowed = earlier + self.window
        return self.window

    def reset(self) -> None:
        """Forget the stream and the chunks queued both ways: the agent went away.  The
        tokens we granted stay with the peer (see :meth:`start`)."""
        self.send_tokens = 0
        self._out.clear()
        self._stream = AgentStream(self.max_message_size)
        self._to_return = 0

    def grant(self, tokens: int) -> None:
        """The peer lets us send ``tokens`` more chunks."""
        self.send_tokens += tokens

    def queue(self, message: AgentMessage) -> None:
        """Queue one agent message, cut into chunks."""
        self._out.extend(agent_chunks(message.encode(), AGENT_MAX_DATA_SIZE))

    @property
    def queued(self) -> int:
        """Chunks waiting for tokens."""
        return len(self._out)

    def sendable(self) -> list[bytes]:
        """The chunks the tokens allow now (they count as spent)."""
        n = min(self.send_tokens, len(self._out))
        self.send_tokens -= n
        return [self._out.popleft() for _ in range(n)]

    def receive(self, chunk: bytes) -> list[AgentMessage]:
        """A chunk from the peer; the messages it completes.  Without a token: ProtocolError."""
        if self._allowed <= 0:
            raise ProtocolError("agent data beyond the tokens granted", where="AGENT_DATA")
        self._allowed -= 1
        self._to_return += 1
        return self._stream.feed(chunk)

    def tokens_to_return(self) -> int:
        """Tokens for chunks consumed since the last call (grant them back to the peer)."""
        n, self._to_return = self._to_return, 0
        self._allowed += n
        return n
