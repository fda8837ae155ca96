"""The automation verbs by name, with JSON-shaped arguments: what ``spice control`` and ``spice mcp`` serve.

:func:`call` runs one verb on a :class:`~spice_session.Driver` from a name and a mapping
of arguments (as decoded from JSON).  Every bad argument, failed wait or session problem
is a :class:`VerbError` with a short ``code`` (see :data:`ERROR_CODES`), never another
exception type.  Results are JSON values, except ``screenshot``, which gives a :class:`Shot`.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import spice_net
import trio
from PIL import Image, UnidentifiedImageError
from spice_session import (
    AgentError,
    ChannelUnavailable,
    Driver,
    KeyComboError,
    LayoutError,
    MatchError,
    NeedleError,
    OcrUnavailable,
    ScreenshotTimeout,
    SessionError,
)

__all__ = ["ERROR_CODES", "VERBS", "Shot", "VerbError", "call", "png_of"]

#: What a :class:`VerbError` code means.
ERROR_CODES = {
    "unknown_verb": "no verb of that name",
    "bad_args": "an argument is missing, of the wrong type or out of range",
    "not_found": "an expect or wait ran out of time (the message names the best score)",
    "agent": "the guest agent is absent or refused",
    "unavailable": "the session cannot do this (no inputs channel, no OCR program...)",
    "session": "the session failed or has ended",
}

#: Largest scale factor a screenshot may be asked for, and the largest image an expect may carry.
MAX_SCALE = 4.0
MAX_NEEDLE_PIXELS = 16 << 20
#: How long clipboard verbs wait for the guest agent.
AGENT_TIMEOUT = 10.0

Rect = tuple[int, int, int, int]
Args = Mapping[str, Any]


class VerbError(Exception):
    """A verb failed; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Shot:
    """A screenshot as PNG bytes and its size (after scaling)."""

    png: bytes
    width: int
    height: int


def png_of(frame: npt.NDArray[np.uint8]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="PNG", compress_level=1)
    return out.getvalue()


# ------------------------------------------------------------------ arguments
def _get(args: Args, name: str, kinds: tuple[type, ...], default: Any = ..., what: str = "") -> Any:
    if name not in args or args[name] is None:
        if default is ...:
            raise VerbError("bad_args", f"missing argument {name!r}")
        return default
    value = args[name]
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise VerbError("bad_args", f"{name}: expected {what or ' or '.join(k.__name__ for k in kinds)}")
    return value


def _int(args: Args, name: str, default: Any = ..., low: int = -(1 << 31), high: int = (1 << 31) - 1) -> Any:
    value = _get(args, name, (int,), default, "an integer")
    if value is not None and value is not default and not low <= value <= high:
        raise VerbError("bad_args", f"{name}: {value} is out of range [{low}, {high}]")
    return value


def _seconds(args: Args, name: str, default: float, high: float = 3600.0) -> float:
    value = float(_get(args, name, (int, float), default, "a number of seconds"))
    if not 0 <= value <= high:  # also refuses NaN
        raise VerbError("bad_args", f"{name}: {value} is out of range [0, {high:g}]")
    return value


def _str(args: Args, name: str, default: Any = ..., limit: int = 1 << 20) -> Any:
    value = _get(args, name, (str,), default, "a string")
    if isinstance(value, str) and len(value) > limit:
        raise VerbError("bad_args", f"{name}: longer than {limit} characters")
    return value


def _region(args: Args) -> Rect | None:
    value = args.get("region")
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise VerbError("bad_args", "region: expected [x, y, width, height] as integers")
    x, y, w, h = value
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise VerbError("bad_args", "region: x, y must be >= 0 and width, height > 0")
    return (x, y, w, h)


def _button(args: Args) -> str | int:
    value = _get(args, "button", (str, int), "left", "a button name or number")
    if str(value).lower() not in ("left", "middle", "right", "up", "down", "1", "2", "3", "4", "5"):
        raise VerbError("bad_args", f"button: unknown button {value!r} (left, middle, right, 1-5)")
    return value  # type: ignore[no-any-return]


