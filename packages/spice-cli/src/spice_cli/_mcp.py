"""``spice mcp URI``: a Model Context Protocol server whose tools are the automation verbs.

An AI agent sees the machine through ``screenshot`` (a PNG image, optionally a region and
scaled) and acts with ``type``, ``key``, ``move``, ``click``, ``drag``, ``scroll``; it waits
with ``wait_still``, ``expect`` (a base64 PNG needle) and ``expect_text`` (OCR), and uses
``clipboard_get``/``clipboard_set`` when the guest agent runs.  Over stdio by default (the
agent starts ``spice mcp URI`` itself), or streamable HTTP with ``--http HOST:PORT``
(path ``/mcp``).  Needs the official SDK: ``pip install 'spice-cli[mcp]'``.

Everything runs in one trio run: the SDK's anyio code runs on trio, and HTTP is served by
Hypercorn's trio worker.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import trio
from spice_session import LAYOUTS, Driver

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session

__all__ = ["add_parser", "run"]


def _missing_sdk() -> UsageError:
    return UsageError("spice mcp needs the MCP SDK: pip install 'spice-cli[mcp]'")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--http: expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "mcp",
        help=HELP["mcp"],
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (port 0: any free port)",
    )
    p.add_argument("--layout", default="us", choices=LAYOUTS, help="the guest's keyboard layout (default us)")
    p.set_defaults(command=run)


async def _serve_http(server: Any, host: str, port: int, err: TextIO) -> None:
    try:
        from hypercorn.config import Config
        from hypercorn.trio import serve
    except ImportError:
        raise _missing_sdk() from None
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    app = server.streamable_http_app(host=host)
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            lambda task_status: serve(app, config, task_status=task_status)
        )
        for bind in binds:
            print(f"spice mcp: {bind}/mcp", file=err, flush=True)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, then serve MCP over stdio (until the client closes it) or HTTP (until Ctrl+C)."""
    check_connection_args(args)
    http = _host_port(args.http) if args.http else None
    try:  # the SDK is checked before connecting
        from ._mcp_tools import build_server
    except ImportError:
        raise _missing_sdk() from None
    async with open_session(args) as session:
        session.events().close()
        server = build_server(Driver(session, args.layout))
        if http is None:
            await server.run_stdio_async()  # stdout belongs to the protocol: nothing else is printed
        else:
            await _serve_http(server, *http, sys.stderr)
    return ExitCode.OK
