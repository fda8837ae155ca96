"""``spice control URI --socket PATH``: the automation verbs as JSON lines over a Unix socket.

One JSON object per line, UTF-8, both ways.  A request::

    {"id": 1, "verb": "type", "args": {"text": "root\\n"}}

gets exactly one reply with the same ``id`` (any JSON value; ``null`` when absent)::

    {"id": 1, "result": null}
    {"id": 2, "error": {"code": "bad_args", "message": "missing argument 'x'"}}

Requests of one connection run in order, one at a time; several connections may be
open at once.  ``screenshot`` answers ``{"png": BASE64, "width": W, "height": H}``;
``verbs`` lists the verbs and their arguments.  ``subscribe`` (args ``{"events":
["damage", "cursor", "clipboard", "connection"]}``) makes events arrive between replies,
as objects with an ``event`` key and no ``id``::

    {"event": "damage", "surface": 0, "channel": 0, "rect": [x, y, w, h]}
    {"event": "cursor", "kind": "moved", "x": 10, "y": 20}
    {"event": "clipboard", "kind": "grabbed", "selection": 0, "types": [1]}
    {"event": "connection", "kind": "channel_ended", "channel": [2, 0]}
    {"event": "dropped", "count": 12}

``unsubscribe`` (same args, or none for all) stops them.  A connection that reads too
slowly loses events (counted in ``dropped``), never replies.  A line that is not JSON or
not an object gets an error with ``id`` null, and so does a line longer than 32 MiB
(its bytes are skipped up to the next newline).  Error codes: ``bad_json``, ``bad_request``, ``too_long`` and
those of :data:`spice_cli._verbs.ERROR_CODES`.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import signal
import socket
import stat
from contextlib import suppress
from typing import Any, TextIO

import trio
from spice_session import LAYOUTS, Driver
from spice_session import events as ev

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session
from ._verbs import ERROR_CODES, VERBS, Shot, VerbError, call

__all__ = ["EVENT_KINDS", "MAX_LINE", "add_parser", "event_json", "run"]

#: Longest request line (an expect may carry a large PNG).
MAX_LINE = 32 << 20
#: Events queued for one connection before they are dropped.
EVENT_QUEUE = 1024
EVENT_KINDS = ("damage", "cursor", "clipboard", "connection")
#: Seconds the connections get to write their last events once the session ended.
FLUSH_TIMEOUT = 2.0


def event_json(event: ev.Event) -> tuple[str, dict[str, Any]] | None:
    """(kind, JSON object) of a session event that subscribers may see; ``None`` for the rest."""
    if isinstance(event, ev.Damage):
        r = event.rect
        rect = [r.left, r.top, r.right - r.left, r.bottom - r.top]
        return "damage", {
            "event": "damage",
            "surface": event.surface_id,
            "channel": event.channel_id,
            "rect": rect,
        }
    if isinstance(event, ev.CursorMoved):
        return "cursor", {"event": "cursor", "kind": "moved", "x": event.x, "y": event.y}
    if isinstance(event, ev.CursorShapeChanged):
        s = event.shape
        shape = {"width": s.width, "height": s.height, "hot_x": s.hot_x, "hot_y": s.hot_y}
        body = {"event": "cursor", "kind": "shape", "x": event.x, "y": event.y, "visible": event.visible}
        return "cursor", {**body, "shape": shape}
    if isinstance(event, ev.CursorHidden):
        return "cursor", {"event": "cursor", "kind": "hidden"}
    if isinstance(event, ev.ClipboardGrabbed):
        types = [int(t) for t in event.types]
        return "clipboard", {
            "event": "clipboard",
            "kind": "grabbed",
            "selection": int(event.selection),
            "types": types,
        }
    if isinstance(event, ev.ClipboardReleased):
        return "clipboard", {"event": "clipboard", "kind": "released", "selection": int(event.selection)}
    if isinstance(event, (ev.ChannelOpened, ev.ChannelEnded)):
        kind = "channel_opened" if isinstance(event, ev.ChannelOpened) else "channel_ended"
        channel = [int(event.channel_type), event.channel_id]
        return "connection", {"event": "connection", "kind": kind, "channel": channel}
    if isinstance(event, ev.SessionClosed):
        return "connection", {"event": "connection", "kind": "closed", "reason": event.reason}
    if isinstance(event, (ev.AgentConnected, ev.AgentDisconnected)):
        kind = "agent_connected" if isinstance(event, ev.AgentConnected) else "agent_disconnected"
        return "connection", {"event": "connection", "kind": kind}
    return None


def _dumps(obj: Any) -> bytes:
    """One JSON line; a value JSON cannot carry (NaN, a stray type) becomes an error reply."""
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    except (ValueError, TypeError) as exc:
        rid = obj.get("id") if isinstance(obj, dict) and "event" not in obj else None
        return json.dumps(_error(rid, "session", f"a result JSON cannot carry: {exc}")).encode() + b"\n"


class _Subscriber:
    """One connection's event queue: bounded, drops counted."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        # (kind, body): the kind is checked again when written, so nothing of a kind
        # unsubscribed from reaches the socket after the unsubscribe reply
        self.send, self.receive = trio.open_memory_channel[tuple[str, dict[str, Any]]](EVENT_QUEUE)
        self.dropped = 0
        self.flushed = trio.Event()

    def offer(self, kind: str, body: dict[str, Any]) -> None:
        if kind not in self.kinds:
            return
        if self.dropped:
            try:
                self.send.send_nowait(("dropped", {"event": "dropped", "count": self.dropped}))
                self.dropped = 0
            except trio.WouldBlock:
                self.dropped += 1
                return
        try:
            self.send.send_nowait((kind, body))
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            self.dropped += 1


