"""Helpers shared by the GLZ tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import vectors

SUBSET_DIR = Path(__file__).resolve().parents[1] / "vectors"
SUBSET_MANIFEST = SUBSET_DIR / "manifest-glz.json"


def sequences() -> list[list[vectors.Case]]:
    """GLZ sequences from the loader (../shared when present), else the committed subset."""
    try:
        found = vectors.glz_sequences()
    except FileNotFoundError:  # a loader that does not know the per-codec subset manifests
        found = []
    return found or subset_sequences()


def all_cases() -> list[vectors.Case]:
    """Every GLZ case of :func:`sequences`."""
    return [case for seq in sequences() for case in seq]


def subset_sequences() -> list[list[vectors.Case]]:
    """GLZ sequences of the committed subset, whatever the loader picks."""
    data: dict[str, Any] = json.loads(SUBSET_MANIFEST.read_text())
    by_name = {c["name"]: vectors.Case(c["name"], c["codec"], c, SUBSET_DIR) for c in data["cases"]}
    return [[by_name[n] for n in s["images"]] for s in data["glz_sequences"]]


def sequence(name: str) -> list[vectors.Case]:
    for seq in sequences() + subset_sequences():
        if seq[0].raw["glz"]["sequence"] == name:
            return seq
    raise KeyError(name)


def window_pixels(name: str) -> int:
    data = json.loads(SUBSET_MANIFEST.read_text())
    for s in vectors.manifest().get("glz_sequences", []) + data["glz_sequences"]:
        if s["name"] == name:
            return int(s["window_pixels_encoder"])
    raise KeyError(name)
