"""The viewer proper: SDL windows glued to one session (one per display channel).

One trio task polls SDL (on the main thread, with short sleeps) and draws;
another follows the session's events (damage, surfaces, cursor, mouse mode).
Only the damaged rectangles of the primary surface are uploaded to the texture.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import spice_net
import spice_session as ss
import trio
from spice_net.lowlevel import Alarm, clock_reader
from spice_proto import AgentDisplayConfig, ChannelType, MouseButton, MouseMode, Rect
from spice_session.events import merge_rect

from ._sdl_agent import MonitorWindow, ViewerAgent
from ._sdl_audio import SdlMicrophone, ViewerAudio
from ._sdl_frames import StreamFrames
from ._sdl_heads import copy_area, head_areas, monitor_keys
from ._sdl_logic import SDL_BUTTONS, Command, HotKeys, cursor_rgba, locks_from_sdl, title, to_surface
from ._sdl_overlay import MARGIN, overlay_lines, overlay_patch, overlay_size
from ._sdl_report import bug_report
from ._sdl_window import (
    ButtonInput,
    ClipboardChanged,
    FileDropped,
    FocusChanged,
    InputEvent,
    KeyInput,
    PointerMoved,
    Quit,
    WheelInput,
    Window,
    WindowChanged,
    clipboard_reports_changes,
    clipboard_text,
    mod_state,
    poll_events,
    set_clipboard_text,
)

__all__ = ["Viewer"]

#: Seconds between SDL polls when the display connection cannot be waited on, and at least
#: between frames; the longest idle wait (X11: the connection's socket wakes us sooner).
_POLL = 0.004
_FRAME = 1 / 60
#: Seconds between redraws of the statistics overlay.
_OVERLAY_PERIOD = 0.5
#: Seconds between SDL polls for a while after the window or the session last had news: SDL's
#: X11 driver hands over some events only at a later poll (focus changes, 200 ms late).
_IDLE = 0.25
#: How long that while is; after it, an idle viewer waits without a deadline.
_SETTLE = 1.0
#: Window size factor of the zoom hot keys (None: back to the remote screen's size).
_ZOOM = {Command.ZOOM_IN: 1.25, Command.ZOOM_OUT: 0.8, Command.ZOOM_RESET: None}
#: Hot-key actions of remote-viewer this viewer has nothing for (said once when pressed).
_UNAVAILABLE = {
    Command.SMARTCARD_INSERT: "no smartcard support in spice view",
    Command.SMARTCARD_REMOVE: "no smartcard support in spice view",
    Command.USB_DEVICE_RESET: "no USB device to reset in spice view (--usb-disk/--usb-cdrom plug images)",
}
#: A frame's damage is merged into at most this many boxes (overlapping or touching ones
#: join; past this, one bounding box) before it is copied and shown.
_MAX_RECTS = 16


class Viewer:
    """The window and its glue to one session."""

    def __init__(
        self,
        session: ss.Session,
        *,
        client_mouse: bool = True,
        audio: ViewerAudio | None = None,
        microphone: SdlMicrophone | None = None,
        resize_guest: bool = True,
        clipboard: bool = True,
        name: str | None = None,
        fullscreen: bool = False,
        ring: spice_net.CaptureRing | None = None,
        report_dir: Path | None = None,
        display_config: AgentDisplayConfig | None = None,
        keep_windows: bool = False,
        hotkeys: HotKeys | None = None,
    ) -> None:
        #: Windows stay open when the session is lost (:meth:`reattach` shows the next one in them).
        self.keep_windows = keep_windows
        self._clipboard_on, self._resize_guest, self._display_config = clipboard, resize_guest, display_config
        #: Ctrl+Alt+R writes a bug report into ``report_dir`` (default: the current directory),
        #: with the newest traffic that ``ring`` holds.
        self.ring = ring
        self.report_dir = report_dir
        #: The bug reports written so far.
        self.reports: list[Path] = []
        #: The window's name (a .vv file's ``title``), else the server's VM name, else host:port.
        self.name = name
        self._start_fullscreen = fullscreen
        self.client_mouse = client_mouse
        self.window: Window | None = None
        self._bind(session, audio, microphone)
        #: The hot keys (a .vv file's or --hotkeys, else the defaults).
        self.hotkeys = hotkeys if hotkeys is not None else HotKeys()
        self._unavailable_said: set[Command] = set()
        #: Keys held over a reconnect: their release is not sent to the new server.
        self._stale_keys: set[int] = set()
        #: Whether :meth:`run` is on a session; what the window says while it is not.
        self.attached = False
        self.banner: str | None = None
        #: Set when :meth:`run` ends keeping the windows (whoever waits on it replaces it).
        self.offline = trio.Event()
        self.grabbed = False
        self.focused = False
        self.cursor_shape: ss.CursorImage | None = None
        self._buttons: set[MouseButton] = set()
        self._dirty: list[Rect] = []
        self._redraw = False
        #: The statistics overlay (Ctrl+Alt+S): on or off, where it is, when it was drawn.
        self.stats_overlay = False
        self._overlay_box: Rect | None = None
        self._overlay_at = -math.inf
        self._lost: str | None = None
        self._quit = False
        #: Windows of the further display channels (monitors) by channel id, and their damage.
        self.extra: dict[int, Window] = {}
        self._extra_dirty: dict[int, list[Rect]] = {}
        #: Windows of a channel's further heads (MONITORS_CONFIG), by (channel id, head index).
        self.heads: dict[tuple[int, int], Window] = {}
        self._heads_dirty: dict[tuple[int, int], list[Rect]] = {}
        #: Monitors (channel id, head index) whose window the user closed: switched off.
        self._closed: set[tuple[int, int]] = set()
        #: What the SDL loop waits on (the X connection, the next frame's time, a ring), and
        #: whether it waits with nothing new to draw (then the session's news rings it).
        self._alarm: Alarm | None = None
        self._waiting = False
        #: The earliest time the loop draws again (at most one frame per :data:`_FRAME`).
        self._next_frame_at = -math.inf
        #: ``trio.current_time`` (the run's clock's own method once the SDL loop runs: one call).
        self._now: Callable[[], float] = trio.current_time
        #: When the loop's wait going on ends (set by :meth:`_wait`, moved by :meth:`_show_held_now`).
        self._wait_until = math.inf
        #: A draw made from the session's task failed: raised in the SDL loop.
        self._draw_error: Exception | None = None
        #: head_areas of each channel, with what they were worked out from (see _area).
        self._areas: dict[int, tuple[tuple[object, object, object], list[Rect]]] = {}
        #: When the window or the session last had news (trio's clock; see :meth:`_wait`).
        self._news_at = -math.inf

    def _bind(self, session: ss.Session, audio: ViewerAudio | None, microphone: SdlMicrophone | None) -> None:
        """The parts glued to one session: its agent, sound, stream clock and inputs."""
        self.session = session
        #: The guest agent's services: guest size follows the window, clipboards both ways.
        self.guest: ViewerAgent | None = None
        if hasattr(session, "agent"):
            self.guest = ViewerAgent(
                session,
                _SdlClipboard(self._wake) if self._clipboard_on else None,
                resize_guest=self._resize_guest,
                display_config=self._display_config,
            )
        #: Sound out (Ctrl+Alt+M mutes it) and the microphone (Ctrl+Alt+N mutes it), when on.
        self.audio = audio
        self.microphone = microphone
        #: Video stream frames held until their media time, like the sound (none without a clock).
        clock = getattr(session, "media_clock", None)
        self.frames: StreamFrames | None = StreamFrames(clock.now) if clock is not None else None
        if self.frames is not None and hasattr(session, "defer_stream_frames"):
            # frames are shown from their Damage: the session need not copy them into the surface
            session.defer_stream_frames = True
        self._lend_frame_buffers()
        self.label = f"{session.uri.host}:{session.uri.port or session.uri.tls_port}"
        self.inputs: ss.Inputs | None = None
        try:
            self.inputs = session.inputs
        except ss.ChannelUnavailable:
            pass

    def reattach(
        self,
        session: ss.Session,
        *,
        audio: ViewerAudio | None = None,
        microphone: SdlMicrophone | None = None,
    ) -> None:
        """Show ``session`` (a reconnection) in the windows kept from the lost one.

        The grab and the window stay; keys still held are not released on the new server
        later (the reconnect released them there already); buttons start up.
        """
        requested = self.guest.requested if self.guest is not None else None
        self._lend_frame_buffers(False)  # the lost session's decoders let go of the window's
        self._bind(session, audio, microphone)
        if self.guest is not None:
            self.guest.requested = requested
        self._stale_keys |= self.hotkeys.held
        self.hotkeys.reset()
        self._buttons.clear()
        self._lost = None
        self._overlay_box = None
        self._dirty.clear()
        self._extra_dirty.clear()
        self._heads_dirty.clear()
        self.banner = None
        if self.window is not None:
            self.window.set_title(self._title())

    def show_banner(self, text: str) -> None:
        """Say ``text`` (the connection is lost, reconnecting...) over the picture and in the title."""
        self.banner = text
        window = self.window
        if window is None:
            return
        window.set_title(f"{self.name or self.session.name or self.label} - spice view ({text})")
        primary = self.session.display.primary
        lines = [f"spice view: {text}"]
        if primary is not None and (primary.width, primary.height) == (window.width, window.height):
            w, h = overlay_size(lines, primary.width, primary.height)
            pixels = primary.pixels
            if w > 0 and h > 0 and pixels.ndim == 3:
                window.put(
                    overlay_patch(pixels[MARGIN : MARGIN + h, MARGIN : MARGIN + w], lines), MARGIN, MARGIN
                )
        window.present()

    async def wait_offline(self, poll: float = 0.02) -> None:
        """While no session is attached: keep the windows answering (a close quits), the banner shown.

        Returns when :meth:`run` is on a session again or the main window was closed.
        """
        while not self.attached and not self._quit:
            for event in poll_events():
                if isinstance(event, Quit) and not self._monitor_window(event.window):
                    self._quit = True  # the main window (a monitor's window waits for a session)
                elif isinstance(event, KeyInput) and event.pressed:
                    self._stale_keys.add(event.scancode)  # pressed with no server: not released to one
                elif isinstance(event, KeyInput):
                    self.hotkeys.key(event.scancode, False)
                    self._stale_keys.discard(event.scancode)
                elif isinstance(event, WindowChanged) and self.banner is not None:
                    self.show_banner(self.banner)
            await trio.sleep(poll)

    def closing(self) -> bool:
        """Whether the window was closed."""
        return self._quit

    @property
    def mouse_mode(self) -> MouseMode:
        mode = self.session.mouse_mode
        return mode if isinstance(mode, MouseMode) else MouseMode(mode)

    # ------------------------------------------------------------------ top level
    async def run(self) -> None:
        """Until the window is closed (returns) or the session ends (raises ChannelClosed)."""
        session = self.session
        self.attached, self.banner = True, None
        if self.inputs is not None:
            self.inputs.set_mouse_mode(session.mouse_mode)
            await self.inputs.set_locks(locks_from_sdl(mod_state()))  # again whenever the focus comes back
        if (
            self.client_mouse
            and MouseMode.CLIENT in session.supported_mouse_modes
            and session.mouse_mode != MouseMode.CLIENT
        ):
            await session.request_mouse_mode(MouseMode.CLIENT)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._follow_session, nursery.cancel_scope)
                if self.guest is not None:
                    nursery.start_soon(self.guest.run)
                if self.audio is not None:
                    nursery.start_soon(self.audio.run)
                await self._sdl_loop()
                nursery.cancel_scope.cancel()
        finally:
            self.attached = False
            if self._quit or not self.keep_windows:
                self.close()
            else:
                self.offline.set()
        if self._lost is not None and not self._quit:
            raise spice_net.ChannelClosed(f"{session.uri}: {self._lost}")

    def _lend_frame_buffers(self, lend: bool = True) -> None:
        """Have the session decode video frames into the main window's shared memory frames
        (X11 with MIT-SHM), which the X server shows without a copy of ours; ``lend=False``:
        no longer (the window closes, the session is replaced)."""
        window = self.window
        if hasattr(self.session, "frame_buffers"):
            self.session.frame_buffers = window.frame_buffers if lend and window is not None else None

    def close(self) -> None:
        """Close the windows."""
        if self.window is not None:
            self._lend_frame_buffers(False)
            self.window.close()
            self.window = None
        for window in [*self.extra.values(), *self.heads.values()]:
            window.close()
        self.extra.clear()
        self.heads.clear()

    # ------------------------------------------------------------------ session side
    async def _follow_session(self, scope: trio.CancelScope) -> None:
        events = self.session.events()
        # The picture is drawn from Damage once a frame: the per-message events are not
        # needed, and Damage that queued up meanwhile may come joined.
        events.ignore(ss.events.DrawEvent, ss.events.DisplayEvent)
        events.merge_damage()
        # Damage is only noted for the next frame: noted as it comes, it costs no queueing and
        # no scheduler round of this task (a video frame's damage each frame)
        events.handle_at_once(ss.events.Damage, self._damage_at_once)
        async for event in events:
            await self.on_session_event(event)
            if self._lost is not None:
                break
        if self._lost is None:
            self._lost = "the session ended"
        scope.cancel()

    async def on_session_event(self, event: ss.events.Event) -> None:
        """React to one session event (also the entry point for tests)."""
        if self.audio is not None:
            self.audio.on_event(event)
        if self.guest is not None:
            self.guest.on_event(event)
        if isinstance(event, ss.events.Damage):
            self._note_damage(event)
        elif isinstance(event, ss.events.SurfaceCreated):
            surface = event.surface
            if surface is not None and surface.primary and event.channel_id == 0:
                self._show_primary(surface)
            elif surface is not None and surface.primary:
                self._show_extra(event.channel_id, surface)
            self._sync_heads()
        elif isinstance(event, ss.events.MonitorsConfigChanged):
            self._sync_heads()
        elif isinstance(event, ss.events.StreamDestroyed):
            lender = self.window.frame_buffers if self.window is not None else None
            if lender is not None:
                lender.trim()  # the segments the stream's frames were decoded into are let go
        elif isinstance(event, ss.events.MouseModeChanged):
            await self._mouse_mode_changed()
        elif isinstance(event, ss.events.EventsDropped):
            await self._resync()
        elif isinstance(event, (ss.events.CursorShapeChanged, ss.events.CursorHidden, ss.events.CursorMoved)):
            self._cursor_event(event)
        elif isinstance(event, ss.events.SessionClosed):
            self._lost = event.reason
        elif isinstance(event, ss.events.ChannelEnded) and event.channel_type == ChannelType.DISPLAY:
            self._lost = "the server closed the display channel"
        self._ring_for_news()

    def _damage_at_once(self, event: ss.events.Event) -> bool:
        """A Damage noted as the session puts it (see :meth:`EventStream.handle_at_once`)."""
        if not isinstance(event, ss.events.Damage):
            return False
        if event.pixels is not None and self._direct_frame(event):
            return True
        self._note_damage(event)
        self._ring_for_news()
        return True

    def _direct_frame(self, event: ss.events.Damage) -> bool:
        """A whole stream frame of the primary surface (its ``pixels`` are its rectangle),
        arriving while the SDL loop waits with nothing else to draw: held, and the frame due
        now shown, in one step.  What :meth:`_note_damage`, :meth:`_ring_for_news` and
        :meth:`_show_held_now` do with it, without their general cases (this runs once a
        video frame).  ``False``, with nothing done, when anything else is pending: the
        general way takes the frame then."""
        alarm, frames, window = self._alarm, self.frames, self.window
        mm_time, pixels = event.mm_time, event.pixels
        if (
            pixels is None
            or alarm is None
            or not self._waiting
            or frames is None
            or window is None
            or mm_time is None
            or event.channel_id
            or self._dirty
            or self._redraw
            or self._lost is not None
            or self.stats_overlay
            or self.heads
            or self._heads_dirty
            or self._extra_dirty
        ):
            return False
        primary = self.session.display.primary
        if primary is None or event.surface_id != primary.surface_id:
            return False
        area = self._area(0)
        if (area.right - area.left, area.bottom - area.top) != (window.width, window.height):
            return False  # the window is to follow a new size first (render does)
        now = self._now()
        arrived = frames.arrive(mm_time, event.rect, pixels, now >= self._next_frame_at)
        if arrived is None:
            return False  # not held: drawn at the next frame time
        shown, wake_in = arrived
        if not shown:
            if wake_in is not None:  # the loop wakes once, when the first must be shown
                alarm.ring_at(now + wake_in, now)
            return True
        try:
            for frame in shown:
                window.put(frame.pixels, frame.rect.left - area.left, frame.rect.top - area.top)
            window.present(self._cursor_overlay())
        except Exception as exc:  # a draw's failure belongs to the SDL loop: raised there
            self._draw_error = exc
            alarm.ring()
            return True
        self._next_frame_at = now + _FRAME
        if window.events_queued():
            alarm.ring()  # read off the socket by the draw: the socket will not say
            return True
        if wake_in is None:
            self._wait_until = self._deadline(now, None)
        else:
            self._wait_until = max(now + wake_in, self._next_frame_at)
        alarm.reschedule(self._wait_until, now)
        return True

    def _note_damage(self, event: ss.events.Damage) -> None:
        """Note what to draw: a rectangle for the next frame, or a stream frame held to its time."""
        if self.heads:
            self._heads_damage(event)
        primary = self.session.display.primary
        if event.channel_id != 0:
            self._extra_damage(event)
        elif primary is not None and event.surface_id == primary.surface_id:
            frames, mm_time, rect = self.frames, event.mm_time, event.rect
            if frames is None or mm_time is None or not frames.hold(mm_time, primary, rect, event.pixels):
                self._dirty.append(rect)

    def _ring_for_news(self) -> None:
        """Wake the SDL loop's wait when there is something to draw (at the next frame time),
        or at the time of the first held stream frame; a held frame due now is shown at once."""
        alarm = self._alarm  # the SDL loop's wait: only then is anything to look at
        if not self._waiting or alarm is None:
            return
        if (
            self._dirty
            or self._lost is not None
            or self._redraw
            or any(self._extra_dirty.values())
            or any(self._heads_dirty.values())
        ):
            # drawn at the next frame time, also while the loop waits for a held stream
            # frame's time (it waited for that frame before: a typed key's damage came up
            # to a stream frame late)
            alarm.ring_at(self._next_frame_at)
            self._waiting = False  # once: the events until the loop runs need not ring it again
            return
        now = self._now()
        held = self._held_frames(now)
        if held is None:
            return
        show_now, wake_in = held
        if show_now:  # awake anyway: a frame due soon is shown now
            self._show_held_now(alarm, now)
        else:  # the loop wakes once, when the first must be shown (its time plus LATE_MS)
            alarm.ring_at(now + wake_in, now)

    def _show_held_now(self, alarm: Alarm, now: float) -> None:
        """Draw the held stream frame due now from the session's task, while the SDL loop
        waits: the wake-up that brought the next frame shows this one, without a wake-up of
        the loop (its wait then ends when it would have after drawing).  X events read
        meanwhile (the draw's round trip) ring it."""
        try:
            self._draw(now)
        except Exception as exc:  # a draw's failure belongs to the SDL loop: raised there
            self._draw_error = exc
            alarm.ring()
            return
        window = self.window
        if window is not None and window.events_queued():
            alarm.ring()  # read off the socket by the draw: the socket will not say
            return
        now = self._now()
        self._wait_until = self._deadline(now, self._frame_at(now, False, self._frames_due_in()))
        alarm.reschedule(self._wait_until, now)

    def _area(self, channel_id: int, index: int = 0) -> Rect:
        """The part of the channel's surface its ``index``-th head's window shows."""
        display = self.session.display
        state = display.channels.get(channel_id)
        # what head_areas reads: the channel's primary surface and heads (replaced, never
        # changed in place); for channel 0 the display's primary, which is that channel's
        # own once it has a state
        if state is None:
            inputs: tuple[object, object, object] = (display.primary, None, ())
        else:
            primary = state.primary
            inputs = (primary, primary, state.monitors)
        cached = self._areas.get(channel_id)
        if cached is not None:  # (compared in line: this runs once a frame)
            old = cached[0]
            if old[0] is not inputs[0] or old[1] is not inputs[1] or old[2] is not inputs[2]:
                cached = None
        if cached is None:
            cached = self._areas[channel_id] = (inputs, head_areas(display, channel_id))
        areas = cached[1]
        return areas[index] if index < len(areas) else Rect(0, 0, 0, 0)

    def _show_primary(self, surface: ss.Surface) -> None:
        area = self._area(0)
        width, height = (area.width, area.height) if not area.empty else (surface.width, surface.height)
        if self.window is None:
            self.window = Window(self._title(), width, height)
            self._lend_frame_buffers()
            self._apply_cursor()
            if self._start_fullscreen:  # a .vv file's fullscreen=1
                self.window.toggle_fullscreen()
        elif (width, height) != (self.window.width, self.window.height):
            self.window.set_source_size(width, height)
            if self.guest is None or not self.guest.asked(0, (width, height)):
                self.window.fit_window()  # not when the guest took the size of our window
        self._dirty = [Rect(0, 0, surface.width, surface.height)]
        if self.frames is not None:
            self.frames.clear()  # cut from the old picture

    def _frames_due_in(self) -> float | None:
        """Seconds until the SDL loop must wake for a held stream frame; ``None`` when none is held."""
        timing = self.frames.timing() if self.frames is not None else None
        return None if timing is None else timing[1]

    def _held_frames(self, now: float) -> tuple[bool, float] | None:
        """(whether a held stream frame is shown on this wake-up: due within ``EARLY_MS`` and a
        frame time since the last draw, seconds until the SDL loop must wake for one); ``None``
        when none is held."""
        timing = self.frames.timing() if self.frames is not None else None
        if timing is None:
            return None
        showable, wake_in = timing
        return showable and now >= self._next_frame_at, wake_in

    def _extra_primary(self, channel_id: int) -> ss.Surface | None:
        state = self.session.display.channels.get(channel_id)
        return state.primary if state is not None else None

    def _extra_damage(self, event: ss.events.Damage) -> None:
        primary = self._extra_primary(event.channel_id)
        if event.channel_id in self.extra and primary is not None and event.surface_id == primary.surface_id:
            self._extra_dirty.setdefault(event.channel_id, []).append(event.rect)

    def _show_extra(self, channel_id: int, surface: ss.Surface) -> None:
        """A further monitor's screen: a window of its own."""
        area = self._area(channel_id)
        width, height = (area.width, area.height) if not area.empty else (surface.width, surface.height)
        window = self.extra.get(channel_id)
        if window is None:
            title = f"{self._title()} ({channel_id + 1})"
            window = self.extra[channel_id] = Window(title, width, height)
            self._closed.discard((channel_id, 0))  # the guest shows this monitor again
        elif (width, height) != (window.width, window.height):
            window.set_source_size(width, height)
            if self.guest is None or not self.guest.asked(
                self._monitor_index(channel_id, 0), (width, height)
            ):
                window.fit_window()  # not when the guest took the size of this window
        self._extra_dirty[channel_id] = [Rect(0, 0, surface.width, surface.height)]

    def _render_extra(self) -> None:
        for channel_id, rects in list(self._extra_dirty.items()):
            window, primary = self.extra.get(channel_id), self._extra_primary(channel_id)
            self._extra_dirty[channel_id] = []
            if window is None or primary is None or not rects:
                continue
            area = self._area(channel_id)
            if (area.width, area.height) != (window.width, window.height):
                self._show_extra(channel_id, primary)
                rects = self._extra_dirty.pop(channel_id)
            copy_area(window, primary, area, rects)
            window.present()

    def _heads_damage(self, event: ss.events.Damage) -> None:
        if not self.heads:
            return
        primary = self._extra_primary(event.channel_id)
        if primary is None or event.surface_id != primary.surface_id:
            return
        for key in self.heads:
            if key[0] == event.channel_id:
                self._heads_dirty.setdefault(key, []).append(event.rect)

    def _sync_heads(self) -> None:
        """A window for each further head of every channel (not those the user closed), none
        for heads that are gone; windows of a new size show all of their head again."""
        display = self.session.display
        wanted: dict[tuple[int, int], Rect] = {}
        for channel_id in display.channels:
            for index, area in enumerate(head_areas(display, channel_id)[1:], start=1):
                wanted[(channel_id, index)] = area
        for key in [k for k in self.heads if k not in wanted]:
            self.heads.pop(key).close()
            self._heads_dirty.pop(key, None)
        for key, area in wanted.items():
            window = self.heads.get(key)
            if window is None and key in self._closed:
                continue
            if window is None:
                title = f"{self._title()} ({key[0] + 1}:{key[1] + 1})"
                window = self.heads[key] = Window(title, area.width, area.height)
            elif (area.width, area.height) != (window.width, window.height):
                window.set_source_size(area.width, area.height)
                if self.guest is None or not self.guest.asked(
                    self._monitor_index(*key), (area.width, area.height)
                ):
                    window.fit_window()
            self._heads_dirty[key] = [area]
        if self.window is not None and (self._area(0).width, self._area(0).height) != (
            self.window.width,
            self.window.height,
        ):
            primary = display.primary
            if primary is not None:
                self._show_primary(primary)
        for channel_id in list(self.extra):
            primary = self._extra_primary(channel_id)
            if primary is not None:
                self._extra_dirty[channel_id] = [Rect(0, 0, primary.width, primary.height)]

    def _render_heads(self) -> None:
        for key, head in self.heads.items():
            area = self._area(*key)
            if (area.width, area.height) != (head.width, head.height):
                # the session's layout changed before its event reached us: windows first
                self._sync_heads()
                break
        for key, rects in list(self._heads_dirty.items()):
            window, primary = self.heads.get(key), self._extra_primary(key[0])
            self._heads_dirty[key] = []
            if window is None or primary is None or not rects:
                continue
            copy_area(window, primary, self._area(*key), rects)
            window.present()

    def _monitor_index(self, channel_id: int, index: int) -> int:
        """How the guest agent numbers this monitor (channel by channel, head by head)."""
        keys = monitor_keys(self.session.display, self.extra)
        return keys.index((channel_id, index)) if (channel_id, index) in keys else channel_id

    def _windows_changed(self) -> None:
        """Tell the agent glue every monitor's window (index: display channel; None: closed)."""
        if self.guest is None or self.window is None:
            return
        monitors: list[MonitorWindow] = []
        for key in monitor_keys(self.session.display, [0, *self.extra]):
            channel_id, index = key
            if index:
                window = self.heads.get(key)
            else:
                window = self.window if channel_id == 0 else self.extra.get(channel_id)
            area = self._area(channel_id, index)
            if window is not None:
                monitors.append((*window.pixel_size(), window.position()[0]))
            elif key not in self._closed and not area.empty:  # its window is still to come
                monitors.append((area.width, area.height, 1 << 30))
            else:
                monitors.append(None)
        self.guest.windows_changed(monitors)

    def _monitor_window(self, window_id: int) -> bool:
        """Whether SDL window ``window_id`` is a further monitor's (not the main window)."""
        return self._extra_at(window_id) is not None or self._head_at(window_id) is not None

    def _head_at(self, window_id: int) -> tuple[int, int] | None:
        """The (channel, head) whose head window has SDL id ``window_id``."""
        return next((key for key, w in self.heads.items() if w.id == window_id), None)

    def _extra_at(self, window_id: int) -> int | None:
        """The display channel whose extra window has SDL id ``window_id``."""
        return next((cid for cid, w in self.extra.items() if w.id == window_id), None)

    async def _resync(self) -> None:
        """We fell behind and events were dropped: catch up from the session's state.

        The merged damage follows the marker; what else may have been missed is the
        primary surface itself, the cursor shape and the mouse mode.
        """
        primary = self.session.display.primary
        if primary is not None and (
            self.window is None or (primary.width, primary.height) != (self.window.width, self.window.height)
        ):
            self._show_primary(primary)
        self.cursor_shape = self.session.cursor.shape
        await self._mouse_mode_changed()

    async def _mouse_mode_changed(self) -> None:
        if self.inputs is not None:
            self.inputs.set_mouse_mode(self.session.mouse_mode)
        if self.window is not None:
            if self.grabbed:
                self.window.grab(True, relative=self.mouse_mode != MouseMode.CLIENT)
            self._apply_cursor()
            self.window.set_title(self._title())
        self._redraw = True

    def _cursor_event(
        self, event: ss.events.CursorShapeChanged | ss.events.CursorHidden | ss.events.CursorMoved
    ) -> None:
        """The session's cursor state changed (``session.cursor`` holds position and visibility)."""
        if isinstance(event, ss.events.CursorShapeChanged):
            self.cursor_shape = event.shape
        if not isinstance(event, ss.events.CursorMoved):
            self._apply_cursor()
        self._redraw = True

    def _apply_cursor(self) -> None:
        """Client mode: the server's shape is the local pointer.  Server mode: it is drawn on the image."""
        window = self.window
        if window is None:
            return
        shape = self.cursor_shape
        if shape is not None:
            window.set_cursor(cursor_rgba(shape.rgba, shape.xor), shape.hot_x, shape.hot_y)
        if self.mouse_mode == MouseMode.CLIENT:
            window.show_pointer(self.session.cursor.visible and shape is not None)
        else:
            window.show_pointer(not self.grabbed)

    def _cursor_overlay(self) -> tuple[int, int] | None:
        shape = self.cursor_shape
        session = self.session
        # (the session's mode read as it is, an int or a MouseMode: this runs once a frame)
        if shape is None or session.mouse_mode == MouseMode.CLIENT or not session.cursor.visible:
            return None
        cursor = session.cursor
        area = self._area(0)
        return cursor.x - shape.hot_x - area.left, cursor.y - shape.hot_y - area.top

    def _title(self) -> str:
        name = self.name or self.session.name or self.label
        keys = self.hotkeys
        return title(
            name,
            grabbed=self.grabbed,
            mouse_mode=self.mouse_mode,
            release=keys.name(Command.RELEASE_GRAB),
            fullscreen_key=keys.name(Command.TOGGLE_FULLSCREEN),
        )

    # ------------------------------------------------------------------ SDL side
    async def _sdl_loop(self) -> None:
        self._now = clock_reader()
        with Alarm() as alarm:
            self._alarm = alarm
            try:
                await self._sdl_steps(alarm)
            finally:
                self._alarm = None

    async def _sdl_steps(self, alarm: Alarm) -> None:
        fd: int | None = None
        fd_window: Window | None = None  # the window whose display connection fd is
        while not self.closing():
            if self._draw_error is not None:
                error, self._draw_error = self._draw_error, None
                raise error
            events = poll_events()
            for event in events:
                await self.on_input(event)
                if self.closing():
                    return
            now = self._now()
            overlay_due = self.stats_overlay and now - self._overlay_at >= _OVERLAY_PERIOD
            held = self._held_frames(now)
            frames_in = None if held is None else held[1]
            pending = bool(
                self._dirty
                or self._redraw
                or overlay_due
                or any(self._extra_dirty.values())
                or any(self._heads_dirty.values())
                # a held frame due, or due soon (shown on this wake-up if a draw may be made)
                or (held is not None and (frames_in == 0 or held[0]))
            )
            if pending and now >= self._next_frame_at:
                self._draw(now)
                pending = False
                # the frames shown are gone: when is the next one due, from now
                now, frames_in = self._now(), self._frames_due_in()
            if self.window is not None and self.window is not fd_window:  # a new window (too)
                fd, fd_window = self.window.event_fd(), self.window
            if events:
                self._news_at = now
            if fd is None:
                await alarm.wait(now + _POLL)
            elif len(events) < 256:  # SDL read everything the connection had
                alarm.watch(fd)
                await self._wait(alarm, self._frame_at(now, pending, frames_in), now)
            else:
                await trio.sleep(0)

    def _draw(self, now: float) -> None:
        """Draw every window (one frame, at ``now``)."""
        self.render()
        if self._extra_dirty:  # (further monitors and heads: looked at only when there are any)
            self._render_extra()
        if self.heads or self._heads_dirty:
            self._render_heads()
        self._next_frame_at = now + _FRAME

    def _frame_at(self, now: float, pending: bool, frames_in: float | None) -> float | None:
        """When the next frame is drawn: the next frame time when something is ``pending``,
        or when a held stream frame is due (``frames_in`` seconds from ``now``) and the frame
        rate allows; ``None`` when nothing waits to be drawn."""
        frame_at = self._next_frame_at if pending else None
        if frames_in is not None:  # a held frame waits for its time and the frame rate
            due_at = max(now + frames_in, self._next_frame_at)
            frame_at = min(frame_at if frame_at is not None else math.inf, due_at)
        return frame_at

    async def _wait(self, alarm: Alarm, frame_at: float | None, now: float) -> None:
        """Until the display connection has input, or the next frame is due (``frame_at``), or
        the session has something new to show (its damage sets the alarm to the next frame
        time, a stream frame held back to that frame's time): none of these wake-ups
        is a cancellation (trio's deadlines are).  Idle, SDL is polled every :data:`_IDLE`
        seconds for :data:`_SETTLE` seconds after the last news, then not at all: an idle
        viewer costs no CPU.  ``now``: ``trio.current_time()`` as the caller last read it."""
        self._wait_until = self._deadline(now, frame_at)
        self._waiting = True
        try:
            await alarm.wait(self._wait_until)
        finally:
            self._waiting = False
        woken = self._now()
        if woken < self._wait_until:  # the connection or the session has news
            self._news_at = woken

    def _deadline(self, now: float, frame_at: float | None) -> float:
        """When the loop's wait ends at the latest: at ``frame_at``; with nothing to draw, soon
        while there was news lately (:data:`_IDLE`), else never; and when the statistics
        overlay is due."""
        deadline = frame_at
        if deadline is None:
            window = self.window
            if now - self._news_at < _SETTLE:
                deadline = now + _IDLE
            elif window is not None and window.events_queued():
                deadline = now  # read off the socket by an X call meanwhile: the socket will not say
            else:
                deadline = math.inf
        if self.stats_overlay:  # its figures are redrawn on time, news or not
            deadline = min(deadline, self._overlay_at + _OVERLAY_PERIOD)
        return deadline

    def _wake(self) -> None:
        """Look at SDL again now: an X call made outside the SDL loop may have read events."""
        if self._alarm is not None:
            self._alarm.ring()

    def render(self) -> None:
        """Upload the damaged rectangles of the primary surface and the stream frames now due,
        and present the frame."""
        window = self.window
        primary = self.session.display.primary
        if window is None or primary is None:
            self._dirty.clear()
            return
        area = self._area(0)
        if (area.width, area.height) != (window.width, window.height):
            self._show_primary(primary)
        rects: list[Rect] = []
        for rect in self._dirty:  # one copy per merged box, not per damage event
            rects = merge_rect(rects, rect, _MAX_RECTS)
        self._dirty = []
        if rects:
            copy_area(window, primary, area, rects)
        if self.frames is not None:
            for frame in self.frames.due():  # stream frames whose media time has come
                window.put(frame.pixels, frame.rect.left - area.left, frame.rect.top - area.top)
                rects.append(frame.rect)
        if self.stats_overlay:
            self._draw_stats(window, primary, rects)
        window.present(self._cursor_overlay())
        self._redraw = False

    def _draw_stats(self, window: Window, primary: ss.Surface, damaged: list[Rect]) -> None:
        """Draw the overlay again when it is due or the picture under it changed."""
        now = trio.current_time()
        box = self._overlay_box
        if box is not None and (box.right > primary.width or box.bottom > primary.height):
            box = None  # a new, smaller screen: the old overlay went with the old picture
        under = box is not None and any(not r.intersect(box).empty for r in damaged)
        if now - self._overlay_at < _OVERLAY_PERIOD and not under and box is not None:
            return
        lines = overlay_lines(self.session.stats)
        w, h = overlay_size(lines, primary.width, primary.height)
        if w <= 0 or h <= 0:
            return
        new = Rect(MARGIN, MARGIN, MARGIN + w, MARGIN + h)
        if box is not None and box != new:
            old = box
            window.update(primary.flat, primary.stride, old.left, old.top, old.width, old.height)
        pixels = primary.pixels
        if pixels.ndim != 3:
            return
        background = pixels[new.top : new.bottom, new.left : new.right]
        patch = overlay_patch(background, lines)
        placed = np.zeros((new.bottom, new.right, 4), np.uint8)  # update() copies a rect in place
        placed[new.top :, new.left :] = patch
        window.update(placed, new.right * 4, new.left, new.top, w, h)
        self._overlay_box = new
        self._overlay_at = now

    async def on_input(self, event: InputEvent) -> None:
        """Handle one window event (also the entry point for tests)."""
        if isinstance(event, (PointerMoved, ButtonInput, Quit)) and event.window and self.heads:
            head = self._head_at(event.window)
            if head is not None:
                await self._head_input(head, event)
                return
        if isinstance(event, (PointerMoved, ButtonInput, Quit)) and event.window and self.extra:
            channel_id = self._extra_at(event.window)
            if channel_id is not None:
                await self._extra_input(channel_id, event)
                return
        if isinstance(event, Quit):
            self._quit = True
        elif isinstance(event, WindowChanged):
            self._redraw = True
            self._windows_changed()
        elif isinstance(event, FocusChanged):
            await self._focus(event.focused)
        elif isinstance(event, FileDropped) and self.guest is not None:
            self.guest.send_file(event.path)
        elif isinstance(event, ClipboardChanged) and self.guest is not None:
            self.guest.host_clipboard_changed()
        elif isinstance(event, KeyInput):
            await self._key(event)
        elif isinstance(event, PointerMoved):
            await self._pointer(event)
        elif isinstance(event, ButtonInput):
            await self._button(event)
        elif (
            isinstance(event, WheelInput)
            and self.inputs is not None
            and (self.grabbed or self.mouse_mode == MouseMode.CLIENT)
        ):
            await self.inputs.wheel(event.dy)

    async def _head_input(self, key: tuple[int, int], event: PointerMoved | ButtonInput | Quit) -> None:
        """Input in a further head's window: like a further channel's, at the head's place."""
        if isinstance(event, Quit):  # closing a head's window switches that monitor off
            self.heads.pop(key).close()
            self._heads_dirty.pop(key, None)
            self._closed.add(key)
            self._windows_changed()
            return
        await self._monitor_pointer(self.heads[key], key[0], self._area(*key), event)

    async def _extra_input(self, channel_id: int, event: PointerMoved | ButtonInput | Quit) -> None:
        """Input in a further monitor's window: absolute positions on that display (client mode)."""
        window = self.extra[channel_id]
        if isinstance(event, Quit):  # closing one monitor's window switches it off; the viewer goes on
            window.close()
            del self.extra[channel_id]
            self._closed.add((channel_id, 0))
            self._windows_changed()
            return
        await self._monitor_pointer(window, channel_id, self._area(channel_id), event)

    async def _monitor_pointer(
        self, window: Window, channel_id: int, area: Rect, event: PointerMoved | ButtonInput
    ) -> None:
        """A pointer event in a further monitor's window (client mode): at its place on the surface."""
        if self.inputs is None or self.mouse_mode != MouseMode.CLIENT:
            return
        point = to_surface(window.box(), window.width, window.height, event.x, event.y)
        if point is None:
            return
        await self.inputs.mouse_position(area.left + point[0], area.top + point[1], channel_id)
        button = SDL_BUTTONS.get(event.button) if isinstance(event, ButtonInput) else None
        if isinstance(event, ButtonInput) and button is not None:
            if event.pressed:
                self._buttons.add(button)
                await self.inputs.mouse_press(button)
            elif button in self._buttons:
                self._buttons.discard(button)
                await self.inputs.mouse_release(button)

    async def _focus(self, focused: bool) -> None:
        self.focused = focused
        if self.inputs is None:
            return
        if focused:
            await self.inputs.set_locks(locks_from_sdl(mod_state()))
        else:
            self.hotkeys.reset()
            await self.inputs.release_keys()
            if self.grabbed:
                self._set_grab(False)

    async def _key(self, event: KeyInput) -> None:
        if event.scancode in self._stale_keys:
            self._stale_keys.discard(event.scancode)
            if not event.pressed:
                return  # held over a reconnect: the new server never had it down
        forward, command = self.hotkeys.key(event.scancode, event.pressed)
        if command is Command.TOGGLE_FULLSCREEN and self.window is not None:
            self.window.toggle_fullscreen()
            self._redraw = True
        elif command is Command.RELEASE_GRAB and self.grabbed:
            self._set_grab(False)
        elif command is Command.TOGGLE_MUTE and self.audio is not None:
            self.audio.toggle_mute()
        elif command is Command.TOGGLE_MICROPHONE and self.microphone is not None:
            self.microphone.muted = not self.microphone.muted
        elif command is Command.BUG_REPORT:
            await self.bug_report()
        elif command is Command.SECURE_ATTENTION and self.inputs is not None:
            await self.inputs.key("ctrl-alt-del")
        elif command in _ZOOM and self.window is not None:
            factor = _ZOOM[command]
            if factor is None:
                self.window.fit_window()
            else:
                self.window.zoom(factor)
            self._redraw = True
        elif command in _UNAVAILABLE and command not in self._unavailable_said:
            self._unavailable_said.add(command)
            print(f"spice view: {command.value}: {_UNAVAILABLE[command]}", file=sys.stderr, flush=True)
        elif command is Command.TOGGLE_STATS:
            self.stats_overlay = not self.stats_overlay
            if not self.stats_overlay and self._overlay_box is not None:
                self._dirty.append(self._overlay_box)  # the picture under it comes back
                self._overlay_box = None
            self._overlay_at = -math.inf
        if forward and self.inputs is not None:
            await self.inputs.hid_key(event.scancode, event.pressed)

    async def bug_report(self) -> Path | None:
        """Write the ``spice report`` bundle with the ring's capture (Ctrl+Alt+R)."""
        return await bug_report(self.session, self.ring, self.report_dir, self.reports)

    def _surface_point(self, x: int, y: int) -> tuple[int, int] | None:
        window = self.window
        if window is None:
            return None
        point = to_surface(window.box(), window.width, window.height, x, y)
        area = self._area(0)
        return None if point is None else (area.left + point[0], area.top + point[1])

    async def _pointer(self, event: PointerMoved) -> None:
        if self.inputs is None:
            return
        if self.mouse_mode == MouseMode.CLIENT:
            point = self._surface_point(event.x, event.y)
            if point is not None:
                await self.inputs.mouse_position(point[0], point[1], 0)
        elif self.grabbed and (event.dx or event.dy):
            await self.inputs.mouse_motion(event.dx, event.dy)

    async def _button(self, event: ButtonInput) -> None:
        button = SDL_BUTTONS.get(event.button)
        if self.inputs is None or button is None:
            return
        client = self.mouse_mode == MouseMode.CLIENT
        if event.pressed and not self.grabbed:
            self._set_grab(True)
            if not client:
                return  # in server mode the grabbing click only grabs
        if client:
            point = self._surface_point(event.x, event.y)
            if point is None and event.pressed:
                return  # a click on a letterbox bar
            if point is not None:
                await self.inputs.mouse_position(point[0], point[1], 0)
        if event.pressed:
            self._buttons.add(button)
            await self.inputs.mouse_press(button)
        elif button in self._buttons:  # not the release of a click that only grabbed
            self._buttons.discard(button)
            await self.inputs.mouse_release(button)

    def _set_grab(self, on: bool) -> None:
        self.grabbed = on
        if self.window is not None:
            self.window.grab(on, relative=self.mouse_mode != MouseMode.CLIENT)
            self._apply_cursor()
            self.window.set_title(self._title())


class _SdlClipboard:
    """SDL's clipboard as the viewer agent's host clipboard.  Reading it waits for X replies,
    and Xlib keeps the events it reads meanwhile: ``wake`` has the SDL loop look at them."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    @property
    def reports_changes(self) -> bool:
        return clipboard_reports_changes()  # asked when needed: SDL's video may start after us

    def get(self) -> str | None:
        try:
            return clipboard_text()
        finally:
            self._wake()

    def set(self, text: str) -> None:
        try:
            set_clipboard_text(text)
        finally:
            self._wake()
