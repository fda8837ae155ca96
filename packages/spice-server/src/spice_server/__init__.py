"""Embeddable SPICE server for trio: serve any framebuffer to real SPICE clients.

::

    server = spice_server.Server(spice_server.Framebuffer(640, 480), password="secret")
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 5900)
        server.display.fill((0, 64, 128))
        async for event in server.input_events():
            print(event)
"""

from ._audio import AUDIO_RATE, AudioSource, RecordedAudio, audio_caps
from ._client import ClientSession
from ._compress import TINY_AREA, Codec, Compression, ImageEncoder, is_photo_like
from ._cursor import CursorShape, default_cursor
from ._demo import DemoSource
from ._events import ButtonEvent, InputEvent, KeyEvent, ModifiersEvent, MotionEvent, PointerEvent
from ._inputs import InputsState, ScancodeParser
from ._pipeline import DisplayPipeline, Job, split_box
from ._region import Box, DirtyRegion
from ._server import SERVER_CHANNEL_CAPS, Server, ServerAddress
from ._source import (
    PIXEL_FORMATS,
    DamageListener,
    Frame,
    Framebuffer,
    FrameSource,
    ScrollListener,
    SourceError,
    image_source,
)
from ._video import StreamingMode

__version__ = "0.1.0"

__all__ = [
    "AUDIO_RATE",
    "PIXEL_FORMATS",
    "SERVER_CHANNEL_CAPS",
    "TINY_AREA",
    "AudioSource",
    "Box",
    "ButtonEvent",
    "ClientSession",
    "Codec",
    "Compression",
    "CursorShape",
    "DamageListener",
    "DemoSource",
    "DirtyRegion",
    "DisplayPipeline",
    "Frame",
    "FrameSource",
    "Framebuffer",
    "ImageEncoder",
    "InputEvent",
    "InputsState",
    "Job",
    "KeyEvent",
    "ModifiersEvent",
    "MotionEvent",
    "PointerEvent",
    "RecordedAudio",
    "ScancodeParser",
    "ScrollListener",
    "Server",
    "ServerAddress",
    "SourceError",
    "StreamingMode",
    "__version__",
    "audio_caps",
    "default_cursor",
    "image_source",
    "is_photo_like",
    "split_box",
]
