"""``spice view`` when its server goes away: a banner in the window it keeps, reconnection with
backoff, and an expired ticket reported as such (exit 4); ``--no-reconnect`` is tested in
test_viewer_xspice."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from peers import ports, procs
from peers.spice_view import _find_window, start_spice_view
from peers.xvfb import Xvfb

pytestmark = pytest.mark.interop


def _serve(port: int, password: str, log_dir: Path) -> procs.Proc:
    argv = [
        sys.executable,
        "-m",
        "spice_cli",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--password",
        password,
    ]
    proc = procs.start(f"serve-{password}", argv, log_dir)
    procs.wait_until(f"spice serve on {port}", lambda: ports.listening(port), proc, timeout=30)
    return proc


def _wait_log(proc: procs.Proc, text: str, timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    while text not in (log := proc.log.read_text(errors="replace")):
        if time.monotonic() > end:
            raise AssertionError(f"{text!r} never appeared:\n{log[-2000:]}")
        time.sleep(0.1)
    return log


def test_view_reconnects_then_reports_the_expired_ticket(xvfb: Xvfb, tmp_path: Path) -> None:
    port = ports.free_tcp_port()
    server = _serve(port, "first-ticket", tmp_path)
    try:
        view = start_spice_view(xvfb.display, f"spice://127.0.0.1:{port}?password=first-ticket")
        view.wait_title("click to grab")
        procs.stop(server)
        _wait_log(view.proc, "spice view: connection lost")
        view.wait_title("reconnecting", timeout=60)  # the banner, in the same window
        assert _find_window(xvfb.display) == view.window
        server = _serve(port, "first-ticket", tmp_path)  # back, same ticket: the viewer returns
        log = _wait_log(view.proc, "(attempt 1)")
        assert "reconnecting in 0.5 s (attempt 1)" in log
        view.wait_title("click to grab", timeout=60)  # the new session in the window kept
        assert _find_window(xvfb.display) == view.window
        assert view.proc.alive()
        procs.stop(server)
        server = _serve(port, "another-ticket", tmp_path)  # back with another ticket
        code = view.exit_code()
        lines = [line for line in view.proc.log.read_text(errors="replace").splitlines() if line.strip()]
        assert code == 4, lines
        assert lines[-1].startswith("spice: authentication failed") and "ticket expired" in lines[-1], lines
        assert not any("Traceback" in line for line in lines)
        assert "first-ticket" not in lines[-1]
    finally:
        procs.stop(server)
