"""Typing paced for a guest with a 16-byte keyboard buffer: nothing lost, Shift never stuck."""

from __future__ import annotations

import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import spice_proto as sp
import trio
import trio.testing
from spice_session import Inputs
from spice_session._typing import BLIND_GAP, PS2_QUEUE_BYTES, SYNC_TIMEOUT, KeyPacer, PacingMode, stroke_cost

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_US = {ch: (code, shifted) for ch, (code, shifted) in sp.US_KEYMAP.items()}
_FROM_KEY = {(code, shifted): ch for ch, (code, shifted) in _US.items()}


class SlowGuest:
    """QEMU's PS/2 keyboard in front of a slow guest, as the inputs channel sees it.

    Scancode bytes go into a 16-byte queue (overflow is dropped, like QEMU);
    the guest reads one byte every ``byte_time`` seconds, keeps Shift and Caps
    Lock state, types characters, and reports Caps Lock LED changes back
    (KEY_MODIFIERS) after ``led_delay`` when ``echo`` is on.  Like libspice-server,
    the server also sends its own guess of the LEDs (the last reported ones, Caps
    Lock flipped by each Caps Lock press since) 2 s after the last lock key or
    client KEY_MODIFIERS, whether the guest answered or not.  Num Lock toggles and is
    reported too (the LED answer carries every lock).
    """

    def __init__(self, echo: bool = True, byte_time: float = 0.002, led_delay: float = 0.05) -> None:
        self.echo = echo
        self.byte_time = byte_time
        self.led_delay = led_delay
        self.queue: list[int] = []
        self.dropped = 0
        self.text: list[str] = []
        self.shift = False
        self.caps = False
        self.num = False
        self.extended = False
        self.inputs: Inputs | None = None
        self._led_send, self._led_recv = trio.open_memory_channel[sp.KeyboardModifierFlags](100)
        #: The server's guess of the Caps Lock LED, and when it sends it.
        self.guess = False
        #: The LEDs the guest last reported (the rest of the server's guess).
        self.reported = sp.KeyboardModifierFlags(0)
        self.guess_at: float | None = None
        self.guesses = 0

    async def send(self, message: sp.Message) -> None:
        if isinstance(message, sp.InputsClientKeyModifiers):
            self.guess = bool(message.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK)
            self.guess_at = trio.current_time() + 2.0
            return
        if isinstance(message, sp.InputsKeyDown) and message.code == 0x3A:
            self.guess = not self.guess
            self.guess_at = trio.current_time() + 2.0
        if isinstance(message, sp.InputsKeyDown | sp.InputsKeyUp):
            data = int(message.code).to_bytes(4, "little").rstrip(b"\0") or b"\0"
        elif isinstance(message, sp.InputsKeyScancode):
            data = bytes(message.data)
        else:
            return
        for byte in data:
            if len(self.queue) >= PS2_QUEUE_BYTES:
                self.dropped += 1
            else:
                self.queue.append(byte)

    def _key(self, byte: int) -> None:
        if byte == 0xE0:
            self.extended = True
            return
        extended, self.extended = self.extended, False
        code, released = byte & 0x7F, bool(byte & 0x80)
        if extended:
            return
        if code in (0x2A, 0x36):
            self.shift = not released
        elif code == 0x3A and not released:
            self.caps = not self.caps
            self._led_send.send_nowait(self._leds_now())
        elif code == 0x45 and not released:
            self.num = not self.num
            self._led_send.send_nowait(self._leds_now())
        elif code in (0x3A, 0x45):
            pass
        elif not released:
            shifted = self.shift ^ (
                self.caps and (code, False) in _FROM_KEY and _FROM_KEY[(code, False)].isalpha()
            )
            self.text.append(_FROM_KEY.get((code, shifted), "?"))

    def _leds_now(self, caps: bool | None = None) -> sp.KeyboardModifierFlags:
        flags = sp.KeyboardModifierFlags.NUM_LOCK if self.num else sp.KeyboardModifierFlags(0)
        if self.caps if caps is None else caps:
            flags |= sp.KeyboardModifierFlags.CAPS_LOCK
        return flags

    async def run(self, inputs: Inputs) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._leds, inputs)
            while True:
                await trio.sleep(self.byte_time)
                if self.queue:
                    self._key(self.queue.pop(0))
                if self.guess_at is not None and trio.current_time() >= self.guess_at:
                    self.guess_at = None
                    self.guesses += 1
                    caps = sp.KeyboardModifierFlags.CAPS_LOCK
                    guess = (self.reported & ~caps) | (caps if self.guess else sp.KeyboardModifierFlags(0))
                    inputs.handle(sp.InputsKeyModifiers(guess))

    async def _leds(self, inputs: Inputs) -> None:
        async for flags in self._led_recv:
            if self.echo:
                await trio.sleep(self.led_delay)
                # the server learns the guest's LEDs
                self.guess = bool(flags & sp.KeyboardModifierFlags.CAPS_LOCK)
                self.reported = flags
                inputs.handle(sp.InputsKeyModifiers(flags))


