"""pysdl2 behind a small face: one window with a streaming texture, cursors, and polled events.

Every SDL call happens on the thread that runs trio (the main thread); events
are polled, never delivered through callbacks.
"""

from __future__ import annotations

import ctypes
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysdl2-dll announces which SDL binary it loads
    import sdl2

from ._sdl_logic import Box, letterbox

__all__ = [
    "WINDOW_CLASS",
    "ButtonInput",
    "FocusChanged",
    "InputEvent",
    "KeyInput",
    "PointerMoved",
    "Quit",
    "SDLError",
    "WheelInput",
    "Window",
    "WindowChanged",
    "clipboard_text",
    "mod_state",
    "poll_events",
    "sdl_video",
    "set_clipboard_text",
]


#: The window's class (X11 ``WM_CLASS``), for window managers and scripts.
WINDOW_CLASS = "spice-view"


class SDLError(Exception):
    """SDL could not do what the viewer needs (no display, no renderer...)."""


def _fail(what: str) -> SDLError:
    detail = sdl2.SDL_GetError().decode(errors="replace") or "unknown SDL error"
    return SDLError(f"{what}: {detail}")


@contextmanager
def sdl_video() -> Iterator[None]:
    """SDL's video and event subsystems for the duration of the block."""
    # Ctrl+C stays a signal for trio rather than becoming an SDL quit event.
    sdl2.SDL_SetHint(sdl2.SDL_HINT_NO_SIGNAL_HANDLERS, b"1")
    sdl2.SDL_SetHint(sdl2.SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, b"1")
    sdl2.SDL_SetHint(sdl2.SDL_HINT_APP_NAME, WINDOW_CLASS.encode())
    os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", WINDOW_CLASS)  # what SDL2's X11 driver reads
    sdl2.SDL_SetHint(sdl2.SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, b"0")
    if sdl2.SDL_Init(sdl2.SDL_INIT_VIDEO | sdl2.SDL_INIT_EVENTS) != 0:
        raise _fail("cannot open the SDL video subsystem (is DISPLAY set?)")
    try:
        sdl2.SDL_StopTextInput()
        yield
    finally:
        sdl2.SDL_Quit()


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


@dataclass(frozen=True)
class ButtonInput:
    button: int
    pressed: bool
    x: int
    y: int


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
    """The window was closed."""


InputEvent = KeyInput | PointerMoved | ButtonInput | WheelInput | FocusChanged | WindowChanged | Quit

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


