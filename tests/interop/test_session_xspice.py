"""spice_session against a real libspice-server (Xspice): plain, password, TLS."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from peers.pki import Pki
from peers.ports import free_tcp_port
from peers.xspice import Xspice

pytestmark = pytest.mark.interop

DEADLINE = 20.0


async def _until_surface_and_draw(
    session: ss.Session,
) -> tuple[ss.events.SurfaceCreated, ss.events.DrawEvent]:
    """The primary SURFACE_CREATE and the first draw message on it."""
    surface: ss.events.SurfaceCreated | None = None
    with trio.fail_after(DEADLINE):
        async for event in session.events():
            if isinstance(event, ss.events.SurfaceCreated) and surface is None:
                surface = event
            elif isinstance(event, ss.events.DrawEvent) and surface is not None:
                return surface, event
    raise AssertionError("event stream ended before a surface and a draw message")


def _check_primary(surface: ss.events.SurfaceCreated, draw: ss.events.DrawEvent) -> None:
    msg = surface.message
    assert isinstance(msg, sp.DisplaySurfaceCreate)
    assert (msg.width, msg.height) == (1024, 768)
    assert sp.SurfaceFlags.PRIMARY in msg.flags
    assert msg.surface_id == 0
    assert type(draw.message).__name__.startswith("DisplayDraw")


async def test_plain_connect_gets_surface_and_draw(xspice: Xspice) -> None:
    xspice.display.start_xterm()
    async with ss.connect(xspice.uri) as session:
        assert not session.tls
        assert session.session_id == session.init.session_id != 0
        listed = {(c.type, c.id) for c in session.channels}
        assert listed == {(sp.ChannelType.DISPLAY, 0), (sp.ChannelType.INPUTS, 0), (sp.ChannelType.CURSOR, 0)}
        assert set(session.opened) == listed | {(sp.ChannelType.MAIN, 0)}
        assert sp.MouseMode.SERVER in session.supported_mouse_modes
        _check_primary(*await _until_surface_and_draw(session))


async def test_first_events_are_the_handshake(xspice: Xspice) -> None:
    async with ss.connect(xspice.uri) as session:
        events = session.events()
        first = [await events.receive() for _ in range(3)]
    assert isinstance(first[0], ss.events.ChannelOpened) and first[0].channel_type == sp.ChannelType.MAIN
    assert sp.CommonCap.AUTH_SPICE in first[0].common_caps
    assert isinstance(first[1], ss.events.MainEvent) and isinstance(first[1].message, sp.MainInit)
    assert isinstance(first[2], ss.events.MainEvent) and isinstance(first[2].message, sp.MainChannelsList)


async def test_password_right(xspice_factory: Callable[..., Xspice]) -> None:
    server = xspice_factory(password="sesame")
    async with ss.connect(server.uri, password="sesame") as session:
        _check_primary(*await _until_surface_and_draw(session))


async def test_password_in_uri(xspice_factory: Callable[..., Xspice]) -> None:
    server = xspice_factory(password="open s&same")
    async with ss.connect(server.uri + "?password=open%20s%26same") as session:
        _check_primary(*await _until_surface_and_draw(session))


@pytest.mark.parametrize("password", ["wrong", None])
async def test_password_wrong_is_permission_denied(
    xspice_factory: Callable[..., Xspice], password: str | None
) -> None:
    server = xspice_factory(password="sesame")
    with pytest.raises(spice_net.AuthenticationFailed) as info:
        async with ss.connect(server.uri, password=password):
            raise AssertionError("connected with a wrong password")
    assert info.value.code == sp.LinkErr.PERMISSION_DENIED


async def test_tls_with_the_test_ca(xspice_factory: Callable[..., Xspice], pki: Pki) -> None:
    server = xspice_factory(pki=pki, password="sesame")
    uri = f"spice://127.0.0.1?tls-port={server.tls_port}"
    async with ss.connect(uri, password="sesame", ca_file=pki.ca_file) as session:
        assert session.tls
        _check_primary(*await _until_surface_and_draw(session))


async def test_tls_with_host_subject(xspice_factory: Callable[..., Xspice], pki: Pki) -> None:
    server = xspice_factory(pki=pki)
    uri = f"spice+tls://127.0.0.1:{server.tls_port}"
    async with ss.connect(uri, ca_file=pki.ca_file, host_subject=pki.host_subject) as session:
        assert session.tls
        _check_primary(*await _until_surface_and_draw(session))


async def test_tls_with_another_ca_fails_verification(
    xspice_factory: Callable[..., Xspice], pki_factory: Callable[[], Pki]
) -> None:
    server_pki, other = pki_factory(), pki_factory()
    server = xspice_factory(pki=server_pki)
    with pytest.raises(spice_net.TLSVerificationFailed):
        async with ss.connect(f"spice+tls://127.0.0.1:{server.tls_port}", ca_file=other.ca_file):
            raise AssertionError("TLS accepted a certificate from an unknown CA")


async def test_tls_wrong_host_subject_fails(xspice_factory: Callable[..., Xspice], pki: Pki) -> None:
    server = xspice_factory(pki=pki)
    with pytest.raises(spice_net.TLSVerificationFailed):
        async with ss.connect(
            f"spice+tls://127.0.0.1:{server.tls_port}",
            ca_file=pki.ca_file,
            host_subject="O=Someone Else, CN=x",
        ):
            raise AssertionError("wrong host subject accepted")


async def test_refused_port() -> None:
    port = free_tcp_port()
    with pytest.raises(spice_net.ConnectFailed, match=re.escape(f"127.0.0.1:{port}")):
        async with ss.connect(f"spice://127.0.0.1:{port}"):
            raise AssertionError("connected to a closed port")


async def test_user_exception_passes_through_unwrapped(xspice: Xspice) -> None:
    with pytest.raises(KeyError, match="mine"):
        async with ss.connect(xspice.uri):
            raise KeyError("mine")


async def test_server_going_away_ends_the_event_stream(xspice: Xspice) -> None:
    async with ss.connect(xspice.uri) as session:
        await _until_surface_and_draw(session)
        xspice.stop()
        kinds: list[ss.events.Event] = []
        with trio.fail_after(DEADLINE):
            async for event in session.events():
                if isinstance(event, (ss.events.SessionClosed, ss.events.ChannelEnded)):
                    kinds.append(event)
    assert any(isinstance(e, ss.events.SessionClosed) for e in kinds)
    assert {(e.channel_type, e.channel_id) for e in kinds if isinstance(e, ss.events.ChannelEnded)} == {
        (sp.ChannelType.DISPLAY, 0),
        (sp.ChannelType.INPUTS, 0),
        (sp.ChannelType.CURSOR, 0),
    }
