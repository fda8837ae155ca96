"""The demo scene: clock damage, typed text, mouse drawing, animation pacing."""

from __future__ import annotations

import time

import numpy as np
import pytest
import trio
import trio.testing
from spice_proto import KeyboardModifierFlags, MouseButton, MouseButtonMask, MouseMode, Rect
from spice_server import (
    ButtonEvent,
    DemoSource,
    KeyEvent,
    ModifiersEvent,
    MotionEvent,
    PointerEvent,
    SourceError,
)
from spice_server._demo import DIGITS, PENS, TYPED, DemoLayout, text_mask


class Recorder:
    """A damage listener that keeps what it was told."""

    def __init__(self) -> None:
        self.boxes: list[Rect] = []
        self.resizes: list[tuple[int, int]] = []

    def damaged(self, box: Rect) -> None:
        self.boxes.append(box)

    def resized(self, width: int, height: int) -> None:
        self.resizes.append((width, height))


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bgrx(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.array([rgb[2], rgb[1], rgb[0], 0], np.uint8)


def ink(area: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """The pixels of ``area`` that have colour ``rgb``, cropped to their bounding box."""
    mask = (area == bgrx(rgb)).all(axis=2)
    ys, xs = np.nonzero(mask)
    assert len(ys), f"no pixel of colour {rgb}"
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def cropped(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def region(frame: np.ndarray, box: Rect) -> np.ndarray:
    return frame[box.top : box.bottom, box.left : box.right]


def changed_outside(before: np.ndarray, after: np.ndarray, boxes: list[Rect]) -> int:
    """How many pixels changed that none of ``boxes`` covers."""
    diff = (before != after).any(axis=2)
    for box in boxes:
        diff[box.top : box.bottom, box.left : box.right] = False
    return int(diff.sum())


# 2021-03-04 05:06:07 local time
T0 = time.mktime((2021, 3, 4, 5, 6, 7, 0, 0, -1))


def demo(width: int = 1024, height: int = 768) -> tuple[DemoSource, Recorder, FakeClock]:
    clock = FakeClock(T0)
    source = DemoSource(width, height, clock=clock)
    rec = Recorder()
    source.subscribe(rec)
    return source, rec, clock


def type_keys(source: DemoSource, *codes: int) -> None:
    for code in codes:
        source.handle(KeyEvent(code, True))
        source.handle(KeyEvent(code, False))


# --- font -----------------------------------------------------------------------------------


def test_text_mask_shape_and_glyphs() -> None:
    mask = text_mask("I-", 2)
    assert mask.shape == (18, 24)
    # "I": top bar of three pixels (columns 1..3 of the 5x7 glyph), then a stem in column 2
    one = text_mask("I")
    assert one[0, :6].tolist() == [False, True, True, True, False, False]
    assert one[1:6, 2].all() and not one[1:6, 1].any()
    # "-": one full row of five pixels, at row 3
    dash = text_mask("-")
    assert dash[3, :5].all() and dash[:3].sum() == 0 and dash[4:].sum() == 0
    # scaling repeats each pixel
    assert (mask[:, :12] == one.repeat(2, 0).repeat(2, 1)).all()
    # a descender reaches the eighth row, a capital does not; row 9 is always spacing
    assert text_mask("g")[7].any() and not text_mask("E")[7].any()
    assert not text_mask("gjpqy")[8].any()


def test_text_mask_non_ascii_is_question_mark() -> None:
    assert (text_mask("é\t") == text_mask("??")).all()
    with pytest.raises(ValueError, match="scale"):
        text_mask("x", 0)


def test_every_printable_glyph_is_distinct() -> None:
    glyphs = {text_mask(chr(c)).tobytes() for c in range(33, 127)}
    assert len(glyphs) == 94
    assert not text_mask(" ").any()


# --- keyboard map ---------------------------------------------------------------------------


def test_keys_type_through_the_us_table() -> None:
    """Shifted punctuation, the keypad (Num Lock on), keypad Enter and extended keypad / all
    arrive as a US keyboard types them; keys that type nothing add nothing."""
    source, _, _ = demo()
    source.handle(KeyEvent(0x36, True))  # right Shift
    type_keys(source, 0x28, 0x35, 0x4F)  # '"', '?', and keypad 1 (Shift does not matter)
    source.handle(KeyEvent(0x36, False))
    type_keys(source, 0x29, 0x2B, 0x37, 0x4A, 0x53, 0xE035, 0xE01C, 0x3B, 0xE048, 0x39, 0x52)
    assert source.typed == '"?1`\\*-./\n 0'


# --- scene ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(320, 200), (1024, 768), (1920, 1080), (800, 1200)])
def test_layout_fits_and_does_not_overlap(width: int, height: int) -> None:
    lay = DemoLayout.for_size(width, height)
    frame = Rect.of_size(width, height)
    parts = [lay.title, lay.plasma, lay.clock, lay.text, lay.canvas]
    for part in parts:
        assert not part.empty and frame.contains(part)
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert a.intersect(b).empty, (a, b)


def test_too_small_or_bad_fps_is_refused() -> None:
    with pytest.raises(SourceError, match="too small"):
        DemoSource(200, 100)
    with pytest.raises(SourceError, match="fps"):
        DemoSource(fps=0)


def test_clock_damages_only_its_box_once_a_second() -> None:
    source, rec, clock = demo()
    lay = source.layout
    source.step(0.0)
    assert rec.boxes == [lay.plasma]  # the clock was drawn at start for this second already
    rec.boxes.clear()
    before = source.frame.copy()
    source.step(0.04)
    assert rec.boxes == [lay.plasma]
    assert changed_outside(before, source.frame, [lay.plasma]) == 0
    clock.now = T0 + 1.2
    rec.boxes.clear()
    before = source.frame.copy()
    source.step(0.08)
    assert rec.boxes == [lay.plasma, lay.clock]
    # the clock changed, and nothing outside the two damaged boxes did
    assert (region(before, lay.clock) != region(source.frame, lay.clock)).any()
    assert changed_outside(before, source.frame, [lay.plasma, lay.clock]) == 0
    rec.boxes.clear()
    clock.now = T0 + 1.9  # same second
    source.step(0.12)
    assert rec.boxes == [lay.plasma]


def test_clock_shows_the_time() -> None:
    source, _, clock = demo()
    lay = source.layout
    digits = ink(region(source.frame, lay.clock), DIGITS)
    assert (digits == cropped(text_mask("05:06:07", lay.clock_scale))).all()
    clock.now = T0 + 3600 + 60 + 3
    source.step(0.0)
    digits = ink(region(source.frame, lay.clock), DIGITS)
    assert (digits == cropped(text_mask("06:07:10", lay.clock_scale))).all()


def test_plasma_moves() -> None:
    source, _, _ = demo()
    plasma = source.layout.plasma
    source.step(10.0)
    first = region(source.frame, plasma).copy()
    source.step(10.2)
    second = region(source.frame, plasma)
    assert (first != second).any(axis=2).mean() > 0.5
    assert len(np.unique(second.reshape(-1, 4), axis=0)) > 64  # a smooth, many-coloured area


def test_frozen_scene_does_not_change() -> None:
    source, rec, clock = demo()
    source.freeze()
    before = source.frame.copy()
    clock.now += 5
    source.step(1.0)
    assert rec.boxes == [] and (source.frame == before).all()
    source.thaw()
    source.step(2.0)
    assert rec.boxes == [source.layout.plasma, source.layout.clock]


def test_typed_text_appears() -> None:
    source, rec, _ = demo()
    lay = source.layout
    empty = region(source.frame, lay.text).copy()
    # Shift+h, i, Shift+1, Enter, o, k, Backspace, Ctrl+x (ignored)
    source.handle(KeyEvent(0x2A, True))
    type_keys(source, 0x23)
    source.handle(KeyEvent(0x2A, False))
    type_keys(source, 0x17)
    source.handle(KeyEvent(0x36, True))
    type_keys(source, 0x02)
    source.handle(KeyEvent(0x36, False))
    type_keys(source, 0x1C, 0x18, 0x25, 0x0E)
    source.handle(KeyEvent(0x1D, True))
    type_keys(source, 0x2D)
    source.handle(KeyEvent(0x1D, False))
    assert source.typed == "Hi!\no"
    assert rec.boxes and all(box == lay.text for box in rec.boxes)
    # The panel shows "Hi!" on one line and "o_" (with the caret) on the next, in the text colour.
    panel = region(source.frame, lay.text)
    s = lay.text_scale
    shown = ink(panel, TYPED)
    expected = np.zeros((2 * 9 * s + s, 3 * 6 * s), bool)
    expected[: 9 * s, :] = text_mask("Hi!", s)
    expected[9 * s + s :, : 2 * 6 * s] = text_mask("o_", s)
    assert (shown == cropped(expected)).all()
    # Escape clears it again: the panel is back to its empty look.
    type_keys(source, 0x01)
    assert source.typed == ""
    assert (region(source.frame, lay.text) == empty).all()


def test_caps_lock_from_key_and_from_modifiers() -> None:
    source, _, _ = demo()
    type_keys(source, 0x3A, 0x1E, 0x02)
    source.handle(ModifiersEvent(KeyboardModifierFlags(0)))
    type_keys(source, 0x1E)
    source.handle(ModifiersEvent(KeyboardModifierFlags.CAPS_LOCK))
    type_keys(source, 0x30)
    assert source.typed == "A1aB"


def test_long_text_wraps_and_scrolls() -> None:
    source, _, _ = demo()
    source.set_text("x" * 10_000)
    assert len(source.typed) == 4096
    panel = region(source.frame, source.layout.text)
    assert (panel == bgrx(TYPED)).all(axis=2).any()


def test_mouse_drag_draws_on_the_canvas_only() -> None:
    source, rec, _ = demo()
    canvas = source.layout.canvas
    before = source.frame.copy()
    y = canvas.top + 100
    x0 = canvas.left + 50
    source.handle(ButtonEvent(MouseButton.LEFT, True, x0, y, MouseButtonMask.LEFT, MouseMode.CLIENT))
    for x in range(x0, x0 + 201, 20):
        source.handle(PointerEvent(x, y, MouseButtonMask.LEFT))
    # a drag that leaves the canvas at the bottom draws up to its edge only
    source.handle(PointerEvent(x0 + 200, canvas.bottom + 50, MouseButtonMask.LEFT))
    source.handle(ButtonEvent(MouseButton.LEFT, False, x0 + 200, y, MouseButtonMask(0), MouseMode.CLIENT))
    # moving without the button draws nothing
    source.handle(PointerEvent(x0 + 300, y + 50, MouseButtonMask(0)))
    after = source.frame
    pen = bgrx(PENS[1])
    assert (after[y, x0 : x0 + 201] == pen).all()  # the whole horizontal stroke
    assert (after[y + 5 : canvas.bottom - 1, x0 + 200] == pen).all()  # the vertical one, to the edge
    assert not (after[y + 50, x0 + 250 : x0 + 350] == pen).all(axis=1).any()
    assert changed_outside(before, after, [canvas]) == 0
    assert rec.boxes and all(canvas.contains(box) for box in rec.boxes)
    assert changed_outside(before, after, rec.boxes) == 0
    # the border of the canvas is untouched
    assert (
        after[canvas.bottom - 1, canvas.left : canvas.right]
        == before[canvas.bottom - 1, canvas.left : canvas.right]
    ).all()


def test_server_mouse_mode_motion_draws_and_right_click_clears() -> None:
    source, _, _ = demo()
    canvas = source.layout.canvas
    blank = region(source.frame, canvas).copy()
    x, y = canvas.left + 300, canvas.top + 60
    source.handle(ButtonEvent(MouseButton.LEFT, True, x, y, MouseButtonMask.LEFT, MouseMode.SERVER))
    for i in range(1, 6):
        source.handle(MotionEvent(0, 10, x, y + 10 * i, MouseButtonMask.LEFT))
    pen = bgrx(PENS[1])
    assert (source.frame[y : y + 51, x] == pen).all()
    source.handle(ButtonEvent(MouseButton.RIGHT, True, x, y, MouseButtonMask.RIGHT, MouseMode.SERVER))
    assert (region(source.frame, canvas) == blank).all()


def test_drag_starting_outside_the_canvas_draws_nothing() -> None:
    source, rec, _ = demo()
    plasma = source.layout.plasma
    before = source.frame.copy()
    x, y = plasma.left + 10, plasma.top + 10
    source.handle(ButtonEvent(MouseButton.LEFT, True, x, y, MouseButtonMask.LEFT, MouseMode.CLIENT))
    source.handle(PointerEvent(x + 50, y + 50, MouseButtonMask.LEFT))
    assert rec.boxes == [] and (source.frame == before).all()


def test_each_stroke_gets_the_next_pen_colour() -> None:
    source, _, _ = demo()
    canvas = source.layout.canvas
    for i in range(3):
        x, y = canvas.left + 100 + 50 * i, canvas.top + 100
        source.handle(ButtonEvent(MouseButton.LEFT, True, x, y, MouseButtonMask.LEFT, MouseMode.CLIENT))
        source.handle(ButtonEvent(MouseButton.LEFT, False, x, y, MouseButtonMask(0), MouseMode.CLIENT))
        assert (source.frame[y, x] == bgrx(PENS[(i + 1) % len(PENS)])).all()


async def test_run_animates_at_fps(autojump_clock: trio.testing.MockClock) -> None:
    source, rec, _ = demo(640, 480)
    source.fps = 20.0
    with trio.move_on_after(2.0):
        await source.run()
    assert 39 <= source.frames <= 41
    assert rec.boxes.count(source.layout.plasma) == source.frames


async def test_consume_handles_a_channel_of_events() -> None:
    source, _, _ = demo()
    send, receive = trio.open_memory_channel[object](10)
    async with send:
        for code in (0x23, 0x17):
            await send.send(KeyEvent(code, True))
    await source.consume(receive)  # type: ignore[arg-type]
    assert source.typed == "hi"
