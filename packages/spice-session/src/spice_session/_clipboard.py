"""The shared clipboard through the guest agent (``session.clipboard``).

We grab a selection with the types we offer and answer the agent's requests from what we
hold; the guest grabs, and we request its data when asked for it.  Text goes as UTF-8 with
the guest's line ending (CRLF when it announces GUEST_LINEEND_CRLF) and comes back with
``\\n``; images go as PNG, and a guest offering only BMP, TIFF or JPEG is asked for that and
converted to PNG (with Pillow).  With CLIPBOARD_GRAB_SERIAL both sides count grabs per
selection: a guest grab whose serial is not the current count lost a race with ours and is
ignored.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import trio
from spice_proto import (
    AgentCap,
    AgentClipboard,
    AgentClipboardGrab,
    AgentClipboardRelease,
    AgentClipboardRequest,
    AgentClipboardType,
    AgentMessage,
    AgentMessageType,
    AgentSelection,
)

from ._agent_events import ClipboardGrabbed, ClipboardReleased
from ._agent_port import AgentPort
from ._errors import AgentError

__all__ = ["PNG_SIGNATURE", "Clipboard", "to_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IMAGES = (
    AgentClipboardType.IMAGE_PNG,
    AgentClipboardType.IMAGE_BMP,
    AgentClipboardType.IMAGE_TIFF,
    AgentClipboardType.IMAGE_JPG,
)


def to_png(data: bytes, kind: int) -> bytes:
    """Clipboard image bytes of ``kind`` as PNG (needs Pillow for anything but PNG)."""

    if kind == AgentClipboardType.IMAGE_PNG:
        return data
    try:
        from PIL import Image
    except ImportError:
        raise AgentError("converting a BMP/TIFF/JPEG clipboard image to PNG needs Pillow") from None
    if kind == AgentClipboardType.IMAGE_BMP and not data.startswith(b"BM"):
        data = _bmp_file(data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.save(out, "PNG")
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AgentError(f"the guest's clipboard image cannot be read: {exc}") from None


def _bmp_file(dib: bytes) -> bytes:
    """A BITMAPINFO + pixels blob (as Windows guests send) with a BMP file header in front."""
    header = int.from_bytes(dib[:4], "little") if len(dib) >= 4 else 0
    offset = 14 + header
    if len(dib) >= 36 and header >= 40:
        bits = int.from_bytes(dib[14:16], "little")
        colours = int.from_bytes(dib[32:36], "little")
        compression = int.from_bytes(dib[16:20], "little")
        if bits <= 8:
            offset += 4 * (colours or 1 << bits)
        elif compression == 3 and header == 40:
            offset += 12
    size = 14 + len(dib)
    return b"BM" + size.to_bytes(4, "little") + bytes(4) + offset.to_bytes(4, "little") + dib


class Clipboard:
    """The guest clipboard: ``set_text``, ``set_image``, ``get_text``, ``get_image``, ``release``.

    ``guest_types[selection]`` is what the guest offers now (empty when it does not own it).
    ``max_size`` bounds what we accept from the guest.
    """

    def __init__(self, agent: AgentPort, max_size: int = 32 << 20) -> None:
        self._agent = agent
        self.max_size = max_size
        self.guest_types: dict[int, tuple[AgentClipboardType | int, ...]] = {}
        self._ours: dict[int, dict[int, bytes]] = {}
        self._serial: dict[int, int] = {}
        self._waiting: dict[int, list[tuple[int, trio.Event, list[AgentClipboard | None]]]] = {}

    # ------------------------------------------------------------------ API
    async def set_text(
        self, text: str, selection: AgentSelection = AgentSelection.CLIPBOARD, *, timeout: float = 10.0
    ) -> None:
        """Put ``text`` on the guest's clipboard (the guest asks us for it when pasting).

        Waits up to ``timeout`` s for the agent (AgentError without one).
        """
        await self._ready(timeout)
        text = text.replace("\r\n", "\n")
        if self._agent.has(AgentCap.GUEST_LINEEND_CRLF):
            text = text.replace("\n", "\r\n")
        self._grab(selection, {AgentClipboardType.UTF8_TEXT: text.encode("utf-8")})

    async def set_image(
        self, png: bytes, selection: AgentSelection = AgentSelection.CLIPBOARD, *, timeout: float = 10.0
    ) -> None:
        """Put a PNG image on the guest's clipboard."""
        if not png.startswith(PNG_SIGNATURE):
            raise ValueError("set_image takes PNG bytes")
        await self._ready(timeout)
        self._grab(selection, {AgentClipboardType.IMAGE_PNG: bytes(png)})

    async def release(self, selection: AgentSelection = AgentSelection.CLIPBOARD) -> None:
        """Stop offering our data for ``selection``."""
        await self._ready()
        if self._ours.pop(int(selection), None) is not None:
            self._agent.send(AgentClipboardRelease(selection).message(self._agent.layout))

    def owned(self) -> dict[int, dict[int, bytes]]:
        """What we offer now: selection -> {clipboard type: data} (a reconnect offers it again)."""
        return {selection: dict(offer) for selection, offer in self._ours.items()}

    async def offer(
        self, selection: AgentSelection | int, offer: Mapping[int, bytes], *, timeout: float = 10.0
    ) -> None:
        """Grab ``selection`` offering ``offer`` ({clipboard type: data}, as :meth:`owned` gives it)."""
        if not offer:
            raise ValueError("an offer needs at least one type")
        await self._ready(timeout)
        self._grab(AgentSelection(selection), dict(offer))

    async def get_text(
        self, selection: AgentSelection = AgentSelection.CLIPBOARD, timeout: float = 10.0
    ) -> str | None:
        """The guest's text (``\\n`` line ends), or None when the guest offers no text."""
        if AgentClipboardType.UTF8_TEXT not in self.guest_types.get(int(selection), ()):
            return None
        data = await self._fetch(selection, AgentClipboardType.UTF8_TEXT, timeout)
        if data is None:
            return None
        return data.decode("utf-8", errors="replace").replace("\r\n", "\n").rstrip("\0")

    async def get_image(
        self, selection: AgentSelection = AgentSelection.CLIPBOARD, timeout: float = 10.0
    ) -> bytes | None:
        """The guest's image as PNG, or None when the guest offers no image."""
        offered = self.guest_types.get(int(selection), ())
        kind = next((k for k in _IMAGES if k in offered), None)
        if kind is None:
            return None
        data = await self._fetch(selection, kind, timeout)
        return None if data is None else to_png(data, kind)

    # -------------------------------------------------------------- internal
    async def _ready(self, timeout: float = 10.0) -> None:
        await self._agent.ready(timeout)
        if not (self._agent.has(AgentCap.CLIPBOARD_BY_DEMAND)):
            raise AgentError("the guest agent does not share the clipboard")

    def _grab(self, selection: AgentSelection, offer: dict[int, bytes]) -> None:

        layout = self._agent.layout
        if selection != AgentSelection.CLIPBOARD and not layout.selection:
            raise AgentError("the guest agent has only the CLIPBOARD selection")
        limit = self._agent.max_clipboard
        size = max(len(v) for v in offer.values())
        if limit is not None and size > limit:
            raise AgentError(f"{size} bytes is more than the guest's clipboard limit of {limit}")
        key = int(selection)
        self._ours[key] = offer
        self.guest_types.pop(key, None)
        serial = self._serial.get(key, 0)
        self._serial[key] = serial + 1
        grab = AgentClipboardGrab(tuple(AgentClipboardType(t) for t in offer), selection, serial)
        self._agent.send(grab.message(layout))

    async def _fetch(self, selection: AgentSelection, kind: int, timeout: float) -> bytes | None:

        await self._ready(timeout)
        done = trio.Event()
        slot: list[AgentClipboard | None] = []
        self._waiting.setdefault(int(selection), []).append((kind, done, slot))
        self._agent.send(AgentClipboardRequest(kind, selection).message(self._agent.layout))
        with trio.move_on_after(timeout):
            await done.wait()
        if not done.is_set():
            raise AgentError(f"the guest did not send its clipboard within {timeout:g} s")
        answer = slot[0] if slot else None
        if answer is None or answer.type != kind:
            return None
        if len(answer.data) > self.max_size:
            raise AgentError(f"the guest's clipboard ({len(answer.data)} bytes) is above {self.max_size}")
        return answer.data

    def reset(self) -> None:
        """A new agent or a new capability exchange: serials restart, pending requests end empty."""
        self._serial.clear()
        self.guest_types.clear()
        self._ours.clear()
        for waiters in self._waiting.values():
            for _, done, _slot in waiters:
                done.set()
        self._waiting.clear()

    def handle(self, message: AgentMessage) -> None:
        """A clipboard message from the agent (malformed ones raise ProtocolError)."""
        layout = self._agent.layout
        if message.type == AgentMessageType.CLIPBOARD_GRAB:
            grab = AgentClipboardGrab.parse(message.data, layout)
            key = int(grab.selection)
            if layout.serial:
                if grab.serial != self._serial.get(key, 0):
                    return  # it crossed a grab of ours, which wins
                self._serial[key] = grab.serial + 1
            self._ours.pop(key, None)
            self.guest_types[key] = grab.types
            self._agent.emit(ClipboardGrabbed(grab.selection, grab.types))
        elif message.type == AgentMessageType.CLIPBOARD_RELEASE:
            release = AgentClipboardRelease.parse(message.data, layout)
            if self.guest_types.pop(int(release.selection), None) is not None:
                self._agent.emit(ClipboardReleased(release.selection))
        elif message.type == AgentMessageType.CLIPBOARD_REQUEST:
            request = AgentClipboardRequest.parse(message.data, layout)
            data = self._ours.get(int(request.selection), {}).get(int(request.type))
            answer = (
                AgentClipboard(request.type, data, request.selection)
                if data is not None
                else AgentClipboard(AgentClipboardType.NONE, b"", request.selection)
            )
            self._agent.send(answer.message(layout))
        elif message.type == AgentMessageType.CLIPBOARD:
            clip = AgentClipboard.parse(message.data, layout)
            waiters = self._waiting.get(int(clip.selection))
            if waiters:
                _, done, slot = waiters.pop(0)
                slot.append(clip)
                done.set()
