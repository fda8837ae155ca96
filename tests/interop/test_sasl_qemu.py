"""SASL against QEMU ``-spice ...,sasl=on`` with a sasldb user (Debian sasl2-bin), through libsasl2.

Over plain TCP QEMU offers only DIGEST-MD5 with its security layer (auth-conf): the picture must
arrive through the layer (equal to QEMU's screendump) and tshark must see only wrapped records
after the SASL outcome.  Inside TLS every configured mechanism works.  A wrong password and a
missing user name are one clear error each.  (QEMU 7.2's libspice-server cannot do SASL on a
Unix socket: it gives libsasl2 "localhost;" as the address and gets BADPARAM; that path is
tested against spice_server in tests/server/test_server_sasl.py.)
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_session
import trio
from peers.capture import start_capture
from peers.pki import Pki
from peers.qemu import Qemu
from peers.sasl import make_sasldb

pytestmark = pytest.mark.interop

USER, SECRET = "alice", "s4sl-secret"
CELL = (9, 16)  # a VGA text cell: only the blinking cursor may differ between two grabs

SaslQemu = Callable[[str], Qemu]


def _sasl_conf(tmp_path: Path, mechanisms: str, db: Path) -> Path:
    """A directory holding the ``qemu.conf`` libsasl2 reads for QEMU."""
    conf = tmp_path / f"sasl-{mechanisms.replace(' ', '-')}"
    conf.mkdir()
    (conf / "qemu.conf").write_text(f"mech_list: {mechanisms}\nsasldb_path: {db}\n")
    return conf


@pytest.fixture
def sasl_qemu(
    qemu_factory: Callable[..., Qemu], pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SaslQemu:
    """``sasl_qemu("digest-md5 plain")``: a QEMU with TLS and ``sasl=on`` using these mechanisms."""
    db = make_sasldb(tmp_path / "passwd.db", USER, SECRET, app="qemu")

    def start(mechanisms: str) -> Qemu:
        monkeypatch.setenv("SASL_CONF_PATH", str(_sasl_conf(tmp_path, mechanisms, db)))  # QEMU inherits it
        return qemu_factory(pki=pki, password="ticket-unused", extra_spice=",sasl=on")

    return start


async def _text_screen(vm: Qemu) -> None:
    with trio.fail_after(60):  # SeaBIOS passes a 640x480 mode before its 720x400 text screen
        while True:
            screen = await trio.to_thread.run_sync(vm.screendump)
            if screen.shape == (400, 720, 3) and len(np.unique(screen.reshape(-1, 3), axis=0)) >= 2:
                return
            await trio.sleep(0.2)


async def _assert_screen_matches(session: spice_session.Session, vm: Qemu) -> None:
    for _ in range(12):
        ours = (await session.screenshot(timeout=30)).to_rgb()
        truth = await trio.to_thread.run_sync(vm.screendump)
        assert ours.shape == truth.shape == (400, 720, 3)
        diff = np.any(ours != truth, axis=2)
        if not diff.any():
            return
        ys, xs = np.nonzero(diff)
        assert xs.max() - xs.min() < CELL[0] and ys.max() - ys.min() < CELL[1], "differs beyond the cursor"
        await trio.sleep(0.13)
    raise AssertionError("no exact match with QEMU's screendump in 12 grabs")


async def _until_capturing(pcap: Path, port: int) -> None:
    """Knock on ``port`` until the capture file grows: tshark says "Capturing on" a little
    before packets really reach its file, and the first connection's link must be in it."""
    with trio.fail_after(30):
        while not pcap.exists():  # dumpcap creates it with its header first
            await trio.sleep(0.05)
        empty = pcap.stat().st_size
        while pcap.stat().st_size <= empty:
            knock = await trio.open_tcp_stream("127.0.0.1", port)
            await knock.aclose()
            await trio.sleep(0.1)


