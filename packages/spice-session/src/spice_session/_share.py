"""Folder sharing: a WebDAV server (WsgiDAV) behind the webdav port's mux.

Each guest HTTP connection (a mux client id) gets its own h11 connection; complete
requests go to the WSGI app in a worker thread, one at a time, and the answer goes back
in frames with the same id.  Needs the ``share`` extra (``wsgidav``, ``h11``).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import trio

from ._port import Port
from ._webdav_mux import ClientClosed, WebdavMux

__all__ = ["WEBDAV_PORT", "FolderShare"]

WEBDAV_PORT = "org.spice-space.webdav.0"
#: Largest request body accepted (bigger PUTs get 413).
MAX_BODY = 256 << 20

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgidav_app(folder: Path, readonly: bool) -> Wsgi:
    try:
        from wsgidav.wsgidav_app import WsgiDAVApp  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("folder sharing needs WsgiDAV: pip install 'spice-session[share]'") from exc
    config = {
        "provider_mapping": {"/": {"root": str(folder), "readonly": readonly}},
        "simple_dc": {"user_mapping": {"*": True}},
        "http_authenticator": {"accept_basic": False, "accept_digest": False, "default_to_digest": False},
        "dir_browser": {"enable": False},
        "verbose": 0,
        "logging": {"enable": False},
    }
    app: Wsgi = WsgiDAVApp(config)
    return app


def call_wsgi(
    app: Wsgi, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run one request through a WSGI app: (status code, headers, body)."""
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ.setdefault("CONTENT_LENGTH", str(len(body)))
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started[:] = [status, response_headers]
        return written.append

    result = app(environ, start_response)
    try:
        written.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, response_headers = started
    return int(status.split(" ", 1)[0]), list(response_headers), b"".join(written)


class _HttpClient:
    """One guest HTTP connection: request parsing and response framing (h11)."""

    def __init__(self) -> None:
        import h11

        self.h11 = h11
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        self.request: Any = None
        self.body = bytearray()
        self.too_big = False

    def next_request(self) -> tuple[Any, bytes] | None:
        h11 = self.h11
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                self.request, self.body, self.too_big = event, bytearray(), False
            elif isinstance(event, h11.Data):
                if len(self.body) + len(event.data) > MAX_BODY:
                    self.too_big = True
                else:
                    self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return self.request, bytes(self.body)

    def respond(self, status: int, headers: list[tuple[str, str]], body: bytes, head: bool) -> bytes:
        h11 = self.h11
        skip = {"connection", "transfer-encoding", "content-length"}
        kept = [(k, v) for k, v in headers if k.lower() not in skip]
        kept.append(("Content-Length", str(len(body))))
        out = self.conn.send(h11.Response(status_code=status, headers=kept))
        if body and not head:
            out += self.conn.send(h11.Data(data=body))
        out += self.conn.send(h11.EndOfMessage())
        return bytes(out)

    def reusable(self) -> bool:
        h11 = self.h11
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False


class FolderShare:
    """Serves ``folder`` over WebDAV to the guest's spice-webdavd (read-only with ``readonly``)."""

    def __init__(self, folder: str | Path, *, readonly: bool = False, app: Wsgi | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise NotADirectoryError(f"{self.folder}: not a directory")
        self.readonly = readonly
        self.app = app if app is not None else wsgidav_app(self.folder, readonly)
        #: (method, path, status) of every request answered, in order.
        self.log: list[tuple[str, str, int]] = []

    async def serve(self, port: Port) -> None:
        """Answer the guest's requests on ``port`` until the channel closes."""
        import h11

        mux = WebdavMux()
        clients: dict[int, _HttpClient] = {}
        while data := await port.receive():
            for event in mux.receive_data(data):
                if isinstance(event, ClientClosed):
                    clients.pop(event.client, None)
                    continue
                client = clients.setdefault(event.client, _HttpClient())
                try:
                    client.conn.receive_data(event.data)
                    out, keep = await self._answer(client)
                except h11.RemoteProtocolError:
                    out, keep = b"", False
                if out:
                    await port.send(mux.send(event.client, out))
                if not keep:  # a broken request, or the connection ends after this answer
                    clients.pop(event.client, None)
                    await port.send(mux.close(event.client))

    async def _answer(self, client: _HttpClient) -> tuple[bytes, bool]:
        """Responses to every complete request buffered, and whether the connection stays open."""
        out = bytearray()
        while (got := client.next_request()) is not None:
            request, body = got
            method, target = request.method.decode("ascii"), request.target.decode("latin-1")
            if client.too_big:
                status, headers, payload = 413, list[tuple[str, str]](), b""
            else:
                status, headers, payload = await trio.to_thread.run_sync(
                    call_wsgi, self.app, method, target, list(request.headers), body
                )
            self.log.append((method, target, status))
            out += client.respond(status, headers, payload, head=method == "HEAD")
            if not client.reusable():
                return bytes(out), False
        return bytes(out), True
