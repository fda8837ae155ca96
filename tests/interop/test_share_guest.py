"""Folder sharing with Debian's spice-webdavd running in the real Linux guest.

QEMU carries the webdav port (``-chardev spiceport,name=org.spice-space.webdav.0`` + a
virtserialport); spice-webdavd in the guest (with its libraries, and a stub for
libavahi-gobject so it runs without an avahi daemon) multiplexes the guest's HTTP clients
onto it; our client answers with WsgiDAV serving a host folder.  The guest speaks WebDAV
with busybox ``wget`` and ``nc``: GET, PROPFIND, PUT; a read-only share answers 403.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import spice_session as ss
import trio
from peers.linux_guest import LinuxGuest, start_guest
from peers.require import require_binary
from spice_session.lowlevel import FolderShare

pytestmark = pytest.mark.interop
pytest.importorskip("wsgidav")

WEBDAV_PORT = "org.spice-space.webdav.0"
WEBDAV_ARGS = (
    "-device", "virtio-serial-pci,id=vs",
    "-chardev", f"spiceport,id=webdav,name={WEBDAV_PORT}",
    "-device", f"virtserialport,bus=vs.0,chardev=webdav,name={WEBDAV_PORT}",
)  # fmt: skip
AVAHI_STUB = """
typedef unsigned long GType; typedef int gboolean; typedef struct _GError GError;
extern void *g_object_new(GType type, const char *first, ...);
#define OBJECT_TYPE ((GType)(20 << 2))
void *ga_client_new(int flags) { (void)flags; return g_object_new(OBJECT_TYPE, (const char *)0); }
gboolean ga_client_start(void *c, GError **e) { (void)c; (void)e; return 1; }
void *ga_entry_group_new(void) { return g_object_new(OBJECT_TYPE, (const char *)0); }
gboolean ga_entry_group_attach(void *g, void *c, GError **e) { (void)g; (void)c; (void)e; return 1; }
void *ga_entry_group_add_service_full(void) { return 0; }
gboolean ga_entry_group_commit(void *g, GError **e) { (void)g; (void)e; return 1; }
gboolean ga_entry_group_reset(void *g, GError **e) { (void)g; (void)e; return 1; }
void ga_entry_group_service_freeze(void *s) { (void)s; }
gboolean ga_entry_group_service_set(void) { return 1; }
gboolean ga_entry_group_service_thaw(void *s, GError **e) { (void)s; (void)e; return 1; }
"""
RUN = "/extra/lib/ld-linux-x86-64.so.2 --library-path /extra/lib /extra/spice-webdavd"
URL = "http://127.0.0.1:9843"


def webdavd_extra(root: Path) -> Path:
    """/extra: spice-webdavd, its libraries and the loader, the avahi stub in place of libavahi-gobject."""
    daemon = require_binary("spice-webdavd")
    cc = require_binary("cc")
    lib = root / "lib"
    lib.mkdir(parents=True)
    shutil.copy(daemon, root / "spice-webdavd")
    for line in subprocess.run(
        ["ldd", daemon], check=True, capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            shutil.copy(parts[2], lib / parts[0])
    shutil.copy("/lib64/ld-linux-x86-64.so.2", lib)
    stub = root / "stub.c"
    stub.write_text(AVAHI_STUB)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib / "libavahi-gobject.so.0"), str(stub)], check=True)
    stub.unlink()
    return root


@pytest.fixture
def webdav_guest(peers: Any, tmp_path: Path) -> LinuxGuest:
    guest = start_guest(peers.log_dir, extra=webdavd_extra(tmp_path / "extra"), qemu_args=WEBDAV_ARGS)
    peers.started.append(guest)
    return guest


async def sh(guest: LinuxGuest, command: str, timeout: float = 90.0) -> str:
    return await trio.to_thread.run_sync(guest.sh, command, timeout)


def http(method: str, path: str, body: str = "", extra: str = "") -> str:
    """A busybox shell line sending one request with nc and printing the answer."""
    head = f"{method} {path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: {len(body)}\\r\\n"
    head += f"{extra}Connection: close\\r\\n\\r\\n{body}"
    return f"(printf '{head}'; sleep 10) | timeout 30 nc 127.0.0.1 9843"


async def start_webdavd(guest: LinuxGuest) -> None:
    device = (await sh(guest, "for f in /sys/class/virtio-ports/*; do echo /dev/${f##*/}; done")).split()[0]
    await sh(
        guest,
        f"ip link set lo up; mkdir -p /dev/virtio-ports; ln -sf {device} /dev/virtio-ports/{WEBDAV_PORT};"
        f" ({RUN} -p 9843 > /tmp/webdavd.log 2>&1 &) ; true",
    )


async def serve(guest: LinuxGuest, share: FolderShare, commands: list[str]) -> list[str]:
    outputs: list[str] = []
    with trio.fail_after(240):
        async with ss.connect(guest.uri) as session:
            ports = session.ports
            async with ports.open(WEBDAV_PORT) as port, trio.open_nursery() as nursery:
                nursery.start_soon(share.serve, port)
                await start_webdavd(guest)
                with trio.move_on_after(60):
                    await port.wait_peer(True)
                assert port.peer_opened, await sh(guest, "cat /tmp/webdavd.log")
                for command in commands:
                    outputs.append(await sh(guest, command, 60))
                nursery.cancel_scope.cancel()
    return outputs


async def test_guest_reads_lists_and_writes_the_shared_folder(
    webdav_guest: LinuxGuest, tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "hello.txt").write_text("shared from the host\n")
    share = FolderShare(folder)
    got, listing, put = await serve(
        webdav_guest,
        share,
        [
            f"wget -q -O - {URL}/hello.txt",
            http("PROPFIND", "/", extra="Depth: 1\\r\\n"),
            http("PUT", "/from-guest.txt", "written in the guest"),
        ],
    )
    assert got == "shared from the host\n", got
    assert "207" in listing.splitlines()[0] and "hello.txt" in listing, listing
    assert put.startswith("HTTP/1.1 201"), put
    assert (folder / "from-guest.txt").read_text() == "written in the guest"
    assert [s for _, _, s in share.log] == [200, 207, 201]


async def test_read_only_share_refuses_the_guests_put(webdav_guest: LinuxGuest, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    share = FolderShare(folder, readonly=True)
    got, put = await serve(webdav_guest, share, [f"wget -q -O - {URL}/a.txt", http("PUT", "/b.txt", "no")])
    assert got == "a\n"
    assert put.startswith("HTTP/1.1 403"), put
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]
