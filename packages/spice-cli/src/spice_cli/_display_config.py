"""DISPLAY_CONFIG from ``--disable-effects`` / ``--color-depth`` (or a .vv file's keys).

The effect names are virt-viewer's and spice-gtk's: ``wallpaper``, ``font-smooth``,
``animation`` and ``all`` (the three).  A colour depth sets ``SET_COLOR_DEPTH``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from spice_proto import AgentDisplayConfig
from spice_proto import AgentDisplayConfigFlags as Flags

__all__ = ["COLOR_DEPTHS", "EFFECTS", "display_config", "effects_option"]

EFFECTS: dict[str, Flags] = {
    "wallpaper": Flags.DISABLE_WALLPAPER,
    "font-smooth": Flags.DISABLE_FONT_SMOOTH,
    "animation": Flags.DISABLE_ANIMATION,
    "all": Flags.DISABLE_WALLPAPER | Flags.DISABLE_FONT_SMOOTH | Flags.DISABLE_ANIMATION,
}
COLOR_DEPTHS = (8, 16, 24, 32)


def effects_option(text: str) -> tuple[str, ...]:
    """argparse type of ``--disable-effects``: comma-separated effect names."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in EFFECTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown effect {', '.join(unknown) or text!r}; use {', '.join(EFFECTS)}"
        )
    return names


def display_config(effects: Iterable[str], depth: int | None) -> AgentDisplayConfig | None:
    """The DISPLAY_CONFIG for these effects and colour depth (None or 0: keep), or None if nothing is asked.

    Names not in :data:`EFFECTS` are ignored (a .vv file may hold names of newer clients).
    """
    flags = Flags(0)
    for name in effects:
        flags |= EFFECTS.get(name, Flags(0))
    if depth:
        flags |= Flags.SET_COLOR_DEPTH
    if not flags:
        return None
    return AgentDisplayConfig(flags, depth or 0)
