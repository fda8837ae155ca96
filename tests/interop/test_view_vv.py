"""``spice view FILE.vv``: the file's title names the window and delete-this-file removes it
(as remote-viewer does with the same file).  fullscreen=1 is checked on SDL's dummy driver
(tests/cli/test_view_vv_window.py): Xvfb has no window manager to make a window fullscreen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from peers import ports, procs
from peers.spice_view import start_spice_view
from peers.xvfb import Xvfb
from test_view_reconnect import _serve

pytestmark = pytest.mark.interop


def test_view_vv_title_and_deletion(xvfb: Xvfb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRT_VIEWER_KEEP_FILE", raising=False)
    port = ports.free_tcp_port()
    server = _serve(port, "vv-ticket", tmp_path)
    try:
        vv = tmp_path / "console.vv"
        vv.write_text(
            "[virt-viewer]\ntype=spice\nhost=127.0.0.1\n"
            f"port={port}\npassword=vv-ticket\ntitle=VM 100 - debian\nfullscreen=1\ndelete-this-file=1\n"
        )
        view = start_spice_view(xvfb.display, str(vv))
        assert view.wait_title("VM 100 - debian").startswith("VM 100 - debian")
        assert not vv.exists()
        assert "vv-ticket" not in view.proc.log.read_text(errors="replace")
        assert os.environ.get("VIRT_VIEWER_KEEP_FILE") is None
    finally:
        procs.stop(server)
