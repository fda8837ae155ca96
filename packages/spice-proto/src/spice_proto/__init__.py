"""SPICE wire format, sans-I/O.

Constants (generated from the spice-protocol headers), the link stage, data headers,
message bodies of the main, display, inputs, cursor, playback and record channels, and a
:class:`Connection` state machine that turns bytes into events and back.  Nothing here
does I/O; ``spice_net`` moves the bytes.  What only someone adding a message, a structure
or a channel needs (readers, writers, field codecs, the message registry) is in
:mod:`spice_proto.lowlevel`.
"""

# Grouped by channel, not by module name:
# isort: skip_file
# Importing a message module registers its message classes with the decoder registry.

# --- Errors, capability sets and the message base
from ._errors import ProtocolError as ProtocolError
from ._caps import Caps as Caps
from ._message import (
    Direction as Direction,
    Message as Message,
    UnknownMessage as UnknownMessage,
    decode_message as decode_message,
)
from ._wire import Payload as Payload

# --- The channel state machine and its events
from ._connection import (
    DEFAULT_COMMON_CAPS as DEFAULT_COMMON_CAPS,
    NEED_DATA as NEED_DATA,
    Connection as Connection,
    ConnectionClosed as ConnectionClosed,
    ConnectionState as ConnectionState,
    Event as Event,
    LinkEstablished as LinkEstablished,
    LinkFailed as LinkFailed,
    LinkReplyReceived as LinkReplyReceived,
    LinkRequested as LinkRequested,
    MessageReceived as MessageReceived,
    NeedData as NeedData,
    Role as Role,
    SaslMechanisms as SaslMechanisms,
    SaslLayerStarted as SaslLayerStarted,
    SaslReply as SaslReply,
    SaslStartReceived as SaslStartReceived,
    SaslStepReceived as SaslStepReceived,
    TicketReceived as TicketReceived,
)

# --- Link stage
from ._link import (
    ENCRYPTED_TICKET_SIZE as ENCRYPTED_TICKET_SIZE,
    LINK_HEADER_SIZE as LINK_HEADER_SIZE,
    LINK_MAGIC as LINK_MAGIC,
    LINK_MESS_SIZE as LINK_MESS_SIZE,
    LINK_REPLY_SIZE as LINK_REPLY_SIZE,
    MAX_LINK_SIZE as MAX_LINK_SIZE,
    AuthMechanism as AuthMechanism,
    LinkHeader as LinkHeader,
    LinkMess as LinkMess,
    LinkReply as LinkReply,
)

# --- Data headers
from ._header import (
    DATA_HEADER_SIZE as DATA_HEADER_SIZE,
    MINI_HEADER_SIZE as MINI_HEADER_SIZE,
    DataHeader as DataHeader,
    MiniHeader as MiniHeader,
)

