"""The peer rig itself: peers start on free ports, give ground truth, and stop by pid."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from peers import ports, procs
from peers.pki import Pki
from peers.qemu import Qemu
from peers.require import require_binary
from peers.x11 import parse_xwd
from peers.xspice import Xspice
from peers.xvfb import Xvfb

pytestmark = pytest.mark.interop


def _read_spice_link_reply(port: int) -> bytes:
    """Send a minimal link request for the main channel and return the first 4 reply bytes."""
    # header: magic, major 2, minor 2, size 18; body: connection 0, channel 1, id 0, no caps, caps_offset 18
    request = b"REDQ" + (2).to_bytes(4, "little") + (2).to_bytes(4, "little") + (18).to_bytes(4, "little")
    request += bytes(4) + b"\x01\x00" + bytes(8) + (18).to_bytes(4, "little")
    with socket.create_connection((ports.HOST, port), timeout=5) as s:
        s.sendall(request)
        return s.recv(4)


def test_xspice_listens_and_stops_by_pid(xspice: Xspice) -> None:
    assert ports.listening(xspice.port)
    assert _read_spice_link_reply(xspice.port) == b"REDQ"
    assert xspice.display.answers()
    xspice.stop()
    assert xspice.proc.popen.returncode is not None
    assert not ports.listening(xspice.port)


def test_xspice_screenshot_is_the_1024x768_screen(xspice: Xspice) -> None:
    xspice.display.start_xterm(title="rig-check", geometry="40x10+0+0")
    xspice.display.wait_window("rig-check")
    shot = xspice.display.screenshot()
    assert shot.shape == (768, 1024, 3)
    # the xterm's white background sits in the top-left corner of an otherwise dark root window
    assert (shot[20, 20] == 255).all()
    assert shot[700, 1000].max() < 255


def test_two_xspice_get_distinct_ports_and_displays(xspice_factory: Callable[..., Xspice]) -> None:
    a, b = xspice_factory(), xspice_factory()
    assert a.port != b.port and a.display.number != b.display.number
    assert ports.listening(a.port) and ports.listening(b.port)


def test_xspice_tls_port(xspice_factory: Callable[..., Xspice], pki: Pki) -> None:
    server = xspice_factory(pki=pki, password="sesame")
    assert server.tls_port is not None and ports.listening(server.tls_port)
    assert server.uri == f"spice://127.0.0.1:{server.port}?tls-port={server.tls_port}"
    for name in ("ca-cert.pem", "server-cert.pem", "server-key.pem"):
        assert (pki.directory / name).is_file()


def test_qemu_screendump_and_stop(qemu_factory: Callable[..., Qemu]) -> None:
    vm = qemu_factory(agent=True, audio=True, usbredir=True)
    assert ports.listening(vm.port)
    assert _read_spice_link_reply(vm.port) == b"REDQ"
    assert vm.qmp("query-status")["status"] == "running"
    shot = vm.screendump()
    assert shot.ndim == 3 and shot.shape[2] == 3 and shot.shape[0] >= 400
    vm.stop()
    assert vm.proc.popen.returncode is not None
    assert not vm.qmp_path.parent.exists()


def test_xvfb_display(xvfb: Xvfb) -> None:
    assert xvfb.display.answers()
    assert xvfb.display.screenshot().shape == (900, 1280, 3)


def test_stop_falls_back_to_sigkill(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True)"
    code += "; time.sleep(60)"
    proc = procs.start("stubborn", [sys.executable, "-c", code], tmp_path)
    procs.wait_until("child ready", lambda: "up" in proc.log.read_text(), proc)
    assert procs.stop(proc, timeout=0.5) == -9


def test_wait_until_reports_early_exit(tmp_path: Path) -> None:
    proc = procs.start("dies", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], tmp_path)
    with pytest.raises(procs.PeerError, match="exited with 3") as info:
        procs.wait_until("never", lambda: False, proc, timeout=10)
    assert "bye" in str(info.value)


def _xwd_bytes(width: int, height: int, pixels: list[int], byte_order: int) -> bytes:
    name = b"t\x00"
    header_size = 100 + len(name)
    bytes_per_line = width * 4
    fields = [header_size, 7, 2, 24, width, height, 0, byte_order, 32, byte_order, 32, 32, bytes_per_line]
    fields += [4, 0xFF0000, 0xFF00, 0xFF, 8, 256, 0, width, height, 0, 0, 0]
    data = b"".join(f.to_bytes(4, "big") for f in fields) + name
    if byte_order == 0:
        return data + b"".join(p.to_bytes(4, "little") for p in pixels)
    return data + b"".join(p.to_bytes(4, "big") for p in pixels)


@pytest.mark.parametrize("byte_order", [0, 1])
def test_parse_xwd(byte_order: int) -> None:
    image = parse_xwd(_xwd_bytes(2, 1, [0x00112233, 0x00FF8001], byte_order))
    assert image.tolist() == [[[0x11, 0x22, 0x33], [0xFF, 0x80, 0x01]]]
    assert image.dtype == np.uint8


def test_parse_xwd_truncated() -> None:
    with pytest.raises(ValueError, match="truncated"):
        parse_xwd(_xwd_bytes(2, 2, [0, 0, 0], 0))


def test_missing_peer_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPICE_REQUIRE_INTEROP", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-peer"):
        require_binary("no-such-peer")
    monkeypatch.setenv("SPICE_REQUIRE_INTEROP", "1")
    with pytest.raises(pytest.fail.Exception, match=r"no-such-peer.*SPICE_REQUIRE_INTEROP=1"):
        require_binary("no-such-peer")
    assert require_binary("sh").endswith("/sh")
