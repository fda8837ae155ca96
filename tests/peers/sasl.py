"""A sasldb user for SASL tests (Debian sasl2-bin's saslpasswd2)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .require import require_binary


def make_sasldb(path: Path, user: str, password: str, app: str = "spice") -> Path:
    """Create the Berkeley DB ``path`` holding ``user`` with ``password`` (for application
    ``app``: QEMU reads ``qemu``); returns ``path``."""
    subprocess.run(
        [require_binary("saslpasswd2"), "-p", "-a", app, "-f", str(path), "-c", user],
        input=password.encode(),
        check=True,
        timeout=30,
    )
    return path