class ControlServer:
    """The verbs of one session served to any number of socket connections."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.subscribers: set[_Subscriber] = set()
        self._verb_lock = trio.Lock()  # verbs of different connections do not interleave

    async def pump_events(self) -> None:
        """Hand the session's events to the subscribers until the session ends."""
        async for event in self.driver.session.events():
            found = event_json(event)
            if isinstance(event, ev.EventsDropped):
                for sub in self.subscribers:
                    sub.dropped += event.count
            if found is not None:
                for sub in list(self.subscribers):
                    sub.offer(*found)

    async def flush(self, timeout: float) -> None:
        """The session ended: let every connection write its last events (``timeout`` at most)."""
        subscribers = list(self.subscribers)
        for sub in subscribers:
            sub.send.close()
        with trio.move_on_after(timeout):
            for sub in subscribers:
                await sub.flushed.wait()

    async def handle(self, stream: trio.abc.Stream) -> None:
        """Serve one connection until it closes."""
        sub = _Subscriber()
        write_lock = trio.Lock()
        self.subscribers.add(sub)
        try:
            async with trio.open_nursery() as nursery:

                async def write(obj: Any, kind: str | None = None) -> None:
                    async with write_lock:
                        if kind is not None and kind != "dropped" and kind not in sub.kinds:
                            return  # unsubscribed while it waited in the queue
                        try:
                            await stream.send_all(_dumps(obj))
                        except (trio.BrokenResourceError, trio.ClosedResourceError):
                            nursery.cancel_scope.cancel()  # the client went away
                            await trio.lowlevel.checkpoint()

                async def forward_events() -> None:
                    async for kind, body in sub.receive:
                        await write(body, kind)
                    sub.flushed.set()  # the session ended and everything was written

                nursery.start_soon(forward_events)
                try:
                    async for line in _lines(stream):
                        if line is None:
                            await write(_error(None, "too_long", f"a line longer than {MAX_LINE} bytes"))
                        else:
                            await write(await self._request(line, sub))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                nursery.cancel_scope.cancel()
        finally:
            self.subscribers.discard(sub)
            sub.send.close()
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.aclose()

    async def _request(self, line: bytes, sub: _Subscriber) -> dict[str, Any]:
        try:
            request = json.loads(line, parse_constant=_no_constant, parse_float=_finite)
        except (ValueError, RecursionError) as exc:
            return _error(None, "bad_json", f"not JSON: {exc}")
        if not isinstance(request, dict):
            return _error(None, "bad_request", "a request is a JSON object")
        rid = request.get("id")
        verb = request.get("verb")
        args = request.get("args", {})
        if args is None:
            args = {}
        if not isinstance(verb, str):
            return _error(rid, "bad_request", "verb: expected a string")
        if not isinstance(args, dict):
            return _error(rid, "bad_args", "args: expected an object")
        if verb in ("subscribe", "unsubscribe"):
            return self._subscription(rid, verb, args, sub)
        if verb == "verbs":
            listing = {name: spec for name, (_, spec) in VERBS.items()}
            listing["subscribe"] = "events [damage, cursor, clipboard, connection]"
            listing["unsubscribe"] = "events?"
            return {"id": rid, "result": {"verbs": listing, "errors": ERROR_CODES}}
        try:
            async with self._verb_lock:
                result = await call(self.driver, verb, args)
        except VerbError as exc:
            return _error(rid, exc.code, exc.message)
        if isinstance(result, Shot):
            result = {
                "png": base64.b64encode(result.png).decode(),
                "width": result.width,
                "height": result.height,
            }
        return {"id": rid, "result": result}

    def _subscription(self, rid: Any, verb: str, args: dict[str, Any], sub: _Subscriber) -> dict[str, Any]:
        kinds = args.get("events", list(EVENT_KINDS) if verb == "unsubscribe" else None)
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            return _error(rid, "bad_args", "events: expected a list of " + ", ".join(EVENT_KINDS))
        unknown = sorted(set(kinds) - set(EVENT_KINDS))
        if unknown:
            return _error(
                rid, "bad_args", f"events: unknown kinds {unknown} (known: {', '.join(EVENT_KINDS)})"
            )
        if verb == "subscribe":
            sub.kinds |= set(kinds)
        else:
            sub.kinds -= set(kinds)
        return {"id": rid, "result": {"events": sorted(sub.kinds)}}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _error(rid: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "error": {"code": code, "message": message}}


