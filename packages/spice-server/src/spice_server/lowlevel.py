"""What only someone driving clients without :class:`spice_server.Server` needs.

:class:`DisplayPipeline` turns the damage of a :class:`~spice_server.FrameSource` into
display messages for one client (sans-I/O): take :meth:`DisplayPipeline.items` and run
each :class:`Job` (an encode, in any thread) before taking the next.  :class:`ImageEncoder`
picks and runs the image codec, :class:`InputsState` turns inputs-channel messages into
:mod:`spice_server` input events.
"""

# isort: skip_file

# --- Display
from ._pipeline import DisplayPipeline as DisplayPipeline
from ._draw import Job as Job
from ._region import DirtyRegion as DirtyRegion
from ._compress import (
    TINY_AREA as TINY_AREA,
    Codec as Codec,
    ImageEncoder as ImageEncoder,
    is_photo_like as is_photo_like,
)

# --- Inputs
from ._inputs import InputsState as InputsState, ScancodeParser as ScancodeParser

# --- Link decisions
from ._server import SERVER_CHANNEL_CAPS as SERVER_CHANNEL_CAPS
from ._audio import audio_caps as audio_caps

from spice_proto.lowlevel import publish as _publish

__all__ = _publish(__name__, globals())
