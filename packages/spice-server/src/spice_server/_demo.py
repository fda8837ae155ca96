"""The demo scene: a live frame source that shows the whole stack working.

:class:`DemoSource` draws, with numpy only (no per-pixel Python):

- a title bar over a gradient background (static);
- a clock panel, digital and analog, redrawn once a second (only its box is damaged);
- a plasma animation at ``fps`` frames per second (the kind of area a server streams);
- a text panel where typed keys appear (set-1 scancodes through spice_proto's US key table);
- a canvas where dragging with the left mouse button draws; the right button clears it.

The server runs :meth:`DemoSource.run` (the animation); feed it the server's input
events with :meth:`DemoSource.consume`, or call :meth:`DemoSource.handle` per event.
With a :class:`GuestAgent` (:meth:`DemoSource.share_clipboard`) Ctrl+V pastes what a
client copied into the text panel and Ctrl+C offers the panel's text to the clients;
:meth:`DemoSource.resize` lays the scene out again, so the agent's resize requests
(a viewer's window size) are followed.
Text uses a built-in 5x7 bitmap font, so the scene needs nothing beyond numpy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import trio
from spice_proto import KeyboardModifierFlags, MouseButton, MouseButtonMask, Rect, key_char, key_code

from ._agent import GuestAgent
from ._events import ButtonEvent, InputEvent, KeyEvent, ModifiersEvent, MotionEvent, PointerEvent
from ._source import FrameSource, SourceError

__all__ = ["DEMO_MIN_SIZE", "DemoLayout", "DemoSource", "text_mask"]

#: Smallest frame the demo lays out (width, height).
DEMO_MIN_SIZE = (320, 200)

# --- font -----------------------------------------------------------------------------------

# A 5x7 font for ASCII 32..126, drawn for this project: per glyph seven rows of five
# bits, most significant bit leftmost, as 14 hex digits.
_FONT_ROWS = """
00000000000000 04040404040004 0A0A0A00000000 0A0A1F0A1F0A0A 040F140E051E04 18190204081303
0C12140815120D 0C040800000000 02040808080402 08040202020408 0004150E150400 0004041F040400
000000000C0408 0000001F000000 00000000000C0C 00010204081000 0E11131519110E 040C040404040E
0E11010204081F 1F02040201110E 02060A121F0202 1F101E0101110E 0608101E11110E 1F010204080808
0E11110E11110E 0E11110F01020C 000C0C000C0C00 000C0C000C0408 02040810080402 00001F001F0000
08040201020408 0E110102040004 0E11010D15150E 0E1111111F1111 1E11111E11111E 0E11101010110E
1C12111111121C 1F10101E10101F 1F10101E101010 0E11101711110F 1111111F111111 0E04040404040E
0702020202120C 11121418141211 1010101010101F 111B1515111111 11111915131111 0E11111111110E
1E11111E101010 0E11111115120D 1E11111E141211 0F10100E01011E 1F040404040404 1111111111110E
11111111110A04 1111111515150A 11110A040A1111 1111110A040404 1F01020408101F 0E08080808080E
00100804020100 0E02020202020E 040A1100000000 0000000000001F 08040200000000 00000E010F110F
1010161911111E 00000E1010110E 01010D1311110F 00000E111F100E 0609081C080808 000F11110F010E
10101619111111 04000C0404040E 0200060202120C 10101214181412 0C04040404040E 00001A15151111
00001619111111 00000E1111110E 00001E111E1010 00000D130F0101 00001619101010 00000E100E011E
08081C08080906 0000111111130D 00001111110A04 0000111115150A 0000110A040A11 000011110F010E
00001F0204081F 02040408040402 04040404040404 08040402040408 00000815020000
"""


# Letters with descenders use an eighth row (below the baseline): row by row as above.
_DESCENDERS = {
    "g": "00000F11110F010E",
    "j": "020006020202120C",
    "p": "00001E11111E1010",
    "q": "00000F11110F0101",
    "y": "00001111110F010E",
}


def _font_cells() -> npt.NDArray[np.bool_]:
    """The glyphs as (95, 9, 6) booleans: 5x8 ink plus one blank column and row of spacing."""
    hexes = "".join(_FONT_ROWS.split())
    if len(hexes) != 95 * 14:  # pragma: no cover - a typo in the table above
        raise AssertionError(f"font table has {len(hexes)} hex digits, expected {95 * 14}")
    rows = np.zeros((95, 8), np.uint8)
    rows[:, :7] = np.frombuffer(bytes.fromhex(hexes), np.uint8).reshape(95, 7)
    for char, glyph in _DESCENDERS.items():
        rows[ord(char) - 32] = np.frombuffer(bytes.fromhex(glyph), np.uint8)
    bits = (rows[:, :, None] >> np.arange(4, -1, -1, dtype=np.uint8)) & 1
    cells = np.zeros((95, 9, 6), np.bool_)
    cells[:, :8, :5] = bits.astype(np.bool_)
    return cells


_CELLS = _font_cells()
GLYPH_W, GLYPH_H = 6, 9


def text_mask(text: str, scale: int = 1) -> npt.NDArray[np.bool_]:
    """``text`` (one line; characters outside printable ASCII show as ``?``) as a boolean ink mask
    of shape ``(9 * scale, 6 * scale * len(text))``."""
    if scale < 1:
        raise ValueError("text scale must be at least 1")
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
    codes = np.where((codes < 32) | (codes > 126), ord("?"), codes) - 32
    cells = _CELLS[codes]  # (n, 9, 6)
    mask: npt.NDArray[np.bool_] = cells.transpose(1, 0, 2).reshape(GLYPH_H, GLYPH_W * len(codes))
    if scale > 1:
        mask = mask.repeat(scale, axis=0).repeat(scale, axis=1)
    return mask


# --- keyboard -------------------------------------------------------------------------------

_SHIFT = frozenset({key_code("Shift_L"), key_code("Shift_R")})
_CTRL_ALT = frozenset(key_code(k) for k in ("Control_L", "Control_R", "Alt_L", "Alt_R", "Super_L", "Super_R"))
_ENTER = frozenset({key_code("Return"), key_code("KP_Enter")})
_BACKSPACE = key_code("BackSpace")
_TAB = key_code("Tab")
_ESCAPE = key_code("Escape")
_CAPS_LOCK = key_code("Caps_Lock")
_CTRL = frozenset({key_code("Control_L"), key_code("Control_R")})
_KEY_C, _KEY_V = key_code("c"), key_code("v")


# --- drawing helpers ------------------------------------------------------------------------

Color = tuple[int, int, int]


def _bgrx(rgb: Color) -> npt.NDArray[np.uint8]:
    r, g, b = rgb
    return np.array([b, g, r, 0], np.uint8)


BACKGROUND_TOP: Color = (18, 22, 46)
BACKGROUND_BOTTOM: Color = (58, 20, 68)
TITLE: Color = (240, 240, 255)
SUBTITLE: Color = (170, 180, 220)
PANEL: Color = (30, 34, 62)
BORDER: Color = (92, 102, 160)
METER_OFF: Color = (40, 44, 70)
METER_ON: Color = (60, 200, 90)
LABEL: Color = (150, 160, 205)
DIGITS: Color = (120, 255, 160)
DIAL: Color = (200, 200, 230)
HANDS: Color = (250, 250, 250)
SECOND_HAND: Color = (255, 80, 80)
TYPED: Color = (255, 255, 255)
CANVAS: Color = (245, 245, 238)
CANVAS_LABEL: Color = (150, 150, 150)
PENS: tuple[Color, ...] = ((220, 40, 40), (40, 110, 220), (30, 160, 60), (230, 140, 20), (150, 50, 200))


@dataclass(frozen=True)
class DemoLayout:
    """Where each part of the scene is, for a frame of ``width`` x ``height``."""

    width: int
    height: int
    title: Rect
    plasma: Rect
    clock: Rect
    text: Rect
    canvas: Rect
    title_scale: int
    label_scale: int
    clock_scale: int
    text_scale: int

    @classmethod
    def for_size(cls, width: int, height: int) -> DemoLayout:
        sx, sy = width / 1024, height / 768
        u = min(sx, sy)

        def box(left: float, top: float, right: float, bottom: float) -> Rect:
            return Rect(round(left * sx), round(top * sy), round(right * sx), round(bottom * sy))

        return cls(
            width=width,
            height=height,
            title=box(0, 0, 1024, 72),
            plasma=box(16, 88, 528, 408),
            clock=box(544, 88, 1008, 248),
            text=box(544, 264, 1008, 408),
            canvas=box(16, 424, 1008, 752),
            title_scale=max(1, round(4 * u)),
            label_scale=max(1, round(2 * u)),
            clock_scale=max(1, round(5 * u)),
            text_scale=max(1, round(2 * u)),
        )


class DemoSource(FrameSource):
    """The live demo scene (default 1024x768); see the module docstring for what it shows.

    ``clock`` gives the wall-clock time shown (seconds since the epoch, default
    :func:`time.time`); ``fps`` is the animation rate.  :meth:`step` advances the scene
    to a point in time without waiting, which is what :meth:`run` calls in a loop.
    """

    def __init__(
        self,
        width: int = 1024,
        height: int = 768,
        *,
        fps: float = 25.0,
        clock: Callable[[], float] = time.time,
        title: str = "spice-python demo",
    ) -> None:
        if width < DEMO_MIN_SIZE[0] or height < DEMO_MIN_SIZE[1]:
            raise SourceError(
                f"demo size {width}x{height} is too small: at least {DEMO_MIN_SIZE[0]}x{DEMO_MIN_SIZE[1]}"
            )
        if not (0 < fps <= 120):
            raise SourceError(f"demo fps {fps} must be in (0, 120]")
        super().__init__(width, height)
        self.fps = fps
        self.clock = clock
        self.title = title
        #: While frozen, :meth:`step` changes nothing (input still draws).
        self.frozen = False
        #: The level shown by :meth:`show_level` (0 to 1).
        self.level = 0.0
        #: What was typed so far (newest last; bounded).
        self.typed = ""
        self.caps_lock = False
        self._held: set[int] = set()
        self._pen: tuple[int, int] | None = None
        self._pen_color = 0
        self._shown_second: int | None = None
        self._t0: float | None = None
        self.frames = 0
        self._agent: GuestAgent | None = None
        self._paste = trio.Event()
        self._lay_out(width, height)
        phase = np.arange(256) * (2 * math.pi / 256)
        lut = np.zeros((256, 4), np.uint8)
        for channel, shift in ((2, 0.0), (1, 2 * math.pi / 3), (0, 4 * math.pi / 3)):  # R, G, B
            lut[:, channel] = (128 + 127 * np.sin(phase + shift)).astype(np.uint8)
        self._lut = lut
        self._draw_static()
        self._draw_plasma(0.0)
        self._draw_clock(self.clock())

    def _lay_out(self, width: int, height: int) -> None:
        self.layout = DemoLayout.for_size(width, height)
        plasma = self.layout.plasma
        self._px = np.arange(plasma.width, dtype=np.float32)
        self._py = np.arange(plasma.height, dtype=np.float32)
        self._pxx, self._pyy = np.meshgrid(self._px, self._py)

    def resize(self, width: int, height: int) -> None:
        """Lay the scene out again at ``width`` x ``height`` (at least :data:`DEMO_MIN_SIZE`);
        the typed text stays, the canvas starts empty, clients get a new surface."""
        width, height = max(width, DEMO_MIN_SIZE[0]), max(height, DEMO_MIN_SIZE[1])
        if (width, height) == (self.width, self.height):
            return
        old, new = self._frame, np.zeros((height, width, 4), np.uint8)
        self._frame = new  # draw the new scene, then hand it over as a whole new frame
        self._lay_out(width, height)
        self._draw_static()
        self._draw_plasma(0.0)
        self._draw_clock(self.clock())
        self._frame = old
        self._set_frame(new)

    # --- the agent: clipboard --------------------------------------------------------------

    async def share_clipboard(self, agent: GuestAgent) -> None:
        """Until cancelled: Ctrl+V pastes the text a client copied into the text panel,
        Ctrl+C offers the panel's text to every client's clipboard."""
        self._agent = agent
        try:
            while True:
                await self._paste.wait()
                self._paste = trio.Event()
                text = await agent.get_text()
                if text:
                    self.set_text(self.typed + text)
        finally:
            self._agent = None

    # --- the animation ----------------------------------------------------------------------

    async def run(self) -> None:
        """Animate at ``fps`` until cancelled (the server starts this)."""
        period = 1.0 / self.fps
        deadline = trio.current_time()
        while True:
            self.step(trio.current_time())
            deadline = max(deadline + period, trio.current_time())
            await trio.sleep_until(deadline)

    def step(self, t: float) -> None:
        """Advance the scene to time ``t`` (seconds, any origin): a new plasma frame, and the
        clock if its second changed."""
        if self.frozen:
            return
        if self._t0 is None:
            self._t0 = t
        self._draw_plasma(t - self._t0)
        self._damage(self.layout.plasma)
        now = self.clock()
        if int(now) != self._shown_second:
            self._draw_clock(now)
            self._damage(self.layout.clock)
        self.frames += 1

    def freeze(self) -> None:
        """Stop the animation and the clock (the frame stays as it is)."""
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False

    # --- input ------------------------------------------------------------------------------

    async def consume(self, events: trio.MemoryReceiveChannel[InputEvent]) -> None:
        """Handle every event of ``events`` (e.g. ``server.input_events()``) until it closes."""
        async with events:
            async for event in events:
                self.handle(event)

    def handle(self, event: InputEvent) -> None:
        """Apply one input event: keys type into the text panel, the mouse draws on the canvas."""
        if isinstance(event, KeyEvent):
            self._key(event.scancode, event.pressed)
        elif isinstance(event, ModifiersEvent):
            self.caps_lock = bool(event.modifiers & KeyboardModifierFlags.CAPS_LOCK)
        elif isinstance(event, PointerEvent | MotionEvent):
            if event.buttons & MouseButtonMask.LEFT:
                self._pen_to(event.x, event.y)
            else:
                self._pen = None
        elif isinstance(event, ButtonEvent):
            inside = self._in_canvas(event.x, event.y)
            if event.button == MouseButton.LEFT:
                if event.pressed and inside:
                    self._pen_color = (self._pen_color + 1) % len(PENS)
                    self._pen = None
                    self._pen_to(event.x, event.y)
                elif not event.pressed:
                    self._pen = None
            elif event.button == MouseButton.RIGHT and event.pressed and inside:
                self.clear_canvas()

    def _key(self, code: int, pressed: bool) -> None:
        if not pressed:
            self._held.discard(code)
            return
        self._held.add(code)
        if code == _CAPS_LOCK:
            self.caps_lock = not self.caps_lock
            return
        if self._held & _CTRL and self._agent is not None and code in (_KEY_C, _KEY_V):
            if code == _KEY_C:
                self._agent.set_text(self.typed)
            else:
                self._paste.set()
            return
        if self._held & _CTRL_ALT:
            return
        if code == _BACKSPACE:
            self.set_text(self.typed[:-1])
        elif code == _ESCAPE:
            self.set_text("")
        elif code in _ENTER:
            self.set_text(self.typed + "\n")
        elif code == _TAB:
            self.set_text(self.typed + "    ")
        else:
            char = key_char(code, shift=bool(self._held & _SHIFT), caps_lock=self.caps_lock)
            if char is not None:
                self.set_text(self.typed + char)

    def set_text(self, text: str) -> None:
        """Show ``text`` in the text panel (only its last 4096 characters are kept)."""
        self.typed = text[-4096:]
        self._draw_text_panel()
        self._damage(self.layout.text)

    def show_level(self, level: float) -> None:
        """Show ``level`` (0 to 1, e.g. how loud a client's microphone is) as a meter at the
        right of the title line."""
        title, s = self.layout.title, self.layout.title_scale
        right = title.right - 4 * s
        left = right - (title.right - title.left) // 5
        top, bottom = title.top + 2 * s, title.top + 2 * s + GLYPH_H * s
        self.level = min(max(level, 0.0), 1.0)
        self._frame[top:bottom, left:right] = _bgrx(METER_OFF)
        self._frame[top:bottom, left : left + round((right - left) * self.level)] = _bgrx(METER_ON)
        self._damage(title)

    def clear_canvas(self) -> None:
        self._draw_canvas()
        self._damage(self.layout.canvas)

    def _in_canvas(self, x: int, y: int) -> bool:
        c = self.layout.canvas
        return c.left <= x < c.right and c.top <= y < c.bottom

    def _pen_to(self, x: int, y: int) -> None:
        start = self._pen if self._pen is not None else (x, y)
        if self._pen is None and not self._in_canvas(x, y):
            return
        self._pen = (x, y)
        radius = max(1.5, 3 * self.layout.label_scale / 2)
        box = self._segment(start, (x, y), radius, PENS[self._pen_color], self._inner(self.layout.canvas))
        if box is not None:
            self._damage(box)

    # --- painting ---------------------------------------------------------------------------

    def _fill(self, box: Rect, rgb: Color) -> None:
        self._frame[box.top : box.bottom, box.left : box.right] = _bgrx(rgb)

    def _text(self, text: str, x: int, y: int, scale: int, rgb: Color, clip: Rect) -> None:
        """Draw ``text`` with its top-left at ``x, y``, clipped to ``clip``."""
        if not text:
            return
        mask = text_mask(text, scale)
        area = Rect(x, y, x + mask.shape[1], y + mask.shape[0]).intersect(clip)
        if area.empty:
            return
        sub = mask[area.top - y : area.bottom - y, area.left - x : area.right - x]
        target = self._frame[area.top : area.bottom, area.left : area.right]
        target[sub] = _bgrx(rgb)

    def _panel(self, box: Rect, label: str) -> Rect:
        """A bordered panel with a label; returns the area below the label."""
        self._fill(box, BORDER)
        inner = self._inner(box)
        self._fill(inner, PANEL)
        s = self.layout.label_scale
        pad = 2 * s
        self._text(label, inner.left + pad, inner.top + pad, s, LABEL, inner)
        return Rect(
            inner.left + pad, inner.top + pad + GLYPH_H * s + pad, inner.right - pad, inner.bottom - pad
        )

    @staticmethod
    def _inner(box: Rect) -> Rect:
        return Rect(box.left + 1, box.top + 1, box.right - 1, box.bottom - 1)

    def _draw_static(self) -> None:
        lay = self.layout
        top, bottom = np.array(BACKGROUND_TOP, np.float32), np.array(BACKGROUND_BOTTOM, np.float32)
        mix = np.linspace(0.0, 1.0, self.height, dtype=np.float32)[:, None]
        rgb = (top + (bottom - top) * mix).round().astype(np.uint8)  # (h, 3)
        self._frame[:, :, 0] = rgb[:, 2][:, None]
        self._frame[:, :, 1] = rgb[:, 1][:, None]
        self._frame[:, :, 2] = rgb[:, 0][:, None]
        self._frame[:, :, 3] = 0
        s, small = lay.title_scale, lay.label_scale
        x = 4 * s
        self._text(self.title, x, 2 * s, s, TITLE, lay.title)
        subtitle = "a SPICE server in Python: type in the text panel, drag the mouse on the canvas"
        self._text(subtitle, x, 2 * s + GLYPH_H * s + s, small, SUBTITLE, lay.title)
        self._draw_text_panel()
        self._draw_canvas()

    def _draw_canvas(self) -> None:
        lay = self.layout
        self._fill(lay.canvas, BORDER)
        inner = self._inner(lay.canvas)
        self._fill(inner, CANVAS)
        s = lay.label_scale
        self._text(
            "canvas: drag with the left button to draw, right click clears",
            inner.left + 2 * s,
            inner.top + 2 * s,
            s,
            CANVAS_LABEL,
            inner,
        )

    def _draw_text_panel(self) -> None:
        lay = self.layout
        area = self._panel(lay.text, "keyboard: type here")
        s = lay.text_scale
        cols = max(1, area.width // (GLYPH_W * s))
        rows = max(1, area.height // (GLYPH_H * s + s))
        lines: list[str] = []
        for line in (self.typed + "_").split("\n"):
            lines += [line[i : i + cols] for i in range(0, max(len(line), 1), cols)] or [""]
        for i, line in enumerate(lines[-rows:]):
            self._text(line, area.left, area.top + i * (GLYPH_H * s + s), s, TYPED, area)

    def _draw_plasma(self, t: float) -> None:
        box = self.layout.plasma
        w, h = box.width, box.height
        px, py = self._px, self._py
        ft = np.float32(t)
        v = np.sin(px * np.float32(0.031) + ft)[None, :] + np.sin(py * np.float32(0.043) - ft * 1.3)[:, None]
        v = v + np.sin((self._pxx + self._pyy) * np.float32(0.021) + ft * np.float32(0.7))
        cx = np.float32(w / 2 + w / 3 * math.sin(t * 0.5))
        cy = np.float32(h / 2 + h / 3 * math.cos(t * 0.37))
        dist = np.sqrt((self._pxx - cx) ** 2 + (self._pyy - cy) ** 2)
        v += np.sin(dist * np.float32(0.05) - ft * 2)
        index = ((v + 4) * 32 + t * 40).astype(np.int32) & 255
        self._frame[box.top : box.bottom, box.left : box.right] = self._lut[index]

    def _draw_clock(self, now: float) -> None:
        lay = self.layout
        self._shown_second = int(now)
        area = self._panel(lay.clock, "clock")
        local = time.localtime(int(now))
        # analog dial on the left
        radius = max(4, min(area.height, area.width // 3) // 2 - 1)
        cx, cy = area.left + radius + 1, area.top + area.height // 2
        dial = Rect(cx - radius - 1, cy - radius - 1, cx + radius + 2, cy + radius + 2).intersect(area)
        self._ring(cx, cy, radius, max(1.0, radius / 24), DIAL, dial)
        seconds = local.tm_sec
        minutes = local.tm_min + seconds / 60
        hours = local.tm_hour % 12 + minutes / 60
        for value, full, length, width, rgb in (
            (hours, 12, 0.5, radius / 18, HANDS),
            (minutes, 60, 0.78, radius / 28, HANDS),
            (seconds, 60, 0.9, radius / 56, SECOND_HAND),
        ):
            angle = 2 * math.pi * value / full
            tip = (
                round(cx + length * radius * math.sin(angle)),
                round(cy - length * radius * math.cos(angle)),
            )
            self._segment((cx, cy), tip, max(0.8, width), rgb, dial)
        # digital time and date on the right
        s = lay.clock_scale
        x = dial.right + 3 * lay.label_scale
        text_area = Rect(x, area.top, area.right, area.bottom)
        y = area.top + max(0, (area.height - GLYPH_H * s - GLYPH_H * lay.label_scale - s) // 2)
        self._text(time.strftime("%H:%M:%S", local), x, y, s, DIGITS, text_area)
        date = time.strftime("%Y-%m-%d %a", local)
        self._text(date, x, y + GLYPH_H * s + s, lay.label_scale, LABEL, text_area)

    def _ring(self, cx: int, cy: int, radius: float, width: float, rgb: Color, clip: Rect) -> None:
        if clip.empty:
            return
        yy, xx = np.ogrid[clip.top : clip.bottom, clip.left : clip.right]
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        mask = np.abs(dist - radius) <= width / 2
        self._frame[clip.top : clip.bottom, clip.left : clip.right][mask] = _bgrx(rgb)

    def _segment(
        self, a: tuple[int, int], b: tuple[int, int], radius: float, rgb: Color, clip: Rect
    ) -> Rect | None:
        """A line from ``a`` to ``b`` with round ends, ``radius`` thick each side, clipped;
        the box it touched (``None`` if nothing)."""
        r = math.ceil(radius)
        box = Rect(min(a[0], b[0]) - r, min(a[1], b[1]) - r, max(a[0], b[0]) + r + 1, max(a[1], b[1]) + r + 1)
        box = box.intersect(clip)
        if box.empty:
            return None
        yy, xx = np.ogrid[box.top : box.bottom, box.left : box.right]
        dx, dy = b[0] - a[0], b[1] - a[1]
        length2 = dx * dx + dy * dy
        if length2 == 0:
            t = np.zeros((1, 1))
        else:
            t = np.clip(((xx - a[0]) * dx + (yy - a[1]) * dy) / length2, 0.0, 1.0)
        ex = xx - (a[0] + t * dx)
        ey = yy - (a[1] + t * dy)
        mask = ex * ex + ey * ey <= radius * radius
        if not mask.any():
            return None
        self._frame[box.top : box.bottom, box.left : box.right][mask] = _bgrx(rgb)
        return box