# --- Constants generated from the spice-protocol headers
from ._enums import (
    INPUT_MOTION_ACK_BUNCH as INPUT_MOTION_ACK_BUNCH,
    MAX_NUM_STREAMS as MAX_NUM_STREAMS,
    MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH,
    TICKET_KEY_PAIR_BITS as TICKET_KEY_PAIR_BITS,
    TICKET_PUBKEY_BYTES as TICKET_PUBKEY_BYTES,
    VERSION_MAJOR as VERSION_MAJOR,
    VERSION_MINOR as VERSION_MINOR,
    AlphaFlags as AlphaFlags,
    AudioDataMode as AudioDataMode,
    AudioFmt as AudioFmt,
    BitmapFlags as BitmapFlags,
    BitmapFmt as BitmapFmt,
    BrushType as BrushType,
    ChannelType as ChannelType,
    ClipType as ClipType,
    CommonCap as CommonCap,
    CommonMsg as CommonMsg,
    CommonMsgc as CommonMsgc,
    CompositeFlags as CompositeFlags,
    CursorFlags as CursorFlags,
    CursorMsg as CursorMsg,
    CursorType as CursorType,
    DataCompressionType as DataCompressionType,
    DisplayCap as DisplayCap,
    DisplayMsg as DisplayMsg,
    DisplayMsgc as DisplayMsgc,
    GlScanoutFlags as GlScanoutFlags,
    ImageCompression as ImageCompression,
    ImageFlags as ImageFlags,
    ImageScaleMode as ImageScaleMode,
    ImageType as ImageType,
    InfoCode as InfoCode,
    InputsCap as InputsCap,
    InputsMsg as InputsMsg,
    InputsMsgc as InputsMsgc,
    JpegAlphaFlags as JpegAlphaFlags,
    KeyboardModifierFlags as KeyboardModifierFlags,
    LineFlags as LineFlags,
    LinkErr as LinkErr,
    MainCap as MainCap,
    MainMsg as MainMsg,
    MainMsgc as MainMsgc,
    MaskFlags as MaskFlags,
    MigrateFlags as MigrateFlags,
    MouseButton as MouseButton,
    MouseButtonMask as MouseButtonMask,
    MouseMode as MouseMode,
    NotifySeverity as NotifySeverity,
    NotifyVisibility as NotifyVisibility,
    PathFlags as PathFlags,
    PlaybackCap as PlaybackCap,
    PlaybackMsg as PlaybackMsg,
    PortEvent as PortEvent,
    PortMsg as PortMsg,
    PortMsgc as PortMsgc,
    RecordCap as RecordCap,
    RecordMsg as RecordMsg,
    RecordMsgc as RecordMsgc,
    ResourceType as ResourceType,
    Ropd as Ropd,
    SmartcardMsg as SmartcardMsg,
    SmartcardMsgc as SmartcardMsgc,
    SpicevmcCap as SpicevmcCap,
    SpicevmcMsg as SpicevmcMsg,
    SpicevmcMsgc as SpicevmcMsgc,
    StreamFlags as StreamFlags,
    StringFlags as StringFlags,
    SurfaceFlags as SurfaceFlags,
    SurfaceFmt as SurfaceFmt,
    VideoCodecType as VideoCodecType,
    VscMessageType as VscMessageType,
    WarnCode as WarnCode,
)

# --- Messages valid on every channel
from ._msg_common import (
    Ack as Ack,
    AckSync as AckSync,
    ChannelWait as ChannelWait,
    ClientDisconnecting as ClientDisconnecting,
    ClientMigrateData as ClientMigrateData,
    Disconnecting as Disconnecting,
    Migrate as Migrate,
    MigrateData as MigrateData,
    MigrateFlushMark as MigrateFlushMark,
    Notify as Notify,
    Ping as Ping,
    Pong as Pong,
    SetAck as SetAck,
    WaitForChannels as WaitForChannels,
)

# --- Main channel
from ._msg_main import (
    ChannelId as ChannelId,
    MainAgentConnected as MainAgentConnected,
    MainAgentConnectedTokens as MainAgentConnectedTokens,
    MainAgentData as MainAgentData,
    MainAgentDisconnected as MainAgentDisconnected,
    MainAgentStart as MainAgentStart,
    MainAgentToken as MainAgentToken,
    MainAttachChannels as MainAttachChannels,
    MainChannelsList as MainChannelsList,
    MainClientAgentData as MainClientAgentData,
    MainClientAgentToken as MainClientAgentToken,
    MainClientInfo as MainClientInfo,
    MainClientMigrateEnd as MainClientMigrateEnd,
    MainInit as MainInit,
    MainMigrateBegin as MainMigrateBegin,
    MainMigrateBeginSeamless as MainMigrateBeginSeamless,
    MainMigrateCancel as MainMigrateCancel,
    MainMigrateConnectError as MainMigrateConnectError,
    MainMigrateConnected as MainMigrateConnected,
    MainMigrateConnectedSeamless as MainMigrateConnectedSeamless,
    MainMigrateDstDoSeamless as MainMigrateDstDoSeamless,
    MainMigrateDstSeamlessAck as MainMigrateDstSeamlessAck,
    MainMigrateDstSeamlessNack as MainMigrateDstSeamlessNack,
    MainMigrateEnd as MainMigrateEnd,
    MainMigrateSwitchHost as MainMigrateSwitchHost,
    MainMouseMode as MainMouseMode,
    MainMouseModeRequest as MainMouseModeRequest,
    MainMultiMediaTime as MainMultiMediaTime,
    MainName as MainName,
    MainQualityIndicator as MainQualityIndicator,
    MainUuid as MainUuid,
    MigrationDstInfo as MigrationDstInfo,
)

