"""Embeddable SPICE server for trio: serve any framebuffer to real SPICE clients.

::

    framebuffer = spice_server.Framebuffer(640, 480)
    server = spice_server.Server(framebuffer, password="secret")
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, "127.0.0.1", 5900)
        framebuffer.fill((0, 64, 128))
        async for event in server.input_events():
            print(event)

What only someone building their own server loop needs (the per-client display
pipeline, the image encoder, the inputs state machine) is in :mod:`spice_server.lowlevel`.
"""

# Grouped by role, not by module name:
# isort: skip_file

# --- The server and its clients
from ._server import Server as Server, ServerAddress as ServerAddress
from ._client import ClientSession as ClientSession
from ._compress import Compression as Compression
from ._video import StreamingMode as StreamingMode

# --- What the clients see
from ._source import (
    PIXEL_FORMATS as PIXEL_FORMATS,
    DamageListener as DamageListener,
    Frame as Frame,
    Framebuffer as Framebuffer,
    FrameSource as FrameSource,
    ScrollListener as ScrollListener,
    SourceError as SourceError,
    image_source as image_source,
)
from ._heads import Heads as Heads
from ._demo import DemoSource as DemoSource
from ._demo_audio import run_demo_audio as run_demo_audio
from ._cursor import CursorShape as CursorShape, default_cursor as default_cursor

# --- What the clients do
from ._events import (
    ButtonEvent as ButtonEvent,
    InputEvent as InputEvent,
    KeyEvent as KeyEvent,
    ModifiersEvent as ModifiersEvent,
    MotionEvent as MotionEvent,
    PointerEvent as PointerEvent,
)

# --- The built-in guest agent: clipboard, resize requests, files from clients
from ._agent import (
    AgentError as AgentError,
    AgentEvent as AgentEvent,
    ClipboardOffered as ClipboardOffered,
    DisplayConfigured as DisplayConfigured,
    FileReceived as FileReceived,
    GuestAgent as GuestAgent,
    ResizeRequested as ResizeRequested,
)

# --- Port channels: named byte pipes to each client
from ._ports import PortConnection as PortConnection, ServerPort as ServerPort

# --- Sound
from ._audio import AUDIO_RATE as AUDIO_RATE, AudioSource as AudioSource, RecordedAudio as RecordedAudio

from . import lowlevel as lowlevel
from spice_proto.lowlevel import publish as _publish

__version__ = "0.1.0"

__all__ = _publish(__name__, globals())
