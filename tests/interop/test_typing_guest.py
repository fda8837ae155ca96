"""Typing into a real Linux guest (QEMU/TCG, PS/2 keyboard): every character arrives, at full speed."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.linux_guest import LinuxGuest, start_guest
from peers.require import require_binary
from spice_session.lowlevel import PacingMode

pytestmark = pytest.mark.interop

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
CTRL_D = [(0x1D, True), (0x20, True), (0x20, False), (0x1D, False)]
#: The console's answer to the shell's cursor-position query (ESC [ 6 n, sent by busybox's
#: line editor at its prompt): the kernel queues it as input, and on a slow TCG guest it can
#: land after ``cat`` started, among the typed characters (CI saw "ESC[8;10R" after the 2nd).
_CURSOR_REPORT = re.compile(rb"\x1b\[[0-9]+;[0-9]+R")


def _typed_file(guest: LinuxGuest) -> bytes:
    """/tmp/typed in the guest, without the console's cursor reports (not keys we typed)."""
    data = bytes.fromhex(guest.sh("hexdump -ve '1/1 \"%02x\"' /tmp/typed").strip())
    return _CURSOR_REPORT.sub(b"", data)


async def _typed_into_file(
    guest: LinuxGuest, text: str, *, caps_lock: bool = False
) -> tuple[bytes, ss.Inputs, float]:
    """Type ``cat > /tmp/typed``, ``text`` and Ctrl-D on tty1; the bytes the guest wrote.

    ``caps_lock``: turn the guest's Caps Lock on first (client KEY_MODIFIERS) and wait for
    its LED report."""
    async with ss.connect(guest.uri) as session:
        inputs = session.inputs
        if caps_lock:
            await inputs.set_locks(sp.KeyboardModifierFlags.CAPS_LOCK)
            with trio.fail_after(10):
                while not inputs.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK:
                    await trio.sleep(0.05)
        await inputs.type_text("cat > /tmp/typed\n")
        start = time.monotonic()
        await inputs.type_text(text + "\n")
        elapsed = time.monotonic() - start
        await inputs.send_keys(CTRL_D)
        for _ in range(100):
            if "cat" not in guest.sh("pgrep -x cat || true"):
                break
            await trio.sleep(0.1)
        assert not inputs.keys_down
    data = _typed_file(guest)
    return data, inputs, elapsed


async def test_every_printable_character_arrives(linux_guest: LinuxGuest) -> None:
    data, inputs, _ = await _typed_into_file(linux_guest, PRINTABLE)
    assert data.decode() == PRINTABLE + "\n"
    assert inputs.key_pacer.mode is PacingMode.ECHO


async def test_text_comes_out_as_asked_with_the_guests_caps_lock_on(linux_guest: LinuxGuest) -> None:
    data, inputs, _ = await _typed_into_file(linux_guest, PRINTABLE, caps_lock=True)
    assert data.decode() == PRINTABLE + "\n"
    assert inputs.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK  # left as the user had it
    assert inputs.key_pacer.mode is PacingMode.ECHO


async def test_a_thousand_characters_in_one_call(linux_guest: LinuxGuest) -> None:
    text = (PRINTABLE * 11)[:1000]
    data, inputs, elapsed = await _typed_into_file(linux_guest, text)
    assert data.decode() == text + "\n"
    # no Caps Lock left on, nothing held
    assert not inputs.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK
    settles = inputs.key_pacer.settles
    print(f"1000 characters in {elapsed:.1f} s ({1000 / elapsed:.0f}/s), {settles} confirmations")


# What xkb's ``de`` has on two keys where console-data's de-latin1 differs: AltGr++ is a plain
# tilde (de-latin1: dead_tilde, which busybox's console turns into a composed character) and
# AltGr+E is the euro sign (de-latin1 via euro.inc: ``currency``, U+00A4 once loadkeys -u
# makes it Unicode, which the UTF-8 console writes as "¤"). de-latin1-nodeadkeys would fix the
# tilde but also make ^ and ` plain, where xkb's ``de`` (what layout="de" types) has them dead.
DE_LIKE_XKB = "keycode 27 = plus asterisk asciitilde\naltgr keycode 18 = U+20AC\n"


async def test_german_layout_into_a_german_console(peers: Any, tmp_path: Path) -> None:
    """``layout="de"`` typed into a guest whose console keymap is German: "ä@€|~" and the rest arrive.

    The keymap is console-data's de-latin1 with the two keys of ``DE_LIKE_XKB`` set as in xkb's
    ``de``, built with ``loadkeys -b -u`` for busybox's ``loadkmap``. The console is in UTF-8
    mode (the kernel's default), so the file ``cat`` writes is UTF-8.
    """
    loadkeys = require_binary("loadkeys")
    extra = tmp_path / "extra"
    extra.mkdir()
    overrides = tmp_path / "de-like-xkb.map"
    overrides.write_text(DE_LIKE_XKB)
    with open(extra / "de.bmap", "wb") as out:
        subprocess.run([loadkeys, "-b", "-u", "de-latin1", str(overrides)], stdout=out, check=True)
    guest = start_guest(peers.log_dir, extra=extra)
    peers.started.append(guest)
    guest.sh("loadkmap < /extra/de.bmap")
    text = "\u00e4@\u20ac|~ \u00f6\u00fc\u00df\u00c4\u00d6\u00dc\u00b0\u00a7 zy ^ <>{[]}\\ " + PRINTABLE
    async with ss.connect(guest.uri) as session:
        session.inputs.layout = ss.get_layout("de")
        await session.inputs.type_text("cat > /tmp/typed\n")
        await session.inputs.type_text(text + "\n")
        await session.inputs.key("ctrl-d")
        for _ in range(100):
            if "cat" not in guest.sh("pgrep -x cat || true"):
                break
            await trio.sleep(0.1)
    data = _typed_file(guest)
    assert data.decode() == text + "\n"