# --- VDAgent messages, carried in main channel AGENT_DATA
from ._agent import (
    AGENT_MAX_DATA_SIZE as AGENT_MAX_DATA_SIZE,
    AGENT_PROTOCOL as AGENT_PROTOCOL,
    AgentAnnounceCapabilities as AgentAnnounceCapabilities,
    AgentCap as AgentCap,
    AgentMessage as AgentMessage,
    AgentMessageType as AgentMessageType,
    AgentMonConfig as AgentMonConfig,
    AgentMonitorsConfig as AgentMonitorsConfig,
    AgentMonitorsFlags as AgentMonitorsFlags,
    AgentReply as AgentReply,
    AgentStream as AgentStream,
    agent_chunks as agent_chunks,
)
from ._agent_link import AgentLink as AgentLink
from ._agent_msgs import (
    AgentClipboard as AgentClipboard,
    AgentClipboardGrab as AgentClipboardGrab,
    AgentClipboardLayout as AgentClipboardLayout,
    AgentClipboardRelease as AgentClipboardRelease,
    AgentClipboardRequest as AgentClipboardRequest,
    AgentClipboardType as AgentClipboardType,
    AgentDisplayConfig as AgentDisplayConfig,
    AgentDisplayConfigFlags as AgentDisplayConfigFlags,
    AgentFileXferData as AgentFileXferData,
    AgentFileXferStart as AgentFileXferStart,
    AgentFileXferStatus as AgentFileXferStatus,
    AgentFileXferStatusCode as AgentFileXferStatusCode,
    AgentMaxClipboard as AgentMaxClipboard,
    AgentSelection as AgentSelection,
)

# --- Display channel: surfaces, monitors, invalidation, GL
from ._msg_display import (
    INVALID_STREAM_DROPS as INVALID_STREAM_DROPS,
    DisplayGlDraw as DisplayGlDraw,
    DisplayGlDrawDone as DisplayGlDrawDone,
    DisplayGlScanoutUnix as DisplayGlScanoutUnix,
    DisplayInit as DisplayInit,
    DisplayInvalAllPalettes as DisplayInvalAllPalettes,
    DisplayInvalAllPixmaps as DisplayInvalAllPixmaps,
    DisplayInvalList as DisplayInvalList,
    DisplayInvalPalette as DisplayInvalPalette,
    DisplayMark as DisplayMark,
    DisplayMode as DisplayMode,
    DisplayMonitorsConfig as DisplayMonitorsConfig,
    DisplayPreferredCompression as DisplayPreferredCompression,
    DisplayPreferredVideoCodecType as DisplayPreferredVideoCodecType,
    DisplayQualityIndicator as DisplayQualityIndicator,
    DisplayReset as DisplayReset,
    DisplayStreamReport as DisplayStreamReport,
    DisplaySurfaceCreate as DisplaySurfaceCreate,
    DisplaySurfaceDestroy as DisplaySurfaceDestroy,
)

# --- Display channel: drawing commands
from ._display_draw import (
    DisplayCopyBits as DisplayCopyBits,
    DisplayDrawAlphaBlend as DisplayDrawAlphaBlend,
    DisplayDrawBlackness as DisplayDrawBlackness,
    DisplayDrawBlend as DisplayDrawBlend,
    DisplayDrawComposite as DisplayDrawComposite,
    DisplayDrawCopy as DisplayDrawCopy,
    DisplayDrawFill as DisplayDrawFill,
    DisplayDrawInvers as DisplayDrawInvers,
    DisplayDrawOpaque as DisplayDrawOpaque,
    DisplayDrawRop3 as DisplayDrawRop3,
    DisplayDrawStroke as DisplayDrawStroke,
    DisplayDrawText as DisplayDrawText,
    DisplayDrawTransparent as DisplayDrawTransparent,
    DisplayDrawWhiteness as DisplayDrawWhiteness,
)

