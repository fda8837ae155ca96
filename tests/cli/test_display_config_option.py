"""spice view's --disable-effects / --color-depth as a DISPLAY_CONFIG (spice_cli._display_config)."""

from __future__ import annotations

import argparse

import pytest
from spice_cli._display_config import display_config, effects_option
from spice_proto import AgentDisplayConfig
from spice_proto import AgentDisplayConfigFlags as Flags


def test_effect_names_become_flags() -> None:
    assert display_config(effects_option("wallpaper,font-smooth"), None) == AgentDisplayConfig(
        Flags.DISABLE_WALLPAPER | Flags.DISABLE_FONT_SMOOTH, 0
    )
    everything = Flags.DISABLE_WALLPAPER | Flags.DISABLE_FONT_SMOOTH | Flags.DISABLE_ANIMATION
    assert display_config(["all"], None) == AgentDisplayConfig(everything, 0)
    assert display_config(["animation"], 24) == AgentDisplayConfig(
        Flags.DISABLE_ANIMATION | Flags.SET_COLOR_DEPTH, 24
    )
    assert display_config([], 16) == AgentDisplayConfig(Flags.SET_COLOR_DEPTH, 16)


def test_nothing_asked_sends_nothing() -> None:
    assert display_config([], None) is None
    assert display_config(["blur-behind"], 0) is None  # a newer client's name in a .vv file


@pytest.mark.parametrize("text", ["", "wallpaper,sparkles", ","])
def test_unknown_effects_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        effects_option(text)


def test_the_view_options_parse() -> None:
    from spice_cli._cli import build_parser

    args = build_parser().parse_args(
        ["view", "spice://h:1", "--disable-effects", "all", "--color-depth", "16"]
    )
    assert args.disable_effects == ("all",) and args.color_depth == 16
    with pytest.raises(Exception, match="invalid choice: 12"):
        build_parser().parse_args(["view", "spice://h:1", "--color-depth", "12"])
