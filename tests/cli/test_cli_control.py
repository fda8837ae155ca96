"""``spice control``: the JSON-lines protocol on a Unix socket, driven by a plain socket client."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import spice_server as srv
import trio
from peers.server_task import serve_uri
from PIL import Image
from spice_proto import Rect

W, H = 320, 200


class Client:
    """A plain Unix socket client: one JSON object per line."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def send_line(self, data: bytes) -> None:
        await self.stream.send_all(data + b"\n")

    async def read(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            data = await self.stream.receive_some(1 << 16)
            if not data:
                raise EOFError("the server closed the connection")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        obj = json.loads(line)
        assert isinstance(obj, dict)
        return obj

    async def reply(self) -> dict[str, Any]:
        """The next reply; events that arrive before it are kept in ``events``."""
        while True:
            obj = await self.read()
            if "event" in obj:
                self.events.append(obj)
            else:
                return obj

    async def call(self, verb: str, **args: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.send_line(json.dumps({"id": self.next_id, "verb": verb, "args": args}).encode())
        with trio.fail_after(30):
            answer = await self.reply()
        assert answer["id"] == self.next_id
        return answer


@asynccontextmanager
async def control(uri: str, path: Path) -> AsyncIterator[trio.Process]:
    """``spice control URI --socket PATH`` running; ends it (SIGTERM) at the end."""
    argv = [sys.executable, "-m", "spice_cli", "control", uri, "--socket", str(path)]
    proc = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        with trio.fail_after(30):
            seen = b""
            while b"listening on" not in seen:
                chunk = await proc.stdout.receive_some()
                assert chunk, f"spice control ended: {seen!r}"
                seen += chunk
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
        with trio.move_on_after(10):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def connect(path: Path) -> AsyncIterator[Client]:
    stream = await trio.open_unix_socket(str(path))
    try:
        yield Client(stream)
    finally:
        await stream.aclose()


def _png(rgb: np.ndarray) -> str:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _decode(result: dict[str, Any]) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(result["png"]))) as image:
        assert image.size == (result["width"], result["height"])
        return np.array(image.convert("RGB"))