# --- Display channel: video streams
from ._display_stream import (
    DisplayStreamActivateReport as DisplayStreamActivateReport,
    DisplayStreamClip as DisplayStreamClip,
    DisplayStreamCreate as DisplayStreamCreate,
    DisplayStreamData as DisplayStreamData,
    DisplayStreamDataSized as DisplayStreamDataSized,
    DisplayStreamDestroy as DisplayStreamDestroy,
    DisplayStreamDestroyAll as DisplayStreamDestroyAll,
)

# --- Display channel: structures the drawing commands carry
from ._display_types import (
    Brush as Brush,
    Clip as Clip,
    DisplayBase as DisplayBase,
    GlyphString as GlyphString,
    Head as Head,
    LineAttr as LineAttr,
    Path as Path,
    PathSegment as PathSegment,
    Pattern as Pattern,
    Point as Point,
    Point16 as Point16,
    PointFix as PointFix,
    QMask as QMask,
    RasterGlyph as RasterGlyph,
    Rect as Rect,
    ResourceId as ResourceId,
    Transform as Transform,
)

# --- Display channel: images
from ._display_images import (
    BinaryImage as BinaryImage,
    BitmapImage as BitmapImage,
    FromCacheImage as FromCacheImage,
    FromCacheLosslessImage as FromCacheLosslessImage,
    GlzRgbImage as GlzRgbImage,
    Image as Image,
    ImageDescriptor as ImageDescriptor,
    JpegAlphaImage as JpegAlphaImage,
    JpegImage as JpegImage,
    Lz4Image as Lz4Image,
    LzPltImage as LzPltImage,
    LzRgbImage as LzRgbImage,
    Palette as Palette,
    QuicImage as QuicImage,
    SurfaceImage as SurfaceImage,
    ZlibGlzRgbImage as ZlibGlzRgbImage,
)

# --- Inputs channel
from ._msg_inputs import (
    InputsClientKeyModifiers as InputsClientKeyModifiers,
    InputsInit as InputsInit,
    InputsKeyDown as InputsKeyDown,
    InputsKeyModifiers as InputsKeyModifiers,
    InputsKeyScancode as InputsKeyScancode,
    InputsKeyUp as InputsKeyUp,
    InputsMouseMotion as InputsMouseMotion,
    InputsMouseMotionAck as InputsMouseMotionAck,
    InputsMousePosition as InputsMousePosition,
    InputsMousePress as InputsMousePress,
    InputsMouseRelease as InputsMouseRelease,
    key_press as key_press,
    key_release as key_release,
    type_text as type_text,
)

# --- PC AT set-1 scancodes and the US keymap
from ._keys import (
    KEY_NAMES as KEY_NAMES,
    US_KEYMAP as US_KEYMAP,
    key_char as key_char,
    key_code as key_code,
    scancode_bytes as scancode_bytes,
    scancode_down as scancode_down,
    scancode_up as scancode_up,
)

# --- Cursor channel
from ._msg_cursor import (
    Cursor as Cursor,
    CursorHeader as CursorHeader,
    CursorHide as CursorHide,
    CursorInit as CursorInit,
    CursorInvalAll as CursorInvalAll,
    CursorInvalOne as CursorInvalOne,
    CursorMove as CursorMove,
    CursorReset as CursorReset,
    CursorSet as CursorSet,
    CursorTrail as CursorTrail,
    cursor_data_size as cursor_data_size,
)

# --- Playback and record channels
from ._msg_audio import (
    PlaybackData as PlaybackData,
    PlaybackLatency as PlaybackLatency,
    PlaybackMode as PlaybackMode,
    PlaybackMute as PlaybackMute,
    PlaybackStart as PlaybackStart,
    PlaybackStop as PlaybackStop,
    PlaybackVolume as PlaybackVolume,
    RecordClientData as RecordClientData,
    RecordClientMode as RecordClientMode,
    RecordClientStartMark as RecordClientStartMark,
    RecordMute as RecordMute,
    RecordStart as RecordStart,
    RecordStop as RecordStop,
    RecordVolume as RecordVolume,
)

from . import lowlevel as lowlevel
from ._public import publish as _publish

__version__ = "0.1.0"

__all__ = _publish(__name__, globals())
