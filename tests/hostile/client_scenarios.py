"""The hostile-server scenarios for the client: each an evil-server script and ``spice screenshot`` options.

Shared by ``test_client_budgets.py`` (which asserts bounds) and ``tools/hostile_client_report.py``
(which prints exit code, peak RSS and time for each).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import spice_proto as sp
import trio

from .bodies import cursor_set, draw_copy, quic_claiming, surface_create
from .evil_server import EvilChannel, Script, mini

__all__ = ["SCENARIOS", "fill"]

T = sp.ChannelType
D = sp.DisplayMsg
MARK = (D.MARK, b"")
BIG = 8192
#: Name -> (script, extra ``spice screenshot`` options).
Scenario = Callable[[], tuple[Script, list[str]]]


def fill(surface_id: int, width: int, height: int, color: int) -> bytes:
    """DRAW_FILL of a whole surface (touches every page of it)."""
    box = sp.Rect(0, 0, width, height)
    return sp.DisplayDrawFill(surface_id, box, sp.Clip(), sp.Brush.solid(color)).encode()


def quic_bombs(size: int = 8000, count: int = 10) -> tuple[Script, list[str]]:
    """``count`` DRAW_COPYs of a 36-byte QUIC image whose header claims ``size`` x ``size``."""
    body = draw_copy(0, 1, size, size, quic_claiming(size, size))
    return {
        (T.DISPLAY, 0): [(D.SURFACE_CREATE, surface_create(0, 64, 48)), *[(D.DRAW_COPY, body)] * count, MARK]
    }, []


def quic_over_small_budget() -> tuple[Script, list[str]]:
    """Three QUIC images claiming 4000x4000 against a 64 MiB budget (refused before the codec runs)."""
    script, _ = quic_bombs(4000, 3)
    return script, ["--memory-budget", "64M"]


def four_display_channels() -> tuple[Script, list[str]]:
    """Four display channels, each creating and filling two 8192x8192 surfaces (2 GiB in all)."""
    done = [trio.Event() for _ in range(3)]

    async def big_surfaces(chan: EvilChannel) -> None:
        for sid in (1, 2):
            await chan.send(D.SURFACE_CREATE, surface_create(sid, BIG, BIG, False))
            await chan.send(D.DRAW_FILL, fill(sid, BIG, BIG, 0x10 * sid))

    def other(index: int) -> Callable[[EvilChannel], Awaitable[None]]:
        async def play(chan: EvilChannel) -> None:
            await big_surfaces(chan)
            done[index].set()

        return play

    async def first(chan: EvilChannel) -> None:
        await chan.send(D.SURFACE_CREATE, surface_create(0, 64, 48))
        await big_surfaces(chan)
        for event in done:
            await event.wait()
        await chan.send(D.DRAW_FILL, fill(0, 64, 48, 0xFF0000))

    script: Script = {(T.DISPLAY, 0): first, **{(T.DISPLAY, i): other(i - 1) for i in (1, 2, 3)}}
    return script, ["--settle", "1"]


def surface_flood(count: int = 40_000) -> tuple[Script, list[str]]:
    """``count`` SURFACE_CREATEs of 1x1 in one write, then the screen."""

    async def flood(chan: EvilChannel) -> None:
        await chan.stream.send_all(
            b"".join(mini(D.SURFACE_CREATE, surface_create(i, 1, 1, False)) for i in range(1, count + 1))
        )
        await chan.send(D.SURFACE_CREATE, surface_create(0, 64, 48))
        await chan.send(*MARK)

    return {(T.DISPLAY, 0): flood}, ["--settle", "0"]


def oversized_cursor(width: int = 2000, height: int = 2000) -> tuple[Script, list[str]]:
    """A CURSOR_SET claiming ``width`` x ``height`` ALPHA with 16 bytes of shape data."""

    async def display(chan: EvilChannel) -> None:
        await chan.send(D.SURFACE_CREATE, surface_create(0, 64, 48))
        await trio.sleep(1)  # the cursor channel has had its say
        await chan.send(*MARK)

    script: Script = {
        (T.DISPLAY, 0): display,
        (T.CURSOR, 0): [(sp.CursorMsg.SET, cursor_set(width, height, bytes(16)))],
    }
    return script, []


SCENARIOS: dict[str, Scenario] = {
    "ten QUIC images claiming 8000x8000": quic_bombs,
    "three QUIC 4000x4000 claims, --memory-budget 64M": quic_over_small_budget,
    "4 display channels x two 8192x8192 surfaces": four_display_channels,
    "40,000 SURFACE_CREATEs of 1x1": surface_flood,
    "cursor claiming 2000x2000, 16 data bytes": oversized_cursor,
    "cursor claiming 65535x65535, 16 data bytes": lambda: oversized_cursor(65535, 65535),
}
