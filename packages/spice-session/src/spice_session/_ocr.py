"""Reading text off a frame with Tesseract: through pytesseract (``spice-session[ocr]``) when
it is installed, else by running the ``tesseract`` program; both need Debian's ``tesseract-ocr``."""

from __future__ import annotations

import functools
import io
import shutil
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import trio

from ._errors import SessionError

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrUnavailable", "read_text"]

#: One uniform block of text: screens are read whole or by region, not as pages.
_CONFIG = "--psm 6"
_NO_PROGRAM = "reading text needs the tesseract program (Debian: apt install tesseract-ocr)"


class OcrUnavailable(SessionError):
    """Text waits need Tesseract (Debian ``tesseract-ocr``; ``spice-session[ocr]`` for the binding)."""


def _prepared(frame: npt.NDArray[np.uint8]) -> Image:
    """The frame as Tesseract reads it best: dark text on light ground, small fonts enlarged."""
    from PIL import Image

    if float(frame.mean()) < 128:
        frame = 255 - frame
    image = Image.fromarray(frame)
    if image.height < 600:
        image = image.resize((image.width * 2, image.height * 2))
    return image


async def read_text(frame: npt.NDArray[np.uint8]) -> str:
    """The text Tesseract reads in ``frame`` (RGB); :class:`OcrUnavailable` without Tesseract."""
    image = _prepared(frame)
    try:
        import pytesseract
    except ImportError:
        return await _by_program(image)
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise OcrUnavailable(_NO_PROGRAM)
    read = functools.partial(pytesseract.image_to_string, image, config=_CONFIG)
    try:
        return str(await trio.to_thread.run_sync(read))
    except pytesseract.TesseractError as exc:
        raise OcrUnavailable(f"tesseract failed: {exc}") from exc


async def _by_program(image: Image) -> str:
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise OcrUnavailable(_NO_PROGRAM)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    result = await trio.run_process(
        [tesseract, "stdin", "stdout", *_CONFIG.split()],
        stdin=buf.getvalue(),
        capture_stdout=True,
        capture_stderr=True,
    )
    return result.stdout.decode(errors="replace")
