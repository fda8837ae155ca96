"""Connecting the way real deployments do, against real peers: a Proxmox-style .vv file
(password, TLS with an inline CA, host subject, HTTP proxy, delete-this-file) read by
remote-viewer and by us against Xspice through Debian's tinyproxy; QEMU on a Unix socket."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_server
import spice_session
import trio
from peers import procs
from peers.pki import Pki
from peers.qemu import QEMU, Qemu, QemuOptions, qemu_argv
from peers.require import require_binary
from peers.tinyproxy import Tinyproxy, start_tinyproxy
from peers.xspice import Xspice
from peers.xvfb import Xvfb
from spice_session.lowlevel import KEEP_FILE_ENV, parse_vv

pytestmark = pytest.mark.interop

TICKET = "vv-t1cket-4711"
PROXY_USER = ("spiceuser", "pr0xy-pw")
ROOT_RGB = (0x20, 0x50, 0x80)


def _vv_text(pki: Pki, xspice: Xspice, proxy: Tinyproxy | None) -> str:
    ca = pki.ca_file.read_text().strip().replace("\n", "\\n")
    lines = [
        "[virt-viewer]",
        "type=spice",
        f"host={xspice.host}",
        f"tls-port={xspice.tls_port}",
        f"password={TICKET}",
        f"ca={ca}",
        f"host-subject={pki.host_subject}",
        "delete-this-file=1",
        "title=VM 100 (spice-python test)",
        "toggle-fullscreen=Shift+F11",
        "release-cursor=Ctrl+Alt+R",
        "secure-attention=Ctrl+Alt+Ins",
        "x-unknown-key=ignored by remote-viewer and by us",
    ]
    if proxy is not None:
        lines.append(f"proxy={proxy.url}")
    return "\n".join(lines) + "\n"


def _wait_remote_viewer(xvfb: Xvfb, timeout: float = 60.0) -> None:
    """Until the viewer's display shows the Xspice root colour over most of a 1024x768 screen
    (nothing else on that Xvfb has that colour)."""
    end = time.monotonic() + timeout
    while True:
        shot = xvfb.display.screenshot()
        if int((shot == np.array(ROOT_RGB, np.uint8)).all(axis=2).sum()) > 0.8 * 1024 * 768:
            return
        if time.monotonic() > end:
            raise AssertionError("remote-viewer never showed the Xspice screen")
        time.sleep(0.5)


async def _our_picture_matches(session: spice_session.Session, xspice: Xspice) -> None:
    with trio.fail_after(60):
        while True:
            shot = (await session.screenshot(settle=0.2, timeout=30)).to_rgb()
            remote = await trio.to_thread.run_sync(xspice.display.screenshot)
            if shot.shape == remote.shape and np.array_equal(shot, remote):
                return
            await trio.sleep(0.2)


@pytest.fixture
def tls_xspice(xspice_factory: Callable[..., Xspice], pki: Pki) -> Xspice:
    server = xspice_factory(password=TICKET, pki=pki)
    require_binary("xsetroot")
    server.display.run(["xsetroot", "-solid", "#" + bytes(ROOT_RGB).hex()])
    return server


async def test_proxmox_style_vv_through_tinyproxy_us_and_remote_viewer(
    tls_xspice: Xspice, pki: Pki, peers: object, xvfb: Xvfb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEEP_FILE_ENV, raising=False)
    monkeypatch.delenv("SPICE_PROXY", raising=False)
    proxy = start_tinyproxy(tmp_path / "proxy-logs", credentials=PROXY_USER)
    peers.started.append(proxy)  # type: ignore[attr-defined]
    text = _vv_text(pki, tls_xspice, proxy)
    ours, theirs = tmp_path / "ours.vv", tmp_path / "theirs.vv"
    ours.write_text(text)
    theirs.write_text(text)

    async with spice_session.connect(str(ours)) as session:
        assert session.tls
        await _our_picture_matches(session, tls_xspice)
    assert not ours.exists()
    log = proxy.proc.log
    ours_through_proxy = log.read_text(errors="replace").count("CONNECT")
    assert ours_through_proxy >= 3  # main, display, inputs, cursor...: each its own tunnel

    require_binary("remote-viewer")
    xvfb.display.start_client("remote-viewer", ["remote-viewer", str(theirs)])
    xvfb.display.wait_window("spice-python test", timeout=60)  # the title= of the file
    await trio.to_thread.run_sync(_wait_remote_viewer, xvfb)
    assert not theirs.exists()  # remote-viewer honours delete-this-file as we do
    text = log.read_text(errors="replace")
    assert text.count("CONNECT") > ours_through_proxy, text[-2000:]  # remote-viewer used the proxy= too


async def test_proxy_wants_credentials(tls_xspice: Xspice, pki: Pki, peers: object, tmp_path: Path) -> None:
    proxy = start_tinyproxy(tmp_path / "proxy-logs", credentials=PROXY_USER)
    peers.started.append(proxy)  # type: ignore[attr-defined]
    vv = parse_vv(_vv_text(pki, tls_xspice, None))
    with pytest.raises(spice_net.ProxyAuthRequired, match="asks for credentials"):
        async with spice_session.connect(vv, proxy=f"http://127.0.0.1:{proxy.port}"):
            pass
    with pytest.raises(spice_net.ProxyAuthRequired, match="refused our credentials") as info:
        async with spice_session.connect(vv, proxy=f"http://spiceuser:wrong-pw@127.0.0.1:{proxy.port}"):
            pass
    assert "wrong-pw" not in str(info.value)


async def test_wrong_host_subject_in_vv(tls_xspice: Xspice, pki: Pki) -> None:
    text = _vv_text(pki, tls_xspice, None).replace(pki.host_subject, "O=Someone Else, CN=spice test server")
    with pytest.raises(spice_net.TLSVerificationFailed, match="Someone Else"):
        async with spice_session.connect(parse_vv(text)):
            pass


@pytest.fixture
def unix_qemu(peers: object) -> tuple[Qemu, str]:
    """QEMU with ``-spice unix=on,addr=PATH`` (no TCP port)."""
    require_binary(QEMU)
    sock_dir = Path(tempfile.mkdtemp(prefix="spu-", dir="/tmp"))
    path = sock_dir / "spice.sock"
    qmp_path = sock_dir / "qmp.sock"
    argv = qemu_argv(QemuOptions(), 1, None, qmp_path)
    argv[argv.index("-spice") + 1] = f"unix=on,addr={path},disable-ticketing=on"
    proc = procs.start("qemu-unix", argv, peers.log_dir)  # type: ignore[attr-defined]
    vm = Qemu(proc, 0, None, qmp_path)
    peers.started.append(vm)  # type: ignore[attr-defined]
    procs.wait_until(f"QEMU socket {path}", path.exists, proc, timeout=30)
    procs.wait_until(f"QMP socket {qmp_path}", qmp_path.exists, proc, timeout=30)
    return vm, str(path)


async def test_qemu_unix_socket(unix_qemu: tuple[Qemu, str]) -> None:
    vm, path = unix_qemu
    with trio.fail_after(60):
        while True:
            screen = await trio.to_thread.run_sync(vm.screendump)
            if screen.shape == (400, 720, 3) and len(np.unique(screen.reshape(-1, 3), axis=0)) >= 2:
                break
            await trio.sleep(0.2)
    async with spice_session.connect(f"spice+unix://{path}") as session:
        assert not session.tls and session.uri.unix_path == path
        for _ in range(20):  # the text cursor blinks: retry until a pair agrees
            shot = (await session.screenshot(timeout=30)).to_rgb()
            truth = await trio.to_thread.run_sync(vm.screendump)
            if np.array_equal(shot, truth):
                break
        else:
            raise AssertionError("our picture over the Unix socket never equalled QEMU's screendump")


async def test_remote_viewer_on_our_unix_socket(xvfb: Xvfb, tmp_path: Path) -> None:
    """spice_server listening on a Unix socket: remote-viewer spice+unix:// shows its screen."""
    require_binary("remote-viewer")
    fb = spice_server.Framebuffer(1024, 768)
    fb.update(np.broadcast_to(np.array([*ROOT_RGB[::-1], 0], np.uint8), (768, 1024, 4)).copy())
    path = str(tmp_path / "ours.sock")
    server = spice_server.Server(fb)
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(server.serve, port=None, unix_path=path))
        xvfb.display.start_client("remote-viewer", ["remote-viewer", f"spice+unix://{path}"])
        await trio.to_thread.run_sync(_wait_remote_viewer, xvfb)
        assert server.clients
        nursery.cancel_scope.cancel()
