"""QEMU's playback and record channels (intel-hda + hda-duplex, ``-audiodev spice``) with no guest:
both link with our audio capabilities, and with nothing playing or recording nothing flows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.qemu import Qemu

pytestmark = pytest.mark.interop


async def test_playback_and_record_link_with_no_guest(qemu_factory: Callable[..., Qemu]) -> None:
    vm = qemu_factory(audio=True)
    opened: dict[sp.ChannelType | int, ss.events.ChannelOpened] = {}
    audio_events: list[ss.events.Event] = []
    with trio.fail_after(30):
        async with ss.connect(vm.uri, audio=True) as session:
            record = session.record
            record.source = ss.ArraySource(ss.tone(700, 1.0), 48000)
            with trio.move_on_after(1.5):
                async for event in session.events():
                    if isinstance(event, ss.events.ChannelOpened):
                        opened[event.channel_type] = event
                    elif isinstance(
                        event,
                        (
                            ss.events.AudioChunk,
                            ss.events.PlaybackStarted,
                            ss.events.RecordStarted,
                            ss.events.AudioProblem,
                        ),
                    ):
                        audio_events.append(event)
            assert (sp.ChannelType.PLAYBACK, 0) in session.opened
            assert (sp.ChannelType.RECORD, 0) in session.opened
            assert not session.playback.playing and not record.recorder.recording
            assert record.frames_sent == 0
    playback, rec = opened[sp.ChannelType.PLAYBACK], opened[sp.ChannelType.RECORD]
    # QEMU's libspice-server offers volume (and Opus when built with it) on both channels
    assert sp.PlaybackCap.VOLUME in playback.channel_caps and sp.RecordCap.VOLUME in rec.channel_caps
    print(f"QEMU playback caps {sorted(playback.channel_caps)}, record caps {sorted(rec.channel_caps)}")
    assert audio_events == []  # no guest: nothing is played or recorded
