"""Finding needles on screen: exact, tolerant, regions, exclusions, openQA needle files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from spice_session._match import Match, NeedleError, find, load_needle, score_at


def _scene(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = np.full((300, 400, 3), 40, np.uint8)
    frame[50:250, 20:380] = rng.integers(0, 4, (200, 360, 3), np.uint8) * 60
    needle = rng.integers(0, 255, (24, 32, 3), np.uint8)
    frame[130:154, 210:242] = needle
    return frame, needle


def test_exact_match_reports_position_size_and_score() -> None:
    frame, needle = _scene()
    match, best = find(frame, needle)
    assert match == Match(210, 130, 32, 24, 1.0)
    assert best == match
    assert match.center == (226, 142)


def test_tolerant_match_finds_a_slightly_different_picture() -> None:
    frame, needle = _scene()
    noisy = frame.copy()
    rng = np.random.default_rng(9)
    noisy[130:154, 210:242] = np.clip(needle.astype(int) + rng.integers(-8, 9, needle.shape), 0, 255)
    match, best = find(noisy, needle, threshold=0.95)
    assert match is not None and (match.x, match.y) == (210, 130)
    assert 0.95 < match.score < 1.0
    strict, best = find(noisy, needle, threshold=0.999)
    assert strict is None and (best.x, best.y) == (210, 130)  # the miss still says where the best was


def test_a_miss_names_the_best_score() -> None:
    frame, _ = _scene()
    other = np.random.default_rng(99).integers(0, 255, (24, 32, 3), np.uint8)
    match, best = find(frame, other)
    assert match is None
    assert best.score < 0.9
    assert best.score == pytest.approx(score_at(frame, load_needle(other), best.x, best.y))


def test_region_and_excluded_screen_areas() -> None:
    frame, needle = _scene()
    assert find(frame, needle, region=(0, 0, 200, 300))[0] is None
    assert find(frame, needle, region=(200, 120, 60, 40))[0] == Match(210, 130, 32, 24, 1.0)
    assert find(frame, needle, exclude=[(200, 120, 60, 40)])[0] is None


def test_openqa_needle_with_exclude_area_and_margin(tmp_path: Path) -> None:
    frame, needle = _scene()
    shot = frame.copy()
    Image.fromarray(shot).save(tmp_path / "login.png")
    spec = {
        "area": [
            {"xpos": 210, "ypos": 130, "width": 32, "height": 24, "type": "match", "match": 99},
            {"xpos": 210, "ypos": 130, "width": 8, "height": 8, "type": "exclude"},
            {"xpos": 0, "ypos": 0, "width": 10, "height": 10, "type": "ocr"},
        ],
        "tags": ["login", "ENV-X"],
        "properties": [],
    }
    (tmp_path / "login.json").write_text(json.dumps(spec))
    loaded = load_needle(tmp_path / "login.json")
    assert loaded.tags == ("login", "ENV-X") and loaded.threshold == 0.99
    assert loaded.ocr == ((0, 0, 10, 10),)
    moved = np.full_like(frame, 40)
    moved[150:174, 240:272] = needle  # 30 px right, 20 down: within openQA's 50 px margin
    moved[150:158, 240:248] = 255  # the excluded corner differs
    assert find(moved, tmp_path / "login.json")[0] == Match(240, 150, 32, 24, 1.0, "login.json")
    far = np.full_like(frame, 40)
    far[250:274, 20:52] = needle
    assert find(far, tmp_path / "login.json")[0] is None


def test_bad_needle_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(NeedleError, match="not a readable needle JSON"):
        load_needle(tmp_path / "a.json")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "b.png")
    (tmp_path / "b.json").write_text(json.dumps({"area": [{"xpos": 5, "ypos": 5, "width": 10, "height": 2}]}))
    with pytest.raises(NeedleError, match="outside the 10x10 image"):
        load_needle(tmp_path / "b.json")
    with pytest.raises(NeedleError, match="cannot read the image"):
        load_needle(tmp_path / "missing.png")
    with pytest.raises(NeedleError, match="uint8 RGB"):
        load_needle(np.zeros((4, 4, 3), np.float32))
