"""The viewer window a .vv file asks for (SDL's dummy driver): its title, fullscreen at once."""

from __future__ import annotations

from spice_cli._sdl_viewer import Viewer
from test_view_sdl import _created, _session


async def test_vv_title_and_fullscreen(sdl: None) -> None:
    session, _ = _session()
    viewer = Viewer(session, name="VM 100 - debian", fullscreen=True)
    await viewer.on_session_event(_created(session.display.primary))
    assert viewer.window is not None and viewer.window.fullscreen
    assert viewer._title().startswith("VM 100 - debian - spice view")
    viewer.window.close()
    plain = Viewer(session)
    await plain.on_session_event(_created(session.display.primary))
    assert plain.window is not None and not plain.window.fullscreen
    assert plain._title().startswith("127.0.0.1:5900 - spice view")
    plain.window.close()
