"""The ``spice`` commands: the module that implements each, and its line in ``spice --help``.

Light on purpose: ``spice --help`` lists the commands from here without importing them, and
``spice CMD ...`` imports only CMD's module.
"""

from __future__ import annotations

__all__ = ["COMMANDS", "HELP"]

#: command -> the module of spice_cli with its ``add_parser(subparsers)``, in ``--help`` order
COMMANDS = {
    "connect": "_connect",
    "screenshot": "_screenshot",
    "do": "_do",
    "control": "_control",
    "mcp": "_mcp",
    "record-audio": "_record_audio",
    "record": "_record_video",
    "view": "_view",
    "demo": "_demo",
    "serve": "_serve",
    "replay": "_replay",
    "report": "_report",
}

#: command -> its one line in ``spice --help``
HELP = {
    "connect": "connect to a SPICE server and print a summary",
    "screenshot": "save the remote screen as a PNG",
    "do": "type, click, wait for the screen (vncdotool's actions)",
    "control": "serve the automation verbs as JSON lines on a Unix socket",
    "mcp": "serve the automation verbs to AI agents (Model Context Protocol)",
    "record-audio": "save what the guest plays as a WAV file",
    "record": "record the session as a video (H.264 or VP9, with sound)",
    "view": "show a SPICE server's screen in a window, with keyboard and mouse",
    "demo": "run the built-in demo server and view it (or screenshot it without a display)",
    "serve": "run a SPICE server (demo scene or an image) for remote-viewer, spicy or spice view",
    "replay": "replay a --capture directory through the client (offline bug reproduction)",
    "report": "write a bug-report bundle: screenshot, stats, capabilities, traffic capture",
}
