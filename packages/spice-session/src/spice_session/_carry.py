"""What a reconnected session takes over from the one it replaces.

Keys and mouse buttons held when the connection went are let go on the new server (the
same VM would otherwise keep them pressed: spice-server releases only Shift/Ctrl/Alt when
a client goes), the guest's lock keys are set as they were (KEY_MODIFIERS), the keyboard
layout typing uses is kept, client mouse mode is asked for again, and once the new
session's agent is there the monitor layout and the clipboard offers we had made are sent
to it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING

from spice_proto import AgentMonConfig, KeyboardModifierFlags, MouseButton, MouseButtonMask, MouseMode
from spice_proto.lowlevel import frozen

from ._errors import AgentError, ChannelUnavailable
from ._layouts import Layout

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["CarriedState", "carried_state", "restore_agent", "restore_inputs"]

_BUTTONS = (
    (MouseButtonMask.LEFT, MouseButton.LEFT),
    (MouseButtonMask.MIDDLE, MouseButton.MIDDLE),
    (MouseButtonMask.RIGHT, MouseButton.RIGHT),
    (MouseButtonMask.SIDE, MouseButton.SIDE),
    (MouseButtonMask.EXTRA, MouseButton.EXTRA),
)


@frozen
class CarriedState:
    """A lost session's input and agent state (see :func:`carried_state`)."""

    keys_down: frozenset[int] = frozenset()
    buttons: tuple[MouseButton, ...] = ()
    locks: KeyboardModifierFlags | None = None
    client_mouse: bool = False
    monitors: tuple[AgentMonConfig, ...] | None = None
    clipboard: Mapping[int, Mapping[int, bytes]] = field(default_factory=dict, repr=False)
    layout: Layout | None = None


def carried_state(session: Session) -> CarriedState:
    """Read what ``session`` (closed or not) leaves for the next one."""
    inputs = session._inputs
    keys: frozenset[int] = frozenset()
    buttons: tuple[MouseButton, ...] = ()
    locks = None
    layout = None
    if inputs is not None:
        layout = inputs.layout
        keys = frozenset(inputs.keys_down)
        buttons = tuple(button for mask, button in _BUTTONS if inputs.buttons & mask)
        locks = inputs.modifiers
    return CarriedState(
        keys_down=keys,
        buttons=buttons,
        locks=locks,
        client_mouse=session.mouse_mode == MouseMode.CLIENT,
        monitors=session.agent.requested_monitors,
        clipboard=session.agent.clipboard.owned(),
        layout=layout,
    )


async def restore_inputs(session: Session, state: CarriedState) -> None:
    """Let go on ``session`` of what was held, set the locks and the typing layout, and ask for
    client mouse mode again."""
    client = MouseMode.CLIENT
    if state.client_mouse and client in session.supported_mouse_modes and session.mouse_mode != client:
        await session.request_mouse_mode(MouseMode.CLIENT)
    try:
        inputs = session.inputs
    except ChannelUnavailable:
        return
    if state.layout is not None:
        inputs.layout = state.layout
    for code in sorted(state.keys_down):
        await inputs.key_up(code)
    for button in state.buttons:
        await inputs.mouse_release(button)
    if state.locks is not None:
        await inputs.set_locks(state.locks)


async def restore_agent(session: Session, state: CarriedState, timeout: float = 30.0) -> bool:
    """Once ``session``'s agent is ready (up to ``timeout`` s), ask again for the monitor layout and
    offer the clipboard we owned; ``False`` when the agent did not come or refused."""
    if state.monitors is None and not state.clipboard:
        return True
    try:
        await session.agent.ready(timeout)
        if state.monitors is not None:
            await session.set_monitors(state.monitors, timeout=timeout)
        for selection, offer in state.clipboard.items():
            await session.agent.clipboard.offer(selection, offer, timeout=timeout)
    except AgentError:
        return False
    return True
