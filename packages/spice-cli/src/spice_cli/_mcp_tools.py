"""The tools of ``spice mcp``: one per automation verb, on the official MCP SDK's ``MCPServer``.

Imported only when ``spice mcp`` runs, so the rest of the command works without the SDK.
"""

from __future__ import annotations

from typing import Any

import trio
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from spice_session import Driver

from ._verbs import VerbError, call

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = (
    "Tools that drive a virtual machine's screen, keyboard and mouse over SPICE. "
    "Take a screenshot first (coordinates are screen pixels of the unscaled screen), act, "
    "then wait_still or expect before looking again."
)


def build_server(driver: Driver) -> MCPServer[Any]:
    """An ``mcp.server.mcpserver.MCPServer`` with one tool per verb, all acting on ``driver``."""
    server = MCPServer("spice", instructions=INSTRUCTIONS)
    lock = trio.Lock()  # one verb at a time: a click never lands inside someone's typing

    async def verb(name: str, **args: Any) -> Any:
        try:
            async with lock:
                return await call(driver, name, {k: v for k, v in args.items() if v is not None})
        except VerbError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from None

    @server.tool()
    async def screenshot(region: list[int] | None = None, scale: float = 1.0) -> Image:
        """The screen as a PNG. region = [x, y, width, height] in screen pixels; scale in (0, 4]
        shrinks (e.g. 0.5) or enlarges the picture (coordinates of other tools stay unscaled)."""
        shot = await verb("screenshot", region=region, scale=scale)
        return Image(data=shot.png, format="png")

    @server.tool(name="type")
    async def type_text(text: str) -> str:
        """Type text on the guest's keyboard layout ("\\n" is Return)."""
        await verb("type", text=text)
        return f"typed {len(text)} characters"

    @server.tool()
    async def key(combo: str, repeat: int = 1) -> str:
        """Press a key combination: ctrl-alt-del, shift-f10, super-l, Return, Escape, Tab..."""
        await verb("key", combo=combo, repeat=repeat)
        return f"pressed {combo}"

    @server.tool()
    async def move(x: int, y: int) -> str:
        """Move the mouse pointer to (x, y)."""
        await verb("move", x=x, y=y)
        return f"pointer at {x},{y}"

    @server.tool()
    async def click(x: int | None = None, y: int | None = None, button: str = "left") -> str:
        """Click a button (left, middle, right) at (x, y), or where the pointer is."""
        await verb("click", x=x, y=y, button=button)
        return f"{button} click" + (f" at {x},{y}" if x is not None else "")

    @server.tool()
    async def drag(x1: int, y1: int, x2: int, y2: int, steps: int = 10) -> str:
        """Press the left button at (x1, y1), move to (x2, y2) in steps, release."""
        await verb("drag", x1=x1, y1=y1, x2=x2, y2=y2, steps=steps)
        return f"dragged {x1},{y1} -> {x2},{y2}"

    @server.tool()
    async def scroll(steps: int) -> str:
        """Turn the mouse wheel: positive scrolls up, negative down."""
        await verb("scroll", steps=steps)
        return f"scrolled {steps}"

    @server.tool()
    async def wait_still(seconds: float = 1.0, timeout: float = 60.0) -> str:
        """Wait until the screen has not changed for `seconds`."""
        await verb("wait_still", seconds=seconds, timeout=timeout)
        return "the screen is still"

    @server.tool()
    async def expect(
        image: str, timeout: float = 30.0, threshold: float | None = None, region: list[int] | None = None
    ) -> dict[str, Any]:
        """Wait until a picture (base64 PNG) appears on screen; where it is (x, y, w, h, score)."""
        found: dict[str, Any] = await verb(
            "expect", image=image, timeout=timeout, threshold=threshold, region=region
        )
        return found

    @server.tool()
    async def expect_text(pattern: str, timeout: float = 30.0, region: list[int] | None = None) -> str:
        """Wait until OCR reads text matching a regular expression; the text it matched."""
        found = await verb("expect_text", pattern=pattern, timeout=timeout, region=region)
        return str(found["text"])

    @server.tool()
    async def clipboard_get() -> str:
        """The guest's clipboard text (needs the guest agent)."""
        found = await verb("clipboard_get")
        return str(found["text"] or "")

    @server.tool()
    async def clipboard_set(text: str) -> str:
        """Put text on the guest's clipboard (needs the guest agent)."""
        await verb("clipboard_set", text=text)
        return "clipboard set"

    @server.tool()
    async def info() -> dict[str, Any]:
        """Screen size, machine name, mouse mode, whether the guest agent runs, open channels."""
        result: dict[str, Any] = await verb("info")
        return result

    return server
