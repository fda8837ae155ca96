"""Golden codec vectors: ``../shared/vectors`` when present, else the subset in ``tests/vectors``.

CI always has ``../shared`` beside the clone; a fresh clone elsewhere still
tests against reference output through the committed subset (same manifest
format, fewer cases).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "vectors"
SUBSET = ROOT / "tests" / "vectors"


def vectors_dir() -> Path:
    """The directory whose manifest.json is used (override with SPICE_VECTORS_DIR)."""
    env = os.environ.get("SPICE_VECTORS_DIR")
    if env:
        return Path(env)
    return SHARED if (SHARED / "manifest.json").exists() else SUBSET


@dataclass(frozen=True)
class Expected:
    path: Path
    format: str
    stride: int
    sha256: str

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class Case:
    name: str
    codec: str
    raw: dict[str, Any]
    base: Path

    @property
    def blob(self) -> bytes:
        return (self.base / self.raw["encoded"]["path"]).read_bytes()

    @property
    def width(self) -> int:
        return int(self.raw["width"])

    @property
    def height(self) -> int:
        return int(self.raw["height"])

    @property
    def image_type(self) -> str:
        return str(self.raw["image_type"])

    @property
    def top_down(self) -> bool:
        return bool(self.raw["top_down"])

    @property
    def expected(self) -> list[Expected]:
        return [
            Expected(self.base / e["path"], e["format"], int(e["stride"]), e["sha256"])
            for e in self.raw["expected"]
        ]

    @property
    def palette(self) -> bytes | None:
        pal = self.raw.get("palette")
        return (self.base / pal["path"]).read_bytes() if pal else None

    @property
    def glz(self) -> dict[str, Any] | None:
        return self.raw.get("glz")


@cache
def manifest() -> dict[str, Any]:
    """The manifest; the committed subset splits it into one ``manifest-<codec>.json`` per codec."""
    base = vectors_dir()
    if (base / "manifest.json").exists():
        data: dict[str, Any] = json.loads((base / "manifest.json").read_text())
        return data
    merged: dict[str, Any] = {"cases": [], "glz_sequences": []}
    for part in sorted(base.glob("manifest-*.json")):
        piece = json.loads(part.read_text())
        merged["cases"] += piece.get("cases", [])
        merged["glz_sequences"] += piece.get("glz_sequences", [])
    return merged


def cases(codec: str) -> list[Case]:
    """All cases of one codec (``quic``, ``lz`` or ``glz``), in manifest order."""
    base = vectors_dir()
    return [Case(c["name"], c["codec"], c, base) for c in manifest()["cases"] if c["codec"] == codec]


def glz_sequences() -> list[list[Case]]:
    """GLZ cases grouped by sequence, each in decode order."""
    by_name = {c.name: c for c in cases("glz")}
    out = []
    for seq in manifest().get("glz_sequences", []):
        out.append([by_name[n] for n in seq["images"] if n in by_name])
    return [s for s in out if s]


def sha256(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()
