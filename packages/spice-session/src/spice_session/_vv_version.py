"""The version keys of a .vv file: ``version``, ``versions`` and ``newer-version-url``.

remote-viewer takes the minimum for the OS id it was built for from ``versions``
(``rhev-win64:2.0-160;rhel8:99.0-1``), else the plain ``version``, compares it with its
own version (:func:`compare_versions`) and refuses a file that asks for a newer one,
naming ``newer-version-url``.  Those minimums are virt-viewer's: this client reports
them (:meth:`VersionCheck.notice`) and goes on.  It enforces only a ``versions`` entry
for its own id, :data:`OWN_OS_ID` (``spice-cli:0.2``), and, when asked to, the plain
``version`` (``enforce_generic``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from spice_proto.lowlevel import frozen

from ._vv import VVFile

__all__ = ["OWN_OS_ID", "VersionCheck", "check_vv_versions", "compare_versions"]

#: The ``versions`` id that names a minimum version of spice-cli itself.
OWN_OS_ID = "spice-cli"
_NUMBER = re.compile(r"[0-9]*")


def _compare_dotted(a: str, b: str) -> int:
    """Dotted numbers part by part; a part with a suffix ends the comparison (equal so far)."""
    left, right = a.split("."), b.split(".")
    for x, y in zip(left, right, strict=False):
        nx, ny = _NUMBER.match(x), _NUMBER.match(y)
        vx = int(nx[0]) if nx and nx[0] else 0
        vy = int(ny[0]) if ny and ny[0] else 0
        if vx != vy:
            return 1 if vx > vy else -1
        if (nx and nx.end() < len(x)) or (ny and ny.end() < len(y)):
            return 0  # 1.0rc1: not comparable past here
    return (len(left) > len(right)) - (len(left) < len(right))


def compare_versions(a: str, b: str) -> int:
    """virt-viewer's rule: ``VERSION[-RELEASE]``, dotted numbers compared in turn, then the
    release (``1.10 > 1.7``, ``1.0-2 > 1.0-1``, ``1.1 > 1.0-5``).  -1, 0 or 1."""
    va, _, ra = a.strip().partition("-")
    vb, _, rb = b.strip().partition("-")
    order = _compare_dotted(va, vb)
    if order or not (ra and rb):
        return order
    return _compare_dotted(ra, rb)


@frozen
class VersionCheck:
    """What a .vv file's version keys ask of this client.

    ``required``: the minimum enforced on us (``None``: none); ``satisfied``: we meet it.
    ``foreign``: the minimums meant for virt-viewer builds (OS id -> version; ``""`` is the
    plain ``version`` key when it is not enforced).
    """

    ours: str
    required: str | None = None
    satisfied: bool = True
    foreign: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None

    def error(self) -> str | None:
        """Why the file cannot be opened, or ``None``."""
        if self.satisfied or self.required is None:
            return None
        where = f"; newer versions: {self.url}" if self.url else ""
        return f"this file needs {OWN_OS_ID} {self.required} or newer (this is {self.ours}){where}"

    def notice(self) -> str | None:
        """One line about virt-viewer's minimums, not checked here, or ``None`` without any."""
        if not self.foreign:
            return None
        listed = ", ".join(f"{os_id}: {v}" if os_id else v for os_id, v in sorted(self.foreign.items()))
        where = f" (newer virt-viewer: {self.url})" if self.url else ""
        return f"the file asks for virt-viewer {listed}; not checked, {OWN_OS_ID} is not virt-viewer{where}"


def check_vv_versions(vv: VVFile, ours: str, *, enforce_generic: bool = False) -> VersionCheck:
    """Check ``vv``'s version keys against our version ``ours`` (see the module's rule)."""
    foreign = {os_id: v for os_id, v in vv.versions.items() if os_id != OWN_OS_ID}
    required = vv.versions.get(OWN_OS_ID)
    if vv.version is not None:
        if required is None and enforce_generic:
            required = vv.version
        elif required is None or vv.version != required:
            foreign[""] = vv.version
    satisfied = required is None or compare_versions(ours, required) >= 0
    return VersionCheck(ours, required, satisfied, foreign, vv.newer_version_url)