def _needle(args: Args) -> npt.NDArray[np.uint8]:
    """The ``image`` argument: a base64 PNG (or any format Pillow reads) as RGB."""
    text = _str(args, "image", limit=4 * MAX_NEEDLE_PIXELS)
    try:
        data = base64.b64decode(text, validate=True)
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_NEEDLE_PIXELS:
                raise VerbError("bad_args", "image: too many pixels")
            rgb: npt.NDArray[np.uint8] = np.array(image.convert("RGB"), dtype=np.uint8)
            return rgb
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise VerbError("bad_args", f"image: not a base64-encoded picture ({exc})") from None


# ---------------------------------------------------------------------- verbs
async def _screenshot(vm: Driver, args: Args) -> Shot:
    region = _region(args)
    scale = float(_get(args, "scale", (int, float), 1.0, "a number"))
    if not 0 < scale <= MAX_SCALE:
        raise VerbError("bad_args", f"scale: {scale} is out of range (0, {MAX_SCALE:g}]")
    frame = await vm.screenshot(region, timeout=_seconds(args, "timeout", 30.0))
    if frame.size == 0:
        raise VerbError("bad_args", "region: outside the screen")
    image = Image.fromarray(frame)
    if scale != 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return Shot(out.getvalue(), image.width, image.height)


async def _type(vm: Driver, args: Args) -> None:
    await vm.type(_str(args, "text"))


async def _key(vm: Driver, args: Args) -> None:
    await vm.key(_str(args, "combo", limit=200), _int(args, "repeat", 1, 1, 1000))


async def _keydown(vm: Driver, args: Args) -> None:
    await vm.keydown(_str(args, "key", limit=100))


async def _keyup(vm: Driver, args: Args) -> None:
    await vm.keyup(_str(args, "key", limit=100))


def _xy(args: Args, x: str = "x", y: str = "y", required: bool = True) -> tuple[int, int] | None:
    default = ... if required else None
    px, py = _int(args, x, default, 0, 65535), _int(args, y, default, 0, 65535)
    if (px is None) != (py is None):
        raise VerbError("bad_args", f"give both {x} and {y} or neither")
    return None if px is None else (px, py)


async def _move(vm: Driver, args: Args) -> None:
    x, y = _xy(args) or (0, 0)
    await vm.move(x, y)


async def _click(vm: Driver, args: Args) -> None:
    at = _xy(args, required=False)
    button = _button(args)
    if at is None:
        await vm.click(button=button)
    else:
        await vm.click(at[0], at[1], button=button)


async def _mousedown(vm: Driver, args: Args) -> None:
    await vm.mousedown(_button(args))


async def _mouseup(vm: Driver, args: Args) -> None:
    await vm.mouseup(_button(args))


async def _drag(vm: Driver, args: Args) -> None:
    start = _xy(args, "x1", "y1") or (0, 0)
    end = _xy(args, "x2", "y2") or (0, 0)
    await vm.drag(start, end, _int(args, "steps", 10, 1, 1000))


async def _scroll(vm: Driver, args: Args) -> None:
    await vm.scroll(_int(args, "steps", low=-100, high=100))


async def _wait_still(vm: Driver, args: Args) -> None:
    await vm.wait_still(_seconds(args, "seconds", 1.0), _seconds(args, "timeout", 60.0))


def _match_json(match: Any) -> dict[str, Any]:
    return {"x": match.x, "y": match.y, "w": match.w, "h": match.h, "score": round(float(match.score), 4)}


async def _expect(vm: Driver, args: Args) -> dict[str, Any]:
    threshold = args.get("threshold")
    if threshold is not None and (
        not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold <= 1
    ):
        raise VerbError("bad_args", "threshold: expected a number in [0, 1]")
    needle = _needle(args)
    match = await vm.expect(
        needle, _seconds(args, "timeout", 30.0), threshold=threshold, region=_region(args)
    )
    return _match_json(match)


