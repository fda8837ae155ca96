"""Guest keyboard layouts from xkb data, and named key combos."""

from __future__ import annotations

import pytest
import spice_proto as sp
import trio.testing
from spice_session import LAYOUTS, Inputs, KeyComboError, LayoutError, get_layout

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
SHIFT, ALTGR, CTRL, ALT = 0x2A, 0xE038, 0x1D, 0x38


def _down(events: list[tuple[int, bool]]) -> list[int]:
    return [code for code, pressed in events if pressed]


@pytest.mark.parametrize("name", ["us", "gb", "de", "fr", "es", "it", "ch", "se", "jp"])
def test_every_layout_types_all_printable_ascii(name: str) -> None:
    layout = get_layout(name)
    groups = layout.strokes(PRINTABLE + "\n\t")
    for group in groups:  # every group leaves no key held
        held: set[int] = set()
        for code, pressed in group:
            (held.add if pressed else held.discard)(code)
        assert not held
    assert name in LAYOUTS


def test_us_matches_the_us_table_of_spice_proto() -> None:
    layout = get_layout("us")
    for char, (code, shifted) in sp.US_KEYMAP.items():
        assert _down(layout.char_events(char)) == ([SHIFT, code] if shifted else [code]), char


def test_german_keys_follow_the_german_keyboard() -> None:
    de = get_layout("de")
    assert _down(de.char_events("z")) == [0x15]  # Z and Y swap places
    assert _down(de.char_events("y")) == [0x2C]
    assert _down(de.char_events("\u00e4")) == [0x28]  # ä where US has '
    assert _down(de.char_events("@")) == [ALTGR, 0x10]  # AltGr+Q
    assert _down(de.char_events("\u20ac")) == [ALTGR, 0x12]  # AltGr+E
    assert _down(de.char_events("|")) == [ALTGR, 0x56]  # AltGr and the ISO key left of Y
    assert _down(de.char_events("~")) == [ALTGR, 0x1B]  # AltGr+plus
    assert _down(de.char_events("^")) == [0x29, 0x39]  # dead circumflex, then space


def test_french_is_azerty_and_japanese_has_its_own_keys() -> None:
    assert _down(get_layout("fr").char_events("a")) == [0x10]
    assert _down(get_layout("fr").char_events("1")) == [SHIFT, 0x02]
    jp = get_layout("jp")
    assert _down(jp.char_events("@")) == [0x1A]
    assert _down(jp.char_events("_")) == [SHIFT, 0x73]  # the Ro key


def test_with_caps_lock_on_letters_take_shift_the_other_way() -> None:
    """Caps Lock turns a letter whose other case is on the same key; digits, signs and AltGr
    letters keep their keys."""
    us, de = get_layout("us"), get_layout("de")
    assert _down(us.char_events("a", caps_lock=True)) == [SHIFT, 0x1E]
    assert _down(us.char_events("A", caps_lock=True)) == [0x1E]
    assert _down(us.char_events("1", caps_lock=True)) == [0x02]
    assert _down(us.char_events("!", caps_lock=True)) == [SHIFT, 0x02]
    assert _down(de.char_events("\u00e4", caps_lock=True)) == [SHIFT, 0x28]  # ä: a letter key
    assert _down(de.char_events("\u20ac", caps_lock=True)) == [ALTGR, 0x12]
    assert [_down(g) for g in us.strokes("aB", caps_lock=True)] == [[SHIFT, 0x1E], [0x30]]


def test_unknown_layout_and_untypable_text() -> None:
    with pytest.raises(LayoutError, match="unknown keyboard layout 'xx'"):
        get_layout("xx")
    with pytest.raises(LayoutError, match="index 2"):
        get_layout("us").strokes("ab\u00e4")


def test_named_combos() -> None:
    us = get_layout("us")
    delete = 0xE053
    assert us.combo("ctrl-alt-del") == [
        (CTRL, True),
        (ALT, True),
        (delete, True),
        (delete, False),
        (ALT, False),
        (CTRL, False),
    ]
    assert us.combo("shift-f10") == [(SHIFT, True), (0x44, True), (0x44, False), (SHIFT, False)]
    assert us.combo("super-l") == [(0xE05B, True), (0xE05B, False)]
    assert us.combo("altgr-e") == [(ALTGR, True), (0x12, True), (0x12, False), (ALTGR, False)]
    assert us.combo("Return") == us.combo("enter") == [(0x1C, True), (0x1C, False)]
    assert us.combo("ctrl--") == [(CTRL, True), (0x0C, True), (0x0C, False), (CTRL, False)]
    assert get_layout("de").combo("ctrl-z") == [(CTRL, True), (0x15, True), (0x15, False), (CTRL, False)]
    with pytest.raises(KeyComboError, match="'foo'"):
        us.combo("ctrl-foo")
    with pytest.raises(KeyComboError, match="not a modifier"):
        us.combo("a-b")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[sp.Message] = []

    async def send(self, message: sp.Message) -> None:
        self.sent.append(message)


async def test_inputs_type_on_the_chosen_layout_and_repeat_combos(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rec = Recorder()
    inputs = Inputs(rec, key_scancode=False)
    inputs.layout = get_layout("de")
    await inputs.type_text("z@")
    await inputs.key("shift-f10", repeat=2)
    await inputs.keydown("ctrl")
    assert inputs.keys_down == {CTRL}
    await inputs.keyup("ctrl")
    # Caps Lock strokes are the pacer's probe (this recorder reports no LEDs)
    downs = [int(m.code) for m in rec.sent if isinstance(m, sp.InputsKeyDown) and m.code != 0x3A]
    assert downs == [0x15, 0x38E0, 0x10, SHIFT, 0x44, SHIFT, 0x44, CTRL]
    assert not inputs.keys_down
