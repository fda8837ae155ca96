"""``spice serve``: run a SPICE server showing the demo scene or an image file, until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from functools import partial
from typing import TextIO

import trio
from spice_net import server_ssl_context
from spice_server import (
    Compression,
    DemoSource,
    FrameSource,
    Server,
    ServerAddress,
    SourceError,
    image_source,
)

from ._commands import HELP
from ._exitcodes import ExitCode, UsageError
from ._secrets import add_password_args, password_from, password_origin

__all__ = ["add_parser", "run"]

#: What ``--sasldb`` offers; libsasl2 keeps only DIGEST-MD5 (a security layer) on the plain port.
SASLDB_MECHANISMS = "scram-sha-256 scram-sha-1 digest-md5 plain"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help=HELP["serve"],
        description="Serve a display over SPICE until interrupted. Sources: 'demo' (the live demo "
        "scene) or 'image FILE' (a still picture, any format Pillow reads).",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address for plain TCP (default 127.0.0.1:5900 unless --unix is given; port 0 picks a free one)",
    )
    p.add_argument(
        "--unix",
        metavar="PATH",
        help="listen on this Unix socket too (clients use spice+unix://PATH); alone, no TCP default",
    )
    add_password_args(p, env=True)
    p.add_argument(
        "--password-lifetime", type=float, metavar="S", help="the password expires after S seconds"
    )
    p.add_argument(
        "--sasl-user",
        metavar="NAME",
        help="log clients in with SASL as NAME and the password (PLAIN, over TLS only) instead of a ticket",
    )
    p.add_argument(
        "--sasldb",
        metavar="PATH",
        help="log clients in with SASL through Cyrus libsasl2, users of this sasldb (saslpasswd2 -a spice "
        "-f PATH -c USER): DIGEST-MD5 with its encryption on the plain port, also SCRAM and PLAIN inside TLS",
    )
    p.add_argument("--tls-cert", metavar="PEM", help="server certificate chain for TLS")
    p.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    p.add_argument("--tls-port", type=int, metavar="PORT", help="TLS port (default: the --listen port + 1)")
    p.add_argument(
        "--source",
        nargs="+",
        default=["demo"],
        metavar="demo|image FILE",
        help="what to show (default demo)",
    )
    p.add_argument(
        "--compression",
        default="auto_glz",
        choices=[c.value for c in Compression],
        help="image compression (default auto_glz)",
    )
    p.add_argument("--print-input", action="store_true", help="print every input event on stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="log connections and errors on stderr")
    p.set_defaults(command=run)


def _listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise UsageError(f"--listen wants HOST:PORT, got {text!r}")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"--listen port is not a number: {port!r}") from None
    if not 0 <= number <= 65535:
        raise UsageError(f"--listen port {number} is out of range")
    return host, number


def _source(words: list[str]) -> FrameSource:
    try:
        if words == ["demo"]:
            return DemoSource()
        if len(words) == 2 and words[0] == "image":
            return image_source(words[1])
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    raise UsageError(f"--source wants 'demo' or 'image FILE', got {' '.join(words)!r}")


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_port is not None:
            raise UsageError("--tls-port needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise UsageError("TLS needs both --tls-cert and --tls-key")
    try:
        return server_ssl_context(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot use the TLS certificate/key: {exc}") from None


def _uri(addr: ServerAddress) -> str:
    """Where clients connect; never the password (it may come from a file or the environment)."""
    unix = f"spice+unix://{addr.unix_path}" if addr.unix_path is not None else ""
    if addr.port is None and addr.tls_port is None:
        return unix
    host = f"[{addr.host}]" if ":" in addr.host else addr.host
    query = [f"port={addr.port}"] if addr.port is not None else []
    if addr.tls_port is not None:
        query.append(f"tls-port={addr.tls_port}")
    tcp = f"spice://{host}?{'&'.join(query)}"
    return f"{tcp} and {unix}" if unix else tcp


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Serve until cancelled (Ctrl+C); usage problems raise :class:`UsageError`."""
    listen = args.listen if args.listen is not None or args.unix is not None else "127.0.0.1:5900"
    host, port = _listen_address(listen) if listen is not None else ("127.0.0.1", None)
    if args.unix is not None and (not args.unix or len(args.unix.encode()) > 107):
        raise UsageError("--unix wants a socket path of 1 to 107 bytes")
    ssl_context = _tls(args)
    tls_port = None
    if ssl_context is not None:
        tls_port = args.tls_port if args.tls_port is not None else (port + 1 if port else 0)
    elif args.unix is not None and args.tls_port is not None:
        raise UsageError("--tls-port needs --tls-cert and --tls-key")
    password = password_from(args, env=True)
    if args.password_lifetime is not None and password is None:
        raise UsageError("--password-lifetime needs a password")
    sasl_users = None
    if args.sasl_user is not None:
        if password is None or ssl_context is None or args.password_lifetime is not None:
            raise UsageError(
                "--sasl-user needs a password and --tls-cert/--tls-key (and no --password-lifetime)"
            )
        sasl_users, password = {args.sasl_user: password}, None
    sasl_options = None
    if args.sasldb is not None:
        if sasl_users is not None or password is not None:
            raise UsageError("--sasldb replaces the password and --sasl-user")
        if not os.path.isfile(args.sasldb):
            raise UsageError(f"--sasldb {args.sasldb}: no such file (make it with saslpasswd2)")
        sasl_options = {"mech_list": SASLDB_MECHANISMS, "sasldb_path": args.sasldb}
    source = _source(args.source)
    if args.verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        server = Server(
            source,
            password=password,
            password_lifetime=args.password_lifetime,
            image_compression=args.compression,
            ssl_context=ssl_context,
            name="spice serve",
            sasl_users=sasl_users,
            sasl_options=sasl_options,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    async with trio.open_nursery() as nursery:
        try:
            addr: ServerAddress = await nursery.start(
                partial(server.serve, tls_port=tls_port, unix_path=args.unix), host, port
            )
        except OSError as exc:
            where = host if port is not None or tls_port is not None else args.unix
            raise UsageError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        needs = f" (password required: the one from {password_origin(args)})" if password is not None else ""
        if sasl_users is not None:
            needs = f" (SASL: user {args.sasl_user} with the password from {password_origin(args)})"
        if sasl_options is not None:
            needs = f" (SASL: the users of {args.sasldb})"
        print(f"serving {source.width}x{source.height} on {_uri(addr)}{needs}", file=out, flush=True)
        consume = getattr(source, "consume", None)
        if args.print_input:
            events = server.input_events()

            async def show() -> None:
                async for event in events:
                    print(event, file=out, flush=True)

            nursery.start_soon(show)
        elif consume is not None:  # the demo scene reacts to keys and the mouse
            nursery.start_soon(consume, server.input_events())
    return ExitCode.OK
