"""``spice mcp``: the MCP SDK's own client drives ``spice demo`` over stdio and streamable HTTP."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import numpy as np
import pytest
import trio
from PIL import Image

pytest.importorskip("mcp", reason="spice-cli[mcp] (the MCP SDK) is not installed")
pytest.importorskip("hypercorn", reason="spice-cli[mcp] (hypercorn) is not installed")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from peers.spice_cli_proc import demo_server
from spice_server._demo import TYPED, DemoLayout, text_mask

W, H = 640, 400
TOOLS = {
    "screenshot", "type", "key", "move", "click", "drag", "scroll", "wait_still",
    "expect", "expect_text", "clipboard_get", "clipboard_set", "info",
}  # fmt: skip


@pytest.fixture
def demo_uri() -> Iterator[str]:
    with demo_server(f"{W}x{H}") as uri:
        yield uri


def _image(result: Any) -> np.ndarray:
    assert not result.is_error, result.content
    (content,) = result.content
    assert content.type == "image" and content.mime_type == "image/png"
    with Image.open(io.BytesIO(base64.b64decode(content.data))) as image:
        return np.array(image.convert("RGB"))


def _typed_ink(frame: np.ndarray) -> np.ndarray:
    """The typed text's pixels in the demo's text panel, cropped to their bounding box."""
    box = DemoLayout.for_size(W, H).text
    panel = frame[box.top : box.bottom, box.left : box.right]
    ink = np.all(panel == TYPED, axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):  # a picture taken while the panel is redrawn (CI caught one)
        return np.zeros((0, 0), bool)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _trimmed(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


async def _drive(session: ClientSession) -> None:
    """Type into the demo's text panel and see it in the screenshot."""
    await session.initialize()
    tools = {tool.name for tool in (await session.list_tools()).tools}
    assert tools >= TOOLS
    scale = DemoLayout.for_size(W, H).text_scale
    cursor = _trimmed(text_mask("_", scale))
    before = _image(await session.call_tool("screenshot", {}))
    assert before.shape == (H, W, 3)
    with anyio.fail_after(20):  # a picture taken mid-redraw is not the panel's state (CI caught one)
        while not np.array_equal(_typed_ink(before), cursor):  # only the text cursor
            before = _image(await session.call_tool("screenshot", {}))
    typed = await session.call_tool("type", {"text": "Hi MCP"})
    assert not typed.is_error, typed.content
    expected = _trimmed(text_mask("Hi MCP_", scale))
    with anyio.fail_after(20):
        while True:
            shot = _image(await session.call_tool("screenshot", {}))
            if _typed_ink(shot).shape == expected.shape:
                break
    assert np.array_equal(_typed_ink(shot), expected)
    box = DemoLayout.for_size(W, H).text
    half = _image(
        await session.call_tool(
            "screenshot", {"region": [box.left, box.top, box.width, box.height], "scale": 0.5}
        )
    )
    assert half.shape == (round(box.height / 2), round(box.width / 2), 3)
    # the needle cut from the picture is found where it was cut
    needle = shot[box.top : box.top + 40, box.left : box.left + 60]
    out = io.BytesIO()
    Image.fromarray(needle).save(out, format="PNG")
    found = await session.call_tool(
        "expect", {"image": base64.b64encode(out.getvalue()).decode(), "timeout": 10}
    )
    assert not found.is_error, found.content
    assert found.structured_content is not None
    assert (found.structured_content["x"], found.structured_content["y"]) == (box.left, box.top)
    bad = await session.call_tool("screenshot", {"scale": 50})
    assert bad.is_error and "bad_args" in bad.content[0].text
    unknown = await session.call_tool("key", {"combo": "ctrl-nosuchkey"})
    assert unknown.is_error and "bad_args" in unknown.content[0].text


async def _clipboard(session: ClientSession) -> None:
    """Through the demo's guest agent: our clipboard pasted with Ctrl+V, the panel copied with Ctrl+C."""
    scale = DemoLayout.for_size(W, H).text_scale
    assert not (await session.call_tool("clipboard_set", {"text": " pasted"})).is_error
    assert not (await session.call_tool("key", {"combo": "ctrl-v"})).is_error
    expected = _trimmed(text_mask("Hi MCP pasted_", scale))
    with anyio.fail_after(20):
        while _typed_ink(_image(await session.call_tool("screenshot", {}))).shape != expected.shape:
            await anyio.sleep(0.05)
    assert not (await session.call_tool("key", {"combo": "ctrl-c"})).is_error
    with anyio.fail_after(20):
        while True:
            got = await session.call_tool("clipboard_get", {})
            assert not got.is_error, got.content
            if got.content[0].text == "Hi MCP pasted":
                break
            await anyio.sleep(0.1)


async def test_stdio_client_types_into_the_demo(demo_uri: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "spice_cli", "mcp", demo_uri])
    with trio.fail_after(90):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await _drive(session)
            await _clipboard(session)


@contextmanager
def _http_server(uri: str) -> Iterator[str]:
    argv = [sys.executable, "-m", "spice_cli", "mcp", uri, "--http", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        line = ""
        while (found := re.search(r"http://127\.0\.0\.1:\d+/mcp", line)) is None:
            line = proc.stderr.readline()
            assert line, "spice mcp ended"
        yield found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_streamable_http_client_types_into_the_demo(demo_uri: str) -> None:
    """The SDK's HTTP client on its home ground (asyncio) against our trio server."""

    async def main(url: str) -> None:
        with anyio.fail_after(90):
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await _drive(session)

    with _http_server(demo_uri) as url:
        anyio.run(main, url, backend="asyncio")


def test_usage_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spice_cli", "mcp", "spice://127.0.0.1:1", "--http", "nowhere"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2 and b"--http: expected HOST:PORT" in result.stderr
