"""What a Linux guest's evdev mouse device reported: its input events, grouped into reports.

The guest copies ``/dev/input/eventN`` to a file (``struct input_event`` of x86-64:
seconds, microseconds, type, code, value); :func:`reports` turns that into one
:class:`Report` per ``SYN_REPORT``, with the pointer position summed from the
relative motion (no screen: nothing is clamped).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EV_SYN, EV_KEY, EV_REL = 0, 1, 2
SYN_REPORT = 0
REL_X, REL_Y = 0, 1
BTN_LEFT, BTN_RIGHT, BTN_MIDDLE = 0x110, 0x111, 0x112
_EVENT = struct.Struct("<qqHHi")


@dataclass
class Report:
    """One SYN_REPORT: the position after its motion and the keys/buttons it changed."""

    x: int
    y: int
    motion: tuple[int, int]
    keys: dict[int, int] = field(default_factory=dict)

    @property
    def position(self) -> tuple[int, int]:
        return self.x, self.y


def events(data: bytes) -> list[tuple[int, int, int]]:
    """(type, code, value) of each whole event in ``data``."""
    size = _EVENT.size
    return [_EVENT.unpack_from(data, i)[2:] for i in range(0, len(data) - size + 1, size)]


def reports(data: bytes, start: tuple[int, int] = (0, 0)) -> list[Report]:
    """The reports in ``data``; positions count from ``start``."""
    x, y = start
    out: list[Report] = []
    dx = dy = 0
    keys: dict[int, int] = {}
    for kind, code, value in events(data):
        if kind == EV_REL and code == REL_X:
            dx += value
        elif kind == EV_REL and code == REL_Y:
            dy += value
        elif kind == EV_KEY:
            keys[code] = value
        elif kind == EV_SYN and code == SYN_REPORT:
            x, y = x + dx, y + dy
            out.append(Report(x, y, (dx, dy), keys))
            dx = dy = 0
            keys = {}
    return out


def capture(node: str, path: str) -> str:
    """Copy ``node``'s events to ``path`` in the background; OPEN once the node is open
    (events before that are not delivered to it)."""
    return (
        f"cat {node} > {path} & for i in $(seq 600); do"
        f" ls -l /proc/$!/fd 2>/dev/null | grep -q {node} && echo OPEN && break; sleep 0.1; done"
    )
