"""Reading text off a frame: through pytesseract (spice-session[ocr]) or the tesseract program."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt
import pytesseract  # noxfile TEST_DEPS installs spice-session[ocr]'s binding
import pytest
from peers.require import require_binary
from PIL import Image, ImageDraw, ImageFont
from spice_session import OcrUnavailable
from spice_session._ocr import read_text

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _frame(text: str, light_on_dark: bool) -> npt.NDArray[np.uint8]:
    """A console-like frame with ``text`` drawn on it."""
    ground, ink = ((0, 0, 0), (220, 220, 220)) if light_on_dark else ((255, 255, 255), (0, 0, 0))
    image = Image.new("RGB", (640, 120), ground)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(FONT, 28)
    except OSError:
        font = ImageFont.load_default(28)
    ImageDraw.Draw(image).text((20, 40), text, fill=ink, font=font)
    return np.asarray(image, dtype=np.uint8)


@pytest.mark.parametrize("binding", [True, False], ids=["pytesseract", "program"])
@pytest.mark.parametrize("light_on_dark", [True, False], ids=["console", "page"])
async def test_text_is_read(monkeypatch: pytest.MonkeyPatch, binding: bool, light_on_dark: bool) -> None:
    require_binary("tesseract")
    calls: list[object] = []
    original = pytesseract.image_to_string

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(pytesseract, "image_to_string", counted)
    if not binding:
        monkeypatch.setitem(sys.modules, "pytesseract", None)  # import fails: the program is run
    text = await read_text(_frame("Boot menu: press ESC", light_on_dark))
    assert "Boot menu: press ESC" in text
    assert len(calls) == (1 if binding else 0)


@pytest.mark.parametrize("binding", [True, False], ids=["pytesseract", "program"])
async def test_without_tesseract_a_clear_error(monkeypatch: pytest.MonkeyPatch, binding: bool) -> None:
    if not binding:
        monkeypatch.setitem(sys.modules, "pytesseract", None)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OcrUnavailable, match="apt install tesseract-ocr"):
        await read_text(_frame("x", True))
