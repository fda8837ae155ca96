"""A small HTTP CONNECT proxy for tests, in-process (trio) or as a process (``python -m``).

Modes: a plain tunnel to any ``host:port``; Proxmox-like (``routes``: CONNECT only to
pseudo host names such as ``pvespiceproxy:TICKET:VMID:NODE::SIG``, mapped to a real
address, anything else 401); Basic credentials (407 without or with wrong ones);
``garbage`` (answers bytes that are not HTTP); ``refuse`` (403 to everything).
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import trio


@dataclass
class ProxyLog:
    """What the proxy saw: the CONNECT targets, and the Proxy-Authorization headers."""

    targets: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


async def _pipe(src: trio.abc.Stream, dst: trio.abc.Stream) -> None:
    try:
        while data := await src.receive_some(65536):
            await dst.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass
    finally:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(dst)


async def _read_request(stream: trio.abc.Stream) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(4096)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    return data


async def _handle(
    client: trio.SocketStream,
    *,
    mode: str,
    routes: Mapping[str, tuple[str, int]] | None,
    credentials: tuple[str, str] | None,
    log: ProxyLog,
) -> None:
    async with client:
        try:
            request = await _read_request(client)
        except (trio.BrokenResourceError, OSError):
            return
        if request is None:
            return
        lines = request.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rpartition(" ")[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        log.targets.append(target)
        log.authorizations.append(headers.get("proxy-authorization"))
        if mode == "garbage":
            await client.send_all(b"\x00\xffSSH-2.0-not-a-proxy\r\n\r\n")
            return
        if mode == "refuse" or method != "CONNECT":
            await client.send_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        if credentials is not None:
            want = "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            if headers.get("proxy-authorization") != want:
                await client.send_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                return
        host, _, port_text = target.rpartition(":")
        if routes is not None:
            if host not in routes:
                await client.send_all(b"HTTP/1.0 401 invalid ticket\r\n\r\n")
                return
            address = routes[host]
        else:
            address = (host.strip("[]"), int(port_text))
        try:
            upstream = await trio.open_tcp_stream(*address)
        except OSError:
            await client.send_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        await client.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pipe, client, upstream)
            nursery.start_soon(_pipe, upstream, client)


async def serve_proxy(
    *,
    mode: str = "tunnel",
    routes: Mapping[str, tuple[str, int]] | None = None,
    credentials: tuple[str, str] | None = None,
    log: ProxyLog | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve on 127.0.0.1 (a free port, passed to ``task_status``) until cancelled."""
    handler = partial(
        _handle, mode=mode, routes=routes, credentials=credentials, log=log if log is not None else ProxyLog()
    )
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port: int = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(trio.serve_listeners, handler, listeners))
        task_status.started(port)


def main() -> None:
    """``python -m tests.peers.http_proxy [--mode M] [--route PSEUDO=HOST:PORT] [--user U:P]``.

    Prints its port, then serves until killed.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="tunnel", choices=["tunnel", "garbage", "refuse"])
    parser.add_argument("--route", action="append", default=[])
    parser.add_argument("--user")
    args = parser.parse_args()
    routes = None
    if args.route:
        routes = {}
        for item in args.route:
            pseudo, _, address = item.rpartition("=")
            host, _, port = address.rpartition(":")
            routes[pseudo] = (host, int(port))
    credentials = tuple(args.user.split(":", 1)) if args.user else None

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_proxy, mode=args.mode, routes=routes, credentials=credentials)  # type: ignore[arg-type]
            )
            print(port, flush=True)

    trio.run(run)


if __name__ == "__main__":
    main()
    sys.exit(0)
