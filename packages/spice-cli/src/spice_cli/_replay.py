"""``spice replay DIR``: feed a ``--capture`` directory back through the client, offline.

A replay server on 127.0.0.1 answers each channel the client links with what the real
server sent on that channel (the next capture of the same channel type and id, in
capture order), ignoring what the client sends.  The client is the same session code as
``spice screenshot``/``view``, so a capture of a bug reproduces it: a picture the client
drew wrong, a message it refused (exit 9 with the message), a crash (a traceback).
Without ``--serve`` it connects by itself, waits until the replayed display has been still
for ``--settle`` seconds, prints what it saw and saves ``--screenshot``; with ``--serve``
it prints its URI and replays to any client (``spice view``, remote-viewer) until Ctrl+C.
"""

from __future__ import annotations

import argparse
import struct
from collections import defaultdict, deque
from pathlib import Path
from typing import TextIO

import spice_net
import spice_session as ss
import trio
from PIL import Image
from spice_proto import ChannelType

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError

__all__ = ["Replay", "add_parser", "load_captures", "run"]

_LINK_HEADER = 16
_MAX_LINK = 1 << 16


def load_captures(directory: Path) -> dict[tuple[int, int], deque[bytes]]:
    """(channel type, id) -> the server's bytes of each capture of that channel, in order."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a capture directory")
    found: dict[tuple[int, int], deque[bytes]] = defaultdict(deque)
    named = []
    for path in directory.iterdir():
        parsed = spice_net.lowlevel.channel_of(path)
        if parsed is not None:
            named.append((parsed, path))
    if not named:
        raise UsageError(f"{directory}: no NN-CHANNEL-ID.pcap files (made by --capture)")
    for (_, name, channel_id), path in sorted(named):
        try:
            channel_type = int(ChannelType[name.upper()])
        except KeyError:
            if not name.startswith("type") or not name[4:].isdigit():
                raise UsageError(f"{path.name}: unknown channel {name!r}") from None
            channel_type = int(name[4:])
        try:
            segments = spice_net.read_pcap(path)
        except spice_net.CaptureError as exc:
            raise UsageError(str(exc)) from None
        found[(channel_type, channel_id)].append(b"".join(s.data for s in segments if s.from_server))
    return dict(found)


class Replay:
    """Serves captured server bytes to whoever links the same channel."""

    def __init__(self, captures: dict[tuple[int, int], deque[bytes]]) -> None:
        self.captures = captures
        self.served: list[tuple[int, int]] = []

    async def handle(self, stream: trio.abc.Stream) -> None:
        async with stream:
            try:
                header = await _read_exactly(stream, _LINK_HEADER)
                size = struct.unpack_from("<I", header, 12)[0]
                if header[:4] != b"REDQ" or not 6 <= size <= _MAX_LINK:
                    return
                body = await _read_exactly(stream, size)
            except (EOFError, trio.BrokenResourceError):
                return
            key = (body[4], body[5])
            queue = self.captures.get(key)
            if not queue:
                return  # a channel the capture does not have: closed, as a server would
            data = queue.popleft()
            self.served.append(key)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_drain, stream)
                try:
                    await stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                # what the server said has been said; the client closes when it is done


async def _read_exactly(stream: trio.abc.ReceiveStream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = await stream.receive_some(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    try:
        while await stream.receive_some(1 << 16):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replay",
        help=HELP["replay"],
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("directory", metavar="DIR", help="a directory written by --capture")
    p.add_argument("--screenshot", metavar="FILE.png", help="save the replayed screen")
    p.add_argument(
        "--settle", type=float, default=1.0, metavar="S", help="stillness that ends it (default 1 s)"
    )
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="give up after S seconds (default 30)"
    )
    p.add_argument("--serve", action="store_true", help="serve the replay to other clients until Ctrl+C")
    p.set_defaults(command=run)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    if args.settle < 0 or args.timeout <= 0:
        raise UsageError("--settle must be >= 0 and --timeout > 0")
    captures = load_captures(Path(args.directory))
    replay = Replay(captures)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    uri = f"spice://127.0.0.1:{port}"
    audio = any(t in (ChannelType.PLAYBACK, ChannelType.RECORD) for t, _ in captures)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, replay.handle, listeners)
        if args.serve:
            print(f"spice replay: {uri}", file=out, flush=True)
            await trio.sleep_forever()
        async with ss.connect(uri, timeout=args.timeout, audio=audio) as session:
            shot = await session.screenshot(settle=args.settle, timeout=args.timeout)
            events = session.events()
            problems = []
            while True:
                try:
                    event = events.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                if isinstance(event, (ss.events.DisplayProblem, ss.events.CursorProblem)):
                    problems.append(str(event.error))
            channels = ", ".join(f"{ChannelType(t).name.lower()}:{i}" for t, i in replay.served)
            print(f"replayed {channels}; screen {shot.width}x{shot.height}", file=out, flush=True)
            for problem in problems:
                print(f"problem: {problem}", file=out, flush=True)
            if args.screenshot:
                Image.fromarray(shot.to_rgb()).save(args.screenshot, format="PNG")
                print(f"{args.screenshot}: {shot.width}x{shot.height}", file=out, flush=True)
        nursery.cancel_scope.cancel()
    return ExitCode.OK
