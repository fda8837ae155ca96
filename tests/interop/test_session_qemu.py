"""spice_session against QEMU (qxl-vga, no disk): the channel list follows the command line."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from peers.pki import Pki
from peers.qemu import Qemu

pytestmark = pytest.mark.interop

T = sp.ChannelType
DEADLINE = 20.0


def _listed(session: ss.Session) -> set[tuple[int, int]]:
    return {(int(c.type), c.id) for c in session.channels}


async def _first_surface(session: ss.Session) -> sp.DisplaySurfaceCreate:
    with trio.fail_after(DEADLINE):
        async for event in session.events():
            if isinstance(event, ss.events.SurfaceCreated):
                assert isinstance(event.message, sp.DisplaySurfaceCreate)
                return event.message
    raise AssertionError("no SURFACE_CREATE")


async def test_agent_audio_usbredir_channels_listed(qemu_factory: Callable[..., Qemu]) -> None:
    vm = qemu_factory(agent=True, audio=True, usbredir=True)
    async with ss.connect(vm.uri) as session:
        assert _listed(session) == {
            (T.DISPLAY, 0),
            (T.INPUTS, 0),
            (T.CURSOR, 0),
            (T.PLAYBACK, 0),
            (T.RECORD, 0),
            (T.USBREDIR, 0),
        }
        # only display, inputs and cursor are attached; the others are listed and left alone
        assert set(session.opened) == {(T.MAIN, 0), (T.DISPLAY, 0), (T.INPUTS, 0), (T.CURSOR, 0)}
        assert not session.agent_connected  # the agent port exists, but no guest runs an agent
        surface = await _first_surface(session)
        assert sp.SurfaceFlags.PRIMARY in surface.flags and surface.width > 0 and surface.height > 0


async def test_plain_qemu_lists_only_the_graphics_channels(qemu: Qemu) -> None:
    async with ss.connect(qemu.uri) as session:
        assert _listed(session) == {(T.DISPLAY, 0), (T.INPUTS, 0), (T.CURSOR, 0)}
        assert session.name == "spice-test"  # MAIN_NAME, sent because we advertise NAME_AND_UUID
        assert session.uuid is not None and len(session.uuid) == 16


async def test_qemu_primary_surface_follows_the_guest_screen(qemu: Qemu) -> None:
    # SeaBIOS switches modes while it starts (640x480 first, then its 720x400 text screen);
    # each switch is a new primary surface, and the text screen's matches QEMU's own screendump.
    seen: list[tuple[int, int]] = []
    async with ss.connect(qemu.uri) as session:
        with trio.move_on_after(DEADLINE):
            async for event in session.events():
                if isinstance(event, ss.events.SurfaceCreated):
                    assert isinstance(event.message, sp.DisplaySurfaceCreate)
                    if sp.SurfaceFlags.PRIMARY in event.message.flags:
                        seen.append((event.message.width, event.message.height))
                        if seen[-1] == (720, 400):
                            break
    assert seen and seen[-1] == (720, 400), seen
    shot = qemu.screendump()
    assert (shot.shape[1], shot.shape[0]) == (720, 400)


async def test_qemu_tls_and_password(qemu_factory: Callable[..., Qemu], pki: Pki) -> None:
    vm = qemu_factory(pki=pki, password="sesame")
    async with ss.connect(vm.uri, password="sesame", ca_file=pki.ca_file) as session:
        assert not session.tls  # both ports open: plain first
        await _first_surface(session)
    async with ss.connect(
        f"spice+tls://127.0.0.1:{vm.tls_port}", password="sesame", ca_file=pki.ca_file
    ) as s:
        assert s.tls
        await _first_surface(s)
    with pytest.raises(spice_net.AuthenticationFailed):
        async with ss.connect(vm.uri, password="nope"):
            raise AssertionError("wrong password accepted")


@pytest.mark.parametrize("secure", ["main", "display"])
async def test_need_secured_moves_to_the_tls_port(
    qemu_factory: Callable[..., Qemu], pki: Pki, secure: str
) -> None:
    vm = qemu_factory(pki=pki, extra_spice=f",tls-channel={secure}")
    async with ss.connect(vm.uri, ca_file=pki.ca_file) as session:
        # the channel QEMU wants secured answered NEED_SECURED on the plain port and was relinked over TLS
        tls = {key: isinstance(channel.stream, trio.SSLStream) for key, channel in session.opened.items()}
        assert tls[(T.MAIN, 0)] is (secure == "main")
        assert tls[(T.DISPLAY, 0)] is True
        await _first_surface(session)


async def test_need_secured_without_tls_port_is_an_error(qemu_factory: Callable[..., Qemu], pki: Pki) -> None:
    vm = qemu_factory(pki=pki, extra_spice=",tls-channel=main")
    with pytest.raises(spice_net.NeedSecured):
        async with ss.connect(f"spice://127.0.0.1:{vm.port}"):
            raise AssertionError("plain link accepted for a secured channel")
