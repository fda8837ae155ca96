"""pysdl2 behind a small face: one window drawn on its framebuffer, cursors, and polled events.

Every SDL call happens on the thread that runs trio (the main thread); events
are polled, never delivered through callbacks.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import trio

from ._sdl_import import import_sdl2

import_sdl2()  # pysdl2 without its slow system search, and quiet
import sdl2  # noqa: E402

from ._exitcodes import NoDisplayError, UsageError  # noqa: E402
from ._sdl_logic import Box, letterbox  # noqa: E402
from ._sdl_xshm import XShmFrames, open_xshm  # noqa: E402

__all__ = [
    "WINDOW_CLASS",
    "ButtonInput",
    "ClipboardChanged",
    "FileDropped",
    "FocusChanged",
    "InputEvent",
    "KeyInput",
    "NoDisplay",
    "PointerMoved",
    "Quit",
    "SDLError",
    "WheelInput",
    "Window",
    "WindowChanged",
    "clipboard_reports_changes",
    "clipboard_text",
    "mod_state",
    "open_video",
    "poll_events",
    "sdl_video",
    "set_clipboard_text",
]


#: The window's class (X11 ``WM_CLASS``), for window managers and scripts.
WINDOW_CLASS = "spice-view"


class SDLError(Exception):
    """SDL could not do what the viewer needs (no display, no renderer...)."""


class NoDisplay(SDLError, NoDisplayError):
    """No screen to open a window on: SDL opened no video driver, or only a headless one."""


class UnknownVideoDriver(SDLError, UsageError):
    """``SDL_VIDEODRIVER`` names no driver this SDL has (a usage error, not a missing display)."""


#: SDL's video drivers that show nothing on a screen.  SDL falls back to them when no real
#: one opens (an unreachable ``$DISPLAY``): a viewer would then run with its window nowhere.
#: They are used only when ``SDL_VIDEODRIVER`` names them (tests, recordings).
HEADLESS_VIDEO_DRIVERS = frozenset({"offscreen", "dummy", "evdev"})
#: How long :func:`open_video` keeps trying a display that refuses (an X server under load
#: refuses some connections: an Xvfb with both cores busy refused 8 of 300 xwd and 2 of 300
#: SDL starts here, and SDL then fell back to its offscreen driver).
DISPLAY_PATIENCE = 2.0
#: The first wait before trying again; each next one doubles, up to 0.8 s (five tries in 2 s:
#: each failed try may have SDL's Wayland probe print a line on stderr).
_DISPLAY_RETRY = 0.1
_DISPLAY_RETRY_MAX = 0.8


def _fail(what: str) -> SDLError:
    detail = sdl2.SDL_GetError().decode(errors="replace") or "unknown SDL error"
    return SDLError(f"{what}: {detail}")


def _display_named() -> str:
    """Which display the environment names, for messages."""
    named = [f"{name}={os.environ[name]}" for name in ("DISPLAY", "WAYLAND_DISPLAY") if os.environ.get(name)]
    if os.environ.get("WAYLAND_DISPLAY") and _wayland_unreachable():
        named[-1] += " without $XDG_RUNTIME_DIR to find it in"
    return ", ".join(named) or "$DISPLAY is not set"


def _asked_drivers() -> set[str]:
    """The drivers ``SDL_VIDEODRIVER`` names (lower case; empty when it is unset)."""
    names = os.environ.get("SDL_VIDEODRIVER", "").split(",")
    return {name.strip().lower() for name in names if name.strip()}


def _check_asked_drivers() -> None:
    """:class:`UnknownVideoDriver` when ``SDL_VIDEODRIVER`` names only drivers SDL lacks."""
    value = os.environ.get("SDL_VIDEODRIVER", "")
    if not value:
        return
    asked = {name.lower() for name in value.split(",")}  # as SDL reads it: no spaces trimmed
    known = _sdl_drivers()
    if not asked & {name.lower() for name in known}:
        raise UnknownVideoDriver(
            f"SDL_VIDEODRIVER={os.environ['SDL_VIDEODRIVER']} names no video driver of this SDL "
            f"(it has {', '.join(known)})"
        )


def _sdl_version() -> tuple[int, int, int]:
    """The version of the SDL library loaded."""
    version = sdl2.SDL_version()
    sdl2.SDL_GetVersion(ctypes.byref(version))
    return version.major, version.minor, version.patch


#: The first SDL 2 that reads SDL_VIDEODRIVER as a hint (earlier ones read only the environment
#: variable) and takes a list of drivers to try in it.
_DRIVER_HINT_SINCE = (2, 0, 22)


def _sdl_drivers() -> list[str]:
    """The video drivers this SDL has, in the order it tries them."""
    count = sdl2.SDL_GetNumVideoDrivers()
    return [(sdl2.SDL_GetVideoDriver(i) or b"").decode(errors="replace") for i in range(count)]


def _drivers_to_try() -> bytes | None:
    """On Linux, the SDL drivers for the display the environment names (an ``SDL_VIDEODRIVER``
    value), or ``None`` for SDL's own choice.

    SDL otherwise also tries the other kind of display when the named one fails, and its
    headless drivers, and Wayland's library prints a line on stderr for each try without
    ``XDG_RUNTIME_DIR``.  With no display named, SDL's drivers that show windows are tried
    (a console's KMSDRM), Wayland's default socket only where it can be looked for.
    ``SDL_VIDEODRIVER`` (which SDL reads before this hint) still chooses freely.
    """
    if not sys.platform.startswith("linux") or _asked_drivers() or _sdl_version() < _DRIVER_HINT_SINCE:
        return None
    x11, wayland = _displays_named()
    if x11 and not wayland:
        return b"x11"
    if wayland and not x11:
        return b"wayland"
    if x11 and wayland:
        return None
    names = [
        name
        for name in _sdl_drivers()
        if name.lower() not in HEADLESS_VIDEO_DRIVERS
        and not (name.lower() == "wayland" and _wayland_unreachable())
    ]
    return ",".join(names).encode() or None


def _displays_named() -> tuple[bool, bool]:
    """Whether the environment names an X display, and a Wayland display that can be found."""
    return bool(os.environ.get("DISPLAY")), bool(
        os.environ.get("WAYLAND_DISPLAY")
    ) and not _wayland_unreachable()


def _wayland_unreachable() -> bool:
    """Whether the Wayland display named is one no retry can reach (no ``XDG_RUNTIME_DIR`` to find
    its socket in, and not an absolute path)."""
    named = os.environ.get("WAYLAND_DISPLAY", "")
    return not os.path.isabs(named) and not os.environ.get("XDG_RUNTIME_DIR")


def _start_video() -> None:
    """SDL_Init of video and events on a driver that shows windows (:class:`NoDisplay` if none)."""
    _check_asked_drivers()
    driver_hint = _drivers_to_try()
    sdl2.SDL_SetHint(sdl2.SDL_HINT_VIDEODRIVER, driver_hint or b"")
    try:
        started = sdl2.SDL_Init(sdl2.SDL_INIT_VIDEO | sdl2.SDL_INIT_EVENTS) == 0
    finally:
        sdl2.SDL_SetHint(sdl2.SDL_HINT_VIDEODRIVER, b"")
    if not started:
        detail = sdl2.SDL_GetError().decode(errors="replace") or "unknown SDL error"
        sdl2.SDL_Quit()  # what did start (the events) goes too: the next try starts clean
        raise NoDisplay(f"cannot open SDL's video ({_display_named()}): {detail}")
    driver = (sdl2.SDL_GetCurrentVideoDriver() or b"").decode(errors="replace").lower()
    if driver in HEADLESS_VIDEO_DRIVERS and driver not in _asked_drivers():
        sdl2.SDL_Quit()
        raise NoDisplay(
            f"no screen to open a window on ({_display_named()}): SDL found only its {driver!r} "
            "driver, which shows nothing (SDL_VIDEODRIVER selects such a driver on purpose)"
        )


@contextmanager
def sdl_video() -> Iterator[None]:
    """SDL's video and event subsystems for the duration of the block.

    Raises :class:`NoDisplay` when no driver that shows windows starts.
    """
    # Ctrl+C stays a signal for trio rather than becoming an SDL quit event.
    sdl2.SDL_SetHint(sdl2.SDL_HINT_NO_SIGNAL_HANDLERS, b"1")
    sdl2.SDL_SetHint(sdl2.SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, b"1")
    sdl2.SDL_SetHint(sdl2.SDL_HINT_APP_NAME, WINDOW_CLASS.encode())
    os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", WINDOW_CLASS)  # what SDL2's X11 driver reads
    sdl2.SDL_SetHint(sdl2.SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, b"0")
    _start_video()
    try:
        sdl2.SDL_StopTextInput()
        yield
    finally:
        sdl2.SDL_Quit()


async def open_video(stack: ExitStack, patience: float = DISPLAY_PATIENCE) -> None:
    """Enter :func:`sdl_video` on ``stack``.  A display that refuses is tried again for up to
    ``patience`` seconds (none when the environment names no display) before :class:`NoDisplay`."""
    if not any(_displays_named()):
        patience = 0.0  # nothing to wait for (macOS and Windows open their screens at once)
    deadline = trio.current_time() + patience
    delay = _DISPLAY_RETRY
    while True:
        try:
            stack.enter_context(sdl_video())
            return
        except NoDisplay:
            left = deadline - trio.current_time()
            if left <= 0:
                raise
        await trio.sleep(min(delay, left))  # the last try is at the deadline
        delay = min(2 * delay, _DISPLAY_RETRY_MAX)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class KeyInput:
    scancode: int
    pressed: bool
    repeat: bool


@dataclass(frozen=True)
class PointerMoved:
    x: int
    y: int
    dx: int
    dy: int
    #: The SDL id of the window it happened in (:attr:`Window.id`).
    window: int = 0


@dataclass(frozen=True)
class ButtonInput:
    button: int
    pressed: bool
    x: int
    y: int
    window: int = 0


@dataclass(frozen=True)
class WheelInput:
    dy: int


@dataclass(frozen=True)
class FocusChanged:
    focused: bool


@dataclass(frozen=True)
class WindowChanged:
    """The window was resized, exposed or otherwise needs a redraw."""


@dataclass(frozen=True)
class Quit:
    """The window was closed (``window``: its id; 0: the application is asked to quit)."""

    window: int = 0


@dataclass(frozen=True)
class FileDropped:
    """A file was dragged from the desktop and dropped on the window."""

    path: str


@dataclass(frozen=True)
class ClipboardChanged:
    """The host clipboard changed (SDL says so where :func:`clipboard_reports_changes`)."""


InputEvent = (
    KeyInput
    | PointerMoved
    | ButtonInput
    | WheelInput
    | FocusChanged
    | WindowChanged
    | Quit
    | FileDropped
    | ClipboardChanged
)

_REDRAW = frozenset(
    {
        sdl2.SDL_WINDOWEVENT_SIZE_CHANGED,
        sdl2.SDL_WINDOWEVENT_RESIZED,
        sdl2.SDL_WINDOWEVENT_EXPOSED,
        sdl2.SDL_WINDOWEVENT_SHOWN,
        sdl2.SDL_WINDOWEVENT_RESTORED,
        sdl2.SDL_WINDOWEVENT_MAXIMIZED,
    }
)


#: Windows whose framebuffer must be painted whole at their next present (exposed, resized).
_exposed: set[int] = set()


#: ``SDL_GetWindowSurface`` answering an address (pysdl2's makes a pointer object and its
#: ``contents`` each call; the window asks once or twice a frame).
_GET_WINDOW_SURFACE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(
    ctypes.cast(sdl2.SDL_GetWindowSurface, ctypes.c_void_p).value or 0  # (a loaded symbol: never 0)
)


def _clipped(
    rects: list[tuple[int, int, int, int]], width: int, height: int
) -> list[tuple[int, int, int, int]]:
    """The parts of ``rects`` (x, y, w, h) inside a ``width`` x ``height`` framebuffer, but empty ones."""
    out = []
    for x, y, w, h in rects:
        left, top = max(x, 0), max(y, 0)
        w, h = min(x + w, width) - left, min(y + h, height) - top
        if w > 0 and h > 0:
            out.append((left, top, w, h))
    return out


def _overlaps(rects: list[tuple[int, int, int, int]], x: int, y: int, w: int, h: int) -> bool:
    """Whether any of ``rects`` (x, y, w, h) overlaps the rectangle (x, y, w, h)."""
    return any(x < rx + rw and rx < x + w and y < ry + rh and ry < y + h for rx, ry, rw, rh in rects)


#: Times SDL's events were taken or a window was resized by us (a window's framebuffer may
#: change only then).
_pumped = 0


def _may_change_framebuffers() -> None:
    """Note that a window's framebuffer may be another one from now on (see ``_pumped``)."""
    global _pumped
    _pumped += 1


def poll_events(limit: int = 256) -> list[InputEvent]:
    """The SDL events waiting now (at most ``limit``), as viewer events; never blocks."""
    _may_change_framebuffers()
    out: list[InputEvent] = []
    event = sdl2.SDL_Event()
    while len(out) < limit and sdl2.SDL_PollEvent(ctypes.byref(event)):
        kind = event.type
        if kind in (sdl2.SDL_KEYDOWN, sdl2.SDL_KEYUP):
            key = event.key
            out.append(KeyInput(int(key.keysym.scancode), kind == sdl2.SDL_KEYDOWN, bool(key.repeat)))
        elif kind == sdl2.SDL_MOUSEMOTION:
            m = event.motion
            out.append(PointerMoved(m.x, m.y, m.xrel, m.yrel, m.windowID))
        elif kind in (sdl2.SDL_MOUSEBUTTONDOWN, sdl2.SDL_MOUSEBUTTONUP):
            b = event.button
            out.append(ButtonInput(b.button, kind == sdl2.SDL_MOUSEBUTTONDOWN, b.x, b.y, b.windowID))
        elif kind == sdl2.SDL_MOUSEWHEEL:
            w = event.wheel
            dy = -w.y if w.direction == sdl2.SDL_MOUSEWHEEL_FLIPPED else w.y
            if dy:
                out.append(WheelInput(dy))
        elif kind == sdl2.SDL_WINDOWEVENT:
            we = event.window.event
            if we == sdl2.SDL_WINDOWEVENT_FOCUS_GAINED:
                out.append(FocusChanged(True))
            elif we == sdl2.SDL_WINDOWEVENT_FOCUS_LOST:
                out.append(FocusChanged(False))
            elif we == sdl2.SDL_WINDOWEVENT_CLOSE:
                out.append(Quit(event.window.windowID))
            elif we in _REDRAW:
                _exposed.add(int(event.window.windowID))
                out.append(WindowChanged())
        elif kind == sdl2.SDL_QUIT:
            out.append(Quit())
        elif kind == sdl2.SDL_CLIPBOARDUPDATE:
            out.append(ClipboardChanged())
        elif kind == sdl2.SDL_DROPFILE:
            # SDL hands over a string it allocated: read it through the raw pointer, then free it
            where = ctypes.addressof(event) + sdl2.SDL_DropEvent.file.offset
            raw = ctypes.c_void_p.from_address(where).value
            if raw:
                out.append(FileDropped(os.fsdecode(ctypes.string_at(raw))))
                sdl2.SDL_free(ctypes.c_void_p(raw))
    return out


#: The first SDL 2 whose X11 driver reports other programs' copies (XFixes selection events).
_X11_CLIPBOARD_EVENTS_SINCE = (2, 30, 0)


def clipboard_reports_changes() -> bool:
    """Whether SDL sends :class:`ClipboardChanged` when another program copies, so that the
    clipboard need not be polled: SDL's X11 driver does from SDL 2.30 when libXfixes loads
    (it looks at CLIPBOARD and PRIMARY through XFixes selection events).  Elsewhere (older
    SDL, other video drivers, not checked here) the clipboard is polled."""
    driver = sdl2.SDL_GetCurrentVideoDriver()
    if driver is None or driver.decode(errors="replace") != "x11":
        return False
    if _sdl_version() < _X11_CLIPBOARD_EVENTS_SINCE:
        return False
    try:
        ctypes.CDLL("libXfixes.so.3")
    except OSError:
        return False
    return True


def clipboard_text() -> str | None:
    """The host clipboard's text (SDL's), or None when it holds none."""
    if not sdl2.SDL_HasClipboardText():
        return None
    raw = sdl2.SDL_GetClipboardText()
    return raw.decode("utf-8", "replace") if raw else None


def set_clipboard_text(text: str) -> None:
    """Put ``text`` on the host clipboard."""
    if sdl2.SDL_SetClipboardText(text.encode("utf-8")) != 0:
        raise _fail("cannot set the clipboard")


def mod_state() -> int:
    """SDL's current keyboard modifier state (``KMOD_*`` bits, locks included)."""
    return int(sdl2.SDL_GetModState())


# ----------------------------------------------------------------------------- window


class Window:
    """A resizable window showing a ``width`` x ``height`` BGRX image, letterboxed when scaled.

    It draws on the window's own framebuffer (no renderer): :meth:`update` copies damaged
    rectangles into the image, :meth:`present` blits just those to the framebuffer and has
    the display server update just them (X11: shared memory).  A patch :meth:`put` at 1:1
    (a video frame) is written straight into the framebuffer, and into the image only when
    the image is needed (a repaint, a cursor taken away, other drawing there).  A renderer
    would draw and send the whole window every frame, and without a GPU it does that in
    software.

    On X11 with MIT-SHM, :attr:`frame_buffers` lends frames in shared memory (the session
    decodes video into them); such a frame put at 1:1 is copied by the X server from where it
    was decoded, and into the framebuffer and the image only when they are needed.
    """

    def __init__(self, title: str, width: int, height: int) -> None:
        # The native framebuffer, not a texture SDL would draw with a renderer behind our back.
        sdl2.SDL_SetHint(sdl2.SDL_HINT_FRAMEBUFFER_ACCELERATION, b"0")
        self._window = sdl2.SDL_CreateWindow(
            title.encode(),
            sdl2.SDL_WINDOWPOS_UNDEFINED,
            sdl2.SDL_WINDOWPOS_UNDEFINED,
            width,
            height,
            sdl2.SDL_WINDOW_RESIZABLE | sdl2.SDL_WINDOW_ALLOW_HIGHDPI,
        )
        if not self._window:
            raise _fail("cannot create the viewer window")
        self._id = int(sdl2.SDL_GetWindowID(self._window))
        self._image: npt.NDArray[np.uint8] = np.zeros((0, 0, 4), np.uint8)
        self._image_surface: sdl2.SDL_Surface | None = None
        self._cursor_pixels: npt.NDArray[np.uint8] | None = None
        self._cursor_surface: sdl2.SDL_Surface | None = None
        self._cursor_size = (0, 0)
        self._cursor_drawn: tuple[int, int, int, int] | None = None  # window pixels, last present
        self._sdl_cursor: sdl2.SDL_Cursor | None = None
        #: Image rectangles (x, y, w, h) changed since the last present.
        self._damage: list[tuple[int, int, int, int]] = []
        #: A patch :meth:`put` wrote straight into the framebuffer and not into the image yet:
        #: (pixels, x, y); written into the image when the image is next needed.
        self._in_framebuffer_only: tuple[npt.NDArray[np.uint8], int, int] | None = None
        #: Framebuffer rectangles written straight since the last present (to send, not blit).
        self._sent: list[tuple[int, int, int, int]] = []
        #: Xlib's ``XEventsQueued`` and the display connection, once :meth:`event_fd` found them.
        self._x_events_queued: tuple[Callable[[ctypes.c_void_p, int], int], ctypes.c_void_p] | None = None
        self._repaint = True
        self._painted_size = (0, 0)
        #: The last :meth:`_letterbox`: (framebuffer w, h, image w, h) and its box.
        self._box_key: tuple[int, int, int, int] | None = None
        self._box = Box(0, 0, 0, 0)
        #: The framebuffer as last found: its address, the surface there (a view of that memory,
        #: so right for whatever surface SDL keeps at that address) and whether its pixels are
        #: BGRX (``SDL_PIXELFORMAT_RGB888``: the window's, from its X visual, never changes).
        self._fb: tuple[int, sdl2.SDL_Surface, bool] = (0, sdl2.SDL_Surface(), False)
        self._window_address = ctypes.cast(self._window, ctypes.c_void_p).value
        #: The framebuffer's pixels as an array, with the (address, pitch, height) it is for.
        self._framebuffer_view: tuple[tuple[int, int, int], npt.NDArray[np.uint8]] | None = None
        #: The pending patch above was shown by the X server from shared memory: neither the
        #: framebuffer nor the image has it yet.
        self._x_only = False
        #: ``_pumped`` when :meth:`put` last had the X server show a frame, the framebuffer
        #: as last presented (-1: not since the last present); see :meth:`present`.
        self._put_by_x_at = -1
        #: Frames in shared memory the X server shows straight (``None``: not on this display).
        self._shm: XShmFrames | None = None
        self.width = 0
        self.height = 0
        self.fullscreen = False
        try:
            self.set_source_size(width, height)
            self._framebuffer()
            self._shm = self._open_xshm()
        except SDLError:
            self.close()
            raise

    # ------------------------------------------------------------- image
    def set_source_size(self, width: int, height: int) -> None:
        """A new remote screen size: a fresh image (black until updated)."""
        if self._image_surface is not None:
            sdl2.SDL_FreeSurface(self._image_surface)
            self._image_surface = None
        image = np.zeros((height, width, 4), np.uint8)
        surface = sdl2.SDL_CreateRGBSurfaceWithFormatFrom(
            image.ctypes.data_as(ctypes.c_void_p), width, height, 32, width * 4, sdl2.SDL_PIXELFORMAT_RGB888
        )
        if not surface:
            raise _fail(f"cannot create a {width}x{height} image")
        self._image, self._image_surface = image, surface
        self.width, self.height = width, height
        self._damage = []
        self._in_framebuffer_only = None
        self._x_only = False
        self._sent = []
        self._repaint = True

    def fit_window(self) -> None:
        """Resize the window to the remote screen size (not in fullscreen)."""
        if not self.fullscreen:
            _may_change_framebuffers()
            sdl2.SDL_SetWindowSize(self._window, self.width, self.height)

    def zoom(self, factor: float) -> None:
        """Make the window ``factor`` times its size (not in fullscreen; 64 px at least)."""
        if self.fullscreen:
            return
        w, h = self.window_size()
        _may_change_framebuffers()
        sdl2.SDL_SetWindowSize(self._window, max(64, round(w * factor)), max(64, round(h * factor)))

    def window_size(self) -> tuple[int, int]:
        """The window's size in screen coordinates."""
        w, h = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetWindowSize(self._window, ctypes.byref(w), ctypes.byref(h))
        return w.value, h.value

    def update(self, pixels: npt.NDArray[np.uint8], stride: int, x: int, y: int, w: int, h: int) -> None:
        """Copy the rectangle (x, y, w, h) of a flat BGRX buffer of row length ``stride`` into the image."""
        if w <= 0 or h <= 0:
            return
        if not (x >= 0 and y >= 0 and x + w <= self.width and y + h <= self.height):
            raise SDLError(f"update {w}x{h}+{x}+{y} outside the {self.width}x{self.height} texture")
        if pixels.nbytes < (y + h - 1) * stride + (x + w) * 4:
            raise SDLError("update: pixel buffer smaller than the rectangle")
        self._settle()
        flat = pixels.reshape(-1).view(np.uint8)
        rows = np.lib.stride_tricks.as_strided(
            flat[y * stride + x * 4 :], shape=(h, w * 4), strides=(stride, 1), writeable=False
        )
        self._image[y : y + h, x : x + w] = rows.reshape(h, w, 4)
        self._damage.append((x, y, w, h))

    def put(self, patch: npt.NDArray[np.uint8], x: int, y: int) -> None:
        """Copy a (height, width, 4) BGRX ``patch`` into the image at (x, y); a patch that does
        not fit (the picture changed size since) is ignored."""
        h, w = patch.shape[:2]
        if x < 0 or y < 0 or x + w > self.width or y + h > self.height or w <= 0 or h <= 0:
            return
        if self._put_in_framebuffer(patch, x, y):
            return
        self._settle()
        self._image[y : y + h, x : x + w] = patch
        self._damage.append((x, y, w, h))

    def _put_in_framebuffer(self, patch: npt.NDArray[np.uint8], x: int, y: int) -> bool:
        """Write ``patch`` straight into the window's framebuffer, when the image is shown
        there 1:1 as last presented and nothing drawn there since must be blitted over it
        (a video frame: one copy instead of two).  The image gets the patch only when it is
        needed (:meth:`_settle`); ``patch`` is kept until then, so it must not change."""
        h, w = patch.shape[:2]
        if self._repaint or self._cursor_drawn is not None or self._id in _exposed:
            return False
        damage = self._damage
        if damage and _overlaps(damage, x, y, w, h):
            return False  # blitted from the image at present: it would cover the patch
        fb = self._framebuffer()
        size = (fb.w, fb.h)
        if size != self._painted_size or not self._fb[2]:
            return False
        key = (*size, self.width, self.height)  # (the letterbox kept, looked up in line)
        box = self._box if key == self._box_key else self._letterbox(*size)
        if (box.w, box.h) != (self.width, self.height) or fb.pitch % 4:
            return False  # scaled: drawn from the image
        pending = self._in_framebuffer_only
        if pending is not None and (pending[0].shape, pending[1], pending[2]) != (patch.shape, x, y):
            self._settle()  # another rectangle: the image takes it now
        shm = self._shm
        if shm is not None:
            segment = shm.segment_of(patch)
            # in shared memory: the X server copies it from there (unless a rectangle of the
            # framebuffer that present() sends later would go over it)
            if segment is not None and not (self._sent and _overlaps(self._sent, box.x + x, box.y + y, w, h)):
                shm.put(segment, box.x + x, box.y + y)
                self._in_framebuffer_only = (patch, x, y)
                self._x_only = True
                self._put_by_x_at = _pumped
                return True
        self._framebuffer_pixels(fb)[box.y + y : box.y + y + h, box.x + x : box.x + x + w] = patch
        self._in_framebuffer_only = (patch, x, y)
        self._x_only = False
        self._sent.append((box.x + x, box.y + y, w, h))
        return True

    def _framebuffer_pixels(self, fb: sdl2.SDL_Surface) -> npt.NDArray[np.uint8]:
        """The framebuffer's pixels as a (height, pitch / 4, 4) array (made once per framebuffer)."""
        where = (fb.pixels, fb.pitch, fb.h)
        view = self._framebuffer_view
        if view is None or view[0] != where:
            memory = (ctypes.c_uint8 * (fb.pitch * fb.h)).from_address(fb.pixels)
            array = np.frombuffer(memory, np.uint8).reshape(fb.h, fb.pitch // 4, 4)
            view = self._framebuffer_view = (where, array)
        return view[1]

    def _settle(self) -> None:
        """Write the patch that so far went only to the framebuffer into the image (and one
        the X server showed from shared memory into the framebuffer too)."""
        pending, self._in_framebuffer_only = self._in_framebuffer_only, None
        if pending is not None:
            patch, x, y = pending
            h, w = patch.shape[:2]
            self._image[y : y + h, x : x + w] = patch
            if self._x_only:
                self._x_only = False
                fb = self._framebuffer()
                box = self._letterbox(fb.w, fb.h)
                if (fb.w, fb.h) == self._painted_size and (box.w, box.h) == (self.width, self.height):
                    # (otherwise the next present paints the whole window from the image)
                    self._framebuffer_pixels(fb)[box.y + y : box.y + y + h, box.x + x : box.x + x + w] = patch

    @property
    def frame_buffers(self) -> XShmFrames | None:
        """Shared memory frames the X server shows straight when :meth:`put` at 1:1 (a
        ``FrameBuffers`` for the session's video decoding); ``None`` where there are none."""
        return self._shm

    def _open_xshm(self) -> XShmFrames | None:
        x11 = self._x11()
        return open_xshm(*x11) if x11 is not None else None

    def _x11(self) -> tuple[int, int] | None:
        """The window's X11 display connection (``Display *``) and window id; ``None`` on other
        video drivers."""
        info = sdl2.SDL_SysWMinfo()
        sdl2.SDL_VERSION(info.version)
        if not sdl2.SDL_GetWindowWMInfo(self._window, ctypes.byref(info)):
            return None
        if info.subsystem != sdl2.SDL_SYSWM_X11 or not info.info.x11.display:
            return None
        return int(info.info.x11.display), int(info.info.x11.window)

    def _letterbox(self, out_w: int, out_h: int) -> Box:
        """:func:`letterbox` of the image in an ``out_w`` x ``out_h`` framebuffer (the last one kept)."""
        key = (out_w, out_h, self.width, self.height)
        if key != self._box_key:
            self._box_key, self._box = key, letterbox(out_w, out_h, self.width, self.height)
        return self._box

    def _framebuffer(self) -> sdl2.SDL_Surface:
        address = _GET_WINDOW_SURFACE(self._window_address)
        if not address:
            raise _fail("cannot get the window's framebuffer")
        found = self._fb
        if found[0] != address:
            surface = sdl2.SDL_Surface.from_address(address)
            bgrx = surface.format.contents.format == sdl2.SDL_PIXELFORMAT_RGB888
            found = self._fb = (address, surface, bgrx)
        return found[1]

    def event_fd(self) -> int | None:
        """The display connection's socket (X11), readable when events may be waiting; ``None``
        on other video drivers (then events can only be polled)."""
        x11 = self._x11()
        if x11 is None:
            return None
        try:
            xlib = ctypes.CDLL("libX11.so.6")
        except OSError:
            return None
        xlib.XConnectionNumber.argtypes = [ctypes.c_void_p]
        xlib.XConnectionNumber.restype = ctypes.c_int
        xlib.XEventsQueued.argtypes = [ctypes.c_void_p, ctypes.c_int]
        xlib.XEventsQueued.restype = ctypes.c_int
        display = ctypes.c_void_p(x11[0])
        fd = int(xlib.XConnectionNumber(display))
        if fd < 0:
            return None
        self._x_events_queued = (xlib.XEventsQueued, display)  # (with 0: QueuedAlready)
        return fd

    def events_queued(self) -> bool:
        """Whether events wait where the display connection's socket cannot say so: in
        SDL's queue, or read by Xlib (while it waited for a reply) but not taken yet.  Asks no
        server; the X11 part once :meth:`event_fd` found the connection."""
        if sdl2.SDL_HasEvents(sdl2.SDL_FIRSTEVENT, sdl2.SDL_LASTEVENT):
            return True
        x_events_queued = self._x_events_queued  # (called here: once a frame)
        return x_events_queued is not None and x_events_queued[0](x_events_queued[1], 0) > 0

    @property
    def id(self) -> int:
        """SDL's id of this window (what its events carry)."""
        return int(sdl2.SDL_GetWindowID(self._window))

    def pixel_size(self) -> tuple[int, int]:
        """The window's inside in device pixels (larger than its size on a HiDPI screen)."""
        w, h = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetWindowSizeInPixels(self._window, ctypes.byref(w), ctypes.byref(h))
        return w.value, h.value

    def position(self) -> tuple[int, int]:
        """Where the window stands on the host desktop (its top-left corner)."""
        x, y = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetWindowPosition(self._window, ctypes.byref(x), ctypes.byref(y))
        return x.value, y.value

    def box(self) -> Box:
        """Where the remote screen is drawn, in window coordinates (mouse event coordinates)."""
        w, h = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetWindowSize(self._window, ctypes.byref(w), ctypes.byref(h))
        return letterbox(w.value, h.value, self.width, self.height)

    def present(self, cursor_at: tuple[int, int] | None = None) -> None:
        """Show what changed since the last call (and the cursor image at remote pixel ``cursor_at``).

        At 1:1 only the damaged rectangles (and where the drawn cursor was and is) are
        blitted and sent; the whole picture after a resize, an expose, or when scaled.
        """
        put_by_x_at, self._put_by_x_at = self._put_by_x_at, -1
        if (
            put_by_x_at == _pumped  # the framebuffer as :meth:`put` found it (no event taken since)
            and cursor_at is None
            and not self._damage
            and not self._sent
            and self._cursor_drawn is None
            and not self._repaint
            and self._id not in _exposed
        ):
            # a video frame the X server showed, and nothing else: nothing to send (it was
            # presented when it was put), and the framebuffer need not be looked up again
            if self._shm is not None and self._shm.trimming:
                self._shm.tidy()
            return
        fb = self._framebuffer()
        size = (fb.w, fb.h)
        key = (*size, self.width, self.height)  # (the letterbox kept, looked up in line)
        box = self._box if key == self._box_key else self._letterbox(*size)
        scaled = (box.w, box.h) != (self.width, self.height)
        exposed = self._id in _exposed
        _exposed.discard(self._id)
        out: list[tuple[int, int, int, int]] = self._sent
        self._sent = []
        if self._repaint or exposed or size != self._painted_size or (scaled and self._damage):
            self._settle()
            sdl2.SDL_FillRect(fb, None, 0)
            self._blit_image(fb, box, (0, 0, self.width, self.height), scaled)
            out.append((0, 0, fb.w, fb.h))
            self._cursor_drawn = None
        else:
            for rect in self._damage:
                self._blit_image(fb, box, rect, False)
                out.append((box.x + rect[0], box.y + rect[1], rect[2], rect[3]))
            if self._cursor_drawn is not None:  # take the old cursor image away
                self._settle()
                cx, cy, cw, ch = self._cursor_drawn
                sdl2.SDL_FillRect(fb, ctypes.byref(sdl2.SDL_Rect(cx, cy, cw, ch)), 0)
                left, top = max(cx - box.x, 0), max(cy - box.y, 0)
                right, bottom = min(cx + cw - box.x, self.width), min(cy + ch - box.y, self.height)
                if right > left and bottom > top:
                    self._blit_image(fb, box, (left, top, right - left, bottom - top), scaled)
                out.append(self._cursor_drawn)
                self._cursor_drawn = None
        if cursor_at is not None and self._cursor_surface is not None and self.width and self.height:
            if self._x_only:  # the cursor is drawn over what the framebuffer has there
                self._settle()
            cw, ch = self._cursor_size
            crect = (
                box.x + cursor_at[0] * box.w // self.width,
                box.y + cursor_at[1] * box.h // self.height,
                max(1, cw * box.w // self.width),
                max(1, ch * box.h // self.height),
            )
            sdl2.SDL_BlitScaled(self._cursor_surface, None, fb, ctypes.byref(sdl2.SDL_Rect(*crect)))
            out.append(crect)
            self._cursor_drawn = crect
        self._damage = []
        self._repaint = False
        self._painted_size = size
        rects = _clipped(out, *size)
        if rects:
            array = (sdl2.SDL_Rect * len(rects))()
            for item, (x, y, w, h) in zip(array, rects, strict=True):
                item.x, item.y, item.w, item.h = x, y, w, h
            if sdl2.SDL_UpdateWindowSurfaceRects(self._window, array, len(rects)) != 0:
                raise _fail("cannot update the window")
        shm = self._shm
        if shm is not None and shm.trimming:
            shm.tidy()  # a stream ended: frames that came back let go of their memory

    def _blit_image(
        self, fb: sdl2.SDL_Surface, box: Box, rect: tuple[int, int, int, int], scaled: bool
    ) -> None:
        """Blit image rectangle ``rect`` to the framebuffer (the whole image, stretched, when ``scaled``)."""
        if scaled:
            dst = sdl2.SDL_Rect(box.x, box.y, box.w, box.h)
            if fb.format.contents.format == sdl2.SDL_PIXELFORMAT_RGB888:
                sdl2.SDL_SoftStretchLinear(self._image_surface, None, fb, ctypes.byref(dst))
            else:
                sdl2.SDL_BlitScaled(self._image_surface, None, fb, ctypes.byref(dst))
            return
        x, y, w, h = rect
        src = sdl2.SDL_Rect(x, y, w, h)
        dst = sdl2.SDL_Rect(box.x + x, box.y + y, w, h)
        sdl2.SDL_BlitSurface(self._image_surface, ctypes.byref(src), fb, ctypes.byref(dst))

    def read_pixels(self) -> npt.NDArray[np.uint8]:
        """What the window shows: (height, width, 4) B, G, R, X of its framebuffer."""
        if self._x_only:
            self._settle()
        fb = self._framebuffer()
        out = np.zeros((fb.h, fb.w, 4), np.uint8)
        status = sdl2.SDL_ConvertPixels(
            fb.w,
            fb.h,
            fb.format.contents.format,
            fb.pixels,
            fb.pitch,
            sdl2.SDL_PIXELFORMAT_RGB888,
            out.ctypes.data_as(ctypes.c_void_p),
            fb.w * 4,
        )
        if status != 0:
            raise _fail("cannot read the window back")
        return out

    # ------------------------------------------------------------- window state
    def set_title(self, title: str) -> None:
        sdl2.SDL_SetWindowTitle(self._window, title.encode())

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        _may_change_framebuffers()
        flags = sdl2.SDL_WINDOW_FULLSCREEN_DESKTOP if self.fullscreen else 0
        if sdl2.SDL_SetWindowFullscreen(self._window, flags) != 0:
            self.fullscreen = not self.fullscreen
            raise _fail("cannot switch fullscreen")

    def grab(self, on: bool, *, relative: bool) -> None:
        """Grab (or release) keyboard and pointer; ``relative`` hides the pointer for relative motion."""
        flag = sdl2.SDL_TRUE if on else sdl2.SDL_FALSE
        sdl2.SDL_SetWindowKeyboardGrab(self._window, flag)
        sdl2.SDL_SetWindowMouseGrab(self._window, flag)
        sdl2.SDL_SetRelativeMouseMode(sdl2.SDL_TRUE if on and relative else sdl2.SDL_FALSE)

    # ------------------------------------------------------------- cursor
    def set_cursor(self, rgba: npt.NDArray[np.uint8], hot_x: int, hot_y: int) -> None:
        """Use an RGBA image as the local pointer (client mouse mode), and as the drawn cursor image."""
        image = np.ascontiguousarray(rgba, dtype=np.uint8).copy()
        h, w = image.shape[:2]
        surface = sdl2.SDL_CreateRGBSurfaceWithFormatFrom(
            image.ctypes.data_as(ctypes.c_void_p), w, h, 32, w * 4, sdl2.SDL_PIXELFORMAT_RGBA32
        )
        if not surface:
            raise _fail("cannot make a cursor surface")
        sdl2.SDL_SetSurfaceBlendMode(surface, sdl2.SDL_BLENDMODE_BLEND)
        cursor = sdl2.SDL_CreateColorCursor(surface, min(max(hot_x, 0), w - 1), min(max(hot_y, 0), h - 1))
        if cursor:
            sdl2.SDL_SetCursor(cursor)
            if self._sdl_cursor is not None:
                sdl2.SDL_FreeCursor(self._sdl_cursor)
            self._sdl_cursor = cursor
        if self._cursor_surface is not None:
            sdl2.SDL_FreeSurface(self._cursor_surface)
        self._cursor_surface, self._cursor_pixels = surface, image  # the surface uses image's memory
        self._cursor_size = (w, h)

    def show_pointer(self, visible: bool) -> None:
        sdl2.SDL_ShowCursor(sdl2.SDL_ENABLE if visible else sdl2.SDL_DISABLE)

    def close(self) -> None:
        if self._shm is not None:
            self._shm.close()
            self._shm = None
        sdl2.SDL_SetRelativeMouseMode(sdl2.SDL_FALSE)
        for surface in (self._image_surface, self._cursor_surface):
            if surface is not None:
                sdl2.SDL_FreeSurface(surface)
        self._image_surface = self._cursor_surface = None
        if self._sdl_cursor is not None:
            sdl2.SDL_SetCursor(sdl2.SDL_GetDefaultCursor())
            sdl2.SDL_FreeCursor(self._sdl_cursor)
            self._sdl_cursor = None
        _exposed.discard(self._id)
        sdl2.SDL_DestroyWindow(self._window)
