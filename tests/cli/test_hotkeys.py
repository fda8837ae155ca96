"""Hot keys in remote-viewer's notation: parsing, and the bindings a .vv file or --hotkeys make
(remote-viewer's actions not named lose their keys, release-cursor falls back to Ctrl+Alt)."""

from __future__ import annotations

import pytest
from spice_cli._hotkeys import Combo, InvalidHotkey, bindings, combo_name, parse_combo, parse_hotkeys
from spice_cli._sdl_logic import Command, HotKeys

LCTRL, LSHIFT, LALT, RALT = 0xE0, 0xE1, 0xE2, 0xE6
F, M, F11, F12, END = 0x09, 0x10, 0x44, 0x45, 0x4D


def test_parse_combo() -> None:
    assert parse_combo("shift+f11") == Combo(frozenset({"shift"}), F11)
    assert parse_combo("Ctrl+Alt+End") == Combo(frozenset({"ctrl", "alt"}), END)
    assert parse_combo("ctrl+alt") == Combo(frozenset({"ctrl", "alt"}))
    assert parse_combo("control+win+0") == Combo(frozenset({"ctrl", "super"}), 0x27)
    assert combo_name(parse_combo("alt+ctrl+del")) == "Ctrl+Alt+Del"
    for bad, why in [
        ("ctrl+alt+nosuchkey", "unknown key"),
        ("ctrl+f+g", "a second key"),
        ("shift", "two of them"),
        ("ctrl++f", "not a combination"),
    ]:
        with pytest.raises(InvalidHotkey, match=why):
            parse_combo(bad)


def test_parse_hotkeys_list() -> None:
    keys = parse_hotkeys("toggle-fullscreen=shift+f11,release-cursor=shift+f12")
    assert keys == {
        "toggle-fullscreen": Combo(frozenset({"shift"}), F11),
        "release-cursor": Combo(frozenset({"shift"}), F12),
    }
    with pytest.raises(InvalidHotkey, match="unknown hot-key action 'fly'"):
        parse_hotkeys("fly=ctrl+f")
    with pytest.raises(InvalidHotkey, match="not ACTION=COMBO"):
        parse_hotkeys("toggle-fullscreen")
    assert bindings({"zoom-in": "ctrl+plus"}) == {"zoom-in": Combo(frozenset({"ctrl"}), 0x2E)}


def test_a_remapped_fullscreen_key_and_the_old_one_going_to_the_guest() -> None:
    keys = HotKeys.from_actions(parse_hotkeys("toggle-fullscreen=shift+f11"))
    assert keys.key(LSHIFT, True) == (True, Command.NONE)
    assert keys.key(F11, True) == (False, Command.TOGGLE_FULLSCREEN)
    assert keys.key(F11, False) == (False, Command.NONE)
    assert keys.key(LSHIFT, False) == (True, Command.NONE)
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    assert keys.key(F, True) == (True, Command.NONE)  # Ctrl+Alt+F is the guest's now
    assert keys.key(F, False) == (True, Command.NONE)
    assert keys.key(M, True) == (False, Command.TOGGLE_MUTE)  # spice view's own keys stay
    keys.key(M, False)
    keys.key(LALT, False)
    keys.key(LCTRL, False)
    keys.key(LCTRL, True)
    keys.key(RALT, True)
    assert keys.key(RALT, False) == (True, Command.RELEASE_GRAB)  # release-cursor: Ctrl+Alt still
    assert keys.name(Command.TOGGLE_FULLSCREEN) == "Shift+F11" and keys.name(Command.ZOOM_IN) is None


def test_a_remapped_release_key() -> None:
    keys = HotKeys.from_actions(parse_hotkeys("release-cursor=shift+f12,secure-attention=ctrl+alt+end"))
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    assert keys.key(END, True) == (False, Command.SECURE_ATTENTION)
    keys.key(END, False)
    assert keys.key(LALT, False) == (True, Command.NONE)  # Ctrl+Alt alone no longer releases
    keys.key(LCTRL, False)
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    assert keys.key(LALT, False) == (True, Command.NONE)
    keys.key(LCTRL, False)
    keys.key(LSHIFT, True)
    assert keys.key(F12, True) == (False, Command.RELEASE_GRAB)
    assert keys.key(F, True) == (True, Command.NONE)  # Ctrl+Alt+F is unbound: a .vv file names others


def test_defaults_are_unchanged() -> None:
    keys = HotKeys()
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    assert keys.key(F, True) == (False, Command.TOGGLE_FULLSCREEN)
    assert keys.name(Command.RELEASE_GRAB) == "Ctrl+Alt"


def test_proxmox_keys_take_ctrl_alt_r_from_the_bug_report() -> None:
    """What Proxmox writes: toggle-fullscreen=Shift+F11, release-cursor=Ctrl+Alt+R, secure-attention=..."""
    given = bindings(
        {"toggle-fullscreen": "Shift+F11", "release-cursor": "Ctrl+Alt+R", "secure-attention": "Ctrl+Alt+Ins"}
    )
    keys = HotKeys.from_actions(given)
    keys.key(LCTRL, True)
    keys.key(LALT, True)
    assert keys.key(0x15, True) == (False, Command.RELEASE_GRAB)  # R
    keys.key(0x15, False)
    assert keys.key(0x49, True) == (False, Command.SECURE_ATTENTION)  # Insert
    keys.key(0x49, False)
    assert keys.key(M, True) == (False, Command.TOGGLE_MUTE)
    assert keys.name(Command.BUG_REPORT) is None