async def _expect_text(vm: Driver, args: Args) -> dict[str, Any]:
    found = await vm.expect_text(
        _str(args, "pattern", limit=1000), _seconds(args, "timeout", 30.0), region=_region(args)
    )
    return {"text": found.group(0)}


async def _clipboard_get(vm: Driver, args: Args) -> dict[str, Any]:
    session = vm.session
    await session.agent.ready(AGENT_TIMEOUT)
    with trio.move_on_after(_seconds(args, "wait", 1.0, 60.0)):
        while not session.clipboard.guest_types.get(0):
            await trio.sleep(0.02)
    return {"text": await session.clipboard.get_text()}


async def _clipboard_set(vm: Driver, args: Args) -> None:
    await vm.session.clipboard.set_text(_str(args, "text"), timeout=AGENT_TIMEOUT)


async def _info(vm: Driver, args: Args) -> dict[str, Any]:
    session = vm.session
    primary = session.display.primary
    return {
        "name": session.name,
        "uuid": session.uuid.hex() if session.uuid else None,
        "width": primary.width if primary is not None else None,
        "height": primary.height if primary is not None else None,
        "mouse_mode": session.mouse_mode.name,
        "agent": session.agent_connected,
        "tls": session.tls,
        "channels": [[int(t), i] for t, i in session.opened],
    }


Verb = Callable[[Driver, Args], Awaitable[Any]]

#: Every verb by name, with a one-line description of its arguments.
VERBS: dict[str, tuple[Verb, str]] = {
    "screenshot": (_screenshot, "region [x,y,w,h]?, scale (0,4]? -> PNG"),
    "type": (_type, "text"),
    "key": (_key, "combo (ctrl-alt-del, Return...), repeat?"),
    "keydown": (_keydown, "key"),
    "keyup": (_keyup, "key"),
    "move": (_move, "x, y"),
    "click": (_click, "x?, y?, button? (left, middle, right, 1-5)"),
    "mousedown": (_mousedown, "button?"),
    "mouseup": (_mouseup, "button?"),
    "drag": (_drag, "x1, y1, x2, y2, steps?"),
    "scroll": (_scroll, "steps (positive: up)"),
    "wait_still": (_wait_still, "seconds?, timeout?"),
    "expect": (_expect, "image (base64 PNG), timeout?, threshold?, region? -> {x,y,w,h,score}"),
    "expect_text": (_expect_text, "pattern (regex), timeout?, region? -> {text}"),
    "clipboard_get": (_clipboard_get, "wait? -> {text}"),
    "clipboard_set": (_clipboard_set, "text"),
    "info": (_info, "-> size, name, mouse mode, agent, channels"),
}


async def call(vm: Driver, verb: str, args: Args) -> Any:
    """Run ``verb`` with ``args``; its result, or :class:`VerbError`."""
    entry = VERBS.get(verb) if isinstance(verb, str) else None
    if entry is None:
        raise VerbError("unknown_verb", f"unknown verb {verb!r} (known: {', '.join(VERBS)})")
    if not isinstance(args, Mapping):
        raise VerbError("bad_args", "args: expected an object")
    try:
        return await entry[0](vm, args)
    except VerbError:
        raise
    except (KeyComboError, LayoutError, NeedleError, ValueError) as exc:
        raise VerbError("bad_args", str(exc)) from None
    except (MatchError, ScreenshotTimeout) as exc:
        raise VerbError("not_found", str(exc)) from None
    except AgentError as exc:
        raise VerbError("agent", str(exc)) from None
    except OcrUnavailable as exc:
        raise VerbError("unavailable", str(exc)) from None
    except ChannelUnavailable as exc:
        raise VerbError("unavailable", str(exc)) from None
    except (SessionError, spice_net.SpiceNetError) as exc:
        raise VerbError("session", str(exc)) from None
