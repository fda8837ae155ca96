"""Generate spice_session/_layouts_data.py from the system's xkb data (Debian ``xkb-data``).

Each layout is compiled with libxkbcommon (rules ``evdev``, model ``pc105``);
for every key of the typing block and each of the four shift levels (none,
Shift, AltGr, AltGr+Shift) the character it types is read back from an xkb
state.  Dead keys are recorded by the spacing character they give when
followed by the space bar.  Run: ``python tools/gen_layouts.py`` (needs
``libxkbcommon.so.0`` and ``/usr/share/X11/xkb``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path

LAYOUTS = ("us", "gb", "de", "fr", "es", "it", "ch", "se", "jp")
OUT = Path(__file__).resolve().parents[1] / "packages/spice-session/src/spice_session/_layouts_data.py"

# Linux input keycodes of the typing block -> set-1 make codes.  For 1..88 the
# two numberings coincide (KEY_102ND = 86 = 0x56 is the ISO key left of Z);
# the Japanese Ro and Yen keys are 0x73 and 0x7D in set 1.
_LINUX_TO_SET1 = {code: code for code in range(2, 59) if code not in (14, 15, 28, 29, 42, 54, 55, 56)}
_LINUX_TO_SET1 |= {86: 0x56, 89: 0x73, 124: 0x7D, 15: 0x0F, 28: 0x1C}
_SPACE = 57

# Spacing characters of the dead keys (what dead_X followed by space types).
_DEAD = {
    "dead_grave": "`",
    "dead_acute": "\u00b4",
    "dead_circumflex": "^",
    "dead_tilde": "~",
    "dead_diaeresis": "\u00a8",
    "dead_cedilla": "\u00b8",
    "dead_abovering": "\u00b0",
    "dead_macron": "\u00af",
    "dead_doubleacute": "\u02dd",
    "dead_caron": "\u02c7",
    "dead_breve": "\u02d8",
    "dead_ogonek": "\u02db",
    "dead_abovedot": "\u02d9",
}


def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("xkbcommon") or "libxkbcommon.so.0")
    vp, u32 = ctypes.c_void_p, ctypes.c_uint32
    lib.xkb_context_new.restype = vp
    lib.xkb_keymap_new_from_names.restype = vp
    lib.xkb_keymap_new_from_names.argtypes = [vp, vp, ctypes.c_int]
    lib.xkb_state_new.restype = vp
    lib.xkb_state_new.argtypes = [vp]
    lib.xkb_state_unref.argtypes = [vp]
    lib.xkb_keymap_unref.argtypes = [vp]
    lib.xkb_keymap_mod_get_index.argtypes = [vp, ctypes.c_char_p]
    lib.xkb_keymap_mod_get_index.restype = u32
    lib.xkb_state_update_mask.argtypes = [vp, u32, u32, u32, u32, u32, u32]
    lib.xkb_state_key_get_one_sym.argtypes = [vp, u32]
    lib.xkb_state_key_get_one_sym.restype = u32
    lib.xkb_keysym_to_utf32.argtypes = [u32]
    lib.xkb_keysym_to_utf32.restype = u32
    lib.xkb_keysym_get_name.argtypes = [u32, ctypes.c_char_p, ctypes.c_size_t]
    return lib


class _Names(ctypes.Structure):
    _fields_ = [(n, ctypes.c_char_p) for n in ("rules", "model", "layout", "variant", "options")]


def layout_table(
    lib: ctypes.CDLL, ctx: int, layout: str
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """(char -> (set-1 code, level), dead spacing char -> (code, level)); level 0..3."""
    names = _Names(b"evdev", b"pc105", layout.encode(), b"", b"")
    keymap = lib.xkb_keymap_new_from_names(ctx, ctypes.byref(names), 0)
    if not keymap:
        raise SystemExit(f"xkb cannot compile layout {layout!r}")
    shift = 1 << lib.xkb_keymap_mod_get_index(keymap, b"Shift")
    level3 = 1 << lib.xkb_keymap_mod_get_index(keymap, b"Mod5")
    chars: dict[str, tuple[int, int]] = {}
    dead: dict[str, tuple[int, int]] = {}
    buf = ctypes.create_string_buffer(64)
    # Keys outside the ANSI block (the ISO key, Ro, Yen) are used only for what no
    # other key types: a US guest on a 104-key keyboard has no key 0x56.
    ansi = [(k, v) for k, v in sorted(_LINUX_TO_SET1.items()) if k not in (86, 89, 124)]
    extra = [(k, v) for k, v in sorted(_LINUX_TO_SET1.items()) if k in (86, 89, 124)]
    for keys, level, mods in [
        (keys, level, mods)
        for keys in (ansi, extra)
        for level, mods in enumerate((0, shift, level3, level3 | shift))
    ]:
        state = lib.xkb_state_new(keymap)
        lib.xkb_state_update_mask(state, mods, 0, 0, 0, 0, 0)
        for linux, set1 in keys:
            sym = lib.xkb_state_key_get_one_sym(state, linux + 8)
            if not sym:
                continue
            lib.xkb_keysym_get_name(sym, buf, len(buf))
            name = buf.value.decode()
            if name in _DEAD:
                dead.setdefault(_DEAD[name], (set1, level))
                continue
            cp = lib.xkb_keysym_to_utf32(sym)
            if (cp >= 0x20 and cp != 0x7F) or linux in (15, 28):
                char = "\n" if linux == 28 else chr(cp)
                chars.setdefault(char, (set1, level))  # the fewest modifiers win
        lib.xkb_state_unref(state)
    lib.xkb_keymap_unref(keymap)
    chars[" "] = (_SPACE, 0)
    return chars, {c: k for c, k in dead.items() if c not in chars}


def main() -> None:
    lib = _lib()
    ctx = lib.xkb_context_new(0)
    lines = [
        '"""Keyboard layouts derived from xkb data by tools/gen_layouts.py: do not edit.',
        "",
        "For each layout: character -> (set-1 make code, level), level 0 plain, 1 Shift,",
        "2 AltGr, 3 AltGr+Shift; and the dead keys' spacing characters (typed as the dead",
        'key then the space bar)."""',
        "",
        "from __future__ import annotations",
        "",
        "LAYOUT_CHARS: dict[str, dict[str, tuple[int, int]]] = {",
    ]
    dead_lines = ["LAYOUT_DEAD: dict[str, dict[str, tuple[int, int]]] = {"]
    for layout in LAYOUTS:
        chars, dead = layout_table(lib, ctx, layout)
        lines.append(f"    {layout!r}: {{")
        lines += [f"        {c!a}: {k!r}," for c, k in sorted(chars.items())]
        lines.append("    },")
        dead_lines.append(f"    {layout!r}: {{")
        dead_lines += [f"        {c!a}: {k!r}," for c, k in sorted(dead.items())]
        dead_lines.append("    },")
    text = "\n".join([*lines, "}", "", *dead_lines, "}", ""])
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(LAYOUTS)} layouts)", file=sys.stderr)


if __name__ == "__main__":
    main()
