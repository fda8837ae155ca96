"""What only someone adding a message, a structure, a codec or a channel needs.

A message is a frozen dataclass subclassing :class:`spice_proto.Message` with a codec
declared next to each field (``x: Annotated[int, U32]``), made with :func:`frozen` (or
:func:`frozen_kw`) as ours are: ``dataclass(frozen=True)`` that compiles three methods a
class instead of six, which halves what importing 250 of them costs; :func:`register` makes
:func:`spice_proto.decode_message` find it.  :class:`Codec` is the contract a field codec
fulfils, :class:`Reader` and :class:`Writer` move its bytes, and :class:`OutWriter` lays
out what u32 pointers refer to.  The payload type of image data and video frames is
:data:`spice_proto.Payload`.  :func:`publish` makes a public module's re-exports name
that module in ``__module__``.
"""

# Grouped by layer, not by module name:
# isort: skip_file

# --- Bytes in and out
from ._wire import Reader as Reader, Writer as Writer

# --- The message registry
from ._message import (
    message_class as message_class,
    register as register,
    registered_messages as registered_messages,
)
from ._display_images import image_class as image_class

# --- The codec contract and layouts
from ._fields import (
    Codec as Codec,
    Entry as Entry,
    Layout as Layout,
    OutWriter as OutWriter,
    Struct as Struct,
    at as at,
    layout as layout,
    read_bytes as read_bytes,
    read_fields as read_fields,
    read_payload as read_payload,
    read_pointer as read_pointer,
    require_pointer as require_pointer,
    sub as sub,
    write_fields as write_fields,
)

# --- The stock field codecs
from ._field_codecs import (
    BOOL8 as BOOL8,
    BOOL32 as BOOL32,
    I16 as I16,
    I32 as I32,
    I64 as I64,
    U8 as U8,
    U16 as U16,
    U32 as U32,
    U64 as U64,
    CString as CString,
    Counted as Counted,
    EnumScalar as EnumScalar,
    Fixed as Fixed,
    Items as Items,
    LengthOf as LengthOf,
    PointedCString as PointedCString,
    Pointer as Pointer,
    Rest as Rest,
    Scalar as Scalar,
    SizedBytes as SizedBytes,
    Text as Text,
    Var as Var,
    When as When,
    bit_flags as bit_flags,
    fixed_bytes as fixed_bytes,
    lenient as lenient,
)

# --- Presenting a package's re-exports and making records (used by every package of the monorepo)
from ._public import lazy_attributes as lazy_attributes, publish as publish
from ._frozen import frozen as frozen, frozen_kw as frozen_kw

__all__ = publish(__name__, globals())
