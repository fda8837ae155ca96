"""Pacing of key strokes so a guest with a small keyboard buffer loses none (sans-I/O).

A SPICE server hands key codes to its guest as fast as they arrive.  QEMU's
emulated PS/2 keyboard buffers only :data:`PS2_QUEUE_BYTES` scancode bytes and
drops the rest; a TCG guest drains them slowly, so a long text typed at wire
speed loses keys (and a lost Shift release leaves Shift stuck).

The rule used here: never have more than :data:`PS2_QUEUE_BYTES` bytes
unconfirmed.  The confirmation is the guest's own keyboard LEDs: a Caps Lock
stroke queued behind the keys toggles the guest's Caps Lock LED only once the
guest has read every byte before it, and QEMU reports each LED change to the
client (inputs KEY_MODIFIERS).  A second stroke, confirmed the same way, puts
Caps Lock back before any further key is sent, so no typed character ever
sees it.  A VM whose guest does not report LED changes promptly (a boot
loader, say) gets the keys in bursts of :data:`PS2_QUEUE_BYTES` bytes separated
by :data:`BLIND_GAP`; should the unanswered probe's LED changes come in later (a
busy guest), confirmations by echo start again, as they do after a confirmation that a
guest which answered before lost (no answer within :data:`SYNC_TIMEOUT`).

A confirming stroke can also be lost outright: under load, a Linux guest now and then
ignored the stroke putting Caps Lock back, sent just after the first one's LED answer (seen
in CI; most likely it lost the first stroke's release during the LED command that stroke
started, so the next press found Caps Lock still held).  So that stroke is preceded by a
Caps Lock release, which a guest with no Caps Lock held ignores; and when a guest that
answered the first stroke promptly leaves it unanswered for :data:`ECHO_QUIET`, the guest
is asked for its lock state with a Num Lock stroke and one putting it back (Caps Lock left
alone): the Caps Lock of its answer says whether the stroke arrived, and a lost one is sent
again.

A server that names no virtual machine (no MAIN_UUID: Xspice) has no emulated keyboard in
front of its input: there the keys go unpaced (:attr:`PacingMode.OFF`).  Our own server
sends MAIN_UUID, so it is paced like a VM.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from spice_proto import scancode_bytes

__all__ = [
    "ASK_TIMEOUT",
    "BLIND_GAP",
    "CAPS_LOCK",
    "ECHO_GRACE",
    "ECHO_QUIET",
    "IDLE_RESET",
    "NUM_LOCK",
    "PROBE_TIMEOUT",
    "PS2_QUEUE_BYTES",
    "SYNC_TIMEOUT",
    "KeyEvent",
    "KeyPacer",
    "PacingMode",
    "stroke_cost",
]

#: Scancode bytes QEMU's PS/2 keyboard queue holds (PS2_QUEUE_SIZE); more are dropped.
PS2_QUEUE_BYTES = 16
#: Set-1 make code of Caps Lock, the key whose LED confirms the guest has caught up.
CAPS_LOCK = 0x3A
#: Set-1 make code of Num Lock: its LED asks the guest for its lock state without touching Caps Lock.
NUM_LOCK = 0x45
#: Bytes of one Caps Lock stroke (make + break).
_SYNC_BYTES = 2
#: How long the first confirmation may take before the server counts as not reporting LEDs.
PROBE_TIMEOUT = 1.0
#: How long a confirmation may take once the server is known to report LEDs.
SYNC_TIMEOUT = 10.0
#: Pause after a confirmation before more keys go out (the guest finishes its LED command).
ECHO_GRACE = 0.005
#: Silence after a confirming stroke (answers take 7-60 ms) before the guest is asked whether it got it.
ECHO_QUIET = 1.0
#: How long that question may take (under libspice-server's own guess of the LEDs, 2 s after a lock key).
ASK_TIMEOUT = 1.5
#: Pause between bursts on a server that does not report LED changes.
BLIND_GAP = 0.02
#: After this long without keys the guest is taken to have drained its buffer.
IDLE_RESET = 1.0

#: One key event: (set-1 make code, pressed).
KeyEvent = tuple[int, bool]


def stroke_cost(events: Sequence[KeyEvent]) -> int:
    """Scancode bytes the events occupy in the guest's buffer (2 for an E0-prefixed key)."""
    return sum(len(scancode_bytes(code, release=not pressed)) for code, pressed in events)


class PacingMode(enum.Enum):
    """What the pacer knows about the server's LED reports."""

    UNKNOWN = "unknown"  #: not tried yet: the first confirmation is a probe
    ECHO = "echo"  #: the server reports the guest's LED changes: confirm by Caps Lock
    BLIND = "blind"  #: no prompt LED reports: bursts separated by :data:`BLIND_GAP`
    OFF = "off"  #: no emulated keyboard (the server fronts no VM): no pacing at all


@dataclass
class KeyPacer:
    """How many unconfirmed bytes the guest may hold, and when to confirm (no I/O).

    The caller asks :meth:`must_settle` before sending a group of key events
    that must stay together (one character, one combo); when it says so, the
    caller confirms (LED round trip or :data:`BLIND_GAP`) and calls
    :meth:`settled`.  After sending it calls :meth:`sent`.
    """

    budget: int = PS2_QUEUE_BYTES
    mode: PacingMode = PacingMode.UNKNOWN
    #: Bytes sent since the guest was last known to have read everything.
    unconfirmed: int = 0
    last_sent: float = float("-inf")
    #: Confirmations done (LED round trips or blind gaps), for measurements.
    settles: int = 0

    def _reserve(self) -> int:
        return 0 if self.mode is PacingMode.BLIND else _SYNC_BYTES

    def must_settle(self, cost: int, now: float) -> bool:
        """Whether ``cost`` more bytes would overfill the guest's buffer without a confirmation first."""
        if self.mode is PacingMode.OFF:
            return False
        if now - self.last_sent >= IDLE_RESET:
            self.unconfirmed = 0
        if self.unconfirmed == 0:
            return False  # nothing pending: even an oversized group goes out whole
        return self.unconfirmed + cost + self._reserve() > self.budget

    def sent(self, cost: int, now: float) -> None:
        self.unconfirmed += cost
        self.last_sent = now

    def settled(self) -> None:
        """The guest has read everything sent so far (or the blind gap passed)."""
        self.unconfirmed = 0
        self.settles += 1
