"""The README's agent configuration and recording command are commands spice accepts."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from spice_cli._cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## AI agents")
    return text[start : text.index("\n## ", start + 1)]


def test_mcp_configuration_starts_spice_mcp() -> None:
    block = re.search(r"```json\n(.*?)```", _section(), re.S)
    assert block is not None
    servers = json.loads(block.group(1))["mcpServers"]
    (server,) = servers.values()
    assert server["command"] == "spice"
    args = build_parser().parse_args(server["args"])
    assert args.command.__module__ == "spice_cli._mcp"
    assert args.uri.startswith("spice://") and args.password_file


def test_recording_command_parses() -> None:
    block = re.search(r"```sh\n(.*?)```", _section(), re.S)
    assert block is not None
    words = shlex.split(block.group(1), comments=True)
    assert words[:2] == ["spice", "record"]
    args = build_parser().parse_args(words[1:])
    assert args.command.__module__ == "spice_cli._record_video"
    assert args.output.endswith(".mp4") and args.duration == 60 and args.fps == 15
