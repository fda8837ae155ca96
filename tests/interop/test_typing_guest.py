"""Typing into a real Linux guest (QEMU/TCG, PS/2 keyboard): every character arrives, at full speed."""

from __future__ import annotations

import time

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.linux_guest import LinuxGuest
from spice_session._typing import PacingMode

pytestmark = pytest.mark.interop

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
CTRL_D = [(0x1D, True), (0x20, True), (0x20, False), (0x1D, False)]


async def _typed_into_file(guest: LinuxGuest, text: str) -> tuple[bytes, ss.Inputs, float]:
    """Type ``cat > /tmp/typed``, ``text`` and Ctrl-D on tty1; the bytes the guest wrote."""
    async with ss.connect(guest.uri) as session:
        inputs = session.inputs
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
    data = bytes.fromhex(guest.sh("hexdump -ve '1/1 \"%02x\"' /tmp/typed").strip())
    return data, inputs, elapsed


async def test_every_printable_character_arrives(linux_guest: LinuxGuest) -> None:
    data, inputs, _ = await _typed_into_file(linux_guest, PRINTABLE)
    assert data.decode() == PRINTABLE + "\n"
    assert inputs.key_pacer.mode is PacingMode.ECHO


async def test_a_thousand_characters_in_one_call(linux_guest: LinuxGuest) -> None:
    text = (PRINTABLE * 11)[:1000]
    data, inputs, elapsed = await _typed_into_file(linux_guest, text)
    assert data.decode() == text + "\n"
    # no Caps Lock left on, nothing held
    assert not inputs.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK
    settles = inputs.key_pacer.settles
    print(f"1000 characters in {elapsed:.1f} s ({1000 / elapsed:.0f}/s), {settles} confirmations")
