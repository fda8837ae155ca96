"""A blocking API for scripts, pytest and notebooks: no trio knowledge needed.

::

    from spice_session import sync
    with sync.connect("spice://127.0.0.1:5900", layout="de") as vm:
        vm.type("root\\n")
        match = vm.expect("login.png", timeout=60)
        vm.click(*match.center)
        frame = vm.screenshot()          # numpy (h, w, 3) RGB; vm.image() for PIL

The session runs in a thread of its own (its own trio run, its own nursery);
each call hands one verb of :class:`~spice_session._driver.Driver` to it and
waits for the result.  Errors are raised in the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import trio

from ._driver import Driver
from ._errors import SessionError
from ._match import Match, Needle, Rect

__all__ = ["VM", "connect"]

T = TypeVar("T")


class VM:
    """A connected machine with blocking verbs (see :func:`connect`)."""

    def __init__(
        self, uri: str, layout: str, save_misses: str | Path | None, options: dict[str, Any]
    ) -> None:
        self._uri = uri
        self._layout = layout
        self._save_misses = save_misses
        self._options = options
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._driver: Driver | None = None
        self._thread = threading.Thread(target=self._run, name=f"spice-sync {uri}", daemon=True)

    # ------------------------------------------------------------- lifecycle
    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        from ._session import connect as connect_async

        async with connect_async(self._uri, **self._options) as session:
            self._driver = Driver(session, self._layout, save_misses=self._save_misses)
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            self._ready.set()
            await self._stop.wait()

    def _start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Disconnect and end the session's thread."""
        if self._token is not None and self._stop is not None and self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join()

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        if self._token is None:
            raise SessionError("not connected")
        try:
            return trio.from_thread.run(partial(fn, *args, **kwargs), trio_token=self._token)
        except trio.RunFinishedError:
            raise SessionError(f"{self._uri}: the session has ended: {self._error!r}") from self._error

    @property
    def driver(self) -> Driver:
        if self._driver is None:
            raise SessionError("not connected")
        return self._driver

    # ------------------------------------------------------------------ verbs
    def type(self, text: str) -> None:
        """Type ``text`` on the guest's layout."""
        self._call(self.driver.type, text)

    def key(self, combo: str, repeat: int = 1) -> None:
        """Press a combo: ``ctrl-alt-del``, ``shift-f10``, ``super-l``, ``altgr-e``, ``Return``."""
        self._call(self.driver.key, combo, repeat)

    def keydown(self, name: str) -> None:
        self._call(self.driver.keydown, name)

    def keyup(self, name: str) -> None:
        self._call(self.driver.keyup, name)

    def move(self, x: int, y: int) -> None:
        self._call(self.driver.move, x, y)

    def mousedown(self, button: str | int = "left") -> None:
        self._call(self.driver.mousedown, button)

    def mouseup(self, button: str | int = "left") -> None:
        self._call(self.driver.mouseup, button)

    def click(self, x: int | None = None, y: int | None = None, button: str | int = "left") -> None:
        self._call(self.driver.click, x, y, button)

    def drag(self, start: tuple[int, int], end: tuple[int, int], steps: int = 10) -> None:
        self._call(self.driver.drag, start, end, steps)

    def scroll(self, steps: int) -> None:
        self._call(self.driver.scroll, steps)

    def wait_still(self, seconds: float = 1.0, timeout: float = 60.0) -> None:
        self._call(self.driver.wait_still, seconds, timeout)

    def expect(
        self,
        needle: str | Path | Needle | object,
        timeout: float = 30.0,
        *,
        threshold: float | None = None,
        region: Rect | None = None,
        exclude: Sequence[Rect] = (),
    ) -> Match:
        """Wait for ``needle`` on screen (PNG, openQA JSON, array): its :class:`Match`."""
        return self._call(
            self.driver.expect, needle, timeout, threshold=threshold, region=region, exclude=exclude
        )

    def expect_any(
        self,
        needles: Sequence[str | Path | Needle | object],
        timeout: float = 30.0,
        *,
        threshold: float | None = None,
        region: Rect | None = None,
    ) -> tuple[int, Match]:
        """Wait for the first of ``needles``: (its index, its match)."""
        return self._call(self.driver.expect_any, needles, timeout, threshold=threshold, region=region)

    def click_on(
        self, needle: str | Path | Needle | object, button: str | int = "left", timeout: float = 30.0
    ) -> Match:
        return self._call(self.driver.click_on, needle, button, timeout)

    def expect_text(self, pattern: str, timeout: float = 30.0, *, region: Rect | None = None) -> str:
        """Wait until OCR finds ``pattern`` (a regular expression); the text it matched."""
        found = self._call(self.driver.expect_text, pattern, timeout, region=region)
        return found.group(0)

    def screenshot(self, region: Rect | None = None) -> npt.NDArray[np.uint8]:
        """The screen as an ``(h, w, 3)`` uint8 RGB array (``region`` = x, y, w, h)."""
        return self._call(self.driver.screenshot, region)

    def image(self, region: Rect | None = None) -> Any:
        """The screen as a PIL image (needs Pillow)."""
        from PIL import Image

        return Image.fromarray(self.screenshot(region))


@contextmanager
def connect(
    uri: str,
    *,
    layout: str = "us",
    password: str | None = None,
    timeout: float = 10.0,
    save_misses: str | Path | None = None,
) -> Iterator[VM]:
    """Connect, run the session in its own thread, yield a :class:`VM`; disconnect at the end.

    ``layout`` is the guest's keyboard layout (``us``, ``gb``, ``de``, ``fr``, ``es``,
    ``it``, ``ch``, ``se``, ``jp``).  A failed expect saves the searched frame into the
    directory ``save_misses`` when given.
    """
    from ._layouts import get_layout

    get_layout(layout)  # an unknown layout fails here, before connecting
    vm = VM(uri, layout, save_misses, {"password": password, "timeout": timeout})
    vm._start()
    try:
        yield vm
    finally:
        vm.close()
