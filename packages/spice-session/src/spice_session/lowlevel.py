"""What only someone extending the client or reaching under a session needs.

The capabilities a session offers, URI redaction, .vv parsing and the memory budget's bounds and
parser, the per-channel display state and its caches, the video stream manager,
decoders, media clock and A/V presenter, the needle matcher, the USB HID to PC scancode
tables, pointer and typing pacing, and the audio codecs and buffers.
"""

# Grouped by purpose, not by module name:
# isort: skip_file

import typing as _typing_module

# --- Connecting: capabilities, URIs, the memory budget's bounds
from ._channels import CLIENT_CHANNEL_CAPS as CLIENT_CHANNEL_CAPS, channel_name as channel_name
from ._agent import CLIENT_AGENT_CAPS as CLIENT_AGENT_CAPS
from ._uri import redact_uri as redact_uri
from ._vv import InvalidVVFile as InvalidVVFile, parse_vv as parse_vv, KEEP_FILE_ENV as KEEP_FILE_ENV
from ._vv_version import (
    OWN_OS_ID as OWN_OS_ID,
    VersionCheck as VersionCheck,
    check_vv_versions as check_vv_versions,
    compare_versions as compare_versions,
)
from ._connector import PROXY_ENV as PROXY_ENV, is_vv_path as is_vv_path
from ._reconnect import (
    Backoff as Backoff,
    ReconnectNotice as ReconnectNotice,
    SessionLost as SessionLost,
    TicketExpired as TicketExpired,
)
from ._budget import DEFAULT_MEMORY_BUDGET as DEFAULT_MEMORY_BUDGET, parse_size as parse_size
from ._session import MIN_MEMORY_BUDGET as MIN_MEMORY_BUDGET

# --- What session.stats reports
from ._stats import ChannelStats as ChannelStats, SessionStats as SessionStats, tcp_rtt_ms as tcp_rtt_ms

# --- Display: per-channel state, caches, video streams
from ._display import DisplayChannelState as DisplayChannelState
from ._image_cache import ImageStore as ImageStore, PaletteCache as PaletteCache
from ._pixels import Pixels as Pixels
from ._streams import StreamManager as StreamManager
from ._mediaclock import MediaClock as MediaClock
from ._video import FrameBuffers as FrameBuffers, make_decoder as make_decoder
from ._presenter import MediaPresenter as MediaPresenter

# --- Finding a picture: the matcher under Driver.expect
from ._match import find as find

# --- Extra channels: PORT_INIT, webdav, folder sharing (USB: imported on first use, below)
from ._port import PortInit as PortInit, parse_port_init as parse_port_init
from ._webdav_mux import WebdavMux as WebdavMux
from ._share import FolderShare as FolderShare

# --- Keyboard and mouse: HID usages to PC AT set-1 scancodes, pacing
from ._keymap import (
    HID_KEY_NAMES as HID_KEY_NAMES,
    HID_TO_SET1 as HID_TO_SET1,
    PAUSE as PAUSE,
    PAUSE_E1_SEQUENCE as PAUSE_E1_SEQUENCE,
    hid_to_set1 as hid_to_set1,
)
from ._inputs import MotionPacer as MotionPacer
from ._typing import PacingMode as PacingMode

# --- Audio: codecs, sample conversion, buffers, the record state machine
from ._audio import (
    OpusDecoder as OpusDecoder,
    OpusEncoder as OpusEncoder,
    RawDecoder as RawDecoder,
    RawEncoder as RawEncoder,
    apply_volume as apply_volume,
    remix as remix,
    resample as resample,
)
from ._playback import JitterBuffer as JitterBuffer, playback_caps as playback_caps
from ._record import AudioInput as AudioInput, Recorder as Recorder, record_caps as record_caps

# --- USB: what an attachment and a virtual disk are, libusb and HID devices, the usbredir
# host and filters; these modules (and spice_proto.usbredir) load when one is first used
if _typing_module.TYPE_CHECKING:
    from ._usb import UsbAttachment as UsbAttachment
    from ._usb_storage import MassStorage as MassStorage
    from ._usb_libusb import (
        LibusbDevice as LibusbDevice,
        UsbDeviceError as UsbDeviceError,
        open_usb_device as open_usb_device,
        parse_device_id as parse_device_id,
    )
    from ._usb_hid import (
        HidKeyboard as HidKeyboard,
        HidMouse as HidMouse,
        usb_keyboard as usb_keyboard,
        usb_mouse as usb_mouse,
    )
    from spice_proto.usbredir import UsbRedirParser as UsbRedirParser
    from ._usb_host import UsbRedirHost as UsbRedirHost
    from ._usbredir_filter import (
        FilterRule as FilterRule,
        FilterVerdict as FilterVerdict,
        UsbFilterError as UsbFilterError,
        check_filter as check_filter,
        parse_filter as parse_filter,
    )
from spice_proto.lowlevel import lazy_attributes as _lazy_attributes, publish as _publish

_LAZY = {
    "UsbAttachment": "spice_session._usb",
    "MassStorage": "spice_session._usb_storage",
    **dict.fromkeys(
        ("LibusbDevice", "UsbDeviceError", "open_usb_device", "parse_device_id"), "spice_session._usb_libusb"
    ),
    **dict.fromkeys(("HidKeyboard", "HidMouse", "usb_keyboard", "usb_mouse"), "spice_session._usb_hid"),
    "UsbRedirParser": "spice_proto.usbredir",
    "UsbRedirHost": "spice_session._usb_host",
    **dict.fromkeys(
        ("FilterRule", "FilterVerdict", "UsbFilterError", "check_filter", "parse_filter"),
        "spice_session._usbredir_filter",
    ),
}

__all__ = _publish(__name__, globals(), _LAZY)
__getattr__ = _lazy_attributes(__name__, globals(), _LAZY)
