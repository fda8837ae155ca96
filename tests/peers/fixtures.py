"""pytest fixtures for the real peers (registered as a plugin from ``tests/conftest.py``).

Each ``*_factory`` fixture returns a function that starts one more peer with
the given options; everything started is stopped (by pid) at teardown, in
reverse order, even when the test failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from .linux_guest import LinuxGuest, start_guest
from .pki import Pki, make_pki
from .qemu import Qemu, QemuOptions, start_qemu
from .xspice import Xspice, XspiceOptions, start_xspice
from .xvfb import Xvfb, start_xvfb


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class _Peers:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[_Stoppable] = []

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for peer in reversed(self.started):
            try:
                peer.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self.started.clear()
        if errors:
            raise errors[0]


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[_Peers]:
    """Bookkeeping of the peers started by one test; stops them all at teardown."""
    registry = _Peers(tmp_path / "peer-logs")
    try:
        yield registry
    finally:
        registry.stop_all()


@pytest.fixture
def pki_factory(tmp_path: Path) -> Callable[[], Pki]:
    """Makes a new CA + server certificate directory each call."""
    count = iter(range(1000))

    def make() -> Pki:
        return make_pki(tmp_path / f"pki{next(count)}")

    return make


@pytest.fixture
def pki(pki_factory: Callable[[], Pki]) -> Pki:
    return pki_factory()


@pytest.fixture
def xspice_factory(peers: _Peers) -> Callable[..., Xspice]:
    """``xspice_factory(password=..., pki=..., image_compression=...)`` starts an Xspice."""

    def start(**options: Any) -> Xspice:
        server = start_xspice(XspiceOptions(**options), peers.log_dir)
        peers.started.append(server)
        return server

    return start


@pytest.fixture
def xspice(xspice_factory: Callable[..., Xspice]) -> Xspice:
    """A plain Xspice (no password, no TLS)."""
    return xspice_factory()


@pytest.fixture
def qemu_factory(peers: _Peers) -> Callable[..., Qemu]:
    """``qemu_factory(agent=True, audio=True, usbredir=True, password=..., pki=...)`` starts a QEMU."""

    def start(**options: Any) -> Qemu:
        vm = start_qemu(QemuOptions(**options), peers.log_dir)
        peers.started.append(vm)
        return vm

    return start


@pytest.fixture
def qemu(qemu_factory: Callable[..., Qemu]) -> Qemu:
    """A plain QEMU with qxl-vga only."""
    return qemu_factory()


@pytest.fixture
def xvfb_factory(peers: _Peers) -> Callable[..., Xvfb]:
    def start(size: str = "1280x900x24") -> Xvfb:
        display = start_xvfb(size, peers.log_dir)
        peers.started.append(display)
        return display

    return start


@pytest.fixture
def xvfb(xvfb_factory: Callable[..., Xvfb]) -> Xvfb:
    """An Xvfb display of 1280x900x24 for running clients."""
    return xvfb_factory()


@pytest.fixture
def linux_guest(peers: _Peers) -> LinuxGuest:
    """A booted Linux guest: kernel + busybox on the QXL console, a serial shell."""
    guest = start_guest(peers.log_dir)
    peers.started.append(guest)
    return guest
