"""Driving a session like a person: type, click, wait for the screen, find things on it (async).

:class:`Driver` puts the verbs of :mod:`spice_session.sync` on a trio session::

    async with spice_session.connect(uri) as session:
        vm = Driver(session, layout="de")
        await vm.type("root\\n")
        match = await vm.expect("login.png", timeout=60)
        await vm.click(*match.center)

Waits are driven by the display's change notifications, never by polling.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import trio
from spice_proto import MouseButton, MouseMode

from ._layouts import get_layout
from ._match import Match, MatchError, Needle, Rect, find, load_needle
from ._ocr import OcrUnavailable
from ._ocr import read_text as ocr_text

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["BUTTONS", "Driver", "OcrUnavailable", "TextNotFound"]

RGB = npt.NDArray[np.uint8]

#: Button names and vncdotool's numbers.
BUTTONS: dict[str | int, MouseButton] = {
    "left": MouseButton.LEFT,
    "middle": MouseButton.MIDDLE,
    "right": MouseButton.RIGHT,
    "up": MouseButton.UP,
    "down": MouseButton.DOWN,
    1: MouseButton.LEFT,
    2: MouseButton.MIDDLE,
    3: MouseButton.RIGHT,
    4: MouseButton.UP,
    5: MouseButton.DOWN,
    "1": MouseButton.LEFT,
    "2": MouseButton.MIDDLE,
    "3": MouseButton.RIGHT,
    "4": MouseButton.UP,
    "5": MouseButton.DOWN,
}
#: How long to wait for the server to switch to client mouse mode.
_MODE_WAIT = 2.0
#: A relative move this large pins the pointer in the top-left corner (server mouse mode)
#: while the screen's size is not known yet.
_HOME = -10000


class TextNotFound(MatchError):
    """:meth:`Driver.expect_text` timed out; the message has the last text read."""


def button_of(button: str | int | MouseButton) -> MouseButton:
    if isinstance(button, MouseButton):
        return button
    key = button.lower() if isinstance(button, str) else button
    try:
        return BUTTONS[key]
    except KeyError:
        raise ValueError(f"unknown mouse button {button!r} (left, middle, right, 1-5)") from None


class Driver:
    """The automation verbs on a connected :class:`~spice_session.Session`."""

    def __init__(
        self, session: Session, layout: str = "us", *, save_misses: str | Path | None = None
    ) -> None:
        self.session = session
        session.inputs.layout = get_layout(layout)
        #: Where a failed expect saves the frame it searched (``None``: not saved).
        self.save_misses = Path(save_misses) if save_misses is not None else None
        #: Where the pointer is believed to be (server mouse mode has no absolute position).
        self.pointer: tuple[int, int] | None = None
        self._asked_client_mode = False

    # --------------------------------------------------------------- keyboard
    async def type(self, text: str) -> None:
        """Type ``text`` on the guest's layout; nothing is lost on slow guests."""
        await self.session.inputs.type_text(text)

    async def key(self, combo: str, repeat: int = 1) -> None:
        """Press a combo (``ctrl-alt-del``, ``shift-f10``, ``super-l``, ``altgr-e``, ``Return``)."""
        await self.session.inputs.key(combo, repeat)

    async def keydown(self, name: str) -> None:
        await self.session.inputs.keydown(name)

    async def keyup(self, name: str) -> None:
        await self.session.inputs.keyup(name)

    # ------------------------------------------------------------------ mouse
    async def move(self, x: int, y: int) -> None:
        """Put the pointer at (x, y): an absolute position in client mouse mode; in server mode,
        the first move pins the pointer top-left (a move left and up by the screen's size)
        and then moves relatively, every delta reaching the guest whole and in order
        (:meth:`~spice_session.Inputs.move_by`); guest pointer acceleration, if any, makes
        the position approximate."""
        inputs = self.session.inputs
        if not self._asked_client_mode:
            await self._client_mode()
        if inputs.mouse_mode == MouseMode.CLIENT:
            await inputs.mouse_position(x, y)
        else:
            if self.pointer is None:
                await inputs.move_by(*self._home())
                self.pointer = (0, 0)
            await inputs.move_by(x - self.pointer[0], y - self.pointer[1])
        self.pointer = (x, y)

    def _home(self) -> tuple[int, int]:
        """The relative move that takes the pointer from anywhere on screen to its top-left corner."""
        screen = self.session.display.primary
        if screen is None:
            return _HOME, _HOME
        return -screen.width, -screen.height

    async def _client_mode(self) -> None:
        """Ask once for client (absolute) mouse mode when the server offers it; wait up to 2 s for it."""
        self._asked_client_mode = True
        session = self.session
        if session.mouse_mode == MouseMode.CLIENT or not session.supported_mouse_modes & MouseMode.CLIENT:
            return
        await session.request_mouse_mode(MouseMode.CLIENT)
        with trio.move_on_after(_MODE_WAIT):
            while session.inputs.mouse_mode != MouseMode.CLIENT:
                await trio.sleep(0.01)  # MAIN_MOUSE_MODE has no waiter of its own

    async def mousedown(self, button: str | int | MouseButton = "left") -> None:
        await self.session.inputs.mouse_press(button_of(button), exact=True)

    async def mouseup(self, button: str | int | MouseButton = "left") -> None:
        await self.session.inputs.mouse_release(button_of(button), exact=True)

    async def click(self, x: int | None = None, y: int | None = None, button: str | int = "left") -> None:
        """Click ``button`` (at (x, y) if given, else where the pointer is)."""
        if x is not None and y is not None:
            await self.move(x, y)
        await self.session.inputs.click(button_of(button), exact=True)

    async def drag(self, start: tuple[int, int], end: tuple[int, int], steps: int = 10) -> None:
        """Press the left button at ``start``, move in ``steps`` to ``end``, release."""
        await self.move(*start)
        await self.mousedown("left")
        for i in range(1, steps + 1):
            await self.move(
                start[0] + (end[0] - start[0]) * i // steps, start[1] + (end[1] - start[1]) * i // steps
            )
        await self.mouseup("left")

    async def scroll(self, steps: int) -> None:
        """Scroll the wheel: positive up, negative down."""
        await self.session.inputs.wheel(steps, exact=True)

    # ----------------------------------------------------------------- screen
    async def _picture(self, timeout: float) -> RGB:
        with trio.move_on_after(timeout):
            while True:
                surface = self.session.picture()
                if surface is not None:
                    return surface.to_rgb()
                await self.session.display_changed()
        raise MatchError(f"no complete picture of the screen within {timeout:g} s")

    async def screenshot(self, region: Rect | None = None, timeout: float = 30.0) -> RGB:
        """The screen as an ``(h, w, 3)`` RGB array (``region`` = x, y, w, h); waits for a first picture."""
        frame = await self._picture(timeout)
        if region is not None:
            x, y, w, h = region
            frame = frame[max(0, y) : y + h, max(0, x) : x + w].copy()
        return frame

    async def wait_still(self, seconds: float = 1.0, timeout: float = 60.0) -> None:
        """Return once the screen has not changed for ``seconds`` (:class:`MatchError` after ``timeout``)."""
        with trio.move_on_after(timeout):
            await self._picture(timeout)
            while True:
                quiet = trio.current_time() - self.session.last_display_change
                if quiet >= seconds:
                    return
                with trio.move_on_after(seconds - quiet):
                    await self.session.display_changed()
        raise MatchError(f"the screen did not stay still for {seconds:g} s within {timeout:g} s")

    async def expect(
        self,
        needle: str | Path | Needle | object,
        timeout: float = 30.0,
        *,
        threshold: float | None = None,
        region: Rect | None = None,
        exclude: Sequence[Rect] = (),
    ) -> Match:
        """Wait until ``needle`` (PNG, openQA JSON, array) is on screen; its :class:`Match`.

        Each change of the display is searched again.  On timeout, :class:`MatchError`
        names the best score and where it was, and the frame is saved when
        :attr:`save_misses` is set.
        """
        return (
            await self.expect_any([needle], timeout, threshold=threshold, region=region, exclude=exclude)
        )[1]

    async def expect_any(
        self,
        needles: Sequence[str | Path | Needle | object],
        timeout: float = 30.0,
        *,
        threshold: float | None = None,
        region: Rect | None = None,
        exclude: Sequence[Rect] = (),
    ) -> tuple[int, Match]:
        """Wait until one of ``needles`` is on screen: (its index, its match)."""
        specs = [load_needle(n, threshold) for n in needles]
        best: Match | None = None
        frame: RGB | None = None
        deadline = trio.current_time() + timeout
        with trio.move_on_at(deadline):
            while True:
                seen = self.session.last_display_change
                frame = await self._picture(max(0.0, deadline - trio.current_time()))
                for index, spec in enumerate(specs):
                    match, near = find(frame, spec, region=region, exclude=exclude)
                    if match is not None:
                        return index, match
                    if best is None or near.score > best.score:
                        best = near
                if self.session.last_display_change == seen:
                    await self.session.display_changed()
        names = ", ".join(s.name or "array" for s in specs)
        saved = self._save(frame, "expect")
        where = f"best score {best.score:.3f} at ({best.x}, {best.y})" if best is not None else "no picture"
        message = f"{names} not on screen within {timeout:g} s: {where}"
        raise MatchError(message + (f"; frame saved to {saved}" if saved else ""), best, saved)

    async def click_on(
        self, needle: str | Path | Needle | object, button: str | int = "left", timeout: float = 30.0
    ) -> Match:
        """Wait for ``needle`` and click its centre."""
        match = await self.expect(needle, timeout)
        await self.click(*match.center, button=button)
        return match

    async def read_text(self, region: Rect | None = None) -> str:
        """The screen's text by OCR (Tesseract)."""
        return await ocr_text(await self.screenshot(region))

    async def expect_text(
        self, pattern: str, timeout: float = 30.0, *, region: Rect | None = None
    ) -> re.Match[str]:
        """Wait until OCR of the screen (or ``region``) finds the regular expression ``pattern``."""
        regex = re.compile(pattern)
        text = ""
        frame: RGB | None = None
        deadline = trio.current_time() + timeout
        with trio.move_on_at(deadline):
            while True:
                seen = self.session.last_display_change
                frame = await self.screenshot(region, max(0.0, deadline - trio.current_time()))
                text = await ocr_text(frame)
                found = regex.search(text)
                if found is not None:
                    return found
                if self.session.last_display_change == seen:
                    await self.session.display_changed()
        saved = self._save(frame, "expect-text")
        message = f"no text matching {pattern!r} within {timeout:g} s; last read: {text.strip()[:200]!r}"
        raise TextNotFound(message + (f"; frame saved to {saved}" if saved else ""), None, saved)

    def _save(self, frame: RGB | None, what: str) -> Path | None:
        if self.save_misses is None or frame is None:
            return None
        from PIL import Image

        self.save_misses.mkdir(parents=True, exist_ok=True)
        path = self.save_misses / f"{what}-{math.floor(trio.current_time() * 1000)}.png"
        Image.fromarray(frame).save(path)
        return path
