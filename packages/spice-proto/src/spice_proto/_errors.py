"""The one exception type of spice_proto."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Bytes that do not form a valid SPICE message, header or link packet.

    ``where`` names what was being read (a message or structure), ``field`` the
    field, ``offset`` the byte offset inside that body, when known.
    """

    def __init__(
        self,
        reason: str,
        *,
        where: str | None = None,
        field: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.where = where
        self.field = field
        self.offset = offset
        parts = []
        if where:
            parts.append(where)
        if field:
            parts.append(f"field {field!r}")
        if offset is not None:
            parts.append(f"at offset {offset}")
        prefix = (", ".join(parts) + ": ") if parts else ""
        super().__init__(prefix + reason)
