"""The link stage: the packets exchanged before any message.

The client sends a :class:`LinkHeader` followed by a :class:`LinkMess`; the
server answers a :class:`LinkHeader` followed by a :class:`LinkReply` (its
public key and capabilities).  The client then sends, when both sides
advertise ``CommonCap.PROTOCOL_AUTH_SELECTION``, a u32 :class:`AuthMechanism`,
then the ``ENCRYPTED_TICKET_SIZE``-byte encrypted password; the server answers
a u32 :class:`LinkErr`.  All integers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import field
from enum import IntEnum

from ._caps import Caps
from ._enums import TICKET_PUBKEY_BYTES, VERSION_MAJOR, VERSION_MINOR, ChannelType, LinkErr
from ._errors import ProtocolError
from ._frozen import frozen
from ._wire import Reader

__all__ = [
    "ENCRYPTED_TICKET_SIZE",
    "LINK_HEADER_SIZE",
    "LINK_MAGIC",
    "LINK_MESS_SIZE",
    "LINK_REPLY_SIZE",
    "MAX_LINK_SIZE",
    "AuthMechanism",
    "LinkHeader",
    "LinkMess",
    "LinkReply",
]

LINK_MAGIC = b"REDQ"
#: Size of the RSA-1024 ciphertext that carries the password.
ENCRYPTED_TICKET_SIZE = 128
LINK_HEADER_SIZE = 16
#: Fixed part of SpiceLinkMess; the capability words follow.
LINK_MESS_SIZE = 18
#: Fixed part of SpiceLinkReply (error, 162-byte key, two counts, offset).
LINK_REPLY_SIZE = 4 + TICKET_PUBKEY_BYTES + 12
#: Upper bound we accept for a link packet body (real ones are well under 1 KiB).
MAX_LINK_SIZE = 64 * 1024

_HEADER = struct.Struct("<4sIII")
_MESS = struct.Struct("<IBBIII")
_REPLY_TAIL = struct.Struct("<III")


class AuthMechanism(IntEnum):
    """The u32 a client sends first when both sides advertise auth selection."""

    SPICE = 1
    SASL = 2


@frozen
class LinkHeader:
    """SpiceLinkHeader: magic ``REDQ``, protocol version, size of the packet that follows."""

    major_version: int = VERSION_MAJOR
    minor_version: int = VERSION_MINOR
    size: int = 0

    def encode(self) -> bytes:
        return _HEADER.pack(LINK_MAGIC, self.major_version, self.minor_version, self.size)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> LinkHeader:
        """Decode 16 bytes; a wrong magic or a short buffer raises :class:`ProtocolError`."""
        if len(data) < LINK_HEADER_SIZE:
            raise ProtocolError(
                f"needs {LINK_HEADER_SIZE} bytes, got {len(data)}", where="LinkHeader", offset=0
            )
        magic, major, minor, size = _HEADER.unpack_from(data)
        if magic != LINK_MAGIC:
            raise ProtocolError(
                f"bad magic {bytes(magic)!r}, expected {LINK_MAGIC!r}",
                where="LinkHeader",
                field="magic",
                offset=0,
            )
        return cls(major, minor, size)


def _caps_layout(common: Caps, channel: Caps, fixed: int) -> tuple[list[int], list[int], int]:
    cw, chw = common.words(), channel.words()
    return cw, chw, fixed + 4 * (len(cw) + len(chw))


def _read_caps(r: Reader, fixed: int, n_common: int, n_channel: int, offset: int) -> tuple[Caps, Caps]:
    if offset < fixed:
        raise ProtocolError(
            f"caps_offset {offset} points inside the fixed part ({fixed} bytes)",
            where=r.where,
            field="caps_offset",
        )
    cr = r.at(offset, "caps_offset")
    words = cr.array(n_common + n_channel, lambda rr: rr.u32("caps"), "caps", 4)
    return Caps.from_words(words[:n_common]), Caps.from_words(words[n_common:])


@frozen
class LinkMess:
    """SpiceLinkMess: what channel the client wants and its capabilities."""

    connection_id: int
    channel_type: ChannelType | int
    channel_id: int = 0
    common_caps: Caps = field(default_factory=Caps)
    channel_caps: Caps = field(default_factory=Caps)

    def encode(self) -> bytes:
        """The packet body (without the :class:`LinkHeader`)."""
        cw, chw, _ = _caps_layout(self.common_caps, self.channel_caps, LINK_MESS_SIZE)
        head = _MESS.pack(
            self.connection_id, int(self.channel_type), self.channel_id, len(cw), len(chw), LINK_MESS_SIZE
        )
        return head + struct.pack(f"<{len(cw) + len(chw)}I", *cw, *chw)

    def encode_with_header(self) -> bytes:
        """:class:`LinkHeader` plus body, ready to send."""
        body = self.encode()
        return LinkHeader(size=len(body)).encode() + body

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> LinkMess:
        r = Reader(data, "LinkMess")
        connection_id = r.u32("connection_id")
        raw_type = r.u8("channel_type")
        channel_id = r.u8("channel_id")
        n_common = r.u32("num_common_caps")
        n_channel = r.u32("num_channel_caps")
        offset = r.u32("caps_offset")
        common, channel = _read_caps(r, LINK_MESS_SIZE, n_common, n_channel, offset)
        try:
            channel_type: ChannelType | int = ChannelType(raw_type)
        except ValueError:
            channel_type = raw_type
        return cls(connection_id, channel_type, channel_id, common, channel)


@frozen
class LinkReply:
    """SpiceLinkReply: the link error, the server's RSA public key (DER) and its capabilities."""

    error: LinkErr
    pub_key: bytes = bytes(TICKET_PUBKEY_BYTES)
    common_caps: Caps = field(default_factory=Caps)
    channel_caps: Caps = field(default_factory=Caps)

    def encode(self) -> bytes:
        """The packet body (without the :class:`LinkHeader`)."""
        if len(self.pub_key) != TICKET_PUBKEY_BYTES:
            raise ValueError(f"pub_key must be {TICKET_PUBKEY_BYTES} bytes, got {len(self.pub_key)}")
        cw, chw, _ = _caps_layout(self.common_caps, self.channel_caps, LINK_REPLY_SIZE)
        return (
            struct.pack("<I", int(self.error))
            + self.pub_key
            + _REPLY_TAIL.pack(len(cw), len(chw), LINK_REPLY_SIZE)
            + struct.pack(f"<{len(cw) + len(chw)}I", *cw, *chw)
        )

    def encode_with_header(self) -> bytes:
        """:class:`LinkHeader` plus body, ready to send."""
        body = self.encode()
        return LinkHeader(size=len(body)).encode() + body

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> LinkReply:
        r = Reader(data, "LinkReply")
        raw_error = r.u32("error")
        try:
            error = LinkErr(raw_error)
        except ValueError:
            raise r.fail(f"unknown link error {raw_error}", "error") from None
        if error != LinkErr.OK:
            # The error is all that matters: some servers cut an error reply short, and
            # libspice-server sends it full length but zeroed (caps_offset 0 included).
            return cls(error)
        pub_key = r.bytes(TICKET_PUBKEY_BYTES, "pub_key")
        n_common = r.u32("num_common_caps")
        n_channel = r.u32("num_channel_caps")
        offset = r.u32("caps_offset")
        common, channel = _read_caps(r, LINK_REPLY_SIZE, n_common, n_channel, offset)
        return cls(error, pub_key, common, channel)
