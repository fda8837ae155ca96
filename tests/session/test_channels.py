"""Which listed channels a session opens, and how events are classified."""

from __future__ import annotations

import pytest
import spice_proto as sp
import spice_session as ss
from spice_proto import ChannelId, ChannelType
from spice_session._channels import ATTACHED_TYPES, channels_to_open
from spice_session._events import event_for


def test_channels_to_open_keeps_display_inputs_cursor_in_order() -> None:
    listed = [
        ChannelId(ChannelType.PLAYBACK, 0),
        ChannelId(ChannelType.DISPLAY, 0),
        ChannelId(ChannelType.USBREDIR, 0),
        ChannelId(ChannelType.CURSOR, 0),
        ChannelId(ChannelType.INPUTS, 0),
        ChannelId(ChannelType.DISPLAY, 1),
        ChannelId(ChannelType.RECORD, 0),
        ChannelId(ChannelType.DISPLAY, 0),  # duplicate
        ChannelId(ChannelType.MAIN, 0),
        ChannelId(42, 0),  # a channel type newer than us
    ]
    assert channels_to_open(listed) == [
        (ChannelType.DISPLAY, 0),
        (ChannelType.CURSOR, 0),
        (ChannelType.INPUTS, 0),
        (ChannelType.DISPLAY, 1),
    ]


def test_channels_to_open_empty_list() -> None:
    assert channels_to_open([]) == []


def test_channel_name() -> None:
    assert ss.lowlevel.channel_name(ChannelType.USBREDIR) == "usbredir"
    assert ss.lowlevel.channel_name(2) == "display"
    assert ss.lowlevel.channel_name(99) == "type-99"


_SURFACE = sp.DisplaySurfaceCreate(0, 1024, 768, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)


@pytest.mark.parametrize(
    ("channel", "message", "cls"),
    [
        (ChannelType.DISPLAY, _SURFACE, ss.events.SurfaceCreated),
        (ChannelType.DISPLAY, sp.DisplayMark(), ss.events.DisplayEvent),
        (
            ChannelType.MAIN,
            sp.MainMouseMode(sp.MouseMode(3), sp.MouseMode.CLIENT),
            ss.events.MouseModeChanged,
        ),
        (ChannelType.MAIN, sp.MainAgentConnected(), ss.events.MainEvent),
        (ChannelType.CURSOR, sp.CursorHide(), ss.events.CursorEvent),
        (ChannelType.INPUTS, sp.InputsMouseMotionAck(), ss.events.InputsEvent),
        (
            ChannelType.PLAYBACK,
            sp.UnknownMessage(5, sp.Direction.SERVER_TO_CLIENT, 101, b""),
            ss.events.MessageEvent,
        ),
    ],
)
def test_event_for(channel: ChannelType, message: sp.Message, cls: type[ss.events.MessageEvent]) -> None:
    event = event_for(channel, 0, message)
    assert type(event) is cls
    assert event.message is message and event.channel_type == channel


def test_draw_messages_become_draw_events() -> None:
    for number in sp.DisplayMsg:
        unknown = sp.UnknownMessage(ChannelType.DISPLAY, sp.Direction.SERVER_TO_CLIENT, int(number), b"")
        event = event_for(ChannelType.DISPLAY, 0, unknown)
        assert isinstance(event, ss.events.DrawEvent) == number.name.startswith("DRAW_"), number


def test_client_caps_cover_the_attached_types() -> None:
    for channel_type in (ChannelType.MAIN, *ATTACHED_TYPES):
        assert channel_type in ss.lowlevel.CLIENT_CHANNEL_CAPS
    assert sp.MainCap.NAME_AND_UUID in ss.lowlevel.CLIENT_CHANNEL_CAPS[ChannelType.MAIN]


def test_display_event_classes_are_those_of_event_for_and_none_for_housekeeping() -> None:
    """The display reader's per-class lookup agrees with event_for; SET_ACK and PING have no event."""
    from spice_session._session import _DISPLAY_EVENT_CLASSES, _display_event_class

    assert _display_event_class(sp.SetAck(1, 10)) is None
    assert _display_event_class(sp.Ping(1, 2)) is None
    assert _DISPLAY_EVENT_CLASSES[sp.Ping] is None  # kept by class
    for message in (_SURFACE, sp.DisplayMark(), sp.DisplayStreamDestroy(3)):
        assert _display_event_class(message) is type(event_for(ChannelType.DISPLAY, 0, message))
        assert _DISPLAY_EVENT_CLASSES[type(message)] is _display_event_class(message)
    # an unknown message goes by its own type, and is not kept under UnknownMessage
    for number in (int(sp.DisplayMsg.DRAW_FILL), int(sp.DisplayMsg.MARK), 999):
        unknown = sp.UnknownMessage(ChannelType.DISPLAY, sp.Direction.SERVER_TO_CLIENT, number, b"")
        assert _display_event_class(unknown) is type(event_for(ChannelType.DISPLAY, 0, unknown))
    assert sp.UnknownMessage not in _DISPLAY_EVENT_CLASSES
