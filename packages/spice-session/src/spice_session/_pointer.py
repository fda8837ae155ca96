"""Relative pointer motion a guest's PS/2 mouse takes whole and in order (sans-I/O).

In server mouse mode QEMU turns each MOUSE_MOTION, press and release into one
mouse event for its emulated PS/2 mouse.  That mouse queues at most
:data:`PS2_MOUSE_QUEUE` bytes (3 or 4 per packet) and clamps a packet to
:data:`PS2_STEP` per axis; what does not fit stays in QEMU, added to the next
event's motion, and goes out only with a later mouse event.  So a burst the
guest has not read yet, or one big delta, arrives late: merged into whatever
comes next (a click lands short of where it was aimed) or, after the last
event, not at all.

The rule used for exact motion (:meth:`spice_session.Inputs.move_by` and the
``exact`` button calls the :class:`~spice_session.Driver` uses): a delta is
split into steps of at most :data:`PS2_STEP` per axis, one packet each, and no
more than :data:`PS2_MOUSE_PACKETS` messages go out before the guest is known
to have read them, confirmed the way typing confirms keys (a Caps Lock LED
round trip, see :mod:`spice_session._typing`); the server's MOTION_ACK says
only that the server received the motion, not that the guest read it.  While a
key is held (a shift-click) or the guest reports no LEDs, the confirmation is
a pause instead (:data:`~spice_session._typing.BLIND_GAP`).  Servers that name
no VM (no MAIN_UUID: Xspice) get the motion unsplit and unpaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._typing import IDLE_RESET

__all__ = ["PS2_MOUSE_PACKETS", "PS2_MOUSE_QUEUE", "PS2_STEP", "PointerBudget", "split_motion"]

#: Bytes QEMU's PS/2 mouse queue holds (PS2_QUEUE_SIZE).
PS2_MOUSE_QUEUE = 16
#: Bytes of the longest PS/2 mouse packet (the IntelliMouse protocols; the plain one has 3).
_PACKET_BYTES = 4
#: Packets the guest may hold unread, whatever protocol its driver chose.
PS2_MOUSE_PACKETS = PS2_MOUSE_QUEUE // _PACKET_BYTES
#: The largest motion one PS/2 packet carries per axis (QEMU clamps to it).
PS2_STEP = 127


def split_motion(dx: int, dy: int, step: int = PS2_STEP) -> list[tuple[int, int]]:
    """``(dx, dy)`` as the fewest even steps of at most ``step`` per axis; ``[]`` for no motion."""
    if step < 1:
        raise ValueError(f"step must be positive, not {step}")
    if not (dx or dy):
        return []
    count = max(-(-abs(dx) // step), -(-abs(dy) // step))
    return [
        (dx * (i + 1) // count - dx * i // count, dy * (i + 1) // count - dy * i // count)
        for i in range(count)
    ]


@dataclass
class PointerBudget:
    """How many pointer messages the guest may hold unread, and when to confirm (no I/O).

    Each MOUSE_MOTION, press or release is at most one PS/2 packet.  Ask
    :meth:`must_settle` before sending one; when it says so, confirm the guest
    has caught up and call :meth:`settled`; after sending call :meth:`sent`.
    """

    budget: int = PS2_MOUSE_PACKETS
    #: Messages sent since the guest was last known to have read everything.
    unconfirmed: int = 0
    last_sent: float = float("-inf")

    def must_settle(self, now: float) -> bool:
        """Whether one more message could find the guest's mouse queue full."""
        if now - self.last_sent >= IDLE_RESET:
            self.unconfirmed = 0
        return self.unconfirmed >= self.budget

    def sent(self, now: float) -> None:
        self.unconfirmed += 1
        self.last_sent = now

    def settled(self) -> None:
        """The guest has read everything sent so far."""
        self.unconfirmed = 0
