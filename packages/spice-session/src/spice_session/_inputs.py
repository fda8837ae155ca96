"""Keyboard and mouse input over the inputs channel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

import trio
from spice_proto import (
    INPUT_MOTION_ACK_BUNCH,
    InputsCap,
    InputsClientKeyModifiers,
    InputsInit,
    InputsKeyModifiers,
    InputsKeyScancode,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    KeyboardModifierFlags,
    Message,
    MouseButton,
    MouseButtonMask,
    MouseMode,
    UnknownMessage,
    key_code,
    key_press,
    key_release,
    scancode_bytes,
)

from ._keymap import PAUSE, hid_to_set1
from ._layouts import Layout, get_layout
from ._pointer import PointerBudget, split_motion
from ._typing import (
    ASK_TIMEOUT,
    BLIND_GAP,
    CAPS_LOCK,
    ECHO_GRACE,
    ECHO_QUIET,
    NUM_LOCK,
    PROBE_TIMEOUT,
    SYNC_TIMEOUT,
    KeyEvent,
    KeyPacer,
    PacingMode,
    stroke_cost,
)

__all__ = ["Inputs", "MotionPacer"]

#: How long an exact pointer message waits for the MOTION_ACK window before going out anyway
#: (and no more waits until the server acknowledges again).
ACK_WAIT = 1.0

_BUTTON_MASKS = {
    MouseButton.LEFT: MouseButtonMask.LEFT,
    MouseButton.MIDDLE: MouseButtonMask.MIDDLE,
    MouseButton.RIGHT: MouseButtonMask.RIGHT,
    MouseButton.SIDE: MouseButtonMask.SIDE,
    MouseButton.EXTRA: MouseButtonMask.EXTRA,
}


class _Sender(Protocol):
    async def send(self, message: Message) -> object: ...


class MotionPacer:
    """The MOTION_ACK window, without I/O.

    The server answers every :data:`spice_proto.INPUT_MOTION_ACK_BUNCH` pointer messages (relative
    MOUSE_MOTION and absolute MOUSE_POSITION alike) with one MOUSE_MOTION_ACK.
    At most ``bunches`` bunches may be unacknowledged; while the window is full,
    relative deltas add up and only the latest absolute position is kept, and
    :meth:`release` hands them out once an acknowledgement opened the window.
    Every value returned is a message the caller must send (it is counted).
    """

    def __init__(self, bunch: int = INPUT_MOTION_ACK_BUNCH, bunches: int = 2) -> None:
        self.bunch = bunch
        self.limit = bunch * bunches
        self.unacked = 0
        self._dx = 0
        self._dy = 0
        self._position: tuple[int, int, int] | None = None

    @property
    def window_open(self) -> bool:
        return self.unacked < self.limit

    @property
    def pending(self) -> bool:
        """Whether motion or a position waits to be sent."""
        return bool(self._dx or self._dy or self._position is not None)

    def motion(self, dx: int, dy: int) -> tuple[int, int] | None:
        """Add a relative delta; the (summed) delta to send now, or ``None`` while the window is full."""
        self._dx += dx
        self._dy += dy
        return self._take_motion() if self.window_open else None

    def position(self, x: int, y: int, display_id: int) -> tuple[int, int, int] | None:
        """Record an absolute position; it to send now, or ``None`` while the window is full."""
        self._position = (x, y, display_id)
        return self._take_position() if self.window_open else None

    def ack(self) -> None:
        """One MOUSE_MOTION_ACK arrived: a bunch is acknowledged."""
        self.unacked = max(0, self.unacked - self.bunch)

    def sent(self) -> None:
        """A pointer message went out that did not pass through :meth:`motion` or :meth:`position`."""
        self.unacked += 1

    def release(self, *, force: bool = False) -> tuple[tuple[int, int] | None, tuple[int, int, int] | None]:
        """Pending (motion, position) that may go out now; ``force`` ignores the window (before a click)."""
        motion = self._take_motion() if force or self.window_open else None
        position = self._take_position() if force or self.window_open else None
        return motion, position

    def discard(self) -> None:
        """Drop what is pending (the mouse mode changed, so it no longer applies)."""
        self._dx = self._dy = 0
        self._position = None

    def _take_motion(self) -> tuple[int, int] | None:
        if not (self._dx or self._dy):
            return None
        delta = (self._dx, self._dy)
        self._dx = self._dy = 0
        self.unacked += 1
        return delta

    def _take_position(self) -> tuple[int, int, int] | None:
        position, self._position = self._position, None
        if position is not None:
            self.unacked += 1
        return position


class Inputs:
    """Send keys and mouse events; track lock keys, held keys, the mouse mode and motion acks.

    Key codes are set-1 make codes (``0x1E`` for A, ``0xE04B`` for the left arrow,
    see :data:`spice_proto.KEY_NAMES`); the byte order on the wire is handled here.
    :meth:`hid_key` takes USB HID usages / SDL scancodes instead.

    Pointer messages are paced by the server's MOTION_ACKs (:class:`MotionPacer`):
    what could not be sent goes out with the next pointer call after an
    acknowledgement, or at once when :meth:`motion_pump` runs alongside.
    Automation wants every motion as asked instead: :meth:`move_by` and the
    ``exact`` button calls never merge motion and pace it for the guest's
    PS/2 mouse (:mod:`spice_session._pointer`).
    """

    def __init__(
        self, channel: _Sender, channel_id: int = 0, *, key_scancode: bool | None = None, paced: bool = True
    ) -> None:
        self._channel = channel
        self.channel_id = channel_id
        #: The guest's lock keys as the server last reported them.
        self.modifiers = KeyboardModifierFlags(0)
        self.buttons = MouseButtonMask(0)
        #: Set-1 codes pressed and not yet released (what :meth:`release_keys` lets go).
        self.keys_down: set[int] = set()
        #: Relative motion in SERVER mode, absolute positions in CLIENT mode (see :meth:`set_mouse_mode`).
        self.mouse_mode = MouseMode.SERVER
        self.pacer = MotionPacer()
        if key_scancode is None:
            caps = getattr(channel, "server_channel_caps", ())
            key_scancode = InputsCap.KEY_SCANCODE in caps
        #: Whether the server takes KEY_SCANCODE (raw bytes, e.g. a press and release at once).
        self.key_scancode = key_scancode
        #: The guest's keyboard layout: what :meth:`type_text` and :meth:`key` press for a character.
        self.layout: Layout = get_layout("us")
        #: Keeps the guest's keyboard buffer from overflowing (see :mod:`spice_session._typing`).
        self.key_pacer = KeyPacer() if paced else KeyPacer(mode=PacingMode.OFF)
        #: Keeps the guest's PS/2 mouse queue from overflowing (exact pointer calls only).
        self.pointer_budget = PointerBudget()
        self._acked = trio.Event()
        #: An exact pointer message waited :data:`ACK_WAIT` in vain: no waits until the next ack.
        self._acks_missing = False
        self._modifiers_changed = trio.Event()
        #: After an unanswered probe: Caps Lock as it was before it, and whether a report has
        #: shown it flipped since (the guest's late echo of the probe); ``None`` when not watching.
        self._late_probe: tuple[bool, bool] | None = None
        #: Pacing turned to echo after the blind gaps: the next confirmation first waits one
        #: gap (what was sent on blind terms may still fill the buffer).
        self._drain_first = False
        self._lock = trio.Lock()
        self._typing = trio.Lock()

    def rebind(self, channel: _Sender) -> None:
        """Send through ``channel`` from now on (a seamless migration's switched inputs channel)."""
        self._channel = channel

    # --------------------------------------------------------------- keyboard
    async def key_down(self, code: int) -> None:
        """Press key ``code`` (a set-1 make code, ``0xE0xx`` for extended keys)."""
        key_press(code)  # validates the code
        await self.send_keys([(code, True)])

    async def key_up(self, code: int) -> None:
        """Release key ``code``."""
        key_release(code)
        await self.send_keys([(code, False)])

    async def send_keys(self, events: Sequence[KeyEvent]) -> None:
        """Send key events that belong together (one character, one combo), paced for the guest.

        Before a group that would overfill the guest's keyboard buffer, waits
        until the guest has read what was sent (:class:`~spice_session._typing.KeyPacer`).
        """
        async with self._typing:
            cost = stroke_cost(events)
            if self.key_pacer.must_settle(cost, trio.current_time()):
                await self._settle()
            async with self._lock:
                if any(code == CAPS_LOCK for code, _ in events):
                    self._late_probe = None  # its LED changes would look like the guest's late echo
                for code, pressed in events:
                    await self._channel.send(key_press(code) if pressed else key_release(code))
                    if pressed:
                        self.keys_down.add(code)
                    else:
                        self.keys_down.discard(code)
            self.key_pacer.sent(cost, trio.current_time())

    async def key_stroke(self, code: int) -> None:
        """Press and release ``code`` at once (one KEY_SCANCODE message when the server takes it)."""
        if self.key_scancode:
            data = scancode_bytes(code) + scancode_bytes(code, release=True)
            if code == CAPS_LOCK:
                self._late_probe = None
            async with self._typing:
                cost = len(data)
                if self.key_pacer.must_settle(cost, trio.current_time()):
                    await self._settle()
                await self._send(InputsKeyScancode(data))
                self.key_pacer.sent(cost, trio.current_time())
        else:
            await self.send_keys([(code, True), (code, False)])

    async def hid_key(self, usage: int, pressed: bool) -> bool:
        """Press or release the key of HID usage / SDL scancode ``usage``; ``False`` if it has no code.

        Pause has no break code on a real keyboard: its press sends make and
        break together and its release sends nothing.  Auto-repeated presses are
        sent again, as a keyboard does.
        """
        code = hid_to_set1(usage)
        if code is None:
            return False
        if code == PAUSE:
            if pressed:
                await self.key_stroke(code)
        elif pressed:
            await self.key_down(code)
        else:
            await self.key_up(code)
        return True

    async def release_keys(self) -> None:
        """Release every key still held (on focus loss, so nothing stays stuck in the guest)."""
        for code in sorted(self.keys_down):
            await self.key_up(code)

    async def set_locks(self, locks: KeyboardModifierFlags) -> None:
        """Make the guest's Caps/Num/Scroll Lock match ``locks`` (client KEY_MODIFIERS)."""
        if (locks ^ self.modifiers) & KeyboardModifierFlags.CAPS_LOCK:
            self._late_probe = None  # the server toggles Caps Lock: not the probe's echo
        await self._send(InputsClientKeyModifiers(KeyboardModifierFlags(int(locks) & 0x7)))

    async def press_key(self, name: str) -> None:
        """Press and release a named key (``"Return"``, ``"Left"``, ``"F5"``, ``"a"``...)."""
        code = key_code(name)
        await self.send_keys([(code, True), (code, False)])

    async def type_text(self, text: str) -> None:
        """Type ``text`` on the guest's :attr:`layout` (Shift/AltGr as needed, ``\\n`` as Return).

        The whole text is checked first (:class:`~spice_session.LayoutError`).
        Paced so that a guest with a small keyboard buffer loses nothing (see
        :mod:`spice_session._typing`); fast servers get the keys in bursts.  With the
        guest's Caps Lock on (as the server last reported it), letters still come out in
        the case asked for, and Caps Lock stays on.
        """
        caps_lock = bool(self.modifiers & KeyboardModifierFlags.CAPS_LOCK)
        for events in self.layout.strokes(text, caps_lock=caps_lock):
            await self.send_keys(events)

    async def key(self, combo: str, repeat: int = 1) -> None:
        """Press and release a combo such as ``ctrl-alt-del``, ``shift-f10``, ``super-l``, ``altgr-e``."""
        events = self.layout.combo(combo)
        for _ in range(repeat):
            await self.send_keys(events)

    async def keydown(self, name: str) -> None:
        """Press (and hold) the key named ``name`` (a key name or a character of the layout)."""
        await self.key_down(self.layout.key_code(name))

    async def keyup(self, name: str) -> None:
        """Release the key named ``name``."""
        await self.key_up(self.layout.key_code(name))

    async def _caps_echo(self, timeout: float, *, repair: bool = False, release_first: bool = False) -> bool:
        """Stroke Caps Lock; whether the guest's Caps Lock LED flipped within ``timeout``.

        With ``repair`` (a guest known to answer), a stroke left unanswered for
        :data:`ECHO_QUIET` is checked (:meth:`_ask_leds`) and sent again if the guest
        never got it, until ``timeout``.  ``release_first`` sends a Caps Lock release
        before the stroke (see :meth:`_stroke`).
        """
        target = not self.modifiers & KeyboardModifierFlags.CAPS_LOCK
        deadline = trio.current_time() + timeout
        await self._stroke(CAPS_LOCK, release_first=release_first)
        while True:
            wait = min(ECHO_QUIET, deadline - trio.current_time()) if repair else timeout
            if await self._lock_state(KeyboardModifierFlags.CAPS_LOCK, target, wait):
                break  # (a report taken just as the time ran out still counts)
            left = deadline - trio.current_time()
            if not repair or left <= 0:
                return False
            leds = await self._ask_leds(min(ASK_TIMEOUT, left))
            if leds is None:
                return False
            if bool(leds & KeyboardModifierFlags.CAPS_LOCK) == target:
                break  # it arrived (its own answer was lost)
            # lost: the guest may also have missed the release of an earlier stroke, which
            # would leave Caps Lock held down there and make a new press a no-op; release it
            await self._stroke(CAPS_LOCK, release_first=True)
        # QEMU reports the LED byte before the guest has read the keyboard's acknowledgement
        # of it; keys sent into that gap can spoil the guest's next LED command, so give it
        # a moment to finish.
        await trio.sleep(ECHO_GRACE)
        return True

    async def _stroke(self, code: int, *, release_first: bool = False) -> None:
        """Press and release ``code`` as two messages.

        ``release_first`` sends a release before them: a stroke sent just after the same
        key's LED answer finds it held down if the guest lost the earlier release (its press
        would then do nothing); a release of a key not held is ignored by guests.
        """
        async with self._lock:
            if release_first:
                await self._channel.send(key_release(code))
            await self._channel.send(key_press(code))
            await self._channel.send(key_release(code))

    async def _lock_state(self, lock: KeyboardModifierFlags, on: bool, timeout: float) -> bool:
        """Wait until the reports show ``lock`` on (or off); whether they did within ``timeout``."""
        with trio.move_on_after(timeout):
            while bool(self.modifiers & lock) != on:
                await self._modifiers_changed.wait()
        return bool(self.modifiers & lock) == on

    async def _ask_leds(self, timeout: float) -> KeyboardModifierFlags | None:
        """The guest's lock LEDs once it has read every key sent so far; ``None`` if it did not say.

        A Num Lock stroke (its LED answer carries Caps Lock too), then one putting Num Lock
        back, each answered within ``timeout``; Caps Lock is not touched.  Unanswered, the
        stroke putting Num Lock back goes anyway, for the guest to read after the first; if
        that one is lost, Num Lock stays toggled in the guest.
        """
        num = bool(self.modifiers & KeyboardModifierFlags.NUM_LOCK)
        await self._stroke(NUM_LOCK)
        if not await self._lock_state(KeyboardModifierFlags.NUM_LOCK, not num, timeout):
            await self._stroke(NUM_LOCK, release_first=True)
            return None
        leds = self.modifiers
        await trio.sleep(ECHO_GRACE)
        await self._stroke(NUM_LOCK, release_first=True)
        if not await self._lock_state(KeyboardModifierFlags.NUM_LOCK, num, timeout):
            return None
        await trio.sleep(ECHO_GRACE)
        return leds

    async def _settle(self) -> None:
        """Wait until the guest has read every key sent (LED round trip), or the blind gap."""
        pacer = self.key_pacer
        if self._drain_first:
            self._drain_first = False
            await trio.sleep(BLIND_GAP)  # what was sent on blind terms may fill the buffer: drain it first
        if pacer.mode is not PacingMode.BLIND and not self.keys_down:
            timeout = PROBE_TIMEOUT if pacer.mode is PacingMode.UNKNOWN else SYNC_TIMEOUT
            before = bool(self.modifiers & KeyboardModifierFlags.CAPS_LOCK)
            start = trio.current_time()
            if await self._caps_echo(timeout):
                pacer.mode = PacingMode.ECHO
                # a guest that answered the first stroke promptly should answer this one as
                # promptly: if it does not, the stroke was lost (seen under load), not slow
                prompt = trio.current_time() - start < ECHO_QUIET
                if await self._caps_echo(SYNC_TIMEOUT, repair=prompt, release_first=True):
                    pacer.settled()
                    self.pointer_budget.settled()
                    return
                # (the stroke putting Caps Lock back went unanswered: its late echo could not
                # be told from the server's guess of the LEDs 2 s later, so none is watched)
            else:  # no report: put Caps Lock back in case the guest took the stroke silently
                # the probe, or a confirmation a guest busy for SYNC_TIMEOUT lost: both
                # strokes' echoes may come late and turn pacing back to echo
                self._late_probe = (before, False)
                await self._stroke(CAPS_LOCK)
            pacer.mode = PacingMode.BLIND
        await trio.sleep(BLIND_GAP)
        pacer.settled()
        self.pointer_budget.settled()

    def _watch_late_probe(self, caps: bool) -> None:
        """Follow a KEY_MODIFIERS report's Caps Lock while an unanswered probe is watched.

        A busy guest can take longer than :data:`PROBE_TIMEOUT` to switch its LED (or, once
        it answered, lose an answer: a LED command spoiled under load).  What
        counts as its answer is Caps Lock reported flipped, then reported back: the probe's
        stroke and the one putting Caps Lock back, both read by the guest.  Pacing then
        turns to echo at once.  A report that only repeats the state (libspice-server sends
        its own guess of the LEDs 2 s after the last lock key, whether the guest answered or
        not) does not count, and a Caps Lock sent meanwhile by anything else ends the watch.
        """
        if self._late_probe is None:
            return
        before, flipped = self._late_probe
        if not flipped and caps != before:
            self._late_probe = (before, True)
        elif flipped and caps == before:
            self._late_probe = None
            if self.key_pacer.mode is PacingMode.BLIND:
                self.key_pacer.mode = PacingMode.ECHO
                self._drain_first = True

    # ------------------------------------------------------------------ mouse
    def set_mouse_mode(self, mode: MouseMode | int) -> None:
        """Follow MAIN_MOUSE_MODE: motion or positions pending for the old mode are dropped."""
        mode = MouseMode(int(mode) & int(MouseMode.SERVER | MouseMode.CLIENT))
        if mode != self.mouse_mode:
            self.pacer.discard()
            self.mouse_mode = mode

    async def mouse_motion(self, dx: int, dy: int) -> None:
        """Relative pointer motion (server mouse mode), paced by the motion acks."""
        async with self._lock:
            await self._flush_locked()
            delta = self.pacer.motion(dx, dy)
            if delta is not None:
                await self._channel.send(InputsMouseMotion(delta[0], delta[1], self.buttons))

    async def mouse_position(self, x: int, y: int, display_id: int = 0) -> None:
        """Absolute pointer position on display ``display_id`` (client mouse mode), paced by the acks."""
        async with self._lock:
            await self._flush_locked()
            position = self.pacer.position(x, y, display_id)
            if position is not None:
                await self._channel.send(InputsMousePosition(x, y, self.buttons, display_id))

    async def pointer(self, x: int, y: int, dx: int, dy: int, display_id: int = 0) -> None:
        """Move the pointer the way the current mouse mode wants: position (client) or delta (server)."""
        if self.mouse_mode == MouseMode.CLIENT:
            await self.mouse_position(x, y, display_id)
        elif dx or dy:
            await self.mouse_motion(dx, dy)

    async def move_by(self, dx: int, dy: int) -> None:
        """Relative motion that reaches the guest whole and in order (server mouse mode).

        Unlike :meth:`mouse_motion` nothing is merged: the motion goes out as its
        own message(s), each waiting for the MOTION_ACK window (at most
        :data:`ACK_WAIT`).  To a VM it is split into PS/2-sized steps and paced
        by the guest's confirmations (:mod:`spice_session._pointer`).
        """
        steps = split_motion(dx, dy) if self._pointer_paced else [(dx, dy)] if dx or dy else []
        for step_x, step_y in steps:
            await self._exact(partial(self._motion_message, step_x, step_y), motion=True)

    async def mouse_press(self, button: MouseButton = MouseButton.LEFT, *, exact: bool = False) -> None:
        """Press ``button``; ``exact`` paces it like :meth:`move_by` (the guest reads it in turn)."""
        mask = _BUTTON_MASKS.get(button, MouseButtonMask(0))
        if exact:
            await self._exact(lambda: InputsMousePress(button, self._press(mask)))
            return
        async with self._lock:
            await self._flush_locked(force=True)  # the click lands where the pointer was sent to
            await self._channel.send(InputsMousePress(button, self._press(mask)))

    async def mouse_release(self, button: MouseButton = MouseButton.LEFT, *, exact: bool = False) -> None:
        mask = _BUTTON_MASKS.get(button, MouseButtonMask(0))
        if exact:
            await self._exact(lambda: InputsMouseRelease(button, self._release(mask)))
            return
        async with self._lock:
            await self._flush_locked(force=True)
            await self._channel.send(InputsMouseRelease(button, self._release(mask)))

    async def click(self, button: MouseButton = MouseButton.LEFT, *, exact: bool = False) -> None:
        await self.mouse_press(button, exact=exact)
        await self.mouse_release(button, exact=exact)

    async def wheel(self, steps: int, *, exact: bool = False) -> None:
        """Scroll ``steps`` notches: positive up, negative down (UP/DOWN button press + release each)."""
        button = MouseButton.UP if steps > 0 else MouseButton.DOWN
        for _ in range(abs(steps)):
            await self.click(button, exact=exact)

    async def flush_motion(self) -> None:
        """Send motion or a position held back by the ack window, if the window allows now."""
        async with self._lock:
            await self._flush_locked()

    async def motion_pump(self) -> None:
        """Run forever (in a nursery): after each MOTION_ACK, send what was held back."""
        while True:
            if not (self.pacer.pending and self.pacer.window_open):
                await self._acked.wait()
            await self.flush_motion()

    # --------------------------------------------------------------- internal
    @property
    def _pointer_paced(self) -> bool:
        """Whether pointer messages reach an emulated PS/2 mouse (a VM in server mouse mode)."""
        return self.key_pacer.mode is not PacingMode.OFF and self.mouse_mode == MouseMode.SERVER

    def _motion_message(self, dx: int, dy: int) -> InputsMouseMotion:
        return InputsMouseMotion(dx, dy, self.buttons)

    def _press(self, mask: MouseButtonMask) -> MouseButtonMask:
        self.buttons |= mask
        return self.buttons

    def _release(self, mask: MouseButtonMask) -> MouseButtonMask:
        self.buttons &= ~mask
        return self.buttons

    async def _exact(self, make: Callable[[], Message], *, motion: bool = False) -> None:
        """Send one pointer message made by ``make`` in turn: after what is held back, within the
        ack window (``motion``), and, to a VM, once the guest has room for it."""
        async with self._typing:
            budget = self.pointer_budget
            if self._pointer_paced and budget.must_settle(trio.current_time()):
                await self._settle()
            async with self._lock:
                await self._flush_locked(force=True)
                if motion:
                    with trio.move_on_after(0 if self._acks_missing else ACK_WAIT) as waiting:
                        while not self.pacer.window_open:
                            await self._acked.wait()
                    self._acks_missing |= waiting.cancelled_caught
                    self.pacer.sent()
                await self._channel.send(make())
            budget.sent(trio.current_time())

    async def _flush_locked(self, *, force: bool = False) -> None:
        motion, position = self.pacer.release(force=force)
        if motion is not None:
            await self._channel.send(InputsMouseMotion(motion[0], motion[1], self.buttons))
        if position is not None:
            x, y, display_id = position
            await self._channel.send(InputsMousePosition(x, y, self.buttons, display_id))

    async def _send(self, message: Message) -> None:
        async with self._lock:  # keep each press/release pair in order across tasks
            await self._channel.send(message)

    def handle(self, message: Message | UnknownMessage) -> None:
        """Update state from a message received on the inputs channel."""
        if isinstance(message, InputsInit):
            self.modifiers = message.keyboard_modifiers
        elif isinstance(message, InputsKeyModifiers):
            self.modifiers = message.modifiers
            self._watch_late_probe(bool(message.modifiers & KeyboardModifierFlags.CAPS_LOCK))
            self._modifiers_changed.set()
            self._modifiers_changed = trio.Event()
        elif isinstance(message, InputsMouseMotionAck):
            self.pacer.ack()
            self._acks_missing = False
            self._acked.set()
            self._acked = trio.Event()
