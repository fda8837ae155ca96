"""``spice do URI ACTION ...``: drive a machine with vncdotool's vocabulary.

Actions (arguments in brackets are optional)::

    type TEXT            key COMBO            keydown KEY         keyup KEY
    move X Y             click [1|2|3]        mousedown B         mouseup B
    drag X Y             scroll N             pause SECONDS       wait-still [SECONDS [TIMEOUT]]
    capture FILE.png [X Y W H]                expect FILE.png|NEEDLE.json [TIMEOUT]
    expect-text REGEX [TIMEOUT]                record-audio FILE.wav SECONDS
    clipboard-set TEXT   clipboard-get        send-file PATH      resize WxH[,WxH...]
    usb-attach PATH[,ro] usb-attach --device VID:PID     usb-detach

The last four go through the guest agent: ``clipboard-get`` prints the guest's text
(nothing when it offers none), ``send-file`` shows a progress bar on a terminal,
``resize`` asks for one monitor per ``WxH``.  No agent within 10 s: exit code 11.
``usb-attach`` plugs a disk image (an ``.iso``: a CD-ROM; ``,ro``: read-only) or, with
``--device VID:PID``, a physical USB device (libusb, ``spice-session[usb]``) into the guest
through USB redirection; ``usb-detach`` unplugs the last one attached.

``-f SCRIPT`` reads the actions from a file, one per line (shell quoting, ``#``
comments).  An ``expect`` or ``expect-text`` that times out ends the command
with exit code 10 and names the best score.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import trio
from PIL import Image
from spice_session import LAYOUTS, Driver, KeyComboError, get_layout

from ._commands import HELP
from ._exitcodes import ExitCode
from ._record_audio import capture, save_wav
from ._run import UsageError, add_connection_args, check_connection_args, open_session
from ._usb_actions import UsbDeviceId, UsbPolicy, UsbSlots, parse_usb_spec

__all__ = ["Action", "add_parser", "parse_actions", "run"]

DEFAULT_EXPECT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Action:
    """One parsed action: its name and arguments (already converted)."""

    name: str
    args: tuple[object, ...] = ()


def _number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{name}: expected an integer, got {text!r}") from None


def _float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}: expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise UsageError(f"{name}: {text} is negative")
    return value


# name -> (required argument count, optional argument count, converter)
_Converter = Callable[[str, list[str]], tuple[object, ...]]


def _ints(name: str, words: list[str]) -> tuple[object, ...]:
    return tuple(_int(name, w) for w in words)


def _text(name: str, words: list[str]) -> tuple[object, ...]:
    return tuple(words)


def _with_timeout(name: str, words: list[str]) -> tuple[object, ...]:
    timeout = _float(name, words[1]) if len(words) > 1 else DEFAULT_EXPECT_TIMEOUT
    return words[0], timeout


def _seconds(name: str, words: list[str]) -> tuple[object, ...]:
    return tuple(_float(name, w) for w in words)


def _wav_seconds(name: str, words: list[str]) -> tuple[object, ...]:
    seconds = _float(name, words[1])
    if seconds <= 0:
        raise UsageError(f"{name}: SECONDS must be > 0, not {words[1]}")
    return (words[0], seconds)


def _monitors(name: str, words: list[str]) -> tuple[object, ...]:
    sizes = []
    for part in words[0].split(","):
        w, sep, h = part.lower().partition("x")
        if not sep or not w.isdigit() or not h.isdigit() or not (0 < int(w) <= 16384 and 0 < int(h) <= 16384):
            raise UsageError(f"{name}: expected WxH[,WxH...] (e.g. 1280x800), got {words[0]!r}")
        sizes.append((int(w), int(h)))
    return tuple(sizes)


def _capture(name: str, words: list[str]) -> tuple[object, ...]:
    if len(words) not in (1, 5):
        raise UsageError("capture: FILE.png, optionally followed by X Y W H")
    return (words[0], *(_int(name, w) for w in words[1:]))


_SPEC: dict[str, tuple[int, int, _Converter]] = {
    "type": (1, 0, _text),
    "key": (1, 0, _text),
    "keydown": (1, 0, _text),
    "keyup": (1, 0, _text),
    "move": (2, 0, _ints),
    "mousemove": (2, 0, _ints),
    "click": (0, 1, _ints),
    "mousedown": (1, 0, _ints),
    "mouseup": (1, 0, _ints),
    "drag": (2, 0, _ints),
    "scroll": (1, 0, _ints),
    "capture": (1, 4, _capture),
    "expect": (1, 1, _with_timeout),
    "expect-text": (1, 1, _with_timeout),
    "wait-still": (0, 2, _seconds),
    "pause": (1, 0, _seconds),
    "record-audio": (2, 0, _wav_seconds),
    "clipboard-set": (1, 0, _text),
    "clipboard-get": (0, 0, _text),
    "send-file": (1, 0, _text),
    "resize": (1, 0, _monitors),
    "usb-attach": (1, 0, parse_usb_spec),
    "usb-detach": (0, 0, _text),
}

#: Seconds ``spice do`` waits for the guest agent.
AGENT_TIMEOUT = 10.0


async def _clipboard_get(vm: Driver, out: TextIO) -> None:
    session = vm.session
    await session.agent.ready(AGENT_TIMEOUT)
    with trio.move_on_after(1.0):  # a guest that owns the clipboard says so as the agent starts
        while not session.clipboard.guest_types.get(0):
            await trio.sleep(0.02)
    text = await session.clipboard.get_text()
    if text:
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()


async def _send_file(vm: Driver, path: str, out: TextIO) -> None:
    if not Path(path).is_file():
        raise UsageError(f"send-file: {path} is not a readable file")
    bar = sys.stderr.isatty()

    def progress(sent: int, total: int) -> None:
        if bar:
            done = 30 * sent // max(total, 1)
            sys.stderr.write(f"\r{Path(path).name} [{'#' * done}{'.' * (30 - done)}] {sent}/{total}")
            sys.stderr.flush()

    await vm.session.agent.ready(AGENT_TIMEOUT)
    await vm.session.files.send(path, progress=progress)
    if bar:
        sys.stderr.write("\n")
    print(f"{path}: {Path(path).stat().st_size} bytes sent", file=out, flush=True)


def parse_actions(words: Sequence[str]) -> list[Action]:
    """Actions from a word list (``type hello key Return``); :class:`UsageError` names the problem."""
    actions: list[Action] = []
    i = 0
    while i < len(words):
        name = words[i]
        if name not in _SPEC:
            raise UsageError(f"unknown action {name!r} (known: {', '.join(sorted(_SPEC))})")
        required, optional, convert = _SPEC[name]
        args = list(words[i + 1 : i + 1 + required])
        if len(args) < required:
            raise UsageError(f"{name}: needs {required} argument(s)")
        i += 1 + required
        if name == "usb-attach" and args == ["--device"] and i < len(words):  # --device VID:PID
            args.append(words[i])
            i += 1
        while optional and i < len(words) and words[i] not in _SPEC and _number(words[i]):
            args.append(words[i])
            i += 1
            optional -= 1
        actions.append(Action(name, convert(name, args)))
    return actions


def read_script(path: Path) -> list[str]:
    """The words of a script file: one action per line, shell quoting, ``#`` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read script {path}: {exc.strerror or exc}") from None
    words: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            words += shlex.split(line, comments=True)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from None
    return words


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "do",
        help=HELP["do"],
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument("actions", nargs=argparse.REMAINDER, metavar="ACTION", help="actions, see above")
    p.add_argument("-f", "--file", metavar="SCRIPT", help="read actions from SCRIPT, one per line")
    p.add_argument(
        "--layout",
        default="us",
        choices=LAYOUTS,
        help="the guest's keyboard layout (default us)",
    )
    p.add_argument("--save-misses", metavar="DIR", help="save the searched frame of a failed expect into DIR")
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> list[Action]:
    check_connection_args(args)
    words = list(args.actions)
    if args.file:
        words = read_script(Path(args.file)) + words
    if not words:
        raise UsageError("no actions given (e.g. spice do URI type hello key Return)")
    actions = parse_actions(words)
    layout = get_layout(args.layout)
    for action in actions:
        try:
            if action.name == "key":
                layout.combo(str(action.args[0]))
            elif action.name in ("keydown", "keyup"):
                layout.key_code(str(action.args[0]))
            elif action.name == "type":
                layout.strokes(str(action.args[0]))
        except (KeyComboError, ValueError) as exc:
            raise UsageError(f"{action.name}: {exc}") from None
    return actions


