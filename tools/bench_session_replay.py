"""The session's per-message cost on a recorded display flood, replayed offline (no sockets).

A ``--capture`` directory (``spice ... --capture DIR``) of Xspice showing a scrolling xterm
holds thousands of small DRAW_COPYs a second.  This replays the display channel's recorded
bytes through the client's own code, without a server, in three layers:

- ``parse``: spice_proto's :class:`Connection` only (headers, message decoding, ACK duties);
- ``display``: parsing plus the display state (canvas, image decoding, GLZ);
- ``session``: a real :class:`spice_session.Session` reading a :class:`spice_net.Channel` over
  an in-memory stream (events, statistics, trio) with a task draining ``events()``;
- ``viewer``: the same, its events read as ``spice view`` reads them (``ignore`` of the
  per-message display events, ``merge_damage``); skipped for a tree without them.

CPU seconds per layer (best of ``--rounds``) and microseconds per display message are
printed; the difference between layers is what each adds.  Without ``--capture`` it records
one first (Xspice + xterm, ``--record-seconds``); skipped when Xspice or xterm is missing.

    python tools/bench_session_replay.py [--capture DIR] [--rounds 3] [--record-seconds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import spice_net
import spice_session as ss
import trio
from spice_proto import (
    ChannelType,
    Connection,
    DisplayDrawCopy,
    LinkEstablished,
    LinkReplyReceived,
    MainInit,
    MessageReceived,
    NeedData,
    Role,
)
from spice_session import Display, DisplaySettings, Session
from spice_session.lowlevel import CLIENT_CHANNEL_CAPS

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHUNK = 256 * 1024  # what spice_net asks the socket for at a time


def record(directory: Path, seconds: float) -> bool:
    """A capture of Xspice showing a scrolling xterm into ``directory``; False if it cannot run."""
    from bench_server import XORG, XSPICE_CONFIG, start_xspice, stop

    if not (os.path.exists(XORG) and os.path.exists(XSPICE_CONFIG) and shutil.which("xterm")):
        return False
    logs = directory.parent
    xspice, port, number = start_xspice(logs)
    xterm = None
    try:
        xterm = subprocess.Popen(
            [
                "xterm",
                "-geometry",
                "120x45+0+0",
                "-e",
                "sh",
                "-c",
                "while :; do ls -l /usr/lib /usr/share; done",
            ],
            env={**os.environ, "DISPLAY": f":{number}"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(1.0)
        watch_captured(f"spice://127.0.0.1:{port}", seconds, directory)
    finally:
        if xterm is not None:
            xterm.terminate()
            xterm.wait()
        stop(xspice)
    return True


def watch_captured(uri: str, seconds: float, directory: Path) -> None:
    """A headless session on ``uri`` for ``seconds``, its channels captured into ``directory``."""

    async def watch() -> None:
        async with ss.connect(uri) as session:
            with trio.move_on_after(seconds):
                async for _ in session.events():
                    pass

    with spice_net.capture_to(directory):
        trio.run(watch)


def display_bytes(directory: Path) -> bytes:
    """What the server sent on the (first) display channel of a capture."""
    paths = sorted(directory.glob("*-display-0.pcap"))
    if not paths:
        raise SystemExit(f"{directory}: no *-display-0.pcap")
    return b"".join(s.data for s in spice_net.read_pcap(paths[0]) if s.from_server)


def linked(data: bytes) -> tuple[Connection, bytes]:
    """A client display connection past its link stage, and the message bytes that follow."""
    conn = Connection(Role.CLIENT)
    conn.initiate(ChannelType.DISPLAY, 0, channel_caps=CLIENT_CHANNEL_CAPS[ChannelType.DISPLAY])
    conn.receive_data(data)
    if not isinstance(conn.next_event(), LinkReplyReceived):
        raise SystemExit("the capture does not start with a link reply")
    conn.send_ticket(b"\0" * 128)
    if not isinstance(conn.next_event(), LinkEstablished):
        raise SystemExit("the capture's link failed")
    rest = conn.take_unparsed()
    conn.data_to_send()
    return conn, rest


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def run_parse(data: bytes) -> dict[str, int]:
    conn, rest = linked(data)
    messages = 0
    for chunk in chunks(rest):
        conn.receive_data(chunk)
        while not isinstance(event := conn.next_event(), NeedData):
            messages += isinstance(event, MessageReceived)
        conn.data_to_send()
    return {"messages": messages}


def run_display(data: bytes) -> dict[str, int]:
    conn, rest = linked(data)
    display = Display(DisplaySettings.pixmap_cache_size, DisplaySettings.glz_dictionary_window_size)
    state = display.channel(0)
    messages = events = draws = 0
    for chunk in chunks(rest):
        conn.receive_data(chunk)
        while not isinstance(event := conn.next_event(), NeedData):
            if isinstance(event, MessageReceived):
                messages += 1
                draws += isinstance(event.message, DisplayDrawCopy)
                events += len(state.handle(event.message))
        conn.data_to_send()
    if state.errors:
        raise SystemExit(f"{state.errors} display errors while replaying")
    return {"messages": messages, "draw_copy": draws, "events": events}


class _Replay(trio.abc.Stream):
    """A stream that reads the recorded bytes and swallows what is sent."""

    def __init__(self, parts: list[bytes]) -> None:
        self._parts = parts[::-1]

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        return self._parts.pop() if self._parts else b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def run_session(data: bytes, *, viewer: bool = False) -> dict[str, int]:
    """The session layer; ``viewer``: its events read as ``spice view`` reads them (no
    per-message display events, Damage joined while it queues)."""
    counts: dict[str, int] = {}

    async def main() -> None:
        conn, rest = linked(data)
        channel = spice_net.Channel(_Replay(chunks(rest)), conn)
        main_conn = Connection(Role.CLIENT)
        main_channel = spice_net.Channel(_Replay([]), main_conn)
        init = MainInit(1, 1, 2, 2, False, 10, 0, 0)
        session = Session(ss.parse_uri("spice://127.0.0.1:5900"), main_channel, init, tls=False)
        events = dropped = damages = 0
        async with trio.open_nursery() as nursery:
            session._read(nursery, (ChannelType.DISPLAY, 0), channel)
            stream = session.events()
            if viewer:
                stream.ignore(ss.events.DrawEvent, ss.events.DisplayEvent)
                stream.merge_damage()
            async for event in stream:
                events += 1
                if isinstance(event, ss.events.Damage):
                    damages += 1
                elif isinstance(event, ss.events.EventsDropped):
                    dropped += event.count
        counts.update(messages=channel.messages_received, events=events, damage=damages, dropped=dropped)

    trio.run(main)
    return counts


LAYERS: dict[str, Callable[[bytes], dict[str, int]]] = {
    "parse": run_parse,
    "display": run_display,
    "session": run_session,
    "viewer": partial(run_session, viewer=True),
}


def measure(data: bytes, rounds: int) -> None:
    print(f"{'layer':<8} {'CPU s (best)':>12} {'us/message':>11}  counts")
    for name, layer in LAYERS.items():
        if name == "viewer" and not hasattr(ss.events.EventStream, "merge_damage"):
            print(f"{name:<8} {'n/a':>12}  (this tree's EventStream has no ignore/merge_damage)")
            continue
        best = float("inf")
        counts: dict[str, Any] = {}
        for _ in range(rounds):
            started = time.process_time()
            counts = layer(data)
            best = min(best, time.process_time() - started)
        per = best / max(1, counts["messages"]) * 1e6
        print(f"{name:<8} {best:>12.3f} {per:>11.1f}  {' '.join(f'{k}={v}' for k, v in counts.items())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capture", type=Path, help="a --capture directory (default: record one)")
    parser.add_argument("--rounds", type=int, default=3, help="replays per layer, best taken (default 3)")
    parser.add_argument("--record-seconds", type=float, default=5.0, help="length of the recording")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    print("\nsession per-message cost: a display flood (Xspice xterm) replayed offline")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        directory = args.capture
        if directory is None:
            directory = Path(tmp) / "capture"
            if not record(directory, args.record_seconds):
                print("skipped: needs Xspice and xterm to record a capture")
                return
        data = display_bytes(directory)
        print(f"capture: {directory} ({len(data)} display bytes)")
        measure(data, args.rounds)


if __name__ == "__main__":
    main()