def _typed_exactly(guest: SlowGuest, text: str) -> None:
    """The guest got ``text``, nothing dropped, with Shift and Caps Lock left off."""
    assert guest.dropped == 0
    assert "".join(guest.text) == text
    assert not guest.shift and not guest.caps and not guest.num


@asynccontextmanager
async def _running(
    guest: SlowGuest, drain: float = 5.0, inputs: Inputs | None = None
) -> AsyncIterator[Inputs]:
    """``guest`` running with an :class:`Inputs` typing at it; after the block, ``drain``
    seconds for it to read what is left, then it stops."""
    inputs = inputs or Inputs(guest, key_scancode=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(guest.run, inputs)
        yield inputs
        await trio.sleep(drain)
        nursery.cancel_scope.cancel()


async def _type(guest: SlowGuest, text: str, drain: float = 5.0) -> Inputs:
    async with _running(guest, drain) as inputs:
        await inputs.type_text(text)
    return inputs


@pytest.mark.parametrize("byte_time", [0.001, 0.02])
async def test_a_thousand_characters_reach_a_slow_guest_exactly(
    byte_time: float, autojump_clock: trio.testing.MockClock
) -> None:
    text = (PRINTABLE * 11)[:1000]
    guest = SlowGuest(byte_time=byte_time)
    inputs = await _type(guest, text, drain=60.0)
    _typed_exactly(guest, text)
    assert inputs.key_pacer.mode is PacingMode.ECHO


async def test_unpaced_typing_would_lose_keys(autojump_clock: trio.testing.MockClock) -> None:
    """The simulated guest really does drop what does not fit (so the test above can fail)."""
    guest = SlowGuest()
    for char in "Hello, World! " * 3:
        for message in sp.type_text(char):
            await guest.send(message)
    assert guest.dropped > 0


async def test_server_without_led_reports_gets_bursts(autojump_clock: trio.testing.MockClock) -> None:
    guest = SlowGuest(echo=False, byte_time=0.0005)
    start = trio.current_time()
    inputs = await _type(guest, PRINTABLE, drain=0.0)
    elapsed = trio.current_time() - start
    assert inputs.key_pacer.mode is PacingMode.BLIND
    # one probe, then one gap per burst of at most 16 bytes
    bursts = -(-sum(stroke_cost(_events(c)) for c in PRINTABLE) // PS2_QUEUE_BYTES)
    assert elapsed < 1.0 + (bursts + 2) * BLIND_GAP + 0.1
    await trio.sleep(1.0)
    assert not guest.caps  # the probe's Caps Lock was put back


async def test_a_probe_answered_late_turns_blind_pacing_back_to_echo(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A guest too busy to switch its LED within the probe's second is not left blind for good."""
    guest = SlowGuest(byte_time=0.001, led_delay=1.5)  # reads a burst within the blind gap
    text = PRINTABLE
    async with _running(guest, 5.0) as inputs:
        await inputs.type_text(text[:40])
        assert inputs.key_pacer.mode is PacingMode.BLIND  # the probe went unanswered in time
        await trio.sleep(5.0)  # its two late reports come in
        assert inputs.key_pacer.mode is PacingMode.ECHO
        await inputs.type_text(text[40:])
        assert inputs.key_pacer.mode is PacingMode.ECHO
    _typed_exactly(guest, text)


class SpoiledLedGuest(SlowGuest):
    """After ``spoil`` is set, the next Caps Lock press the guest reads is answered with a
    stale LED report (the state before it), and its own report comes only once the next
    Caps Lock press is read: a keyboard whose LED command was spoiled (as QEMU's guest was
    once in CI, under load)."""

    def __init__(self, **kw: float) -> None:
        super().__init__(**kw)
        self.spoil = False
        self._held: bool | None = None

    def _key(self, byte: int) -> None:
        caps_press = byte == 0x3A and not self.extended
        if caps_press and self.spoil:
            self.spoil = False
            self.caps = not self.caps
            self._led_send.send_nowait(self._leds_now(not self.caps))
            self._held = self.caps
            return
        if caps_press and self._held is not None:
            held, self._held = self._held, None
            self._led_send.send_nowait(self._leds_now(held))
        super()._key(byte)


async def test_a_confirmation_a_spoiled_guest_lost_turns_pacing_back_to_echo_when_it_comes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A guest that answered LED changes loses one answer mid-text: the confirmation times out
    (SYNC_TIMEOUT) and pacing goes blind; the late answers that come once Caps Lock is put
    back turn it to echo again (before, only the first probe's late answers did)."""
    guest = SpoiledLedGuest(byte_time=0.001)
    text = PRINTABLE
    async with _running(guest, 5.0) as inputs:
        await inputs.type_text(text[:40])
        assert inputs.key_pacer.mode is PacingMode.ECHO
        guest.spoil = True
        start = trio.current_time()
        await inputs.type_text(text[40:60])
        assert trio.current_time() - start >= SYNC_TIMEOUT  # the lost confirmation was waited for
        await trio.sleep(1.0)
        assert inputs.key_pacer.mode is PacingMode.ECHO
        await inputs.type_text(text[60:])
        assert inputs.key_pacer.mode is PacingMode.ECHO
    _typed_exactly(guest, text)


class LossyGuest(SlowGuest):
    """After ``lose`` is set, the second Caps Lock press the guest reads is dropped whole, as a
    Linux guest under load dropped the stroke putting Caps Lock back, sent just after the first
    stroke's LED answer (CI, the relative mouse test: Caps Lock stayed on in the guest)."""

    def __init__(self, **kw: float) -> None:
        super().__init__(**kw)
        self.lose = False
        self.lost = 0
        #: Stop answering LEDs once the stroke is lost (a guest whose keyboard stays wedged).
        self.mute_after = False
        self._presses = 0

    def _key(self, byte: int) -> None:
        if self.lose and byte == 0x3A and not self.extended:
            self._presses += 1
            if self._presses == 2:
                self.lose, self.lost = False, self.lost + 1
                self.echo = not self.mute_after
                return
        super()._key(byte)


async def test_a_lost_stroke_putting_caps_lock_back_is_found_and_sent_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The guest drops the stroke that puts Caps Lock back: within about a second the client asks
    for its LEDs with Num Lock, sees Caps Lock still on and sends the stroke again; nothing is
    typed with Caps Lock on, and pacing stays on echo (before: 10 s, then blind, and the text
    typed meanwhile came out in the wrong case)."""
    guest = LossyGuest(byte_time=0.001)
    text = PRINTABLE
    async with _running(guest, 5.0) as inputs:
        await inputs.type_text(text[:40])
        guest.lose = True
        start = trio.current_time()
        await inputs.type_text(text[40:])
        assert guest.lost == 1
        assert trio.current_time() - start < 3.0  # one quiet second and the Num Lock question
        assert inputs.key_pacer.mode is PacingMode.ECHO
    _typed_exactly(guest, text)


async def test_a_guest_that_stops_answering_after_a_lost_stroke_gets_num_lock_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The Num Lock question goes unanswered too: pacing turns blind, and the stroke putting Num
    Lock back still goes, so the guest ends with Num Lock as it was."""
    guest = LossyGuest(byte_time=0.001)
    guest.mute_after = True
    async with _running(guest, 5.0) as inputs:
        await inputs.type_text(PRINTABLE[:40])
        guest.lose = True
        await inputs.type_text(PRINTABLE[40:])
        assert guest.lost == 1
        assert inputs.key_pacer.mode is PacingMode.BLIND
    assert not guest.num and guest.dropped == 0


async def test_text_comes_out_as_asked_with_the_guests_caps_lock_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The guest has Caps Lock on (reported at connect): the text arrives in the case asked for,
    through the confirmations' own Caps Lock strokes, and Caps Lock is left on."""
    guest = SlowGuest(byte_time=0.001)
    guest.caps = True
    text = PRINTABLE * 2
    inputs = Inputs(guest, key_scancode=False)
    inputs.handle(sp.InputsInit(sp.KeyboardModifierFlags.CAPS_LOCK))
    async with _running(guest, 5.0, inputs):
        await inputs.type_text(text)
    assert "".join(guest.text) == text and guest.dropped == 0
    assert guest.caps and not guest.shift
    assert inputs.key_pacer.mode is PacingMode.ECHO


@asynccontextmanager
async def _blind_after_an_unanswered_probe() -> AsyncIterator[tuple[SlowGuest, Inputs]]:
    """A guest that never reports LEDs, running, PRINTABLE typed at it (the probe unanswered:
    blind pacing), and the server's guess after the probe come; the guest stops after the block."""
    guest = SlowGuest(echo=False, byte_time=0.0005)
    async with _running(guest, 0.0) as inputs:
        await inputs.type_text(PRINTABLE)
        assert inputs.key_pacer.mode is PacingMode.BLIND
        await trio.sleep(3.0)
        yield guest, inputs


async def test_a_server_without_led_reports_stays_blind(autojump_clock: trio.testing.MockClock) -> None:
    """The server's own guesses of the LEDs (2 s after a lock key) are not taken for the guest's
    late answer, nor a lock set from the client meanwhile: typing stays in fast bursts."""
    async with _blind_after_an_unanswered_probe() as (guest, inputs):
        await inputs.set_locks(sp.KeyboardModifierFlags.NUM_LOCK)  # as the viewer does on focus-in
        await trio.sleep(3.0)
        assert guest.guesses == 2  # two reports have come since the probe
        start = trio.current_time()
        await inputs.type_text(PRINTABLE)
        assert trio.current_time() - start < 1.0  # bursts, no confirmations waiting for echoes
        assert inputs.key_pacer.mode is PacingMode.BLIND
        await trio.sleep(1.0)
    assert "".join(guest.text) == PRINTABLE * 2 and guest.dropped == 0


async def test_caps_lock_pressed_meanwhile_is_not_taken_for_the_late_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """After the unanswered probe the user toggles Caps Lock twice: the server's guesses then
    say flipped, then back, as a late answer would; they are not taken for one."""
    async with _blind_after_an_unanswered_probe() as (guest, inputs):
        for _ in range(2):
            await inputs.press_key("Caps_Lock")
            await trio.sleep(3.0)
        assert guest.guesses == 3
        await inputs.type_text(PRINTABLE)
        assert inputs.key_pacer.mode is PacingMode.BLIND


def _events(char: str) -> list[tuple[int, bool]]:
    code, shifted = _US[char]
    keys = [(code, True), (code, False)]
    return [(0x2A, True), *keys, (0x2A, False)] if shifted else keys


async def test_short_text_is_not_delayed(autojump_clock: trio.testing.MockClock) -> None:
    guest = SlowGuest()
    start = trio.current_time()
    await _type(guest, "ls -l\n", drain=0.0)
    assert trio.current_time() - start == 0.0


def test_pacer_budget_counts_the_caps_lock_stroke() -> None:
    pacer = KeyPacer()
    assert not pacer.must_settle(40, 0.0)  # an oversized group goes out whole when nothing is pending
    pacer.sent(12, 0.0)
    assert not pacer.must_settle(2, 0.0)  # 12 + 2 + 2 (Caps Lock) = 16
    assert pacer.must_settle(3, 0.0)
    assert not pacer.must_settle(3, 5.0)  # idle long enough: the buffer has drained
    assert stroke_cost([(0xE04B, True), (0xE04B, False), (0x1E, True)]) == 5


def test_every_printable_character_is_typable() -> None:
    assert set(PRINTABLE) <= set(_US)
    assert set(string.printable) - set(_US) == {"\r", "\x0b", "\x0c"}


async def test_unpaced_when_the_server_fronts_no_vm() -> None:
    """Without an emulated keyboard (no MAIN_UUID: Xspice, our server) keys go out as fast as they come."""
    guest = SlowGuest()
    inputs = Inputs(guest, key_scancode=False, paced=False)
    await inputs.type_text(PRINTABLE)
    assert inputs.key_pacer.mode is PacingMode.OFF and inputs.key_pacer.settles == 0
    assert guest.dropped > 0  # what a 16-byte buffer would have made of it