async def _perform(vm: Driver, action: Action, out: TextIO) -> None:
    a = action.args
    name = action.name
    if name == "type":
        await vm.type(str(a[0]))
    elif name == "key":
        await vm.key(str(a[0]))
    elif name == "keydown":
        await vm.keydown(str(a[0]))
    elif name == "keyup":
        await vm.keyup(str(a[0]))
    elif name in ("move", "mousemove"):
        await vm.move(int(str(a[0])), int(str(a[1])))
    elif name == "click":
        await vm.click(button=int(str(a[0])) if a else 1)
    elif name == "mousedown":
        await vm.mousedown(int(str(a[0])))
    elif name == "mouseup":
        await vm.mouseup(int(str(a[0])))
    elif name == "drag":
        await vm.drag(vm.pointer or (0, 0), (int(str(a[0])), int(str(a[1]))))
    elif name == "scroll":
        await vm.scroll(int(str(a[0])))
    elif name == "pause":
        await trio.sleep(float(str(a[0])))
    elif name == "wait-still":
        await vm.wait_still(*(float(str(v)) for v in a))  # seconds 1, timeout 60 unless given
    elif name == "record-audio":  # what the guest plays during SECONDS, as a WAV file
        chunks = await capture(vm.session, float(str(a[1])))
        print(f"{a[0]}: {save_wav(Path(str(a[0])), chunks)}", file=out, flush=True)
    elif name == "capture":
        region = tuple(int(str(v)) for v in a[1:]) if len(a) == 5 else None
        frame = await vm.screenshot(region)  # type: ignore[arg-type]
        try:
            Image.fromarray(frame).save(str(a[0]), format="PNG")
        except OSError as exc:
            raise UsageError(f"cannot write {a[0]}: {exc.strerror or exc}") from None
        print(f"{a[0]}: {frame.shape[1]}x{frame.shape[0]}", file=out, flush=True)
    elif name == "expect":
        match = await vm.expect(str(a[0]), float(str(a[1])))
        print(
            f"{a[0]}: at {match.x},{match.y} {match.w}x{match.h} score {match.score:.3f}",
            file=out,
            flush=True,
        )
    elif name == "expect-text":
        found = await vm.expect_text(str(a[0]), float(str(a[1])))
        print(f"text: {found.group(0)!r}", file=out, flush=True)
    elif name == "clipboard-set":
        await vm.session.clipboard.set_text(str(a[0]), timeout=AGENT_TIMEOUT)
    elif name == "clipboard-get":
        await _clipboard_get(vm, out)
    elif name == "send-file":
        await _send_file(vm, str(a[0]), out)
    elif name == "resize":
        sizes = [(int(str(m[0])), int(str(m[1]))) for m in a if isinstance(m, tuple)]
        await vm.session.set_monitors(sizes, timeout=AGENT_TIMEOUT)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Parse every action first (usage errors: 2), connect, perform them in order."""
    actions = _check_args(args)
    async with open_session(args, audio=any(a.name == "record-audio" for a in actions)) as session:
        session.events().close()
        vm = Driver(session, args.layout, save_misses=args.save_misses)
        usb = UsbSlots(session, out, UsbPolicy.of(getattr(args, "vv", None)))
        try:
            for action in actions:
                if action.name == "usb-attach":
                    target = action.args[0]
                    await usb.attach(
                        target if isinstance(target, UsbDeviceId) else str(target), bool(action.args[1])
                    )
                elif action.name == "usb-detach":
                    await usb.detach()
                else:
                    await _perform(vm, action, out)
        finally:
            await usb.aclose()
    return ExitCode.OK