async def _lines(stream: trio.abc.ReceiveStream) -> Any:
    """Lines without their ``\\n`` (blank ones skipped); ``None`` for a line longer than
    :data:`MAX_LINE`, whose bytes are read and thrown away up to its end."""
    buffer = bytearray()
    skipping = False
    while True:
        data = await stream.receive_some(1 << 16)
        if not data:
            return
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            skipping = False
            data = data[end + 1 :]
        start = 0
        buffer += data
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start:end]).strip()
            start = end + 1
            if line:
                yield line
        del buffer[:start]
        if len(buffer) > MAX_LINE:
            buffer.clear()
            skipping = True
            yield None


async def _listen(path: str) -> trio.SocketListener:
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise UsageError(f"--socket {path}: exists and is not a socket")
        try:
            probe = await trio.open_unix_socket(path)
        except OSError:
            os.unlink(path)  # nobody listens: a leftover of an earlier run
        else:
            await probe.aclose()
            raise UsageError(f"--socket {path}: another process is listening on it")
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # owner only: the socket drives the machine
    try:
        await sock.bind(path)
    except OSError as exc:
        sock.close()
        raise UsageError(f"--socket {path}: {exc.strerror or exc}") from None
    finally:
        os.umask(old)
    sock.listen(16)
    return trio.SocketListener(sock)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "control",
        help=HELP["control"],
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument("--socket", required=True, metavar="PATH", help="the Unix socket to listen on")
    p.add_argument("--layout", default="us", choices=LAYOUTS, help="the guest's keyboard layout (default us)")
    p.set_defaults(command=run)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, listen on the socket, serve until the session ends or Ctrl+C."""
    check_connection_args(args)
    path = str(args.socket)
    listener = await _listen(path)
    try:
        async with open_session(args) as session:
            server = ControlServer(Driver(session, args.layout))
            print(f"spice control: listening on {path}", file=out, flush=True)
            with trio.open_signal_receiver(signal.SIGTERM) as signals:
                async with trio.open_nursery() as nursery:

                    async def serve() -> None:
                        await trio.serve_listeners(server.handle, [listener])

                    async def on_sigterm() -> None:
                        async for _ in signals:  # ends the command cleanly: the socket file goes
                            nursery.cancel_scope.cancel()

                    nursery.start_soon(serve)
                    nursery.start_soon(on_sigterm)
                    await server.pump_events()
                    await server.flush(FLUSH_TIMEOUT)
                    nursery.cancel_scope.cancel()  # the session ended
    finally:
        with suppress(OSError):
            os.unlink(path)
        await listener.aclose()
    return ExitCode.OK
