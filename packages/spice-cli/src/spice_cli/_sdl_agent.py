"""The viewer's side of the guest agent: the guest screen follows the window, clipboards follow each other.

The windows' sizes are sent as the guest's monitors, all of them in one MONITORS_CONFIG,
once they have kept their sizes for :data:`RESIZE_DEBOUNCE` seconds, in device pixels (so
a HiDPI window gets a guest screen it shows 1:1), placed left to right in the order the
windows stand on the host; a monitor whose window was closed is switched off.  Text the
guest copies goes to the host clipboard; text copied on the host is offered to the guest
when SDL reports the change (X11 with SDL >= 2.30), else found by a poll every
:data:`CLIPBOARD_POLL` seconds.  Images are not shared: SDL's clipboard holds text only.  Files dropped on the
window are sent to the guest one after the other, with progress on stderr.  A display
config (effects off, colour depth) is sent each time the agent connects.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import spice_session as ss
import trio
from spice_net.lowlevel import Alarm
from spice_proto import AgentCap, AgentClipboardType, AgentDisplayConfig, AgentMonConfig, AgentSelection

__all__ = [
    "CLIPBOARD_POLL",
    "RESIZE_DEBOUNCE",
    "HostClipboard",
    "MonitorWindow",
    "ViewerAgent",
    "monitors_config",
]

RESIZE_DEBOUNCE = 0.4
#: How often the host clipboard is looked at where it does not report its changes.
CLIPBOARD_POLL = 0.5


class HostClipboard(Protocol):
    """The host's text clipboard (SDL's in the viewer).  Where ``reports_changes``, its owner
    calls :meth:`ViewerAgent.host_clipboard_changed` on each change; else it is polled."""

    @property
    def reports_changes(self) -> bool: ...

    def get(self) -> str | None: ...

    def set(self, text: str) -> None: ...


#: One guest monitor as the viewer shows it: its window's inside in device pixels and the
#: window's x on the host desktop, or None when the monitor has no window (switched off).
MonitorWindow = tuple[int, int, int] | None


def monitors_config(windows: Sequence[MonitorWindow], sparse: bool) -> list[AgentMonConfig]:
    """The guest's monitors for these windows (index = monitor), left to right as the windows stand.

    A monitor without a window is a 0x0 entry in its place when the agent takes sparse
    configs, else left out (the others move up, as spice-gtk does).
    """
    shown = sorted((w[2], i, w[0]) for i, w in enumerate(windows) if w is not None)
    x_of: dict[int, int] = {}
    x = 0
    for _, i, width in shown:
        x_of[i] = x
        x += width
    out: list[AgentMonConfig] = []
    for i, w in enumerate(windows):
        if w is not None:
            out.append(AgentMonConfig(w[0], w[1], 32, x_of[i], 0))
        elif sparse:
            out.append(AgentMonConfig(0, 0, 32, 0, 0))
    return out


class ViewerAgent:
    """Resize-guest-to-window and clipboard sharing for one viewer (``clipboard=None``: off)."""

    def __init__(
        self,
        session: ss.Session,
        clipboard: HostClipboard | None,
        *,
        resize_guest: bool = True,
        display_config: AgentDisplayConfig | None = None,
        say: Callable[[str], object] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.session = session
        #: Where transfer progress and errors are reported (a line each).
        self.say = say
        #: Files dropped on the window, sent one after the other.
        self.to_send: list[Path] = []
        self.clipboard = clipboard
        self.resize_guest = resize_guest
        #: Sent when the agent connects (again); ``configured`` says it went since.
        self.display_config = display_config
        self.configured = False
        self._wanted: tuple[MonitorWindow, ...] | None = None
        self._changed_at = 0.0
        #: The monitors we last asked the guest for (the viewer keeps its windows when that arrives).
        self.requested: tuple[MonitorWindow, ...] | None = None
        self._guest_copied = False
        self._last_text: str | None = None
        self._next_poll = 0.0
        #: What :meth:`run` waits on; the viewer's calls ring it.
        self._alarm: Alarm | None = None

    def window_resized(self, width: int, height: int) -> None:
        """The only window's inside is now ``width`` x ``height`` device pixels."""
        self.windows_changed([(width, height, 0)])

    def windows_changed(self, windows: Sequence[MonitorWindow]) -> None:
        """The monitors' windows now (index = guest monitor; None: closed)."""
        if self.resize_guest and all(w is None or (w[0] > 0 and w[1] > 0) for w in windows):
            self._wanted = tuple(windows)
            self._changed_at = trio.current_time()
            self._ring()

    def asked(self, monitor: int, size: tuple[int, int]) -> bool:
        """Whether we asked the guest for this size of ``monitor`` (its window keeps its size)."""
        requested = self.requested
        window = requested[monitor] if requested is not None and monitor < len(requested) else None
        return window is not None and window[:2] == size

    def send_file(self, path: str) -> None:
        """A file dropped on the window: queue it for the guest."""
        self.to_send.append(Path(path))
        self._ring()

    def host_clipboard_changed(self) -> None:
        """The host clipboard changed (see :class:`HostClipboard`): look at it now."""
        self._next_poll = trio.current_time()
        self._ring()

    def on_event(self, event: ss.events.Event) -> None:
        """A session event: the guest copying text means the host clipboard should follow."""
        if (
            isinstance(event, ss.events.ClipboardGrabbed)
            and event.selection == AgentSelection.CLIPBOARD
            and AgentClipboardType.UTF8_TEXT in event.types
        ):
            self._guest_copied = True
            self._ring()
        elif (
            isinstance(event, ss.events.ClipboardGrabbed)
            and event.selection == AgentSelection.CLIPBOARD
            and self.clipboard is not None
            and self.clipboard.reports_changes
        ):
            # The guest copied something else (an image): it no longer holds the text last
            # shared, so the host copying that same text again must reach it.  Only where the
            # host clipboard reports its changes: a poll cannot tell a new copy of the same
            # text from no copy, and would push the old text over the guest's copy.  A look
            # at the host clipboard already due (a change reported before this copy, such as
            # SDL's report of the viewer's own last set) is dropped: the guest's copy is newer.
            self._last_text = None
            self._next_poll = math.inf
        elif isinstance(event, (ss.events.AgentReady, ss.events.AgentConnected, ss.events.AgentDisconnected)):
            self._ring()

    def _ring(self) -> None:
        if self._alarm is not None:
            self._alarm.ring()

    def _ready(self) -> bool:
        agent = self.session.agent
        return agent.connected and agent.caps is not None

    async def run(self) -> None:
        """Until cancelled.  Wakes when the viewer or the session has news (a window changed,
        a file was dropped, the host clipboard changed, the agent came or the guest copied),
        when a resize has settled, and at each host clipboard poll where the clipboard does not
        report its changes: an idle viewer's agent then costs no wake-up (else two a second)."""
        if self.clipboard is not None:
            self._last_text = self.clipboard.get()  # what the host held before: not pushed unasked
        with Alarm() as alarm:
            self._alarm = alarm
            try:
                while True:
                    await alarm.wait(self._next_wake())
                    await self._step()
            finally:
                self._alarm = None

    def _next_wake(self) -> float:
        """When there is something to do next (trio's clock)."""
        now = trio.current_time()
        if not self._ready():
            return math.inf  # AgentReady rings
        unconfigured = not self.configured and self.display_config is not None
        if self.to_send or (self._guest_copied and self.clipboard is not None) or unconfigured:
            return now
        at = math.inf
        if self._wanted is not None:
            at = min(at, self._changed_at + RESIZE_DEBOUNCE)
        if self.clipboard is not None:
            at = min(at, self._next_poll)
        return at

    async def _step(self) -> None:
        if not self._ready():
            self.configured = False
            return
        try:
            await self._configure()
            await self._resize()
            await self._clipboards()
        except ss.AgentError:
            pass  # the agent went away or refused; try again on the next change
        if self.to_send:
            await self._send(self.to_send.pop(0))

    async def _send(self, path: Path) -> None:
        shown = -1

        def progress(sent: int, total: int) -> None:
            nonlocal shown
            percent = 100 * sent // max(total, 1)
            if percent // 25 != shown // 25:
                shown = percent
                self.say(f"spice view: {path.name}: {percent}% of {total} bytes")

        try:
            await self.session.files.send(path, progress=progress)
            self.say(f"spice view: {path.name} sent")
        except (ss.AgentError, OSError) as exc:
            self.say(f"spice view: {path.name} not sent: {exc}")

    async def _configure(self) -> None:
        if self.configured or self.display_config is None:
            return
        self.configured = True  # once per agent connection, even if it refuses
        if self.session.agent.has(AgentCap.DISPLAY_CONFIG):
            config = self.display_config
            await self.session.agent.set_display_config(config.flags, config.depth, timeout=5.0)

    async def _resize(self) -> None:
        wanted = self._wanted
        if wanted is None or trio.current_time() - self._changed_at < RESIZE_DEBOUNCE:
            return
        self._wanted = None
        agent = self.session.agent
        if wanted == self.requested or not agent.has(AgentCap.MONITORS_CONFIG):
            return
        if self._guest_sizes() == [w if w is None else w[:2] for w in wanted]:
            return  # the windows show the guest's sizes (they opened so, or followed the guest)
        self.requested = wanted
        config = monitors_config(wanted, agent.has(AgentCap.SPARSE_MONITORS_CONFIG))
        if config:
            await self.session.set_monitors(config, timeout=5.0)

    def _guest_sizes(self) -> list[tuple[int, int] | None]:
        """The guest's monitor sizes now, channel by channel, head by head."""
        return [(m.width, m.height) for m in self.session.display.monitor_layout()]

    async def _clipboards(self) -> None:
        if self.clipboard is None:
            return
        if self._guest_copied:
            self._guest_copied = False
            text = await self.session.clipboard.get_text(timeout=5.0)
            if text is not None:
                self._last_text = text
                self.clipboard.set(text)
        now = trio.current_time()
        if now >= self._next_poll:
            self._next_poll = math.inf if self.clipboard.reports_changes else now + CLIPBOARD_POLL
            text = self.clipboard.get()
            if text and text != self._last_text:
                self._last_text = text
                await self.session.clipboard.set_text(text, timeout=5.0)