async def test_verbs_replies_and_errors(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((10, 20, 30))
    needle = np.random.default_rng(7).integers(0, 255, (16, 24, 3), np.uint8)
    fb.update(needle, Rect(100, 60, 124, 76), format="rgb")
    server = srv.Server(fb)
    uri = await serve_uri(nursery, server)
    inputs = server.input_events()
    sock = tmp_path / "ctl.sock"
    async with control(uri, sock), connect(sock) as c:
        assert os.stat(sock).st_mode & 0o077 == 0  # only its owner may drive the machine
        shot = await c.call("screenshot")
        frame = _decode(shot["result"])
        assert frame.shape == (H, W, 3)
        assert np.array_equal(frame[60:76, 100:124], needle)
        part = await c.call("screenshot", region=[100, 60, 24, 16])
        assert np.array_equal(_decode(part["result"]), needle)
        half = await c.call("screenshot", scale=0.5)
        assert (half["result"]["width"], half["result"]["height"]) == (W // 2, H // 2)
        found = await c.call("expect", image=_png(needle), timeout=5)
        assert found["result"] == {"x": 100, "y": 60, "w": 24, "h": 16, "score": 1.0}
        assert (await c.call("type", text="ab")) == {"id": c.next_id, "result": None}
        assert "result" in await c.call("click", x=50, y=60, button="right")
        info = (await c.call("info"))["result"]
        assert (info["width"], info["height"]) == (W, H)

        # errors are objects, with the request's id; the connection goes on
        for verb, args, code in (
            ("fly", {}, "unknown_verb"),
            ("move", {"x": "left", "y": 1}, "bad_args"),
            ("move", {"x": 1}, "bad_args"),
            ("click", {"button": "thumb"}, "bad_args"),
            ("key", {"combo": "ctrl-nosuchkey"}, "bad_args"),
            ("screenshot", {"region": [0, 0, -1, 5]}, "bad_args"),
            ("screenshot", {"scale": 100}, "bad_args"),
            ("expect", {"image": "not base64!"}, "bad_args"),
            ("expect", {"image": _png(needle[::-1].copy() ^ 0x55), "timeout": 0.3}, "not_found"),
            ("wait_still", {"seconds": 1e6}, "bad_args"),
        ):
            answer = await c.call(verb, **args)
            assert answer["error"]["code"] == code, (verb, args, answer)
            assert answer["error"]["message"]
        for line, code in (
            (b"{not json", "bad_json"),
            (b"[1, 2]", "bad_request"),
            (b'{"id": "x"}', "bad_request"),
            (b'{"id": NaN, "verb": "info"}', "bad_json"),
            (b'{"id": 1e999, "verb": "info"}', "bad_json"),
            (b"\xff\xfe{}", "bad_json"),
            (b"[" * 100000 + b"]" * 100000, "bad_json"),
            (b'{"id": "y", "verb": "type", "args": [1]}', "bad_args"),
        ):
            await c.send_line(line)
            answer = await c.reply()
            assert answer["error"]["code"] == code, line
        assert answer["id"] == "y"
        listing = (await c.call("verbs"))["result"]
        assert {"screenshot", "expect_text", "clipboard_get", "subscribe"} <= set(listing["verbs"])
    got = []
    with trio.move_on_after(1):
        async for event in inputs:
            got.append(event)
    downs = [e.scancode for e in got if isinstance(e, srv.KeyEvent) and e.pressed and e.scancode != 0x3A]
    assert downs == [0x1E, 0x30]  # a, b
    clicks = [(e.button, e.x, e.y) for e in got if isinstance(e, srv.ButtonEvent) and e.pressed]
    assert clicks == [(3, 50, 60)]
    assert not sock.exists()  # removed at exit


async def test_subscribe_to_damage_and_unsubscribe(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((0, 0, 0))
    uri = await serve_uri(nursery, srv.Server(fb))
    sock = tmp_path / "ctl.sock"
    async with control(uri, sock), connect(sock) as c, connect(sock) as quiet:
        await c.call("screenshot")  # the first picture is there
        assert (await c.call("subscribe", events=["damage", "connection"]))["result"] == {
            "events": ["connection", "damage"]
        }
        bad = await c.call("subscribe", events=["weather"])
        assert bad["error"]["code"] == "bad_args"
        fb.update(np.full((10, 20, 3), 200, np.uint8), Rect(40, 30, 60, 40), format="rgb")
        with trio.fail_after(10):
            while not any(e["event"] == "damage" for e in c.events):
                c.events.append(await c.read())
        # channels that link late (cursor, inputs, sound on a loaded machine)
        # may announce themselves first; nothing else may come before damage
        *before, damage = c.events
        assert all(e["event"] == "connection" and e["kind"] == "channel_opened" for e in before), before
        assert damage["surface"] == 0
        x, y, w, h = damage["rect"]
        assert x <= 40 and y <= 30 and x + w >= 60 and y + h >= 40
        # the other connection did not subscribe: its next line is its own reply
        assert (await quiet.call("info"))["result"]["width"] == W
        assert (await c.call("unsubscribe"))["result"] == {"events": []}
        c.events.clear()
        fb.update(np.full((10, 20, 3), 50, np.uint8), Rect(0, 0, 20, 10), format="rgb")
        await trio.sleep(0.5)
        assert (await c.call("info"))["result"]["height"] == H
        assert c.events == []


async def test_hostile_lines_and_socket_paths(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    uri = await serve_uri(nursery, srv.Server(fb))
    occupied = tmp_path / "file"
    occupied.write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "spice_cli", "control", uri, "--socket", str(occupied)],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2 and b"not a socket" in result.stderr
    assert occupied.read_text() == "mine"

    sock = tmp_path / "ctl.sock"
    stale = trio.socket.socket(trio.socket.AF_UNIX)
    await stale.bind(str(sock))  # a socket file nobody listens on: replaced
    stale.close()
    async with control(uri, sock), connect(sock) as c:

        async def flood() -> None:
            with contextlib.suppress(trio.BrokenResourceError):  # it hangs up on us, as it should
                await c.stream.send_all(b'{"id": 1, "verb": "type", "args": {"text": "' + b"a" * (33 << 20))

        with trio.fail_after(60):
            async with trio.open_nursery() as flooding:
                flooding.start_soon(flood)
                answer = await c.read()
        assert answer == {"id": None, "error": {"code": "too_long", "message": answer["error"]["message"]}}
        await c.send_line(b"")  # the end of the long line; the connection goes on
        assert (await c.call("info"))["result"]["width"] == W
        async with connect(sock) as again:  # the server is still there for others
            assert (await again.call("info"))["result"]["width"] == W


async def test_connection_events_and_exit_when_the_server_goes(tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    sock = tmp_path / "ctl.sock"
    async with trio.open_nursery() as outer:
        server_scope = trio.CancelScope()

        async def serve(task_status: trio.TaskStatus[str]) -> None:
            with server_scope:
                async with trio.open_nursery() as inner:
                    uri = await serve_uri(inner, srv.Server(fb))
                    task_status.started(uri)

        uri: str = await outer.start(serve)
        async with control(uri, sock) as proc, connect(sock) as c:
            await c.call("screenshot")
            await c.call("subscribe", events=["connection"])
            server_scope.cancel()  # the server and every client connection go away
            with trio.fail_after(20):
                while not any(e.get("kind") == "closed" for e in c.events):
                    try:
                        c.events.append(await c.read())
                    except EOFError:
                        break
                await proc.wait()
            assert c.events[-1] == {"event": "connection", "kind": "closed", "reason": c.events[-1]["reason"]}
            assert proc.returncode == 0  # the session ended: so does spice control
    assert not sock.exists()


def test_a_result_json_cannot_carry_becomes_an_error_reply() -> None:
    from spice_cli._control import _dumps

    line = json.loads(_dumps({"id": 3, "result": float("nan")}))
    assert line["id"] == 3 and line["error"]["code"] == "session"
    assert json.loads(_dumps({"id": "a", "result": [1, "x"]})) == {"id": "a", "result": [1, "x"]}