def _server_records(pcap: Path, port: int) -> bytes:
    """What the server sent on the busiest captured connection, from its SASL mechanism list on."""
    argv = ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},data", "-Y", f"tcp.srcport=={port} && data"]
    argv += ["-T", "fields", "-e", "tcp.stream", "-e", "data.data"]
    result = subprocess.run(argv, capture_output=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    streams: dict[str, bytearray] = {}
    for line in result.stdout.decode().splitlines():
        stream, _, payload = line.partition("\t")
        streams.setdefault(stream, bytearray()).extend(bytes.fromhex(payload.replace(":", "")))
    # from the mechanism list on (after the link reply, which tshark may have missed)
    logins = [
        bytes(data[data.find(b",DIGEST-MD5,") :])
        for data in streams.values()
        if b",DIGEST-MD5," in data[:512]
    ]
    assert logins, f"no SASL login among {len(streams)} captured connections"
    return max(logins, key=len)


async def test_digest_md5_security_layer_over_plain_tcp(sasl_qemu: SaslQemu, tmp_path: Path) -> None:
    vm = sasl_qemu("digest-md5")
    await _text_screen(vm)
    capture = await trio.to_thread.run_sync(start_capture, vm.port, tmp_path)
    try:
        await _until_capturing(capture.path, vm.port)
        async with spice_session.connect(f"spice://{USER}@127.0.0.1:{vm.port}", password=SECRET) as session:
            session.events().close()
            assert not session.tls
            await _assert_screen_matches(session, vm)
            assert session.display.errors == 0
            assert len(session.opened) >= 3  # every channel logged in and wrapped
    finally:
        await trio.to_thread.run_sync(capture.stop)
    wire = _server_records(capture.path, vm.port)
    # a channel's server side after its link reply: the mechanism list, the DIGEST-MD5 challenge,
    # the rspauth reply (complete), the plain u32 outcome 0, then only length-prefixed records
    challenge = wire.find(b"qop=")
    assert challenge > 0 and b"auth-conf" in wire[challenge : challenge + 64]
    rspauth = wire.find(b"rspauth=")
    assert rspauth > 0
    end = wire.index(b"\0", rspauth) + 2  # the NUL, the complete flag
    assert wire[end - 1] == 1 and wire[end : end + 4] == b"\0\0\0\0"
    rest, records = wire[end + 4 :], 0
    while len(rest) >= 4:
        (size,) = struct.unpack(">I", rest[:4])
        assert 16 <= size <= 65536, f"record {records} of {size} bytes: not a SASL record"
        rest = rest[4 + size :]
        records += 1
    assert records >= 2 and len(rest) < 4
    # SPICE's plaintext never shows: the link result and SET_ACK (mini header, type 1) are wrapped
    assert not wire[end + 4 :].startswith(b"\0\0\0\0\x01\0")


@pytest.mark.parametrize("mechanisms", ["scram-sha-256", "scram-sha-1", "digest-md5", "plain"])
async def test_each_mechanism_inside_tls(sasl_qemu: SaslQemu, pki: Pki, mechanisms: str) -> None:
    vm = sasl_qemu(mechanisms)
    uri = f"spice://{USER}@127.0.0.1?tls-port={vm.tls_port}"
    async with spice_session.connect(uri, password=SECRET, ca_file=pki.ca_file) as session:
        session.events().close()
        assert session.tls
        shot = (await session.screenshot(timeout=30)).to_rgb()
        assert shot.shape[2] == 3
        assert len(session.opened) >= 3  # every channel authenticated with SASL


async def test_sasl_failures_are_clear(sasl_qemu: SaslQemu, pki: Pki) -> None:
    vm = sasl_qemu("digest-md5 scram-sha-256")
    for uri, ca in [
        (f"spice://{USER}@127.0.0.1:{vm.port}", None),
        (f"spice://{USER}@127.0.0.1?tls-port={vm.tls_port}", pki.ca_file),
    ]:
        with trio.fail_after(30), pytest.raises(spice_net.AuthenticationFailed, match="SASL") as info:
            async with spice_session.connect(uri, password="wrong-one", ca_file=ca):
                pass
        assert "wrong-one" not in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(spice_net.AuthenticationFailed, match="give a user name"):
        async with spice_session.connect(f"spice://127.0.0.1:{vm.port}", password=SECRET):
            pass