def poll_events(limit: int = 256) -> list[InputEvent]:
    """The SDL events waiting now (at most ``limit``), as viewer events; never blocks."""
    out: list[InputEvent] = []
    event = sdl2.SDL_Event()
    while len(out) < limit and sdl2.SDL_PollEvent(ctypes.byref(event)):
        kind = event.type
        if kind in (sdl2.SDL_KEYDOWN, sdl2.SDL_KEYUP):
            key = event.key
            out.append(KeyInput(int(key.keysym.scancode), kind == sdl2.SDL_KEYDOWN, bool(key.repeat)))
        elif kind == sdl2.SDL_MOUSEMOTION:
            m = event.motion
            out.append(PointerMoved(m.x, m.y, m.xrel, m.yrel))
        elif kind in (sdl2.SDL_MOUSEBUTTONDOWN, sdl2.SDL_MOUSEBUTTONUP):
            b = event.button
            out.append(ButtonInput(b.button, kind == sdl2.SDL_MOUSEBUTTONDOWN, b.x, b.y))
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
                out.append(Quit())
            elif we in _REDRAW:
                out.append(WindowChanged())
        elif kind == sdl2.SDL_QUIT:
            out.append(Quit())
    return out


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
    """A resizable window showing a ``width`` x ``height`` BGRX image, letterboxed when scaled."""

    def __init__(self, title: str, width: int, height: int) -> None:
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
        self._renderer = sdl2.SDL_CreateRenderer(self._window, -1, 0)
        if not self._renderer:
            self._renderer = sdl2.SDL_CreateRenderer(self._window, -1, sdl2.SDL_RENDERER_SOFTWARE)
        if not self._renderer:
            sdl2.SDL_DestroyWindow(self._window)
            raise _fail("cannot create a renderer for the viewer window")
        self._texture: sdl2.SDL_Texture | None = None
        self._cursor_texture: sdl2.SDL_Texture | None = None
        self._cursor_size = (0, 0)
        self._sdl_cursor: sdl2.SDL_Cursor | None = None
        self.width = 0
        self.height = 0
        self.fullscreen = False
        self.set_source_size(width, height)

    # ------------------------------------------------------------- image
    def set_source_size(self, width: int, height: int) -> None:
        """A new remote screen size: a fresh texture (black until updated)."""
        if self._texture is not None:
            sdl2.SDL_DestroyTexture(self._texture)
        # Linear filtering when scaled; at 1:1 every pixel is copied as it is.
        sdl2.SDL_SetHint(sdl2.SDL_HINT_RENDER_SCALE_QUALITY, b"linear")
        self._texture = sdl2.SDL_CreateTexture(
            self._renderer, sdl2.SDL_PIXELFORMAT_RGB888, sdl2.SDL_TEXTUREACCESS_STREAMING, width, height
        )
        if not self._texture:
            raise _fail(f"cannot create a {width}x{height} texture")
        self.width, self.height = width, height

    def fit_window(self) -> None:
        """Resize the window to the remote screen size (not in fullscreen)."""
        if not self.fullscreen:
            sdl2.SDL_SetWindowSize(self._window, self.width, self.height)

    def update(self, pixels: npt.NDArray[np.uint8], stride: int, x: int, y: int, w: int, h: int) -> None:
        """Copy the rectangle (x, y, w, h) of a flat BGRX buffer of row length ``stride`` into the texture."""
        if w <= 0 or h <= 0:
            return
        if not (x >= 0 and y >= 0 and x + w <= self.width and y + h <= self.height):
            raise SDLError(f"update {w}x{h}+{x}+{y} outside the {self.width}x{self.height} texture")
        if pixels.nbytes < (y + h - 1) * stride + (x + w) * 4:
            raise SDLError("update: pixel buffer smaller than the rectangle")
        rect = sdl2.SDL_Rect(x, y, w, h)
        address = pixels.ctypes.data + y * stride + x * 4
        if sdl2.SDL_UpdateTexture(self._texture, ctypes.byref(rect), ctypes.c_void_p(address), stride) != 0:
            raise _fail("cannot update the texture")

    def pixel_size(self) -> tuple[int, int]:
        """The window's inside in device pixels (larger than its size on a HiDPI screen)."""
        w, h = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetRendererOutputSize(self._renderer, ctypes.byref(w), ctypes.byref(h))
        return w.value, h.value

    def box(self) -> Box:
        """Where the remote screen is drawn, in window coordinates (mouse event coordinates)."""
        w, h = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetWindowSize(self._window, ctypes.byref(w), ctypes.byref(h))
        return letterbox(w.value, h.value, self.width, self.height)

    def present(self, cursor_at: tuple[int, int] | None = None) -> None:
        """Draw the texture letterboxed (and the cursor image at remote pixel ``cursor_at``)."""
        ow, oh = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetRendererOutputSize(self._renderer, ctypes.byref(ow), ctypes.byref(oh))
        box = letterbox(ow.value, oh.value, self.width, self.height)
        sdl2.SDL_SetRenderDrawColor(self._renderer, 0, 0, 0, 255)
        sdl2.SDL_RenderClear(self._renderer)
        dst = sdl2.SDL_Rect(box.x, box.y, box.w, box.h)
        sdl2.SDL_RenderCopy(self._renderer, self._texture, None, ctypes.byref(dst))
        if cursor_at is not None and self._cursor_texture is not None and self.width and self.height:
            cw, ch = self._cursor_size
            cx = box.x + cursor_at[0] * box.w // self.width
            cy = box.y + cursor_at[1] * box.h // self.height
            crect = sdl2.SDL_Rect(cx, cy, max(1, cw * box.w // self.width), max(1, ch * box.h // self.height))
            sdl2.SDL_RenderCopy(self._renderer, self._cursor_texture, None, ctypes.byref(crect))
        sdl2.SDL_RenderPresent(self._renderer)

    def read_pixels(self) -> npt.NDArray[np.uint8]:
        """What the last frame drew: (height, width, 4) B, G, R, X of the renderer output."""
        ow, oh = ctypes.c_int(), ctypes.c_int()
        sdl2.SDL_GetRendererOutputSize(self._renderer, ctypes.byref(ow), ctypes.byref(oh))
        out = np.zeros((oh.value, ow.value, 4), np.uint8)
        status = sdl2.SDL_RenderReadPixels(
            self._renderer,
            None,
            sdl2.SDL_PIXELFORMAT_RGB888,
            out.ctypes.data_as(ctypes.c_void_p),
            ow.value * 4,
        )
        if status != 0:
            raise _fail("cannot read the frame back")
        return out

    # ------------------------------------------------------------- window state
    def set_title(self, title: str) -> None:
        sdl2.SDL_SetWindowTitle(self._window, title.encode())

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
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
        image = np.ascontiguousarray(rgba, dtype=np.uint8)
        h, w = image.shape[:2]
        surface = sdl2.SDL_CreateRGBSurfaceWithFormatFrom(
            image.ctypes.data_as(ctypes.c_void_p), w, h, 32, w * 4, sdl2.SDL_PIXELFORMAT_RGBA32
        )
        if not surface:
            raise _fail("cannot make a cursor surface")
        try:
            cursor = sdl2.SDL_CreateColorCursor(surface, min(max(hot_x, 0), w - 1), min(max(hot_y, 0), h - 1))
            texture = sdl2.SDL_CreateTextureFromSurface(self._renderer, surface)
        finally:
            sdl2.SDL_FreeSurface(surface)
        if cursor:
            sdl2.SDL_SetCursor(cursor)
            if self._sdl_cursor is not None:
                sdl2.SDL_FreeCursor(self._sdl_cursor)
            self._sdl_cursor = cursor
        if self._cursor_texture is not None:
            sdl2.SDL_DestroyTexture(self._cursor_texture)
        self._cursor_texture = texture or None
        if texture:
            sdl2.SDL_SetTextureBlendMode(texture, sdl2.SDL_BLENDMODE_BLEND)
        self._cursor_size = (w, h)

    def show_pointer(self, visible: bool) -> None:
        sdl2.SDL_ShowCursor(sdl2.SDL_ENABLE if visible else sdl2.SDL_DISABLE)

    def close(self) -> None:
        sdl2.SDL_SetRelativeMouseMode(sdl2.SDL_FALSE)
        for texture in (self._texture, self._cursor_texture):
            if texture is not None:
                sdl2.SDL_DestroyTexture(texture)
        self._texture = self._cursor_texture = None
        if self._sdl_cursor is not None:
            sdl2.SDL_SetCursor(sdl2.SDL_GetDefaultCursor())
            sdl2.SDL_FreeCursor(self._sdl_cursor)
            self._sdl_cursor = None
        sdl2.SDL_DestroyRenderer(self._renderer)
        sdl2.SDL_DestroyWindow(self._window)
