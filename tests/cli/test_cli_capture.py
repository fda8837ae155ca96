"""``--capture DIR``: every client command writes a plaintext pcap per channel that tshark decodes."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_server as srv
import trio
from peers.pki import make_pki
from peers.require import require_binary
from PIL import Image
from spice_proto import Rect

W, H = 160, 120


async def spice(*args: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(60):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args], capture_stdout=True, capture_stderr=True, check=False
        )


def tshark(path: Path, *args: str) -> str:
    argv = ["tshark", "-r", str(path), "-d", f"tcp.port=={spice_net.lowlevel.CAPTURE_PORT},spice", *args]
    result = subprocess.run(argv, capture_output=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    return result.stdout.decode(errors="replace")


@pytest.mark.parametrize("tls", [False, True])
async def test_screenshot_capture_decodes_in_tshark(nursery: trio.Nursery, tmp_path: Path, tls: bool) -> None:
    require_binary("tshark")
    fb = srv.Framebuffer(W, H)
    fb.update(np.random.default_rng(1).integers(0, 255, (H, W, 3), np.uint8), Rect(0, 0, W, H), format="rgb")
    extra: list[str] = []
    if tls:
        pki = make_pki(tmp_path / "pki")
        ctx = spice_net.server_ssl_context(
            str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
        )
        server = srv.Server(fb, ssl_context=ctx)
        addr: srv.ServerAddress = await nursery.start(
            lambda task_status: server.serve("127.0.0.1", tls_port=0, task_status=task_status)
        )  # type: ignore[arg-type]
        uri = f"spice+tls://127.0.0.1:{addr.tls_port}"
        extra = ["--ca-file", str(pki.ca_file)]
    else:
        server = srv.Server(fb)
        addr = await nursery.start(lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status))  # type: ignore[arg-type]
        uri = f"spice://127.0.0.1:{addr.port}"
    cap = tmp_path / "cap"
    result = await spice("screenshot", uri, str(tmp_path / "s.png"), "--capture", str(cap), *extra)
    assert result.returncode == 0, result.stderr
    files = sorted(cap.iterdir())
    assert {spice_net.lowlevel.channel_of(f)[1] for f in files} >= {"main", "display"}  # type: ignore[index]
    for path in files:
        malformed = await trio.to_thread.run_sync(tshark, path, "-Y", "_ws.malformed")
        assert malformed.strip() == "", (path.name, malformed)
        fields = await trio.to_thread.run_sync(
            tshark, path, "-Y", "spice", "-T", "fields", "-e", "frame.number"
        )
        assert fields.split(), f"{path.name}: tshark decoded no SPICE packet"
    main = await trio.to_thread.run_sync(tshark, files[0])
    assert "Client link message" in main and "Server INIT" in main and "Server CHANNELS_LIST" in main
    display = next(f for f in files if "display" in f.name)
    draws = await trio.to_thread.run_sync(tshark, display)
    assert "Server SURFACE_CREATE" in draws and "Server DRAW_COPY" in draws


async def test_capture_into_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    result = await spice(
        "screenshot", "spice://127.0.0.1:1", str(tmp_path / "s.png"), "--capture", str(tmp_path / "f" / "x")
    )
    assert result.returncode == 2 and b"--capture" in result.stderr


async def test_replay_reproduces_the_picture_offline(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    picture = np.random.default_rng(2).integers(0, 255, (H, W, 3), np.uint8)
    fb.update(picture, Rect(0, 0, W, H), format="rgb")
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    cap = tmp_path / "cap"
    result = await spice(
        "screenshot", f"spice://127.0.0.1:{addr.port}", str(tmp_path / "live.png"), "--capture", str(cap)
    )
    assert result.returncode == 0, result.stderr
    server_gone = tmp_path / "replayed.png"
    result = await spice("replay", str(cap), "--screenshot", str(server_gone), "--settle", "0.3")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.decode().splitlines() if x.startswith("replayed "))
    replayed = set(line.removeprefix("replayed ").split(";")[0].split(", "))
    assert {"main:0", "display:0"} <= replayed, line  # cursor and inputs too when they linked in time
    assert np.array_equal(np.array(Image.open(server_gone).convert("RGB")), picture)

    # a capture whose first display message claims 4 GiB replays as the refusal it causes
    display = next(cap.glob("*-display-0.pcap"))
    data = bytearray(display.read_bytes())
    offset, server_payloads = 24, []
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = offset + 16
        if struct.unpack_from("!H", data, frame + 20)[0] == spice_net.lowlevel.CAPTURE_PORT and length > 40:
            server_payloads.append(frame + 40)
        offset = frame + length
    first_message = server_payloads[2]  # after the link reply and the link result
    struct.pack_into("<I", data, first_message + 2, 0xFFFFFFFF)  # mini header: type u16, size u32
    display.write_bytes(bytes(data))
    result = await spice("replay", str(cap), "--settle", "0.3", "--timeout", "5")
    assert result.returncode == 9, result.stderr
    assert result.stderr.startswith(b"spice: ") and b"Traceback" not in result.stderr


async def test_replay_usage_errors(tmp_path: Path) -> None:
    result = await spice("replay", str(tmp_path))
    assert result.returncode == 2 and b"no NN-CHANNEL-ID.pcap" in result.stderr
    (tmp_path / "01-main-0.pcap").write_bytes(b"junk")
    result = await spice("replay", str(tmp_path))
    assert result.returncode == 2 and b"pcap" in result.stderr
